"""Weight initialisation, in place, from gradlite's global generator (as ``torch.nn.init``).

Each function overwrites ``tensor.data`` without recording anything for autograd
and returns the tensor; ``gradlite.manual_seed(n)`` makes the draws reproducible.

The scaled schemes keep the variance of activations roughly constant from layer to
layer. With ``fan_in`` = inputs per output unit, ``fan_out`` = outputs per input unit:

- Xavier/Glorot:  std = gain * sqrt(2 / (fan_in + fan_out))
- Kaiming/He:     std = gain / sqrt(fan)        (fan = fan_in or fan_out, by ``mode``)

and a uniform distribution U(-b, b) has that std when b = sqrt(3) * std.
"""
import math

import numpy as np

from ..autograd import bump_version
from ..random import default_generator

_LINEAR_GAINS = ("linear", "identity", "conv1d", "conv2d", "conv3d", "conv_transpose1d",
                 "conv_transpose2d", "conv_transpose3d", "sigmoid")


def calculate_gain(nonlinearity, param=None):
    """The recommended gain for ``nonlinearity``: 1 for linear/conv/sigmoid, 5/3 for
    tanh, sqrt(2) for relu, sqrt(2 / (1 + slope^2)) for leaky_relu (slope ``param``,
    default 0.01), 3/4 for selu."""
    if nonlinearity in _LINEAR_GAINS:
        return 1.0
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        slope = 0.01 if param is None else param
        if isinstance(slope, bool) or not isinstance(slope, (int, float)):
            raise ValueError(f"calculate_gain: negative_slope {slope!r} is not a number")
        return math.sqrt(2.0 / (1 + slope ** 2))
    if nonlinearity == "selu":
        return 3.0 / 4
    raise ValueError(f"calculate_gain: unsupported nonlinearity {nonlinearity!r}")


def _calculate_fan_in_and_fan_out(tensor):
    """For a weight of shape (out, in, *kernel): fan_in = in * prod(kernel),
    fan_out = out * prod(kernel)."""
    if tensor.ndim < 2:
        raise ValueError(f"init: fan in and fan out can not be computed for a tensor with "
                         f"fewer than 2 dimensions (shape {tuple(tensor.shape)})")
    receptive_field = int(np.prod(tensor.shape[2:]))
    return tensor.shape[1] * receptive_field, tensor.shape[0] * receptive_field


def _array(tensor):
    """The array to fill: a Tensor's, or a numpy array itself (``init.normal_(w.data)``)."""
    return tensor if isinstance(tensor, np.ndarray) else tensor.data


def _fill(tensor, values):
    if isinstance(tensor, np.ndarray):       # init.normal_(w.data): the array itself
        tensor[...] = values
    else:
        tensor.data[...] = values
        bump_version(tensor)
    return tensor


def _float_dtype(tensor, caller):
    dtype = _array(tensor).dtype
    if dtype not in (np.float32, np.float64):
        raise TypeError(f"{caller}: expected a float32 or float64 tensor, got {dtype}")
    return dtype


def uniform_(tensor, a=0.0, b=1.0):
    """Fill with samples of U(a, b)."""
    dtype = _float_dtype(tensor, "uniform_")
    return _fill(tensor, default_generator().random(tensor.shape, dtype=dtype) * (b - a) + a)


def normal_(tensor, mean=0.0, std=1.0):
    """Fill with samples of N(mean, std^2)."""
    dtype = _float_dtype(tensor, "normal_")
    return _fill(tensor, default_generator().standard_normal(tensor.shape, dtype=dtype) * std
                 + mean)


def constant_(tensor, val):
    return _fill(tensor, val)


def zeros_(tensor):
    return _fill(tensor, 0)


def ones_(tensor):
    return _fill(tensor, 1)


def xavier_uniform_(tensor, gain=1.0):
    """U(-b, b) with b = gain * sqrt(6 / (fan_in + fan_out))."""
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    bound = gain * math.sqrt(6.0 / (fan_in + fan_out))
    return uniform_(tensor, -bound, bound)


def xavier_normal_(tensor, gain=1.0):
    """N(0, std^2) with std = gain * sqrt(2 / (fan_in + fan_out))."""
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    return normal_(tensor, 0.0, gain * math.sqrt(2.0 / (fan_in + fan_out)))


def _kaiming_std(tensor, a, mode, nonlinearity):
    if mode not in ("fan_in", "fan_out"):
        raise ValueError(f"kaiming init: mode must be 'fan_in' or 'fan_out', got {mode!r}")
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    fan = fan_in if mode == "fan_in" else fan_out
    if fan == 0:  # a tensor with no elements (e.g. Conv2d(0, ...)): nothing to fill
        return 0.0
    return calculate_gain(nonlinearity, a) / math.sqrt(fan)


def kaiming_uniform_(tensor, a=0, mode="fan_in", nonlinearity="leaky_relu"):
    """U(-b, b) with b = sqrt(3) * gain / sqrt(fan); ``a`` is the leaky_relu slope.

    Linear and Conv2d use ``a = sqrt(5)``, so b = 1 / sqrt(fan_in)."""
    bound = math.sqrt(3.0) * _kaiming_std(tensor, a, mode, nonlinearity)
    return uniform_(tensor, -bound, bound)


def kaiming_normal_(tensor, a=0, mode="fan_in", nonlinearity="leaky_relu"):
    """N(0, std^2) with std = gain / sqrt(fan)."""
    return normal_(tensor, 0.0, _kaiming_std(tensor, a, mode, nonlinearity))
