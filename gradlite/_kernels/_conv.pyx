"""Compiled conv2d forward and backward: the twins of ``_reference.conv2d_*``.

Two strategies, both exact re-arrangements of the reference sums:

* **im2col + GEMM** (the general case). ``cols`` has shape (C*KH*KW, N*OH*OW):
  row ``(c, kh, kw)``, column ``(n, i, j)`` holds the input pixel that tap reads
  (0 for padding). Then, per group, with W the weight as an (O, C*KH*KW) matrix:

      forward      Y  = W @ cols                      (O, N*OH*OW), then -> NCHW + bias
      grad weight  gW = gY @ cols.T
      grad input   gcols = W.T @ gY, then col2im adds every column back onto its pixel

  The GEMMs are one numpy matmul each (OpenBLAS, both cores); Cython fills and
  empties ``cols`` in parallel over (image, channel) planes with the GIL released.

  With unit stride and short output rows ``cols`` is built "wide" (see "wide
  rows" below and _wide_cols), shape
  (C*KH*KW, N*OH*Wp) with Wp = W + 2*pw: each image's columns are (i, j) for
  j < Wp rather than j < OW, so a tap's row for one input plane is ONE contiguous
  slice of the padded plane, one memcpy instead of OH short copies. The junk
  columns j >= OW hold neighbouring pixels, or zero where the slice would run past
  the plane (never uninitialised memory: 0 * NaN is NaN). The forward skips them
  and gY is widened with zero columns, so they add nothing to gW or gX.

* **direct** when each group has one input channel (depthwise convs, a 1-channel
  first layer): a GEMM with K = KH*KW would be all overhead, so each output
  plane is a sum of KH*KW shifted, scaled input planes. With unit stride each
  shifted plane is one long contiguous axpy ("wide rows", see below).

Loops run with the GIL released, ``prange`` over planes; the BLAS calls (numpy
matmul) release the GIL themselves and use OpenBLAS's own threads.
"""
import threading

import numpy as np

from cython.parallel cimport prange
from libc.stdlib cimport calloc, free, malloc
from libc.string cimport memcpy, memset

from ._parallel cimport threads_for
from ._reference import output_size

ctypedef fused real:
    float
    double

cdef struct Geom:
    # input (N, C, H, W), weight (O, Cg, KH, KW), output (N, O, OH, OW), per-axis S, P, D
    int N, C, H, W, O, Cg, KH, KW, OH, OW, sh, sw, ph, pw, dh, dw


cdef Geom _geom(x_shape, w_shape, stride, padding, dilation):
    cdef Geom g
    g.N, g.C, g.H, g.W = x_shape
    g.O, g.Cg, g.KH, g.KW = w_shape
    (g.sh, g.sw), (g.ph, g.pw), (g.dh, g.dw) = stride, padding, dilation
    g.OH = output_size(g.H, g.KH, g.sh, g.ph, g.dh)
    g.OW = output_size(g.W, g.KW, g.sw, g.pw, g.dw)
    return g


cdef tuple _s4(Py_ssize_t* shape):
    return (shape[0], shape[1], shape[2], shape[3])


cdef inline int _wide(Geom g) noexcept nogil:
    """Wp = W + 2*pw: the row length of padded planes and of wide output rows."""
    return g.W + 2 * g.pw


cdef inline bint _wide_cols(Geom g) noexcept nogil:
    """Whether ``cols`` is built wide: unit stride and short output rows (OW < 16).

    Wide rows turn OH short copies into one memcpy but add (Wp - OW) / OW to every
    GEMM. Measured at batch 64: OW = 10 (6->16 5x5 on 14x14) the im2col got 4x
    faster for 40% more GEMM columns, a net win; OW = 24 (32->64 3x3 on 26x26),
    whose rows already copy at memory speed, got ~20% slower overall.
    """
    return g.sh == 1 and g.sw == 1 and g.OW < 16


cdef inline int _width(Geom g) noexcept nogil:
    """Columns per output row in ``cols``: Wp for wide rows, else OW."""
    return _wide(g) if _wide_cols(g) else g.OW


cdef inline void _span(int off, int pad, int stride, int size, int out,
                       int* lo, int* hi) noexcept nogil:
    """Output positions o in [lo, hi) whose input o*stride - pad + off lies in [0, size)."""
    cdef int a = pad - off, b = size - 1 + pad - off
    lo[0] = min(out, (a + stride - 1) // stride) if a > 0 else 0
    hi[0] = min(out, b // stride + 1) if b >= 0 else 0
    if hi[0] < lo[0]:
        hi[0] = lo[0]


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


cdef inline real _dot(const real* a, const real* b, int b_stride, int lo, int hi) noexcept nogil:
    """sum_j a[j] * b[j * b_stride] for j in [lo, hi)."""
    cdef int j
    cdef real total = 0
    for j in range(lo, hi):
        total = total + a[j] * b[j * b_stride]
    return total


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


cdef void _im2col_wide_plane(const real* x, real* cols, Py_ssize_t ld, Geom g) noexcept nogil:
    """_im2col_plane for unit stride, wide (OH * Wp columns per image): row (kh, kw) is
    the padded plane from offset _tap(kh, kw) on. The last tap's slice would run
    (KW-1)*dw elements past the plane, so every row copies the span that all taps
    can read and zeroes the junk tail."""
    cdef int k, Wp = _wide(g), span = (g.OH - 1) * Wp + g.OW
    cdef real* xp = NULL
    cdef real* dst
    if g.ph or g.pw:
        xp = <real*>malloc((g.H + 2 * g.ph) * Wp * sizeof(real))
        _pad_plane(x, xp, g)
        x = xp
    for k in range(g.KH * g.KW):
        dst = cols + k * ld
        memcpy(dst, x + _tap(g, k // g.KW, k % g.KW), span * sizeof(real))
        memset(dst + span, 0, (Wp - g.OW) * sizeof(real))
    free(xp)


cdef void _col2im_wide_plane(const real* cols, real* x, Py_ssize_t ld, Geom g) noexcept nogil:
    """The adjoint of _im2col_wide_plane: one axpy per tap into the padded plane, then crop."""
    cdef int k, Wp = _wide(g), span = (g.OH - 1) * Wp + g.OW
    cdef real* xp = x
    if g.ph or g.pw:
        xp = <real*>calloc((g.H + 2 * g.ph) * Wp, sizeof(real))
    for k in range(g.KH * g.KW):
        _axpy(xp + _tap(g, k // g.KW, k % g.KW), 1, cols + k * ld, 1, 1, 0, span)
    if xp != x:
        _crop_plane(xp, x, g)
        free(xp)


cdef inline Py_ssize_t _cols_work(Geom g, Py_ssize_t ld) noexcept nogil:
    """The work (for threads_for) of filling or emptying ``cols``: one unit per entry,
    a quarter for wide rows, which move as whole memcpys and long vectorised axpys.

    Counted in full, LeNet's 6->16 conv at batch 64 (1.3M entries, ~0.6 ms on one
    thread) went to two threads, and its forward took 8 ms instead of 3: the OpenMP
    worker, still spinning after the loop, took a core from the GEMM that follows."""
    cdef Py_ssize_t size = g.C * g.KH * g.KW * ld
    return size // 4 if _wide_cols(g) else size


def _im2col(const real[:, :, :, ::1] x, real[:, ::1] cols, stride, padding, dilation, w_shape):
    """cols = im2col of x, wide if _wide_cols (cols must have the matching width)."""
    cdef Geom g = _geom(_s4(x.shape), w_shape, stride, padding, dilation)
    cdef Py_ssize_t t, n, c, L = g.OH * _width(g), ld = cols.shape[1]
    cdef int nt = threads_for(_cols_work(g, ld))
    with nogil:
        for t in prange(g.N * g.C, schedule="dynamic", num_threads=nt):
            n, c = t // g.C, t % g.C
            if _wide_cols(g):
                _im2col_wide_plane(&x[n, c, 0, 0], &cols[c * g.KH * g.KW, n * L], ld, g)
            else:
                _im2col_plane(&x[n, c, 0, 0], &cols[c * g.KH * g.KW, n * L], ld, g)


def _col2im(const real[:, ::1] cols, real[:, :, :, ::1] x, stride, padding, dilation, w_shape):
    """x += col2im of cols (wide if _wide_cols); x must start zeroed."""
    cdef Geom g = _geom(_s4(x.shape), w_shape, stride, padding, dilation)
    cdef Py_ssize_t t, n, c, L = g.OH * _width(g), ld = cols.shape[1]
    cdef int nt = threads_for(_cols_work(g, ld))
    with nogil:
        for t in prange(g.N * g.C, schedule="dynamic", num_threads=nt):
            n, c = t // g.C, t % g.C
            if _wide_cols(g):
                _col2im_wide_plane(&cols[c * g.KH * g.KW, n * L], &x[n, c, 0, 0], ld, g)
            else:
                _col2im_plane(&cols[c * g.KH * g.KW, n * L], &x[n, c, 0, 0], ld, g)


def _rows_to_nchw(const real[:, ::1] ym, real[:, :, :, ::1] y, const real[::1] b, int width):
    """y[n, o, i, j] = ym[o, (n*OH + i)*width + j] + b[o]  (b may be None; width >= OW
    skips the junk columns of wide rows)."""
    cdef Py_ssize_t t, n, o, i, j, N = y.shape[0], O = y.shape[1], OH = y.shape[2], OW = y.shape[3]
    cdef bint has_b = b is not None
    cdef real bias
    cdef int nt = threads_for(N * O * OH * width)
    with nogil:
        for t in prange(N * O, schedule="dynamic", num_threads=nt):
            n, o = t // O, t % O
            bias = b[o] if has_b else 0
            for i in range(OH):
                for j in range(OW):
                    y[n, o, i, j] = ym[o, (n * OH + i) * width + j] + bias


def _nchw_to_rows(const real[:, :, :, ::1] y, real[:, ::1] ym, double[:, ::1] sums, int width):
    """ym[o, (n*OH + i)*width + j] = y[n, o, i, j] (0 for the junk columns j >= OW),
    and sums[n, o] = sum(y[n, o])."""
    cdef Py_ssize_t t, n, o, i, j, N = y.shape[0], O = y.shape[1], OH = y.shape[2], OW = y.shape[3]
    cdef real s
    cdef real* row
    cdef int nt = threads_for(N * O * OH * width)
    with nogil:
        for t in prange(N * O, schedule="dynamic", num_threads=nt):
            n, o = t // O, t % O
            s = 0
            for i in range(OH):
                row = &ym[o, (n * OH + i) * width]
                for j in range(OW):
                    row[j] = y[n, o, i, j]
                    s = s + y[n, o, i, j]
                for j in range(OW, width):
                    row[j] = 0
            sums[n, o] = s


def _channel_sums(const real[:, :, ::1] y, double[::1] sums):
    """sums[o] = sum_{n, k} y[n, o, k] (the bias gradient)."""
    cdef Py_ssize_t n, o, k
    cdef double s
    cdef int nt = threads_for(y.shape[0] * y.shape[1] * y.shape[2])
    with nogil:
        for o in prange(y.shape[1], schedule="dynamic", num_threads=nt):
            s = 0
            for n in range(y.shape[0]):
                for k in range(y.shape[2]):
                    s = s + y[n, o, k]
            sums[o] = s


# ------------------------------------------------------------ direct (one input channel)
# Each helper handles one (input plane, output plane) pair; `mode` picks the sum:
#   0: out += taps of inp scaled by w      (forward: inp = x, out = y)
#   1: out += w * inp shifted back to taps (grad input: inp = gy, out = gx)
# Pointer out-parameters stay inside these functions: prange bodies only call them.

cdef void _direct_plane(const real* inp, real* out, const real* w, Geom g,
                        int mode) noexcept nogil:
    cdef int kh, kw, i, j, off, lo, hi, ilo, ihi
    cdef Py_ssize_t xr
    cdef real wv
    for kh in range(g.KH):
        _span(kh * g.dh, g.ph, g.sh, g.H, g.OH, &ilo, &ihi)
        for kw in range(g.KW):
            _span(kw * g.dw, g.pw, g.sw, g.W, g.OW, &lo, &hi)
            off, wv = kw * g.dw - g.pw, w[kh * g.KW + kw]
            for i in range(ilo, ihi):
                xr = (i * g.sh - g.ph + kh * g.dh) * g.W + off
                if mode == 0:
                    _axpy(out + i * g.OW, 1, inp + xr, g.sw, wv, lo, hi)
                else:
                    _axpy(out + xr, g.sw, inp + i * g.OW, 1, wv, lo, hi)


cdef void _direct_weight_plane(const real* x, const real* gy, double* gw, Geom g) noexcept nogil:
    """gw[kh, kw] += <gy plane, x plane read at tap (kh, kw)>."""
    cdef int kh, kw, i, j, off, lo, hi, ilo, ihi
    cdef Py_ssize_t xr
    cdef real acc
    for kh in range(g.KH):
        _span(kh * g.dh, g.ph, g.sh, g.H, g.OH, &ilo, &ihi)
        for kw in range(g.KW):
            _span(kw * g.dw, g.pw, g.sw, g.W, g.OW, &lo, &hi)
            off, acc = kw * g.dw - g.pw, 0
            for i in range(ilo, ihi):
                xr = (i * g.sh - g.ph + kh * g.dh) * g.W + off
                acc = acc + _dot(gy + i * g.OW, x + xr, g.sw, lo, hi)
            gw[kh * g.KW + kw] += acc


# Unit stride: the "wide rows" trick. Pad the input plane into a (Hp, Wp) scratch
# plane; an output plane computed Wp columns wide (the last Wp - OW columns are junk)
# is then, for each tap, ONE long axpy over (OH - 1) * Wp + OW contiguous elements:
#   wide[i*Wp + j] += w[kh, kw] * xpad[(i + kh*D)*Wp + j + kw*D]
# instead of OH short ones. Gradients use the same offsets with gy widened by zero
# columns, so the junk positions contribute nothing.

cdef real* _plane_pair(int n1, int n2, real** second) noexcept nogil:
    """One zeroed allocation for two scratch planes of n1 and n2 elements (free the first).

    The second starts 2 KiB (mod 4 KiB) after the first: a loop that loads from one
    plane and stores to the other at nearly the same offset mod 4 KiB would otherwise
    stall on "4K aliasing" (the CPU mistakes the load for a read of the pending store).
    This alone made the depthwise forward 4x faster.
    """
    cdef int period = 4096 // sizeof(real)
    cdef int gap = (period // 2 - n1 % period + period) % period
    cdef real* first = <real*>calloc(n1 + gap + n2, sizeof(real))
    second[0] = first + n1 + gap
    return first


cdef void _pad_plane(const real* x, real* xp, Geom g) noexcept nogil:
    """xp = x with a zero border: (H + 2ph, W + 2pw)."""
    cdef int h, Wp = _wide(g)
    memset(xp, 0, (g.H + 2 * g.ph) * Wp * sizeof(real))
    for h in range(g.H):
        memcpy(xp + (h + g.ph) * Wp + g.pw, x + h * g.W, g.W * sizeof(real))


cdef void _crop_plane(const real* xp, real* x, Geom g) noexcept nogil:
    """x (H, W) = the inside of xp (H + 2ph, W + 2pw): the adjoint of _pad_plane's copy."""
    cdef int h, Wp = _wide(g)
    for h in range(g.H):
        memcpy(x + h * g.W, xp + (h + g.ph) * Wp + g.pw, g.W * sizeof(real))


cdef void _widen(const real* y, real* wide, Geom g) noexcept nogil:
    """wide (OH, Wp) = y (OH, OW) followed by zero columns."""
    cdef int i, Wp = _wide(g)
    memset(wide, 0, g.OH * Wp * sizeof(real))
    for i in range(g.OH):
        memcpy(wide + i * Wp, y + i * g.OW, g.OW * sizeof(real))


cdef inline int _tap(Geom g, int kh, int kw) noexcept nogil:
    return kh * g.dh * _wide(g) + kw * g.dw


cdef void _wide_forward(const real* x, real* y, const real* w, const real* b, int per,
                        Geom g) noexcept nogil:
    """Output planes y[0..per) (bias b[0..per)) of one input plane x."""
    cdef int o, k, i, j, Wp = _wide(g), span = (g.OH - 1) * Wp + g.OW
    cdef real* wide
    cdef real* xp = _plane_pair((g.H + 2 * g.ph) * Wp, g.OH * Wp, &wide)
    cdef real* out
    cdef real bias
    _pad_plane(x, xp, g)
    for o in range(per):
        bias = b[o] if b != NULL else 0
        for k in range(span):
            wide[k] = bias
        for k in range(g.KH * g.KW):
            _axpy(wide, 1, xp + _tap(g, k // g.KW, k % g.KW), 1, w[o * g.KH * g.KW + k], 0, span)
        out = y + o * g.OH * g.OW
        for i in range(g.OH):
            memcpy(out + i * g.OW, wide + i * Wp, g.OW * sizeof(real))
    free(xp)


cdef void _wide_grad_input(const real* gy, real* gx, const real* w, int per, Geom g) noexcept nogil:
    """gx plane += the taps of gy planes gy[0..per) scattered back, cropped to (H, W)."""
    cdef int o, k, Wp = _wide(g), span = (g.OH - 1) * Wp + g.OW
    cdef real* wide
    cdef real* gxp = _plane_pair((g.H + 2 * g.ph) * Wp, g.OH * Wp, &wide)
    for o in range(per):
        _widen(gy + o * g.OH * g.OW, wide, g)
        for k in range(g.KH * g.KW):
            _axpy(gxp + _tap(g, k // g.KW, k % g.KW), 1, wide, 1, w[o * g.KH * g.KW + k], 0, span)
    _crop_plane(gxp, gx, g)
    free(gxp)


cdef void _wide_grad_weight(const real* x, const real* gy, double* gw, Py_ssize_t x_step,
                            Py_ssize_t gy_step, Geom g) noexcept nogil:
    """gw[kh, kw] = sum_n <gy[n], x[n] at the tap> over the N images of one output channel.

    The products are summed elementwise into one row per tap (vectorisable, like the
    axpys), and each row is reduced once at the end.
    """
    cdef int n, k, j, Wp = _wide(g), span = (g.OH - 1) * Wp + g.OW
    cdef real* wide
    cdef real* xp = _plane_pair((g.H + 2 * g.ph) * Wp, g.OH * Wp, &wide)
    cdef real* acc = <real*>calloc(g.KH * g.KW * span, sizeof(real))
    cdef const real* src
    cdef real* row
    for n in range(g.N):
        _pad_plane(x + n * x_step, xp, g)
        _widen(gy + n * gy_step, wide, g)
        for k in range(g.KH * g.KW):
            row, src = acc + k * span, xp + _tap(g, k // g.KW, k % g.KW)
            for j in range(span):
                row[j] += wide[j] * src[j]
    for k in range(g.KH * g.KW):
        for j in range(span):
            gw[k] += acc[k * span + j]
    free(xp)
    free(acc)


def _direct_forward(const real[:, :, :, ::1] x, const real[:, :, :, ::1] w,
                    const real[::1] b, real[:, :, :, ::1] y, stride, padding, dilation):
    """y[n, o] = b[o] + sum_{kh, kw} w[o, 0, kh, kw] * (input plane o // (O/C), at the tap)."""
    cdef Geom g = _geom(_s4(x.shape), _s4(w.shape), stride, padding, dilation)
    cdef Py_ssize_t t, n, c, k, per = g.O // g.C
    cdef const real* bias = &b[0] if b is not None else NULL
    cdef int nt = threads_for(g.N * g.O * g.OH * g.OW * g.KH * g.KW)
    with nogil:
        for t in prange(g.N * g.C, schedule="dynamic", num_threads=nt):
            n, c = t // g.C, t % g.C
            if g.sh == 1 and g.sw == 1:
                _wide_forward(&x[n, c, 0, 0], &y[n, c * per, 0, 0], &w[c * per, 0, 0, 0],
                              bias + c * per if bias != NULL else NULL, per, g)
                continue
            for o in range(c * per, (c + 1) * per):
                for k in range(g.OH * g.OW):
                    (&y[n, o, 0, 0])[k] = bias[o] if bias != NULL else 0
                _direct_plane(&x[n, c, 0, 0], &y[n, o, 0, 0], &w[o, 0, 0, 0], g, 0)


def _direct_grad_input(const real[:, :, :, ::1] gy, const real[:, :, :, ::1] w,
                       real[:, :, :, ::1] gx, stride, padding, dilation):
    """gx[n, c] = sum over outputs o of channel c of w[o] * gy[n, o] put back at the taps."""
    cdef Geom g = _geom(_s4(gx.shape), _s4(w.shape), stride, padding, dilation)
    cdef Py_ssize_t t, n, c, o, per = g.O // g.C
    cdef int nt = threads_for(g.N * g.O * g.OH * g.OW * g.KH * g.KW)
    with nogil:
        for t in prange(g.N * g.C, schedule="dynamic", num_threads=nt):
            n, c = t // g.C, t % g.C
            if g.sh == 1 and g.sw == 1:
                _wide_grad_input(&gy[n, c * per, 0, 0], &gx[n, c, 0, 0], &w[c * per, 0, 0, 0],
                                 per, g)
                continue
            for o in range(c * per, (c + 1) * per):
                _direct_plane(&gy[n, o, 0, 0], &gx[n, c, 0, 0], &w[o, 0, 0, 0], g, 1)


def _direct_grad_weight(const real[:, :, :, ::1] x, const real[:, :, :, ::1] gy,
                        double[:, :, :, ::1] gw, stride, padding, dilation):
    """gw[o, 0, kh, kw] = sum_n <gy[n, o], input plane of o read at tap (kh, kw)>."""
    cdef Geom g = _geom(_s4(x.shape), _s4(gw.shape), stride, padding, dilation)
    cdef Py_ssize_t n, o, per = g.O // g.C
    cdef int nt = threads_for(g.N * g.O * g.OH * g.OW * g.KH * g.KW)
    with nogil:
        for o in prange(g.O, schedule="dynamic", num_threads=nt):
            if g.sh == 1 and g.sw == 1:
                _wide_grad_weight(&x[0, o // per, 0, 0], &gy[0, o, 0, 0], &gw[o, 0, 0, 0],
                                  g.C * g.H * g.W, g.O * g.OH * g.OW, g)
                continue
            for n in range(g.N):
                _direct_weight_plane(&x[n, o // per, 0, 0], &gy[n, o, 0, 0], &gw[o, 0, 0, 0], g)


# ---------------------------------------------------------------------- public API

_workspace = threading.local()


def _scratch(shape, dtype):
    """An uninitialised array from this thread's grow-only scratch buffer.

    A fresh ``np.empty`` of tens of MB costs as much in page faults as the im2col
    that fills it, so the buffer is kept between calls (one per dtype and thread;
    it holds the largest ``cols`` seen so far). Only one scratch array is live at a time.
    """
    size, key = int(np.prod(shape)), np.dtype(dtype).name
    buf = getattr(_workspace, key, None)
    if buf is None or buf.size < size:
        buf = np.empty(size, dtype=dtype)
        setattr(_workspace, key, buf)
    return buf[:size].reshape(shape)


def _cols_buffer(x, w, stride, padding, dilation):
    """im2col of x: (C*KH*KW, N*OH*width) in x's dtype, in the scratch buffer, and width."""
    cdef Geom g = _geom(x.shape, w.shape, stride, padding, dilation)
    cols = _scratch((g.C * g.KH * g.KW, g.N * g.OH * _width(g)), x.dtype)
    _im2col(x, cols, stride, padding, dilation, w.shape)
    return cols, _width(g)


def conv2d_forward(x, w, b, stride, padding, dilation, groups):
    """y = conv2d(x, w) + b, shape (N, O, OH, OW); see _reference.conv2d_forward for the sum."""
    x = np.ascontiguousarray(x)
    w = np.ascontiguousarray(w, dtype=x.dtype)
    b = None if b is None else np.ascontiguousarray(b, dtype=x.dtype)
    cdef Geom g = _geom(x.shape, w.shape, stride, padding, dilation)
    y = np.empty((g.N, g.O, g.OH, g.OW), dtype=x.dtype)
    if g.Cg == 1:
        _direct_forward(x, w, b, y, stride, padding, dilation)
        return y
    cols, width = _cols_buffer(x, w, stride, padding, dilation)
    K = g.Cg * g.KH * g.KW
    ym = np.matmul(w.reshape(groups, g.O // groups, K),
                   cols.reshape(groups, K, -1)).reshape(g.O, -1)
    _rows_to_nchw(ym, y, b, width)
    return y


def conv2d_backward(x, w, grad_y, stride, padding, dilation, groups, needs=(True, True, True)):
    """(gx, gw, gb) of sum(grad_y * conv2d_forward(...)); None where ``needs`` is False."""
    x = np.ascontiguousarray(x)
    w = np.ascontiguousarray(w, dtype=x.dtype)
    gy = np.ascontiguousarray(grad_y, dtype=x.dtype)
    cdef Geom g = _geom(x.shape, w.shape, stride, padding, dilation)
    N, O, OH, OW = gy.shape
    gx = gw = gb = None
    if g.Cg == 1:
        if needs[0]:
            gx = np.zeros_like(x)
            _direct_grad_input(gy, w, gx, stride, padding, dilation)
        if needs[1]:
            gw64 = np.zeros(w.shape)
            _direct_grad_weight(x, gy, gw64, stride, padding, dilation)
            gw = gw64.astype(x.dtype)
        if needs[2]:
            gb = np.zeros(O)
            _channel_sums(gy.reshape(N, O, OH * OW), gb)
            gb = gb.astype(x.dtype)
        return gx, gw, gb
    G, K, width = groups, g.Cg * g.KH * g.KW, _width(g)
    gym = np.empty((O, N * OH * width), dtype=x.dtype)
    sums = np.empty((N, O))
    _nchw_to_rows(gy, gym, sums, width)
    gym = gym.reshape(G, O // G, -1)
    if needs[2]:
        gb = sums.sum(axis=0).astype(x.dtype)
    cols = None
    if needs[1]:
        cols, _ = _cols_buffer(x, w, stride, padding, dilation)
        colsg = cols.reshape(G, K, -1)
        gw = np.matmul(gym, colsg.transpose(0, 2, 1)).reshape(w.shape)
    if needs[0]:
        wt = w.reshape(G, O // G, K).transpose(0, 2, 1)
        if cols is None:
            cols = _scratch((G * K, gym.shape[2]), x.dtype)
        np.matmul(wt, gym, out=cols.reshape(G, K, -1))        # reuse the im2col buffer
        gx = np.zeros_like(x)
        _col2im(cols, gx, stride, padding, dilation, w.shape)
    return gx, gw, gb
