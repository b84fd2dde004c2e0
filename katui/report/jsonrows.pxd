# C types for jsonrows.py when setup.py compiles it with Cython (the .py stays the source).
# Every number written stays a Python int (frame numbers, sizes and times come from capture
# bytes); only the message rows' indexes are C integers.
cimport cython


cpdef str sec(object ns)
cdef str _opt(object v)
cpdef str value(object v)
cpdef str connection_head(object a, object c, object role)


cdef class RequestWriter:
    cdef public object first_ns
    cdef dict _req, _resp
    cdef object _store, _head_ix, _uri_ix
    cdef list _heads, _uris

    cdef tuple _req_pieces(self, object h)
    cdef tuple _resp_piece(self, object status, object h)
    @cython.locals(req=Py_ssize_t, resp=Py_ssize_t, s=Py_ssize_t, first=Py_ssize_t)
    cpdef str exchange(self, object e)
