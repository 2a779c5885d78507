"""Compiled conv2d forward and backward: the twins of ``_reference.conv2d_*``.

Two strategies, both exact re-arrangements of the reference sums:

* **im2col + GEMM** (layers with many channels per group; see _direct). For a chunk
  of images, ``cols`` has shape (C*KH*KW, B*OH*OW): row ``(c, kh, kw)``, column
  ``(n, i, j)`` holds the input pixel that tap reads (0 for padding). Then, per group,
  with W the weight as an (O, C*KH*KW) matrix:

      forward      Y  = W @ cols                      (O, B*OH*OW), then -> NCHW + bias
      grad weight  gW += gY @ cols.T
      grad input   gcols = W.T @ gY, then col2im adds every column back onto its pixel

  The GEMMs are numpy matmuls (OpenBLAS, both cores); Cython fills and empties
  ``cols`` in parallel over (image, channel) planes with the GIL released. Chunks of
  about CHUNK_BYTES bound the memory the columns take.

* **direct** (few channels per group, and any conv with one input channel per group:
  depthwise convs, a 1-channel first layer): no columns at all, each output plane is a
  sum of shifted, scaled input planes, run in register tiles over "wide rows" (see the
  section below); strides above 1 first split the padded input into its stride phases.

Loops run with the GIL released, ``prange`` over planes; the BLAS calls (numpy
matmul) release the GIL themselves and use OpenBLAS's own threads.
"""
import threading

import numpy as np

from cython.parallel cimport parallel, prange
from libc.stdlib cimport calloc, free, malloc
from libc.string cimport memcpy, memset

from ._parallel cimport threads_for
from ._span cimport _span
from ._reference import output_size

ctypedef fused real:
    float
    double

cdef struct Geom:
    # input (N, C, H, W), weight (O, Cg, KH, KW), output (N, O, OH, OW), per-axis S, P, D;
    # the stride phase planes of the padded input: Hq x Wq each (see _pad_plane), Wq =
    # ceil((W + 2pw) / sw) also the length of wide output rows (W + 2pw for unit stride)
    int N, C, H, W, O, Cg, KH, KW, OH, OW, sh, sw, ph, pw, dh, dw, Hq, Wq


cdef Geom _geom(x_shape, w_shape, stride, padding, dilation):
    cdef Geom g
    g.N, g.C, g.H, g.W = x_shape
    g.O, g.Cg, g.KH, g.KW = w_shape
    (g.sh, g.sw), (g.ph, g.pw), (g.dh, g.dw) = stride, padding, dilation
    g.OH = output_size(g.H, g.KH, g.sh, g.ph, g.dh)
    g.OW = output_size(g.W, g.KW, g.sw, g.pw, g.dw)
    g.Hq = (g.H + 2 * g.ph + g.sh - 1) // g.sh
    g.Wq = (g.W + 2 * g.pw + g.sw - 1) // g.sw
    return g


cdef Geom _geom_of(conv):
    """_geom of a (x_shape, w_shape, stride, padding, dilation) tuple."""
    x_shape, w_shape, stride, padding, dilation = conv
    return _geom(x_shape, w_shape, stride, padding, dilation)


cdef tuple _s4(Py_ssize_t* shape):
    return (shape[0], shape[1], shape[2], shape[3])


cdef inline int _phase(Geom g) noexcept nogil:
    """Elements of one stride phase plane: Hq = ceil((H + 2ph) / sh) rows of Wq."""
    return g.Hq * g.Wq


cdef inline void _axpy(real* dst, int dst_stride, const real* src, int src_stride, real alpha,
                       int lo, int hi) noexcept nogil:
    """dst[j * dst_stride] += alpha * src[j * src_stride] for j in [lo, hi).

    Unit strides get their own loop, which the compiler vectorises.
    """
    cdef int j
    if dst_stride == 1 and src_stride == 1:
        for j in range(lo, hi):
            dst[j] += alpha * src[j]
    else:
        for j in range(lo, hi):
            dst[j * dst_stride] += alpha * src[j * src_stride]


# ------------------------------------------------------------------ im2col / col2im

cdef void _im2col_plane(const real* x, real* cols, Py_ssize_t ld, Geom g) noexcept nogil:
    """Fill the KH*KW rows of one input plane x (H, W); cols points at row (c, 0, 0),
    column (n, 0, 0) and ld is the row length N*OH*OW."""
    cdef int kh, kw, i, j, off, lo, hi, ilo, ihi
    cdef real* dst
    cdef real* out
    cdef const real* row
    for kh in range(g.KH):
        _span(kh * g.dh, g.ph, g.sh, g.H, g.OH, &ilo, &ihi)
        for kw in range(g.KW):
            off = kw * g.dw - g.pw
            _span(kw * g.dw, g.pw, g.sw, g.W, g.OW, &lo, &hi)
            dst = cols + (kh * g.KW + kw) * ld
            memset(dst, 0, ilo * g.OW * sizeof(real))
            for i in range(ilo, ihi):
                row = x + (i * g.sh - g.ph + kh * g.dh) * g.W + off
                out = dst + i * g.OW
                for j in range(lo):
                    out[j] = 0
                if g.sw == 1:
                    for j in range(lo, hi):
                        out[j] = row[j]
                else:
                    for j in range(lo, hi):
                        out[j] = row[j * g.sw]
                for j in range(hi, g.OW):
                    out[j] = 0
            memset(dst + ihi * g.OW, 0, (g.OH - ihi) * g.OW * sizeof(real))


cdef void _col2im_plane(const real* cols, real* x, Py_ssize_t ld, Geom g) noexcept nogil:
    """The adjoint of _im2col_plane: add each column entry onto the pixel it was read from."""
    cdef int kh, kw, i, j, off, lo, hi, ilo, ihi
    cdef const real* src
    cdef real* row
    for kh in range(g.KH):
        _span(kh * g.dh, g.ph, g.sh, g.H, g.OH, &ilo, &ihi)
        for kw in range(g.KW):
            off = kw * g.dw - g.pw
            _span(kw * g.dw, g.pw, g.sw, g.W, g.OW, &lo, &hi)
            src = cols + (kh * g.KW + kw) * ld
            for i in range(ilo, ihi):
                row = x + (i * g.sh - g.ph + kh * g.dh) * g.W
                _axpy(row + off, g.sw, src + i * g.OW, 1, 1, lo, hi)


def _im2col(const real[:, :, :, ::1] x, real[:, ::1] cols, stride, padding, dilation, w_shape):
    """cols = im2col of x (cols: (C*KH*KW, N*OH*OW))."""
    cdef Geom g = _geom(_s4(x.shape), w_shape, stride, padding, dilation)
    cdef Py_ssize_t t, n, c, L = g.OH * g.OW, ld = cols.shape[1]
    cdef int nt = threads_for(cols.shape[0] * ld)
    with nogil:
        for t in prange(g.N * g.C, schedule="dynamic", num_threads=nt):
            n, c = t // g.C, t % g.C
            _im2col_plane(&x[n, c, 0, 0], &cols[c * g.KH * g.KW, n * L], ld, g)


def _col2im(const real[:, ::1] cols, real[:, :, :, ::1] x, stride, padding, dilation, w_shape):
    """x += col2im of cols; x must start zeroed."""
    cdef Geom g = _geom(_s4(x.shape), w_shape, stride, padding, dilation)
    cdef Py_ssize_t t, n, c, L = g.OH * g.OW, ld = cols.shape[1]
    cdef int nt = threads_for(cols.shape[0] * ld)
    with nogil:
        for t in prange(g.N * g.C, schedule="dynamic", num_threads=nt):
            n, c = t // g.C, t % g.C
            _col2im_plane(&cols[c * g.KH * g.KW, n * L], &x[n, c, 0, 0], ld, g)


def _rows_to_nchw(const real[:, ::1] ym, real[:, :, :, ::1] y, const real[::1] b):
    """y[n, o, i, j] = ym[o, (n*OH + i)*OW + j] + b[o]  (b may be None)."""
    cdef Py_ssize_t t, n, o, k, N = y.shape[0], O = y.shape[1], L = y.shape[2] * y.shape[3]
    cdef bint has_b = b is not None
    cdef real bias
    cdef real* out
    cdef int nt = threads_for(N * O * L)
    with nogil:
        for t in prange(N * O, schedule="dynamic", num_threads=nt):
            n, o = t // O, t % O
            bias = b[o] if has_b else 0
            out = &y[n, o, 0, 0]
            for k in range(L):
                out[k] = ym[o, n * L + k] + bias


def _nchw_to_rows(const real[:, :, :, ::1] y, real[:, ::1] ym):
    """ym[o, (n*OH + i)*OW + j] = y[n, o, i, j]."""
    cdef Py_ssize_t t, n, o, k, N = y.shape[0], O = y.shape[1], L = y.shape[2] * y.shape[3]
    cdef const real* src
    cdef int nt = threads_for(N * O * L)
    with nogil:
        for t in prange(N * O, schedule="dynamic", num_threads=nt):
            n, o = t // O, t % O
            src = &y[n, o, 0, 0]
            for k in range(L):
                ym[o, n * L + k] = src[k]


cdef enum:
    SUM_LANES = 8


cdef inline double _sum(const real* v, Py_ssize_t n) noexcept nogil:
    """sum(v[:n]) in float64, as SUM_LANES running sums (lane l adds v[l], v[l + 8], ...)
    added up at the end. One running sum waits for each add to finish (~4 cycles); eight
    independent ones are one vector add per 8 values, faster than memory delivers them
    (a conv's bias gradient: 3.5x faster)."""
    cdef double lanes[SUM_LANES]
    cdef double s = 0
    cdef Py_ssize_t k, whole = n - n % SUM_LANES
    cdef int l
    for l in range(SUM_LANES):
        lanes[l] = 0
    for k in range(whole // SUM_LANES):
        for l in range(SUM_LANES):
            lanes[l] += v[k * SUM_LANES + l]
    for k in range(whole, n):
        s += v[k]
    for l in range(SUM_LANES):
        s += lanes[l]
    return s


def _channel_sums(const real[:, :, ::1] y, double[::1] sums):
    """sums[o] = sum_{n, k} y[n, o, k] (the bias gradient)."""
    cdef Py_ssize_t n, o
    cdef double s
    cdef int nt = threads_for(y.shape[0] * y.shape[1] * y.shape[2])
    with nogil:
        for o in prange(y.shape[1], schedule="dynamic", num_threads=nt):
            s = 0
            for n in range(y.shape[0]):
                s = s + _sum(&y[n, o, 0], y.shape[2])
            sums[o] = s


def _bias_grad(gy):
    """gb[o] = sum_{n, i, j} gy[n, o, i, j], summed in float64."""
    N, O = gy.shape[:2]
    sums = np.zeros(O)
    _channel_sums(gy.reshape(N, O, -1), sums)
    return sums.astype(gy.dtype)


# "Wide rows" in register tiles. Pad each input plane into a (Hp, Wp) scratch plane and
# compute output planes Wp columns wide (the last Wp - OW columns of each row are junk,
# dropped at the end). With unit stride, tap (kh, kw) of output position p = i*Wp + j is
# then input position p + tap(kh, kw) of the padded plane, the same shift for every p,
# so a tile of LANES consecutive outputs is a sum of shifted contiguous slices:
#   out[p0 : p0 + LANES] = sum over (input plane c, tap k) of w[o, c, k] * xpad[c][p0 + tap(k) : ...]
# Strides above 1 reduce to this: split the padded plane into its sh*sw stride phases,
# phase (a, b) holding the pixels (u, v) with u % sh = a, v % sw = b at (u // sh, v // sw).
# Output (i, j) reads padded pixel (i*sh + kh*dh, j*sw + kw*dw), which is pixel
# (i + kh*dh // sh, j + kw*dw // sw) of one phase: again a fixed shift of (i, j), in
# rows Wq = ceil(Wp / sw) long. The input gradient runs phase by phase: each phase
# plane of the padded gx takes the taps that read it.
# The tile's sums stay in vector registers for the whole tap list; memory sees one
# store per output instead of a load and a store per tap. Gradients use the same
# shifts: grad input reads widened gy planes at p - tap(k), grad weight sums
# gy_wide * xpad shifted, gy widened with zero columns so the junk adds nothing.

cdef extern from *:
    """
    /* Register tiles of running sums, written with GCC/Clang vector extensions so the
       compiler emits whole vector registers of the width the build targets (W elements:
       AVX-512 zmm, else AVX2 ymm) and keeps the sums in them. gl_tile1 sums LANES
       consecutive outputs of one plane (LANES / W registers: enough independent sums to
       hide the multiply-add latency); gl_tile2 and gl_tile4 sum LANES / 2 outputs of two
       or four planes from the same inputs (each load feeds two or four multiply-adds).
       Left to itself, GCC vectorised the loop over taps instead, with gathers, 10x
       slower. A scalar s becomes a vector as s - {0}: that is s in every lane for every s
       (-0 and NaN included), so it compiles to a plain broadcast, where {0} + s costs an
       add (-0 + 0 is +0). The small fixed loops carry unroll pragmas: GCC otherwise kept
       the sums of gl_corr4 in memory. Other compilers (or -DGL_PLAIN_LOOPS) get plain
       loops computing the same sums. Measured on AVX-512 (32->64 3x3 at batch 64): zmm
       over ymm and 128 over 64 lanes, forward 0.66x and input gradient 0.7x the time. */
    #if defined(__AVX512F__)    /* vector width (elements) and tile length */
    #define GL_W_float 16
    #define GL_W_double 8
    #define GL_LANES 128
    #else
    #define GL_W_float 8
    #define GL_W_double 4
    #define GL_LANES 64
    #endif
    #if defined(__GNUC__) && !defined(GL_PLAIN_LOOPS)
    #define GL_TILES(T, W)                                                              \
    typedef T gl_vec_##T __attribute__((vector_size(W * sizeof(T))));                  \
    static inline void gl_tile1_##T(T *out, const T *src, const int *offsets,           \
                                    const T *weights, int taps, T start) {               \
        gl_vec_##T a[GL_LANES / W], x, w0;                                              \
        for (int v = 0; v < GL_LANES / W; v++) a[v] = start - (gl_vec_##T){0};         \
        for (int t = 0; t < taps; t++) {                                                \
            const T *s = src + offsets[t];                                              \
            w0 = weights[t] - (gl_vec_##T){0};                                          \
            for (int v = 0; v < GL_LANES / W; v++) {                                    \
                __builtin_memcpy(&x, s + v * W, sizeof x);                              \
                a[v] += w0 * x;                                                         \
            }                                                                           \
        }                                                                               \
        __builtin_memcpy(out, a, sizeof a);                                             \
    }                                                                                   \
    static inline void gl_tile2_##T(T *out, Py_ssize_t out_step, const T *src,         \
                                    const int *offsets, const T *weights,               \
                                    Py_ssize_t w_step, int taps, T start0, T start1) {   \
        gl_vec_##T a[GL_LANES / 2 / W], b[GL_LANES / 2 / W], x, w0, w1;                \
        for (int v = 0; v < GL_LANES / 2 / W; v++) {                                    \
            a[v] = start0 - (gl_vec_##T){0};                                            \
            b[v] = start1 - (gl_vec_##T){0};                                            \
        }                                                                               \
        for (int t = 0; t < taps; t++) {                                                \
            const T *s = src + offsets[t];                                              \
            w0 = weights[t] - (gl_vec_##T){0};                                          \
            w1 = weights[w_step + t] - (gl_vec_##T){0};                                 \
            for (int v = 0; v < GL_LANES / 2 / W; v++) {                                \
                __builtin_memcpy(&x, s + v * W, sizeof x);                              \
                a[v] += w0 * x;                                                         \
                b[v] += w1 * x;                                                         \
            }                                                                           \
        }                                                                               \
        __builtin_memcpy(out, a, sizeof a);                                             \
        __builtin_memcpy(out + out_step, b, sizeof b);                                  \
    }                                                                                   \
    static inline void gl_tile4_##T(T *out, Py_ssize_t out_step, const T *src,         \
                                    const int *offsets, const T *weights,               \
                                    Py_ssize_t w_step, int taps, const T *starts) {      \
        gl_vec_##T a[4][GL_LANES / 2 / W], x, wr[4];                                    \
        for (int r = 0; r < 4; r++)                                                     \
            for (int v = 0; v < GL_LANES / 2 / W; v++) a[r][v] = starts[r] - (gl_vec_##T){0}; \
        for (int t = 0; t < taps; t++) {                                                \
            const T *s = src + offsets[t];                                              \
            for (int r = 0; r < 4; r++) wr[r] = weights[r * w_step + t] - (gl_vec_##T){0}; \
            for (int v = 0; v < GL_LANES / 2 / W; v++) {                                \
                __builtin_memcpy(&x, s + v * W, sizeof x);                              \
                for (int r = 0; r < 4; r++) a[r][v] += wr[r] * x;                       \
            }                                                                           \
        }                                                                               \
        for (int r = 0; r < 4; r++) __builtin_memcpy(out + r * out_step, a[r], sizeof a[r]); \
    }
    /* gl_corrR: an R x 4 block of correlations of one image, added to W-lane sums:
       sums[r][t] += gy[r*gy_step + p] * xp[offsets[t] + p] over p < n, W lanes at a time.
       R = 4: 16 running sums, and each load feeds four multiply-adds. */
    #define GL_CORR(T, W, R)                                                            \
    static inline void gl_corr##R##_##T(T *sums, const T *gy, Py_ssize_t gy_step,      \
                                        const T *xp, const int *offsets, Py_ssize_t n) { \
        gl_vec_##T a[R][4], g[R], x, s;                                                 \
        _Pragma("GCC unroll 4")                                                         \
        for (int r = 0; r < R; r++)                                                     \
            for (int t = 0; t < 4; t++) a[r][t] = (gl_vec_##T){0};                      \
        for (Py_ssize_t p = 0; p < n; p += W) {                                         \
            _Pragma("GCC unroll 4")                                                     \
            for (int r = 0; r < R; r++) __builtin_memcpy(&g[r], gy + r * gy_step + p, sizeof x); \
            _Pragma("GCC unroll 4")                                                     \
            for (int t = 0; t < 4; t++) {                                               \
                __builtin_memcpy(&x, xp + offsets[t] + p, sizeof x);                    \
                _Pragma("GCC unroll 4")                                                 \
                for (int r = 0; r < R; r++) a[r][t] += g[r] * x;                        \
            }                                                                           \
        }                                                                               \
        for (int r = 0; r < R; r++)                                                     \
            for (int t = 0; t < 4; t++) {                                               \
                __builtin_memcpy(&s, sums + (r * 4 + t) * W, sizeof s);                 \
                s += a[r][t];                                                           \
                __builtin_memcpy(sums + (r * 4 + t) * W, &s, sizeof s);                 \
            }                                                                           \
    }
    #else
    #define GL_TILES(T, W)                                                              \
    static void gl_tile_lanes_##T(T *out, const T *src, const int *offsets,            \
                                  const T *weights, int taps, T start, int lanes) {     \
        for (int j = 0; j < lanes; j++) out[j] = start;                                 \
        for (int t = 0; t < taps; t++)                                                  \
            for (int j = 0; j < lanes; j++) out[j] += weights[t] * src[offsets[t] + j]; \
    }                                                                                   \
    static void gl_tile1_##T(T *out, const T *src, const int *offsets,                 \
                             const T *weights, int taps, T start) {                     \
        gl_tile_lanes_##T(out, src, offsets, weights, taps, start, GL_LANES);           \
    }                                                                                   \
    static void gl_tile2_##T(T *out, Py_ssize_t out_step, const T *src,                \
                             const int *offsets, const T *weights, Py_ssize_t w_step,   \
                             int taps, T start0, T start1) {                            \
        gl_tile_lanes_##T(out, src, offsets, weights, taps, start0, GL_LANES / 2);      \
        gl_tile_lanes_##T(out + out_step, src, offsets, weights + w_step, taps, start1, \
                          GL_LANES / 2);                                                \
    }                                                                                   \
    static void gl_tile4_##T(T *out, Py_ssize_t out_step, const T *src,                \
                             const int *offsets, const T *weights, Py_ssize_t w_step,   \
                             int taps, const T *starts) {                               \
        for (int r = 0; r < 4; r++)                                                     \
            gl_tile_lanes_##T(out + r * out_step, src, offsets, weights + r * w_step,   \
                              taps, starts[r], GL_LANES / 2);                           \
    }
    #define GL_CORR(T, W, R)                                                            \
    static void gl_corr##R##_##T(T *sums, const T *gy, Py_ssize_t gy_step,             \
                                 const T *xp, const int *offsets, Py_ssize_t n) {       \
        for (Py_ssize_t p = 0; p < n; p++)                                              \
            for (int t = 0; t < 4; t++)                                                 \
                for (int r = 0; r < R; r++)                                             \
                    sums[(r * 4 + t) * W + p % W] += gy[r * gy_step + p] * xp[offsets[t] + p]; \
    }
    #endif
    GL_TILES(float, GL_W_float)
    GL_TILES(double, GL_W_double)
    GL_CORR(float, GL_W_float, 2)
    GL_CORR(float, GL_W_float, 4)
    GL_CORR(double, GL_W_double, 2)
    GL_CORR(double, GL_W_double, 4)
    /* rows (1, 2 or 4) output rows of n (a multiple of GL_LANES), tile after tile. */
    #define GL_ROWS(T)                                                                  \
    static void gl_rows_##T(T *out, Py_ssize_t out_step, const T *src,                 \
                            const int *offsets, const T *weights, Py_ssize_t w_step,    \
                            int taps, Py_ssize_t n, const T *starts, int rows) {        \
        for (Py_ssize_t p = 0; p < n; p += rows == 1 ? GL_LANES : GL_LANES / 2) {      \
            if (rows == 4)                                                              \
                gl_tile4_##T(out + p, out_step, src + p, offsets, weights, w_step,      \
                             taps, starts);                                             \
            else if (rows == 2)                                                         \
                gl_tile2_##T(out + p, out_step, src + p, offsets, weights, w_step,      \
                             taps, starts[0], starts[1]);                               \
            else                                                                        \
                gl_tile1_##T(out + p, src + p, offsets, weights, taps, starts[0]);      \
        }                                                                               \
    }
    GL_ROWS(float)
    GL_ROWS(double)
    """
    enum: LANES "GL_LANES"
    enum: WIDTH_FLOAT "GL_W_float"
    enum: WIDTH_DOUBLE "GL_W_double"
    void gl_rows_float(float*, Py_ssize_t, const float*, const int*, const float*, Py_ssize_t,
                       int, Py_ssize_t, const float*, int) noexcept nogil
    void gl_rows_double(double*, Py_ssize_t, const double*, const int*, const double*,
                        Py_ssize_t, int, Py_ssize_t, const double*, int) noexcept nogil
    void gl_corr2_float(float*, const float*, Py_ssize_t, const float*, const int*,
                        Py_ssize_t) noexcept nogil
    void gl_corr4_float(float*, const float*, Py_ssize_t, const float*, const int*,
                        Py_ssize_t) noexcept nogil
    void gl_corr2_double(double*, const double*, Py_ssize_t, const double*, const int*,
                         Py_ssize_t) noexcept nogil
    void gl_corr4_double(double*, const double*, Py_ssize_t, const double*, const int*,
                         Py_ssize_t) noexcept nogil


cdef inline Py_ssize_t _round_up(Py_ssize_t n, Py_ssize_t multiple=LANES) noexcept nogil:
    return (n + multiple - 1) // multiple * multiple


cdef inline void _tiles(real* out, Py_ssize_t out_step, const real* src, const int* offsets,
                        const real* weights, Py_ssize_t w_step, int taps, Py_ssize_t n,
                        const real* starts, int rows) noexcept nogil:
    """`rows` (1, 2 or 4) output rows from the same shifted inputs, for j < n (a multiple
    of LANES):
        out[r*out_step + j] = starts[r] + sum_t weights[r*w_step + t] * src[offsets[t] + j]
    tile by tile: several rows share their input loads, a single row gets wider tiles."""
    if real is float:
        gl_rows_float(out, out_step, src, offsets, weights, w_step, taps, n, starts, rows)
    else:
        gl_rows_double(out, out_step, src, offsets, weights, w_step, taps, n, starts, rows)


cdef inline int _width(real* dummy) noexcept nogil:
    """Elements per vector register of `real` (the W of the C block above)."""
    return WIDTH_FLOAT if real is float else WIDTH_DOUBLE


cdef inline void _corr(real* sums, const real* gy, Py_ssize_t gy_step, const real* xp,
                       const int* offsets, Py_ssize_t n, int rows) noexcept nogil:
    """An R x 4 block (R = rows, 2 or 4) of correlations of one image, added to W partial
    sums each (W = _width, n a multiple of W; p = lane mod W):
        sums[(r*4 + t)*W + lane] += sum over p < n of gy[r*gy_step + p] * xp[offsets[t] + p]."""
    if real is float:
        if rows == 4:
            gl_corr4_float(sums, gy, gy_step, xp, offsets, n)
        else:
            gl_corr2_float(sums, gy, gy_step, xp, offsets, n)
    else:
        if rows == 4:
            gl_corr4_double(sums, gy, gy_step, xp, offsets, n)
        else:
            gl_corr2_double(sums, gy, gy_step, xp, offsets, n)


cdef inline int _padded(Geom g) noexcept nogil:
    """Elements of one input channel's padded planes: sh*sw phase planes (one plane of
    (H + 2ph) * Wp with unit stride)."""
    return g.sh * g.sw * _phase(g)


cdef inline void _strided(real* dst, int dst_step, const real* src, int src_step,
                          int n) noexcept nogil:
    cdef int k
    for k in range(n):
        dst[k * dst_step] = src[k * src_step]


cdef inline void _copy_every(real* dst, int dst_step, const real* src, int src_step,
                             int n) noexcept nogil:
    """dst[k * dst_step] = src[k * src_step] for k < n, one of the steps being 1: every
    step-th pixel gathered, or scattered back. Steps 1 and 2 get loops with literal steps,
    which the compiler vectorises (a run-time step compiles to gathers)."""
    if dst_step == 1 and src_step == 1:
        memcpy(dst, src, n * sizeof(real))
    elif dst_step == 1 and src_step == 2:
        _strided(dst, 1, src, 2, n)
    elif dst_step == 2 and src_step == 1:
        _strided(dst, 2, src, 1, n)
    else:
        _strided(dst, dst_step, src, src_step, n)


cdef void _pad_plane(const real* x, real* xp, Geom g) noexcept nogil:
    """xp = x with a zero border of (ph, pw), split into its stride phases: padded pixel
    (u, v) goes to phase (u % sh) * sw + v % sw, at (u // sh, v // sw)."""
    cdef int h, a, r, b, w0, q0, count, Wq = g.Wq, P = _phase(g)
    memset(xp, 0, _padded(g) * sizeof(real))
    for b in range(g.sw):                       # the columns w with (w + pw) % sw == b
        w0 = (b - g.pw % g.sw + g.sw) % g.sw
        q0, count = (w0 + g.pw) // g.sw, (g.W - w0 + g.sw - 1) // g.sw
        a, r = g.ph % g.sh, g.ph // g.sh        # padded row h + ph: phase a, row r
        for h in range(g.H):
            _copy_every(xp + (a * g.sw + b) * P + r * Wq + q0, 1, x + h * g.W + w0, g.sw,
                        count)
            a += 1                              # (no division per row: they were most
            if a == g.sh:                       # of this function's time)
                a, r = 0, r + 1


cdef void _unpad_phase(const real* xq, real* x, int phase, Geom g) noexcept nogil:
    """The pixels of x (H, W) in stride phase `phase` = their places in the phase plane xq:
    the adjoint of _pad_plane's copy, one phase at a time (all of x with unit stride)."""
    cdef int h, Wq = g.Wq, a = phase // g.sw, b = phase % g.sw
    cdef int h0 = (a - g.ph % g.sh + g.sh) % g.sh, w0 = (b - g.pw % g.sw + g.sw) % g.sw
    cdef int count = (g.W - w0 + g.sw - 1) // g.sw
    cdef const real* row = xq + (h0 + g.ph) // g.sh * Wq + (w0 + g.pw) // g.sw
    h = h0
    while h < g.H:                      # the rows of this phase, one phase row apart
        _copy_every(x + h * g.W + w0, g.sw, row, 1, count)
        h, row = h + g.sh, row + Wq


cdef void _widen(const real* y, real* wide, Geom g) noexcept nogil:
    """wide (OH, Wp) = y (OH, OW) followed by zero columns."""
    cdef int i, Wp = g.Wq
    memset(wide, 0, g.OH * Wp * sizeof(real))
    for i in range(g.OH):
        memcpy(wide + i * Wp, y + i * g.OW, g.OW * sizeof(real))


cdef inline int _tap(Geom g, int k) noexcept nogil:
    """Offset of tap k = (kh, kw) in one channel's padded planes: its phase plane, then
    its shift in that plane ((kh*dh) * Wp + kw*dw with unit stride)."""
    cdef int a = (k // g.KW) * g.dh, b = (k % g.KW) * g.dw
    return ((a % g.sh) * g.sw + b % g.sw) * _phase(g) + (a // g.sh) * g.Wq + b // g.sw


cdef inline int _shift(Geom g, int k) noexcept nogil:
    """Shift of tap k within its phase plane."""
    return _tap(g, k) % _phase(g)


cdef inline int _phase_of(Geom g, int k) noexcept nogil:
    """Stride phase plane tap k reads."""
    return _tap(g, k) // _phase(g)


cdef inline int _slack(Geom g) noexcept nogil:
    """Zeros after the padded planes: the last tile of the last tap reads this far past."""
    return LANES + (g.KW - 1) * g.dw


cdef int* _tap_list(Geom g, int planes, Py_ssize_t plane_step, Py_ssize_t start,
                    int sign) noexcept nogil:
    """The tap list offsets[p*KH*KW + k] = start + p*plane_step + sign*tap(k) for the
    `planes` planes of a group (free it)."""
    cdef int p, k, kk = g.KH * g.KW
    cdef int* offsets = <int*>malloc(planes * kk * sizeof(int))
    for p in range(planes):
        for k in range(kk):
            offsets[p * kk + k] = start + p * plane_step + sign * _tap(g, k)
    return offsets


cdef inline Py_ssize_t _forward_scratch(Geom g) noexcept nogil:
    """Elements of _wide_forward's scratch: the padded planes and their slack, four wide
    output rows. Zeroed once: the planes are rewritten whole, the slack never."""
    return g.Cg * _padded(g) + _slack(g) + 4 * _round_up(g.OH * g.Wq)


cdef inline int _before(Geom g) noexcept nogil:
    """Zeros before each widened gy plane in _wide_grad_input: the largest tap shift."""
    cdef int k, most = 0
    for k in range(g.KH * g.KW):
        most = max(most, _shift(g, k))
    return most


cdef inline Py_ssize_t _strip(Geom g) noexcept nogil:
    """Length of one widened gy strip in _wide_grad_input: _before zeros, the wide rows
    (OH * Wq), zeros to a whole number of tiles of a phase plane."""
    return _before(g) + _round_up(_phase(g))


cdef inline Py_ssize_t _grad_input_scratch(Geom g, int Og) noexcept nogil:
    """Elements of _wide_grad_input's scratch: Og strips, four phase planes. Zeroed once:
    only each strip's wide rows are rewritten."""
    return Og * _strip(g) + 4 * _round_up(_phase(g))


cdef inline real _bias(const real* b, int o) noexcept nogil:
    return b[o] if b != NULL else 0


cdef inline int _rows_at(int i, int count) noexcept nogil:
    """How many rows a tile computes from row i of count: 4 while 4 are left, then 2, 1."""
    return 4 if count - i >= 4 else (2 if count - i >= 2 else 1)


cdef void _wide_forward(const real* x, real* y, const real* w, const real* b, int Og,
                        const int* offsets, real* scratch, Geom g) noexcept nogil:
    """Output planes y[0..Og) of one group of one image (x its first input plane, w its
    (Og, Cg, KH, KW) weights, b its bias or NULL), four (or two, or one) at a time in
    register tiles over wide rows. offsets is the group's tap list c*P + tap(k);
    scratch as _forward_scratch."""
    cdef int o, r, rows, c, i, taps = g.Cg * g.KH * g.KW, Wp = g.Wq
    cdef Py_ssize_t n = _round_up(g.OH * Wp)
    cdef real* xp = scratch
    cdef real* wide = scratch + g.Cg * _padded(g) + _slack(g)
    cdef real starts[4]
    for c in range(g.Cg):
        _pad_plane(x + c * g.H * g.W, xp + c * _padded(g), g)
    o = 0
    while o < Og:
        rows = _rows_at(o, Og)
        for r in range(rows):
            starts[r] = _bias(b, o + r)
        _tiles(wide, n, xp, offsets, w + o * taps, taps, taps, n, starts, rows)
        for r in range(rows):
            for i in range(g.OH):
                memcpy(y + ((o + r) * g.OH + i) * g.OW, wide + r * n + i * Wp,
                       g.OW * sizeof(real))
        o += rows


cdef void _wide_grad_input(const real* gy, real* gx, const real* wt, int Og,
                           const int* phase_start, const int* offsets, int before,
                           Py_ssize_t strip, real* scratch, Geom g) noexcept nogil:
    """Input planes gx[0..Cg) of one group of one image: the Og gy planes put back at every
    tap, written whole. Per stride phase of the padded input (one phase with unit stride),
    with the taps k that read it (phase_start[f] to phase_start[f+1] in the tap order):
        gxpad_f[c][p] = sum over outputs o and those taps of w[o, c, k] * gy_wide[o][p - shift(k)]
    in register tiles for four (or two, or one) input planes at a time, then the phase's
    pixels go back to gx. Each gy plane is widened into a strip (_strip(g) long, _before(g)
    zeros first); offsets: the tap list o*strip + before - shift(k), phase by phase; wt:
    the group's weights as _phase_weights lays them out; scratch as _grad_input_scratch."""
    cdef int o, c, r, rows, f, count
    cdef Py_ssize_t n = _round_up(_phase(g))
    cdef real* gyw = scratch
    cdef real* gxq = scratch + Og * strip
    cdef real zeros[4]
    zeros[0] = zeros[1] = zeros[2] = zeros[3] = 0
    for o in range(Og):
        _widen(gy + o * g.OH * g.OW, gyw + o * strip + before, g)
    for f in range(g.sh * g.sw):
        count = phase_start[f + 1] - phase_start[f]
        c = 0
        while c < g.Cg:
            rows = _rows_at(c, g.Cg)
            _tiles(gxq, n, gyw, offsets + Og * phase_start[f],
                   wt + g.Cg * Og * phase_start[f] + c * Og * count, Og * count, Og * count,
                   n, zeros, rows)
            for r in range(rows):
                _unpad_phase(gxq + r * n, gx + (c + r) * g.H * g.W, f, g)
            c += rows


cdef void _wide_grad_weight(const real* xp, Py_ssize_t x_step, const real* gyw,
                            Py_ssize_t gy_step, Py_ssize_t n, double* gw, int keep,
                            const int* offsets, real* sums, Geom g) noexcept nogil:
    """The weight gradient of `keep` (1 to 4) outputs of one group, for every tap t = (c, k)
    of the group: from its padded input planes (xp) and the outputs' widened gy planes
    (gyw, n long), image by image (x_step, gy_step apart):
        gw[r, c, k] = sum over images of <gy_wide[r], xpad[c] shifted by tap k>
    The taps go four at a time (offsets: the group's tap list, padded to whole quads by
    repeating the last tap), each block of outputs x 4 taps in vector registers; one
    image's planes stay in cache while every quad of taps reads them. sums: scratch for
    every quad's W-lane partial sums, reduced into gw at the end."""
    cdef int q, r, t, lane, kk = g.KH * g.KW, taps = g.Cg * kk, quads = (taps + 3) // 4
    cdef int rows = 4 if keep > 2 else 2, W = _width(sums), block = rows * 4 * W
    cdef Py_ssize_t i, row_step = n if keep > 1 else 0      # one output: read it twice
    cdef double total
    memset(sums, 0, quads * block * sizeof(real))
    for i in range(g.N):
        for q in range(quads):
            _corr(sums + q * block, gyw + i * gy_step, row_step, xp + i * x_step,
                  offsets + 4 * q, n, rows)
    for q in range(quads):
        for r in range(keep):
            for t in range(min(4, taps - 4 * q)):
                total = 0
                for lane in range(W):
                    total += sums[q * block + (r * 4 + t) * W + lane]
                gw[r * taps + 4 * q + t] += total


def _direct_forward(const real[:, :, :, ::1] x, const real[:, :, :, ::1] w,
                    const real[::1] b, real[:, :, :, ::1] y, stride, padding, dilation):
    """y[n, o] = b[o] + sum over the group's input planes c and taps of w[o, c] * x[n, c]."""
    cdef Geom g = _geom(_s4(x.shape), _s4(w.shape), stride, padding, dilation)
    cdef Py_ssize_t t, n, gi, G = g.C // g.Cg, Og = g.O // G
    cdef const real* bias = &b[0] if b is not None else NULL
    cdef const real* bg
    cdef real* scratch
    cdef int nt = threads_for(g.N * g.O * g.OH * g.OW * g.Cg * g.KH * g.KW)
    cdef int* offsets = _tap_list(g, g.Cg, _padded(g), 0, 1)
    with nogil, parallel(num_threads=nt):
        scratch = <real*>calloc(_forward_scratch(g), sizeof(real))
        for t in prange(g.N * G, schedule="dynamic"):
            n, gi = t // G, t % G
            bg = bias + gi * Og if bias != NULL else NULL
            _wide_forward(&x[n, gi * g.Cg, 0, 0], &y[n, gi * Og, 0, 0], &w[gi * Og, 0, 0, 0],
                          bg, Og, offsets, scratch, g)
        free(scratch)
    free(offsets)


cdef void _sort_taps_by_phase(Geom g, int* taps_by_phase, int* phase_start) noexcept nogil:
    """The taps k in the order of the stride phase they read: phase f's taps are
    taps_by_phase[phase_start[f] : phase_start[f + 1]] (phase_start: sh*sw + 1 zeros on
    entry)."""
    cdef int k, f, i = 0
    for k in range(g.KH * g.KW):
        phase_start[_phase_of(g, k) + 1] += 1
    for f in range(g.sh * g.sw):
        phase_start[f + 1] += phase_start[f]
        for k in range(g.KH * g.KW):
            if _phase_of(g, k) == f:
                taps_by_phase[i] = k
                i += 1


cdef void _phase_weights(Geom g, const real* w, real* wt, const int* taps_by_phase,
                         const int* phase_start) noexcept nogil:
    """The weights in the order the input gradient's tiles read them, laid out once per
    call (gathered image by image instead, the input gradient at 32->64 took ~1.4x as long):
    group by group, phase by phase, wt[c][o][i] = w[o, c, taps_by_phase[phase_start[f] + i]]
    for the group's input planes c and outputs o. The tiles of input planes c..c+3 then
    read one contiguous slice, from wt + Cg*Og*phase_start[f] + c*Og*count."""
    cdef Py_ssize_t gi, at = 0
    cdef int f, c, o, i, kk = g.KH * g.KW, Og = g.O // (g.C // g.Cg)
    cdef const real* wg
    for gi in range(g.C // g.Cg):
        wg = w + gi * Og * g.Cg * kk
        for f in range(g.sh * g.sw):
            for c in range(g.Cg):
                for o in range(Og):
                    for i in range(phase_start[f], phase_start[f + 1]):
                        wt[at] = wg[(o * g.Cg + c) * kk + taps_by_phase[i]]
                        at += 1


def _direct_grad_input(const real[:, :, :, ::1] gy, const real[:, :, :, ::1] w,
                       real[:, :, :, ::1] gx, stride, padding, dilation):
    """gx[n, c] = sum over the outputs o of c's group of w[o, c] * gy[n, o] put back at
    the taps (every plane of gx is written whole)."""
    cdef Geom g = _geom(_s4(gx.shape), _s4(w.shape), stride, padding, dilation)
    cdef Py_ssize_t t, n, gi, G = g.C // g.Cg, Og = g.O // G
    cdef int f, o, i, count, kk = g.KH * g.KW, phases = g.sh * g.sw, before = _before(g)
    cdef Py_ssize_t strip = _strip(g)
    cdef real* scratch
    cdef real* wt = <real*>malloc(g.O * g.Cg * kk * sizeof(real))
    cdef int nt = threads_for(g.N * g.O * g.OH * g.OW * g.Cg * g.KH * g.KW)
    cdef int* taps_by_phase = <int*>malloc(kk * sizeof(int))
    cdef int* phase_start = <int*>calloc(phases + 1, sizeof(int))
    cdef int* offsets = <int*>malloc(Og * kk * sizeof(int))
    _sort_taps_by_phase(g, taps_by_phase, phase_start)
    for f in range(phases):             # each output's tap list, in that order
        count = phase_start[f + 1] - phase_start[f]
        for o in range(Og):
            for i in range(count):
                offsets[Og * phase_start[f] + o * count + i] = \
                    o * strip + before - _shift(g, taps_by_phase[phase_start[f] + i])
    _phase_weights(g, &w[0, 0, 0, 0], wt, taps_by_phase, phase_start)
    with nogil, parallel(num_threads=nt):
        scratch = <real*>calloc(_grad_input_scratch(g, Og), sizeof(real))
        for t in prange(g.N * G, schedule="dynamic"):
            n, gi = t // G, t % G
            _wide_grad_input(&gy[n, gi * Og, 0, 0], &gx[n, gi * g.Cg, 0, 0],
                             &wt[gi * Og * g.Cg * kk], Og, phase_start, offsets, before,
                             strip, scratch, g)
        free(scratch)
    free(taps_by_phase)
    free(phase_start)
    free(offsets)
    free(wt)


def _pad_all(const real[:, :, :, ::1] x, real[:, ::1] xp, conv):
    """xp[n, c*P : (c+1)*P] = plane (n, c) zero-padded, and zeros after the last plane."""
    cdef Geom g = _geom_of(conv)
    cdef Py_ssize_t t
    cdef int nt = threads_for(xp.shape[0] * xp.shape[1])
    with nogil:
        for t in prange(g.N * g.C, schedule="static", num_threads=nt):
            _pad_plane(&x[t // g.C, t % g.C, 0, 0], &xp[t // g.C, (t % g.C) * _padded(g)], g)
            if t % g.C == g.C - 1:
                memset(&xp[t // g.C, g.C * _padded(g)], 0, _slack(g) * sizeof(real))


def _widen_all(const real[:, :, :, ::1] gy, real[:, :, ::1] gyw, conv):
    """gyw[n, o] = plane (n, o) widened with zero columns, then zeros to the row's end."""
    cdef Geom g = _geom_of(conv)
    cdef Py_ssize_t t
    cdef int nt = threads_for(gyw.shape[0] * gyw.shape[1] * gyw.shape[2])
    with nogil:
        for t in prange(g.N * g.O, schedule="static", num_threads=nt):
            _widen(&gy[t // g.O, t % g.O, 0, 0], &gyw[t // g.O, t % g.O, 0], g)
            memset(&gyw[t // g.O, t % g.O, g.OH * g.Wq], 0,
                   (gyw.shape[2] - g.OH * g.Wq) * sizeof(real))


def _output_blocks(int O, int Og):
    """(first output, outputs) of the blocks _wide_grad_weight computes: each group's
    outputs four at a time, then two, then one (as int arrays)."""
    cdef int o, count
    firsts, counts = [], []
    for group_start in range(0, O, Og):
        o = 0
        while o < Og:
            count = _rows_at(o, Og)
            firsts.append(group_start + o)
            counts.append(count)
            o += count
    return np.array(firsts, dtype=np.intc), np.array(counts, dtype=np.intc)


def _wide_grad_weight_all(const real[:, ::1] xp, const real[:, :, ::1] gyw,
                          double[:, :, :, ::1] gw, conv):
    """gw for every output from the padded inputs and widened gys, one task per block of
    a group's outputs (see _wide_grad_weight)."""
    cdef Geom g = _geom_of(conv)
    cdef int b, nt, kk = g.KH * g.KW, taps = g.Cg * kk, quads = (taps + 3) // 4
    cdef int Og = g.O // (g.C // g.Cg), W = _width(&gyw[0, 0, 0])
    cdef int[::1] firsts, counts
    firsts, counts = _output_blocks(g.O, Og)
    cdef int* offsets = <int*>malloc(quads * 4 * sizeof(int))
    cdef real* sums
    for b in range(quads * 4):
        offsets[b] = (min(b, taps - 1) // kk) * _padded(g) + _tap(g, min(b, taps - 1) % kk)
    nt = threads_for(g.N * g.O * gyw.shape[2] * taps)
    with nogil, parallel(num_threads=nt):
        sums = <real*>malloc(quads * 4 * 4 * W * sizeof(real))
        for b in prange(firsts.shape[0], schedule="dynamic"):
            _wide_grad_weight(&xp[0, (firsts[b] // Og) * g.Cg * _padded(g)], xp.shape[1],
                              &gyw[0, firsts[b], 0], g.O * gyw.shape[2], gyw.shape[2],
                              &gw[firsts[b], 0, 0, 0], counts[b], offsets, sums, g)
        free(sums)
    free(offsets)


def _direct_grad_weight(x, gy, gw, stride, padding, dilation):
    """gw[o, c, kh, kw] = sum_n <gy[n, o], input plane c of o's group read at tap (kh, kw)>."""
    conv = (x.shape, gw.shape, stride, padding, dilation)
    cdef Geom g = _geom_of(conv)
    width = WIDTH_FLOAT if x.dtype == np.float32 else WIDTH_DOUBLE
    xp = _scratch((g.N, g.C * _padded(g) + _slack(g)), x.dtype, "cols")
    gyw = _scratch((g.N, g.O, _round_up(g.OH * g.Wq, width)), x.dtype, "rows")
    _pad_all(x, xp, conv)
    _widen_all(gy, gyw, conv)
    _wide_grad_weight_all(xp, gyw, gw, conv)


# ---------------------------------------------------------------------- public API

_workspace = threading.local()

# im2col + GEMM runs over chunks of images whose ``cols`` take about this many bytes:
# the whole batch's cols can take hundreds of MB (42 MB for the 32->64 3x3 conv at
# batch 64, kept as scratch), while small chunks make many small GEMMs whose OpenBLAS
# per-call costs add up (that conv's backward, measured: 1 MB chunks 65 ms, 16 MB
# 53 ms, the whole batch at once 50 ms).
CHUNK_BYTES = 1 << 24


def _scratch(shape, dtype, slot):
    """An uninitialised array from this thread's grow-only scratch buffer ``slot``.

    A fresh ``np.empty`` of several MB costs as much in page faults as the loop
    that fills it, so the buffers are kept between calls (one per slot, dtype and
    thread, holding the largest array asked for so far).
    """
    size, key = int(np.prod(shape)), f"{slot}_{np.dtype(dtype).name}"
    buf = getattr(_workspace, key, None)
    if buf is None or buf.size < size:
        buf = np.empty(size, dtype=dtype)
        setattr(_workspace, key, buf)
    return buf[:size].reshape(shape)


cdef class _Chunks:
    """The image ranges of one conv's chunked im2col + GEMM, and its scratch buffers:
    ``cols`` (C*KH*KW, B*L) and ``rows`` (O, B*L) for B images, L = OH * OW."""
    cdef readonly int B, N, L, G, K
    cdef readonly object cols, rows

    def __init__(self, x, w, stride, padding, dilation, groups):
        cdef Geom g = _geom(x.shape, w.shape, stride, padding, dilation)
        self.N, self.L = g.N, g.OH * g.OW
        self.G, self.K = groups, g.Cg * g.KH * g.KW
        self.B = max(1, min(g.N, CHUNK_BYTES // (g.C * g.KH * g.KW * self.L * x.itemsize)))
        self.cols = _scratch((g.C * g.KH * g.KW * self.B * self.L,), x.dtype, "cols")
        self.rows = _scratch((g.O * self.B * self.L,), x.dtype, "rows")

    def __iter__(self):
        """(n0, n1, cols, rows): an image range and contiguous scratch matrices for it."""
        for n0 in range(0, self.N, self.B):
            n1 = min(n0 + self.B, self.N)
            width = (n1 - n0) * self.L
            yield (n0, n1, self.cols[:self.cols.size // self.B * (n1 - n0)].reshape(-1, width),
                   self.rows[:self.rows.size // self.B * (n1 - n0)].reshape(-1, width))

    def grouped(self, m):
        """An (R, cols) matrix as the (G, R/G, cols) stack of its groups."""
        return m.reshape(self.G, m.shape[0] // self.G, m.shape[1])


# The most (input, output) channel pairs per group for which _direct picks the direct
# kernels over im2col + GEMM. Measured at 3x3 (batch 8-64, 2 cores, AVX-512). Forward:
# direct 3x faster for 3->16 stride 2, 1.7x for 64->128 (8192 pairs), GEMM 1.1x faster
# for 128->256. Backward: direct 0.5-0.8x the GEMM path's time for 32->64 and 64->64
# (2048 and 4096 pairs), GEMM faster for 64->128 (0.8x), 128->256 and even 128->128.
DIRECT_FORWARD_PAIRS = 16384
DIRECT_BACKWARD_PAIRS = 4096


cdef enum Part:
    FORWARD, GRAD_INPUT, GRAD_WEIGHT


cdef bint _direct(Geom g, Part part) noexcept:
    """Whether the direct kernels beat im2col + GEMM for this part of the conv. Always
    when a group has one input channel (a GEMM with K = KH*KW is all overhead). Otherwise
    while a group has few enough (input, output) channel pairs: past that the GEMMs
    (M = outputs, K = inputs x taps) are large enough for BLAS to run near its peak, and
    the direct kernels' tap lists outgrow the cache."""
    cdef int pairs = g.Cg * (g.O // (g.C // g.Cg))
    if g.Cg == 1:
        return True
    return pairs <= (DIRECT_FORWARD_PAIRS if part == FORWARD else DIRECT_BACKWARD_PAIRS)


def conv2d_forward(x, w, b, stride, padding, dilation, groups):
    """y = conv2d(x, w) + b, shape (N, O, OH, OW); see _reference.conv2d_forward for the sum."""
    x = np.ascontiguousarray(x)
    w = np.ascontiguousarray(w, dtype=x.dtype)
    b = None if b is None else np.ascontiguousarray(b, dtype=x.dtype)
    cdef Geom g = _geom(x.shape, w.shape, stride, padding, dilation)
    y = np.empty((g.N, g.O, g.OH, g.OW), dtype=x.dtype)
    if _direct(g, FORWARD):
        _direct_forward(x, w, b, y, stride, padding, dilation)
        return y
    chunks = _Chunks(x, w, stride, padding, dilation, groups)
    wg = w.reshape(groups, g.O // groups, -1)
    for n0, n1, cols, rows in chunks:
        _im2col(x[n0:n1], cols, stride, padding, dilation, w.shape)
        np.matmul(wg, chunks.grouped(cols), out=chunks.grouped(rows))
        _rows_to_nchw(rows, y[n0:n1], b)
    return y


def conv2d_backward(x, w, grad_y, stride, padding, dilation, groups, needs=(True, True, True)):
    """(gx, gw, gb) of sum(grad_y * conv2d_forward(...)); None where ``needs`` is False."""
    x = np.ascontiguousarray(x)
    w = np.ascontiguousarray(w, dtype=x.dtype)
    gy = np.ascontiguousarray(grad_y, dtype=x.dtype)
    cdef Geom g = _geom(x.shape, w.shape, stride, padding, dilation)
    gx = gw = None
    gb = _bias_grad(gy) if needs[2] else None
    if needs[0] and _direct(g, GRAD_INPUT):
        gx = np.empty_like(x)
        _direct_grad_input(gy, w, gx, stride, padding, dilation)
    if needs[1] and _direct(g, GRAD_WEIGHT):
        gw64 = np.zeros(w.shape)
        _direct_grad_weight(x, gy, gw64, stride, padding, dilation)
        gw = gw64.astype(x.dtype)
    gemm_gx, gemm_gw = needs[0] and gx is None, needs[1] and gw is None
    if gemm_gx or gemm_gw:
        gemm = _gemm_backward(x, w, gy, stride, padding, dilation, groups, gemm_gx, gemm_gw)
        gx, gw = gemm[0] if gemm_gx else gx, gemm[1] if gemm_gw else gw
    return gx, gw, gb


def _gemm_backward(x, w, gy, stride, padding, dilation, groups, bint grad_input,
                   bint grad_weight):
    """(gx, gw) by im2col + GEMM, None where not asked for (see the module docstring)."""
    O = gy.shape[1]
    gx = gw = None
    chunks = _Chunks(x, w, stride, padding, dilation, groups)
    if grad_input:
        gx = np.zeros_like(x)
        wt = w.reshape(groups, O // groups, -1).transpose(0, 2, 1)
    if grad_weight:
        gw = np.zeros(w.shape, dtype=x.dtype)   # summed through a grouped view of it
        gw_groups = gw.reshape(groups, O // groups, chunks.K)
        gw_part = np.empty_like(gw_groups)
    for n0, n1, cols, rows in chunks:
        _nchw_to_rows(gy[n0:n1], rows)
        if grad_weight:
            _im2col(x[n0:n1], cols, stride, padding, dilation, w.shape)
            gw_groups += np.matmul(chunks.grouped(rows), chunks.grouped(cols).transpose(0, 2, 1),
                                   out=gw_part)
        if grad_input:
            np.matmul(wt, chunks.grouped(rows), out=chunks.grouped(cols))
            _col2im(cols, gx[n0:n1], stride, padding, dilation, w.shape)
    return gx, gw
