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
        inferred = _inferred(data)       # what numpy infers, before any dtype is forced
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


def _inferred(data):
    """``np.asarray(data)``; nested lists that are not rectangular are an error that says
    where, in PyTorch's words."""
    try:
        return np.asarray(data)
    except ValueError as error:
        raise ValueError(f"tensor: data is not a rectangular nested sequence of numbers: "
                         f"{_ragged(data) or error}") from None


def _ragged(data, dim=0):
    """Where nested lists ``data`` stop being rectangular, in PyTorch's words (or None)."""
    if not isinstance(data, (list, tuple)) or not data:
        return None
    lengths = [len(item) if isinstance(item, (list, tuple)) else None for item in data]
    for item, length in zip(data, lengths):
        if length != lengths[0]:
            return (f"expected sequence of length {lengths[0]} at dim {dim + 1} (got {length})"
                    if None not in (length, lengths[0]) else
                    f"expected every entry at dim {dim + 1} to be a sequence, or none of them")
    return next((found for found in (_ragged(item, dim + 1) for item in data) if found), None)
