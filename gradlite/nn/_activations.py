"""Activation primitives that the Tensor class does not have: each a Function with
its forward and local derivative side by side, backward written in Tensor ops
(so it can be differentiated again)."""
import math

import numpy as np
from numpy.polynomial import Chebyshev

from ..autograd import Function
from ..ops import Where


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
