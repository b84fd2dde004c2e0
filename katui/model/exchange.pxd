# C types for exchange.py when setup.py compiles it with Cython (the .py stays the source).
# Message rows and positions are counts of messages held in memory (far below 2**31: each row
# costs dozens of bytes), so 32-bit fields; an idle time is 64-bit nanoseconds; the store (or the
# 1xx views) one field and the two flags one byte. 48 bytes an exchange as allocated (64 with a
# field each for the store, the 1xx views and the flags): a load-test capture has millions.

cdef class Exchange:
    cdef object _ctx
    cdef public long long _idle
    cdef public int req, resp, n
    cdef public unsigned char _flags
