"""Layers and activations: gradchecks, train/eval behaviour, PyTorch agreement, stability."""
import math
import warnings

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import gradlite
import gradlite.nn as nn
import gradlite.nn.functional as F
from gradlite import gradcheck, gradgradcheck
from gradlite.ops.activation import erf, erfc


def double(*shape, scale=1.0, seed=0):
    data = np.random.default_rng(seed).standard_normal(shape) * scale
    return gradlite.tensor(data, dtype=np.float64, requires_grad=True)


def torch_twin(torch, ours, theirs):
    """Copy our module's state into the torch module (which is returned)."""
    theirs.load_state_dict({k: torch.tensor(v.data) for k, v in ours.state_dict().items()})
    return theirs


def assert_close(ours, theirs, rtol=1e-5, atol=1e-6):
    np.testing.assert_allclose(ours.data, theirs.detach().numpy(), rtol=rtol, atol=atol)


# --------------------------------------------------------------------------- gradchecks
@settings(max_examples=10)
@given(batch=st.integers(1, 4), n_in=st.integers(1, 4), n_out=st.integers(1, 3),
       bias=st.booleans(), lead=st.booleans())
def test_linear_gradcheck(batch, n_in, n_out, bias, lead):
    layer = nn.Linear(n_in, n_out, bias=bias).double()
    x = double(*((2,) if lead else ()), batch, n_in)
    args = [x, layer.weight] + ([layer.bias] if bias else [])
    assert gradcheck(lambda x, w, *b: F.linear(x, w, *b), args)


def test_linear_gradgradcheck_and_bad_shapes():
    layer = nn.Linear(3, 2).double()
    assert gradgradcheck(F.linear, [double(2, 3), layer.weight, layer.bias])
    with pytest.raises(ValueError, match=r"input of shape \(2, 5\) does not fit weight of "
                                         r"shape \(2, 3\).*in_features = 3"):
        layer(gradlite.zeros(2, 5, dtype=np.float64))


def test_maxout_gradcheck_and_definition():
    layer = nn.Maxout(3, 2, pieces=3).double()
    assert layer.weight.shape == (6, 3) and list(layer.state_dict()) == ["weight", "bias"]
    x = double(4, 3)
    pieces = F.linear(x, layer.weight, layer.bias).data.reshape(4, 2, 3)
    np.testing.assert_allclose(layer(x).data, pieces.max(axis=2))
    assert gradcheck(lambda x, w, b: (F.linear(x, w, b).reshape(4, 2, 3)).amax(dim=-1),
                     [x, layer.weight, layer.bias])
    assert repr(layer) == "Maxout(in_features=3, out_features=2, pieces=3)"


def test_conv_and_pool_layers_gradcheck():
    conv = nn.Conv2d(2, 4, 3, stride=2, padding=1, groups=2).double()
    x = double(2, 2, 5, 5)
    assert gradcheck(lambda x, w, b: F.conv2d(x, w, b, conv.stride, conv.padding, 1, 2),
                     [x, conv.weight, conv.bias])
    for layer in (nn.MaxPool2d(2), nn.AvgPool2d(3, 2, 1, count_include_pad=False),
                  nn.AdaptiveAvgPool2d((2, 3)), nn.Flatten()):
        assert gradcheck(layer, [double(2, 2, 5, 5, seed=3)])


ACTIVATIONS = [nn.ReLU(), nn.LeakyReLU(0.2), nn.ELU(0.7), nn.GELU(), nn.GELU("tanh"),
               nn.Sigmoid(), nn.Tanh(), nn.Softmax(dim=1), nn.LogSoftmax(dim=0), nn.Identity()]


@pytest.mark.parametrize("activation", ACTIVATIONS, ids=repr)
def test_activation_gradchecks(activation):
    x = double(3, 4, scale=2)
    x.data[np.abs(x.data) < 1e-3] = 0.5  # keep clear of the kinks of relu/leaky/elu
    assert gradcheck(activation, [x])
    if not isinstance(activation, (nn.ReLU, nn.Identity)):
        assert gradgradcheck(activation, [x])


@settings(max_examples=10)
@given(shape=st.sampled_from([(4, 3), (3, 2, 2), (2, 3, 2, 2)]), affine=st.booleans(),
       training=st.booleans())
def test_batch_norm_gradcheck(shape, affine, training):
    channels = shape[1]
    layer = (nn.BatchNorm1d if len(shape) < 4 else nn.BatchNorm2d)(channels, affine=affine).double()
    layer.running_mean.data[:] = np.linspace(-1, 1, channels)
    layer.running_var.data[:] = np.linspace(0.5, 2, channels)
    weight, bias = (double(channels, seed=5), double(channels, seed=6)) if affine else (None, None)

    def fn(x, *params):
        return F.batch_norm(x, layer.running_mean.clone(), layer.running_var.clone(),
                            *params, training=training)

    assert gradcheck(fn, [double(*shape, scale=3)] + ([weight, bias] if affine else []))


def test_dropout_gradcheck_with_a_fixed_mask():
    def fn(x):
        gradlite.manual_seed(7)
        return F.dropout(x, 0.4)

    assert gradcheck(fn, [double(5, 4)])


# --------------------------------------------------------------------------- train / eval
def test_dropout_train_and_eval():
    layer = nn.Dropout(0.25)
    x = gradlite.ones(200, 500, requires_grad=True)
    y = layer(x)
    kept = y.data != 0
    assert abs(kept.mean() - 0.75) < 0.01
    np.testing.assert_allclose(y.data[kept], 1 / 0.75)
    y.sum().backward()
    np.testing.assert_allclose(x.grad.data, kept / 0.75)
    layer.eval()
    assert layer(x) is x
    assert np.all(F.dropout(x, 1.0).data == 0) and F.dropout(x, 0.0) is x
    with pytest.raises(ValueError, match="p must be in"):
        nn.Dropout(1.5)


def test_batch_norm_train_uses_batch_stats_and_eval_uses_running_stats():
    layer = nn.BatchNorm2d(3)
    x = gradlite.randn(8, 3, 4, 4) * 3 + 2
    y = layer(x)
    np.testing.assert_allclose(y.data.mean(axis=(0, 2, 3)), 0, atol=1e-5)
    np.testing.assert_allclose(y.data.var(axis=(0, 2, 3)), 1, rtol=1e-3)
    batch_mean = x.data.mean(axis=(0, 2, 3))
    batch_var = x.data.var(axis=(0, 2, 3), ddof=1)
    np.testing.assert_allclose(layer.running_mean.data, 0.1 * batch_mean, rtol=1e-5)
    np.testing.assert_allclose(layer.running_var.data, 0.9 + 0.1 * batch_var, rtol=1e-5)
    assert layer.num_batches_tracked.item() == 1
    layer.eval()
    expected = ((x.data - layer.running_mean.data[:, None, None])
                / np.sqrt(layer.running_var.data[:, None, None] + 1e-5))
    np.testing.assert_allclose(layer(x).data, expected, rtol=1e-5, atol=1e-5)
    assert layer.num_batches_tracked.item() == 1
    layer.train()
    with pytest.raises(ValueError, match="more than 1 value per channel"):
        layer(gradlite.randn(1, 3, 1, 1))
    with pytest.raises(ValueError, match="expected 4-d input"):
        layer(gradlite.randn(2, 3))


def test_batch_norm_matches_torch_over_several_steps():
    torch = pytest.importorskip("torch")
    for momentum, track, affine in [(0.1, True, True), (None, True, False), (0.3, False, True)]:
        ours = nn.BatchNorm1d(4, momentum=momentum, track_running_stats=track, affine=affine)
        theirs = torch_twin(torch, ours, torch.nn.BatchNorm1d(4, momentum=momentum,
                                                               track_running_stats=track,
                                                               affine=affine))
        for step in range(3):
            x = np.random.default_rng(step).standard_normal((6, 4, 3)).astype(np.float32) * 2 + 1
            xt, xg = torch.tensor(x, requires_grad=True), gradlite.tensor(x, requires_grad=True)
            out_t, out_g = theirs(xt), ours(xg)
            assert_close(out_g, out_t, rtol=1e-4, atol=1e-5)
            (out_t * torch.arange(3.0)).sum().backward()
            (out_g * gradlite.arange(3.0)).sum().backward()
            assert_close(xg.grad, xt.grad, rtol=1e-4, atol=1e-5)
        for key, value in theirs.state_dict().items():
            np.testing.assert_allclose(ours.state_dict()[key].data, value.numpy(), rtol=1e-5,
                                       err_msg=key)
        ours.eval(), theirs.eval()
        assert_close(ours(gradlite.tensor(x)), theirs(torch.tensor(x)), rtol=1e-4, atol=1e-5)


# --------------------------------------------------------------------------- torch agreement
LAYER_PAIRS = [
    lambda m: m.Linear(5, 3),
    lambda m: m.Linear(5, 3, bias=False),
    lambda m: m.Conv2d(2, 4, 3, stride=2, padding=1, dilation=1, groups=2),
    lambda m: m.Conv2d(2, 3, (3, 2), padding=(1, 0), dilation=2, bias=False),
    lambda m: m.MaxPool2d(2),
    lambda m: m.MaxPool2d(3, stride=2, padding=1),
    lambda m: m.AvgPool2d(3, stride=2, padding=1),
    lambda m: m.AvgPool2d(3, 1, 1, count_include_pad=False),
    lambda m: m.AdaptiveAvgPool2d(1),
    lambda m: m.Flatten(),
    lambda m: m.Flatten(0, 2),
]


@pytest.mark.parametrize("build", LAYER_PAIRS, ids=range(len(LAYER_PAIRS)))
def test_layers_match_torch(build):
    torch = pytest.importorskip("torch")
    ours = build(nn)
    theirs = torch_twin(torch, ours, build(torch.nn))
    shape = (3, 5) if isinstance(ours, nn.Linear) else (2, 2, 7, 6)
    x = np.random.default_rng(0).standard_normal(shape).astype(np.float32)
    xt, xg = torch.tensor(x, requires_grad=True), gradlite.tensor(x, requires_grad=True)
    out_t, out_g = theirs(xt), ours(xg)
    assert_close(out_g, out_t)
    g = np.random.default_rng(1).standard_normal(out_g.shape).astype(np.float32)
    out_t.backward(torch.tensor(g))
    out_g.backward(gradlite.tensor(g))
    assert_close(xg.grad, xt.grad, rtol=1e-4, atol=1e-5)
    for name, param in theirs.named_parameters():
        assert_close(dict(ours.named_parameters())[name].grad, param.grad, rtol=1e-4, atol=1e-5)


ACTIVATION_PAIRS = [
    (lambda m: m.ReLU(), None), (lambda m: m.LeakyReLU(), None),
    (lambda m: m.LeakyReLU(0.3), None), (lambda m: m.ELU(), None), (lambda m: m.ELU(2.0), None),
    (lambda m: m.GELU(), None), (lambda m: m.GELU("tanh"), None), (lambda m: m.Sigmoid(), None),
    (lambda m: m.Tanh(), None), (lambda m: m.Softmax(dim=1), None),
    (lambda m: m.Softmax(dim=-1), None), (lambda m: m.LogSoftmax(dim=1), None),
]


@pytest.mark.parametrize("build", [b for b, _ in ACTIVATION_PAIRS], ids=range(len(ACTIVATION_PAIRS)))
@pytest.mark.parametrize("scale", [3.0, 1e4])
def test_activations_match_torch_and_are_stable(build, scale):
    torch = pytest.importorskip("torch")
    x = (np.random.default_rng(0).standard_normal((4, 6)) * scale).astype(np.float32)
    x[0, :3] = [scale, -scale, 0.0]
    xt, xg = torch.tensor(x, requires_grad=True), gradlite.tensor(x, requires_grad=True)
    with warnings.catch_warnings(), np.errstate(over="raise", invalid="raise", divide="raise"):
        warnings.simplefilter("error")
        out_g = build(nn)(xg)
        g = np.random.default_rng(1).standard_normal(out_g.shape).astype(np.float32)
        out_g.backward(gradlite.tensor(g))
    out_t = build(torch.nn)(xt)
    out_t.backward(torch.tensor(g))
    assert np.all(np.isfinite(out_g.data)) and np.all(np.isfinite(xg.grad.data))
    assert_close(out_g, out_t, rtol=1e-5, atol=1e-5)
    assert_close(xg.grad, xt.grad, rtol=1e-4, atol=1e-5)


def test_functional_softmax_without_dim_warns_and_follows_torch():
    with pytest.warns(UserWarning, match="implicit dimension"):
        y = F.softmax(gradlite.randn(2, 3))
    np.testing.assert_allclose(y.data.sum(axis=1), 1, rtol=1e-6)


def test_erf_matches_math_erf_and_torch():
    x = np.concatenate([np.linspace(-8, 8, 4001), [-30.0, -1e4, 0.0, 1e-9, 1e4]])
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        ours, complement = erf(x), erfc(x)
    np.testing.assert_allclose(ours, [math.erf(v) for v in x], rtol=0, atol=5e-14)
    np.testing.assert_allclose(complement, [math.erfc(v) for v in x], rtol=1e-12, atol=1e-295)  # erfc(z > 26) is taken as erfc(26)
    torch = pytest.importorskip("torch")
    np.testing.assert_allclose(ours, torch.erf(torch.tensor(x)).numpy(), rtol=0, atol=5e-14)


def test_gelu_and_activation_argument_checks():
    with pytest.raises(ValueError, match="approximate must be 'none' or 'tanh'"):
        nn.GELU("fast")
    with pytest.raises(ValueError, match="approximate must be 'none' or 'tanh'"):
        F.gelu(gradlite.zeros(2), "fast")
    assert F.gelu(gradlite.zeros(2, dtype=np.float64)).dtype == np.float64


def test_conv2d_layer_checks_groups():
    with pytest.raises(ValueError, match="divisible by groups"):
        nn.Conv2d(3, 4, 3, groups=2)
