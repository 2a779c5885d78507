"""Grow-only scratch buffers for the conv kernels, one per slot, dtype and thread.

A fresh ``np.empty`` of several MB costs as much in page faults as the loop that
fills it, so the buffers are kept between calls (each holding the largest array asked
for so far in its slot).
"""
import math
import threading

import numpy as np

_buffers = threading.local()


def scratch(shape, dtype, slot):
    """An uninitialised array of ``shape`` from this thread's buffer ``slot``."""
    size, key = math.prod(shape), (slot, np.dtype(dtype).char)
    buffers = _buffers.__dict__
    buf = buffers.get(key)
    if buf is None or buf.size < size:
        buf = buffers[key] = np.empty(size, dtype=dtype)
    return buf[:size].reshape(shape)
