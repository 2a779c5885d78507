"""Losses: gradchecks over shapes and options, PyTorch agreement, stability, clear errors."""
import warnings

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import gradlite
import gradlite.nn as nn
import gradlite.nn.functional as F
from gradlite import gradcheck

REDUCTIONS = ["mean", "sum", "none"]


def double(*shape, scale=1.0, seed=0, low=None):
    rng = np.random.default_rng(seed)
    data = rng.uniform(low, 1, shape) if low is not None else rng.standard_normal(shape) * scale
    return gradlite.tensor(data, dtype=np.float64, requires_grad=True)


def labels(count, classes, seed=1):
    return gradlite.tensor(np.random.default_rng(seed).integers(0, classes, count))


# --------------------------------------------------------------------------- gradchecks
@settings(max_examples=15)
@given(batch=st.integers(1, 4), classes=st.integers(2, 4), reduction=st.sampled_from(REDUCTIONS),
       smoothing=st.sampled_from([0.0, 0.1, 0.5]), weighted=st.booleans(),
       ignore=st.booleans())
def test_cross_entropy_gradcheck(batch, classes, reduction, smoothing, weighted, ignore):
    target = labels(batch, classes)
    if ignore and batch > 1:  # all rows ignored gives nan (as torch): tested separately
        target.data[0] = -100
    weight = gradlite.tensor(np.linspace(0.5, 2, classes)) if weighted else None
    assert gradcheck(lambda z: F.cross_entropy(z, target, weight, reduction=reduction,
                                               label_smoothing=smoothing),
                     [double(batch, classes, scale=2)])


def test_cross_entropy_with_spatial_dims_gradcheck():
    target = gradlite.tensor(np.random.default_rng(0).integers(0, 3, (2, 2, 3)))
    for reduction in REDUCTIONS:
        assert gradcheck(lambda z: F.cross_entropy(z, target, reduction=reduction),
                         [double(2, 3, 2, 3)])
    assert F.cross_entropy(double(2, 3, 2, 3), target, reduction="none").shape == (2, 2, 3)


@settings(max_examples=10)
@given(batch=st.integers(1, 4), classes=st.integers(2, 4), reduction=st.sampled_from(REDUCTIONS),
       weighted=st.booleans())
def test_nll_and_multi_margin_gradcheck(batch, classes, reduction, weighted):
    target = labels(batch, classes)
    weight = gradlite.tensor(np.linspace(0.5, 2, classes)) if weighted else None
    assert gradcheck(lambda z: F.nll_loss(z.log_softmax(1), target, weight, reduction=reduction),
                     [double(batch, classes)])
    for p in (1, 2):
        assert gradcheck(lambda z: F.multi_margin_loss(z, target, p, 0.7, weight, reduction),
                         [double(batch, classes, scale=0.5)])


@settings(max_examples=10)
@given(shape=st.sampled_from([(3,), (2, 3), (2, 2, 2)]), reduction=st.sampled_from(REDUCTIONS))
def test_elementwise_losses_gradcheck(shape, reduction):
    x, y = double(*shape, seed=0), double(*shape, seed=1)
    for loss in (F.mse_loss, F.l1_loss, lambda a, b, r: F.huber_loss(a, b, r, delta=0.8),
                 lambda a, b, r: F.smooth_l1_loss(a, b, r, beta=0.5)):
        assert gradcheck(lambda a, b: loss(a, b, reduction), [x, y])
    p, t = double(*shape, low=0.05), double(*shape, low=0.0, seed=2)
    weight = gradlite.tensor(np.random.default_rng(3).uniform(0.5, 2, shape))
    assert gradcheck(lambda a, b: F.binary_cross_entropy(a.clamp(0.01, 0.99), b, weight,
                                                         reduction), [p, t])
    pos_weight = gradlite.tensor(np.linspace(0.5, 3, shape[-1]))
    assert gradcheck(lambda a, b: F.binary_cross_entropy_with_logits(
        a, b, weight, reduction, pos_weight), [double(*shape, scale=3), t])


def test_cross_entropy_second_derivative():
    target = labels(3, 4)
    assert gradlite.gradgradcheck(lambda z: F.cross_entropy(z, target, label_smoothing=0.2),
                                  [double(3, 4)])


# --------------------------------------------------------------------------- torch agreement
def _both(torch, x, dtype=np.float32):
    x = np.asarray(x, dtype=dtype)
    return gradlite.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)


def _compare(torch, ours, theirs, inputs, rtol=1e-5, atol=1e-6):
    out_g, out_t = ours(*[g for g, _ in inputs]), theirs(*[t for _, t in inputs])
    np.testing.assert_allclose(out_g.data, out_t.detach().numpy(), rtol=rtol, atol=atol)
    grad = np.random.default_rng(9).standard_normal(out_g.shape).astype(out_g.dtype)
    out_g.backward(gradlite.tensor(grad))
    out_t.backward(torch.tensor(grad))
    for g, t in inputs:
        if t.requires_grad:
            np.testing.assert_allclose(g.grad.data, t.grad.numpy(), rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("options", [{}, {"label_smoothing": 0.1}, {"ignore_index": 2},
                                     {"weight": [1.0, 2.0, 0.5, 1.5]},
                                     {"weight": [1.0, 2.0, 0.5, 1.5], "label_smoothing": 0.3,
                                      "ignore_index": 1}])
def test_cross_entropy_and_nll_match_torch(reduction, options):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    for shape, target_shape in [((6, 4), (6,)), ((2, 4, 3, 2), (2, 3, 2)), ((4,), ())]:
        target = rng.integers(0, 4, target_shape)
        ours_kw = dict(options, reduction=reduction)
        theirs_kw = dict(ours_kw)
        if "weight" in options:
            theirs_kw["weight"] = torch.tensor(options["weight"])
        module = nn.CrossEntropyLoss(**ours_kw)
        _compare(torch, lambda z: module(z, gradlite.tensor(target)),
                 lambda z: torch.nn.functional.cross_entropy(z, torch.tensor(target), **theirs_kw),
                 [_both(torch, rng.standard_normal(shape) * 3)])
        nll_kw = {k: v for k, v in ours_kw.items() if k != "label_smoothing"}
        nll_theirs = {k: v for k, v in theirs_kw.items() if k != "label_smoothing"}
        _compare(torch, lambda z: nn.NLLLoss(**nll_kw)(z, gradlite.tensor(target)),
                 lambda z: torch.nn.functional.nll_loss(z, torch.tensor(target), **nll_theirs),
                 [_both(torch, -rng.uniform(0.1, 3, shape))])


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_regression_and_binary_losses_match_torch(reduction):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((5, 3)) * 2, rng.standard_normal((5, 3)) * 2
    weight = rng.uniform(0.5, 2, (5, 3)).astype(np.float32)
    pos_weight = np.array([0.5, 1.0, 3.0], np.float32)
    pairs = [
        (nn.MSELoss(reduction), torch.nn.MSELoss(reduction=reduction), x, y),
        (nn.L1Loss(reduction), torch.nn.L1Loss(reduction=reduction), x, y),
        (nn.HuberLoss(reduction, 1.5), torch.nn.HuberLoss(reduction, 1.5), x, y),
        (nn.SmoothL1Loss(reduction, 0.5), torch.nn.SmoothL1Loss(reduction=reduction, beta=0.5), x, y),
        (nn.SmoothL1Loss(reduction, 0.0), torch.nn.SmoothL1Loss(reduction=reduction, beta=0.0), x, y),
        (nn.BCELoss(weight, reduction), torch.nn.BCELoss(torch.tensor(weight), reduction=reduction),
         rng.uniform(0.01, 0.99, (5, 3)), rng.uniform(0, 1, (5, 3))),
        (nn.BCEWithLogitsLoss(weight, reduction, pos_weight),
         torch.nn.BCEWithLogitsLoss(torch.tensor(weight), reduction=reduction,
                                    pos_weight=torch.tensor(pos_weight)),
         x, rng.uniform(0, 1, (5, 3))),
    ]
    for ours, theirs, a, b in pairs:
        _compare(torch, ours, theirs, [_both(torch, a), _both(torch, b)])


@pytest.mark.parametrize("p,margin", [(1, 1.0), (2, 0.5)])
def test_multi_margin_matches_torch(p, margin):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    target = rng.integers(0, 5, 6)
    weight = rng.uniform(0.5, 2, 5).astype(np.float32)
    for reduction in REDUCTIONS:
        ours = nn.MultiMarginLoss(p, margin, weight, reduction)
        theirs = torch.nn.MultiMarginLoss(p, margin, torch.tensor(weight), reduction=reduction)
        _compare(torch, lambda s: ours(s, gradlite.tensor(target)),
                 lambda s: theirs(s, torch.tensor(target)), [_both(torch, rng.standard_normal((6, 5)))])


def test_multi_margin_is_the_svm_hinge_loss():
    scores = gradlite.tensor([[3.2, 5.1, -1.7], [1.3, 4.9, 2.0], [2.2, 2.5, -3.1]])
    target = gradlite.tensor([0, 1, 2])
    expected = [(2.9 + 0) / 3, (0 + 0) / 3, (6.3 + 6.6) / 3]  # the lecture's cat/car/frog scores
    np.testing.assert_allclose(F.multi_margin_loss(scores, target, reduction="none").data,
                               expected, rtol=1e-5)


# --------------------------------------------------------------------------- stability
def test_losses_are_stable_at_extreme_inputs():
    logits = gradlite.tensor([[1e4, -1e4, 0.0], [-1e4, 1e4, 5.0]], requires_grad=True)
    target = gradlite.tensor([1, 1])
    with warnings.catch_warnings(), np.errstate(over="raise", invalid="raise", divide="raise"):
        warnings.simplefilter("error")
        loss = F.cross_entropy(logits, target, label_smoothing=0.1)
        loss.backward()
        bce = F.binary_cross_entropy_with_logits(logits, gradlite.tensor([[1.0, 0, 1], [0, 1, 0]]))
        bce.backward()
        probabilities = gradlite.tensor([0.0, 1.0, 0.5], requires_grad=True)
        clamped = F.binary_cross_entropy(probabilities, gradlite.tensor([1.0, 0.0, 1.0]),
                                         reduction="none")
        clamped.sum().backward()
    assert np.isfinite(loss.item()) and np.all(np.isfinite(logits.grad.data))
    # log p = [0, -2e4, -1e4] and [-2e4, 0, -9995]; loss_i = 0.9 (-log p_y) + 0.1/3 sum(-log p)
    row_losses = [0.9 * 2e4 + 0.1 / 3 * 3e4, 0.1 / 3 * (2e4 + 9995)]
    np.testing.assert_allclose(loss.item(), np.mean(row_losses), rtol=1e-6)
    assert np.isfinite(bce.item())
    np.testing.assert_allclose(clamped.data, [100.0, 100.0, np.log(2)], rtol=1e-6)
    assert np.all(np.isfinite(probabilities.grad.data))


# --------------------------------------------------------------------------- errors
def test_cross_entropy_errors_name_the_problem():
    logits = gradlite.randn(4, 3)
    with pytest.raises(TypeError, match="class indices.*float32"):
        F.cross_entropy(logits, gradlite.tensor([0.0, 1.0, 2.0, 1.0]))
    with pytest.raises(IndexError, match="target value 3 is out of range for 3 classes"):
        F.cross_entropy(logits, gradlite.tensor([0, 3, 1, 1]))
    with pytest.raises(IndexError, match="target value -1 is out of range"):
        F.nll_loss(logits, gradlite.tensor([0, -1, 1, 1]))
    with pytest.raises(ValueError, match=r"target shape \(5,\) does not match input shape \(4, 3\)"):
        F.cross_entropy(logits, gradlite.tensor([0, 1, 1, 1, 0]))
    with pytest.raises(ValueError, match="reduction must be 'mean', 'sum' or 'none', got 'avg'"):
        F.cross_entropy(logits, gradlite.tensor([0, 1, 1, 1]), reduction="avg")
    with pytest.raises(ValueError, match="reduction must be"):
        nn.MSELoss(reduction="average")
    with pytest.raises(ValueError, match=r"weight must have one entry per class, shape \(3,\)"):
        F.cross_entropy(logits, gradlite.tensor([0, 1, 1, 1]), weight=gradlite.ones(4))
    with pytest.raises(ValueError, match="label_smoothing must be in"):
        F.cross_entropy(logits, gradlite.tensor([0, 1, 1, 1]), label_smoothing=1.5)


def test_elementwise_losses_reject_mismatched_shapes():
    with pytest.raises(ValueError, match=r"mse_loss: target shape \(4,\) does not match "
                                         r"input shape \(4, 1\)"):
        F.mse_loss(gradlite.zeros(4, 1), gradlite.zeros(4))
    with pytest.raises(ValueError, match="probabilities in \\[0, 1\\]"):
        F.binary_cross_entropy(gradlite.tensor([1.5]), gradlite.tensor([1.0]))
    with pytest.raises(ValueError, match="p must be 1 or 2"):
        nn.MultiMarginLoss(p=3)


def test_cross_entropy_all_ignored_is_nan_like_torch():
    loss = F.cross_entropy(gradlite.randn(2, 3), gradlite.tensor([-100, -100]))
    assert np.isnan(loss.item())


def test_loss_modules_keep_weights_as_buffers():
    loss = nn.CrossEntropyLoss(weight=gradlite.tensor([1.0, 2.0]))
    assert list(loss.state_dict()) == ["weight"]
    assert list(nn.BCEWithLogitsLoss(pos_weight=gradlite.ones(3)).state_dict()) == ["pos_weight"]
    assert list(nn.MSELoss().state_dict()) == []
