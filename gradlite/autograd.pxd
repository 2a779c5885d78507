# Types for Cython, which compiles autograd.py when gradlite is installed (setup.py).
# autograd.py is the source to read; this only makes Context an extension type whose
# engine fields are C struct slots (an op's own fields, ctx.stride = 2, go to its
# __dict__ as before).

cdef class Context:
    cdef dict __dict__
    cdef public object fn, inputs, needs_input_grad, _saved, _result, _output, _args
    cdef public object _writes_then
    cdef object __weakref__
