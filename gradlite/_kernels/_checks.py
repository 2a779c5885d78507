"""The sizes and dtypes every kernel entry point accepts (compiled and reference alike).

The kernels index raw memory, so nothing reaches them unchecked: a bad argument is a
one-line ValueError or TypeError naming the kernel and the sizes, never a crash.
Zero-size batches and channels are fine (the results are empty, or zeros plus bias);
an output with no rows or columns is an error, as in PyTorch. Index arithmetic in the
compiled kernels is 64-bit; SIZE_LIMIT keeps every padded extent and product of sizes
they form below what 64 bits hold.
"""
import numpy as np

SIZE_LIMIT = 2 ** 62
FLOAT_CHARS = "fd"      # the dtype.char of float32 and float64 (a fast test, every call)


def output_size(size, kernel, stride, padding, dilation=1):
    """floor((size + 2P - D*(K-1) - 1) / S) + 1, the length of one output axis."""
    return (size + 2 * padding - dilation * (kernel - 1) - 1) // stride + 1


def check_dtype(fn, **arrays):
    """Every array is float32 or float64."""
    for name, a in arrays.items():
        if a is not None and np.asarray(a).dtype.char not in FLOAT_CHARS:
            raise TypeError(f"{fn}: {name} has dtype {np.asarray(a).dtype}; the kernels take "
                            f"float32 or float64")


def _pairs(fn, minimum, **pairs):
    for name, pair in pairs.items():
        if len(pair) != 2 or not (isinstance(pair[0], (int, np.integer))
                                  and isinstance(pair[1], (int, np.integer))
                                  and pair[0] >= minimum and pair[1] >= minimum):
            raise ValueError(f"{fn}: {name} must be a pair of ints >= {minimum}, got {pair!r}")


def _shape(fn, name, shape, ndim=4):
    if len(shape) != ndim:
        raise ValueError(f"{fn}: {name} must be {ndim}-d, got shape {tuple(shape)}")


def _output_hw(fn, x_shape, kernel, stride, padding, dilation=(1, 1)):
    """(OH, OW), each >= 1 and every extent below SIZE_LIMIT, or ValueError."""
    out = []
    for a in (0, 1):
        size, k, s, p, d = x_shape[2 + a], kernel[a], stride[a], padding[a], dilation[a]
        if size + 2 * p + d * max(k - 1, 0) + s >= SIZE_LIMIT or k * s >= SIZE_LIMIT:
            raise ValueError(f"{fn}: sizes too large for 64-bit indexing: input "
                             f"{tuple(x_shape)}, kernel {tuple(kernel)}, stride {tuple(stride)}, "
                             f"padding {tuple(padding)}, dilation {tuple(dilation)}")
        out.append(output_size(size, k, s, p, d))
    if min(out) < 1:
        raise ValueError(f"{fn}: output size {tuple(out)} is empty: input {tuple(x_shape)}, "
                         f"kernel {tuple(kernel)}, stride {tuple(stride)}, padding "
                         f"{tuple(padding)}, dilation {tuple(dilation)}")
    return tuple(out)


def check_conv(fn, x, w, b, stride, padding, dilation, groups):
    """The output shape (N, O, OH, OW) of a valid conv2d, or ValueError/TypeError."""
    check_dtype(fn, x=x, weight=w, bias=b)
    _shape(fn, "x", x.shape)
    _shape(fn, "weight", w.shape)
    _pairs(fn, 1, stride=stride, dilation=dilation)
    _pairs(fn, 0, padding=padding)
    (N, C), (O, Cg) = x.shape[:2], w.shape[:2]
    if not isinstance(groups, (int, np.integer)) or groups < 1 or O % groups \
            or Cg * groups != C:
        raise ValueError(f"{fn}: x {tuple(x.shape)} and weight {tuple(w.shape)} do not fit "
                         f"groups={groups!r} (need C = weight.shape[1] * groups, O divisible "
                         f"by groups)")
    if b is not None and tuple(b.shape) != (O,):
        raise ValueError(f"{fn}: bias shape {tuple(b.shape)} does not match weight "
                         f"{tuple(w.shape)}")
    return (N, O, *_output_hw(fn, x.shape, w.shape[2:], stride, padding, dilation))


def check_grad(fn, grad_y, want):
    """grad_y has the shape `want` of the forward's output."""
    if tuple(grad_y.shape) != tuple(want):
        raise ValueError(f"{fn}: grad_y shape {tuple(grad_y.shape)} does not match the "
                         f"output shape {tuple(want)}")


def check_pool(fn, x_shape, kernel, stride, padding):
    """The output shape (N, C, OH, OW) of a valid pooling, or ValueError: every window
    must hold at least one input pixel (planes not empty, padding <= kernel / 2)."""
    _shape(fn, "x", x_shape)
    _pairs(fn, 1, kernel=kernel, stride=stride)
    _pairs(fn, 0, padding=padding)
    if 2 * padding[0] > kernel[0] or 2 * padding[1] > kernel[1]:
        raise ValueError(f"{fn}: padding {tuple(padding)} must be at most half of kernel "
                         f"{tuple(kernel)}")
    if min(x_shape[2:]) < 1:
        raise ValueError(f"{fn}: input {tuple(x_shape)} has an empty plane")
    if kernel[0] * kernel[1] >= SIZE_LIMIT:
        raise ValueError(f"{fn}: kernel {tuple(kernel)} too large for 64-bit indexing")
    return (*x_shape[:2], *_output_hw(fn, x_shape, kernel, stride, padding))


def check_adaptive(fn, x_shape, output_size):
    """The output shape of adaptive average pooling, or ValueError."""
    _shape(fn, "x", x_shape)
    _pairs(fn, 1, output_size=output_size)
    if min(x_shape[2:]) < 1:
        raise ValueError(f"{fn}: input {tuple(x_shape)} has an empty plane")
    if max(output_size) >= SIZE_LIMIT // max(x_shape[2:]):
        raise ValueError(f"{fn}: output_size {tuple(output_size)} too large")
    return (*x_shape[:2], *output_size)
