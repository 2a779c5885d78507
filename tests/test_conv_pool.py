"""conv2d and the pooling ops as differentiable Tensor ops.

The lecture's worked examples, gradcheck (and gradgradcheck for conv) in float64
over hypothesis-drawn shapes, argument errors, and PyTorch's values and gradients
when torch is installed.
"""
import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import gradlite
from gradlite._kernels import output_size
from gradlite.nn._conv import adaptive_avg_pool2d, avg_pool2d, conv2d, max_pool2d


def t(array, dtype=np.float64, grad=False):
    return gradlite.Tensor(np.asarray(array, dtype=dtype), requires_grad=grad)


def randn(shape, seed, grad=True):
    return t(np.random.default_rng(seed).standard_normal(shape), grad=grad)


# ------------------------------------------------------------------ lecture examples

def test_lecture_convolution_feature_map():
    image = [[1, 1, 1, 0, 0], [0, 1, 1, 1, 0], [0, 0, 1, 1, 1], [0, 0, 1, 1, 0], [0, 1, 1, 0, 0]]
    kernel = [[1, 0, 1], [0, 1, 0], [1, 0, 1]]
    for dtype in (np.float32, np.float64):
        y = conv2d(t([[image]], dtype), t([[kernel]], dtype))
        assert y.dtype == dtype
        np.testing.assert_array_equal(y.data[0, 0], [[4, 3, 4], [2, 4, 3], [2, 3, 4]])


def test_lecture_max_pooling():
    x = t([[[[12, 20, 30, 0], [8, 12, 2, 0], [34, 70, 37, 4], [112, 100, 25, 12]]]], grad=True)
    y = max_pool2d(x, 2)
    np.testing.assert_array_equal(y.data[0, 0], [[20, 30], [112, 37]])
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.data[0, 0], [[0, 1, 1, 0], [0, 0, 0, 0],
                                                      [0, 0, 1, 0], [1, 0, 0, 0]])


# ------------------------------------------------------------------------ gradcheck

@st.composite
def conv_cases(draw):
    groups, cg, og = draw(st.integers(1, 2)), draw(st.integers(1, 2)), draw(st.integers(1, 2))
    k = draw(st.tuples(st.integers(1, 3), st.integers(1, 3)))
    s = draw(st.tuples(st.integers(1, 2), st.integers(1, 2)))
    p = draw(st.tuples(st.integers(0, 2), st.integers(0, 2)))
    d = draw(st.tuples(st.integers(1, 2), st.integers(1, 2)))
    h, w = draw(st.integers(1, 6)), draw(st.integers(1, 6))
    assume(all(output_size((h, w)[a], k[a], s[a], p[a], d[a]) >= 1 for a in (0, 1)))
    return ((draw(st.integers(1, 2)), groups * cg, h, w), (groups * og, cg, *k),
            dict(stride=s, padding=p, dilation=d, groups=groups), draw(st.booleans()))


@settings(max_examples=15)
@given(conv_cases())
def test_conv2d_gradcheck(case):
    x_shape, w_shape, args, bias = case
    x, w = randn(x_shape, 0), randn(w_shape, 1)
    b = randn(w_shape[:1], 2) if bias else None
    assert gradlite.gradcheck(lambda x, w, b: conv2d(x, w, b, **args), (x, w, b))


def test_conv2d_gradgradcheck_depthwise_and_grouped():
    x = randn((2, 4, 5, 5), 0)
    for w_shape, groups in (((4, 1, 3, 3), 4), ((6, 2, 2, 3), 2)):
        w, b = randn(w_shape, 1), randn(w_shape[:1], 2)
        f = lambda x, w, b: conv2d(x, w, b, stride=(1, 2), padding=1, groups=groups)  # noqa: E731
        assert gradlite.gradgradcheck(f, (x, w, b))


def test_conv2d_skips_gradients_nobody_needs():
    x, w = randn((1, 2, 4, 4), 0, grad=False), randn((3, 2, 3, 3), 1)
    conv2d(x, w).sum().backward()
    assert x.grad is None and w.grad.shape == (3, 2, 3, 3)


@st.composite
def pool_cases(draw):
    k = draw(st.tuples(st.integers(1, 3), st.integers(1, 3)))
    s = draw(st.one_of(st.none(), st.tuples(st.integers(1, 2), st.integers(1, 2))))
    p = draw(st.tuples(st.integers(0, k[0] // 2), st.integers(0, k[1] // 2)))
    h, w = draw(st.integers(1, 6)), draw(st.integers(1, 6))
    stride = k if s is None else s
    assume(all(output_size((h, w)[a], k[a], stride[a], p[a]) >= 1 for a in (0, 1)))
    return (2, 2, h, w), dict(kernel_size=k, stride=s, padding=p)


@settings(max_examples=15)
@given(pool_cases(), st.booleans())
def test_pooling_gradcheck(case, include_pad):
    shape, args = case
    # distinct values: a max with ties has no derivative
    x = t(np.random.default_rng(0).permutation(np.prod(shape)).reshape(shape) / 7.0, grad=True)
    assert gradlite.gradcheck(lambda x: max_pool2d(x, **args), (x,))
    assert gradlite.gradcheck(lambda x: avg_pool2d(x, **args, count_include_pad=include_pad), (x,))


@settings(max_examples=10)
@given(st.integers(1, 7), st.integers(1, 7), st.integers(1, 7), st.integers(1, 7))
def test_adaptive_avg_pool2d_gradcheck(h, w, oh, ow):
    x = randn((1, 2, h, w), 0)
    assert gradlite.gradcheck(lambda x: adaptive_avg_pool2d(x, (oh, ow)), (x,))


def test_adaptive_avg_pool2d_to_1x1_is_the_global_mean():
    x = randn((2, 3, 4, 5), 0)
    np.testing.assert_allclose(adaptive_avg_pool2d(x, 1).data[..., 0, 0], x.data.mean(axis=(2, 3)))
    assert adaptive_avg_pool2d(x, (None, 2)).shape == (2, 3, 4, 2)


# --------------------------------------------------------------------------- errors

@pytest.mark.parametrize("call, words", [
    (lambda: conv2d(randn((1, 1, 2, 2), 0), randn((1, 1, 3, 3), 1)),
     ["conv2d", "floor((H + 2P - D*(K-1) - 1)/S) + 1", "= 0", "(1, 1, 2, 2)"]),
    (lambda: conv2d(randn((1, 3, 5, 5), 0), randn((2, 1, 3, 3), 1), groups=2),
     ["conv2d", "divisible by groups=2", "(1, 3, 5, 5)"]),
    (lambda: conv2d(randn((1, 3, 5, 5), 0), randn((2, 2, 3, 3), 1)),
     ["conv2d", "(2, 2, 3, 3)", "(1, 3, 5, 5)", "input channels"]),
    (lambda: conv2d(randn((3, 5, 5), 0), randn((2, 3, 3, 3), 1)), ["conv2d", "input", "4-d"]),
    (lambda: conv2d(randn((1, 3, 5, 5), 0), randn((2, 3, 3, 3), 1), stride=0),
     ["conv2d", "stride", "got 0"]),
    (lambda: conv2d(randn((1, 3, 5, 5), 0), randn((2, 3, 3, 3), 1), randn((3,), 2)),
     ["conv2d", "bias", "(2,)", "(3,)"]),
    (lambda: max_pool2d(randn((1, 1, 4, 4), 0), 2, padding=2), ["max_pool2d", "padding"]),
    (lambda: avg_pool2d(randn((1, 1, 2, 2), 0), 3, padding=1, stride=(1, -1)),
     ["avg_pool2d", "stride"]),
    (lambda: max_pool2d(randn((1, 1, 2, 2), 0), 3), ["max_pool2d", "= 0", "(1, 1, 2, 2)"]),
    (lambda: adaptive_avg_pool2d(randn((1, 4, 4), 0), 2), ["adaptive_avg_pool2d", "4-d"]),
    (lambda: adaptive_avg_pool2d(randn((1, 1, 4, 4), 0), 0), ["adaptive_avg_pool2d", "output_size"]),
])
def test_bad_arguments_raise_value_error_naming_the_problem(call, words):
    with pytest.raises(ValueError) as error:
        call()
    for word in words:
        assert word in str(error.value)


# ---------------------------------------------------------------------------- torch

def _torch_pair(shapes, seed, dtype=np.float64):
    """The same random arrays as gradlite Tensors and as torch tensors, all requiring grad."""
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(seed)
    arrays = [rng.standard_normal(s).astype(dtype) for s in shapes]
    return ([t(a, dtype, grad=True) for a in arrays],
            [torch.tensor(a, requires_grad=True) for a in arrays], torch)


def _compare(ours, theirs, ours_out, theirs_out, tol):
    np.testing.assert_allclose(ours_out.data, theirs_out.detach().numpy(), **tol)
    gy = np.random.default_rng(9).standard_normal(ours_out.shape).astype(ours_out.dtype)
    ours_out.backward(gradlite.Tensor(gy))
    import torch
    theirs_out.backward(torch.tensor(gy))
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(a.grad.data, b.grad.numpy(), **tol)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("x_shape, w_shape, args", [
    ((2, 3, 9, 8), (4, 3, 3, 3), dict(stride=1, padding=1)),
    ((2, 4, 9, 8), (6, 2, 3, 2), dict(stride=(2, 1), padding=(0, 2), dilation=(2, 1), groups=2)),
    ((2, 6, 7, 7), (6, 1, 3, 3), dict(padding=1, groups=6)),
    ((1, 1, 10, 10), (5, 1, 5, 5), dict(padding=2)),
    ((3, 3, 11, 11), (8, 3, 3, 3), dict(stride=2, padding=1)),
])
def test_conv2d_matches_torch(dtype, x_shape, w_shape, args):
    ours, theirs, torch = _torch_pair([x_shape, w_shape, w_shape[:1]], 0, dtype)
    tol = dict(rtol=1e-4, atol=1e-4) if dtype == np.float32 else dict(rtol=1e-10, atol=1e-10)
    _compare(ours, theirs, conv2d(*ours, **args), torch.nn.functional.conv2d(*theirs, **args), tol)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("k, s, p", [(2, None, 0), (3, 2, 1), (3, 1, 1), ((2, 3), (1, 2), (1, 0))])
def test_pooling_matches_torch(dtype, k, s, p):
    tol = dict(rtol=1e-5, atol=1e-6)
    ours, theirs, torch = _torch_pair([(2, 3, 9, 8)], 1, dtype)
    _compare(ours, theirs, max_pool2d(ours[0], k, s, p),
             torch.nn.functional.max_pool2d(theirs[0], k, s, p), tol)
    for include_pad in (True, False):
        ours, theirs, torch = _torch_pair([(2, 3, 9, 8)], 2, dtype)
        _compare(ours, theirs, avg_pool2d(ours[0], k, s, p, count_include_pad=include_pad),
                 torch.nn.functional.avg_pool2d(theirs[0], k, s, p, count_include_pad=include_pad),
                 tol)


@pytest.mark.parametrize("out", [1, (3, 2), (5, 7), (9, 8)])
def test_adaptive_avg_pool2d_matches_torch(out):
    ours, theirs, torch = _torch_pair([(2, 3, 9, 8)], 3)
    _compare(ours, theirs, adaptive_avg_pool2d(ours[0], out),
             torch.nn.functional.adaptive_avg_pool2d(theirs[0], out), dict(rtol=1e-12, atol=1e-12))
