# C types for state.py when setup.py compiles it with Cython (the .py stays the source).
# Sequence numbers (next, fin_seq, origin) are 32-bit values from the capture, or NONE (-1):
# long long holds both without a Python object each. A half's ``base`` is known from its first
# frame on (``frames`` > 0): 32 bits. Frame numbers and counts of frames
# are 32-bit, as everywhere in katui (the frame table, the message store); byte counts and
# times stay 64-bit. A load test has 100,000s of connections open while the capture is read.

cimport cython


cdef class ByteConsumer:
    cpdef void feed(self, object buf, Py_ssize_t start, Py_ssize_t end, long long frame, long long ts) except *


cdef class Held:
    cdef public dict segments
    cdef public list heap
    cdef public long long origin


cdef class Half:
    cdef public Held held
    cdef public ByteConsumer out
    cdef public long long next, fin_seq
    cdef public long long bytes, fin_ns, zero_ns
    cdef public unsigned int base, frames, frames_with_data, fin_frame, zero_frame, zero_last


cdef class Conn:
    cdef public object ends, frames, sink, rst_frames
    cdef public Half h0, h1
    cdef public long long first_ns, last_ns, syn_ns, close_ns, last_data_ns, idle_ref_ns, irtt_ns
    cdef public unsigned int stream, first_frame, last_frame, close_frame, retrans, ooo, lost, truncated
    cdef public signed char syn_from, synack_from, close_from  # a side, 0 or 1, or NONE (-1)
    cdef public unsigned char rst_sides
    cdef public unsigned char close_rst, midstream, a_hi, irtt_known  # true or false (a bint is 4 bytes)


@cython.locals(held=Held)
cpdef void hold(Half half, object seq, tuple entry)
@cython.locals(held=Held)
cpdef object first_held(Half half)
@cython.locals(held=Held)
cpdef tuple take_held(Half half, object seq)
cpdef Py_ssize_t held_count(Half half) except -1
cpdef void forget_held(Half half)
