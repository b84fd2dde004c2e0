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



@cython.locals(ex=Exchange)
cpdef Exchange made(object store, int req, int resp)

# A connection's plain exchanges in one bytes object (exchange.py: ExchangeRun), written and read
# through C pointers (the index checked against its length): 40 bytes a run (its methods' vtable
# pointer is 8 of them).
cdef Py_ssize_t _ROW_C  # ROW_BYTES, REUSED, PIPELINED as C integers
cdef unsigned char _REUSED_C, _PIPELINED_C


@cython.locals(ex=Exchange)
cpdef object kept(tuple exchanges)
cpdef ExchangeRun columns(object exchanges)
@cython.locals(ex=Exchange, w=RunWriter, bits=cython.uchar)
cdef ExchangeRun _packed(tuple exchanges, object store)


@cython.final
cdef class RunWriter:
    cdef object store, cols
    cdef bytes rows
    cdef Py_ssize_t count, k

    @cython.locals(k=Py_ssize_t, count=Py_ssize_t, base="char *")
    cpdef void put(self, long long idle, int req, int resp, unsigned int n, unsigned char bits) except *
    cpdef ExchangeRun run(self)


@cython.locals(n=Py_ssize_t)
cdef Py_ssize_t _count(bytes rows, Py_ssize_t k) except -1


# Final: the column readers (cpdef: the tests call them too) are called directly, no lookup of
# an override by name per call.
@cython.final
cdef class ExchangeRun:
    cdef public object store
    cdef public bytes rows

    @cython.locals(k=Py_ssize_t)
    cdef tuple _made(self)
    @cython.locals(ex=Exchange, bits=cython.uchar)
    cdef Exchange _item(self, Py_ssize_t k)
    # (idle_at: except *, as except? -2 makes Cython 3.3 write "-2LLLL")
    @cython.locals(rows=bytes)
    cpdef long long idle_at(self, Py_ssize_t k) except *
    @cython.locals(rows=bytes, n=Py_ssize_t)
    cpdef int req_at(self, Py_ssize_t k) except? -2
    @cython.locals(rows=bytes, n=Py_ssize_t)
    cpdef int resp_at(self, Py_ssize_t k) except? -2
    @cython.locals(rows=bytes, n=Py_ssize_t)
    cpdef unsigned int n_at(self, Py_ssize_t k) except? 0
    @cython.locals(rows=bytes, n=Py_ssize_t)
    cpdef unsigned char flags_at(self, Py_ssize_t k) except? 255
