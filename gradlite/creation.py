"""Creation functions: new tensors from data (``tensor``, ``as_tensor``,
``from_numpy``), filled (``zeros``, ``ones``, ``full``, ``arange``, ``eye``, ...)
or random (``rand``, ``randn``, ``randint`` from gradlite's generator), and their
``*_like`` forms. dtypes follow :mod:`gradlite.dtypes`; sizes must be ints >= 0."""
import math

import numpy as np

from ._args import INT64_MAX, dtype_arg, int_arg, size_arg
from .devices import as_cpu
from .dtypes import array_from, float32, int64
from .random import default_generator
from .tensor import Tensor, tensor_arg, unwrap


def _new(array, dtype, requires_grad):
    if dtype is not None:
        array = array.astype(dtype, copy=False)
    t = Tensor(array)
    t.requires_grad = requires_grad
    return t


def _allocate(fn, make, size, dtype, requires_grad):
    """``make(shape, dtype)`` as a new tensor, its size and dtype checked first."""
    shape, dtype = size_arg(fn, size), dtype_arg(fn, dtype) or float32
    try:
        array = make(shape, dtype)
    except (MemoryError, TypeError, ValueError) as error:
        raise RuntimeError(f"{fn}: cannot make a tensor of size {shape} and dtype {dtype}: "
                           f"{error}") from None
    return _new(array, None, requires_grad)


def tensor(data, dtype=None, device=None, requires_grad=False):
    """A new tensor holding a copy of ``data``."""
    as_cpu(device, "tensor")
    return _new(array_from(unwrap(data), dtype_arg("tensor", dtype), copy=True), None,
                requires_grad)


def as_tensor(data, dtype=None, device=None):
    """``data`` as a tensor, sharing memory when it already is an array of that dtype."""
    as_cpu(device, "as_tensor")
    dtype = dtype_arg("as_tensor", dtype)
    if isinstance(data, Tensor) and (dtype is None or data.dtype == dtype):
        return data
    return Tensor(array_from(unwrap(data), dtype))


def from_numpy(array):
    """A tensor sharing memory with ``array`` (dtype kept)."""
    if not isinstance(array, np.ndarray):
        raise TypeError(f"from_numpy: expected a numpy.ndarray, got {type(array).__name__}")
    return Tensor(array)


def zeros(*size, dtype=None, device=None, requires_grad=False):
    as_cpu(device, "zeros")
    return _allocate("zeros", np.zeros, size, dtype, requires_grad)


def ones(*size, dtype=None, device=None, requires_grad=False):
    as_cpu(device, "ones")
    return _allocate("ones", np.ones, size, dtype, requires_grad)


def empty(*size, dtype=None, device=None, requires_grad=False):
    as_cpu(device, "empty")
    return _allocate("empty", np.zeros, size, dtype, requires_grad)


def full(size, fill_value, dtype=None, device=None, requires_grad=False):
    as_cpu(device, "full")
    if dtype is None:
        dtype = tensor_arg("full", "fill_value", fill_value).dtype
    return _allocate("full", lambda shape, dtype: np.full(shape, fill_value, dtype),
                     (size,), dtype, requires_grad)


def arange(start, end=None, step=1, dtype=None, device=None, requires_grad=False):
    """Evenly spaced values in [start, end); int64 for integer arguments, else float32."""
    as_cpu(device, "arange")
    if end is None:
        start, end = 0, start
    start, end, step = (v.item() if isinstance(v, Tensor) and v.numel() == 1 else v
                        for v in (start, end, step))
    for name, value in (("start", start), ("end", end), ("step", step)):
        if isinstance(value, bool) or not isinstance(value, (int, float, np.number)):
            raise TypeError(f"arange: {name} must be a number, got "
                            f"{type(value).__name__} {value!r}")
        if not math.isfinite(value) or abs(value) > INT64_MAX:
            raise ValueError(f"arange: {name} must be finite and within int64, got {value}")
    if step == 0 or (end - start) * step < 0:
        raise ValueError(f"arange: step {step} must be nonzero and lead from start {start} "
                         f"to end {end}")
    count = math.ceil((end - start) / step)
    array = _allocate("arange", lambda shape, _: np.arange(start, end, step), (count,),
                      None, False).data
    if dtype is None and array.dtype.kind == "f":
        dtype = float32
    return _new(array, dtype_arg("arange", dtype), requires_grad)


def linspace(start, end, steps, dtype=None, device=None, requires_grad=False):
    as_cpu(device, "linspace")
    steps = int_arg("linspace", "steps", steps, 0)
    return _allocate("linspace", lambda shape, dtype: np.linspace(start, end, steps, dtype=dtype),
                     (steps,), dtype, requires_grad)


def eye(n, m=None, dtype=None, device=None, requires_grad=False):
    as_cpu(device, "eye")
    n = int_arg("eye", "n", n, 0)
    m = n if m is None else int_arg("eye", "m", m, 0)
    return _allocate("eye", lambda shape, dtype: np.eye(*shape, dtype=dtype), (n, m), dtype,
                     requires_grad)


def rand(*size, dtype=None, device=None, requires_grad=False, generator=None):
    """Uniform samples on [0, 1) from gradlite's global generator."""
    as_cpu(device, "rand")
    rng = generator or default_generator()
    return _allocate("rand", lambda shape, dtype: rng.random(shape, dtype=dtype), size, dtype,
                     requires_grad)


def randn(*size, dtype=None, device=None, requires_grad=False, generator=None):
    """Standard normal samples from gradlite's global generator."""
    as_cpu(device, "randn")
    rng = generator or default_generator()
    return _allocate("randn", lambda shape, dtype: rng.standard_normal(shape, dtype=dtype), size,
                     dtype, requires_grad)


def randint(low, high=None, size=(), dtype=None, device=None, generator=None):
    """Integers drawn uniformly from [low, high)."""
    as_cpu(device, "randint")
    if high is None:
        low, high = 0, low
    low, high = int_arg("randint", "low", low), int_arg("randint", "high", high)
    if low >= high:
        raise ValueError(f"randint: low ({low}) must be less than high ({high})")
    rng = generator or default_generator()
    return _allocate("randint", lambda shape, dtype: rng.integers(low, high, shape).astype(dtype),
                     (size,), dtype or int64, False)


def _check_tensor(fn, input):
    if not isinstance(input, Tensor):
        raise TypeError(f"{fn}: input must be a Tensor, got {type(input).__name__}")
    return input


def _like(factory):
    name = factory.__name__ + "_like"

    def like(input, dtype=None, device=None, requires_grad=False):
        _check_tensor(name, input)
        dtype = dtype_arg(name, dtype) or input.dtype
        return factory(*input.shape, dtype=dtype, device=device, requires_grad=requires_grad)
    like.__name__ = name
    like.__doc__ = f"``{factory.__name__}`` with the shape (and dtype) of ``input``."
    return like


zeros_like, ones_like, empty_like, rand_like, randn_like = map(_like, (zeros, ones, empty, rand, randn))


def full_like(input, fill_value, dtype=None, device=None, requires_grad=False):
    _check_tensor("full_like", input)
    dtype = dtype_arg("full_like", dtype) or input.dtype
    return full(input.shape, fill_value, dtype=dtype, device=device, requires_grad=requires_grad)
