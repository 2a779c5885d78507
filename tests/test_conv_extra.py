"""Conv1d, ConvTranspose1d/2d and interpolate: PyTorch agreement, gradcheck over
hypothesis-drawn arguments, the transposed conv against its composite definition."""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import gradlite
import gradlite.nn as nn
import gradlite.nn.functional as F
from gradlite import gradcheck, gradgradcheck
from gradlite.ops.conv_transpose import conv_transpose2d_composite


def array(*shape, seed=0, dtype=np.float64):
    return np.random.default_rng(seed).standard_normal(shape).astype(dtype)


def leaf(a):
    return gradlite.tensor(a, requires_grad=True)


def compare_module(torch, name, args, kwargs, x, dtype=np.float64, **call):
    theirs = getattr(torch.nn, name)(*args, **kwargs).to(getattr(torch, np.dtype(dtype).name))
    ours = getattr(nn, name)(*args, **kwargs).to(dtype)
    ours.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})
    assert list(ours.state_dict()) == list(theirs.state_dict())
    tx, gx = torch.tensor(x, requires_grad=True), leaf(x)
    out, expected = ours(gx, **call), theirs(tx, **call)
    tol = dict(rtol=1e-4, atol=1e-5) if dtype == np.float32 else dict(rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(out.data, expected.detach().numpy(), **tol)
    (out * out).sum().backward()
    (expected * expected).sum().backward()
    np.testing.assert_allclose(gx.grad.data, tx.grad.numpy(), **tol)
    for key, p in theirs.named_parameters():
        np.testing.assert_allclose(getattr(ours, key).grad.data, p.grad.numpy(), **tol)
    return out


@pytest.mark.parametrize("kwargs", [dict(stride=2, padding=1, output_padding=1),
                                    dict(stride=3, padding=2, dilation=2, groups=2),
                                    dict(kernel_size=(3, 5), stride=(2, 1), padding=(0, 3)),
                                    dict(dilation=2, output_padding=1, padding=1),
                                    dict(bias=False)])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_conv_transpose2d_matches_torch(kwargs, dtype):
    torch = pytest.importorskip("torch")
    kwargs = dict(kwargs)
    kernel = kwargs.pop("kernel_size", 3)
    compare_module(torch, "ConvTranspose2d", (4, 6, kernel), kwargs,
                   array(2, 4, 5, 6, dtype=dtype), dtype)


def test_conv_transpose_output_size_and_1d_and_unbatched():
    torch = pytest.importorskip("torch")
    out = compare_module(torch, "ConvTranspose2d", (2, 3, 3), dict(stride=2), array(1, 2, 4, 4),
                         output_size=(10, 9))
    assert out.shape == (1, 3, 10, 9)
    compare_module(torch, "ConvTranspose1d", (2, 4, 3), dict(stride=2, padding=1,
                                                           output_padding=1), array(3, 2, 7))
    compare_module(torch, "ConvTranspose2d", (2, 3, 2), dict(stride=2), array(2, 4, 4))
    layer = nn.ConvTranspose2d(2, 3, 3, stride=2)
    with pytest.raises(ValueError, match=r"requested an output size of \(12, 9\), but valid "
                                         r"sizes range from 9 to 10"):
        layer(gradlite.zeros(1, 2, 4, 4), output_size=(12, 9))


@pytest.mark.parametrize("kwargs", [dict(stride=2, padding=1), dict(padding="same", dilation=2),
                                    dict(groups=2, dilation=3), dict(padding="valid")])
def test_conv1d_matches_torch(kwargs):
    torch = pytest.importorskip("torch")
    compare_module(torch, "Conv1d", (4, 6, 4 if kwargs.get("padding") == "same" else 3), kwargs,
                   array(2, 4, 11))


def test_conv1d_float32_unbatched_and_errors():
    torch = pytest.importorskip("torch")
    compare_module(torch, "Conv1d", (3, 2, 2), {}, array(3, 9, dtype=np.float32), np.float32)
    with pytest.raises(ValueError, match=r"conv1d: expected a 2-d \(unbatched\) or 3-d input, "
                                         r"got shape \(1, 3, 4, 4\)"):
        nn.Conv1d(3, 2, 2)(gradlite.zeros(1, 3, 4, 4))
    with pytest.raises(ValueError, match="conv_transpose2d: output_padding .2, 2. must be smaller"):
        F.conv_transpose2d(gradlite.zeros(1, 2, 3, 3), gradlite.zeros(2, 1, 3, 3), stride=2,
                           output_padding=2)


@settings(max_examples=10)
@given(n=st.integers(1, 2), groups=st.integers(1, 2), c_in=st.integers(1, 2),
       c_out=st.integers(1, 2), size=st.tuples(st.integers(1, 3), st.integers(1, 3)),
       kernel=st.tuples(st.integers(1, 3), st.integers(1, 2)), stride=st.integers(1, 3),
       padding=st.integers(0, 1), dilation=st.integers(1, 2), extra=st.integers(0, 1),
       seed=st.integers(0, 50))
def test_conv_transpose2d_gradcheck_and_composite(n, groups, c_in, c_out, size, kernel, stride,
                                                  padding, dilation, extra, seed):
    x = leaf(array(n, c_in * groups, *size, seed=seed))
    w = leaf(array(c_in * groups, c_out, *kernel, seed=seed + 1))
    b = leaf(array(c_out * groups, seed=seed + 2))
    output_padding = min(extra, max(stride, dilation) - 1)
    height = (size[0] - 1) * stride - 2 * padding + dilation * (kernel[0] - 1) + output_padding + 1
    width = (size[1] - 1) * stride - 2 * padding + dilation * (kernel[1] - 1) + output_padding + 1
    if min(height, width) < 1:
        return

    def fn(x, w, b):
        return F.conv_transpose2d(x, w, b, stride, padding, output_padding, groups, dilation)
    out = fn(x, w, b)
    spec = conv_transpose2d_composite(x, w, b, (stride,) * 2, (padding,) * 2, (dilation,) * 2,
                                      groups, out.shape)
    np.testing.assert_allclose(out.data, spec.data, rtol=1e-12, atol=1e-12)
    assert gradcheck(fn, [x, w, b])


def test_conv_transpose_and_conv1d_gradgradcheck():
    x, w, b = leaf(array(1, 2, 3, 3)), leaf(array(2, 2, 2, 2, seed=1)), leaf(array(2, seed=2))
    assert gradgradcheck(lambda x, w, b: F.conv_transpose2d(x, w, b, stride=2, padding=1),
                         [x, w, b])
    x1, w1 = leaf(array(2, 2, 5)), leaf(array(3, 2, 2, seed=3))
    assert gradgradcheck(lambda x, w: F.conv1d(x, w, stride=2), [x1, w1])


# ----------------------------------------------------------------- interpolate
INTERPOLATIONS = [
    ((1, 2, 5, 7), dict(scale_factor=2, mode="nearest")),
    ((1, 2, 5, 7), dict(size=(3, 11), mode="nearest")),
    ((1, 2, 5, 7), dict(scale_factor=1.7, mode="nearest")),
    ((2, 3, 6), dict(size=13, mode="nearest")),
    ((1, 2, 5, 7), dict(size=(9, 4), mode="bilinear", align_corners=False)),
    ((1, 2, 5, 7), dict(size=(9, 4), mode="bilinear", align_corners=True)),
    ((1, 2, 5, 7), dict(scale_factor=2.5, mode="bilinear")),
    ((1, 1, 1, 4), dict(size=(3, 1), mode="bilinear", align_corners=True)),
    ((2, 3, 6), dict(scale_factor=1.5, mode="linear", align_corners=True)),
    ((2, 3, 6), dict(size=4, mode="linear")),
]


@pytest.mark.parametrize("shape, kwargs", INTERPOLATIONS, ids=str)
def test_interpolate_matches_torch(shape, kwargs):
    torch = pytest.importorskip("torch")
    x = array(*shape)
    tx, gx = torch.tensor(x, requires_grad=True), leaf(x)
    out = F.interpolate(gx, **kwargs)
    expected = torch.nn.functional.interpolate(tx, **kwargs)
    np.testing.assert_allclose(out.data, expected.detach().numpy(), rtol=1e-12, atol=1e-12)
    (out ** 3).sum().backward()
    (expected ** 3).sum().backward()
    np.testing.assert_allclose(gx.grad.data, tx.grad.numpy(), rtol=1e-10, atol=1e-12)


def test_upsample_module_and_interpolate_errors():
    up = nn.Upsample(scale_factor=2, mode="bilinear", align_corners=True)
    assert up(gradlite.zeros(1, 1, 3, 4)).shape == (1, 1, 6, 8)
    assert repr(up) == "Upsample(scale_factor=2, mode='bilinear')"
    with pytest.raises(ValueError, match="interpolate: mode 'bilinear' expects a 4-d input"):
        F.interpolate(gradlite.zeros(1, 2, 3), scale_factor=2, mode="bilinear")
    with pytest.raises(ValueError, match="align_corners option can only be set with"):
        F.interpolate(gradlite.zeros(1, 2, 3), scale_factor=2, align_corners=True)
    with pytest.raises(ValueError, match="exactly one of size and scale_factor"):
        F.interpolate(gradlite.zeros(1, 2, 3))


@settings(max_examples=10)
@given(size=st.tuples(st.integers(1, 4), st.integers(1, 4)),
       out=st.tuples(st.integers(1, 5), st.integers(1, 5)),
       mode=st.sampled_from(["nearest", "bilinear-aligned", "bilinear"]), seed=st.integers(0, 50))
def test_interpolate_gradcheck(size, out, mode, seed):
    align = True if mode == "bilinear-aligned" else None
    mode = mode.split("-")[0]
    assert gradcheck(lambda x: F.interpolate(x, size=out, mode=mode, align_corners=align),
                     [leaf(array(1, 2, *size, seed=seed))])
