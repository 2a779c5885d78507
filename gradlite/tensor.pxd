# Types for Cython, which compiles tensor.py when gradlite is installed (setup.py).
# tensor.py is the source to read; this only makes Tensor an extension type whose graph
# fields are C struct slots (what __slots__ says in the .py), so making one is cheap.
cimport cython

@cython.freelist(4096)
cdef class Tensor:
    cdef public object data, _grad, _ctx, _hooks, _version_counter
    cdef public bint _requires_grad, _retains_grad
    cdef object __weakref__



@cython.locals(t=Tensor)
cpdef Tensor _make_tensor(array, bint requires_grad)
