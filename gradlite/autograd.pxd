# Types for Cython, which compiles autograd.py when gradlite is installed (setup.py).
# autograd.py is the source to read; this only makes Context an extension type whose
# engine fields are C struct slots (an op's own fields, ctx.stride = 2, go to its
# __dict__ as before), and types the sweep's locals.

cimport cython


cdef class Context:
    cdef dict __dict__
    cdef public object fn, inputs, needs_input_grad, _saved, _result, _output, _args
    cdef public object _writes_then
    cdef object __weakref__


@cython.locals(pending=dict, captured=dict, ctx=Context, i=Py_ssize_t, key=object)
cpdef run_backward(root, grad, bint retain_graph=*, bint create_graph=*, capture=*)

@cython.locals(order=list, visited=set, stack=list)
cpdef list topological_order(root, parents)

cdef _sum(a, b)
