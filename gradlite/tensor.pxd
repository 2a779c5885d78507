# Types for Cython, which compiles tensor.py when gradlite is installed (setup.py).
# tensor.py is the source to read; this only makes the engine's fields of a tensor
# (_TensorFields, what its __slots__ says) C struct fields, so that making a tensor and
# reading them is cheap. Tensor itself stays a Python class (its methods can be wrapped,
# as the ONNX tracer does).
cimport cython

cdef class _TensorFields:
    cdef public object data, _grad, _ctx, _hooks, _version_counter
    cdef public bint _requires_grad, _retains_grad
    cdef object __weakref__


@cython.locals(t=_TensorFields)
cpdef _make_tensor(array, bint requires_grad)
