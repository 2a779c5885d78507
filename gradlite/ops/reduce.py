"""Reductions and matrix multiplication."""
import numpy as np

from ..autograd import Function
from .util import kept_shape, unbroadcast


class Sum(Function):
    """y = sum of x over ``axes``;  dy/dx = 1 for every summed element, so the
    gradient is g copied (broadcast) back over the summed axes."""

    @staticmethod
    def forward(ctx, x, axes, keepdim):
        ctx.input_shape, ctx.axes = x.shape, axes
        return np.sum(x, axis=axes, keepdims=keepdim)

    @staticmethod
    def backward(ctx, g):
        shape = ctx.input_shape
        return g.reshape(kept_shape(shape, ctx.axes)).expand(shape), None, None


class _Extreme(Function):
    """y = max (or min) of x over ``axes``;  dy/dx = 1 at the element that
    won, 0 elsewhere; tied winners share the gradient equally."""
    reduce = staticmethod(np.max)

    @classmethod
    def forward(cls, ctx, x, axes, keepdim):
        y = cls.reduce(x, axis=axes, keepdims=True)
        winners = (x == y).astype(x.dtype)
        ctx.share = winners / winners.sum(axis=axes, keepdims=True)
        ctx.kept = y.shape
        return y if keepdim else y.reshape([n for i, n in enumerate(x.shape)
                                            if axes is not None and i not in axes])

    @staticmethod
    def backward(ctx, g):
        return g.reshape(ctx.kept) * ctx.share, None, None


class Max(_Extreme):
    __doc__ = _Extreme.__doc__


class Min(_Extreme):
    __doc__ = _Extreme.__doc__.replace("max (or min)", "min")
    reduce = staticmethod(np.min)


class Matmul(Function):
    """Z = X @ Y;  dZ/dX applied to G is G @ Y^T,  dZ/dY applied to G is X^T @ G.

    A 1-d X is a row (1, k) and a 1-d Y a column (k, 1), as in numpy; leading
    (batch) dims broadcast, so their gradients are summed back with unbroadcast.
    """

    @staticmethod
    def forward(ctx, x, y):
        if x.ndim == 0 or y.ndim == 0:
            raise ValueError("both arguments must be at least 1-d")
        if x.shape[-1] != y.shape[-2 if y.ndim > 1 else 0]:
            inner_y = y.shape[-2 if y.ndim > 1 else 0]
            raise ValueError(f"{x.shape} @ {y.shape} — inner dims {x.shape[-1]} != {inner_y}")
        ctx.save_for_backward(x, y)
        return np.matmul(x, y)

    @staticmethod
    def backward(ctx, g):
        x, y = ctx.saved_tensors
        x2 = x.reshape(1, -1) if x.ndim == 1 else x
        y2 = y.reshape(-1, 1) if y.ndim == 1 else y
        batch = np.broadcast_shapes(x2.shape[:-2], y2.shape[:-2])
        g2 = g.reshape(batch + (x2.shape[-2], y2.shape[-1]))
        return ctx.needed(
            lambda: unbroadcast(g2 @ y2.mT, x2.shape).reshape(x.shape),
            lambda: unbroadcast(x2.mT @ g2, y2.shape).reshape(y.shape))
