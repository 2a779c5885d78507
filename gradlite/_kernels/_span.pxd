"""Which outputs of a strided, padded window sweep read inside the input (shared by the
.pyx modules, inlined at compile time)."""


cdef inline void _span(Py_ssize_t off, Py_ssize_t pad, Py_ssize_t stride, Py_ssize_t size,
                       Py_ssize_t out, Py_ssize_t* lo, Py_ssize_t* hi) noexcept nogil:
    """Output positions o in [lo, hi) whose input o*stride - pad + off lies in [0, size)."""
    cdef Py_ssize_t a = pad - off, b = size - 1 + pad - off
    lo[0] = min(out, (a + stride - 1) // stride) if a > 0 else 0
    hi[0] = min(out, b // stride + 1) if b >= 0 else 0
    if hi[0] < lo[0]:
        hi[0] = lo[0]
