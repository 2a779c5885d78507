"""Functional forms for sequence models: embedding, normalisation, attention,
1-d and transposed convolution, interpolation (PyTorch's names and signatures).
Re-exported by ``gradlite.nn.functional``; each checks its arguments and calls an op.
"""
import math

import numpy as np

from .. import autograd
from ..ops.attention import Attention
from ..ops.conv_transpose import TransposedConvolution
from ..ops.embedding import EmbeddingLookup, renormalize_rows_
from ..ops.norm import GroupNormalization, LayerNormalization
from ..ops.upsample import interpolation_matrix
from ..random import dropout_mask_array
from .. import Tensor, as_tensor
from .._args import int_arg, pair
from ..tensor import unwrap

__all__ = ["embedding", "layer_norm", "group_norm", "scaled_dot_product_attention", "conv1d",
           "conv_transpose1d", "conv_transpose2d", "interpolate"]


def _shape(t):
    return tuple(t.shape)


# --------------------------------------------------------------------------- embedding
def embedding(input, weight, padding_idx=None, max_norm=None, norm_type=2.0,
              scale_grad_by_freq=False, sparse=False):
    """Rows of ``weight`` (num_embeddings, embedding_dim) picked by the integer ids in
    ``input`` (any shape): the result has shape input.shape + (embedding_dim,).

    The row ``padding_idx`` gets no gradient. With ``max_norm``, the rows looked up are
    first rescaled in place to norm at most ``max_norm`` (as PyTorch does)."""
    ids = np.asarray(unwrap(input))
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
    return EmbeddingLookup.apply(weight, ids, padding_idx)


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
    return LayerNormalization.apply(input, weight, bias, len(shape), eps)


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
    return GroupNormalization.apply(input, weight, bias, int(num_groups), eps)


# --------------------------------------------------------------------------- attention
def additive_mask(mask, dtype, allowed_when_true, fn, name):
    """A boolean or float mask as an additive float mask: a bool mask becomes 0 where
    attention is allowed and -inf where not (``allowed_when_true`` says which truth value
    allows, True for scaled_dot_product_attention, False for MultiheadAttention); a float
    mask is returned as it is (it may carry a gradient)."""
    if mask is None:
        return None
    array = np.asarray(unwrap(mask))
    if array.dtype == bool:
        allowed = array if allowed_when_true else ~array
        return np.where(allowed, 0, -np.inf).astype(dtype)
    if array.dtype.kind != "f":
        raise TypeError(f"{fn}: {name} must be a bool or float mask, got {array.dtype}")
    return mask if isinstance(mask, Tensor) else as_tensor(array.astype(dtype, copy=False))


def causal_mask(L, S, dtype):
    """0 where key j <= query i (the query's past and present), -inf above the diagonal."""
    return np.triu(np.full((L, S), -np.inf, dtype), 1)


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
    drop = dropout_mask_array(batch + (L, S), dropout_p, query.dtype) if dropout_p > 0 else None
    return Attention.apply(query, key, value, mask, scale, drop)


def attention_with_weights(query, key, value, mask, dropout_p):
    """Attention that also returns its weights P (after dropout, as PyTorch's
    MultiheadAttention returns them): the composite ops, so P is differentiable."""
    drop = None
    if dropout_p > 0:
        shape = np.broadcast_shapes(_shape(query)[:-1] + (key.shape[-2],))
        drop = dropout_mask_array(shape, dropout_p, query.dtype)
    s = (query * (1 / math.sqrt(query.shape[-1]))) @ key.mT
    if mask is not None:
        s = s + mask
    p = s.softmax(-1)
    if drop is not None:
        p = p * drop
    return p @ value, p


# --------------------------------------------------------------------------- convolution
def _single(fn, name, value, minimum):
    """An int, or a one-element tuple of one (``(2,)``, as PyTorch's 1-d layers store it)."""
    if isinstance(value, (tuple, list)) and len(value) == 1:
        value = value[0]
    return int_arg(fn, name, value, minimum)


def _batched(fn, input, dims):
    """(input with a batch dim, whether one was added) for (N, C, *spatial) or (C, *spatial)."""
    if input.ndim == dims + 1:
        return input.unsqueeze(0), True
    if input.ndim != dims + 2:
        raise ValueError(f"{fn}: expected a {dims + 1}-d (unbatched) or {dims + 2}-d input, "
                         f"got shape {_shape(input)}")
    return input, False


def conv1d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """1-d cross-correlation of ``input`` (N, C, L) (or (C, L)) with ``weight``
    (O, C/groups, K): conv2d on a height-1 image. ``padding`` may be an int, 'valid'
    (0) or 'same' (output length L, stride 1; an odd total goes to the right)."""
    from .functional import conv2d
    fn = "conv1d"
    input, added = _batched(fn, input, 1)
    if weight.ndim != 3:
        raise ValueError(f"{fn}: weight must be 3-d (out_channels, in_channels/groups, "
                         f"kernel), got shape {_shape(weight)}")
    stride, dilation = _single(fn, "stride", stride, 1), _single(fn, "dilation", dilation, 1)
    if padding == "valid":
        padding = 0
    elif padding == "same":
        if stride != 1:
            raise ValueError(f"{fn}: padding='same' is not supported for strided convolutions")
        total = dilation * (weight.shape[2] - 1)
        input = pad_last(input, total // 2, total - total // 2)
        padding = 0
    padding = _single(fn, "padding", padding, 0)
    out = conv2d(input.unsqueeze(2), weight.unsqueeze(2), bias, (1, stride), (0, padding),
                 (1, dilation), groups).squeeze(2)
    return out.squeeze(0) if added else out


def pad_last(input, before, after):
    from ..functions import pad
    return pad(input, (before, after)) if before or after else input


def conv_transpose2d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1,
                     dilation=1):
    """Transposed 2-d convolution of ``input`` (N, C_in, H, W) (or unbatched) with ``weight``
    (C_in, C_out/groups, KH, KW): the adjoint of conv2d with the same arguments (see
    :mod:`gradlite.ops.conv_transpose`). Output height (H - 1) S - 2P + D (KH - 1) +
    output_padding + 1, width likewise."""
    fn = "conv_transpose2d"
    input, added = _batched(fn, input, 2)
    if weight.ndim != 4:
        raise ValueError(f"{fn}: weight must be 4-d (in_channels, out_channels/groups, KH, KW), "
                         f"got shape {_shape(weight)}")
    stride, padding = pair(fn, "stride", stride, 1), pair(fn, "padding", padding, 0)
    dilation = pair(fn, "dilation", dilation, 1)
    output_padding = pair(fn, "output_padding", output_padding, 0)
    if not isinstance(groups, (int, np.integer)) or groups < 1:
        raise ValueError(f"{fn}: groups must be a positive int, got {groups!r}")
    N, C, H, W = input.shape
    if weight.shape[0] != C or C % groups:
        raise ValueError(f"{fn}: weight of shape {_shape(weight)} expects {weight.shape[0]} "
                         f"input channels (divisible by groups={groups}), but the input of "
                         f"shape {_shape(input)} has {C}")
    out_channels = weight.shape[1] * groups
    if bias is not None and _shape(bias) != (out_channels,):
        raise ValueError(f"{fn}: bias must have shape ({out_channels},), got {_shape(bias)}")
    for a in range(2):
        if output_padding[a] >= max(stride[a], dilation[a]):
            raise ValueError(f"{fn}: output_padding {output_padding} must be smaller than "
                             f"either stride {stride} or dilation {dilation}")
    size = [(n - 1) * s - 2 * p + d * (k - 1) + op + 1 for n, s, p, d, k, op in
            zip((H, W), stride, padding, dilation, weight.shape[2:], output_padding)]
    if min(size) < 1:
        raise ValueError(f"{fn}: the output size {tuple(size)} for input shape {_shape(input)} "
                         f"is too small (padding {padding} too large)")
    dtypes = {str(t.dtype) for t in (input, weight, bias) if t is not None}
    if len(dtypes) > 1:
        raise ValueError(f"{fn}: input, weight and bias must share a dtype, got {sorted(dtypes)}")
    out = TransposedConvolution.apply(input, weight, bias, stride, padding, dilation, int(groups),
                                (N, out_channels, *size))
    return out.squeeze(0) if added else out


def conv_transpose1d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1,
                     dilation=1):
    """Transposed 1-d convolution: conv_transpose2d on a height-1 image; ``input`` (N, C_in, L),
    ``weight`` (C_in, C_out/groups, K)."""
    fn = "conv_transpose1d"
    input, added = _batched(fn, input, 1)
    if weight.ndim != 3:
        raise ValueError(f"{fn}: weight must be 3-d (in_channels, out_channels/groups, "
                         f"kernel), got shape {_shape(weight)}")
    stride, padding = _single(fn, "stride", stride, 1), _single(fn, "padding", padding, 0)
    output_padding = _single(fn, "output_padding", output_padding, 0)
    dilation = _single(fn, "dilation", dilation, 1)
    out = conv_transpose2d(input.unsqueeze(2), weight.unsqueeze(2), bias, (1, stride),
                           (0, padding), (0, output_padding), groups, (1, dilation))
    out = out.squeeze(2)
    return out.squeeze(0) if added else out


# --------------------------------------------------------------------------- interpolate
_INTERPOLATION_DIMS = {"nearest": (1, 2), "linear": (1,), "bilinear": (2,)}


def interpolate(input, size=None, scale_factor=None, mode="nearest", align_corners=None,
                recompute_scale_factor=None, antialias=False):
    """Resize the spatial dims of ``input`` (N, C, L) or (N, C, H, W) to ``size`` or by
    ``scale_factor``. Modes 'nearest' (3-d or 4-d input), 'linear' (3-d), 'bilinear' (4-d),
    with ``align_corners`` for the linear ones. Each axis is multiplied by its
    interpolation matrix (:mod:`gradlite.ops.upsample`), so the gradient is the
    transposed matrices' product."""
    fn = "interpolate"
    if mode not in _INTERPOLATION_DIMS:
        raise NotImplementedError(f"{fn}: mode {mode!r} is not supported (choose 'nearest', "
                                  "'linear' or 'bilinear')")
    dims = input.ndim - 2
    if dims not in _INTERPOLATION_DIMS[mode]:
        raise ValueError(f"{fn}: mode {mode!r} expects a "
                         f"{' or '.join(str(d + 2) for d in _INTERPOLATION_DIMS[mode])}-d "
                         f"input, got shape {_shape(input)}")
    if mode == "nearest" and align_corners is not None:
        raise ValueError(f"{fn}: align_corners option can only be set with the interpolating "
                         "modes: linear | bilinear")
    if antialias:
        raise NotImplementedError(f"{fn}: antialias is not supported")
    if (size is None) == (scale_factor is None):
        raise ValueError(f"{fn}: give exactly one of size and scale_factor")
    in_sizes = _shape(input)[2:]
    if size is not None:
        sizes = (size,) * dims if isinstance(size, (int, np.integer)) else tuple(size)
        scales = [n / m for n, m in zip(in_sizes, sizes)]
    else:
        factors = ((scale_factor,) * dims if isinstance(scale_factor, (int, float))
                   else tuple(scale_factor))
        sizes = tuple(int(math.floor(n * f)) for n, f in zip(in_sizes, factors))
        scales = [n / m if recompute_scale_factor else 1 / f
                  for n, m, f in zip(in_sizes, sizes, factors)]
    if len(sizes) != dims or min(sizes) < 1:
        raise ValueError(f"{fn}: the output size {sizes} does not fit input shape "
                         f"{_shape(input)}")
    out = input
    for axis, (n, m, scale) in enumerate(zip(in_sizes, sizes, scales)):
        if n == m and (scale == 1 or align_corners):        # the identity
            continue
        matrix = as_tensor(interpolation_matrix(n, m, mode, bool(align_corners), scale,
                                                input.dtype))
        moved = out.transpose(2 + axis, out.ndim - 1)      # the axis to resize goes last
        out = (moved @ matrix.mT).transpose(2 + axis, out.ndim - 1)
    return out
