"""Convolution as differentiable ops; the arithmetic is in :mod:`gradlite._kernels`
(Cython when built, numpy otherwise). ``nn.functional.conv2d`` checks the arguments.

Along one spatial axis, with input size H, kernel K, stride S, padding P and
dilation D, output position i reads input positions i*S - P + k*D (k < K), and

    OH = floor((H + 2P - D*(K-1) - 1) / S) + 1.
"""
from .. import _kernels as K
from ..autograd import Function, is_grad_enabled


class Convolution(Function):
    """y[n, o, i, j] = b[o] + sum_{c, kh, kw} w[o, c, kh, kw] * xpad[n, g(o)*Cg + c, i*S + kh*D, j*S + kw*D]

    y is linear in x and in w, so its gradients are correlations with grad_y:

        dL/db[o]          = sum_{n, i, j} gy[n, o, i, j]
        dL/dw[o, c, kh, kw] = sum_{n, i, j} gy[n, o, i, j] * xpad[n, ., i*S + kh*D, j*S + kw*D]
        dL/dx             = the transposed convolution of gy with w: every tap sends
                            w[o, c, kh, kw] * gy[n, o, i, j] back to the pixel it read.

    A plain backward makes one fused kernel call; under ``create_graph=True`` the two
    gradients are themselves Functions (:class:`ConvolutionInputGrad`,
    :class:`ConvolutionWeightGrad`), so conv can be differentiated twice.
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
            grads = K.conv2d_backward(x.data, w.data, grad.data, *ctx.args, needs=needs)
        else:
            grads = (ConvolutionInputGrad.apply(x.data, w, grad, *ctx.args) if needs[0] else None,
                     ConvolutionWeightGrad.apply(x, w.data, grad, *ctx.args) if needs[1] else None,
                     grad.sum(dim=(0, 2, 3)) if needs[2] else None)
        return (*grads, None, None, None, None)


class ConvolutionInputGrad(Function):
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
                ConvolutionWeightGrad.apply(ggx, w.data, gy, *ctx.args) if needs[1] else None,
                Convolution.apply(ggx, w, None, *ctx.args) if needs[2] else None,
                None, None, None, None)


class ConvolutionWeightGrad(Function):
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
        return (ConvolutionInputGrad.apply(x.data, ggw, gy, *ctx.args) if needs[0] else None,
                None,
                Convolution.apply(x, ggw, None, *ctx.args) if needs[2] else None,
                None, None, None, None)
