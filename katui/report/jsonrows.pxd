# C types for jsonrows.py when setup.py compiles it with Cython (the .py stays the source).
# Times, frame numbers and sizes are read as the model's and the store's C integers and
# written from them; what may be None or of any size stays a Python object.
cimport cpython.array
cimport cython

from katui.model.connection cimport Close, Connection, rare_fields
from katui.model.exchange cimport Exchange, ExchangeRun
from katui.model.store cimport body_at, end_at, ix_at

# The message store's row layout (katui.model.store), imported into C globals: a row's index
# arithmetic is C, not a Python operation per column read.
cdef Py_ssize_t NUM, SMALL, COL_START, SM_BITS, SM_END, SM_FIRST, SM_FRAME, SM_STATUS
cdef Py_ssize_t MAX_CACHED, BATCH
cdef unsigned int CHUNKED, COMPLETE, END_BIG
cdef long long NO_IDLE, NO_TS, SHORT_NS, LONG_NS
cdef unsigned char REUSED, PIPELINED
cdef tuple _INTS, _MICROS, _TRIM3, _DOT_PAD3, _DOT_TRIM3, _BOOL, _EXCHANGE_BITS, _RESPONSE_BITS
cdef dict _TEXTS


cpdef str sec(object ns)
cdef str _float_secs(object ns)
cdef double _MANTISSA
cdef str _secs(long long ns)
@cython.locals(whole=cython.longlong, frac=cython.longlong, hi=cython.longlong, lo=cython.longlong)
cdef str _micros_text(long long us)
@cython.locals(ns=cython.longlong, us=cython.longlong, frac=cython.longlong, hi=cython.longlong, lo=cython.longlong)
cdef _span_pieces(list parts, long long later, long long earlier)
@cython.locals(d=cython.double, top=cython.double, e=cython.int, k=cython.int, m=cython.longlong, low=cython.longlong,
               us=cython.longlong, rest=cython.longlong, half=cython.longlong)
cdef long long _float_micros(long long ns)
cdef str _span(long long later, long long earlier)
cdef str _wide_span(object later, object earlier)
cdef str _opt(object v)
cdef str _int(long long v)
cdef str _frame(unsigned int frame)
cpdef str value(object v)
cdef str _text(object v)
# Typed, a connection's and an exchange's fields are read from their C structs, not looked up
# by name (tens of thousands of connections, hundreds of thousands of exchanges).
@cython.locals(cl=Close, frame=cython.longlong, ts=cython.longlong, first_ns=cython.longlong, count=cython.longlong,
               rtt=str)
cpdef str connection_head(object a, Connection c, object role)
cdef object _cached(list cache, Py_ssize_t ix)
cdef object _kept(list cache, Py_ssize_t ix, object piece)


cdef class RequestWriter:
    cdef public long long first_ns
    cdef list _req, _resp, _uri, _heads, _uris
    cdef object _store
    # The store's columns (array.array) as memory views: C reads, bounds-checked.
    cdef unsigned int[:] _small
    # 1, 2 or 4 bytes an item (katui.model.store._fit): read with store.ix_at
    cdef cpython.array.array _head_ix, _uri_ix
    cdef long long[:] _num

    cdef _use(self, object store)
    cdef tuple _req_pieces(self, Py_ssize_t ix)
    cdef str _uri_json(self, Py_ssize_t ix)
    cdef str _resp_piece(self, unsigned int status, Py_ssize_t ix)
    @cython.locals(parts=list, i=Py_ssize_t, mark=Py_ssize_t, c=Connection)
    cpdef tuple batch(self, object a, list conns, Py_ssize_t start, dict roles)
    # A plain connection's exchanges read from its ExchangeRun's columns (C reads), no object each.
    @cython.locals(first=bint, e=Exchange, run=ExchangeRun, k=Py_ssize_t, resp=Py_ssize_t, idle=cython.longlong,
                   at=cython.longlong, bits=cython.uchar, opening=str)
    cdef bint _connection(self, object a, Connection c, list parts) except -1
    @cython.locals(parts=list)
    cpdef str exchange(self, Exchange e)
    @cython.locals(first=Py_ssize_t, bits=cython.uchar)
    cdef _exchange(self, Exchange e, list parts, str opening)
    cdef _row(self, object store, long long idle, long long n, unsigned char bits, Py_ssize_t req,
              Py_ssize_t resp, Py_ssize_t first, list parts, str opening)
    @cython.locals(took=cython.uint, end=cython.longlong)
    cdef _ttfb(self, Py_ssize_t req, Py_ssize_t resp, Py_ssize_t first, list parts)
    @cython.locals(s=Py_ssize_t, pieces=tuple)
    cdef _request(self, Py_ssize_t req, list parts)
    @cython.locals(s=Py_ssize_t)
    cdef _response(self, Py_ssize_t resp, list parts)
    @cython.locals(frame=cython.uint, start=cython.uint)
    cdef _frames(self, str last, str first, Py_ssize_t s, list parts)
