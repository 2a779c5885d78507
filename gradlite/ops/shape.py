"""Ops that move elements around without changing them: their backward moves
the gradient back to where each element came from."""
import numpy as np

from ..autograd import Function
from .util import unbroadcast


class Reshape(Function):
    """y = x with a new shape;  the gradient is reshaped back."""

    returns_view = True

    @staticmethod
    def forward(ctx, x, shape):
        ctx.input_shape = x.shape
        return x.reshape(shape)

    @staticmethod
    def backward(ctx, g):
        return g.reshape(ctx.input_shape), None


class Permute(Function):
    """y = x with its axes reordered by ``dims``;  the gradient is permuted back
    by the inverse permutation."""

    returns_view = True

    @staticmethod
    def forward(ctx, x, dims):
        ctx.inverse = tuple(np.argsort(dims))
        return np.transpose(x, dims)

    @staticmethod
    def backward(ctx, g):
        return g.permute(ctx.inverse), None


class Expand(Function):
    """y = x broadcast to ``shape`` (a view, no copy);  the gradient is summed
    back over the broadcast axes."""

    returns_view = True

    @staticmethod
    def forward(ctx, x, shape):
        ctx.input_shape = x.shape
        return np.broadcast_to(x, shape)

    @staticmethod
    def backward(ctx, g):
        return unbroadcast(g, ctx.input_shape), None


def _is_basic(index):
    """True for ints, slices, None and Ellipsis: indexing that selects each
    element at most once (no integer arrays or masks)."""
    parts = index if isinstance(index, tuple) else (index,)
    return all(p is None or p is Ellipsis or isinstance(p, (int, np.integer, slice)) for p in parts)


class GetItem(Function):
    """y = x[index];  the gradient is scattered back into zeros of x's shape,
    *added* where an index repeats (x[[0, 0]] sends two gradients to x[0])."""

    returns_view = True

    @staticmethod
    def forward(ctx, x, index):
        ctx.input_shape, ctx.index = x.shape, index
        return x[index]

    @staticmethod
    def backward(ctx, g):
        return IndexAdd.apply(g, ctx.index, ctx.input_shape), None


class IndexAdd(Function):
    """y = zeros(shape) with g added at ``index`` (GetItem's backward);
    its own gradient is dy/dg applied to G: G[index]."""

    @staticmethod
    def forward(ctx, g, index, shape):
        ctx.index = index
        out = np.zeros(shape, dtype=g.dtype)
        if _is_basic(index):
            out[index] = g
        else:
            np.add.at(out, index, g)
        return out

    @staticmethod
    def backward(ctx, g):
        return GetItem.apply(g, ctx.index), None, None


class Cat(Function):
    """y = the inputs joined along ``dim``;  each input's gradient is its slice of g."""

    @staticmethod
    def forward(ctx, dim, *xs):
        ctx.dim, ctx.sizes = dim, [x.shape[dim] for x in xs]
        return np.concatenate(xs, axis=dim)

    @staticmethod
    def backward(ctx, g):
        bounds = np.cumsum([0] + ctx.sizes)
        lead = (slice(None),) * ctx.dim
        return (None,) + tuple(g[lead + (slice(int(a), int(b)),)]
                               for a, b in zip(bounds[:-1], bounds[1:]))


class Pad(Function):
    """y = x surrounded by ``value`` (``widths`` as numpy's pad takes them);
    the gradient is the middle part of g, where x sits."""

    @staticmethod
    def forward(ctx, x, widths, value):
        ctx.inner = tuple(slice(before, before + n) for (before, _), n in zip(widths, x.shape))
        return np.pad(x, widths, constant_values=value)

    @staticmethod
    def backward(ctx, g):
        return g[ctx.inner], None, None
