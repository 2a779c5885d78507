"""PyTorch's numbers at the edges (issue 15): masked (-inf) logits, ignored rows,
float16 logits, zero spread, empty tensors and batches, integers out of range, bad
weights. Each value is PyTorch's where it is installed."""
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import gradlite
import gradlite.nn as nn
import gradlite.nn.functional as F
from gradlite.train import evaluate, fit


def _torch():
    try:
        import torch
    except ImportError:
        return None
    return torch


@st.composite
def masked_logits(draw):
    """(logits with some -inf non-target entries, targets with some ignored rows)."""
    rows, classes = draw(st.integers(1, 5)), draw(st.integers(2, 5))
    rng = np.random.default_rng(draw(st.integers(0, 2 ** 16)))
    logits = rng.standard_normal((rows, classes)) * 3
    target = rng.integers(0, classes, rows)
    mask = rng.random((rows, classes)) < 0.4
    mask[np.arange(rows), target] = False
    logits[mask] = -np.inf
    ignored = rng.random(rows) < 0.3
    logits[ignored, :-1] = -np.inf                 # an ignored row of (almost) only -inf
    logits[ignored, -1] = 1.0
    target[ignored] = -100
    return logits, target


def _loss_and_grad(lib, name, logits, target):
    x = lib.tensor(logits, requires_grad=True)
    y = lib.tensor(target)
    fn = getattr(lib.nn.functional, name)
    if name == "nll_loss":
        loss = fn(x.log_softmax(dim=1), y)
    elif name == "multi_margin_loss":
        kept = target != -100
        x = lib.tensor(np.where(np.isinf(logits), -1e30, logits)[kept], requires_grad=True)
        loss = fn(x, lib.tensor(target[kept])) if kept.any() else x.sum() * 0
    else:
        loss = fn(x, y)
    loss.backward()
    return loss.item(), np.array(x.grad.tolist())


@pytest.mark.parametrize("name", ["cross_entropy", "nll_loss", "multi_margin_loss"])
@given(masked_logits())
def test_masked_logits_and_ignored_rows_give_finite_losses_and_gradients(name, case):
    logits, target = case
    loss, grad = _loss_and_grad(gradlite, name, logits, target)
    if (target != -100).any():
        assert np.isfinite(loss) and np.isfinite(grad).all()
    torch = _torch()
    if torch is not None:
        their_loss, their_grad = _loss_and_grad(torch, name, logits, target)
        np.testing.assert_allclose(loss, their_loss, rtol=1e-10, atol=1e-12)
        defined = np.isfinite(their_grad)        # torch: nan for an ignored row of all -inf
        np.testing.assert_allclose(grad[defined], their_grad[defined], rtol=1e-10, atol=1e-12)


def test_float16_logits_near_the_limit():
    logits = np.array([[6e4, -6e4, 0.0], [-6e4, 6e4, 1.0]], np.float16)
    for target in ([0, 1], [1, 0]):
        ours = F.cross_entropy(gradlite.tensor(logits), gradlite.tensor(target)).item()
        assert not np.isnan(ours)
        torch = _torch()
        if torch is not None:
            theirs = torch.nn.functional.cross_entropy(torch.tensor(logits),
                                                       torch.tensor(target)).item()
            assert ours == theirs


def test_std_at_zero_spread_has_gradient_zero():
    x = gradlite.tensor([[2., 2., 2.], [1., 2., 4.]], dtype=gradlite.float64, requires_grad=True)
    x.std(dim=1).sum().backward()
    assert np.isfinite(x.grad.data).all()
    np.testing.assert_array_equal(x.grad.data[0], 0)
    torch = _torch()
    if torch is not None:
        t = torch.tensor([[2., 2., 2.], [1., 2., 4.]], dtype=torch.float64, requires_grad=True)
        t.std(dim=1).sum().backward()
        np.testing.assert_allclose(x.grad.data, t.grad.numpy(), rtol=1e-12)
    assert np.isnan(gradlite.tensor([3.]).std().item())        # one value: nan, as torch


def test_mean_of_nothing_and_losses_on_an_empty_batch_are_nan():
    assert np.isnan(gradlite.tensor([]).mean().item())
    assert np.isnan(gradlite.zeros(0, 3).mean(dim=0).data).all()
    empty = gradlite.zeros(0, 3)
    assert np.isnan(F.mse_loss(empty, empty).item())
    assert np.isnan(F.l1_loss(empty, empty).item())
    assert np.isnan(F.cross_entropy(empty, gradlite.zeros(0, dtype=gradlite.int64)).item())
    assert np.isnan(F.binary_cross_entropy(empty, empty).item())


def test_fit_and_evaluate_refuse_a_loader_without_batches():
    model = nn.Linear(2, 2)
    opt = gradlite.optim.SGD(model.parameters(), lr=0.1)
    with pytest.raises(ValueError, match="evaluate: the loader yielded no batch"):
        evaluate(model, [], F.cross_entropy)
    with pytest.raises(ValueError, match="fit: the loader yielded no batch"):
        fit(model, [], F.cross_entropy, opt, epochs=1, progress=False)


def test_tensor_refuses_what_it_cannot_hold():
    with pytest.raises(ValueError, match="Overflow"):
        gradlite.tensor(2 ** 63)
    with pytest.raises(ValueError, match="Overflow"):
        gradlite.tensor([1, -2 ** 70])
    assert gradlite.tensor(2 ** 63 - 1).item() == 2 ** 63 - 1
    assert gradlite.tensor(-2 ** 63).item() == -2 ** 63
    for dtype in (None, gradlite.float32):
        with pytest.raises(TypeError, match="None is not a number"):
            gradlite.tensor([None, 1.], dtype=dtype)


def test_mse_loss_on_integers_is_an_error_as_in_torch():
    with pytest.raises(TypeError, match="mse_loss: input must be floating point, got int64"):
        F.mse_loss(gradlite.tensor([1, 2]), gradlite.tensor([3, 4]))


@pytest.mark.parametrize("fn", [F.binary_cross_entropy, F.binary_cross_entropy_with_logits])
def test_bce_weight_must_broadcast_to_the_input_not_beyond(fn):
    x, y = gradlite.tensor([0.25, 0.5]), gradlite.tensor([1., 0.])
    with pytest.raises(ValueError, match=r"weight of shape \(2, 1\) does not broadcast"):
        fn(x, y, weight=gradlite.tensor([[1.], [2.]]))
    ours = fn(x, y, weight=gradlite.tensor([1., 2.])).item()
    torch = _torch()
    if torch is not None:
        their_fn = getattr(torch.nn.functional, fn.__name__)
        theirs = their_fn(torch.tensor([0.25, 0.5]), torch.tensor([1., 0.]),
                          weight=torch.tensor([1., 2.])).item()
        assert ours == pytest.approx(theirs, rel=1e-6)
