/* One copy of the register tiles (see conv_tiles.h, which includes this file once per
   copy with GL_VARIANT, GL_PLAIN, GL_VBYTES, GL_ROWS and GL_TARGET set). The file
   includes itself twice, to write the functions once for GL_T = float and once for
   GL_T = double. No include guard: that is the point. */
#if !defined(GL_T)
/* The copy's vector width and most rows a tile, for GL_USE (conv_tiles.h). */
static const int GL_CAT3(gl, vbytes, GL_VARIANT) = GL_VBYTES;  /* e.g. gl_vbytes_avx2 */
static const int GL_CAT3(gl_most, rows, GL_VARIANT) = GL_ROWS;
#define GL_T float
#include "conv_tiles_impl.h"
#undef GL_T
#define GL_T double
#include "conv_tiles_impl.h"
#undef GL_T
#else

#define T GL_T
#define W ((int)(GL_VBYTES / sizeof(T)))  /* elements per vector register */

#if !GL_PLAIN
/* GCC/Clang vector extensions: V is W elements of T, one vector register of the copy's
   instruction set; a[v] += w0 * x is one multiply-add over a whole register. Left to
   itself, GCC vectorised the loop over taps instead, with gathers (far slower).
   A scalar s becomes a vector as s - (V){0}: that is s in every lane for every s (-0
   and NaN included), so it compiles to a plain broadcast, where (V){0} + s would cost
   an add (-0 + 0 is +0). Loads and stores go through memcpy: no alignment assumed. */
#define V GL_NAME(vec)
typedef T V __attribute__((vector_size(GL_VBYTES)));
#define LONG_ROW 8   /* vectors in tile1's one row */
#define ROW 4        /* vectors in each row of tile2 and tile_most */

/* out[j] = start + sum over t < taps of weights[t] * src[offsets[t] + j], j < LONG_ROW * W:
   one output row, LONG_ROW running sums. */
GL_TARGET static inline void GL_NAME(tile1)(T *out, const T *src, const int *offsets,
                                            const T *weights, int taps, T start) {
    V a[LONG_ROW], x, w0;
    for (int v = 0; v < LONG_ROW; v++) a[v] = start - (V){0};
    for (int t = 0; t < taps; t++) {
        const T *s = src + offsets[t];
        w0 = weights[t] - (V){0};
        for (int v = 0; v < LONG_ROW; v++) {
            __builtin_memcpy(&x, s + v * W, sizeof x);
            a[v] += w0 * x;
        }
    }
    __builtin_memcpy(out, a, sizeof a);
}

/* tile1 for two rows (weights w_step apart, outputs out_step apart) over ROW * W
   outputs: each load feeds two multiply-adds. */
GL_TARGET static inline void GL_NAME(tile2)(T *out, ptrdiff_t out_step, const T *src,
                                            const int *offsets, const T *weights,
                                            ptrdiff_t w_step, int taps, const T *starts) {
    V a[ROW], b[ROW], x, w0, w1;
    for (int v = 0; v < ROW; v++) {
        a[v] = starts[0] - (V){0};
        b[v] = starts[1] - (V){0};
    }
    for (int t = 0; t < taps; t++) {
        const T *s = src + offsets[t];
        w0 = weights[t] - (V){0};
        w1 = weights[w_step + t] - (V){0};
        for (int v = 0; v < ROW; v++) {
            __builtin_memcpy(&x, s + v * W, sizeof x);
            a[v] += w0 * x;
            b[v] += w1 * x;
        }
    }
    __builtin_memcpy(out, a, sizeof a);
    __builtin_memcpy(out + out_step, b, sizeof b);
}

/* tile2 for GL_ROWS rows: each load feeds GL_ROWS multiply-adds. */
GL_TARGET static inline void GL_NAME(tile_most)(T *out, ptrdiff_t out_step, const T *src,
                                                const int *offsets, const T *weights,
                                                ptrdiff_t w_step, int taps, const T *starts) {
    V a[GL_ROWS][ROW], x, wr[GL_ROWS];
    for (int r = 0; r < GL_ROWS; r++)
        for (int v = 0; v < ROW; v++) a[r][v] = starts[r] - (V){0};
    for (int t = 0; t < taps; t++) {
        const T *s = src + offsets[t];
        for (int r = 0; r < GL_ROWS; r++) wr[r] = weights[r * w_step + t] - (V){0};
        for (int v = 0; v < ROW; v++) {
            __builtin_memcpy(&x, s + v * W, sizeof x);
            for (int r = 0; r < GL_ROWS; r++) a[r][v] += wr[r] * x;
        }
    }
    for (int r = 0; r < GL_ROWS; r++) __builtin_memcpy(out + r * out_step, a[r], sizeof a[r]);
}

/* gl_rows (conv_tiles.h): tile after tile. */
GL_TARGET static void GL_NAME(rows)(T *out, ptrdiff_t out_step, const T *src,
                                    const int *offsets, const T *weights, ptrdiff_t w_step,
                                    int taps, ptrdiff_t n, const T *starts, int rows) {
    ptrdiff_t step = (rows == 1 ? LONG_ROW : ROW) * W;
    for (ptrdiff_t p = 0; p < n; p += step) {
        if (rows == GL_ROWS)
            GL_NAME(tile_most)(out + p, out_step, src + p, offsets, weights, w_step, taps,
                               starts);
        else if (rows == 2)
            GL_NAME(tile2)(out + p, out_step, src + p, offsets, weights, w_step, taps, starts);
        else
            GL_NAME(tile1)(out + p, src + p, offsets, weights, taps, starts[0]);
    }
}

/* gl_corr (conv_tiles.h) for R = 2 or GL_ROWS rows: R x 4 running sums (16 for R = 4,
   each load feeding four multiply-adds), added into `sums` at the end. The small fixed
   loops carry unroll pragmas: GCC otherwise kept the sums in memory. */
GL_TARGET static inline __attribute__((always_inline)) void GL_NAME(corr_block)(
        T *sums, const T *gy, ptrdiff_t gy_step, const T *xp, const int *offsets,
        ptrdiff_t n, const int R) {
    V a[4][4], g[4], x, s;
    _Pragma("GCC unroll 4")
    for (int r = 0; r < R; r++)
        for (int t = 0; t < 4; t++) a[r][t] = (V){0};
    for (ptrdiff_t p = 0; p < n; p += W) {
        _Pragma("GCC unroll 4")
        for (int r = 0; r < R; r++) __builtin_memcpy(&g[r], gy + r * gy_step + p, sizeof x);
        _Pragma("GCC unroll 4")
        for (int t = 0; t < 4; t++) {
            __builtin_memcpy(&x, xp + offsets[t] + p, sizeof x);
            _Pragma("GCC unroll 4")
            for (int r = 0; r < R; r++) a[r][t] += g[r] * x;
        }
    }
    for (int r = 0; r < R; r++)
        for (int t = 0; t < 4; t++) {
            __builtin_memcpy(&s, sums + (r * 4 + t) * W, sizeof s);
            s += a[r][t];
            __builtin_memcpy(sums + (r * 4 + t) * W, &s, sizeof s);
        }
}

GL_TARGET static void GL_NAME(corr)(T *sums, const T *gy, ptrdiff_t gy_step, const T *xp,
                                    const int *offsets, ptrdiff_t n, int rows) {
    if (rows == GL_ROWS)
        GL_NAME(corr_block)(sums, gy, gy_step, xp, offsets, n, GL_ROWS);
    else
        GL_NAME(corr_block)(sums, gy, gy_step, xp, offsets, n, 2);
}
#undef V
#undef LONG_ROW
#undef ROW

#else /* GL_PLAIN: the same sums as plain loops */

static void GL_NAME(rows)(T *out, ptrdiff_t out_step, const T *src, const int *offsets,
                          const T *weights, ptrdiff_t w_step, int taps, ptrdiff_t n,
                          const T *starts, int rows) {
    for (int r = 0; r < rows; r++) {
        T *o = out + r * out_step;
        const T *w = weights + r * w_step;
        for (ptrdiff_t j = 0; j < n; j++) o[j] = starts[r];
        for (int t = 0; t < taps; t++)
            for (ptrdiff_t j = 0; j < n; j++) o[j] += w[t] * src[offsets[t] + j];
    }
}

static void GL_NAME(corr)(T *sums, const T *gy, ptrdiff_t gy_step, const T *xp,
                          const int *offsets, ptrdiff_t n, int rows) {
    for (ptrdiff_t p = 0; p < n; p++)
        for (int t = 0; t < 4; t++)
            for (int r = 0; r < rows; r++)
                sums[(r * 4 + t) * W + p % W] += gy[r * gy_step + p] * xp[offsets[t] + p];
}
#endif

#undef W
#undef T
#endif /* GL_T */
