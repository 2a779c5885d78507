"""Pooling as differentiable ops; the arithmetic is in :mod:`gradlite._kernels`.
``nn.functional.max_pool2d`` and friends check the arguments."""
from .. import _kernels as K
from ..autograd import Function


class MaxPooling(Function):
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


class AvgPooling(Function):
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


class AdaptiveAvgPooling(Function):
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
