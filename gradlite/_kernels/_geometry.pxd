"""The geometry of one convolution, shared by the im2col and direct kernels (inlined at
compile time). Sizes and index arithmetic are Py_ssize_t: 64-bit, no overflow for any
array numpy can hold."""

cdef struct ConvGeometry:
    # input (N, C, H, W), weight (O, Cg, KH, KW), output (N, O, OH, OW), per-axis
    # stride (sh, sw), padding (ph, pw) and dilation (dh, dw); Hq x Wq: one stride phase
    # plane of the padded input (_direct.pyx), Hq = ceil((H + 2ph) / sh), Wq likewise
    Py_ssize_t N, C, H, W, O, Cg, KH, KW, OH, OW, sh, sw, ph, pw, dh, dw, Hq, Wq


cdef inline ConvGeometry conv_geometry(conv) except *:
    """The geometry of conv = (x_shape, w_shape, stride, padding, dilation), sizes that
    _checks.check_conv has accepted (so every output size is >= 1)."""
    cdef ConvGeometry geom
    x_shape, w_shape, stride, padding, dilation = conv
    geom.N, geom.C, geom.H, geom.W = x_shape
    geom.O, geom.Cg, geom.KH, geom.KW = w_shape
    (geom.sh, geom.sw), (geom.ph, geom.pw), (geom.dh, geom.dw) = stride, padding, dilation
    geom.OH = (geom.H + 2 * geom.ph - geom.dh * (geom.KH - 1) - 1) // geom.sh + 1
    geom.OW = (geom.W + 2 * geom.pw - geom.dw * (geom.KW - 1) - 1) // geom.sw + 1
    geom.Hq = (geom.H + 2 * geom.ph + geom.sh - 1) // geom.sh
    geom.Wq = (geom.W + 2 * geom.pw + geom.sw - 1) // geom.sw
    return geom
