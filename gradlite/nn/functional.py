"""The functional forms of the layers, activations and losses:
``import gradlite.nn.functional as F`` (PyTorch's names and signatures).

Each checks its arguments, so that a mistake is reported in the caller's terms,
then calls the primitives of :mod:`gradlite.ops` (or Tensor methods). The
convolution and pooling checks are in ``nn/_conv.py``, the losses in
``nn/losses.py``; both are imported here.
"""
import math
import warnings

import numpy as np

from .. import autograd
from .._args import real_arg
from ..creation import as_tensor
from ..functions import pad  # noqa: F401  (F.pad, as torch.nn.functional.pad)
from ..ops.activation import Elu, LeakyRelu, NormalCdf
from ..ops.linear import Affine
from ..random import dropout_mask_array
from ..tensor import Tensor, tensor_arg, unwrap
from ._conv import adaptive_avg_pool2d, avg_pool2d, conv2d, max_pool2d  # noqa: F401
from .losses import (binary_cross_entropy, binary_cross_entropy_with_logits,  # noqa: F401
                     cross_entropy, huber_loss, l1_loss, mse_loss, multi_margin_loss, nll_loss,
                     smooth_l1_loss)


# --------------------------------------------------------------------------- linear
def linear(input, weight, bias=None):
    """y = x W^T + b for x (..., in_features), W (out_features, in_features), b (out_features,)."""
    input = tensor_arg("linear", "input", input)
    if not isinstance(weight, Tensor) or not isinstance(bias, (Tensor, type(None))):
        raise TypeError(f"linear: weight must be a Tensor and bias a Tensor or None, got "
                        f"{type(weight).__name__} and {type(bias).__name__}")
    if weight.ndim != 2 or input.ndim == 0 or input.shape[-1] != weight.shape[1]:
        raise ValueError(f"linear: input of shape {tuple(input.shape)} does not fit weight of "
                         f"shape {tuple(weight.shape)}: the input's last dim must be "
                         f"in_features = {weight.shape[-1]}")
    if bias is not None and tuple(bias.shape) != (weight.shape[0],):
        raise ValueError(f"linear: bias must have shape ({weight.shape[0]},), "
                         f"got {tuple(bias.shape)}")
    return Affine.apply(input, weight, bias)


# --------------------------------------------------------------------------- activations
def relu(input):
    """max(x, 0)."""
    return input.relu()


def leaky_relu(input, negative_slope=0.01):
    """x if x > 0 else negative_slope * x."""
    return LeakyRelu.apply(input, real_arg("leaky_relu", "negative_slope", negative_slope))


def elu(input, alpha=1.0):
    """x if x > 0 else alpha (e^x - 1)."""
    return Elu.apply(input, real_arg("elu", "alpha", alpha))


def gelu(input, approximate="none"):
    """x Phi(x), Phi the standard normal CDF (``approximate='none'``), or
    x/2 (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))) (``approximate='tanh'``)."""
    if approximate == "none":
        return input * NormalCdf.apply(input)
    if approximate == "tanh":
        inner = (input + input * input * input * 0.044715) * math.sqrt(2 / math.pi)
        return input * 0.5 * (inner.tanh() + 1)
    raise ValueError(f"gelu: approximate must be 'none' or 'tanh', got {approximate!r}")


def sigmoid(input):
    """1 / (1 + e^-x)."""
    return input.sigmoid()


def tanh(input):
    return input.tanh()


def _softmax_dim(op, ndim):
    """PyTorch's legacy choice when ``dim`` is not given: 0 for 0-, 1- and 3-d input, else 1."""
    warnings.warn(f"{op}: implicit dimension choice is deprecated; pass dim", stacklevel=3)
    return 0 if ndim in (0, 1, 3) else 1


def softmax(input, dim=None):
    """e^x_i / sum_j e^x_j along ``dim`` (computed with the max subtracted)."""
    return input.softmax(_softmax_dim("softmax", input.ndim) if dim is None else dim)


def log_softmax(input, dim=None):
    """x_i - log sum_j e^x_j along ``dim``, computed stably."""
    return input.log_softmax(_softmax_dim("log_softmax", input.ndim) if dim is None else dim)


# --------------------------------------------------------------------------- shapes
def flatten(input, start_dim=0, end_dim=-1):
    """Merge dims start_dim..end_dim into one (``torch.flatten``)."""
    return input.flatten(start_dim, end_dim)


# --------------------------------------------------------------------------- regularisation
def dropout(input, p=0.5, training=True):
    """Inverted dropout: in training, zero each element with probability p and scale
    the survivors by 1 / (1 - p), so the expected value is unchanged and evaluation
    needs no rescaling; the gradient passes through the same mask. Identity when
    not training."""
    p = real_arg("dropout", "probability p", p, 0.0, 1.0)
    if not training or p == 0.0:
        return input
    if p == 1.0:
        return input * 0.0
    dtype = input.dtype if input.dtype in (np.float32, np.float64) else np.float32
    return input * dropout_mask_array(input.shape, p, dtype)


def batch_norm(input, running_mean, running_var, weight=None, bias=None, training=False,
               momentum=0.1, eps=1e-5):
    """Normalise each channel (dim 1) of ``input`` (N, C, ...):

        y = (x - mean) / sqrt(var + eps) * weight + bias

    In training, mean and the biased var are the batch's statistics over every dim
    but 1 (the gradient flows through them), and the running estimates are updated
    in place: running = (1 - momentum) running + momentum * batch, with the
    unbiased variance n/(n-1) var (as PyTorch). Otherwise the running ones are used.
    """
    input = as_tensor(input)
    if input.ndim < 2:
        raise ValueError(f"batch_norm: expected input (N, C) or (N, C, ...), got shape "
                         f"{tuple(input.shape)}")
    channels = input.shape[1]
    for name, tensor in (("running_mean", running_mean), ("running_var", running_var),
                         ("weight", weight), ("bias", bias)):
        if tensor is not None and tuple(tensor.shape) != (channels,):
            raise ValueError(f"batch_norm: {name} must have shape ({channels},) for input of "
                             f"shape {tuple(input.shape)}, got {tuple(tensor.shape)}")
    axes = (0,) + tuple(range(2, input.ndim))
    per_channel = (1, channels) + (1,) * (input.ndim - 2)
    if training:
        count = input.data.size // max(channels, 1)
        if count <= 1:
            raise ValueError(f"batch_norm: expected more than 1 value per channel when "
                             f"training, got input of shape {tuple(input.shape)}")
        mean = input.mean(dim=axes, keepdim=True)
        centred = input - mean
        var = (centred * centred).mean(dim=axes, keepdim=True)
        if running_mean is not None:
            _update_running(running_mean, mean.data, momentum)
        if running_var is not None:
            _update_running(running_var, var.data * (count / (count - 1)), momentum)
        normalised = centred / (var + eps).sqrt()
    else:
        if running_mean is None or running_var is None:
            raise ValueError("batch_norm: running_mean and running_var are needed when "
                             "training=False")
        normalised = ((input - running_mean.reshape(per_channel))
                      / (running_var.reshape(per_channel) + eps).sqrt())
    if weight is not None:
        normalised = normalised * weight.reshape(per_channel)
    if bias is not None:
        normalised = normalised + bias.reshape(per_channel)
    return normalised


def _update_running(running, batch_value, momentum):
    """running = (1 - momentum) running + momentum batch_value, in place."""
    array = unwrap(running)
    array *= 1 - momentum
    array += momentum * batch_value.reshape(array.shape).astype(array.dtype, copy=False)
    if array is not running:
        autograd.bump_version(running)


from ..functions_extra import one_hot  # noqa: E402,F401  (F.one_hot; issue 17)
from .activations_extra import dropout2d, silu  # noqa: E402,F401  (issue 17)
from ._functional_seq import *  # noqa: E402,F401,F403  (embedding, layer_norm, attention, ...)
