# C types for ingest.py when setup.py compiles it with Cython (the .py stays the source).
cimport cython

from katui.capture.decode cimport Segment, decode
from katui.capture.formats cimport Records
from katui.tcp.tracker cimport Tracker


cdef class Reading:
    cdef public long long n, first, last
    cdef public list skipped

    cpdef void run(self, object cap, object table, Tracker tracker, object tick, long long every) except *
    @cython.locals(cur=Records, seg=Segment, keep=bint, n=cython.longlong, ts=cython.longlong, why=int)
    cdef void _walk(self, object cap, object table, Tracker tracker, const unsigned char[:] view,
                    object tick, long long every) except *
