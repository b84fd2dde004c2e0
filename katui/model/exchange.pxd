# C types for exchange.py when setup.py compiles it with Cython (the .py stays the source).
# Message rows and positions are counts of messages held in memory (far below 2**31: each row
# costs dozens of bytes), so 32-bit fields; an idle time is 64-bit nanoseconds. A load-test
# capture has millions of them.
cimport cython
from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_FromStringAndSize

cdef class Exchange:
    cdef public object store
    cdef public long long _idle
    cdef public int req, resp, n
    # One byte each (a bint is four): with the 1xx responses kept only by the exchanges that
    # have any (InformedExchange), 48 bytes an exchange as allocated, not 64.
    cdef public unsigned char reused, pipelined



# A connection's plain exchanges in one bytes object (exchange.py: ExchangeRun), written and read
# through C pointers (the index checked against its length). Its methods are C-only (cdef): no
# vtable pointer, 32 bytes a run.
cdef Py_ssize_t _ROW_C  # ROW_BYTES, REUSED, PIPELINED as C integers
cdef unsigned char _REUSED_C, _PIPELINED_C


@cython.locals(ex=Exchange, n=Py_ssize_t, k=Py_ssize_t, rows=bytes, base="char *")
cpdef object kept(tuple exchanges)


cdef class ExchangeRun:
    cdef public object store
    cdef public bytes rows

    @cython.locals(k=Py_ssize_t)
    cdef tuple _made(self)
    @cython.locals(rows=bytes, n=Py_ssize_t, ex=Exchange, base="char *", bits=cython.uchar)
    cdef Exchange _item(self, Py_ssize_t k)
