"""The torch-style namespace: ``gradlite.exp(x)``, ``gradlite.cat([a, b])``, ...

Most are the Tensor method of the same name; the few that take several
tensors (cat, stack, where, pad) are defined here.
"""
import numpy as np

from . import ops
from ._args import dim_arg, is_int
from .creation import as_tensor
from .tensor import unwrap


def _method_as_function(name):
    def function(input, *args, **kwargs):
        return getattr(as_tensor(input), name)(*args, **kwargs)
    function.__name__ = function.__qualname__ = name
    function.__doc__ = f"``gradlite.{name}(input, ...)`` is ``input.{name}(...)``."
    return function


_METHODS = ("exp log sqrt sin cos abs tanh sigmoid relu clamp clip maximum minimum sum mean "
            "var std max min amax amin argmax argmin logsumexp softmax log_softmax reshape "
            "flatten permute transpose squeeze unsqueeze matmul split chunk sign square "
            "allclose equal").split()
globals().update({name: _method_as_function(name) for name in _METHODS})
__all__ = _METHODS + ["cat", "concatenate", "stack", "where", "pad"]


def cat(tensors, dim=0):
    """Join tensors along an existing dim; gradients are split back to each."""
    tensors = [as_tensor(t) for t in tensors]
    if not tensors:
        raise ValueError("cat: expected a non-empty sequence of tensors")
    return ops.Cat.apply(dim_arg(dim, tensors[0].ndim, "cat"), *tensors)


concatenate = cat


def stack(tensors, dim=0):
    """Join equal-shaped tensors along a new dim."""
    tensors = [as_tensor(t) for t in tensors]
    if not tensors:
        raise ValueError("stack: expected a non-empty sequence of tensors")
    for i, t in enumerate(tensors):
        if t.shape != tensors[0].shape:
            raise ValueError(f"stack: expects tensors of equal shape, but entry 0 has shape "
                             f"{tensors[0].shape} and entry {i} has shape {t.shape}")
    dim = dim_arg(dim, tensors[0].ndim + 1, "stack")
    return cat([t.unsqueeze(dim) for t in tensors], dim)


def where(condition, input, other):
    """``input`` where ``condition`` holds, else ``other`` (broadcasting)."""
    return as_tensor(input).where(np.asarray(unwrap(condition), bool), other)


def pad(input, pad, mode="constant", value=0.0):
    """Pad the last ``len(pad) // 2`` dims: ``pad = (left, right, top, bottom, ...)``
    starting from the last dim, as ``torch.nn.functional.pad``. Only constant mode."""
    if mode != "constant":
        raise NotImplementedError(f"pad: only mode='constant' is supported, not {mode!r}")
    if not isinstance(pad, (tuple, list)) or not all(map(is_int, pad)):
        raise TypeError(f"pad: pad must be a tuple of ints, got {pad!r}")
    if len(pad) % 2 or len(pad) // 2 > input.ndim:
        raise ValueError(f"pad: expected an even number of pad sizes, at most 2 per dim, "
                         f"got {tuple(pad)} for a tensor of shape {input.shape}")
    if any(p < 0 for p in pad):
        raise ValueError(f"pad: negative padding {tuple(pad)} is not supported")
    pairs = [(int(pad[i]), int(pad[i + 1])) for i in range(0, len(pad), 2)]
    widths = [(0, 0)] * (input.ndim - len(pairs)) + pairs[::-1]
    return ops.Pad.apply(input, tuple(widths), value)
