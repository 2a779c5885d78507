"""Argument normalisation shared by the Tensor methods, the creation functions, ``nn``,
``optim`` and ``data``: each turns what a user may pass (an int or a sequence, a negative
dim, a dtype name) into one canonical form, or raises an error naming the function and
the argument: TypeError for a wrong type, ValueError for a wrong value, IndexError for a
dim out of range."""
import math
import operator

import numpy as np

INT64_MAX = 2 ** 63 - 1


def is_int(value):
    """An int as PyTorch takes one: a Python or numpy integer (or anything with
    ``__index__``, like a one-element integer Tensor), but not a bool."""
    if type(value) is int:
        return True
    if isinstance(value, (bool, np.bool_)):
        return False
    try:
        operator.index(value)
    except TypeError:
        return False
    return True


def int_arg(fn, name, value, minimum=None):
    """``value`` as an int >= ``minimum`` that fits in int64."""
    if not is_int(value):
        raise TypeError(f"{fn}: {name} must be an int, got {type(value).__name__} {value!r}")
    value = operator.index(value)
    if minimum is not None and value < minimum:
        raise ValueError(f"{fn}: {name} must be >= {minimum}, got {value}")
    if abs(value) > INT64_MAX:
        raise ValueError(f"{fn}: {name} = {value} does not fit in int64")
    return value


def real_arg(fn, name, value, low=-math.inf, high=math.inf):
    """``value`` as a finite float in [low, high]."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.number)):
        raise TypeError(f"{fn}: {name} must be a number, got {type(value).__name__} {value!r}")
    if not (math.isfinite(value) and low <= value <= high):
        where = "a finite number" if (low, high) == (-math.inf, math.inf) else f"in [{low:g}, {high:g}]"
        raise ValueError(f"{fn}: {name} must be {where}, got {value}")
    return float(value)


def dtype_arg(fn, dtype):
    """``dtype`` (None, a numpy dtype or its name) as a numpy dtype a tensor can hold."""
    if dtype is None:
        return None
    try:
        dtype = np.dtype(dtype)
    except TypeError:
        raise TypeError(f"{fn}: dtype {dtype!r} is not a dtype (e.g. gradlite.float32)") from None
    if dtype.kind not in "biuf":
        raise TypeError(f"{fn}: dtype {dtype} cannot be a tensor's dtype (bool, integer or "
                        "floating point only)")
    return dtype


def dim_arg(dim, ndim, op):
    """One dim (an int; negative counts from the end) as an axis in [0, ndim)."""
    if not is_int(dim):
        raise TypeError(f"{op}: dim must be an int, got {type(dim).__name__} {dim!r}")
    return normalize_dims(dim, ndim, op)[0]


def normalize_dims(dim, ndim, op):
    """``dim`` (None, an int or a sequence of distinct ints) as a tuple of axes in
    [0, ndim), or None (all axes). Negative dims count from the end."""
    if dim is None:
        return None
    dims = tuple(dim) if isinstance(dim, (tuple, list)) else (dim,)
    limit = max(ndim, 1)
    for d in dims:
        if not is_int(d):
            raise TypeError(f"{op}: dim must be an int or a tuple of ints, got "
                            f"{type(d).__name__} {d!r}")
        if not -limit <= d < limit:
            raise IndexError(f"{op}: dim {d} is out of range for a tensor with {ndim} dims "
                             f"(expected one of {-limit}..{limit - 1})")
    axes = tuple(operator.index(d) % limit for d in dims)
    if len(axes) > 1 and len(set(axes)) < len(axes):
        raise ValueError(f"{op}: dim {dim} names the same dim multiple times")
    return axes


def shape_arg(fn, shape, name="size"):
    """Accept ``f(2, 3)`` and ``f((2, 3))`` alike: a tuple of ints."""
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = shape[0]
    for n in shape:
        if not is_int(n):
            raise TypeError(f"{fn}: {name} must be a tuple of ints, but got "
                            f"{type(n).__name__} {n!r} in {tuple(shape)}")
    return tuple(map(operator.index, shape))


def size_arg(fn, size):
    """A new tensor's size: non-negative ints whose product fits in int64."""
    shape = shape_arg(fn, size)
    if any(n < 0 for n in shape):
        raise ValueError(f"{fn}: size {shape} has a negative dim; sizes must be >= 0")
    if math.prod(shape) > INT64_MAX or any(n > INT64_MAX for n in shape):
        raise ValueError(f"{fn}: size {shape} has more elements than int64 can count")
    return shape


def reshape_arg(fn, shape, old_shape):
    """The target of ``reshape``/``view``: ``shape`` with its one -1 inferred, holding as
    many elements as ``old_shape``."""
    shape = shape_arg(fn, shape, "shape")
    numel = math.prod(old_shape)
    if min(shape, default=0) >= 0 and math.prod(shape) == numel:
        return shape
    if shape.count(-1) > 1 or min(shape, default=0) < -1:
        raise ValueError(f"{fn}: shape {shape} is invalid: sizes must be >= 0, and only one "
                         "dim can be inferred (-1)")
    known = math.prod(n for n in shape if n != -1)
    if -1 in shape:
        if known == 0 or numel % known:
            raise ValueError(f"{fn}: shape {shape} is invalid for a tensor of shape "
                             f"{tuple(old_shape)} ({numel} elements)")
        shape = tuple(numel // known if n == -1 else n for n in shape)
    elif known != numel:
        raise ValueError(f"{fn}: shape {shape} is invalid for a tensor of shape "
                         f"{tuple(old_shape)} ({numel} elements)")
    return shape


def pair(fn, name, value, minimum):
    """An int or a pair of ints, each >= minimum, as an (h, w) tuple (``3 -> (3, 3)``)."""
    pair_ = (value, value) if is_int(value) else value
    if not isinstance(pair_, (tuple, list)) or len(pair_) != 2 or not all(map(is_int, pair_)):
        raise TypeError(f"{fn}: {name} must be an int or a pair of ints, got {value!r}")
    if min(pair_) < minimum or max(pair_) > INT64_MAX:
        raise ValueError(f"{fn}: {name} must be an int or a pair of ints >= {minimum} (and "
                         f"within int64), got {value!r}")
    return int(pair_[0]), int(pair_[1])


def arg_reduce(fn, array, dim, keepdim):
    """``np.argmax``/``np.argmin`` of ``array`` over ``dim`` (all elements if None), int64."""
    if dim is None:
        return np.asarray(fn(array), dtype=np.int64)
    axis = dim_arg(dim, array.ndim, fn.__name__)
    return fn(array, axis=axis, keepdims=keepdim).astype(np.int64)
