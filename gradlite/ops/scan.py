"""Running sums and products along a dim."""
import numpy as np

from ..autograd import Function
from .shape import Cat


class Cumsum(Function):
    """y_j = sum_{i<=j} x_i along dim (``reverse``: sum_{i>=j});
    dL/dx_i = sum_{j>=i} g_j: the same sum taken the other way."""

    @staticmethod
    def forward(ctx, x, dim, reverse=False):
        ctx.dim, ctx.reverse = dim, reverse
        if reverse:
            return np.flip(np.cumsum(np.flip(x, dim), axis=dim), dim).copy()
        return np.cumsum(x, axis=dim)

    @staticmethod
    def backward(ctx, g):
        return Cumsum.apply(g, ctx.dim, not ctx.reverse), None, None


class Cumprod(Function):
    """y_j = prod_{i<=j} x_i along dim;
    dL/dx_i = sum_{j>=i} g_j prod_{k<=j, k!=i} x_k = y_{i-1} s_i, where
    s_i = g_i + x_{i+1} s_{i+1} (from the end), so zeros in x need no division."""

    @staticmethod
    def forward(ctx, x, dim):
        ctx.dim = dim
        ctx.save_for_backward(x)
        return np.cumprod(x, axis=dim)

    @staticmethod
    def backward(ctx, g):
        x, = ctx.saved_tensors
        dim, n = ctx.dim, x.shape[ctx.dim]
        x_at = [x.select(dim, i) for i in range(n)]
        g_at = [g.select(dim, i) for i in range(n)]
        s = [None] * n
        s[n - 1] = g_at[n - 1]
        for i in range(n - 2, -1, -1):
            s[i] = g_at[i] + x_at[i + 1] * s[i + 1]
        before = [None] * n                     # y_{i-1}: the product of x_0 .. x_{i-1}
        before[0] = x_at[0] * 0 + 1
        for i in range(1, n):
            before[i] = before[i - 1] * x_at[i - 1]
        return Cat.apply(dim, *[(b * si).unsqueeze(dim) for b, si in zip(before, s)]), None
