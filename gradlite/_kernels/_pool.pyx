"""Compiled max/avg/adaptive-avg pooling: the twins of ``_reference``'s pooling kernels.

Every (image, channel) plane is independent, so each kernel is a ``prange`` over the
N*C planes, with the GIL released, and plain loops over one plane's windows. The window
of output (i, j) covers input rows [i*S - P, i*S - P + K) clipped to [0, H), and the
same for columns; _checks.check_pool makes sure every window holds a pixel. Loops only
visit the taps that land inside the plane, so a kernel far larger than the input costs
no more than one as large as the input.
"""
import numpy as np

from cython.parallel cimport parallel, prange, threadid
from libc.stdint cimport int32_t
from libc.string cimport memcpy, memset

from ._checks import check_adaptive, check_dtype, check_grad, check_pool
from ._parallel cimport threads_for
from ._reference import adaptive_windows
from ._span cimport _span

ctypedef fused real:
    float
    double

# max_pool2d's argmax is an int32 index within one plane: planes must be smaller.
PLANE_LIMIT = 2 ** 31 - 1


cdef struct PoolGeometry:
    # plane (H, W), output (OH, OW), kernel (KH, KW), stride (sh, sw), padding (ph, pw),
    # and the columns' taps that land inside the plane, [kw_lo, kw_hi)
    Py_ssize_t H, W, OH, OW, KH, KW, sh, sw, ph, pw, kw_lo, kw_hi


cdef PoolGeometry pool_geometry(x_shape, out_hw, kernel, stride, padding):
    cdef PoolGeometry geom
    geom.H, geom.W = x_shape[2:]
    geom.OH, geom.OW = out_hw
    (geom.KH, geom.KW), (geom.sh, geom.sw), (geom.ph, geom.pw) = kernel, stride, padding
    geom.kw_lo = max(0, geom.pw - (geom.OW - 1) * geom.sw)
    geom.kw_hi = min(geom.KW, geom.W + geom.pw)
    return geom


cdef inline void _clip(Py_ssize_t start, Py_ssize_t k, Py_ssize_t size, Py_ssize_t* lo,
                       Py_ssize_t* hi) noexcept nogil:
    lo[0] = max(start, 0)
    hi[0] = min(start + k, size)


cdef _column_spans(PoolGeometry geom):
    """[lo, hi) of _span for every column tap kw in [kw_lo, kw_hi), as an (n, 2) array:
    hoisted out of the row loops, where their integer divisions cost more than the adds."""
    cdef Py_ssize_t kw
    cdef Py_ssize_t[:, ::1] spans = np.empty((max(geom.kw_hi - geom.kw_lo, 1), 2), np.intp)
    for kw in range(geom.kw_lo, geom.kw_hi):
        _span(kw, geom.pw, geom.sw, geom.W, geom.OW, &spans[kw - geom.kw_lo, 0],
              &spans[kw - geom.kw_lo, 1])
    return spans.base


cdef inline bint _has_nan(const real* x, Py_ssize_t n) noexcept nogil:
    cdef Py_ssize_t k
    cdef bint nan = False
    for k in range(n):
        nan = nan | (x[k] != x[k])
    return nan


cdef void _nan_wins(const real* x, real* y, int32_t* arg, PoolGeometry geom) noexcept nogil:
    """Where a window holds a NaN, make it y and arg: PyTorch's max lets a NaN win over any
    number, and a later NaN (row-major) over an earlier one. The sweeps keep their fast
    ``>`` comparison (a conditional move) and call this only for planes with a NaN."""
    cdef Py_ssize_t i, j, h, w, h0, h1, w0, w1
    for i in range(geom.OH):
        _clip(i * geom.sh - geom.ph, geom.KH, geom.H, &h0, &h1)
        for j in range(geom.OW):
            _clip(j * geom.sw - geom.pw, geom.KW, geom.W, &w0, &w1)
            for h in range(h0, h1):
                for w in range(w0, w1):
                    if x[h * geom.W + w] != x[h * geom.W + w]:
                        y[i * geom.OW + j] = x[h * geom.W + w]
                        arg[i * geom.OW + j] = <int32_t>(h * geom.W + w)


# ---------------------------------------------------------------------------- tiled
# When the windows tile the plane (stride = kernel, no padding: the usual 2x2 pooling),
# every pixel is in at most one window, every window is whole, and window (i, j) is the
# kh x kw block at row i*kh, column j*kw. The loops below walk those blocks directly.
# _tiled_plane calls them with literal sizes for 2x2: inlined, their inner loops over
# the block unroll and the avg loops vectorise.

cdef enum Sweep:
    MAX_FORWARD, AVG_FORWARD, AVG_BACKWARD


cdef inline bint _tiles(PoolGeometry geom) noexcept nogil:
    return geom.sh == geom.KH and geom.sw == geom.KW and geom.ph == 0 and geom.pw == 0


cdef inline void _block_maxima(const real* src, int step, real* y, int32_t* arg, int base,
                               int kh, int kw, int n) noexcept nogil:
    """For the n blocks of kh rows ``step`` apart and kw columns at src[j*kw]: y[j] = the
    block's maximum, arg[j] = base + its offset a*step + j*kw + b, the first maximum in
    row-major order, as PyTorch (NaN: _nan_wins). int indices (the plane is smaller than
    2**31): with 64-bit ones GCC compiled the comparison to a branch, not a conditional
    move."""
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


cdef inline void _tiled_max_forward(const real* src, real* y, int32_t* arg, PoolGeometry geom,
                                    Py_ssize_t kh, Py_ssize_t kw) noexcept nogil:
    """y[i, j] = max(src[window]), arg[i, j] = its flat index h*W + w."""
    cdef Py_ssize_t i
    for i in range(geom.OH):
        _block_maxima(src + i * kh * geom.W, geom.W, y + i * geom.OW, arg + i * geom.OW,
                      i * kh * geom.W, kh, kw, geom.OW)


cdef inline void _column_sums(real* dst, const real* src, Py_ssize_t step, Py_ssize_t k,
                              Py_ssize_t n) noexcept nogil:
    """dst[w] = src[w] + src[step + w] + ... + src[(k-1)*step + w] for w < n (k >= 1):
    the sum of k rows ``step`` apart. Rows are addressed through pointers: with
    h * W + w offsets, GCC compiled such loops to gathers."""
    cdef Py_ssize_t w, r
    cdef real s
    for w in range(n):
        s = src[w]
        for r in range(1, k):
            s = s + src[r * step + w]
        dst[w] = s


cdef inline void _group_sums(real* dst, const real* src, Py_ssize_t k, real scale,
                             Py_ssize_t n) noexcept nogil:
    """dst[j] = scale * (src[j*k] + ... + src[j*k + k-1]) for j < n: sums of runs of k."""
    cdef Py_ssize_t j, b
    cdef real s
    for j in range(n):
        s = src[j * k]
        for b in range(1, k):
            s = s + src[j * k + b]
        dst[j] = s * scale


cdef inline void _spread(real* dst, Py_ssize_t step, const real* src, Py_ssize_t kh,
                         Py_ssize_t kw, real scale, Py_ssize_t n) noexcept nogil:
    """dst[a*step + j*kw + b] = scale * src[j] for j < n, a < kh, b < kw: each value
    copied over a kh x kw block of rows ``step`` apart (the adjoint of _column_sums
    then _group_sums)."""
    cdef Py_ssize_t j, a, b
    cdef real v
    for j in range(n):
        v = src[j] * scale
        for a in range(kh):
            for b in range(kw):
                dst[a * step + j * kw + b] = v


cdef inline void _tiled_avg_forward(const real* src, real* dst, real* rows, PoolGeometry geom,
                                    Py_ssize_t kh, Py_ssize_t kw) noexcept nogil:
    """dst[i, j] = sum(src[window]) / (kh*kw): the sums of each window's rows, then of runs
    of kw columns. ``rows`` holds the OH window-row sums, OW*kw long each, back to back, so
    that one run of group sums covers the whole plane."""
    cdef Py_ssize_t i, wide = geom.OW * kw
    for i in range(geom.OH):
        _column_sums(rows + i * wide, src + i * kh * geom.W, geom.W, kh, wide)
    _group_sums(dst, rows, kw, <real>1 / (kh * kw), geom.OH * geom.OW)


cdef inline void _tiled_avg_backward(const real* src, real* dst, PoolGeometry geom,
                                     Py_ssize_t kh, Py_ssize_t kw) noexcept nogil:
    """dst[window (i, j)] = src[i, j] / (kh*kw), and 0 where no window reaches (the
    plane is written whole)."""
    cdef Py_ssize_t i, h, wide = geom.OW * kw
    for i in range(geom.OH):
        _spread(dst + i * kh * geom.W, geom.W, src + i * geom.OW, kh, kw,
                <real>1 / (kh * kw), geom.OW)
        if wide < geom.W:
            for h in range(i * kh, i * kh + kh):
                memset(dst + h * geom.W + wide, 0, (geom.W - wide) * sizeof(real))
    memset(dst + geom.OH * kh * geom.W, 0, (geom.H - geom.OH * kh) * geom.W * sizeof(real))


cdef inline void _tiled_sweep(const real* src, real* dst, int32_t* arg, real* rows,
                              PoolGeometry geom, Sweep sweep, Py_ssize_t kh,
                              Py_ssize_t kw) noexcept nogil:
    if sweep == MAX_FORWARD:
        _tiled_max_forward(src, dst, arg, geom, kh, kw)
    elif sweep == AVG_FORWARD:
        _tiled_avg_forward(src, dst, rows, geom, kh, kw)
    else:
        _tiled_avg_backward(src, dst, geom, kh, kw)


cdef void _tiled_plane(const real* src, real* dst, int32_t* arg, real* rows, PoolGeometry geom,
                       Sweep sweep) noexcept nogil:
    """One plane of ``sweep`` (arg: the argmaxes of MAX_FORWARD, rows: AVG_FORWARD's scratch)."""
    if geom.KH == 2 and geom.KW == 2:
        _tiled_sweep(src, dst, arg, rows, geom, sweep, 2, 2)
    else:
        _tiled_sweep(src, dst, arg, rows, geom, sweep, geom.KH, geom.KW)


# ------------------------------------------------------------------------------ max

cdef void _max_plane(const real* x, real* y, int32_t* arg, const Py_ssize_t* spans,
                     const Py_ssize_t* first_col, real* best, int32_t* best_at,
                     PoolGeometry geom) noexcept nogil:
    """y[i, j] = the window's maximum, arg[i, j] = its flat index h*W + w (the first one in
    row-major window order, as PyTorch; NaN: _nan_wins). Row by row: each output row
    starts from its windows' first pixels (first_col) and sweeps the taps inside the
    plane over the whole row, keeping the running maxima in ``best`` / ``best_at``.
    In-plane indices are int32, as the argmax (the plane is smaller than 2**31)."""
    cdef Py_ssize_t i, j, h, kw, h0, h1, lo, hi, off
    cdef int at
    for i in range(geom.OH):
        _clip(i * geom.sh - geom.ph, geom.KH, geom.H, &h0, &h1)
        for j in range(geom.OW):
            best_at[j] = <int32_t>(h0 * geom.W + first_col[j])
            best[j] = x[best_at[j]]
        for h in range(h0, h1):
            for kw in range(geom.kw_lo, geom.kw_hi):
                off = h * geom.W + kw - geom.pw
                lo, hi = spans[2 * (kw - geom.kw_lo)], spans[2 * (kw - geom.kw_lo) + 1]
                for j in range(lo, hi):
                    at = <int>(off + j * geom.sw)
                    if x[at] > best[j]:
                        best[j], best_at[j] = x[at], at
        memcpy(y + i * geom.OW, best, geom.OW * sizeof(real))
        memcpy(arg + i * geom.OW, best_at, geom.OW * sizeof(int32_t))


def _max_forward(const real[:, :, :, ::1] x, real[:, :, :, ::1] y, int32_t[:, :, :, ::1] arg,
                 kernel, stride, padding):
    cdef PoolGeometry geom = pool_geometry(x.base.shape, y.base.shape[2:], kernel, stride,
                                           padding)
    cdef bint tiled = _tiles(geom)
    cdef Py_ssize_t t, C = x.shape[1]
    cdef int nt = threads_for(x.shape[0] * C * x.shape[2] * x.shape[3])
    cdef Py_ssize_t[:, ::1] spans
    cdef int32_t[:, ::1] best_at
    cdef Py_ssize_t[::1] first_col
    cdef real[:, ::1] best
    if not tiled:
        spans = _column_spans(geom)
        first_col = np.maximum(np.arange(geom.OW) * geom.sw - geom.pw, 0).astype(np.intp)
        best = np.empty((nt, geom.OW), dtype=np.float32 if real is float else np.float64)
        best_at = np.empty((nt, geom.OW), dtype=np.int32)
    with nogil, parallel(num_threads=nt):
        for t in prange(x.shape[0] * C, schedule="static"):
            if tiled:
                _tiled_plane(&x[t // C, t % C, 0, 0], &y[t // C, t % C, 0, 0],
                             &arg[t // C, t % C, 0, 0], NULL, geom, MAX_FORWARD)
            else:
                _max_plane(&x[t // C, t % C, 0, 0], &y[t // C, t % C, 0, 0],
                           &arg[t // C, t % C, 0, 0], &spans[0, 0], &first_col[0],
                           &best[threadid(), 0], &best_at[threadid(), 0], geom)
            if _has_nan(&x[t // C, t % C, 0, 0], geom.H * geom.W):
                _nan_wins(&x[t // C, t % C, 0, 0], &y[t // C, t % C, 0, 0],
                          &arg[t // C, t % C, 0, 0], geom)


def max_pool2d_forward(x, kernel, stride, padding):
    """(y, argmax): window maxima and the flat (h*W + w) index of each, as int32 (an index
    within one plane); see _reference."""
    fn = "max_pool2d_forward"
    check_dtype(fn, x=x)
    y_shape = check_pool(fn, x.shape, kernel, stride, padding)
    if x.shape[2] * x.shape[3] > PLANE_LIMIT:
        raise ValueError(f"{fn}: planes of {x.shape[2]} x {x.shape[3]} pixels exceed the "
                         f"int32 argmax ({PLANE_LIMIT})")
    x = np.ascontiguousarray(x)
    y = np.empty(y_shape, dtype=x.dtype)
    arg = np.empty(y_shape, dtype=np.int32)
    if y.size:
        _max_forward(x, y, arg, kernel, stride, padding)
    return y, arg


def _max_backward(const real[:, ::1] gy, const int32_t[:, ::1] arg, real[:, ::1] gx):
    """Planes flattened: gx[p] = 0, then gx[p, arg[p, k]] += gy[p, k] (written whole).
    Returns the number of argmaxes outside the plane (skipped)."""
    cdef Py_ssize_t p, k, a, plane = gx.shape[1], bad = 0
    cdef int nt = threads_for(gx.shape[0] * gx.shape[1])
    with nogil:
        for p in prange(gy.shape[0], schedule="static", num_threads=nt):
            memset(&gx[p, 0], 0, plane * sizeof(real))
            for k in range(gy.shape[1]):
                a = arg[p, k]
                if 0 <= a < plane:
                    gx[p, a] += gy[p, k]
                else:
                    bad += 1
    return bad


def max_pool2d_backward(grad_y, argmax, x_shape):
    """gx[n, c, argmax] += grad_y: each output's gradient goes to the pixel that won."""
    fn = "max_pool2d_backward"
    check_dtype(fn, grad_y=grad_y)
    x_shape = tuple(x_shape)
    if len(x_shape) != 4 or grad_y.shape != argmax.shape or grad_y.shape[:2] != x_shape[:2]:
        raise ValueError(f"{fn}: grad_y {grad_y.shape} and argmax {argmax.shape} must share "
                         f"a shape that starts as x {x_shape} does")
    N, C, H, W = x_shape
    gy = np.ascontiguousarray(grad_y).reshape(N * C, -1)
    argmax = np.asarray(argmax)
    if argmax.dtype != np.int32:        # the reference's int64: in range before narrowing
        argmax = np.clip(argmax, -1, H * W).astype(np.int32)
    gx = np.empty(x_shape, dtype=gy.dtype)      # returned whole, not as a view: autograd
    if gx.size and gy.size:                     # can then keep it as .grad without a copy
        bad = _max_backward(gy, np.ascontiguousarray(argmax).reshape(N * C, -1),
                            gx.reshape(N * C, -1))
        if bad:
            raise ValueError(f"{fn}: {bad} argmax indices outside the {H} x {W} plane")
    else:
        gx[...] = 0
    return gx


# ------------------------------------------------------------------------------ avg
# A window sum is separable: the sum of the window's rows, then of its columns. Each
# step below is a contiguous loop over a row or a whole plane, which the compiler
# vectorises. The divisor of window (i, j) is KH*KW with count_include_pad, else its
# count of real pixels, rows(i) * cols(j).

cdef _inverse_divisors(PoolGeometry geom, bint include_pad, dtype):
    """inv[i, j] = 1 / divisor of window (i, j): computed once per call for all planes,
    where a division per output cost more than its adds."""
    rows = [min(i * geom.sh - geom.ph + geom.KH, geom.H) - max(i * geom.sh - geom.ph, 0)
            for i in range(geom.OH)]
    cols = [min(j * geom.sw - geom.pw + geom.KW, geom.W) - max(j * geom.sw - geom.pw, 0)
            for j in range(geom.OW)]
    if include_pad:
        return np.full(geom.OH * geom.OW, 1.0 / (float(geom.KH) * float(geom.KW)), dtype)
    return (1.0 / np.outer(rows, cols)).astype(dtype).ravel()


cdef void _avg_plane(const real* src, real* dst, real* rows, real* sums, const real* inv,
                     PoolGeometry geom, bint backward) noexcept nogil:
    """Any windows. Forward: dst[i, j] = sum(src[window]) * inv[i, j].
    Backward: dst = 0, then dst[window] += src[i, j] * inv[i, j] (the plane is written whole).
    The forward sums each window's input rows into row i of ``rows`` (OH rows, ``wide``
    long, zero borders), then slides a sum of the taps that reach inside the plane along
    all of ``rows`` at once (``sums``; the sums that straddle two rows are never read),
    and output (i, j) is sums[i, j * sw]. The backward runs the same steps in reverse.
    A row of ``rows`` holds the plane's columns from ``left`` on, and only as much
    padding as those taps read: a kernel far wider than the plane costs no more."""
    cdef Py_ssize_t i, h, kw, h0, h1, taps = geom.kw_hi - geom.kw_lo
    cdef Py_ssize_t wide = (geom.OW - 1) * geom.sw + taps, left = geom.pw - geom.kw_lo
    cdef Py_ssize_t cols = min(geom.W, wide - left), n = geom.OH * wide - taps + 1
    if backward:
        for i in range(geom.OH):
            _scale_row(sums + i * wide, geom.sw, src + i * geom.OW, 1, inv + i * geom.OW,
                       geom.OW)
        memcpy(rows, sums, n * sizeof(real))
        memset(rows + n, 0, (taps - 1) * sizeof(real))
        for kw in range(1, taps):
            _add_row(rows + kw, sums, n)
        memset(dst, 0, geom.H * geom.W * sizeof(real))
        for i in range(geom.OH):
            _clip(i * geom.sh - geom.ph, geom.KH, geom.H, &h0, &h1)
            for h in range(h0, h1):
                _add_row(dst + h * geom.W, rows + i * wide + left, cols)
    else:
        for i in range(geom.OH):
            _clip(i * geom.sh - geom.ph, geom.KH, geom.H, &h0, &h1)
            _column_sums(rows + i * wide + left, src + h0 * geom.W, geom.W, h1 - h0, cols)
        memcpy(sums, rows, n * sizeof(real))
        for kw in range(1, taps):
            _add_row(sums, rows + kw, n)
        for i in range(geom.OH):
            _scale_row(dst + i * geom.OW, 1, sums + i * wide, geom.sw, inv + i * geom.OW,
                       geom.OW)


cdef inline void _add_row(real* dst, const real* src, Py_ssize_t n) noexcept nogil:
    """dst[:n] += src[:n]."""
    cdef Py_ssize_t w
    for w in range(n):
        dst[w] += src[w]


cdef inline void _scale_row(real* dst, Py_ssize_t dst_step, const real* src,
                            Py_ssize_t src_step, const real* scale, Py_ssize_t n) noexcept nogil:
    """dst[j * dst_step] = src[j * src_step] * scale[j] for j < n."""
    cdef Py_ssize_t j
    for j in range(n):
        dst[0] = src[0] * scale[j]
        dst += dst_step
        src += src_step


def _avg(const real[:, :, :, ::1] src, real[:, :, :, ::1] dst, x_shape, out_hw, kernel,
         stride, padding, bint include_pad, bint backward):
    cdef PoolGeometry geom = pool_geometry(x_shape, out_hw, kernel, stride, padding)
    cdef bint tiled = _tiles(geom)
    cdef Py_ssize_t t, C = src.shape[1]
    cdef Py_ssize_t size = geom.OH * ((geom.OW - 1) * geom.sw + geom.kw_hi - geom.kw_lo)
    cdef int nt = threads_for(src.shape[0] * C * (src.shape[2] * src.shape[3]
                                                  + dst.shape[2] * dst.shape[3]))
    dtype = np.float32 if real is float else np.float64
    cdef real[:, ::1] rows = np.zeros((nt, 2 * size), dtype=dtype)
    cdef real[::1] inv = None if tiled else _inverse_divisors(geom, include_pad, dtype)
    with nogil, parallel(num_threads=nt):
        for t in prange(src.shape[0] * C, schedule="static"):
            if tiled:
                _tiled_plane(&src[t // C, t % C, 0, 0], &dst[t // C, t % C, 0, 0], NULL,
                             &rows[threadid(), 0], geom,
                             AVG_BACKWARD if backward else AVG_FORWARD)
            else:
                _avg_plane(&src[t // C, t % C, 0, 0], &dst[t // C, t % C, 0, 0],
                           &rows[threadid(), 0], &rows[threadid(), size], &inv[0], geom,
                           backward)


def avg_pool2d_forward(x, kernel, stride, padding, count_include_pad=True):
    """y = window sums / divisor (KH*KW, or the count of real pixels); see _reference."""
    fn = "avg_pool2d_forward"
    check_dtype(fn, x=x)
    y = np.empty(check_pool(fn, x.shape, kernel, stride, padding), dtype=x.dtype)
    if y.size:
        _avg(np.ascontiguousarray(x), y, x.shape, y.shape[2:], kernel, stride, padding,
             count_include_pad, False)
    return y


def avg_pool2d_backward(grad_y, x_shape, kernel, stride, padding, count_include_pad=True):
    """gx = each grad_y / divisor spread evenly over its window."""
    fn = "avg_pool2d_backward"
    check_dtype(fn, grad_y=grad_y)
    check_grad(fn, grad_y, check_pool(fn, tuple(x_shape), kernel, stride, padding))
    gx = np.zeros(x_shape, dtype=grad_y.dtype) if grad_y.size == 0 else \
        np.empty(x_shape, dtype=grad_y.dtype)   # (the kernel writes every plane whole)
    if grad_y.size:
        _avg(np.ascontiguousarray(grad_y), gx, x_shape, grad_y.shape[2:], kernel, stride,
             padding, count_include_pad, True)
    return gx


# ------------------------------------------------------------------------- adaptive

cdef void _adaptive_plane(const real* src, real* dst, const Py_ssize_t* rows,
                          const Py_ssize_t* cols, Py_ssize_t W, Py_ssize_t OH, Py_ssize_t OW,
                          bint backward) noexcept nogil:
    """Window (i, j) spans rows[2i]:rows[2i+1], cols[2j]:cols[2j+1]. Forward: dst[i, j] =
    its mean; backward: dst[window] += src[i, j] / its size."""
    cdef Py_ssize_t i, j, h, w
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


def _adaptive(const real[:, :, :, ::1] src, real[:, :, :, ::1] dst, Py_ssize_t W,
              Py_ssize_t OH, Py_ssize_t OW, const Py_ssize_t[:, ::1] rows,
              const Py_ssize_t[:, ::1] cols, bint backward):
    cdef Py_ssize_t t, C = src.shape[1]
    cdef int nt = threads_for(src.shape[0] * C * (src.shape[2] * src.shape[3]
                                                  + dst.shape[2] * dst.shape[3]))
    with nogil:
        for t in prange(src.shape[0] * C, schedule="dynamic", num_threads=nt):
            _adaptive_plane(&src[t // C, t % C, 0, 0], &dst[t // C, t % C, 0, 0],
                            &rows[0, 0], &cols[0, 0], W, OH, OW, backward)


def _windows(size, out):
    return np.array(adaptive_windows(size, out), dtype=np.intp).reshape(out, 2)


def adaptive_avg_pool2d_forward(x, output_size):
    """y[n, c, i, j] = mean over PyTorch's adaptive window (i, j); see _reference."""
    fn = "adaptive_avg_pool2d_forward"
    check_dtype(fn, x=x)
    y = np.empty(check_adaptive(fn, x.shape, output_size), dtype=x.dtype)
    if y.size:
        (OH, OW), (H, W) = output_size, x.shape[2:]
        _adaptive(np.ascontiguousarray(x), y, W, OH, OW, _windows(H, OH), _windows(W, OW),
                  False)
    return y


def adaptive_avg_pool2d_backward(grad_y, x_shape):
    """gx = each grad_y / window size spread evenly over its window."""
    fn = "adaptive_avg_pool2d_backward"
    check_dtype(fn, grad_y=grad_y)
    x_shape = tuple(x_shape)
    check_grad(fn, grad_y, check_adaptive(fn, x_shape, grad_y.shape[2:]))
    gx = np.zeros(x_shape, dtype=grad_y.dtype)
    if gx.size:
        (OH, OW), (H, W) = grad_y.shape[2:], x_shape[2:]
        _adaptive(np.ascontiguousarray(grad_y), gx, W, OH, OW, _windows(H, OH),
                  _windows(W, OW), True)
    return gx
