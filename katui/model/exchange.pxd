# C types for exchange.py when setup.py compiles it with Cython (the .py stays the source).

cdef class Exchange:
    cdef public object store, informational
    cdef public long long req, resp, n, _idle
    cdef public bint reused, pipelined
