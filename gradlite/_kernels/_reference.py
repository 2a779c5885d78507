"""Plain numpy convolution and pooling kernels: the specification.

Every function here has a compiled twin (``_conv.pyx``, ``_pool.pyx``) with the
same name and signature; the tests require the two to agree to float tolerance.
These versions are written to be read, not to be fast.

Conventions shared by all kernels:

* arrays are NCHW: ``x`` has shape ``(N, C, H, W)``; a conv weight has shape
  ``(O, C // groups, KH, KW)``; outputs keep the input dtype;
* ``stride``, ``padding``, ``dilation``, ``kernel`` are ``(h, w)`` pairs of ints,
  already validated (``gradlite.nn._conv`` checks user arguments);
* along one axis, output position ``o`` and kernel tap ``k`` read input position
  ``i = o * S - P + k * D``; positions outside ``[0, H)`` are padding.
"""
import numpy as np


def output_size(size, kernel, stride, padding, dilation=1):
    """floor((size + 2P - D*(K-1) - 1) / S) + 1, the length of one output axis."""
    return (size + 2 * padding - dilation * (kernel - 1) - 1) // stride + 1


def _taps(x_padded, kh, kw, out_hw, stride, dilation):
    """The strided view of ``x_padded`` that kernel tap (kh, kw) reads, (..., OH, OW)."""
    (oh, ow), (sh, sw), (dh, dw) = out_hw, stride, dilation
    h0, w0 = kh * dh, kw * dw
    return x_padded[..., h0:h0 + sh * (oh - 1) + 1:sh, w0:w0 + sw * (ow - 1) + 1:sw]


def _pad(x, padding, value=0.0):
    ph, pw = padding
    return np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)), constant_values=value)


def _conv_shapes(x_shape, w_shape, stride, padding, dilation):
    (KH, KW), (_, _, H, W) = w_shape[2:], x_shape
    return (output_size(H, KH, stride[0], padding[0], dilation[0]),
            output_size(W, KW, stride[1], padding[1], dilation[1]))


# ----------------------------------------------------------------------------- conv2d

def conv2d_forward(x, w, b, stride, padding, dilation, groups):
    """y[n, o, i, j] = b[o] + sum_{c, kh, kw} w[o, c, kh, kw] * xpad[n, g*Cg + c, i*S + kh*D, j*S + kw*D]

    where g = o // (O / groups) is the group of output channel o and Cg = C / groups.
    Returns y of shape (N, O, OH, OW).
    """
    N, C = x.shape[:2]
    O, Cg, KH, KW = w.shape
    G, out_hw = groups, _conv_shapes(x.shape, w.shape, stride, padding, dilation)
    xp = _pad(x, padding)
    xg = xp.reshape(N, G, Cg, *xp.shape[2:])
    wg = w.reshape(G, O // G, Cg, KH, KW)
    y = np.zeros((N, G, O // G, *out_hw), dtype=x.dtype)
    for kh in range(KH):
        for kw in range(KW):
            patch = _taps(xg, kh, kw, out_hw, stride, dilation)        # (N, G, Cg, OH, OW)
            y += np.einsum("ngchw,goc->ngohw", patch, wg[..., kh, kw], optimize=True)
    y = y.reshape(N, O, *out_hw)
    return y if b is None else y + b.reshape(1, O, 1, 1)


def conv2d_backward(x, w, grad_y, stride, padding, dilation, groups, needs=(True, True, True)):
    """Gradients of sum(grad_y * conv2d_forward(x, w, b)) with respect to x, w and b.

    gw[o, c, kh, kw] = sum_{n, i, j} grad_y[n, o, i, j] * xpad[n, g*Cg + c, i*S + kh*D, j*S + kw*D]
    gx = the same sum scattered back: every tap adds w[o, c, kh, kw] * grad_y[n, o, i, j]
         to the input pixel it read (a transposed convolution), padding cropped off
    gb[o] = sum_{n, i, j} grad_y[n, o, i, j]
    ``needs`` = (x, w, b) flags; an unneeded gradient is returned as None.
    """
    N, C, H, W = x.shape
    O, Cg, KH, KW = w.shape
    G, out_hw = groups, grad_y.shape[2:]
    (ph, pw) = padding
    xg = _pad(x, padding).reshape(N, G, Cg, H + 2 * ph, W + 2 * pw)
    wg = w.reshape(G, O // G, Cg, KH, KW)
    gyg = grad_y.reshape(N, G, O // G, *out_hw)
    gxg = np.zeros_like(xg) if needs[0] else None
    gwg = np.zeros_like(wg) if needs[1] else None
    for kh in range(KH):
        for kw in range(KW):
            if needs[0]:
                _taps(gxg, kh, kw, out_hw, stride, dilation)[...] += np.einsum(
                    "ngohw,goc->ngchw", gyg, wg[..., kh, kw], optimize=True)
            if needs[1]:
                gwg[..., kh, kw] = np.einsum(
                    "ngohw,ngchw->goc", gyg, _taps(xg, kh, kw, out_hw, stride, dilation),
                    optimize=True)
    gx = None
    if needs[0]:
        gx = gxg.reshape(N, C, H + 2 * ph, W + 2 * pw)[:, :, ph:ph + H, pw:pw + W].copy()
    gw = gwg.reshape(w.shape) if needs[1] else None
    gb = grad_y.sum(axis=(0, 2, 3)) if needs[2] else None
    return gx, gw, gb


# ------------------------------------------------------------------------- max_pool2d

def _pool_out_hw(x_shape, kernel, stride, padding):
    H, W = x_shape[2:]
    return (output_size(H, kernel[0], stride[0], padding[0]),
            output_size(W, kernel[1], stride[1], padding[1]))


def max_pool2d_forward(x, kernel, stride, padding):
    """y[n, c, i, j] = max over the window of xpad (padding is -inf, never chosen).

    Also returns argmax: the flat index ih * W + iw, in the unpadded (H, W) plane,
    of the first maximum met in row-major window order (PyTorch's tie rule).
    """
    N, C, H, W = x.shape
    out_hw = _pool_out_hw(x.shape, kernel, stride, padding)
    xp = _pad(x, padding, -np.inf)
    rows = np.arange(out_hw[0]) * stride[0] - padding[0]
    cols = np.arange(out_hw[1]) * stride[1] - padding[1]
    y = np.full((N, C, *out_hw), -np.inf, dtype=x.dtype)
    # start from the first real pixel of each window, as PyTorch does
    argmax = np.broadcast_to(np.maximum(rows, 0)[:, None] * W + np.maximum(cols, 0), y.shape).copy()
    for kh in range(kernel[0]):
        for kw in range(kernel[1]):
            patch = _taps(xp, kh, kw, out_hw, stride, (1, 1))
            better = patch > y
            y = np.where(better, patch, y)
            argmax = np.where(better, (rows[:, None] + kh) * W + cols + kw, argmax)
    return y, argmax.astype(np.int64)


def max_pool2d_backward(grad_y, argmax, x_shape):
    """gx[n, c, argmax[n, c, i, j]] += grad_y[n, c, i, j]: each output's gradient goes to its max."""
    N, C, H, W = x_shape
    plane = np.arange(N * C).reshape(N, C, 1, 1) * (H * W)
    gx = np.bincount((plane + argmax).ravel(), weights=grad_y.ravel(), minlength=N * C * H * W)
    return gx.astype(grad_y.dtype).reshape(x_shape)


# ------------------------------------------------------------------------- avg_pool2d

def _avg_divisor(x_shape, kernel, stride, padding, count_include_pad, dtype):
    """Window sizes: kh*kw, or (count_include_pad=False) the number of real pixels."""
    if count_include_pad:
        return np.asarray(kernel[0] * kernel[1], dtype=dtype)
    ones = _pad(np.ones((1, 1, *x_shape[2:]), dtype=dtype), padding)
    out_hw = _pool_out_hw(x_shape, kernel, stride, padding)
    return sum(_taps(ones, kh, kw, out_hw, stride, (1, 1))
               for kh in range(kernel[0]) for kw in range(kernel[1]))


def avg_pool2d_forward(x, kernel, stride, padding, count_include_pad=True):
    """y[n, c, i, j] = (sum of the window of xpad, zero padding) / divisor.

    divisor = KH*KW, or with count_include_pad=False the number of non-padding pixels.
    """
    out_hw = _pool_out_hw(x.shape, kernel, stride, padding)
    xp = _pad(x, padding)
    total = sum(_taps(xp, kh, kw, out_hw, stride, (1, 1))
                for kh in range(kernel[0]) for kw in range(kernel[1]))
    div = _avg_divisor(x.shape, kernel, stride, padding, count_include_pad, x.dtype)
    return (total / div).astype(x.dtype)


def avg_pool2d_backward(grad_y, x_shape, kernel, stride, padding, count_include_pad=True):
    """gx[n, c, h, w] = sum over windows containing (h, w) of grad_y / divisor."""
    N, C, H, W = x_shape
    (ph, pw), out_hw = padding, grad_y.shape[2:]
    share = grad_y / _avg_divisor(x_shape, kernel, stride, padding, count_include_pad, grad_y.dtype)
    gxp = np.zeros((N, C, H + 2 * ph, W + 2 * pw), dtype=grad_y.dtype)
    for kh in range(kernel[0]):
        for kw in range(kernel[1]):
            _taps(gxp, kh, kw, out_hw, stride, (1, 1))[...] += share
    return gxp[:, :, ph:ph + H, pw:pw + W].copy()


# ---------------------------------------------------------------- adaptive_avg_pool2d

def adaptive_windows(size, out):
    """PyTorch's adaptive windows: [floor(i*size/out), ceil((i+1)*size/out)) for i < out."""
    return [(i * size // out, -(-(i + 1) * size // out)) for i in range(out)]


def adaptive_avg_pool2d_forward(x, output_size):
    """y[n, c, i, j] = mean of x[n, c, rows_i, cols_j] over the adaptive windows."""
    (OH, OW), (H, W) = output_size, x.shape[2:]
    y = np.empty((*x.shape[:2], OH, OW), dtype=x.dtype)
    for i, (h0, h1) in enumerate(adaptive_windows(H, OH)):
        for j, (w0, w1) in enumerate(adaptive_windows(W, OW)):
            y[:, :, i, j] = x[:, :, h0:h1, w0:w1].mean(axis=(2, 3))
    return y


def adaptive_avg_pool2d_backward(grad_y, x_shape):
    """gx[n, c, h, w] = sum over windows containing (h, w) of grad_y / window size."""
    (OH, OW), (H, W) = grad_y.shape[2:], x_shape[2:]
    gx = np.zeros(x_shape, dtype=grad_y.dtype)
    for i, (h0, h1) in enumerate(adaptive_windows(H, OH)):
        for j, (w0, w1) in enumerate(adaptive_windows(W, OW)):
            gx[:, :, h0:h1, w0:w1] += grad_y[:, :, i:i + 1, j:j + 1] / ((h1 - h0) * (w1 - w0))
    return gx
