"""Compiled conv2d forward and backward, the twins of ``_reference.conv2d_*``: check the
sizes, then hand each part of the conv to one of two algorithms, both exact
re-arrangements of the reference sums:

* **im2col + GEMM** (``_im2col.pyx``): copy every input patch into a column of a
  matrix and multiply by the weight matrix in BLAS, ``Y = W @ im2col(x)``. Best when a
  group has many (input, output) channel pairs: the GEMMs are then large enough for
  BLAS to run near its peak.
* **direct** (``_direct.pyx`` and its register tiles, ``conv_tiles.h``): no columns;
  each output plane is a sum of shifted, scaled input planes, computed in vector
  registers. Best for few channels per group (LeNet, the first layer of most CNNs) and
  for one input channel per group (depthwise convs), where a GEMM is all overhead.

``choose_algorithm`` decides, part by part (forward, input gradient, weight gradient);
``forward_with`` and ``backward_with`` force an algorithm (the tests run both on every
shape). The bias gradient is the same for both, and lives here.
"""
import numpy as np

from cython.parallel cimport prange

from . import _direct, _im2col
from ._checks import check_conv, check_dtype, check_grad
from ._parallel cimport threads_for

ctypedef fused real:
    float
    double

# The most products a group's output pixel may take (input channels x outputs x taps,
# Cg * O/groups * KH * KW) for the direct kernels to compute the forward, and either
# gradient. Past that, the GEMMs (M = outputs, K = inputs x taps) are large enough for
# BLAS to run near its peak while the direct kernels' tap lists outgrow the cache; in
# the backward that point comes sooner. Measured where the crossings are, with AVX-512
# and with AVX2 tiles (the same on both): docs/performance.md.
DIRECT_FORWARD_PRODUCTS = 147456
DIRECT_BACKWARD_PRODUCTS = 36864

# The direct kernels zero-pad each input plane to (H + 2ph) x (W + 2pw). With padding or
# dilation reaching far past the image that plane is mostly zeros, and can be far larger
# than the im2col columns of the same channel (KH*KW*OH*OW) and the plane itself: past
# this factor, im2col + GEMM takes the conv.
DIRECT_MAX_PADDED_GROWTH = 4


def choose_algorithm(conv, groups, part):
    """"direct" or "im2col" for ``part`` ("forward", "grad_input", "grad_weight") of the
    conv (x_shape, w_shape, stride, padding, dilation)."""
    (N, C, H, W), (O, Cg, KH, KW), _, (ph, pw), _ = conv
    OH, OW = _output_hw(conv)
    padded = (H + 2 * ph) * (W + 2 * pw)
    if padded > DIRECT_MAX_PADDED_GROWTH * (H * W + KH * KW * OH * OW) \
            or not _direct.offsets_fit(conv, groups):
        return "im2col"
    if Cg == 1:         # one input channel a group: a GEMM with K = KH*KW is all overhead
        return "direct"
    most = DIRECT_FORWARD_PRODUCTS if part == "forward" else DIRECT_BACKWARD_PRODUCTS
    return "direct" if Cg * (O // groups) * KH * KW <= most else "im2col"


def _output_hw(conv):
    (_, _, H, W), (_, _, KH, KW), (sh, sw), (ph, pw), (dh, dw) = conv
    return ((H + 2 * ph - dh * (KH - 1) - 1) // sh + 1,
            (W + 2 * pw - dw * (KW - 1) - 1) // sw + 1)


def _no_products(conv):
    """Whether the conv's sums are all empty (no input channel, tap or pixel) or it has
    no outputs: then y is the bias, and the gradients are zeros (and gy's sums)."""
    (N, C, H, W), (O, Cg, KH, KW) = conv[:2]
    return N * O == 0 or C * KH * KW * H * W == 0


def _prepare(fn, x, w, b, stride, padding, dilation, groups):
    """The checked, C-contiguous arrays (w, b in x's dtype), the output shape and conv."""
    y_shape = check_conv(fn, x, w, b, stride, padding, dilation, groups)
    x = np.ascontiguousarray(x)
    w = np.ascontiguousarray(w, dtype=x.dtype)
    b = None if b is None else np.ascontiguousarray(b, dtype=x.dtype)
    conv = (x.shape, w.shape, tuple(int(v) for v in stride), tuple(int(v) for v in padding),
            tuple(int(v) for v in dilation))
    return x, w, b, y_shape, conv


def _check_algorithm(algorithm, conv, groups):
    if algorithm not in (None, "direct", "im2col"):
        raise ValueError(f"conv2d: algorithm must be 'direct', 'im2col' or None, got "
                         f"{algorithm!r}")
    if algorithm == "direct" and not _direct.offsets_fit(conv, groups):
        raise ValueError(f"conv2d: sizes too large for the direct kernels: {conv}")


def conv2d_forward(x, w, b, stride, padding, dilation, groups):
    """y = conv2d(x, w) + b, shape (N, O, OH, OW); see _reference.conv2d_forward for the sum."""
    return forward_with(None, x, w, b, stride, padding, dilation, groups)


def forward_with(algorithm, x, w, b, stride, padding, dilation, groups,
                 chunk_bytes=_im2col.CHUNK_BYTES):
    """conv2d_forward by ``algorithm``: "direct", "im2col" (in chunks of about
    ``chunk_bytes`` of columns), or None for choose_algorithm's pick."""
    x, w, b, y_shape, conv = _prepare("conv2d_forward", x, w, b, stride, padding, dilation,
                                      groups)
    _check_algorithm(algorithm, conv, groups)
    y = np.empty(y_shape, dtype=x.dtype)
    if _no_products(conv):
        y[...] = 0 if b is None else b.reshape(1, -1, 1, 1)
    elif (algorithm or choose_algorithm(conv, groups, "forward")) == "direct":
        _direct.conv2d_forward(x, w, b, y, conv)
    else:
        _im2col.conv2d_forward(x, w, b, y, conv, int(groups), chunk_bytes)
    return y


def conv2d_backward(x, w, grad_y, stride, padding, dilation, groups, needs=(True, True, True)):
    """(gx, gw, gb) of sum(grad_y * conv2d_forward(...)); None where ``needs`` is False."""
    return backward_with(None, x, w, grad_y, stride, padding, dilation, groups, needs)


def backward_with(algorithm, x, w, grad_y, stride, padding, dilation, groups,
                  needs=(True, True, True), chunk_bytes=_im2col.CHUNK_BYTES):
    """conv2d_backward by ``algorithm`` (as in forward_with)."""
    fn = "conv2d_backward"
    x, w, _, y_shape, conv = _prepare(fn, x, w, None, stride, padding, dilation, groups)
    _check_algorithm(algorithm, conv, groups)
    check_dtype(fn, grad_y=grad_y)
    check_grad(fn, grad_y, y_shape)
    gy = np.ascontiguousarray(grad_y, dtype=x.dtype)
    gx = gw = None
    gb = bias_grad(gy) if needs[2] else None
    if _no_products(conv):
        return (np.zeros_like(x) if needs[0] else None,
                np.zeros(w.shape, dtype=x.dtype) if needs[1] else None, gb)
    if needs[0] and (algorithm or choose_algorithm(conv, groups, "grad_input")) == "direct":
        gx = np.empty_like(x)
        _direct.conv2d_grad_input(gy, w, gx, conv, int(groups))
    if needs[1] and (algorithm or choose_algorithm(conv, groups, "grad_weight")) == "direct":
        gw = _direct.conv2d_grad_weight(x, gy, conv, int(groups)).astype(x.dtype)
    gemm_gx, gemm_gw = needs[0] and gx is None, needs[1] and gw is None
    if gemm_gx or gemm_gw:
        gemm = _im2col.conv2d_backward(x, w, gy, conv, int(groups), gemm_gx, gemm_gw,
                                       chunk_bytes)
        gx, gw = gemm[0] if gemm_gx else gx, gemm[1] if gemm_gw else gw
    return gx, gw, gb


# ------------------------------------------------------------------ bias gradient

cdef enum:
    SUM_LANES = 8


cdef inline double _sum(const real* v, Py_ssize_t n) noexcept nogil:
    """sum(v[:n]) in float64, as SUM_LANES running sums (lane l adds v[l], v[l + 8], ...)
    added up at the end. One running sum waits for each add to finish (~4 cycles); eight
    independent ones are one vector add per 8 values, as fast as memory delivers them."""
    cdef double lanes[SUM_LANES]
    cdef double s = 0
    cdef Py_ssize_t k, whole = n - n % SUM_LANES
    cdef int l
    for l in range(SUM_LANES):
        lanes[l] = 0
    for k in range(whole // SUM_LANES):
        for l in range(SUM_LANES):
            lanes[l] += v[k * SUM_LANES + l]
    for k in range(whole, n):
        s += v[k]
    for l in range(SUM_LANES):
        s += lanes[l]
    return s


def _channel_sums(const real[:, :, ::1] y, double[::1] sums):
    """sums[o] = sum_{n, k} y[n, o, k]."""
    cdef Py_ssize_t n, o
    cdef double s
    cdef int nt = threads_for(y.shape[0] * y.shape[1] * y.shape[2])
    with nogil:
        for o in prange(y.shape[1], schedule="dynamic", num_threads=nt):
            s = 0
            for n in range(y.shape[0]):
                s = s + _sum(&y[n, o, 0], y.shape[2])
            sums[o] = s


def bias_grad(gy):
    """gb[o] = sum_{n, i, j} gy[n, o, i, j], summed in float64."""
    N, O = gy.shape[:2]
    sums = np.zeros(O)
    if gy.size:
        _channel_sums(gy.reshape(N, O, -1), sums)
    return sums.astype(gy.dtype)
