"""The argument checks of ``F.conv2d``, ``F.max_pool2d``, ``F.avg_pool2d`` and
``F.adaptive_avg_pool2d`` (PyTorch's signatures), so that a mistake is reported in
the caller's terms rather than as a traceback from inside a kernel; then they call
the ops of :mod:`gradlite.ops.conv` and :mod:`gradlite.ops.pool`.
"""
from .. import _kernels as K
from .._args import int_arg, is_int, pair
from ..ops.conv import Convolution
from ..ops.pool import AdaptiveAvgPooling, AvgPooling, MaxPooling
from ..tensor import Tensor


def _check_4d(fn, name, t):
    if not isinstance(t, Tensor):
        raise TypeError(f"{fn}: {name} must be a Tensor, got {type(t).__name__}")
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


def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """2-d cross-correlation of ``input`` (N, C, H, W) with ``weight`` (O, C/groups, KH, KW).

    Returns (N, O, OH, OW), OH = floor((H + 2P - D*(KH-1) - 1)/S) + 1 (OW likewise); see
    :class:`~gradlite.ops.conv.Convolution` for the sum and its gradients. Input channel
    group g (of ``groups``) only meets output channels g*O/groups ... (g+1)*O/groups - 1;
    groups = C is depthwise.
    """
    fn = "conv2d"
    _check_4d(fn, "input", input)
    _check_4d(fn, "weight", weight)
    if isinstance(padding, str):                      # issue 17: 'same' / 'valid'
        input, padding = string_padding(fn, input, weight.shape[2:], stride, dilation, padding)
    stride, padding = pair(fn, "stride", stride, 1), pair(fn, "padding", padding, 0)
    dilation = pair(fn, "dilation", dilation, 1)
    groups = int_arg(fn, "groups", groups, 1)
    (N, C, H, W), (O, Cg, KH, KW) = input.shape, weight.shape
    if C % groups or O % groups:
        raise ValueError(f"{fn}: in_channels ({C}, input shape {tuple(input.shape)}) and "
                         f"out_channels ({O}, weight shape {tuple(weight.shape)}) must both "
                         f"be divisible by groups={groups}")
    if Cg * groups != C:
        raise ValueError(f"{fn}: weight shape {tuple(weight.shape)} expects {Cg * groups} input "
                         f"channels (weight.shape[1] * groups = {Cg} * {groups}), but input "
                         f"shape {tuple(input.shape)} has {C}")
    if bias is not None and not isinstance(bias, Tensor):
        raise TypeError(f"{fn}: bias must be a Tensor or None, got {type(bias).__name__}")
    if bias is not None and tuple(bias.shape) != (O,):
        raise ValueError(f"{fn}: bias must have shape ({O},) to match weight shape "
                         f"{tuple(weight.shape)}, got {tuple(bias.shape)}")
    dtypes = [str(t.dtype) for t in (input, weight, bias) if t is not None]
    if len(set(dtypes)) > 1:
        raise ValueError(f"{fn}: input, weight and bias must share a dtype, got {', '.join(dtypes)}")
    _check_fits(fn, input.shape, (KH, KW), stride, padding, dilation)
    return Convolution.apply(input, weight, bias, stride, padding, dilation, int(groups))


def _pool_args(fn, input, kernel_size, stride, padding):
    _check_4d(fn, "input", input)
    kernel = pair(fn, "kernel_size", kernel_size, 1)
    stride = kernel if stride is None else pair(fn, "stride", stride, 1)
    padding = pair(fn, "padding", padding, 0)
    if padding[0] > kernel[0] // 2 or padding[1] > kernel[1] // 2:
        raise ValueError(f"{fn}: padding {padding} must be at most half of kernel_size {kernel}")
    _check_fits(fn, input.shape, kernel, stride, padding)
    return kernel, stride, padding


def max_pool2d(input, kernel_size, stride=None, padding=0):
    """Maximum over each kernel_size window of ``input`` (N, C, H, W); stride defaults to
    kernel_size. See :class:`~gradlite.ops.pool.MaxPooling` for the gradient."""
    return MaxPooling.apply(input, *_pool_args("max_pool2d", input, kernel_size, stride, padding))


def avg_pool2d(input, kernel_size, stride=None, padding=0, count_include_pad=True):
    """Mean over each kernel_size window of ``input`` (N, C, H, W); stride defaults to
    kernel_size. See :class:`~gradlite.ops.pool.AvgPooling` for the divisor and the gradient."""
    args = _pool_args("avg_pool2d", input, kernel_size, stride, padding)
    return AvgPooling.apply(input, *args, bool(count_include_pad))


def adaptive_avg_pool2d(input, output_size):
    """Average pooling of ``input`` (N, C, H, W) to ``output_size`` (an int, or a pair
    whose None entries keep the input size); output_size=1 is global average pooling."""
    fn = "adaptive_avg_pool2d"
    _check_4d(fn, "input", input)
    if is_int(output_size):
        output_size = (output_size, output_size)
    if not isinstance(output_size, (tuple, list)) or len(output_size) != 2:
        raise TypeError(f"{fn}: output_size must be an int or a pair, got {output_size!r}")
    output_size = tuple(input.shape[2 + a] if v is None else v for a, v in enumerate(output_size))
    output_size = pair(fn, "output_size", output_size, 1)
    if min(input.shape[2:]) < 1:
        raise ValueError(f"{fn}: input shape {tuple(input.shape)} has an empty spatial axis")
    return AdaptiveAvgPooling.apply(input, output_size)


# ---- added for PyTorch ports (issue 17) -------------------------------------------------
def string_padding(fn, input, kernel, stride, dilation, padding):
    """``padding='valid'``: none. ``padding='same'`` (stride 1): D*(K-1) in total per
    dim, half on each side, the odd one on the right/bottom (as PyTorch); the uneven
    part is padded onto ``input`` here. Returns (input, symmetric padding)."""
    check_padding_string(fn, padding, stride)
    if padding == "valid":
        return input, 0
    dilation = pair(fn, "dilation", dilation, 1)
    totals = [d * (k - 1) for d, k in zip(dilation, kernel)]
    if any(t % 2 for t in totals):
        from ..functions import pad
        input = pad(input, (0, totals[1] % 2, 0, totals[0] % 2))
    return input, (totals[0] // 2, totals[1] // 2)


def check_padding_string(fn, padding, stride):
    if padding not in ("same", "valid"):
        raise ValueError(f"{fn}: invalid padding string {padding!r}, should be one of "
                         "{'valid', 'same'}")
    if padding == "same" and pair(fn, "stride", stride, 1) != (1, 1):
        raise ValueError(f"{fn}: padding='same' is not supported for strided convolutions")

