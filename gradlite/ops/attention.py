"""Scaled dot-product attention, fused into one Function."""
import numpy as np

from ..autograd import Function, is_grad_enabled
from .composite import composite_grads


def _softmax_last(s):
    """softmax over the last axis; a row masked entirely (all -inf) gives zeros, as in
    PyTorch's scaled_dot_product_attention, instead of 0/0."""
    top = s.max(axis=-1, keepdims=True)
    top[top == -np.inf] = 0
    e = np.exp(s - top)
    total = e.sum(axis=-1, keepdims=True)
    total[total == 0] = 1
    return e / total


def _sum_to(array, shape):
    """Sum a broadcast result back down to ``shape`` (numpy's unbroadcast)."""
    lead = array.ndim - len(shape)
    axes = tuple(range(lead)) + tuple(lead + i for i, n in enumerate(shape)
                                      if n == 1 and array.shape[lead + i] != 1)
    return array.sum(axis=axes, keepdims=True).reshape(shape) if axes else array


class Attention(Function):
    """O = dropout(P) V,   P = softmax(S),   S = s Q K^T + M   (softmax over the keys)

    for Q (..., L, E), K (..., S, E), V (..., S, Ev), an additive mask M (broadcastable
    to (..., L, S); -inf where a query may not look) or None, a scale s, and the
    dropout applied as P * D, D = keep / (1 - p) (or no dropout: D = 1). With G = dL/dO:

        dL/dV = (P D)^T G
        dL/dP = (G V^T) D
        dL/dS = P * (dL/dP - rowsum(dL/dP * P))      (the softmax's Jacobian)
        dL/dQ = s dL/dS K,   dL/dK = s dL/dS^T Q,   dL/dM = dL/dS
    """

    @staticmethod
    def forward(ctx, q, k, v, mask, scale, dropout):
        s = (q @ np.swapaxes(k, -1, -2)) * scale
        if mask is not None:
            s += mask
        p = _softmax_last(s)
        p_dropped = p if dropout is None else p * dropout
        ctx.p, ctx.p_dropped, ctx.scale, ctx.dropout = p, p_dropped, scale, dropout
        ctx.save_for_backward(q, k, v, mask)
        return p_dropped @ v

    @staticmethod
    def backward(ctx, grad):
        q, k, v, mask = inputs = ctx.saved_tensors
        if is_grad_enabled():
            return composite_grads(
                lambda q, k, v, m: attention_composite(q, k, v, m, ctx.scale, ctx.dropout),
                inputs, ctx.needs_input_grad[:4], grad) + (None, None)
        g, p = grad.data, ctx.p
        d_p = g @ np.swapaxes(v.data, -1, -2)
        if ctx.dropout is not None:
            d_p *= ctx.dropout
        d_s = p * (d_p - (d_p * p).sum(axis=-1, keepdims=True))
        return ctx.needed(
            lambda: _sum_to(d_s @ k.data, q.shape) * ctx.scale,
            lambda: _sum_to(np.swapaxes(d_s, -1, -2) @ q.data, k.shape) * ctx.scale,
            lambda: _sum_to(np.swapaxes(ctx.p_dropped, -1, -2) @ g, v.shape),
            lambda: _sum_to(d_s, mask.shape),
            lambda: None, lambda: None)


def attention_composite(q, k, v, mask, scale, dropout):
    """Attention in Tensor ops: the specification the fused op must match."""
    s = (q @ k.mT) * scale
    if mask is not None:
        s = s + mask
    p = s.softmax(-1)
    if dropout is not None:
        p = p * dropout
    return p @ v
