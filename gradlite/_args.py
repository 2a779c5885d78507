"""Argument normalisation shared by the Tensor methods, the creation functions and
``nn``: each turns what a user may pass (an int or a sequence, a negative dim) into
one canonical form, or raises an error naming the function and the argument."""
import numpy as np


def normalize_dims(dim, ndim, op):
    """``dim`` (None, an int or a sequence of ints) as a tuple of axes in [0, ndim),
    or None (all axes). Negative dims count from the end."""
    if dim is None:
        return None
    dims = tuple(dim) if isinstance(dim, (tuple, list)) else (dim,)
    limit = max(ndim, 1)
    for d in dims:
        if not -limit <= d < limit:
            raise IndexError(f"{op}: dim {d} is out of range for a tensor with {ndim} dims "
                             f"(expected one of {-limit}..{limit - 1})")
    return tuple(d % limit for d in dims)


def shape_arg(shape):
    """Accept ``reshape(2, 3)`` and ``reshape((2, 3))`` alike: a tuple of ints."""
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = shape[0]
    return tuple(int(n) for n in shape)


def pair(fn, name, value, minimum):
    """An int or a pair of ints, each >= minimum, as an (h, w) tuple (``3 -> (3, 3)``)."""
    pair_ = (value, value) if isinstance(value, (int, np.integer)) else tuple(value)
    if len(pair_) != 2 or not all(isinstance(v, (int, np.integer)) and v >= minimum
                                  for v in pair_):
        raise ValueError(f"{fn}: {name} must be an int or a pair of ints >= {minimum}, "
                         f"got {value!r}")
    return int(pair_[0]), int(pair_[1])


def arg_reduce(fn, array, dim, keepdim):
    """``np.argmax``/``np.argmin`` of ``array`` over ``dim`` (all elements if None), int64."""
    if dim is None:
        return np.asarray(fn(array), dtype=np.int64)
    axis = normalize_dims(dim, array.ndim, fn.__name__)[0]
    return fn(array, axis=axis, keepdims=keepdim).astype(np.int64)
