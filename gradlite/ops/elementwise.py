"""Elementwise ops: each forward next to its local derivative.

Binary ops broadcast like numpy; their backward sums the gradient back to each
input's shape with :func:`unbroadcast`, for the inputs that need a gradient
(``ctx.needs_input_grad``: spelled out here rather than with ``ctx.needed`` and its
closures, which would cost these small, frequent ops a third of their backward).
Every backward is written with Tensor ops, so it can itself be differentiated
(``create_graph=True``).
"""
import numpy as np

from ..autograd import Function
from .util import shape_of, unbroadcast


# ------------------------------------------------------------------ binary
class Add(Function):
    """z = x + y;  dz/dx = 1,  dz/dy = 1."""

    @staticmethod
    def forward(ctx, x, y):
        ctx.shapes = shape_of(x), shape_of(y)
        return x + y

    @staticmethod
    def backward(ctx, g):
        x_shape, y_shape = ctx.shapes
        need_x, need_y = ctx.needs_input_grad
        return (unbroadcast(g, x_shape) if need_x else None,
                unbroadcast(g, y_shape) if need_y else None)


class Sub(Function):
    """z = x - y;  dz/dx = 1,  dz/dy = -1."""

    @staticmethod
    def forward(ctx, x, y):
        ctx.shapes = shape_of(x), shape_of(y)
        return x - y

    @staticmethod
    def backward(ctx, g):
        x_shape, y_shape = ctx.shapes
        need_x, need_y = ctx.needs_input_grad
        return (unbroadcast(g, x_shape) if need_x else None,
                unbroadcast(-g, y_shape) if need_y else None)


class Mul(Function):
    """z = x * y;  dz/dx = y,  dz/dy = x."""

    @staticmethod
    def forward(ctx, x, y):
        ctx.save_for_backward(x, y)
        return x * y

    @staticmethod
    def backward(ctx, g):
        x, y = ctx.saved_tensors
        need_x, need_y = ctx.needs_input_grad
        return (unbroadcast(g * y, x.shape) if need_x else None,
                unbroadcast(g * x, y.shape) if need_y else None)


class Div(Function):
    """z = x / y;  dz/dx = 1/y,  dz/dy = -x/y^2 = -z/y."""

    @staticmethod
    def forward(ctx, x, y):
        z = x / y
        ctx.save_for_backward(x, y, z)
        return z

    @staticmethod
    def backward(ctx, g):
        x, y, z = ctx.saved_tensors
        need_x, need_y = ctx.needs_input_grad
        return (unbroadcast(g / y, x.shape) if need_x else None,
                unbroadcast(-g * z / y, y.shape) if need_y else None)


class Pow(Function):
    """z = x^y;  dz/dx = y x^(y-1),  dz/dy = z log(x)."""

    @staticmethod
    def forward(ctx, x, y):
        z = np.power(x, y)
        ctx.save_for_backward(x, y, z)
        return z

    @staticmethod
    def backward(ctx, g):
        x, y, z = ctx.saved_tensors
        need_x, need_y = ctx.needs_input_grad
        return (unbroadcast(g * y * x ** (y - 1), x.shape) if need_x else None,
                unbroadcast(g * z * x.log(), y.shape) if need_y else None)


class _Extremum(Function):
    """Shared by Maximum and Minimum: the winner of each pair gets the gradient,
    ties split it in half (as PyTorch does)."""
    pick = staticmethod(np.maximum)
    wins = staticmethod(np.greater)

    @classmethod
    def forward(cls, ctx, x, y):
        z = cls.pick(x, y)
        ctx.shapes = shape_of(x), shape_of(y)
        ctx.x_share = (cls.wins(x, y) + 0.5 * np.equal(x, y)).astype(z.dtype)
        return z

    @staticmethod
    def backward(ctx, g):
        x_shape, y_shape = ctx.shapes
        need_x, need_y = ctx.needs_input_grad
        return (unbroadcast(g * ctx.x_share, x_shape) if need_x else None,
                unbroadcast(g * (1 - ctx.x_share), y_shape) if need_y else None)


class Maximum(_Extremum):
    """z = max(x, y);  dz/dx = [x > y] + [x = y]/2,  dz/dy = [y > x] + [x = y]/2."""


class Minimum(_Extremum):
    """z = min(x, y);  dz/dx = [x < y] + [x = y]/2,  dz/dy = [y < x] + [x = y]/2."""
    pick = staticmethod(np.minimum)
    wins = staticmethod(np.less)


class Where(Function):
    """z = cond ? x : y;  dz/dx = [cond],  dz/dy = [not cond]  (cond is not differentiable)."""

    @staticmethod
    def forward(ctx, cond, x, y):
        ctx.cond, ctx.shapes = cond, (shape_of(x), shape_of(y))
        return np.where(cond, x, y)

    @staticmethod
    def backward(ctx, g):
        x_shape, y_shape = ctx.shapes
        _, need_x, need_y = ctx.needs_input_grad
        return (None,
                unbroadcast(g * ctx.cond, x_shape) if need_x else None,
                unbroadcast(g * ~ctx.cond, y_shape) if need_y else None)


# ------------------------------------------------------------------ unary
class Neg(Function):
    """y = -x;  dy/dx = -1."""

    @staticmethod
    def forward(ctx, x):
        return -x

    @staticmethod
    def backward(ctx, g):
        return -g


class Exp(Function):
    """y = e^x;  dy/dx = e^x = y."""

    @staticmethod
    def forward(ctx, x):
        y = np.exp(x)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, g):
        y, = ctx.saved_tensors
        return g * y


class Log(Function):
    """y = ln x;  dy/dx = 1/x."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return np.log(x)

    @staticmethod
    def backward(ctx, g):
        x, = ctx.saved_tensors
        return g / x


class Sqrt(Function):
    """y = sqrt(x);  dy/dx = 1 / (2 sqrt(x)) = 1 / (2y)."""

    @staticmethod
    def forward(ctx, x):
        y = np.sqrt(x)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, g):
        y, = ctx.saved_tensors
        return g / (y * 2)


class Sin(Function):
    """y = sin x;  dy/dx = cos x."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return np.sin(x)

    @staticmethod
    def backward(ctx, g):
        x, = ctx.saved_tensors
        return g * x.cos()


class Cos(Function):
    """y = cos x;  dy/dx = -sin x."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return np.cos(x)

    @staticmethod
    def backward(ctx, g):
        x, = ctx.saved_tensors
        return -g * x.sin()


class Abs(Function):
    """y = |x|;  dy/dx = sign(x)  (0 at x = 0, as in PyTorch)."""

    @staticmethod
    def forward(ctx, x):
        ctx.sign = np.sign(x)
        return np.abs(x)

    @staticmethod
    def backward(ctx, g):
        return g * ctx.sign


class Clamp(Function):
    """y = min(max(x, lo), hi);  dy/dx = [lo <= x <= hi]."""

    @staticmethod
    def forward(ctx, x, lo, hi):
        inside = np.ones(x.shape, dtype=bool)
        if lo is not None:
            inside &= x >= lo
        if hi is not None:
            inside &= x <= hi
        ctx.inside = inside
        return np.clip(x, lo, hi).astype(x.dtype, copy=False)

    @staticmethod
    def backward(ctx, g):
        return g * ctx.inside, None, None


class Cast(Function):
    """y = x as another dtype;  the gradient is cast back to x's dtype."""

    @staticmethod
    def forward(ctx, x, dtype):
        ctx.input_dtype = x.dtype
        return x.astype(dtype)

    @staticmethod
    def backward(ctx, g):
        return g.to(ctx.input_dtype), None


class Clone(Function):
    """y = a copy of x;  dy/dx = 1."""

    @staticmethod
    def forward(ctx, x):
        return x.copy()

    @staticmethod
    def backward(ctx, g):
        return g
