/* Register tiles for the direct convolution kernels (gradlite/_kernels/_direct.pyx).

   A tile is a run of consecutive outputs whose running sums stay in vector registers
   while a whole list of taps is added in: memory sees one store per output instead of
   a load and a store per tap. The two entry points at the end of this file say what
   they compute as plain sums; conv_tiles_impl.h lays those sums out for the vector
   registers (and also writes them as plain loops).

   Instruction sets. On x86-64 the tiles are compiled three times, for SSE2 (every
   x86-64 CPU), AVX2 + FMA and AVX-512F, each copy with its own vector width and tile
   length, and gl_select_tiles() picks at run time the widest copy the CPU supports (as
   numpy and PyTorch do): one build runs on any x86-64 and still uses AVX2 or AVX-512
   where the CPU has them. Other architectures get one copy for the build's target.
   Compilers without GCC/Clang vector extensions (MSVC), or a build with
   -DGL_PLAIN_LOOPS, get only the plain loops.

   ptrdiff_t is Py_ssize_t; offsets are ints (the caller keeps them below INT_MAX). */
#ifndef GRADLITE_CONV_TILES_H
#define GRADLITE_CONV_TILES_H

#include <stddef.h>
#include <string.h>

#if (defined(__GNUC__) || defined(__clang__)) && !defined(GL_PLAIN_LOOPS)
#define GL_VECTOR_EXTENSIONS 1
#if defined(__x86_64__) || defined(__i386__)
#define GL_X86_DISPATCH 1
#endif
#endif

/* ------------------------------------------------------------------ the copies ---- */
/* conv_tiles_impl.h defines one copy of the tiles, gl_rows_<T>_<variant> and
   gl_corr_<T>_<variant> for T = float and double (and the copy's gl_vbytes_<variant>
   and gl_most_rows_<variant>, for GL_USE below), from
     GL_VARIANT  the copy's name: plain, sse2, avx2, avx512, or generic (not x86)
     GL_PLAIN    1: plain loops, 0: vector extensions
     GL_VBYTES   the vector width in bytes (for the plain loops it only fixes the
                 layout of gl_corr's partial sums)
     GL_ROWS     the most rows one tile computes (each input load feeding that many
                 multiply-adds; gl_corr's blocks too): 4 with 32 vector registers, 3
                 with 16
     GL_TARGET   the attribute that compiles the copy for its instruction set
   Tiles are counted in vectors (conv_tiles_impl.h): one row of 8, or 2 or GL_ROWS
   rows of 4 each: 8 to 16 running sums, enough to hide the multiply-add latency, with
   their weights and one input all in registers (4 rows of 4 with 16 registers had to
   keep 5 of the sums on the stack). A float64 tile holds half a float32 one's outputs. */
#define GL_CAT3_(a, b, c) a##_##b##_##c
#define GL_CAT3(a, b, c) GL_CAT3_(a, b, c)
#define GL_NAME(f) GL_CAT3(gl_##f, GL_T, GL_VARIANT)  /* e.g. gl_tile1_float_avx2 */

#define GL_VARIANT plain
#define GL_ROWS 4
#define GL_PLAIN 1
#define GL_VBYTES 32
#define GL_TARGET
#include "conv_tiles_impl.h"
#undef GL_VARIANT
#undef GL_PLAIN
#undef GL_VBYTES
#undef GL_ROWS
#undef GL_TARGET

#if defined(GL_X86_DISPATCH)
#define GL_VARIANT sse2
#define GL_ROWS 3
#define GL_PLAIN 0
#define GL_VBYTES 16
#define GL_TARGET __attribute__((target("sse2")))
#include "conv_tiles_impl.h"
#undef GL_VARIANT
#undef GL_PLAIN
#undef GL_VBYTES
#undef GL_ROWS
#undef GL_TARGET

#define GL_VARIANT avx2
#define GL_ROWS 3
#define GL_PLAIN 0
#define GL_VBYTES 32
#define GL_TARGET __attribute__((target("avx2,fma")))
#include "conv_tiles_impl.h"
#undef GL_VARIANT
#undef GL_PLAIN
#undef GL_VBYTES
#undef GL_ROWS
#undef GL_TARGET

#define GL_VARIANT avx512
#define GL_ROWS 4
#define GL_PLAIN 0
#define GL_VBYTES 64
#define GL_TARGET __attribute__((target("avx512f,avx2,fma")))
#include "conv_tiles_impl.h"
#undef GL_VARIANT
#undef GL_PLAIN
#undef GL_VBYTES
#undef GL_ROWS
#undef GL_TARGET

#elif defined(GL_VECTOR_EXTENSIONS)  /* another architecture: one copy, the build's target */
#define GL_VARIANT generic
#define GL_ROWS 3
#define GL_PLAIN 0
#define GL_VBYTES 32
#define GL_TARGET
#include "conv_tiles_impl.h"
#undef GL_VARIANT
#undef GL_PLAIN
#undef GL_VBYTES
#undef GL_ROWS
#undef GL_TARGET
#endif

/* ----------------------------------------------------------- choosing the copy ---- */

typedef void (*gl_rows_float_fn)(float *, ptrdiff_t, const float *, const int *,
                                 const float *, ptrdiff_t, int, ptrdiff_t, const float *, int);
typedef void (*gl_rows_double_fn)(double *, ptrdiff_t, const double *, const int *,
                                  const double *, ptrdiff_t, int, ptrdiff_t, const double *, int);
typedef void (*gl_corr_float_fn)(float *, const float *, ptrdiff_t, const float *,
                                 const int *, ptrdiff_t, int);
typedef void (*gl_corr_double_fn)(double *, const double *, ptrdiff_t, const double *,
                                  const int *, ptrdiff_t, int);

/* The copy in use: its name, longest tile (a float32 row of 8 vectors: every tile length
   of either type divides it), most rows a tile, vector widths (elements) and functions. */
typedef struct {
    const char *name;
    int lanes, rows, width_float, width_double;
    gl_rows_float_fn rows_float;
    gl_rows_double_fn rows_double;
    gl_corr_float_fn corr_float;
    gl_corr_double_fn corr_double;
} gl_tile_copy;
static gl_tile_copy gl_tiles;

#define GL_USE(variant)                                                                \
    do {                                                                               \
        gl_tiles.name = #variant;                                                      \
        gl_tiles.lanes = 8 * (gl_vbytes_##variant / (int)sizeof(float));               \
        gl_tiles.rows = gl_most_rows_##variant;                                        \
        gl_tiles.width_float = gl_vbytes_##variant / (int)sizeof(float);               \
        gl_tiles.width_double = gl_vbytes_##variant / (int)sizeof(double);             \
        gl_tiles.rows_float = gl_rows_float_##variant;                                 \
        gl_tiles.rows_double = gl_rows_double_##variant;                               \
        gl_tiles.corr_float = gl_corr_float_##variant;                                 \
        gl_tiles.corr_double = gl_corr_double_##variant;                               \
    } while (0)

/* Use the widest copy that both the CPU and `limit` allow ("avx512", "avx2", "sse2" or
   "plain"; anything else, e.g. "": no limit) and return its name. */
static const char *gl_select_tiles(const char *limit) {
    GL_USE(plain);
    if (strcmp(limit, "plain") == 0)
        return gl_tiles.name;
#if defined(GL_X86_DISPATCH)
    int upto_sse2 = strcmp(limit, "sse2") == 0, upto_avx2 = strcmp(limit, "avx2") == 0;
    __builtin_cpu_init();
    if (!upto_sse2 && !upto_avx2 && __builtin_cpu_supports("avx512f"))
        GL_USE(avx512);
    else if (!upto_sse2 && __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
        GL_USE(avx2);
    else
        GL_USE(sse2);
#elif defined(GL_VECTOR_EXTENSIONS)
    GL_USE(generic);
#endif
    return gl_tiles.name;
}

/* ---------------------------------------------------------------- entry points ---- */

/* gl_rows: `rows` (1, 2 or gl_tiles.rows) output rows from the same shifted inputs, for j < n
   (n a multiple of gl_tiles.lanes):
       out[r*out_step + j] = starts[r] + sum over t < taps of weights[r*w_step + t] * src[offsets[t] + j]
   Several rows share their input loads; a single row gets a longer tile. */
static inline void gl_rows_float(float *out, ptrdiff_t out_step, const float *src,
                                 const int *offsets, const float *weights,
                                 ptrdiff_t w_step, int taps, ptrdiff_t n,
                                 const float *starts, int rows) {
    gl_tiles.rows_float(out, out_step, src, offsets, weights, w_step, taps, n, starts, rows);
}
static inline void gl_rows_double(double *out, ptrdiff_t out_step, const double *src,
                                  const int *offsets, const double *weights,
                                  ptrdiff_t w_step, int taps, ptrdiff_t n,
                                  const double *starts, int rows) {
    gl_tiles.rows_double(out, out_step, src, offsets, weights, w_step, taps, n, starts, rows);
}

/* gl_corr: a rows x 4 block (rows = 2 or gl_tiles.rows) of correlations of one image, added into
   W partial sums each (W = the type's gl_tiles.width_*, n a multiple of W):
       sums[(r*4 + t)*W + p % W] += gy[r*gy_step + p] * xp[offsets[t] + p]   for p < n */
static inline void gl_corr_float(float *sums, const float *gy, ptrdiff_t gy_step,
                                 const float *xp, const int *offsets, ptrdiff_t n, int rows) {
    gl_tiles.corr_float(sums, gy, gy_step, xp, offsets, n, rows);
}
static inline void gl_corr_double(double *sums, const double *gy, ptrdiff_t gy_step,
                                  const double *xp, const int *offsets, ptrdiff_t n,
                                  int rows) {
    gl_tiles.corr_double(sums, gy, gy_step, xp, offsets, n, rows);
}

#endif /* GRADLITE_CONV_TILES_H */
