"""Creation functions: new tensors from data (``tensor``, ``as_tensor``,
``from_numpy``), filled (``zeros``, ``ones``, ``full``, ``arange``, ``eye``, ...)
or random (``rand``, ``randn``, ``randint`` from gradlite's generator), and their
``*_like`` forms. dtypes follow :mod:`gradlite.dtypes`."""
import numpy as np

from ._args import shape_arg
from .devices import as_cpu
from .dtypes import array_from, float32, int64
from .random import default_generator
from .tensor import Tensor, unwrap


def _new(array, dtype, requires_grad):
    if dtype is not None:
        array = array.astype(dtype, copy=False)
    t = Tensor(array)
    t.requires_grad = requires_grad
    return t


def tensor(data, dtype=None, device=None, requires_grad=False):
    """A new tensor holding a copy of ``data``."""
    as_cpu(device, "tensor")
    return _new(array_from(unwrap(data), dtype, copy=True), None, requires_grad)


def as_tensor(data, dtype=None, device=None):
    """``data`` as a tensor, sharing memory when it already is an array of that dtype."""
    as_cpu(device, "as_tensor")
    if isinstance(data, Tensor) and (dtype is None or data.dtype == np.dtype(dtype)):
        return data
    return Tensor(array_from(unwrap(data), dtype))


def from_numpy(array):
    """A tensor sharing memory with ``array`` (dtype kept)."""
    if not isinstance(array, np.ndarray):
        raise TypeError(f"from_numpy: expected a numpy.ndarray, got {type(array).__name__}")
    return Tensor(array)


def zeros(*size, dtype=None, device=None, requires_grad=False):
    as_cpu(device, "zeros")
    return _new(np.zeros(shape_arg(size), dtype or float32), None, requires_grad)


def ones(*size, dtype=None, device=None, requires_grad=False):
    as_cpu(device, "ones")
    return _new(np.ones(shape_arg(size), dtype or float32), None, requires_grad)


def empty(*size, dtype=None, device=None, requires_grad=False):
    return zeros(*size, dtype=dtype, device=device, requires_grad=requires_grad)


def full(size, fill_value, dtype=None, device=None, requires_grad=False):
    as_cpu(device, "full")
    if dtype is None:
        dtype = array_from(unwrap(fill_value)).dtype
    return _new(np.full(shape_arg((size,)), fill_value, dtype), None, requires_grad)


def arange(start, end=None, step=1, dtype=None, device=None, requires_grad=False):
    """Evenly spaced values in [start, end); int64 for integer arguments, else float32."""
    as_cpu(device, "arange")
    if end is None:
        start, end = 0, start
    array = np.arange(start, end, step)
    if dtype is None and array.dtype.kind == "f":
        dtype = float32
    return _new(array, dtype, requires_grad)


def linspace(start, end, steps, dtype=None, device=None, requires_grad=False):
    as_cpu(device, "linspace")
    return _new(np.linspace(start, end, steps), dtype or float32, requires_grad)


def eye(n, m=None, dtype=None, device=None, requires_grad=False):
    as_cpu(device, "eye")
    return _new(np.eye(n, m, dtype=dtype or float32), None, requires_grad)


def rand(*size, dtype=None, device=None, requires_grad=False, generator=None):
    """Uniform samples on [0, 1) from gradlite's global generator."""
    as_cpu(device, "rand")
    rng = generator or default_generator()
    return _new(rng.random(shape_arg(size), dtype=np.dtype(dtype or float32)), None, requires_grad)


def randn(*size, dtype=None, device=None, requires_grad=False, generator=None):
    """Standard normal samples from gradlite's global generator."""
    as_cpu(device, "randn")
    rng = generator or default_generator()
    return _new(rng.standard_normal(shape_arg(size), dtype=np.dtype(dtype or float32)), None,
                requires_grad)


def randint(low, high=None, size=(), dtype=None, device=None, generator=None):
    as_cpu(device, "randint")
    if high is None:
        low, high = 0, low
    rng = generator or default_generator()
    return _new(rng.integers(low, high, shape_arg((size,))), dtype or int64, False)


def _like(factory):
    def like(input, dtype=None, device=None, requires_grad=False):
        return factory(*input.shape, dtype=dtype or input.dtype, device=device,
                       requires_grad=requires_grad)
    like.__name__ = factory.__name__ + "_like"
    like.__doc__ = f"``{factory.__name__}`` with the shape (and dtype) of ``input``."
    return like


zeros_like, ones_like, empty_like, rand_like, randn_like = map(_like, (zeros, ones, empty, rand, randn))


def full_like(input, fill_value, dtype=None, device=None, requires_grad=False):
    return full(input.shape, fill_value, dtype=dtype or input.dtype, device=device,
                requires_grad=requires_grad)
