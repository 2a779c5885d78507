"""Convolution and pooling as differentiable ops (PyTorch's signatures).

Each op is a :class:`~gradlite.autograd.Function` whose forward and backward call
the kernels in :mod:`gradlite._kernels` (Cython when built, numpy otherwise).
The user-facing functions check their arguments, so that a mistake is reported
in the caller's terms rather than as a numpy traceback from inside a kernel.

Along one spatial axis, with input size H, kernel K, stride S, padding P and
dilation D, output position i reads input positions i*S - P + k*D (k < K), and

    OH = floor((H + 2P - D*(K-1) - 1) / S) + 1.
"""
import numpy as np

from .. import _kernels as K
from ..autograd import Function, is_grad_enabled
from ..tensor import Tensor

# ------------------------------------------------------------------ argument checks


def _pair(fn, name, value, minimum):
    """An int or a pair of ints, each >= minimum, as an (h, w) tuple."""
    pair = (value, value) if isinstance(value, (int, np.integer)) else tuple(value)
    if len(pair) != 2 or not all(isinstance(v, (int, np.integer)) and v >= minimum for v in pair):
        raise ValueError(f"{fn}: {name} must be an int or a pair of ints >= {minimum}, "
                         f"got {value!r}")
    return int(pair[0]), int(pair[1])


def _check_4d(fn, name, t):
    if t.ndim != 4:
        raise ValueError(f"{fn}: {name} must be 4-d (N, C, H, W), got shape {tuple(t.shape)}")


def _check_fits(fn, shape, kernel, stride, padding, dilation=(1, 1)):
    """The output must have at least one row and one column."""
    for a, axis in enumerate(("height", "width")):
        size, k, s, p, d = shape[2 + a], kernel[a], stride[a], padding[a], dilation[a]
        out = K.output_size(size, k, s, p, d)
        if out < 1:
            raise ValueError(
                f"{fn}: kernel size {tuple(kernel)} with dilation {tuple(dilation)} is larger "
                f"than the padded input (input shape {tuple(shape)}, padding {tuple(padding)}): "
                f"output {axis} = floor((H + 2P - D*(K-1) - 1)/S) + 1 = "
                f"floor(({size} + 2*{p} - {d}*({k}-1) - 1)/{s}) + 1 = {out}, must be >= 1")


def _data(value):
    return value.data if isinstance(value, Tensor) else value


# -------------------------------------------------------------------------- conv2d

class Conv2d(Function):
    """y[n, o, i, j] = b[o] + sum_{c, kh, kw} w[o, c, kh, kw] * xpad[n, g(o)*Cg + c, i*S + kh*D, j*S + kw*D]

    y is linear in x and in w, so its gradients are correlations with grad_y:

        dL/db[o]          = sum_{n, i, j} gy[n, o, i, j]
        dL/dw[o, c, kh, kw] = sum_{n, i, j} gy[n, o, i, j] * xpad[n, ., i*S + kh*D, j*S + kw*D]
        dL/dx             = the transposed convolution of gy with w: every tap sends
                            w[o, c, kh, kw] * gy[n, o, i, j] back to the pixel it read.

    A plain backward makes one fused kernel call; under ``create_graph=True`` the two
    gradients are themselves Functions (:class:`Conv2dInputGrad`,
    :class:`Conv2dWeightGrad`), so conv can be differentiated twice.
    """

    @staticmethod
    def forward(ctx, x, w, b, stride, padding, dilation, groups):
        ctx.save_for_backward(x, w)
        ctx.args = (stride, padding, dilation, groups)
        return K.conv2d_forward(x, w, b, *ctx.args)

    @staticmethod
    def backward(ctx, grad):
        x, w = ctx.saved_tensors
        needs = ctx.needs_input_grad[:3]
        if not is_grad_enabled():
            grads = K.conv2d_backward(_data(x), _data(w), grad.data, *ctx.args, needs=needs)
        else:
            grads = (Conv2dInputGrad.apply(_data(x), w, grad, *ctx.args) if needs[0] else None,
                     Conv2dWeightGrad.apply(x, _data(w), grad, *ctx.args) if needs[1] else None,
                     grad.sum(dim=(0, 2, 3)) if needs[2] else None)
        return (*grads, None, None, None, None)


class Conv2dInputGrad(Function):
    """gx = conv2d_input_grad(w, gy): linear in w and in gy (x_ref gives only shape and dtype).

    For an upstream gradient ggx:  d<ggx, gx>/dgy = conv2d(ggx, w),
                                   d<ggx, gx>/dw  = the weight gradient of conv2d at (ggx, gy).
    """

    @staticmethod
    def forward(ctx, x_ref, w, gy, stride, padding, dilation, groups):
        ctx.save_for_backward(w, gy)
        ctx.args = (stride, padding, dilation, groups)
        return K.conv2d_backward(x_ref, w, gy, *ctx.args, needs=(True, False, False))[0]

    @staticmethod
    def backward(ctx, ggx):
        w, gy = ctx.saved_tensors
        needs = ctx.needs_input_grad
        return (None,
                Conv2dWeightGrad.apply(ggx, _data(w), gy, *ctx.args) if needs[1] else None,
                Conv2d.apply(ggx, w, None, *ctx.args) if needs[2] else None,
                None, None, None, None)


class Conv2dWeightGrad(Function):
    """gw = conv2d_weight_grad(x, gy): linear in x and in gy (w_ref gives only shape and dtype).

    For an upstream gradient ggw:  d<ggw, gw>/dgy = conv2d(x, ggw),
                                   d<ggw, gw>/dx  = the input gradient of conv2d at (ggw, gy).
    """

    @staticmethod
    def forward(ctx, x, w_ref, gy, stride, padding, dilation, groups):
        ctx.save_for_backward(x, gy)
        ctx.args = (stride, padding, dilation, groups)
        return K.conv2d_backward(x, w_ref, gy, *ctx.args, needs=(False, True, False))[1]

    @staticmethod
    def backward(ctx, ggw):
        x, gy = ctx.saved_tensors
        needs = ctx.needs_input_grad
        return (Conv2dInputGrad.apply(_data(x), ggw, gy, *ctx.args) if needs[0] else None,
                None,
                Conv2d.apply(x, ggw, None, *ctx.args) if needs[2] else None,
                None, None, None, None)


def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """2-d cross-correlation of ``input`` (N, C, H, W) with ``weight`` (O, C/groups, KH, KW).

    Returns (N, O, OH, OW), OH = floor((H + 2P - D*(KH-1) - 1)/S) + 1 (OW likewise); see
    :class:`Conv2d` for the sum and its gradients. Input channel group g (of ``groups``)
    only meets output channels g*O/groups ... (g+1)*O/groups - 1; groups = C is depthwise.
    """
    fn = "conv2d"
    _check_4d(fn, "input", input)
    _check_4d(fn, "weight", weight)
    if isinstance(padding, str):                      # issue 17: 'same' / 'valid'
        input, padding = string_padding(fn, input, weight.shape[2:], stride, dilation, padding)
    stride, padding = _pair(fn, "stride", stride, 1), _pair(fn, "padding", padding, 0)
    dilation = _pair(fn, "dilation", dilation, 1)
    if not isinstance(groups, (int, np.integer)) or groups < 1:
        raise ValueError(f"{fn}: groups must be a positive int, got {groups!r}")
    (N, C, H, W), (O, Cg, KH, KW) = input.shape, weight.shape
    if C % groups or O % groups:
        raise ValueError(f"{fn}: in_channels ({C}, input shape {tuple(input.shape)}) and "
                         f"out_channels ({O}, weight shape {tuple(weight.shape)}) must both "
                         f"be divisible by groups={groups}")
    if Cg * groups != C:
        raise ValueError(f"{fn}: weight shape {tuple(weight.shape)} expects {Cg * groups} input "
                         f"channels (weight.shape[1] * groups = {Cg} * {groups}), but input "
                         f"shape {tuple(input.shape)} has {C}")
    if bias is not None and tuple(bias.shape) != (O,):
        raise ValueError(f"{fn}: bias must have shape ({O},) to match weight shape "
                         f"{tuple(weight.shape)}, got {tuple(bias.shape)}")
    dtypes = [str(t.dtype) for t in (input, weight, bias) if t is not None]
    if len(set(dtypes)) > 1:
        raise ValueError(f"{fn}: input, weight and bias must share a dtype, got {', '.join(dtypes)}")
    _check_fits(fn, input.shape, (KH, KW), stride, padding, dilation)
    return Conv2d.apply(input, weight, bias, stride, padding, dilation, int(groups))


# ------------------------------------------------------------------------- pooling

class MaxPool2d(Function):
    """y[n, c, i, j] = max of the window (padding counts as -inf, so never wins).

    dL/dx[n, c, h, w] = sum of gy[n, c, i, j] over the windows whose maximum was at (h, w):
    the gradient is routed to the winning pixel (the argmax the forward kept).
    """

    @staticmethod
    def forward(ctx, x, kernel, stride, padding):
        y, ctx.argmax = K.max_pool2d_forward(x, kernel, stride, padding)
        ctx.x_shape = x.shape
        return y

    @staticmethod
    def backward(ctx, grad):
        return K.max_pool2d_backward(grad.data, ctx.argmax, ctx.x_shape), None, None, None


class AvgPool2d(Function):
    """y[n, c, i, j] = sum of the window (zero padding) / divisor.

    divisor = KH*KW (count_include_pad) or the number of real pixels in the window.
    dL/dx[n, c, h, w] = sum of gy[n, c, i, j] / divisor over the windows containing (h, w).
    """

    @staticmethod
    def forward(ctx, x, kernel, stride, padding, count_include_pad):
        ctx.args = (x.shape, kernel, stride, padding, count_include_pad)
        return K.avg_pool2d_forward(x, kernel, stride, padding, count_include_pad)

    @staticmethod
    def backward(ctx, grad):
        return K.avg_pool2d_backward(grad.data, *ctx.args), None, None, None, None


class AdaptiveAvgPool2d(Function):
    """y[n, c, i, j] = mean of x[n, c, h0:h1, w0:w1], with PyTorch's windows
    h0 = floor(i*H/OH), h1 = ceil((i+1)*H/OH) (columns likewise).

    dL/dx[n, c, h, w] = sum of gy[n, c, i, j] / window size over the windows containing (h, w).
    """

    @staticmethod
    def forward(ctx, x, output_size):
        ctx.x_shape = x.shape
        return K.adaptive_avg_pool2d_forward(x, output_size)

    @staticmethod
    def backward(ctx, grad):
        return K.adaptive_avg_pool2d_backward(grad.data, ctx.x_shape), None


def _pool_args(fn, input, kernel_size, stride, padding):
    _check_4d(fn, "input", input)
    kernel = _pair(fn, "kernel_size", kernel_size, 1)
    stride = kernel if stride is None else _pair(fn, "stride", stride, 1)
    padding = _pair(fn, "padding", padding, 0)
    if padding[0] > kernel[0] // 2 or padding[1] > kernel[1] // 2:
        raise ValueError(f"{fn}: padding {padding} must be at most half of kernel_size {kernel}")
    _check_fits(fn, input.shape, kernel, stride, padding)
    return kernel, stride, padding


def max_pool2d(input, kernel_size, stride=None, padding=0):
    """Maximum over each kernel_size window of ``input`` (N, C, H, W); stride defaults to
    kernel_size. See :class:`MaxPool2d` for the gradient."""
    return MaxPool2d.apply(input, *_pool_args("max_pool2d", input, kernel_size, stride, padding))


def avg_pool2d(input, kernel_size, stride=None, padding=0, count_include_pad=True):
    """Mean over each kernel_size window of ``input`` (N, C, H, W); stride defaults to
    kernel_size. See :class:`AvgPool2d` for the divisor and the gradient."""
    args = _pool_args("avg_pool2d", input, kernel_size, stride, padding)
    return AvgPool2d.apply(input, *args, bool(count_include_pad))


def adaptive_avg_pool2d(input, output_size):
    """Average pooling of ``input`` (N, C, H, W) to ``output_size`` (an int, or a pair
    whose None entries keep the input size); output_size=1 is global average pooling."""
    fn = "adaptive_avg_pool2d"
    _check_4d(fn, "input", input)
    if isinstance(output_size, (int, np.integer)) or output_size is None:
        output_size = (output_size, output_size)
    output_size = tuple(input.shape[2 + a] if v is None else v for a, v in enumerate(output_size))
    output_size = _pair(fn, "output_size", output_size, 1)
    if min(input.shape[2:]) < 1:
        raise ValueError(f"{fn}: input shape {tuple(input.shape)} has an empty spatial axis")
    return AdaptiveAvgPool2d.apply(input, output_size)


# ---- added for PyTorch ports (issue 17) -------------------------------------------------
def string_padding(fn, input, kernel, stride, dilation, padding):
    """``padding='valid'``: none. ``padding='same'`` (stride 1): D*(K-1) in total per
    dim, half on each side, the odd one on the right/bottom (as PyTorch); the uneven
    part is padded onto ``input`` here. Returns (input, symmetric padding)."""
    check_padding_string(fn, padding, stride)
    if padding == "valid":
        return input, 0
    dilation = _pair(fn, "dilation", dilation, 1)
    totals = [d * (k - 1) for d, k in zip(dilation, kernel)]
    if any(t % 2 for t in totals):
        from ..functions import pad
        input = pad(input, (0, totals[1] % 2, 0, totals[0] % 2))
    return input, (totals[0] // 2, totals[1] // 2)


def check_padding_string(fn, padding, stride):
    if padding not in ("same", "valid"):
        raise ValueError(f"{fn}: invalid padding string {padding!r}, should be one of "
                         "{'valid', 'same'}")
    if padding == "same" and _pair(fn, "stride", stride, 1) != (1, 1):
        raise ValueError(f"{fn}: padding='same' is not supported for strided convolutions")

