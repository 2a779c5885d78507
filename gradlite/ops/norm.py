"""Layer and group normalisation, each fused into one Function.

Both standardise groups of numbers, x_hat = (x - mean) / sqrt(var + eps) with the
biased variance, then apply a learned affine map y = x_hat * w + b. For one group
of n numbers and an upstream gradient G:

    dL/dx_hat = G w
    dL/dx     = rstd * (dL/dx_hat - mean(dL/dx_hat) - x_hat * mean(dL/dx_hat * x_hat))
    dL/dw     = sum of G x_hat,   dL/db = sum of G   (over everything w is shared by)

where rstd = 1 / sqrt(var + eps): the two means remove the directions that the
standardisation itself takes out (a shift of x, and a scaling of x - mean).
The backward is numpy; under ``create_graph=True`` the composite definition
(``layer_norm_composite``, ``group_norm_composite``) is differentiated instead.
"""
import numpy as np

from ..autograd import Function, is_grad_enabled
from .composite import composite_grads


def standardize(rows, eps):
    """x_hat and rstd for each row of ``rows`` (shape (m, n)): normalised over axis 1."""
    mean = rows.mean(axis=1, keepdims=True)
    centred = rows - mean
    var = np.mean(centred * centred, axis=1, keepdims=True)
    rstd = 1 / np.sqrt(var + eps)
    return centred * rstd, rstd


def standardize_backward(x_hat, rstd, g_hat):
    """dL/dx from dL/dx_hat for rows standardised by :func:`standardize`."""
    mean_g = g_hat.mean(axis=1, keepdims=True)
    mean_gx = np.mean(g_hat * x_hat, axis=1, keepdims=True)
    return rstd * (g_hat - mean_g - x_hat * mean_gx)


class LayerNormalization(Function):
    """y = (x - mean) / sqrt(var + eps) * w + b, statistics over the last ``ndim`` dims
    (w and b have those dims' shape, or are None). Gradients: see the module docstring."""

    @staticmethod
    def forward(ctx, x, weight, bias, ndim, eps):
        n = int(np.prod(x.shape[x.ndim - ndim:]))
        x_hat, rstd = standardize(x.reshape(-1, n), eps)
        ctx.x_hat, ctx.rstd, ctx.args = x_hat, rstd, (ndim, eps)
        ctx.save_for_backward(x, weight, bias)
        y = x_hat.reshape(x.shape)
        if weight is not None:
            y = y * weight
        if bias is not None:
            y = y + bias
        return y

    @staticmethod
    def backward(ctx, g):
        x, weight, bias = ctx.saved_tensors
        if is_grad_enabled():
            return composite_grads(lambda x, w, b: layer_norm_composite(x, w, b, *ctx.args),
                                   (x, weight, bias), ctx.needs_input_grad[:3], g) + (None, None)
        n = ctx.x_hat.shape[1]
        rows = g.data.reshape(-1, n)
        g_hat = rows if weight is None else rows * weight.data.reshape(1, n)
        return ctx.needed(
            lambda: standardize_backward(ctx.x_hat, ctx.rstd, g_hat).reshape(x.shape),
            lambda: (rows * ctx.x_hat).sum(axis=0).reshape(weight.shape),
            lambda: rows.sum(axis=0).reshape(bias.shape),
            lambda: None, lambda: None)


def layer_norm_composite(x, weight, bias, ndim, eps):
    """LayerNorm in Tensor ops: the specification the fused op must match."""
    dims = tuple(range(x.ndim - ndim, x.ndim))
    centred = x - x.mean(dim=dims, keepdim=True)
    y = centred / ((centred * centred).mean(dim=dims, keepdim=True) + eps).sqrt()
    if weight is not None:
        y = y * weight
    return y if bias is None else y + bias


class GroupNormalization(Function):
    """y[n, c, ...] = x_hat[n, c, ...] * w[c] + b[c], where x is standardised over each of
    ``groups`` groups of consecutive channels of each sample (with all their positions).
    Gradients: see the module docstring (w, b shared by the positions of a channel)."""

    @staticmethod
    def forward(ctx, x, weight, bias, groups, eps):
        x_hat, rstd = standardize(x.reshape(x.shape[0] * groups, -1), eps)
        ctx.x_hat, ctx.rstd, ctx.args = x_hat, rstd, (groups, eps)
        ctx.save_for_backward(x, weight, bias)
        y = x_hat.reshape(x.shape)
        per_channel = (1, x.shape[1]) + (1,) * (x.ndim - 2)
        if weight is not None:
            y = y * weight.reshape(per_channel)
        if bias is not None:
            y = y + bias.reshape(per_channel)
        return y

    @staticmethod
    def backward(ctx, g):
        x, weight, bias = ctx.saved_tensors
        if is_grad_enabled():
            return composite_grads(lambda x, w, b: group_norm_composite(x, w, b, *ctx.args),
                                   (x, weight, bias), ctx.needs_input_grad[:3], g) + (None, None)
        N, C = x.shape[:2]
        per_channel = (1, C) + (1,) * (x.ndim - 2)
        g = g.data
        g_hat = g if weight is None else g * weight.data.reshape(per_channel)
        x_hat = ctx.x_hat.reshape(x.shape)
        not_channel = (0,) + tuple(range(2, x.ndim))
        return ctx.needed(
            lambda: standardize_backward(ctx.x_hat, ctx.rstd,
                                         g_hat.reshape(ctx.x_hat.shape)).reshape(x.shape),
            lambda: (g * x_hat).sum(axis=not_channel),
            lambda: g.sum(axis=not_channel),
            lambda: None, lambda: None)


def group_norm_composite(x, weight, bias, groups, eps):
    """GroupNorm in Tensor ops: the specification the fused op must match."""
    per_channel = (1, x.shape[1]) + (1,) * (x.ndim - 2)
    y = layer_norm_composite(x.reshape(x.shape[0], groups, -1), None, None, 1, eps)
    y = y.reshape(x.shape)
    if weight is not None:
        y = y * weight.reshape(per_channel)
    return y if bias is None else y + bias.reshape(per_channel)
