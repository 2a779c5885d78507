"""Interpolation as matrices: resizing along one axis is linear, y = A x.

For an axis of ``in_size`` samples resized to ``out_size``, output sample j reads the
source coordinate src(j), and A's row j holds the weights of the input samples:

    nearest:                     src = floor(j * scale),  A[j, src] = 1
    linear, align_corners=False: src = max((j + 1/2) * scale - 1/2, 0)
    linear, align_corners=True:  src = j * (in_size - 1) / (out_size - 1)
    then A[j, i0] = 1 - t,  A[j, i1] += t   with i0 = floor(src), i1 = min(i0 + 1, in - 1),
    t = src - i0

(``scale`` = in_size / out_size, or 1 / scale_factor when the caller gave one, as in
PyTorch). Bilinear resizing of an image applies one matrix per axis,
Y = A_h X A_w^T, so its gradient is A_h^T G A_w: the matrix products' own.
"""
import numpy as np


def interpolation_matrix(in_size, out_size, mode, align_corners, scale, dtype):
    """The (out_size, in_size) matrix A of the module docstring."""
    j = np.arange(out_size, dtype=np.float64)
    matrix = np.zeros((out_size, in_size), dtype)
    rows = np.arange(out_size)
    if mode == "nearest":
        matrix[rows, np.minimum(np.floor(j * scale).astype(np.int64), in_size - 1)] = 1
        return matrix
    if align_corners:
        src = j * ((in_size - 1) / (out_size - 1) if out_size > 1 else 0.0)
    else:
        src = np.maximum((j + 0.5) * scale - 0.5, 0)
    low = np.minimum(np.floor(src).astype(np.int64), in_size - 1)
    high = np.minimum(low + 1, in_size - 1)
    t = src - low
    np.add.at(matrix, (rows, low), 1 - t)
    np.add.at(matrix, (rows, high), t)
    return matrix
