"""Direct convolution kernels: the sums of ``_reference.conv2d_*`` without im2col's columns.

Wide rows. Pad each input plane into a (Hp, Wp) scratch plane and compute each output
plane Wp columns wide (the last Wp - OW columns of every row are junk, dropped at the
end). With unit stride, tap (kh, kw) of output position p = i*Wp + j then reads input
position p + tap(kh, kw) of the padded plane, the same shift for every p, so a tile of
consecutive outputs is a sum of shifted contiguous slices:

    out[p0 : p0 + L] = sum over (input plane c, tap k) of w[o, c, k] * xpad[c][p0 + tap(k) : ... + L]

and the register tiles of ``conv_tiles.h`` keep those L running sums in vector
registers for the whole tap list.

Stride phases. A stride above 1 reduces to the same shifts: split the padded plane into
its sh*sw stride phases, phase (a, b) holding the pixels (u, v) with u % sh = a,
v % sw = b at (u // sh, v // sw). Output (i, j) reads padded pixel (i*sh + kh*dh,
j*sw + kw*dw), which is pixel (i + kh*dh // sh, j + kw*dw // sw) of one phase: again a
fixed shift of (i, j), in phase rows Wq = ceil(Wp / sw) long (Wq = Wp with unit stride).

The gradients use the same shifts: the input gradient reads gy planes, widened with
zero columns, at p - tap(k), one stride phase of the padded gx at a time; the weight
gradient correlates each widened gy plane with the padded input shifted by each tap.

Loops run with the GIL released, ``prange`` over (image, group) pairs or blocks of
output channels, with per-thread scratch. Tap offsets are C ints: ``offsets_fit``
says whether a conv's are, and ``_conv`` only sends such convs here.
"""
import os

import numpy as np

from cython.parallel cimport parallel, prange, threadid
from libc.string cimport memcpy, memset

from ._geometry cimport ConvGeometry, conv_geometry
from ._parallel cimport threads_for
from ._workspace import scratch

ctypedef fused real:
    float
    double

cdef extern from "conv_tiles.h":
    ctypedef struct gl_tile_copy:
        const char* name
        int lanes, rows, width_float, width_double
    gl_tile_copy gl_tiles
    const char* gl_select_tiles(const char* limit)
    void gl_rows_float(float*, Py_ssize_t, const float*, const int*, const float*, Py_ssize_t,
                       int, Py_ssize_t, const float*, int) noexcept nogil
    void gl_rows_double(double*, Py_ssize_t, const double*, const int*, const double*,
                        Py_ssize_t, int, Py_ssize_t, const double*, int) noexcept nogil
    void gl_corr_float(float*, const float*, Py_ssize_t, const float*, const int*,
                       Py_ssize_t, int) noexcept nogil
    void gl_corr_double(double*, const double*, Py_ssize_t, const double*, const int*,
                        Py_ssize_t, int) noexcept nogil


def select_tiles(limit=""):
    """Use the widest copy of the register tiles that the CPU and ``limit`` allow
    ("avx512", "avx2", "sse2", "plain"; "" for no limit) and return its name. Runs at
    import with the environment variable GRADLITE_SIMD as the limit."""
    cdef bytes limit_bytes = limit.encode()
    cdef bytes name = gl_select_tiles(limit_bytes)
    return name.decode()


TILES = select_tiles(os.environ.get("GRADLITE_SIMD", ""))

cdef enum:
    INT_LIMIT = 2147483647


# --------------------------------------------------------------------- the layout

cdef inline Py_ssize_t round_up(Py_ssize_t n, Py_ssize_t multiple) noexcept nogil:
    return (n + multiple - 1) // multiple * multiple


cdef inline Py_ssize_t whole_tiles(Py_ssize_t n) noexcept nogil:
    """n rounded up to a whole number of tiles."""
    return round_up(n, gl_tiles.lanes)


cdef inline int vector_width(real* dummy) noexcept nogil:
    """Elements of `real` per vector register in the tiles in use."""
    return gl_tiles.width_float if real is float else gl_tiles.width_double


cdef inline Py_ssize_t phase_plane(ConvGeometry geom) noexcept nogil:
    """Elements of one stride phase plane: Hq rows of Wq."""
    return geom.Hq * geom.Wq


cdef inline Py_ssize_t padded_channel(ConvGeometry geom) noexcept nogil:
    """Elements of one input channel's padded planes: sh*sw phase planes (one plane of
    (H + 2ph) * Wp with unit stride)."""
    return geom.sh * geom.sw * phase_plane(geom)


cdef inline Py_ssize_t tap_offset(ConvGeometry geom, Py_ssize_t k) noexcept nogil:
    """Offset of tap k = (kh, kw) in one channel's padded planes: its phase plane, then
    its shift in that plane ((kh*dh) * Wp + kw*dw with unit stride)."""
    cdef Py_ssize_t a = (k // geom.KW) * geom.dh, b = (k % geom.KW) * geom.dw
    return ((a % geom.sh) * geom.sw + b % geom.sw) * phase_plane(geom) \
        + (a // geom.sh) * geom.Wq + b // geom.sw


cdef inline Py_ssize_t tap_shift(ConvGeometry geom, Py_ssize_t k) noexcept nogil:
    """Shift of tap k within its phase plane."""
    return tap_offset(geom, k) % phase_plane(geom)


cdef inline Py_ssize_t tap_phase(ConvGeometry geom, Py_ssize_t k) noexcept nogil:
    """Stride phase plane tap k reads."""
    return tap_offset(geom, k) // phase_plane(geom)


cdef inline Py_ssize_t tile_overrun(ConvGeometry geom) noexcept nogil:
    """Zeros kept after the padded planes: the last tile of the last tap reads this far
    past them."""
    return gl_tiles.lanes + (geom.KW - 1) * geom.dw


cdef inline Py_ssize_t largest_shift(ConvGeometry geom) noexcept nogil:
    """The largest tap shift: the zeros before each widened gy plane in grad_input."""
    cdef Py_ssize_t k, most = 0
    for k in range(geom.KH * geom.KW):
        most = max(most, tap_shift(geom, k))
    return most


cdef inline Py_ssize_t gy_strip(ConvGeometry geom) noexcept nogil:
    """Length of one widened gy plane in grad_input: largest_shift zeros, then the wide
    rows (OH * Wq), then zeros to a whole number of tiles of a phase plane."""
    return largest_shift(geom) + whole_tiles(phase_plane(geom))


def offsets_fit(conv, groups):
    """Whether every tap offset of this conv (into one group's scratch) fits a C int."""
    cdef ConvGeometry geom = conv_geometry(conv)
    Og = geom.O // groups
    forward = geom.Cg * padded_channel(geom) + tile_overrun(geom) \
        + 4 * whole_tiles(geom.OH * geom.Wq)
    grad_input = Og * gy_strip(geom) + 4 * whole_tiles(phase_plane(geom))
    return max(forward, grad_input) < INT_LIMIT


cdef inline int rows_in_tile(Py_ssize_t i, Py_ssize_t count, int most) noexcept nogil:
    """How many rows a tile computes from row i of count: ``most`` while that many are
    left, then 2, then 1."""
    return most if count - i >= most else (2 if count - i >= 2 else 1)


cdef inline void tiles(real* out, Py_ssize_t out_step, const real* src, const int* offsets,
                       const real* weights, Py_ssize_t w_step, int taps, Py_ssize_t n,
                       const real* starts, int rows) noexcept nogil:
    """gl_rows of conv_tiles.h for `real`."""
    if real is float:
        gl_rows_float(out, out_step, src, offsets, weights, w_step, taps, n, starts, rows)
    else:
        gl_rows_double(out, out_step, src, offsets, weights, w_step, taps, n, starts, rows)


cdef inline void correlations(real* sums, const real* gy, Py_ssize_t gy_step, const real* xp,
                              const int* offsets, Py_ssize_t n, int rows) noexcept nogil:
    """gl_corr of conv_tiles.h for `real`."""
    if real is float:
        gl_corr_float(sums, gy, gy_step, xp, offsets, n, rows)
    else:
        gl_corr_double(sums, gy, gy_step, xp, offsets, n, rows)


# ------------------------------------------------------- padding and phase planes

cdef inline void _strided(real* dst, Py_ssize_t dst_step, const real* src,
                          Py_ssize_t src_step, Py_ssize_t n) noexcept nogil:
    cdef Py_ssize_t k
    for k in range(n):
        dst[k * dst_step] = src[k * src_step]


cdef inline void copy_every(real* dst, Py_ssize_t dst_step, const real* src,
                            Py_ssize_t src_step, Py_ssize_t n) noexcept nogil:
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


cdef void pad_plane(const real* x, real* xp, ConvGeometry geom) noexcept nogil:
    """xp = x with a zero border of (ph, pw), split into its stride phases: padded pixel
    (u, v) goes to phase (u % sh) * sw + v % sw, at (u // sh, v // sw)."""
    cdef Py_ssize_t h, a, r, b, w0, q0, count, Wq = geom.Wq, P = phase_plane(geom)
    memset(xp, 0, padded_channel(geom) * sizeof(real))
    for b in range(geom.sw):                    # the columns w with (w + pw) % sw == b
        w0 = (b - geom.pw % geom.sw + geom.sw) % geom.sw
        q0, count = (w0 + geom.pw) // geom.sw, (geom.W - w0 + geom.sw - 1) // geom.sw
        a, r = geom.ph % geom.sh, geom.ph // geom.sh    # padded row h + ph: phase a, row r
        for h in range(geom.H):
            copy_every(xp + (a * geom.sw + b) * P + r * Wq + q0, 1, x + h * geom.W + w0,
                       geom.sw, count)
            a += 1                              # (no division per row: they were most
            if a == geom.sh:                    # of this function's time)
                a, r = 0, r + 1


cdef void unpad_phase(const real* xq, real* x, Py_ssize_t phase,
                      ConvGeometry geom) noexcept nogil:
    """The pixels of x (H, W) in stride phase `phase` = their places in the phase plane xq:
    the adjoint of pad_plane's copy, one phase at a time (all of x with unit stride)."""
    cdef Py_ssize_t h, Wq = geom.Wq, a = phase // geom.sw, b = phase % geom.sw
    cdef Py_ssize_t h0 = (a - geom.ph % geom.sh + geom.sh) % geom.sh
    cdef Py_ssize_t w0 = (b - geom.pw % geom.sw + geom.sw) % geom.sw
    cdef Py_ssize_t count = (geom.W - w0 + geom.sw - 1) // geom.sw
    cdef const real* row = xq + (h0 + geom.ph) // geom.sh * Wq + (w0 + geom.pw) // geom.sw
    h = h0
    while h < geom.H:                   # the rows of this phase, one phase row apart
        copy_every(x + h * geom.W + w0, geom.sw, row, 1, count)
        h, row = h + geom.sh, row + Wq


cdef void widen(const real* y, real* wide, ConvGeometry geom) noexcept nogil:
    """wide (OH, Wq) = y (OH, OW) followed by zero columns."""
    cdef Py_ssize_t i
    memset(wide, 0, geom.OH * geom.Wq * sizeof(real))
    for i in range(geom.OH):
        memcpy(wide + i * geom.Wq, y + i * geom.OW, geom.OW * sizeof(real))


# ------------------------------------------------------------------------ forward

cdef void forward_group(const real* x, real* y, const real* w, const real* b, Py_ssize_t Og,
                        const int* offsets, real* work, ConvGeometry geom) noexcept nogil:
    """Output planes y[0..Og) of one group of one image (x its first input plane, w its
    (Og, Cg, KH, KW) weights, b its bias or NULL), gl_tiles.rows (4 or 3; then 2, 1) at a
    time in register tiles over wide rows. offsets: the group's tap list c*P + tap(k); work:
    forward's scratch (the padded planes, their overrun, four wide output rows; zeroed
    once: the planes are rewritten whole, the overrun never)."""
    cdef Py_ssize_t o, c, i, n = whole_tiles(geom.OH * geom.Wq)
    cdef int r, rows, taps = geom.Cg * geom.KH * geom.KW
    cdef real* xp = work
    cdef real* wide = work + geom.Cg * padded_channel(geom) + tile_overrun(geom)
    cdef real starts[4]
    for c in range(geom.Cg):
        pad_plane(x + c * geom.H * geom.W, xp + c * padded_channel(geom), geom)
    o = 0
    while o < Og:
        rows = rows_in_tile(o, Og, gl_tiles.rows)
        for r in range(rows):
            starts[r] = b[o + r] if b != NULL else 0
        tiles(wide, n, xp, offsets, w + o * taps, taps, taps, n, starts, rows)
        for r in range(rows):
            for i in range(geom.OH):
                memcpy(y + ((o + r) * geom.OH + i) * geom.OW, wide + r * n + i * geom.Wq,
                       geom.OW * sizeof(real))
        o += rows


def _forward(const real[:, :, :, ::1] x, const real[:, :, :, ::1] w, const real[::1] b,
             real[:, :, :, ::1] y, real[:, ::1] work, const int[::1] offsets, conv):
    cdef ConvGeometry geom = conv_geometry(conv)
    cdef Py_ssize_t t, n, gi, G = geom.C // geom.Cg, Og = geom.O // G
    cdef const real* bias = &b[0] if b is not None else NULL
    cdef int nt = work.shape[0]
    with nogil, parallel(num_threads=nt):
        for t in prange(geom.N * G, schedule="dynamic"):
            n, gi = t // G, t % G
            forward_group(&x[n, gi * geom.Cg, 0, 0], &y[n, gi * Og, 0, 0], &w[gi * Og, 0, 0, 0],
                          bias + gi * Og if bias != NULL else NULL, Og, &offsets[0],
                          &work[threadid(), 0], geom)


def conv2d_forward(x, w, b, y, conv):
    """y[n, o] = b[o] + sum over the group's input planes c and taps of w[o, c] * x[n, c]."""
    cdef ConvGeometry geom = conv_geometry(conv)
    cdef Py_ssize_t c, k, kk = geom.KH * geom.KW
    cdef int[::1] offsets = np.empty(geom.Cg * kk, dtype=np.intc)    # the tap list
    for c in range(geom.Cg):
        for k in range(kk):
            offsets[c * kk + k] = c * padded_channel(geom) + tap_offset(geom, k)
    nt = threads_for(geom.N * geom.O * geom.OH * geom.OW * geom.Cg * kk)
    work = np.zeros((nt, geom.Cg * padded_channel(geom) + tile_overrun(geom)
                     + 4 * whole_tiles(geom.OH * geom.Wq)), dtype=x.dtype)
    _forward(x, w, b, y, work, offsets.base, conv)


# ----------------------------------------------------------------- input gradient

cdef void grad_input_group(const real* gy, real* gx, const real* wt, Py_ssize_t Og,
                           const int* phase_start, const int* offsets, Py_ssize_t before,
                           Py_ssize_t strip, real* work, ConvGeometry geom) noexcept nogil:
    """Input planes gx[0..Cg) of one group of one image: the Og gy planes put back at every
    tap, written whole. Per stride phase f of the padded input (one phase with unit
    stride), with the taps k that read it (phase_start[f] to phase_start[f+1] in the tap
    order of sort_taps_by_phase):
        gxpad_f[c][p] = sum over outputs o and those taps of w[o, c, k] * gy_wide[o][p - shift(k)]
    in register tiles for gl_tiles.rows (then 2, 1) input planes at a time, then the phase's
    pixels go back to gx. Each gy plane is widened into a strip (gy_strip long, `before`
    = largest_shift zeros first); offsets: the tap list o*strip + before - shift(k),
    phase by phase; wt: the group's weights as phase_weights lays them out; work: Og
    strips, four phase planes (zeroed once: only the strips' wide rows are rewritten)."""
    cdef Py_ssize_t o, c, f, count, n = whole_tiles(phase_plane(geom))
    cdef int r, rows
    cdef real* gyw = work
    cdef real* gxq = work + Og * strip
    cdef real zeros[4]
    zeros[0] = zeros[1] = zeros[2] = zeros[3] = 0
    for o in range(Og):
        widen(gy + o * geom.OH * geom.OW, gyw + o * strip + before, geom)
    for f in range(geom.sh * geom.sw):
        count = phase_start[f + 1] - phase_start[f]
        c = 0
        while c < geom.Cg:
            rows = rows_in_tile(c, geom.Cg, gl_tiles.rows)
            tiles(gxq, n, gyw, offsets + Og * phase_start[f],
                  wt + geom.Cg * Og * phase_start[f] + c * Og * count, Og * count,
                  Og * count, n, zeros, rows)
            for r in range(rows):
                unpad_phase(gxq + r * n, gx + (c + r) * geom.H * geom.W, f, geom)
            c += rows


cdef void sort_taps_by_phase(ConvGeometry geom, int[::1] taps_by_phase,
                             int[::1] phase_start) noexcept:
    """The taps k in the order of the stride phase they read: phase f's taps are
    taps_by_phase[phase_start[f] : phase_start[f + 1]] (phase_start: sh*sw + 1 zeros on
    entry)."""
    cdef Py_ssize_t k, f, i = 0
    for k in range(geom.KH * geom.KW):
        phase_start[tap_phase(geom, k) + 1] += 1
    for f in range(geom.sh * geom.sw):
        phase_start[f + 1] += phase_start[f]
        for k in range(geom.KH * geom.KW):
            if tap_phase(geom, k) == f:
                taps_by_phase[i] = k
                i += 1


cdef void phase_weights(ConvGeometry geom, const real[::1] w, real[::1] wt,
                        const int[::1] taps_by_phase, const int[::1] phase_start) noexcept:
    """The weights in the order the input gradient's tiles read them, laid out once per
    call (gathering them image by image instead cost more than the layout): group by
    group, phase by phase, wt[c][o][i] = w[o, c, taps_by_phase[phase_start[f] + i]] for
    the group's input planes c and outputs o. The tiles of input planes c, c+1, ... read
    one contiguous slice, from wt + Cg*Og*phase_start[f] + c*Og*count."""
    cdef Py_ssize_t gi, f, c, o, i, at = 0, kk = geom.KH * geom.KW
    cdef Py_ssize_t G = geom.C // geom.Cg, Og = geom.O // G
    for gi in range(G):
        for f in range(geom.sh * geom.sw):
            for c in range(geom.Cg):
                for o in range(Og):
                    for i in range(phase_start[f], phase_start[f + 1]):
                        wt[at] = w[((gi * Og + o) * geom.Cg + c) * kk + taps_by_phase[i]]
                        at += 1


def _phase_weights(const real[::1] w, real[::1] wt, const int[::1] taps_by_phase,
                   const int[::1] phase_start, conv):
    phase_weights(conv_geometry(conv), w, wt, taps_by_phase, phase_start)


def _grad_input(const real[:, :, :, ::1] gy, const real[::1] wt, real[:, :, :, ::1] gx,
                const int[::1] phase_start, const int[::1] offsets, real[:, ::1] work, conv):
    cdef ConvGeometry geom = conv_geometry(conv)
    cdef Py_ssize_t t, n, gi, G = geom.C // geom.Cg, Og = geom.O // G
    cdef Py_ssize_t before = largest_shift(geom), strip = gy_strip(geom)
    cdef Py_ssize_t group_weights = Og * geom.Cg * geom.KH * geom.KW
    cdef int nt = work.shape[0]
    with nogil, parallel(num_threads=nt):
        for t in prange(geom.N * G, schedule="dynamic"):
            n, gi = t // G, t % G
            grad_input_group(&gy[n, gi * Og, 0, 0], &gx[n, gi * geom.Cg, 0, 0],
                             &wt[gi * group_weights], Og, &phase_start[0], &offsets[0],
                             before, strip, &work[threadid(), 0], geom)


def conv2d_grad_input(gy, w, gx, conv, groups):
    """gx[n, c] = sum over the outputs o of c's group of w[o, c] * gy[n, o] put back at
    the taps (every plane of gx is written whole)."""
    cdef ConvGeometry geom = conv_geometry(conv)
    cdef Py_ssize_t Og = geom.O // groups, strip = gy_strip(geom), before = largest_shift(geom)
    cdef Py_ssize_t f, o, i, count, kk = geom.KH * geom.KW
    cdef int[::1] taps_by_phase = np.empty(kk, dtype=np.intc)
    cdef int[::1] phase_start = np.zeros(geom.sh * geom.sw + 1, dtype=np.intc)
    cdef int[::1] offsets = np.empty(Og * kk, dtype=np.intc)
    sort_taps_by_phase(geom, taps_by_phase, phase_start)
    for f in range(geom.sh * geom.sw):          # each output's tap list, phase by phase
        count = phase_start[f + 1] - phase_start[f]
        for o in range(Og):
            for i in range(count):
                offsets[Og * phase_start[f] + o * count + i] = \
                    o * strip + before - tap_shift(geom, taps_by_phase[phase_start[f] + i])
    wt = np.empty(w.size, dtype=w.dtype)
    _phase_weights(w.ravel(), wt, taps_by_phase, phase_start, conv)
    nt = threads_for(geom.N * geom.O * geom.OH * geom.OW * geom.Cg * geom.KH * geom.KW)
    work = np.zeros((nt, Og * strip + 4 * whole_tiles(phase_plane(geom))), dtype=gy.dtype)
    _grad_input(gy, wt, gx, phase_start.base, offsets.base, work, conv)


# ---------------------------------------------------------------- weight gradient

cdef void grad_weight_block(const real* xp, Py_ssize_t x_step, const real* gyw,
                            Py_ssize_t gy_step, Py_ssize_t n, double* gw, int keep,
                            const int* offsets, real* sums, ConvGeometry geom) noexcept nogil:
    """The weight gradient of `keep` (1, 2 or gl_tiles.rows) outputs of one group, for
    every tap t = (c, k) of the group: from its padded input planes (xp) and the outputs'
    widened gy planes (gyw, n long), image by image (x_step, gy_step apart):
        gw[r, c, k] = sum over images of <gy_wide[r], xpad[c] shifted by tap k>
    The taps go four at a time (offsets: the group's tap list, padded to whole quads by
    repeating the last tap), each block of outputs x 4 taps in vector registers; one
    image's planes stay in cache while every quad of taps reads them. sums: scratch for
    every quad's W-lane partial sums, reduced into gw at the end."""
    cdef Py_ssize_t i, q, taps = geom.Cg * geom.KH * geom.KW, quads = (taps + 3) // 4
    cdef int r, t, lane, rows = keep if keep > 2 else 2, W = vector_width(sums)
    cdef Py_ssize_t block = rows * 4 * W, row_step = n if keep > 1 else 0   # one output:
    cdef double total                                                      # read it twice
    memset(sums, 0, quads * block * sizeof(real))
    for i in range(geom.N):
        for q in range(quads):
            correlations(sums + q * block, gyw + i * gy_step, row_step, xp + i * x_step,
                         offsets + 4 * q, n, rows)
    for q in range(quads):
        for r in range(keep):
            for t in range(min(4, taps - 4 * q)):
                total = 0
                for lane in range(W):
                    total += sums[q * block + (r * 4 + t) * W + lane]
                gw[r * taps + 4 * q + t] += total


def _pad_all(const real[:, :, :, ::1] x, real[:, ::1] xp, conv):
    """xp[n, c*P : (c+1)*P] = plane (n, c) zero-padded, and zeros after the last plane."""
    cdef ConvGeometry geom = conv_geometry(conv)
    cdef Py_ssize_t t, n, c
    cdef int nt = threads_for(xp.shape[0] * xp.shape[1])
    with nogil:
        for t in prange(geom.N * geom.C, schedule="static", num_threads=nt):
            n, c = t // geom.C, t % geom.C
            pad_plane(&x[n, c, 0, 0], &xp[n, c * padded_channel(geom)], geom)
            if c == geom.C - 1:
                memset(&xp[n, geom.C * padded_channel(geom)], 0,
                       tile_overrun(geom) * sizeof(real))


def _widen_all(const real[:, :, :, ::1] gy, real[:, :, ::1] gyw, conv):
    """gyw[n, o] = plane (n, o) widened with zero columns, then zeros to the row's end."""
    cdef ConvGeometry geom = conv_geometry(conv)
    cdef Py_ssize_t t, n, o
    cdef int nt = threads_for(gyw.shape[0] * gyw.shape[1] * gyw.shape[2])
    with nogil:
        for t in prange(geom.N * geom.O, schedule="static", num_threads=nt):
            n, o = t // geom.O, t % geom.O
            widen(&gy[n, o, 0, 0], &gyw[n, o, 0], geom)
            memset(&gyw[n, o, geom.OH * geom.Wq], 0,
                   (gyw.shape[2] - geom.OH * geom.Wq) * sizeof(real))


def output_blocks(O, Og):
    """(first output, outputs) of the blocks grad_weight_block computes: each group's
    outputs gl_tiles.rows at a time, then two, then one (as int arrays)."""
    firsts, counts = [], []
    for group_start in range(0, O, Og):
        o = 0
        while o < Og:
            count = rows_in_tile(o, Og, gl_tiles.rows)
            firsts.append(group_start + o)
            counts.append(count)
            o += count
    return np.array(firsts, dtype=np.intc), np.array(counts, dtype=np.intc)


def _grad_weight_blocks(const real[:, ::1] xp, const real[:, :, ::1] gyw,
                        double[:, :, :, ::1] gw, const int[::1] firsts, const int[::1] counts,
                        const int[::1] offsets, real[:, ::1] sums, conv):
    """gw for every output from the padded inputs and widened gys, one task per block of
    a group's outputs (see grad_weight_block)."""
    cdef ConvGeometry geom = conv_geometry(conv)
    cdef Py_ssize_t b, Og = geom.O // (geom.C // geom.Cg)
    cdef int nt = sums.shape[0]
    with nogil, parallel(num_threads=nt):
        for b in prange(firsts.shape[0], schedule="dynamic"):
            grad_weight_block(&xp[0, (firsts[b] // Og) * geom.Cg * padded_channel(geom)],
                              xp.shape[1], &gyw[0, firsts[b], 0], geom.O * gyw.shape[2],
                              gyw.shape[2], &gw[firsts[b], 0, 0, 0], counts[b], &offsets[0],
                              &sums[threadid(), 0], geom)


def conv2d_grad_weight(x, gy, conv, groups):
    """gw[o, c, kh, kw] = sum_n <gy[n, o], input plane c of o's group read at tap (kh, kw)>,
    summed in float64."""
    cdef ConvGeometry geom = conv_geometry(conv)
    cdef Py_ssize_t kk = geom.KH * geom.KW, taps = geom.Cg * kk, quads = (taps + 3) // 4
    cdef Py_ssize_t b
    width = gl_tiles.width_float if x.dtype == np.float32 else gl_tiles.width_double
    xp = scratch((geom.N, geom.C * padded_channel(geom) + tile_overrun(geom)), x.dtype, "cols")
    gyw = scratch((geom.N, geom.O, round_up(geom.OH * geom.Wq, width)), x.dtype, "rows")
    _pad_all(x, xp, conv)
    _widen_all(gy, gyw, conv)
    cdef int[::1] offsets = np.empty(quads * 4, dtype=np.intc)   # the group's tap list,
    for b in range(quads * 4):                                   # the last tap repeated
        offsets[b] = (min(b, taps - 1) // kk) * padded_channel(geom) \
            + tap_offset(geom, min(b, taps - 1) % kk)
    firsts, counts = output_blocks(geom.O, geom.O // groups)
    nt = threads_for(geom.N * geom.O * gyw.shape[2] * taps)
    gw = np.zeros(conv[1])
    sums = np.empty((nt, quads * 4 * 4 * width), dtype=x.dtype)
    _grad_weight_blocks(xp, gyw, gw, firsts, counts, offsets.base, sums, conv)
    return gw
