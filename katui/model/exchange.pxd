# C types for exchange.py when setup.py compiles it with Cython (the .py stays the source).
# Message rows and positions are counts of messages held in memory (far below 2**31: each row
# costs dozens of bytes), so 32-bit fields; an idle time is 64-bit nanoseconds. 80 bytes an
# exchange as allocated (96 with 64-bit rows): a load-test capture has millions of them.

cdef class Exchange:
    cdef public object store, informational
    cdef public long long _idle
    cdef public int req, resp, n
    cdef public bint reused, pipelined
