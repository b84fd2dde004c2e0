# C types for ingest.py when setup.py compiles it with Cython (the .py stays the source).
# Row values fit their columns' types (see FrameTable): lengths and offsets are bounded by the
# record and file sizes the cursors checked.
cimport cython

from katui.capture.decode cimport Segment, decode
from katui.capture.formats cimport Records
from katui.tcp.tracker cimport Tracker


cdef class Reading:
    cdef public long long n, first, last
    cdef public list skipped
    cdef public Rows rows
    cdef public Records cur
    cdef public bint cut

    cpdef void run(self, object cap, object table, Tracker tracker, object tick, long long every,
                   long long first=*, long long limit=*) except *
    cpdef void flush(self) except *
    @cython.locals(seg=Segment, rows=Rows, n=cython.longlong, ts=cython.longlong, why=int)
    cdef void _walk(self, object cap, Tracker tracker, const unsigned char[:] view, object tick,
                    long long every, long long due, long long limit) except *


cdef class Rows:
    cdef public object table, arrays
    cdef public Py_ssize_t count, written
    cdef long long[:] ts
    cdef int[:] stream
    cdef unsigned char[:] dir, flags, notes
    cdef unsigned int[:] plen, pcap, caplen, wirelen
    cdef unsigned long long[:] toff

    @cython.locals(i=Py_ssize_t)
    cpdef void add(self, long long ts, long long caplen, long long wirelen, int why, Segment seg,
                   Tracker tracker) except *
    cpdef void flush(self) except *
