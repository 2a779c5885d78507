/* Dropout's mask, element i from i alone: bits = hash(hash(i + seed_lo) ^ seed_hi), kept
 * (= scale) where bits >= threshold, else 0. hash is a 32-bit integer finaliser (two
 * xor-shift-multiply rounds; constants from Chris Wellons' "lowbias32" search), cheap in
 * vector registers. The specification is gradlite.random.dropout_mask_array's numpy
 * branch, which this matches bit for bit. Compiled for baseline x86-64 and for AVX2
 * (vector 32-bit multiplies), the CPU's copy picked when the module loads. */
#ifndef GRADLITE_DROPOUT_MASK_H
#define GRADLITE_DROPOUT_MASK_H
#include <stdint.h>

#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__linux__)
#define GL_MASK_CLONES __attribute__((target_clones("avx2", "default")))
#else
#define GL_MASK_CLONES
#endif

static inline uint32_t gl_hash32(uint32_t x)
{
    x ^= x >> 16;
    x *= 0x7feb352dU;
    x ^= x >> 15;
    x *= 0x846ca68bU;
    x ^= x >> 16;
    return x;
}

#define GL_FILL_DROPOUT_MASK(NAME, T)                                                      \
GL_MASK_CLONES static void NAME(T *out, long start, long stop, uint32_t threshold,        \
                                T scale, uint32_t seed_lo, uint32_t seed_hi)               \
{                                                                                          \
    for (long i = start; i < stop; i++) {                                                  \
        uint32_t bits = gl_hash32(gl_hash32((uint32_t)i + seed_lo) ^ seed_hi);             \
        out[i] = bits >= threshold ? scale : 0;                                            \
    }                                                                                      \
}

GL_FILL_DROPOUT_MASK(gl_fill_dropout_mask_float, float)
GL_FILL_DROPOUT_MASK(gl_fill_dropout_mask_double, double)
#endif
