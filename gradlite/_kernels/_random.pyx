"""Dropout's mask, filled by the cores (``fill_dropout_mask``).

The specification is ``gradlite.random.dropout_mask_array``'s numpy branch: element i of
the mask is 1 / (1 - p) or 0 by the i-th 32-bit number of a counter-based generator
(SplitMix64 of seed + i * golden-ratio increment, each 64-bit output giving two 32-bit
numbers). A counter-based generator needs no state between elements, so any thread can
fill any part of the mask and the result does not depend on the thread count.
"""
from cython.parallel cimport prange
from libc.stdint cimport uint32_t, uint64_t

from ._parallel cimport threads_for

ctypedef fused real:
    float
    double

cdef enum:
    PAIRS_PER_CHUNK = 4096


cdef inline uint64_t splitmix64(uint64_t counter) noexcept nogil:
    """The SplitMix64 output for one counter value (the 64-bit finaliser of Steele,
    Lea and Flood's SplitMix generator)."""
    cdef uint64_t z = counter * <uint64_t> 0x9E3779B97F4A7C15ULL
    z = (z ^ (z >> 30)) * <uint64_t> 0xBF58476D1CE4E5B9ULL
    z = (z ^ (z >> 27)) * <uint64_t> 0x94D049BB133111EBULL
    return z ^ (z >> 31)


def fill_dropout_mask(real[::1] out, uint64_t threshold, real scale, uint64_t seed):
    """out[i] = scale where the i-th 32-bit number is >= threshold, else 0: number 2k is
    the high half of splitmix64(seed + k + 1), number 2k + 1 its low half."""
    cdef Py_ssize_t n = out.shape[0], pairs = (n + 1) // 2
    cdef Py_ssize_t chunk, k, last, chunks = (pairs + PAIRS_PER_CHUNK - 1) // PAIRS_PER_CHUNK
    cdef uint64_t bits
    cdef int nt = threads_for(n)
    for chunk in prange(chunks, nogil=True, schedule="static", num_threads=nt):
        last = min(pairs, (chunk + 1) * PAIRS_PER_CHUNK)
        for k in range(chunk * PAIRS_PER_CHUNK, last):
            bits = splitmix64(seed + <uint64_t> k + 1)
            out[2 * k] = scale if (bits >> 32) >= threshold else 0
            if 2 * k + 1 < n:
                out[2 * k + 1] = scale if (bits & 0xFFFFFFFFULL) >= threshold else 0
