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
    array = np.array(data, dtype=dtype, copy=copy) if copy else np.asarray(data, dtype=dtype)
    if dtype is None and not from_numpy:
        if array.dtype.kind == "f":
            array = array.astype(np.float32)
        elif array.dtype.kind in "iu":
            array = array.astype(np.int64)
    if array.dtype.kind not in "biuf":
        raise TypeError(f"tensor: cannot make a tensor from data of type {array.dtype} "
                        f"(given {type(data).__name__})")
    return array
