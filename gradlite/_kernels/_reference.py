"""Plain numpy convolution and pooling kernels: the specification.

Every kernel here has a compiled twin (``_conv.pyx``, ``_pool.pyx``) with the same
name and signature; the tests require the two to agree to float tolerance. These
versions are written to be read, not to be fast. Convolution is ``W @ im2col(x)``,
the way ``docs/internals.md`` section 7 teaches it.

Conventions shared by all kernels:

* arrays are NCHW: ``x`` has shape ``(N, C, H, W)``; a conv weight has shape
  ``(O, C // groups, KH, KW)``; outputs keep the input dtype;
* ``stride``, ``padding``, ``dilation``, ``kernel`` are ``(h, w)`` pairs of ints;
  every entry point checks its sizes and dtypes with ``_checks``, as the compiled
  twins do, so both raise the same errors;
* along one axis, output position ``o`` and kernel tap ``k`` read input position
  ``i = o * S - P + k * D``; positions outside ``[0, H)`` are padding.
"""
import numpy as np

from ._checks import (check_adaptive, check_conv, check_dtype, check_grad, check_pool,
                      output_size)


def _taps_inside(size, out, kernel, stride, padding, dilation=1):
    """The kernel taps k along one axis that can read inside [0, size) for some output o
    (input position o*S - P + k*D): the others only ever read padding."""
    lo = max(0, -(-(padding - (out - 1) * stride) // dilation))
    return range(lo, min(kernel, (size - 1 + padding) // dilation + 1))


def _tap_reads(size, out, tap, stride, padding, dilation=1):
    """For kernel tap ``tap`` along one axis: the outputs o whose input position
    o*S - P + tap*D lies inside [0, size), and those positions (two index arrays)."""
    positions = np.arange(out) * stride - padding + tap * dilation
    inside = (positions >= 0) & (positions < size)
    return np.flatnonzero(inside), positions[inside]


def _conv_out_hw(x_shape, w_shape, stride, padding, dilation):
    return tuple(output_size(x_shape[2 + a], w_shape[2 + a], stride[a], padding[a], dilation[a])
                 for a in (0, 1))


# ----------------------------------------------------------------------------- conv2d

def im2col(x, kernel, stride, padding, dilation):
    """Every patch the kernel sees, as a column: shape (N, C*KH*KW, OH*OW) with

        cols[n, (c, kh, kw), (i, j)] = xpad[n, c, i*S + kh*D, j*S + kw*D]

    (0 where that pixel is padding)."""
    N, C, H, W = x.shape
    (KH, KW), (OH, OW) = kernel, _conv_out_hw(x.shape, (0, 0, *kernel), stride, padding, dilation)
    cols = np.zeros((N, C, KH, KW, OH, OW), dtype=x.dtype)
    for kh in range(KH):
        i, h = _tap_reads(H, OH, kh, stride[0], padding[0], dilation[0])
        for kw in range(KW):
            j, w = _tap_reads(W, OW, kw, stride[1], padding[1], dilation[1])
            cols[:, :, kh, kw, i[:, None], j] = x[:, :, h[:, None], w]
    return cols.reshape(N, C * KH * KW, OH * OW)


def col2im(cols, x_shape, kernel, stride, padding, dilation):
    """The adjoint of im2col: every column entry added back onto the pixel it was read
    from (entries read from the padding are dropped)."""
    N, C, H, W = x_shape
    (KH, KW), (OH, OW) = kernel, _conv_out_hw(x_shape, (0, 0, *kernel), stride, padding, dilation)
    cols = cols.reshape(N, C, KH, KW, OH, OW)
    x = np.zeros(x_shape, dtype=cols.dtype)
    for kh in range(KH):
        i, h = _tap_reads(H, OH, kh, stride[0], padding[0], dilation[0])
        for kw in range(KW):
            j, w = _tap_reads(W, OW, kw, stride[1], padding[1], dilation[1])
            x[:, :, h[:, None], w] += cols[:, :, kh, kw, i[:, None], j]  # distinct pixels
    return x


def conv2d_forward(x, w, b, stride, padding, dilation, groups):
    """y = W @ im2col(x) + b, group by group:

        y[n, o, i, j] = b[o] + sum_{c, kh, kw} w[o, c, kh, kw] * xpad[n, g*Cg + c, i*S + kh*D, j*S + kw*D]

    where g = o // (O / groups) is the group of output channel o and Cg = C / groups.
    Returns y of shape (N, O, OH, OW).
    """
    N, O, OH, OW = check_conv("conv2d_forward", x, w, b, stride, padding, dilation, groups)
    G, K = groups, int(np.prod(w.shape[1:]))                     # K = Cg*KH*KW
    cols = im2col(x, w.shape[2:], stride, padding, dilation).reshape(N, G, K, OH * OW)
    y = w.reshape(G, O // G, K).astype(x.dtype) @ cols           # (N, G, O/G, OH*OW)
    y = y.reshape(N, O, OH, OW)
    return y if b is None else y + b.astype(x.dtype).reshape(1, O, 1, 1)


def conv2d_backward(x, w, grad_y, stride, padding, dilation, groups, needs=(True, True, True)):
    """Gradients of sum(grad_y * conv2d_forward(x, w, b)) with respect to x, w and b. With
    gY = grad_y as (N, G, O/G, OH*OW) matrices and cols = im2col(x), per group:

        gw = sum_n gY @ cols.T       gw[o, c, kh, kw] = sum_{n,i,j} gy[n,o,i,j] * xpad[n, ., i*S + kh*D, j*S + kw*D]
        gx = col2im(W.T @ gY)        every tap adds w[o, c, kh, kw] * gy[n, o, i, j] to the pixel it read
        gb = sum of gY over n, i, j

    ``needs`` = (x, w, b) flags; an unneeded gradient is returned as None.
    """
    fn = "conv2d_backward"
    y_shape = check_conv(fn, x, w, None, stride, padding, dilation, groups)
    check_dtype(fn, grad_y=grad_y)
    check_grad(fn, grad_y, y_shape)
    N, O, OH, OW = y_shape
    G, K = groups, int(np.prod(w.shape[1:]))
    gy = grad_y.astype(x.dtype).reshape(N, G, O // G, OH * OW)
    wm = w.reshape(G, O // G, K).astype(x.dtype)
    gx = gw = gb = None
    if needs[0]:
        gcols = wm.transpose(0, 2, 1) @ gy                       # (N, G, K, OH*OW)
        gx = col2im(gcols, x.shape, w.shape[2:], stride, padding, dilation)
    if needs[1]:
        cols = im2col(x, w.shape[2:], stride, padding, dilation).reshape(N, G, K, OH * OW)
        gw = (gy @ cols.transpose(0, 1, 3, 2)).sum(axis=0).reshape(w.shape)
    if needs[2]:
        gb = gy.sum(axis=(0, 3)).reshape(O)
    return gx, gw, gb


# ------------------------------------------------------------------------- max_pool2d
# Pooling sweeps the kernel taps that read inside the input (_taps_inside): the others
# only read padding, which never wins a max and adds 0 to a sum.

def max_pool2d_forward(x, kernel, stride, padding):
    """y[n, c, i, j] = max over the window of xpad (padding is -inf, never chosen).

    Also returns argmax: the flat index ih * W + iw, in the unpadded (H, W) plane, of the
    first maximum met in row-major window order (PyTorch's tie rule), or of the last NaN:
    a NaN wins over every number, as in PyTorch, so y is NaN and its gradient goes there.
    """
    fn = "max_pool2d_forward"
    check_dtype(fn, x=x)
    N, C, OH, OW = check_pool(fn, x.shape, kernel, stride, padding)
    (H, W), (sh, sw), (ph, pw) = x.shape[2:], stride, padding
    y = np.full((N, C, OH, OW), -np.inf, dtype=x.dtype)
    # start from the first real pixel of each window, as PyTorch does
    first = np.maximum(np.arange(OH) * sh - ph, 0)[:, None] * W + np.maximum(np.arange(OW) * sw - pw, 0)
    argmax = np.broadcast_to(first, y.shape).copy()
    for kh in _taps_inside(H, OH, kernel[0], sh, ph):
        i, h = _tap_reads(H, OH, kh, sh, ph)
        for kw in _taps_inside(W, OW, kernel[1], sw, pw):
            j, w = _tap_reads(W, OW, kw, sw, pw)
            at = (slice(None), slice(None), i[:, None], j)
            patch, best = x[:, :, h[:, None], w], y[at]
            better = (patch > best) | np.isnan(patch)
            y[at] = np.where(better, patch, best)
            argmax[at] = np.where(better, h[:, None] * W + w, argmax[at])
    return y, argmax.astype(np.int64)


def max_pool2d_backward(grad_y, argmax, x_shape):
    """gx[n, c, argmax[n, c, i, j]] += grad_y[n, c, i, j]: each output's gradient goes to its max."""
    fn = "max_pool2d_backward"
    check_dtype(fn, grad_y=grad_y)
    N, C, H, W = x_shape
    if grad_y.shape != argmax.shape or grad_y.shape[:2] != (N, C) or argmax.size and (
            argmax.min() < 0 or argmax.max() >= H * W):
        raise ValueError(f"{fn}: grad_y {grad_y.shape} and argmax {argmax.shape} (indices "
                         f"in [0, {H * W})) do not fit x {tuple(x_shape)}")
    plane = np.arange(N * C).reshape(N, C, 1, 1) * (H * W)
    gx = np.bincount((plane + argmax).ravel(), weights=grad_y.ravel(), minlength=N * C * H * W)
    return gx.astype(grad_y.dtype).reshape(x_shape)


# ------------------------------------------------------------------------- avg_pool2d

def _avg_divisor(x_shape, out_hw, kernel, stride, padding, count_include_pad):
    """Window sizes: kh*kw, or (count_include_pad=False) the number of real pixels,
    rows(i) * cols(j) with rows(i) = |[i*S - P, i*S - P + K) clipped to [0, H)|."""
    if count_include_pad:
        return float(kernel[0]) * float(kernel[1])
    rows, cols = (np.minimum(np.arange(out_hw[a]) * stride[a] - padding[a] + kernel[a],
                             x_shape[2 + a]) - np.maximum(np.arange(out_hw[a]) * stride[a]
                                                          - padding[a], 0) for a in (0, 1))
    return np.outer(rows, cols)


def avg_pool2d_forward(x, kernel, stride, padding, count_include_pad=True):
    """y[n, c, i, j] = (sum of the window of xpad, zero padding) / divisor.

    divisor = KH*KW, or with count_include_pad=False the number of non-padding pixels.
    """
    fn = "avg_pool2d_forward"
    check_dtype(fn, x=x)
    N, C, OH, OW = check_pool(fn, x.shape, kernel, stride, padding)
    (H, W), (sh, sw), (ph, pw) = x.shape[2:], stride, padding
    total = np.zeros((N, C, OH, OW), dtype=x.dtype)
    for kh in _taps_inside(H, OH, kernel[0], sh, ph):
        i, h = _tap_reads(H, OH, kh, sh, ph)
        for kw in _taps_inside(W, OW, kernel[1], sw, pw):
            j, w = _tap_reads(W, OW, kw, sw, pw)
            total[:, :, i[:, None], j] += x[:, :, h[:, None], w]
    div = _avg_divisor(x.shape, (OH, OW), kernel, stride, padding, count_include_pad)
    return (total / div).astype(x.dtype)


def avg_pool2d_backward(grad_y, x_shape, kernel, stride, padding, count_include_pad=True):
    """gx[n, c, h, w] = sum over windows containing (h, w) of grad_y / divisor."""
    fn = "avg_pool2d_backward"
    check_dtype(fn, grad_y=grad_y)
    out_shape = check_pool(fn, tuple(x_shape), kernel, stride, padding)
    check_grad(fn, grad_y, out_shape)
    (H, W), (OH, OW), (sh, sw), (ph, pw) = x_shape[2:], out_shape[2:], stride, padding
    share = grad_y / _avg_divisor(x_shape, (OH, OW), kernel, stride, padding, count_include_pad)
    gx = np.zeros(x_shape, dtype=grad_y.dtype)
    for kh in _taps_inside(H, OH, kernel[0], sh, ph):
        i, h = _tap_reads(H, OH, kh, sh, ph)
        for kw in _taps_inside(W, OW, kernel[1], sw, pw):
            j, w = _tap_reads(W, OW, kw, sw, pw)
            gx[:, :, h[:, None], w] += share[:, :, i[:, None], j]   # distinct pixels
    return gx


# ---------------------------------------------------------------- adaptive_avg_pool2d

def adaptive_windows(size, out):
    """PyTorch's adaptive windows: [floor(i*size/out), ceil((i+1)*size/out)) for i < out."""
    return [(i * size // out, -(-(i + 1) * size // out)) for i in range(out)]


def adaptive_avg_pool2d_forward(x, output_size):
    """y[n, c, i, j] = mean of x[n, c, rows_i, cols_j] over the adaptive windows."""
    fn = "adaptive_avg_pool2d_forward"
    check_dtype(fn, x=x)
    check_adaptive(fn, x.shape, output_size)
    (OH, OW), (H, W) = output_size, x.shape[2:]
    y = np.empty((*x.shape[:2], OH, OW), dtype=x.dtype)
    if y.size == 0:
        return y
    for i, (h0, h1) in enumerate(adaptive_windows(H, OH)):
        for j, (w0, w1) in enumerate(adaptive_windows(W, OW)):
            y[:, :, i, j] = x[:, :, h0:h1, w0:w1].mean(axis=(2, 3))
    return y


def adaptive_avg_pool2d_backward(grad_y, x_shape):
    """gx[n, c, h, w] = sum over windows containing (h, w) of grad_y / window size."""
    fn = "adaptive_avg_pool2d_backward"
    check_dtype(fn, grad_y=grad_y)
    check_grad(fn, grad_y, check_adaptive(fn, tuple(x_shape), grad_y.shape[2:]))
    (OH, OW), (H, W) = grad_y.shape[2:], x_shape[2:]
    gx = np.zeros(x_shape, dtype=grad_y.dtype)
    if grad_y.size == 0:
        return gx
    for i, (h0, h1) in enumerate(adaptive_windows(H, OH)):
        for j, (w0, w1) in enumerate(adaptive_windows(W, OW)):
            gx[:, :, h0:h1, w0:w1] += grad_y[:, :, i:i + 1, j:j + 1] / ((h1 - h0) * (w1 - w0))
    return gx
