"""Ops that read or write elements at given indices along one dim: gather, scatter,
scatter_add. Their gradients are each other: what gather reads, its backward adds
back (scatter_add); what scatter_add adds, its backward reads (gather)."""
import numpy as np

from ..autograd import Function


def along(index, dim):
    """Index arrays that pick ``x[i0, ..., index[i], ..., ik]`` for every position
    ``i`` of ``index``, the index replacing the coordinate on ``dim``."""
    grid = list(np.indices(index.shape, sparse=True))
    grid[dim] = index
    return tuple(grid)


class Gather(Function):
    """y[i] = x[i with coordinate dim replaced by index[i]];
    dL/dx = the gradient added back at the places read (scatter_add)."""

    @staticmethod
    def forward(ctx, x, dim, index):
        ctx.dim, ctx.index, ctx.x_shape = dim, index, x.shape
        return x[along(index, dim)]

    @staticmethod
    def backward(ctx, g):
        zeros = g.new_zeros(ctx.x_shape)
        return ScatterAdd.apply(zeros, ctx.dim, ctx.index, g), None, None


class ScatterAdd(Function):
    """y = x, then y[i with coordinate dim replaced by index[i]] += src[i] (repeats add up);
    dL/dx = g,  dL/dsrc = g read at the same places (gather)."""

    @staticmethod
    def forward(ctx, x, dim, index, src):
        ctx.dim, ctx.index = dim, index
        out = x.copy()
        np.add.at(out, along(index, dim), src)
        return out

    @staticmethod
    def backward(ctx, g):
        return g, None, None, Gather.apply(g, ctx.dim, ctx.index)


class Scatter(Function):
    """y = x, then y[i with coordinate dim replaced by index[i]] = src[i];
    dL/dx = g with the overwritten places zeroed,  dL/dsrc = g read at those places.
    (With repeated indices one of the writes wins, as in PyTorch.)"""

    @staticmethod
    def forward(ctx, x, dim, index, src):
        ctx.dim, ctx.index = dim, index
        out = x.copy()
        out[along(index, dim)] = src
        ctx.kept = np.ones(x.shape, dtype=x.dtype)
        ctx.kept[along(index, dim)] = 0
        return out

    @staticmethod
    def backward(ctx, g):
        return g * ctx.kept, None, None, Gather.apply(g, ctx.dim, ctx.index)
