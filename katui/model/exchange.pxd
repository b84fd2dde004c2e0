# C types for exchange.py when setup.py compiles it with Cython (the .py stays the source).
# Message rows and positions are counts of messages held in memory (far below 2**31: each row
# costs dozens of bytes), so 32-bit fields; an idle time is 64-bit nanoseconds. A load-test
# capture has millions of them.

cdef class Exchange:
    cdef public object store
    cdef public long long _idle
    cdef public int req, resp, n
    # One byte each (a bint is four): with the 1xx responses kept only by the exchanges that
    # have any (InformedExchange), 48 bytes an exchange as allocated, not 64.
    cdef public unsigned char reused, pipelined
