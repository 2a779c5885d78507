"""Transposed convolution on the convolution kernels.

A convolution y = conv(x, w) is linear in x; its adjoint (the map behind dL/dx) is
the transposed convolution. So TransposedConvolution runs the three conv kernels in
swapped roles: with the same stride S, padding P, dilation D and groups,

    forward:    y      = conv_input_grad(w, x)     (x plays the conv's output gradient)
    dL/dx      = conv2d(G, w)                       (G = dL/dy plays the conv's input)
    dL/dw      = conv_weight_grad(G, x)             (input G, output gradient x)
    dL/db[o]   = sum of G[:, o]

for x (N, C_in, H, W) and w (C_in, C_out / groups, KH, KW), PyTorch's layout; the
output is (N, C_out, OH, OW) with OH = (H - 1) S - 2P + D (KH - 1) + output_padding + 1.
Under ``create_graph=True`` the composite (``conv_transpose2d_composite``) is
differentiated instead.
"""
import numpy as np

from .. import _kernels as K
from ..autograd import Function, is_grad_enabled
from .composite import composite_grads


class TransposedConvolution(Function):
    """y = the transposed convolution of x with w, plus b; see the module docstring."""

    @staticmethod
    def forward(ctx, x, w, b, stride, padding, dilation, groups, output_shape):
        ctx.save_for_backward(x, w, b)
        ctx.args = (stride, padding, dilation, groups)
        ctx.output_shape = output_shape
        y_ref = np.empty(output_shape, x.dtype)
        y = K.conv2d_backward(y_ref, w, _as_conv_output(x, output_shape, w.shape[2:], ctx.args), *ctx.args,
                              needs=(True, False, False))[0]
        if b is not None:
            y += b.reshape(1, -1, 1, 1)
        return y

    @staticmethod
    def backward(ctx, grad):
        x, w, b = ctx.saved_tensors
        if is_grad_enabled():
            return composite_grads(
                lambda x, w, b: conv_transpose2d_composite(x, w, b, *ctx.args, ctx.output_shape),
                (x, w, b), ctx.needs_input_grad[:3], grad) + (None,) * 5
        g = np.ascontiguousarray(grad.data)
        needs = ctx.needs_input_grad
        H, W = x.shape[2:]
        return (K.conv2d_forward(g, w.data, None, *ctx.args)[:, :, :H, :W] if needs[0] else None,
                K.conv2d_backward(g, w.data, _as_conv_output(x.data, g.shape, w.shape[2:], ctx.args),
                                  *ctx.args, needs=(False, True, False))[1] if needs[1] else None,
                g.sum(axis=(0, 2, 3)) if needs[2] else None,
                None, None, None, None, None)


def _as_conv_output(x, y_shape, kernel, args):
    """x shaped as the output of the conv whose input has ``y_shape``: an output_padding
    of a stride or more gives that conv extra output rows (or columns), which no pixel
    of x feeds, so x is extended by zeros there."""
    stride, padding, dilation, _ = args
    extra = [K.output_size(n, k, s, p, d) - m for n, k, s, p, d, m in
             zip(y_shape[2:], kernel, stride, padding, dilation, x.shape[2:])]
    if any(extra):
        x = np.pad(x, [(0, 0), (0, 0), (0, extra[0]), (0, extra[1])])
    return np.ascontiguousarray(x)


def conv_transpose2d_composite(x, w, b, stride, padding, dilation, groups, output_shape):
    """The transposed convolution as an ordinary one (the specification): spread x out by
    inserting stride - 1 zeros between its pixels, pad by D (K - 1) - P on each side
    (output_padding more at the end; a negative pad crops), and convolve with w flipped
    in space and with its two channel axes swapped within each group."""
    from ..nn.functional import conv2d       # the conv op, wherever it lives
    N, C, H, W = x.shape
    (sh, sw), kernel = stride, w.shape[2:]
    corner = np.zeros((1, 1, 1, sh, 1, sw), x.dtype)
    corner[..., 0, :, 0] = 1
    spread = (x.reshape(N, C, H, 1, W, 1) * corner).reshape(N, C, H * sh, W * sw)
    spread = spread[:, :, :(H - 1) * sh + 1, :(W - 1) * sw + 1]
    for axis in (2, 3):
        reach = dilation[axis - 2] * (kernel[axis - 2] - 1)
        before = reach - padding[axis - 2]
        after = output_shape[axis] + reach - spread.shape[axis] - before
        spread = _pad_or_crop(spread, axis, before, after)
    c_in, c_out_per_group = w.shape[:2]
    flipped = w[:, :, ::-1, ::-1].reshape(groups, c_in // groups, c_out_per_group, *kernel)
    flipped = flipped.transpose(1, 2).reshape(groups * c_out_per_group, c_in // groups, *kernel)
    return conv2d(spread, flipped, b, 1, 0, dilation, groups)


def _pad_or_crop(t, axis, before, after):
    """``t`` with ``before``/``after`` zeros added along ``axis`` (removed if negative)."""
    from ..functions import pad
    index = [slice(None)] * t.ndim
    index[axis] = slice(max(-before, 0), t.shape[axis] - max(-after, 0))
    widths = [0, 0] * (t.ndim - 1 - axis) + [max(before, 0), max(after, 0)]  # last dim first
    return pad(t[tuple(index)], widths)
