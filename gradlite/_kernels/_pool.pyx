"""Compiled max/avg/adaptive-avg pooling: the twins of ``_reference``'s pooling kernels.

Every (image, channel) plane is independent, so each kernel is a ``prange`` over
the N*C planes, with the GIL released, and plain loops over one plane's windows.
The window of output (i, j) covers input rows [i*S - P, i*S - P + K) clipped to
[0, H), and the same for columns.
"""
import numpy as np

from cython.parallel cimport parallel, prange
from libc.stdlib cimport calloc, free, malloc
from libc.string cimport memcpy, memset
from libc.stdint cimport int32_t

from ._parallel cimport threads_for
from ._span cimport _span
from ._reference import adaptive_windows, output_size

ctypedef fused real:
    float
    double


cdef struct Win:
    # plane size, output size, kernel, stride, padding
    int H, W, OH, OW, KH, KW, sh, sw, ph, pw


cdef Win _win(x_shape, out_hw, kernel, stride, padding):
    cdef Win g
    g.H, g.W = x_shape[2:]
    g.OH, g.OW = out_hw
    (g.KH, g.KW), (g.sh, g.sw), (g.ph, g.pw) = kernel, stride, padding
    return g


cdef inline void _clip(int start, int k, int size, int* lo, int* hi) noexcept nogil:
    lo[0] = max(start, 0)
    hi[0] = min(start + k, size)


cdef int* _column_spans(Win g) noexcept nogil:
    """[lo, hi) of _span for every kw, as 2*KW ints (free them): hoisted out of the row
    loops, where their integer divisions cost more than the adds."""
    cdef int kw
    cdef int* spans = <int*>malloc(2 * g.KW * sizeof(int))
    for kw in range(g.KW):
        _span(kw, g.pw, g.sw, g.W, g.OW, &spans[2 * kw], &spans[2 * kw + 1])
    return spans


def _out_hw(x_shape, kernel, stride, padding):
    return tuple(output_size(x_shape[2 + a], kernel[a], stride[a], padding[a]) for a in (0, 1))


# ---------------------------------------------------------------------------- tiled
# When the windows tile the plane (stride = kernel, no padding: the usual 2x2 pooling),
# every pixel is in at most one window, every window is whole, and window (i, j) is the
# kh x kw block at row i*kh, column j*kw. The loops below walk those blocks directly.
# _tiled_plane calls them with literal sizes for 2x2: inlined, their inner loops over
# the block unroll and the avg loops vectorise (4-5x faster than with the sizes as
# variables). GCC leaves the 2x2 max scalar (cmov and maxss), still 3-4x faster than
# the general max sweep.

cdef enum Sweep:
    MAX_FORWARD, AVG_FORWARD, AVG_BACKWARD


cdef inline bint _tiles(Win g) noexcept nogil:
    return g.sh == g.KH and g.sw == g.KW and g.ph == 0 and g.pw == 0


cdef inline void _block_maxima(const real* src, int step, real* y, int32_t* arg,
                               int base, int kh, int kw, int n) noexcept nogil:
    """For the n blocks of kh rows ``step`` apart and kw columns at src[j*kw]: y[j] = the
    block's maximum, arg[j] = base + its offset a*step + j*kw + b, the first maximum in
    row-major order (as PyTorch)."""
    cdef int j, a, b, at, k
    cdef real best
    for j in range(n):
        at = j * kw
        best = src[at]
        for a in range(kh):
            for b in range(kw):
                k = a * step + j * kw + b
                if src[k] > best:
                    best, at = src[k], k
        y[j] = best
        arg[j] = base + at


cdef inline void _tiled_max_forward(const real* src, real* y, int32_t* arg, Win g, int kh,
                                    int kw) noexcept nogil:
    """y[i, j] = max(src[window]), arg[i, j] = its flat index h*W + w."""
    cdef int i
    for i in range(g.OH):
        _block_maxima(src + i * kh * g.W, g.W, y + i * g.OW, arg + i * g.OW, i * kh * g.W,
                      kh, kw, g.OW)


cdef inline void _column_sums(real* dst, const real* src, Py_ssize_t step, int k,
                              int n) noexcept nogil:
    """dst[w] = src[w] + src[step + w] + ... + src[(k-1)*step + w] for w < n (k >= 1):
    the sum of k rows ``step`` apart. Rows are addressed through pointers: with
    h * W + w int offsets, GCC compiled such loops to gathers, 3x slower."""
    cdef int w, r
    cdef real s
    for w in range(n):
        s = src[w]
        for r in range(1, k):
            s = s + src[r * step + w]
        dst[w] = s


cdef inline void _group_sums(real* dst, const real* src, int k, real scale,
                             Py_ssize_t n) noexcept nogil:
    """dst[j] = scale * (src[j*k] + ... + src[j*k + k-1]) for j < n: sums of runs of k."""
    cdef Py_ssize_t j
    cdef int b
    cdef real s
    for j in range(n):
        s = src[j * k]
        for b in range(1, k):
            s = s + src[j * k + b]
        dst[j] = s * scale


cdef inline void _spread(real* dst, Py_ssize_t step, const real* src, int kh, int kw,
                         real scale, int n) noexcept nogil:
    """dst[a*step + j*kw + b] = scale * src[j] for j < n, a < kh, b < kw: each value
    copied over a kh x kw block of rows ``step`` apart (the adjoint of _column_sums
    then _group_sums)."""
    cdef int j, a, b
    cdef real v
    for j in range(n):
        v = src[j] * scale
        for a in range(kh):
            for b in range(kw):
                dst[a * step + j * kw + b] = v


cdef inline void _tiled_avg_forward(const real* src, real* dst, real* rows, Win g, int kh,
                                    int kw) noexcept nogil:
    """dst[i, j] = sum(src[window]) / (kh*kw): the sums of each window's rows, then of runs
    of kw columns. ``rows`` holds the OH window-row sums, OW*kw long each, back to back, so
    that one run of group sums covers the whole plane."""
    cdef int i, wide = g.OW * kw
    for i in range(g.OH):
        _column_sums(rows + i * wide, src + i * kh * g.W, g.W, kh, wide)
    _group_sums(dst, rows, kw, <real>1 / (kh * kw), g.OH * g.OW)


cdef inline void _tiled_avg_backward(const real* src, real* dst, Win g, int kh,
                                     int kw) noexcept nogil:
    """dst[window (i, j)] = src[i, j] / (kh*kw), and 0 where no window reaches (the
    plane is written whole)."""
    cdef int i, h, wide = g.OW * kw
    for i in range(g.OH):
        _spread(dst + i * kh * g.W, g.W, src + i * g.OW, kh, kw, <real>1 / (kh * kw), g.OW)
        if wide < g.W:
            for h in range(i * kh, i * kh + kh):
                memset(dst + h * g.W + wide, 0, (g.W - wide) * sizeof(real))
    memset(dst + g.OH * kh * g.W, 0, (g.H - g.OH * kh) * g.W * sizeof(real))


cdef inline void _tiled_sweep(const real* src, real* dst, int32_t* arg, real* rows, Win g,
                              Sweep sweep, int kh, int kw) noexcept nogil:
    if sweep == MAX_FORWARD:
        _tiled_max_forward(src, dst, arg, g, kh, kw)
    elif sweep == AVG_FORWARD:
        _tiled_avg_forward(src, dst, rows, g, kh, kw)
    else:
        _tiled_avg_backward(src, dst, g, kh, kw)


cdef void _tiled_plane(const real* src, real* dst, int32_t* arg, real* rows, Win g,
                       Sweep sweep) noexcept nogil:
    """One plane of ``sweep`` (arg: the argmaxes of MAX_FORWARD, rows: AVG_FORWARD's scratch)."""
    if g.KH == 2 and g.KW == 2:
        _tiled_sweep(src, dst, arg, rows, g, sweep, 2, 2)
    else:
        _tiled_sweep(src, dst, arg, rows, g, sweep, g.KH, g.KW)


# ------------------------------------------------------------------------------ max

cdef void _max_plane(const real* x, real* y, int32_t* arg, const int* spans,
                     const int* first_col, real* best, int32_t* best_at, Win g) noexcept nogil:
    """y[i, j] = the window's maximum, arg[i, j] = its flat index h*W + w (the first one in
    row-major window order, as PyTorch). Row by row: each output row starts from its
    windows' first pixels (first_col) and sweeps the taps over the whole row, keeping the
    running maxima in ``best`` / ``best_at`` (OW each)."""
    cdef int i, j, h, kw, h0, h1, lo, hi, off
    for i in range(g.OH):
        _clip(i * g.sh - g.ph, g.KH, g.H, &h0, &h1)
        for j in range(g.OW):
            best_at[j] = h0 * g.W + first_col[j]
            best[j] = x[best_at[j]]
        for h in range(h0, h1):
            for kw in range(g.KW):
                off, lo, hi = h * g.W + kw - g.pw, spans[2 * kw], spans[2 * kw + 1]
                for j in range(lo, hi):
                    if x[off + j * g.sw] > best[j]:
                        best[j], best_at[j] = x[off + j * g.sw], off + j * g.sw
        memcpy(y + i * g.OW, best, g.OW * sizeof(real))
        memcpy(arg + i * g.OW, best_at, g.OW * sizeof(int32_t))


def _max_forward(const real[:, :, :, ::1] x, real[:, :, :, ::1] y, int32_t[:, :, :, ::1] arg,
                 x_shape, out_hw, kernel, stride, padding):
    cdef Win g = _win(x_shape, out_hw, kernel, stride, padding)
    cdef bint tiled = _tiles(g)
    cdef Py_ssize_t t, C = x.shape[1]
    cdef int j, nt = threads_for(x.shape[0] * C * x.shape[2] * x.shape[3])
    cdef int* spans = _column_spans(g)
    cdef int* first_col = <int*>malloc(g.OW * sizeof(int))
    cdef real* best
    for j in range(g.OW):
        first_col[j] = max(j * g.sw - g.pw, 0)
    with nogil, parallel(num_threads=nt):
        best = <real*>malloc(g.OW * (sizeof(real) + sizeof(int32_t)))
        for t in prange(x.shape[0] * C, schedule="static"):
            if tiled:
                _tiled_plane(&x[t // C, t % C, 0, 0], &y[t // C, t % C, 0, 0],
                             &arg[t // C, t % C, 0, 0], NULL, g, MAX_FORWARD)
            else:
                _max_plane(&x[t // C, t % C, 0, 0], &y[t // C, t % C, 0, 0],
                           &arg[t // C, t % C, 0, 0], spans, first_col, best,
                           <int32_t*>(best + g.OW), g)
        free(best)
    free(spans)
    free(first_col)


def _max_backward(const real[:, ::1] gy, const int32_t[:, ::1] arg, real[:, ::1] gx):
    """Planes flattened: gx[p] = 0, then gx[p, arg[p, k]] += gy[p, k] (written whole)."""
    cdef Py_ssize_t p, k
    cdef int nt = threads_for(gx.shape[0] * gx.shape[1])
    with nogil:
        for p in prange(gy.shape[0], schedule="static", num_threads=nt):
            memset(&gx[p, 0], 0, gx.shape[1] * sizeof(real))
            for k in range(gy.shape[1]):
                gx[p, arg[p, k]] += gy[p, k]


def max_pool2d_forward(x, kernel, stride, padding):
    """(y, argmax): window maxima and the flat (h*W + w) index of each, as int32 (an index
    within one plane); see _reference."""
    x = np.ascontiguousarray(x)
    out_hw = _out_hw(x.shape, kernel, stride, padding)
    y = np.empty((*x.shape[:2], *out_hw), dtype=x.dtype)
    arg = np.empty(y.shape, dtype=np.int32)
    _max_forward(x, y, arg, x.shape, out_hw, kernel, stride, padding)
    return y, arg


def max_pool2d_backward(grad_y, argmax, x_shape):
    """gx[n, c, argmax] += grad_y: each output's gradient goes to the pixel that won."""
    N, C = x_shape[:2]
    gy = np.ascontiguousarray(grad_y).reshape(N * C, -1)
    gx = np.empty(x_shape, dtype=gy.dtype)      # returned whole, not as a view: autograd
    _max_backward(gy, np.ascontiguousarray(argmax, dtype=np.int32).reshape(N * C, -1),
                  gx.reshape(N * C, -1))        # can then keep it as .grad without a copy
    return gx


# ------------------------------------------------------------------------------ avg
# A window sum is separable: the sum of each window's rows, then of its columns. Each
# step below is a contiguous loop over a row or a whole plane, which the compiler
# vectorises. The divisor of window (i, j) is KH*KW with count_include_pad, else its
# count of real pixels, rows(i) * cols(j).

cdef void _inverse_divisors(real* inv, Win g, bint include_pad) noexcept nogil:
    """inv[i, j] = 1 / divisor of window (i, j), for all OH*OW windows: computed once per
    call for all planes, where a division per output cost more than its adds."""
    cdef int i, j, h0, h1, w0, w1
    for i in range(g.OH):
        _clip(i * g.sh - g.ph, g.KH, g.H, &h0, &h1)
        for j in range(g.OW):
            _clip(j * g.sw - g.pw, g.KW, g.W, &w0, &w1)
            inv[i * g.OW + j] = 1.0 / (g.KH * g.KW if include_pad else (h1 - h0) * (w1 - w0))


cdef inline void _add_row(real* dst, const real* src, int n) noexcept nogil:
    """dst[:n] += src[:n]."""
    cdef int w
    for w in range(n):
        dst[w] += src[w]


cdef inline void _scale_row(real* dst, Py_ssize_t dst_step, const real* src,
                            Py_ssize_t src_step, const real* scale, int n) noexcept nogil:
    """dst[j * dst_step] = src[j * src_step] * scale[j] for j < n."""
    cdef Py_ssize_t j
    for j in range(n):
        dst[0] = src[0] * scale[j]
        dst += dst_step
        src += src_step


cdef void _avg_plane(const real* src, real* dst, real* rows, real* sums, const real* inv,
                     Win g, bint backward) noexcept nogil:
    """Any windows. Forward: dst[i, j] = sum(src[window]) * inv[i, j].
    Backward: dst = 0, then dst[window] += src[i, j] * inv[i, j] (the plane is written whole).
    The forward sums each window's input rows into row i of ``rows`` (OH rows, W + 2pw
    long, zero borders), then slides a KW-wide sum along all of ``rows`` at once
    (``sums``; the sums that straddle two rows are never read), and output (i, j) is
    sums[i, j * sw]. The backward runs the same steps in reverse. ``rows`` and ``sums``
    come zeroed once; each call rewrites only what it reads back."""
    cdef int i, h, kw, h0, h1, wide = g.W + 2 * g.pw
    cdef Py_ssize_t n = g.OH * wide - g.KW + 1
    if backward:
        for i in range(g.OH):
            _scale_row(sums + i * wide, g.sw, src + i * g.OW, 1, inv + i * g.OW, g.OW)
        memcpy(rows, sums, n * sizeof(real))
        memset(rows + n, 0, (g.KW - 1) * sizeof(real))
        for kw in range(1, g.KW):
            _add_row(rows + kw, sums, n)
        memset(dst, 0, g.H * g.W * sizeof(real))
        for i in range(g.OH):
            _clip(i * g.sh - g.ph, g.KH, g.H, &h0, &h1)
            for h in range(h0, h1):
                _add_row(dst + h * g.W, rows + i * wide + g.pw, g.W)
    else:
        for i in range(g.OH):
            _clip(i * g.sh - g.ph, g.KH, g.H, &h0, &h1)
            _column_sums(rows + i * wide + g.pw, src + h0 * g.W, g.W, h1 - h0, g.W)
        memcpy(sums, rows, n * sizeof(real))
        for kw in range(1, g.KW):
            _add_row(sums, rows + kw, n)
        for i in range(g.OH):
            _scale_row(dst + i * g.OW, 1, sums + i * wide, g.sw, inv + i * g.OW, g.OW)


def _avg(const real[:, :, :, ::1] src, real[:, :, :, ::1] dst, x_shape, out_hw, kernel,
         stride, padding, bint include_pad, bint backward):
    cdef Win g = _win(x_shape, out_hw, kernel, stride, padding)
    cdef bint tiled = _tiles(g)
    cdef Py_ssize_t t, C = src.shape[1], size = g.OH * (g.W + 2 * g.pw)
    cdef Py_ssize_t plane = src.shape[2] * src.shape[3] + dst.shape[2] * dst.shape[3]
    cdef int nt = threads_for(src.shape[0] * C * plane)
    cdef real* rows
    cdef real* inv = <real*>malloc(g.OH * g.OW * sizeof(real))
    _inverse_divisors(inv, g, include_pad)
    with nogil, parallel(num_threads=nt):
        rows = <real*>calloc(2 * size, sizeof(real))
        for t in prange(src.shape[0] * C, schedule="static"):
            if tiled:
                _tiled_plane(&src[t // C, t % C, 0, 0], &dst[t // C, t % C, 0, 0], NULL, rows,
                             g, AVG_BACKWARD if backward else AVG_FORWARD)
            else:
                _avg_plane(&src[t // C, t % C, 0, 0], &dst[t // C, t % C, 0, 0], rows,
                           rows + size, inv, g, backward)
        free(rows)
    free(inv)


def avg_pool2d_forward(x, kernel, stride, padding, count_include_pad=True):
    """y = window sums / divisor (KH*KW, or the count of real pixels); see _reference."""
    x = np.ascontiguousarray(x)
    out_hw = _out_hw(x.shape, kernel, stride, padding)
    y = np.empty((*x.shape[:2], *out_hw), dtype=x.dtype)
    _avg(x, y, x.shape, out_hw, kernel, stride, padding, count_include_pad, False)
    return y


def avg_pool2d_backward(grad_y, x_shape, kernel, stride, padding, count_include_pad=True):
    """gx = each grad_y / divisor spread evenly over its window."""
    gy = np.ascontiguousarray(grad_y)
    gx = np.empty(x_shape, dtype=gy.dtype)
    _avg(gy, gx, x_shape, gy.shape[2:], kernel, stride, padding, count_include_pad, True)
    return gx


# ------------------------------------------------------------------------- adaptive

cdef void _adaptive_plane(const real* src, real* dst, const int* rows, const int* cols,
                          int W, int OH, int OW, bint backward) noexcept nogil:
    """Like _avg_plane, window (i, j) spanning rows[2i]:rows[2i+1], cols[2j]:cols[2j+1]."""
    cdef int i, j, h, w
    cdef real s, div
    for i in range(OH):
        for j in range(OW):
            div = (rows[2 * i + 1] - rows[2 * i]) * (cols[2 * j + 1] - cols[2 * j])
            if backward:
                s = src[i * OW + j] / div
                for h in range(rows[2 * i], rows[2 * i + 1]):
                    for w in range(cols[2 * j], cols[2 * j + 1]):
                        dst[h * W + w] += s
            else:
                s = 0
                for h in range(rows[2 * i], rows[2 * i + 1]):
                    for w in range(cols[2 * j], cols[2 * j + 1]):
                        s = s + src[h * W + w]
                dst[i * OW + j] = s / div


def _adaptive(const real[:, :, :, ::1] src, real[:, :, :, ::1] dst, int W, int OH, int OW,
              const int[:, ::1] rows, const int[:, ::1] cols, bint backward):
    cdef Py_ssize_t t, C = src.shape[1]
    cdef Py_ssize_t plane = src.shape[2] * src.shape[3] + dst.shape[2] * dst.shape[3]
    cdef int nt = threads_for(src.shape[0] * C * plane)
    with nogil:
        for t in prange(src.shape[0] * C, schedule="dynamic", num_threads=nt):
            _adaptive_plane(&src[t // C, t % C, 0, 0], &dst[t // C, t % C, 0, 0],
                            &rows[0, 0], &cols[0, 0], W, OH, OW, backward)


def _windows(size, out):
    return np.array(adaptive_windows(size, out), dtype=np.intc).reshape(out, 2)


def adaptive_avg_pool2d_forward(x, output_size):
    """y[n, c, i, j] = mean over PyTorch's adaptive window (i, j); see _reference."""
    x = np.ascontiguousarray(x)
    (OH, OW), (H, W) = output_size, x.shape[2:]
    y = np.empty((*x.shape[:2], OH, OW), dtype=x.dtype)
    _adaptive(x, y, W, OH, OW, _windows(H, OH), _windows(W, OW), False)
    return y


def adaptive_avg_pool2d_backward(grad_y, x_shape):
    """gx = each grad_y / window size spread evenly over its window."""
    gy = np.ascontiguousarray(grad_y)
    (OH, OW), (H, W) = gy.shape[2:], x_shape[2:]
    gx = np.zeros(x_shape, dtype=gy.dtype)
    _adaptive(gy, gx, W, OH, OW, _windows(H, OH), _windows(W, OW), True)
    return gx
