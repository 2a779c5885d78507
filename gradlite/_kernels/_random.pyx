"""Dropout's mask, filled by the cores (``fill_dropout_mask``; the loop itself is in
``dropout_mask.h``).

The specification is ``gradlite.random.dropout_mask_array``'s numpy branch: element i is
1 / (1 - p) or 0 by a hash of i and the mask's seed. Each element depends on i alone, so
any thread can fill any part of the mask and the result does not depend on the thread
count.
"""
from cython.parallel cimport prange
from libc.stdint cimport uint32_t

from ._parallel cimport threads_for

cdef extern from "dropout_mask.h" nogil:
    void gl_fill_dropout_mask_float(float *out, long start, long stop, uint32_t threshold,
                                    float scale, uint32_t seed_lo, uint32_t seed_hi)
    void gl_fill_dropout_mask_double(double *out, long start, long stop, uint32_t threshold,
                                     double scale, uint32_t seed_lo, uint32_t seed_hi)

ctypedef fused real:
    float
    double

cdef enum:
    CHUNK = 1 << 14


def fill_dropout_mask(real[::1] out, uint32_t threshold, real scale, uint32_t seed_lo,
                      uint32_t seed_hi):
    """out[i] = scale where hash(hash(i + seed_lo) ^ seed_hi) >= threshold, else 0."""
    cdef long n = out.shape[0], chunk, chunks = (n + CHUNK - 1) // CHUNK
    cdef int nt = threads_for(n)
    if n == 0:
        return
    for chunk in prange(chunks, nogil=True, schedule="static", num_threads=nt):
        if real is float:
            gl_fill_dropout_mask_float(&out[0], chunk * CHUNK, min(n, (chunk + 1) * CHUNK),
                                       threshold, scale, seed_lo, seed_hi)
        else:
            gl_fill_dropout_mask_double(&out[0], chunk * CHUNK, min(n, (chunk + 1) * CHUNK),
                                        threshold, scale, seed_lo, seed_hi)
