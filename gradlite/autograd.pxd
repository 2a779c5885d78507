# Types for Cython, which compiles autograd.py when gradlite is installed (setup.py).
# autograd.py is the source to read; this only makes a tensor's engine fields
# (_TensorFields) and Context's C struct fields (an op's own fields, ctx.stride = 2, go to
# its __dict__ as before), and types the sweep's locals so that reading them is direct.

cimport cython


cdef class _TensorFields:
    cdef public object data, _grad, _ctx, _hooks, _version_counter
    cdef public bint _requires_grad, _retains_grad
    cdef object __weakref__


cdef class Context:
    cdef dict __dict__
    cdef public object fn, inputs, needs_input_grad, _saved, _result, _output, _args
    cdef public object _writes_then
    cdef object __weakref__

    cdef _release(self)
    @cython.locals(tensor=_TensorFields)
    cdef _as_tensor(self, value)


@cython.locals(t=_TensorFields)
cpdef make_tensor(array, bint requires_grad)

@cython.locals(tensor=_TensorFields, arrays=list, needs=list)
cdef tuple _unwrap_args(tuple args)

@cython.locals(pending=dict, captured=dict, ctx=Context, i=Py_ssize_t, key=object,
               tensor=_TensorFields, inp=_TensorFields)
cpdef run_backward(root, grad, bint retain_graph=*, bint create_graph=*, capture=*)

@cython.locals(order=list, visited=set, stack=list)
cpdef list topological_order(root, parents)

cdef _sum(_TensorFields a, bint a_owned, _TensorFields b)

@cython.locals(grad=_TensorFields)
cdef _as_input_grad(g, _TensorFields inp, fn)
