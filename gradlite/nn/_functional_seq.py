"""Functional forms for sequence models: embedding, normalisation, attention,
1-d and transposed convolution, interpolation (PyTorch's names and signatures).
Re-exported by ``gradlite.nn.functional``; each checks its arguments and calls an op.
"""
import math

import numpy as np

from .. import autograd
from ..ops.attention import Attention
from ..ops.embedding import Embedding, renormalize_rows_
from ..ops.norm import GroupNorm, LayerNorm
from ..random import default_generator
from ..tensor import Tensor, as_tensor

__all__ = ["embedding", "layer_norm", "group_norm", "scaled_dot_product_attention"]


def _shape(t):
    return tuple(t.shape)


# --------------------------------------------------------------------------- embedding
def embedding(input, weight, padding_idx=None, max_norm=None, norm_type=2.0,
              scale_grad_by_freq=False, sparse=False):
    """Rows of ``weight`` (num_embeddings, embedding_dim) picked by the integer ids in
    ``input`` (any shape): the result has shape input.shape + (embedding_dim,).

    The row ``padding_idx`` gets no gradient. With ``max_norm``, the rows looked up are
    first rescaled in place to norm at most ``max_norm`` (as PyTorch does)."""
    ids = input.data if isinstance(input, Tensor) else np.asarray(input)
    if ids.dtype.kind not in "iu":
        raise TypeError(f"embedding: input must hold integer ids (int64), got {ids.dtype}")
    if weight.ndim != 2:
        raise ValueError(f"embedding: weight must be 2-d (num_embeddings, embedding_dim), got "
                         f"shape {_shape(weight)}")
    num = weight.shape[0]
    if ids.size and (ids.min() < 0 or ids.max() >= num):
        bad = ids.min() if ids.min() < 0 else ids.max()
        raise IndexError(f"embedding: index {int(bad)} is out of range for a table of "
                         f"{num} rows (weight shape {_shape(weight)})")
    if padding_idx is not None:
        if not -num <= padding_idx < num:
            raise ValueError(f"embedding: padding_idx {padding_idx} must be within "
                             f"num_embeddings ({num})")
        padding_idx %= num
    if scale_grad_by_freq or sparse:
        raise NotImplementedError("embedding: scale_grad_by_freq and sparse are not supported")
    if max_norm is not None:
        with autograd.no_grad():
            renormalize_rows_(weight.data, ids, max_norm, norm_type)
    return Embedding.apply(weight, ids, padding_idx)


# --------------------------------------------------------------------------- normalisation
def layer_norm(input, normalized_shape, weight=None, bias=None, eps=1e-5):
    """(x - mean) / sqrt(var + eps) * weight + bias, with mean and (biased) var over the
    last len(normalized_shape) dims of ``input``; weight and bias have normalized_shape."""
    input = as_tensor(input)
    shape = (normalized_shape,) if isinstance(normalized_shape, int) else tuple(normalized_shape)
    if not shape or _shape(input)[input.ndim - len(shape):] != shape or input.ndim < len(shape):
        raise ValueError(f"layer_norm: normalized_shape {shape} must match the last dims of "
                         f"the input, whose shape is {_shape(input)}")
    for name, t in (("weight", weight), ("bias", bias)):
        if t is not None and _shape(t) != shape:
            raise ValueError(f"layer_norm: {name} must have shape {shape} "
                             f"(normalized_shape), got {_shape(t)}")
    return LayerNorm.apply(input, weight, bias, len(shape), eps)


def group_norm(input, num_groups, weight=None, bias=None, eps=1e-5):
    """Normalise ``input`` (N, C, ...) over each of ``num_groups`` groups of C/num_groups
    consecutive channels (with all positions), then y = x_hat * weight[c] + bias[c]."""
    input = as_tensor(input)
    if input.ndim < 2:
        raise ValueError(f"group_norm: expected input (N, C, ...), got shape {_shape(input)}")
    channels = input.shape[1]
    if num_groups < 1 or channels % num_groups:
        raise ValueError(f"group_norm: the {channels} channels of input shape {_shape(input)} "
                         f"must be divisible by num_groups={num_groups}")
    for name, t in (("weight", weight), ("bias", bias)):
        if t is not None and _shape(t) != (channels,):
            raise ValueError(f"group_norm: {name} must have shape ({channels},), got {_shape(t)}")
    return GroupNorm.apply(input, weight, bias, int(num_groups), eps)


# --------------------------------------------------------------------------- attention
def additive_mask(mask, dtype, allowed_when_true, fn, name):
    """A boolean or float mask as an additive float mask: a bool mask becomes 0 where
    attention is allowed and -inf where not (``allowed_when_true`` says which truth value
    allows, True for scaled_dot_product_attention, False for MultiheadAttention); a float
    mask is returned as it is (it may carry a gradient)."""
    if mask is None:
        return None
    array = mask.data if isinstance(mask, Tensor) else np.asarray(mask)
    if array.dtype == bool:
        allowed = array if allowed_when_true else ~array
        return np.where(allowed, 0, -np.inf).astype(dtype)
    if array.dtype.kind != "f":
        raise TypeError(f"{fn}: {name} must be a bool or float mask, got {array.dtype}")
    return mask if isinstance(mask, Tensor) else as_tensor(array.astype(dtype, copy=False))


def causal_mask(L, S, dtype):
    """0 where key j <= query i (the query's past and present), -inf above the diagonal."""
    return np.triu(np.full((L, S), -np.inf, dtype), 1)


def dropout_mask(shape, p, dtype):
    """keep / (1 - p) with keep ~ Bernoulli(1 - p): the factor inverted dropout multiplies by."""
    keep = default_generator().random(shape, dtype=dtype) >= p
    return keep * np.asarray(1 / (1 - p), dtype)


def scaled_dot_product_attention(query, key, value, attn_mask=None, dropout_p=0.0,
                                 is_causal=False, scale=None):
    """softmax(Q K^T * scale + M) V for query (..., L, E), key (..., S, E), value (..., S, Ev);
    scale defaults to 1/sqrt(E). ``attn_mask`` is a bool mask (True = may attend) or a
    float mask added to the scores, broadcastable to (..., L, S); ``is_causal`` masks
    key j > query i. Dropout with probability ``dropout_p`` is applied to the weights
    whenever dropout_p > 0. See :class:`gradlite.ops.attention.Attention` for the gradient."""
    fn = "scaled_dot_product_attention"
    if query.ndim < 2 or key.ndim < 2 or value.ndim < 2:
        raise ValueError(f"{fn}: query, key and value must be at least 2-d, got shapes "
                         f"{_shape(query)}, {_shape(key)}, {_shape(value)}")
    L, E = query.shape[-2:]
    S = key.shape[-2]
    if key.shape[-1] != E or value.shape[-2] != S:
        raise ValueError(f"{fn}: query (..., L, E) {_shape(query)}, key (..., S, E) "
                         f"{_shape(key)} and value (..., S, Ev) {_shape(value)} do not fit")
    if not 0.0 <= dropout_p < 1.0:
        raise ValueError(f"{fn}: dropout_p must be in [0, 1), got {dropout_p}")
    if is_causal and attn_mask is not None:
        raise ValueError(f"{fn}: explicit attn_mask should not be set when is_causal=True")
    mask = (causal_mask(L, S, query.dtype) if is_causal
            else additive_mask(attn_mask, query.dtype, True, fn, "attn_mask"))
    if mask is not None:
        try:
            np.broadcast_shapes(np.shape(mask), _shape(query)[:-1] + (S,))
        except ValueError:
            raise ValueError(f"{fn}: attn_mask of shape {np.shape(mask)} does not broadcast "
                             f"to the scores' shape {_shape(query)[:-1] + (S,)}") from None
    scale = 1 / math.sqrt(E) if scale is None else scale
    batch = np.broadcast_shapes(_shape(query)[:-2], _shape(key)[:-2], _shape(value)[:-2])
    drop = dropout_mask(batch + (L, S), dropout_p, query.dtype) if dropout_p > 0 else None
    return Attention.apply(query, key, value, mask, scale, drop)


def attention_with_weights(query, key, value, mask, dropout_p):
    """Attention that also returns its weights P (after dropout, as PyTorch's
    MultiheadAttention returns them): the composite ops, so P is differentiable."""
    drop = None
    if dropout_p > 0:
        shape = np.broadcast_shapes(_shape(query)[:-1] + (key.shape[-2],))
        drop = dropout_mask(shape, dropout_p, query.dtype)
    s = (query * (1 / math.sqrt(query.shape[-1]))) @ key.mT
    if mask is not None:
        s = s + mask
    p = s.softmax(-1)
    if drop is not None:
        p = p * drop
    return p @ value, p
