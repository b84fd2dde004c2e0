# C types for jsonrows.py when setup.py compiles it with Cython (the .py stays the source).
# Every number written stays a Python int (frame numbers, sizes and times come from capture
# bytes); only the message rows' indexes are C integers.
cimport cython

from katui.model.connection cimport Close, Connection
from katui.model.exchange cimport Exchange

# The message store's row layout (katui.model.store), imported into C globals: a row's index
# arithmetic is C, not a Python operation per column read.
cdef Py_ssize_t NUM, SMALL, COL_BODY, COL_END, COL_START, SM_BITS, SM_FIRST, SM_FRAME, SM_STATUS
cdef int CHUNKED, COMPLETE
cdef long long NO_IDLE, NO_TS
cdef unsigned int NO_FRAME


@cython.locals(n=cython.longlong, us=cython.longlong, whole=cython.longlong, frac=cython.longlong, hi=cython.longlong,
               lo=cython.longlong)
cpdef str sec(object ns)
cdef str _opt(object v)
cpdef str value(object v)
# Typed, a connection's and an exchange's fields are read from their C structs, not looked up
# by name (tens of thousands of connections, hundreds of thousands of exchanges).
@cython.locals(req=Py_ssize_t, resp=Py_ssize_t, first=Py_ssize_t)
cdef str _ttfb(Exchange e, object small, object num)
cdef str _explanation(object text)
@cython.locals(cl=Close, frame=cython.longlong, ts=cython.longlong)
cpdef str connection_head(object a, Connection c, object role)


cdef class RequestWriter:
    cdef public object first_ns
    cdef dict _req, _resp, _uri
    cdef object _store, _head_ix, _uri_ix
    cdef list _heads, _uris

    cdef void _use(self, object store)
    cdef tuple _req_pieces(self, Py_ssize_t ix)
    cdef str _uri_json(self, Py_ssize_t ix)
    cdef tuple _resp_piece(self, object status, Py_ssize_t ix)
    @cython.locals(out=list)
    cpdef object plain(self, object exchanges)
    @cython.locals(req=Py_ssize_t, resp=Py_ssize_t, s=Py_ssize_t, ix=Py_ssize_t, u=Py_ssize_t, idle=cython.longlong)
    cpdef str exchange(self, Exchange e)
