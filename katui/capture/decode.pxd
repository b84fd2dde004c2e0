# C types for decode.py when setup.py compiles it with Cython (the .py stays the source).
# Offsets are Py_ssize_t; the capture is a typed memoryview, a frame checked to lie in it before
# its headers are read (see _be16). Header fields are at most 32 bits wide.
cimport cython

cdef object _V6_ADDRESS


cdef class Segment:
    cdef public object ends
    cdef public bint swapped
    cdef public long long seq, ack
    cdef public int flags, win
    cdef public Py_ssize_t toff, poff, pcap, plen


cdef extern from "Python.h":
    object _PyLong_FromByteArray(const unsigned char *data, size_t n, int little_endian, int is_signed)

# Compiled, a frame's header bytes are read through a pointer into the capture: decode() checks
# once that the frame lies in it, and that each header it reads ends before the frame does.
cdef long long _be16(const unsigned char *b, Py_ssize_t i) noexcept
@cython.locals(top=cython.longlong)
cdef long long _be32(const unsigned char *b, Py_ssize_t i) noexcept
@cython.locals(key="unsigned char[12]", k=int)
cdef object _key4(long long lo, long long hi)
cdef inline bint _ip_type(int hi, int lo) noexcept


@cython.locals(end=Py_ssize_t, ip=Py_ssize_t, ver=int, ihl=int, tcp=Py_ssize_t, ip_end=Py_ssize_t,
               total=Py_ssize_t, nxt=int, payload=Py_ssize_t, wire_payload=Py_ssize_t,
               captured=Py_ssize_t, doff=int, s4=cython.longlong, d4=cython.longlong, sport=cython.longlong,
               dport=cython.longlong, frag=int, proto=int, src=cython.longlong, dst=cython.longlong,
               seq=cython.longlong, ack=cython.longlong, flags=int, win=int, p="const unsigned char *")
cpdef int decode(Segment seg, int linktype, object buf, const unsigned char[:] view, Py_ssize_t off,
                 Py_ssize_t caplen, Py_ssize_t wirelen) except -1
