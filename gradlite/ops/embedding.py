"""Embedding lookup: a table of row vectors indexed by integer ids."""
import numpy as np

from ..autograd import Function
from .shape import IndexAdd


class EmbeddingLookup(Function):
    """y[..., :] = W[idx[...], :]   for an integer array idx and a table W (num, dim).

    Each output row is a copy of one table row, so dL/dW[k] is the sum of the
    output gradients of every position whose id is k (a scatter-add: repeated
    ids add up), and zero for ``padding_idx``, whose row is never trained.
    """

    @staticmethod
    def forward(ctx, weight, indices, padding_idx):
        ctx.indices, ctx.table_shape = indices, weight.shape
        ctx.keep = None if padding_idx is None else (indices != padding_idx)[..., None]
        return weight[indices]

    @staticmethod
    def backward(ctx, g):
        if ctx.keep is not None:
            g = g * ctx.keep.astype(g.dtype)
        return IndexAdd.apply(g, ctx.indices, ctx.table_shape), None, None


def renormalize_rows_(weight, indices, max_norm, norm_type):
    """Scale, in place, each table row used by ``indices`` whose ``norm_type``-norm
    exceeds ``max_norm`` down to norm ``max_norm`` (not recorded: PyTorch's
    ``max_norm`` edits the table before the lookup)."""
    rows = np.unique(indices)
    norms = np.linalg.norm(weight[rows], ord=norm_type, axis=1)
    too_long = norms > max_norm
    scale = max_norm / (norms[too_long] + 1e-7)
    weight[rows[too_long]] *= scale[:, None].astype(weight.dtype)
