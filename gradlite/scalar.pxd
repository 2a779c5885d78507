# Types for Cython, which compiles scalar.py when gradlite is installed (setup.py).
# scalar.py is the source to read; these declarations only let the compiled Value
# keep its numbers as C doubles and walk the graph without Python-level lookups.
cimport cython

@cython.final
@cython.freelist(1024)
cdef class Value:
    cdef public double data, grad
    cdef public tuple _prev, _local
    cdef public object _op, label
    cdef public long _seen

    @cython.locals(order=list, v=Value, child=Value, i=Py_ssize_t, local=double)
    cpdef backward(self)


@cython.locals(v=Value)
cdef list _data(values)

@cython.locals(i=Py_ssize_t, total=double)
cdef double _sum_of_products(list a, list b)

@cython.locals(node=Value, child=Value, i=Py_ssize_t, search=long,
               order=list, stack=list, next_input=list)
cdef list _topological_order(Value root)

cdef Value _value(x)
