"""Convolution as im2col + matrix multiply (GEMM), and its backward through col2im.

For a chunk of B images, ``cols`` has shape (C*KH*KW, B*OH*OW): row ``(c, kh, kw)``,
column ``(n, i, j)`` holds the input pixel that tap reads (0 for padding),

    cols[(c, kh, kw), (n, i, j)] = xpad[n, c, i*sh + kh*dh, j*sw + kw*dw].

With W a group's weights as an (O/groups, Cg*KH*KW) matrix, per group:

    forward      Y   = W @ cols                    (O, B*OH*OW), then -> NCHW, plus bias
    grad weight  gW += gY @ cols.T
    grad input   gcols = W.T @ gY, then col2im adds every column back onto its pixel

The products are numpy matmuls (BLAS, which releases the GIL and runs its own threads);
the Cython loops below fill and empty ``cols`` in parallel over (image, channel) planes
with the GIL released. This is the algorithm of ``docs/internals.md`` section 7; the
direct kernels (``_direct.pyx``) compute the same sums without ``cols``, and ``_conv``
chooses between the two.
"""
import numpy as np

from cython.parallel cimport prange
from libc.string cimport memset

from ._geometry cimport ConvGeometry, conv_geometry
from ._parallel cimport threads_for
from ._span cimport _span
from ._workspace import scratch

ctypedef fused real:
    float
    double

# The images go through im2col + GEMM in chunks whose ``cols`` take about this many
# bytes (at least one image a chunk): the whole batch's columns can take hundreds of MB,
# while small chunks make many small GEMMs whose per-call costs add up.
CHUNK_BYTES = 1 << 24


# ------------------------------------------------------------------ im2col / col2im

cdef void _im2col_plane(const real* x, real* cols, Py_ssize_t ld,
                        ConvGeometry geom) noexcept nogil:
    """Fill the KH*KW rows of one input plane x (H, W); cols points at row (c, 0, 0),
    column (n, 0, 0), and ld is the row length."""
    cdef Py_ssize_t kh, kw, i, j, lo, hi, ilo, ihi
    cdef real* dst
    cdef real* out
    cdef const real* row
    for kh in range(geom.KH):
        _span(kh * geom.dh, geom.ph, geom.sh, geom.H, geom.OH, &ilo, &ihi)
        for kw in range(geom.KW):
            _span(kw * geom.dw, geom.pw, geom.sw, geom.W, geom.OW, &lo, &hi)
            dst = cols + (kh * geom.KW + kw) * ld
            memset(dst, 0, ilo * geom.OW * sizeof(real))
            for i in range(ilo, ihi):
                row = x + (i * geom.sh - geom.ph + kh * geom.dh) * geom.W + kw * geom.dw - geom.pw
                out = dst + i * geom.OW
                for j in range(lo):
                    out[j] = 0
                if geom.sw == 1:
                    for j in range(lo, hi):
                        out[j] = row[j]
                else:
                    for j in range(lo, hi):
                        out[j] = row[j * geom.sw]
                for j in range(hi, geom.OW):
                    out[j] = 0
            memset(dst + ihi * geom.OW, 0, (geom.OH - ihi) * geom.OW * sizeof(real))


cdef void _col2im_plane(const real* cols, real* x, Py_ssize_t ld,
                        ConvGeometry geom) noexcept nogil:
    """The adjoint of _im2col_plane: add each column entry onto the pixel it was read from."""
    cdef Py_ssize_t kh, kw, i, j, lo, hi, ilo, ihi
    cdef const real* src
    cdef const real* src_row
    cdef real* row
    for kh in range(geom.KH):
        _span(kh * geom.dh, geom.ph, geom.sh, geom.H, geom.OH, &ilo, &ihi)
        for kw in range(geom.KW):
            _span(kw * geom.dw, geom.pw, geom.sw, geom.W, geom.OW, &lo, &hi)
            src = cols + (kh * geom.KW + kw) * ld
            for i in range(ilo, ihi):
                row = x + (i * geom.sh - geom.ph + kh * geom.dh) * geom.W + kw * geom.dw - geom.pw
                src_row = src + i * geom.OW
                if geom.sw == 1:
                    for j in range(lo, hi):
                        row[j] += src_row[j]
                else:
                    for j in range(lo, hi):
                        row[j * geom.sw] += src_row[j]


def im2col(const real[:, :, :, ::1] x, real[:, ::1] cols, conv):
    """cols = im2col of x, (C*KH*KW, N*OH*OW)."""
    cdef ConvGeometry geom = conv_geometry(conv)
    cdef Py_ssize_t t, n, c, L = geom.OH * geom.OW, ld = cols.shape[1]
    cdef int nt = threads_for(cols.shape[0] * ld)
    with nogil:
        for t in prange(geom.N * geom.C, schedule="dynamic", num_threads=nt):
            n, c = t // geom.C, t % geom.C
            _im2col_plane(&x[n, c, 0, 0], &cols[c * geom.KH * geom.KW, n * L], ld, geom)


def col2im(const real[:, ::1] cols, real[:, :, :, ::1] x, conv):
    """x += col2im of cols (x starts zeroed)."""
    cdef ConvGeometry geom = conv_geometry(conv)
    cdef Py_ssize_t t, n, c, L = geom.OH * geom.OW, ld = cols.shape[1]
    cdef int nt = threads_for(cols.shape[0] * ld)
    with nogil:
        for t in prange(geom.N * geom.C, schedule="dynamic", num_threads=nt):
            n, c = t // geom.C, t % geom.C
            _col2im_plane(&cols[c * geom.KH * geom.KW, n * L], &x[n, c, 0, 0], ld, geom)


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


# ------------------------------------------------------------------------- chunks

class _Chunks:
    """The image ranges of one conv's chunked im2col + GEMM, and its scratch matrices:
    ``cols`` (C*KH*KW, B*L) and ``rows`` (O, B*L) for B images, L = OH * OW."""

    def __init__(self, conv, groups, dtype, chunk_bytes):
        cdef ConvGeometry geom = conv_geometry(conv)
        self.N, self.L, self.G = geom.N, geom.OH * geom.OW, groups
        image_bytes = geom.C * geom.KH * geom.KW * self.L * np.dtype(dtype).itemsize
        self.B = max(1, min(geom.N, chunk_bytes // max(1, image_bytes)))
        self.cols = scratch((geom.C * geom.KH * geom.KW * self.B * self.L,), dtype, "cols")
        self.rows = scratch((geom.O * self.B * self.L,), dtype, "rows")

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


# ------------------------------------------------------------------- conv by GEMM

def conv2d_forward(x, w, b, y, conv, groups, chunk_bytes=CHUNK_BYTES):
    """y = W @ im2col(x) + b, group by group, chunk by chunk (y: (N, O, OH, OW))."""
    O = w.shape[0]
    chunks = _Chunks(conv, groups, x.dtype, chunk_bytes)
    wg = w.reshape(groups, O // groups, -1)
    for n0, n1, cols, rows in chunks:
        im2col(x[n0:n1], cols, (x[n0:n1].shape, *conv[1:]))
        np.matmul(wg, chunks.grouped(cols), out=chunks.grouped(rows))
        _rows_to_nchw(rows, y[n0:n1], b)


def conv2d_backward(x, w, gy, conv, groups, bint grad_input, bint grad_weight,
                    chunk_bytes=CHUNK_BYTES):
    """(gx, gw): gx = col2im(W.T @ gY), gw = gY @ im2col(x).T, group by group; None
    where not asked for."""
    O = w.shape[0]
    gx = gw = None
    chunks = _Chunks(conv, groups, x.dtype, chunk_bytes)
    if grad_input:
        gx = np.zeros_like(x)
        wt = w.reshape(groups, O // groups, -1).transpose(0, 2, 1)
    if grad_weight:
        gw = np.zeros(w.shape, dtype=x.dtype)   # summed through a grouped view of it
        gw_groups = gw.reshape(groups, O // groups, -1)
        gw_part = np.empty_like(gw_groups)
    for n0, n1, cols, rows in chunks:
        chunk_conv = (x[n0:n1].shape, *conv[1:])
        _nchw_to_rows(gy[n0:n1], rows)
        if grad_weight:
            im2col(x[n0:n1], cols, chunk_conv)
            gw_groups += np.matmul(chunks.grouped(rows), chunks.grouped(cols).transpose(0, 2, 1),
                                   out=gw_part)
        if grad_input:
            np.matmul(wt, chunks.grouped(rows), out=chunks.grouped(cols))
            col2im(cols, gx[n0:n1], chunk_conv)
    return gx, gw
