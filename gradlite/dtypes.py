"""dtype policy: which numpy dtype a tensor made from Python data gets.

The rules are PyTorch's: Python floats (and lists of them) become float32, Python
ints int64, bools bool; a numpy array keeps its dtype. Only boolean, integer and
floating point data make tensors.
"""
import numpy as np

float16, float32, float64 = np.dtype(np.float16), np.dtype(np.float32), np.dtype(np.float64)
int32, int64, uint8, bool_ = np.dtype(np.int32), np.dtype(np.int64), np.dtype(np.uint8), np.dtype(bool)


def array_from(data, dtype=None, copy=False):
    """``data`` (an array or Python data, not a Tensor) as an ndarray with PyTorch's
    dtype rules; a copy when ``copy``, else shared with an array of the right dtype."""
    from_numpy = isinstance(data, (np.ndarray, np.generic))
    if not from_numpy:
        inferred = np.asarray(data)      # what numpy infers, before any dtype is forced
        if _beyond_int64(inferred):
            raise ValueError("tensor: Overflow: an integer in the data is outside the range of "
                             "int64 [-2**63, 2**63 - 1]")
        _check_kind(inferred, data)
    array = np.array(data, dtype=dtype, copy=copy) if copy else np.asarray(data, dtype=dtype)
    if dtype is None and not from_numpy:
        if array.dtype.kind == "f":
            array = array.astype(np.float32)
        elif array.dtype.kind in "iu":
            array = array.astype(np.int64)
    _check_kind(array, data)
    return array


def _check_kind(array, data):
    if array.dtype.kind not in "biuf":
        raise TypeError(f"tensor: cannot make a tensor from data of type {array.dtype} "
                        f"(given {type(data).__name__}; e.g. None is not a number)")


def _beyond_int64(array):
    """Python ints that int64 cannot hold: numpy infers uint64 (up to 2**64 - 1) or object."""
    if array.dtype == np.uint64:
        return bool((array > np.iinfo(np.int64).max).any())
    return array.dtype.kind == "O" and any(isinstance(v, int) and not -2 ** 63 <= v < 2 ** 63
                                           for v in array.flat)
