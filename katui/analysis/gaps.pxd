# C types for gaps.py when setup.py compiles it with Cython (the .py stays the source).
# Frame numbers and row indexes are C integers and the frame table's columns typed
# memoryviews; timestamps taken from them stay Python ints (their differences may not fit
# 64 bits in a hostile capture).
cimport cython


@cython.locals(req=Py_ssize_t)
cpdef dict requests_by_frame(object conn)

@cython.locals(i=Py_ssize_t, prev=Py_ssize_t, cur=Py_ssize_t, frames=cython.uint[:],
               ts=cython.longlong[:], flags=cython.uchar[:])
cpdef list idle_gaps(object a, object conn, object threshold_ns=*)
