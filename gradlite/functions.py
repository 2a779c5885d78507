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


def pad(input, pad, mode="constant", value=None):
    """Pad the last ``len(pad) // 2`` dims: ``pad = (left, right, top, bottom, ...)``
    starting from the last dim, as ``torch.nn.functional.pad``. Modes: 'constant'
    (``value``), 'reflect' (mirror, edge not repeated), 'replicate' (repeat the edge),
    'circular' (wrap around); the gradient of a copied element flows back to its source."""
    if mode not in _PAD_SOURCES and mode != "constant":
        raise ValueError(f"pad: mode must be 'constant', 'reflect', 'replicate' or "
                         f"'circular', got {mode!r}")
    if not isinstance(pad, (tuple, list)) or not all(map(is_int, pad)):
        raise TypeError(f"pad: pad must be a tuple of ints, got {pad!r}")
    if len(pad) % 2 or len(pad) // 2 > input.ndim:
        raise ValueError(f"pad: expected an even number of pad sizes, at most 2 per dim, "
                         f"got {tuple(pad)} for a tensor of shape {input.shape}")
    if any(p < 0 for p in pad):
        raise ValueError(f"pad: negative padding {tuple(pad)} is not supported")
    pairs = [(int(pad[i]), int(pad[i + 1])) for i in range(0, len(pad), 2)]
    if mode == "constant":
        widths = [(0, 0)] * (input.ndim - len(pairs)) + pairs[::-1]
        return ops.Pad.apply(input, tuple(widths), 0.0 if value is None else value)
    if input.ndim not in (len(pairs) + 1, len(pairs) + 2):
        raise NotImplementedError(f"pad: padding size {len(pad)} is not supported for a "
                                  f"{input.ndim}-d input in {mode} mode; it pads the last "
                                  f"{len(pairs)} dims of a {len(pairs) + 1}-d or "
                                  f"{len(pairs) + 2}-d input")
    for k, (left, right) in enumerate(pairs):
        dim = input.ndim - 1 - k
        source = _PAD_SOURCES[mode](np.arange(-left, input.shape[dim] + right), input.shape[dim],
                                    left, right, dim)
        input = input[(slice(None),) * dim + (source,)]
    return input


def _reflect(i, n, left, right, dim):
    if left >= n or right >= n:
        raise ValueError(f"pad: reflect padding ({left}, {right}) must be smaller than the "
                         f"size {n} of dim {dim}")
    i = np.abs(i)
    return np.where(i >= n, 2 * (n - 1) - i, i)


def _replicate(i, n, left, right, dim):
    return np.clip(i, 0, n - 1)


def _circular(i, n, left, right, dim):
    if left > n or right > n:
        raise ValueError(f"pad: circular padding ({left}, {right}) must be at most the size "
                         f"{n} of dim {dim}")
    return i % n


_PAD_SOURCES = {"reflect": _reflect, "replicate": _replicate, "circular": _circular}
