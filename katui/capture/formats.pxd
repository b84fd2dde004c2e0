# C types for formats.py when setup.py compiles it with Cython (the .py stays the source).
# Record fields fit in 64 bits (a pcap timestamp is 32-bit seconds in ns; pcapng's are computed
# with Python integers unless they are the usual small ones, then clamped); header bytes are
# read through a pointer into a typed memoryview of the capture (see _bytes).
cimport cython

cdef long long _LIMIT


cdef class Records:
    cdef public object cap
    cdef public long long ts, linktype, off, caplen, wirelen

    cpdef bint advance(self) except -1


cdef class PcapRecords(Records):
    cdef const unsigned char[:] view
    cdef public Py_ssize_t pos, end
    cdef public long long n, mult
    cdef public bint big, done

    @cython.locals(pos=Py_ssize_t, end=Py_ssize_t, caplen=cython.longlong, big=bint,
                   sec=cython.longlong, frac=cython.longlong, wirelen=cython.longlong,
                   v="const unsigned char *")
    cpdef bint advance(self) except -1


cdef class PcapngRecords(Records):
    cdef const unsigned char[:] view
    cdef public Py_ssize_t pos, end
    cdef public long long n
    cdef public bint big, done
    cdef public object sec

    @cython.locals(pos=Py_ssize_t, end=Py_ssize_t, bom=cython.longlong, btype=cython.longlong,
                   blen=cython.longlong, v="const unsigned char *")
    cpdef bint advance(self) except -1
    @cython.locals(big=bint, ifaces=list, body=Py_ssize_t, bend=Py_ssize_t, data=Py_ssize_t,
                   iface=cython.longlong, hi=cython.longlong, lo=cython.longlong,
                   caplen=cython.longlong, wirelen=cython.longlong, linktype=cython.longlong,
                   num=cython.longlong, shift=cython.longlong, offset_s=object)
    cdef bint _packet(self, long long btype, Py_ssize_t pos, const unsigned char *v) except -1


cdef const unsigned char *_bytes(const unsigned char[:] view, Py_ssize_t end) except NULL
@cython.locals(top=cython.longlong)
cdef long long _u32(const unsigned char *b, Py_ssize_t i, bint big) noexcept
cdef long long _u16(const unsigned char *b, Py_ssize_t i, bint big) noexcept
