# C types for decode.py when setup.py compiles it with Cython (the .py stays the source).
# Offsets are Py_ssize_t; every index into the capture is through a bounds-checked typed
# memoryview (setup.py keeps boundscheck on). Header fields are at most 32 bits wide.
cimport cython

cdef object _V6_ADDRESS


cdef class Segment:
    cdef public object ends
    cdef public bint swapped
    cdef public long long seq, ack
    cdef public int flags, win
    cdef public Py_ssize_t toff, poff, pcap, plen


cdef long long _be16(const unsigned char[:] b, Py_ssize_t i) except? -1
@cython.locals(top=cython.longlong)
cdef long long _be32(const unsigned char[:] b, Py_ssize_t i) except? -1
cdef object _key4(object lo, object hi)
cdef inline bint _ip_type(int hi, int lo) noexcept


@cython.locals(end=Py_ssize_t, ip=Py_ssize_t, ver=int, ihl=int, tcp=Py_ssize_t, ip_end=Py_ssize_t,
               total=Py_ssize_t, nxt=int, payload=Py_ssize_t, wire_payload=Py_ssize_t,
               captured=Py_ssize_t, doff=int, s4=cython.longlong, d4=cython.longlong, sport=cython.longlong,
               dport=cython.longlong)
cpdef int decode(Segment seg, int linktype, object buf, const unsigned char[:] view, Py_ssize_t off,
                 Py_ssize_t caplen, Py_ssize_t wirelen) except -1
