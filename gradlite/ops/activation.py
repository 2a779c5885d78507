"""Activation functions as differentiable ops: each forward next to its local
derivative, the backward written in Tensor ops (so it can be differentiated again).

Where PyTorch's name of the function is also the name of an ``nn`` Module (``nn.Tanh``,
``nn.Softmax``, ...), the op carries the suffix ``Op``: one name means one thing.
"""
import math

import numpy as np
from numpy.polynomial import Chebyshev

from ..autograd import Function
from .elementwise import Where


def finite_max(x, axis):
    """The max of ``x`` over ``axis`` (dims kept), 0 where it is infinite: the shift that
    keeps e^(x - shift) from overflowing, and that leaves rows of -inf or +inf alone."""
    shift = np.max(x, axis=axis, keepdims=True)
    shift[~np.isfinite(shift)] = 0
    return shift


def log_softmax_array(x, axis):
    """log(e^x_i / sum_j e^x_j) over ``axis``, as (x - m) - log(sum_j e^(x_j - m)) with
    m = :func:`finite_max`: no term overflows, and the largest is e^0 = 1, so the sum
    never underflows to 0. Written once, for LogSoftmaxOp and the cross-entropy. A row
    with no finite entry gives nan (or -inf entries), silently, as in PyTorch."""
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        shifted = x - finite_max(x, axis)
        return shifted - np.log(np.exp(shifted).sum(axis=axis, keepdims=True))


class TanhOp(Function):
    """y = tanh x;  dy/dx = 1 - y^2."""

    @staticmethod
    def forward(ctx, x):
        y = np.tanh(x)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, g):
        y, = ctx.saved_tensors
        return TanhGrad.apply(g, y)


class SigmoidOp(Function):
    """y = 1 / (1 + e^-x);  dy/dx = y (1 - y).

    Computed from e^-|x| so that neither branch overflows at |x| = 1e4."""

    @staticmethod
    def forward(ctx, x):
        e = np.exp(-np.abs(x))
        y = np.where(x >= 0, 1 / (1 + e), e / (1 + e)).astype(x.dtype, copy=False)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, g):
        y, = ctx.saved_tensors
        return SigmoidGrad.apply(g, y)


class _GradFromOutput(Function):
    """The backward of an activation whose derivative is a function of its output y, as
    one op (one node where ``g * derivative(y)`` in Tensor ops would record several):

        z = g * d(y);   dz/dg = d(y),   dz/dy = g * d'(y)

    with d = ``derivative`` and d' = ``derivative_slope``, both written with arithmetic
    that arrays (the forward) and Tensors (the backward, for second derivatives) share.
    PyTorch has ``tanh_backward`` and ``sigmoid_backward`` for the same reason."""

    @classmethod
    def forward(cls, ctx, g, y):
        ctx.save_for_backward(g, y)
        return g * cls.derivative(y)

    @classmethod
    def backward(cls, ctx, gz):
        g, y = ctx.saved_tensors
        need_g, need_y = ctx.needs_input_grad
        return (gz * cls.derivative(y) if need_g else None,
                gz * g * cls.derivative_slope(y) if need_y else None)


class TanhGrad(_GradFromOutput):
    """tanh's backward: z = g (1 - y^2);  dz/dg = 1 - y^2,  dz/dy = -2 g y."""

    @staticmethod
    def derivative(y):
        return 1 - y * y

    @staticmethod
    def derivative_slope(y):
        return -2 * y


class SigmoidGrad(_GradFromOutput):
    """sigmoid's backward: z = g y (1 - y);  dz/dg = y (1 - y),  dz/dy = g (1 - 2 y)."""

    @staticmethod
    def derivative(y):
        return y * (1 - y)

    @staticmethod
    def derivative_slope(y):
        return 1 - 2 * y


class Relu(Function):
    """y = max(x, 0);  dy/dx = [x > 0]."""

    @staticmethod
    def forward(ctx, x):
        ctx.positive = x > 0
        return np.maximum(x, 0, dtype=x.dtype)

    @staticmethod
    def backward(ctx, g):
        return g * ctx.positive


class LogSoftmaxOp(Function):
    """y_i = x_i - log(sum_j e^x_j)  (see :func:`log_softmax_array`);
    dy/dx applied to g:  g - softmax(x) * sum(g)."""

    @staticmethod
    def forward(ctx, x, dim):
        y = log_softmax_array(x, dim)
        ctx.dim = dim
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, g):
        y, = ctx.saved_tensors
        return g - y.exp() * g.sum(dim=ctx.dim, keepdim=True), None


class SoftmaxOp(Function):
    """y_i = e^x_i / sum_j e^x_j (max subtracted first);
    dy/dx applied to g:  y * (g - sum(g * y))."""

    @staticmethod
    def forward(ctx, x, dim):
        with np.errstate(invalid="ignore", over="ignore"):   # no finite entry: nan, as torch
            e = np.exp(x - finite_max(x, dim))
            y = e / e.sum(axis=dim, keepdims=True)
        ctx.dim = dim
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, g):
        y, = ctx.saved_tensors
        return y * (g - (g * y).sum(dim=ctx.dim, keepdim=True)), None


class LeakyRelu(Function):
    """y = x if x > 0 else a x;  dy/dx = 1 if x > 0 else a  (a = negative_slope)."""

    @staticmethod
    def forward(ctx, x, negative_slope):
        ctx.slope = np.where(x > 0, 1, negative_slope).astype(x.dtype, copy=False)
        return x * ctx.slope

    @staticmethod
    def backward(ctx, g):
        return g * ctx.slope, None


class Elu(Function):
    """y = x if x > 0 else alpha (e^x - 1);  dy/dx = 1 if x > 0 else alpha e^x = y + alpha.

    e^x is only evaluated at min(x, 0), so large positive inputs cannot overflow."""

    @staticmethod
    def forward(ctx, x, alpha):
        ctx.positive = x > 0
        y = np.where(ctx.positive, x, alpha * np.expm1(np.minimum(x, 0))).astype(x.dtype, copy=False)
        ctx.alpha = alpha
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, g):
        y, = ctx.saved_tensors
        return Where.apply(ctx.positive, g, g * (y + ctx.alpha)), None


# erfc(z) for z >= 0 is written as  t * exp(-z^2 + h(t)),  t = 2 / (2 + z),  where h is
# smooth on t in (0, 1]. h is fitted once, here, by a degree-20 Chebyshev series to the
# standard library's math.erfc on z in [0, 26]; the result matches math.erfc to a
# relative 1e-12 (beyond z = 26, erfc(z) < 1e-295 and is taken as erfc(26)).
_ERFC_Z_MAX = 26.0


def _fit_erfc_exponent(degree=20, nodes=64):
    t_min = 2 / (2 + _ERFC_Z_MAX)
    t = t_min + (np.polynomial.chebyshev.chebpts1(nodes) + 1) / 2 * (1 - t_min)
    z = 2 / t - 2
    h = np.log([math.erfc(v) for v in z]) - np.log(t) + z * z
    return Chebyshev.fit(t, h, degree, domain=[t_min, 1])


_erfc_exponent = _fit_erfc_exponent()


def erfc(x):
    """The complementary error function 1 - erf(x) of an array, in float64,
    accurate to about 1e-12 relative (erfc(-z) = 2 - erfc(z))."""
    x = np.asarray(x, dtype=np.float64)
    z = np.minimum(np.abs(x), _ERFC_Z_MAX)
    t = 2 / (2 + z)
    tail = t * np.exp(_erfc_exponent(t) - z * z)
    return np.where(x >= 0, tail, 2 - tail)


def erf(x):
    """The error function erf(x) = 2/sqrt(pi) int_0^x e^(-t^2) dt, as 1 - erfc(x)
    (absolute error below 1e-13; GELU only needs erfc)."""
    return 1 - erfc(x)


class NormalCdf(Function):
    """y = Phi(x) = P(N(0, 1) <= x) = erfc(-x / sqrt 2) / 2;
    dy/dx = phi(x) = e^(-x^2 / 2) / sqrt(2 pi), the standard normal density."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return (0.5 * erfc(x * -math.sqrt(0.5))).astype(x.dtype, copy=False)

    @staticmethod
    def backward(ctx, g):
        x, = ctx.saved_tensors
        return g * (x * x * -0.5).exp() * (1 / math.sqrt(2 * math.pi))
