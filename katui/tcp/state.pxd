# C types for state.py when setup.py compiles it with Cython (the .py stays the source).
# Sequence numbers (base, next, fin_seq, origin) are 32-bit values from the capture, or NONE
# (-1): long long holds both without a Python object each.

cdef class Half:
    cdef public object pending, heap, out
    cdef public long long base, next, fin_seq, origin
    cdef public long long frames, bytes, frames_with_data
    cdef public long long fin_frame, fin_ns, zero_frame, zero_ns, zero_last


cdef class Conn:
    cdef public object stream, ends, frames, sink
    cdef public Half h0, h1
    cdef public object syn_from, synack_from, irtt, close_from
    cdef public object rst_frames, rst_from
    cdef public long long first_frame, last_frame
    cdef public long long first_ns, last_ns, syn_ns, close_frame, close_ns, last_data_ns, idle_ref_ns
    cdef public long long retrans, ooo, lost, truncated
    cdef public bint close_rst, midstream, a_hi


cpdef void hold(Half half, object seq, tuple entry)
cpdef object first_held(Half half)
cpdef void forget_held(Half half)
