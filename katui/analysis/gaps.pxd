# C types for gaps.py when setup.py compiles it with Cython (the .py stays the source).
# Frame numbers and row indexes are C integers and the frame table's columns typed
# memoryviews; two timestamps are subtracted in C only when both are within 2**62 of 0, else
# as Python ints (``later``, ``earlier``: a hostile capture's may differ by more than 64 bits).
cimport cython
cimport cpython.array


cdef long long _NEAR


from katui.model.exchange cimport Exchange, ExchangeRun, columns
from katui.model.store cimport ix_at

@cython.locals(req=Py_ssize_t, e=Exchange)
cpdef dict requests_by_frame(object conn)

@cython.locals(i=Py_ssize_t, prev=Py_ssize_t, cur=Py_ssize_t, frames=cython.uint[:],
               ts=cython.longlong[:], flags=cython.uchar[:], near=bint, short=cython.longlong,
               at=cython.longlong, before=cython.longlong, later=object, earlier=object,
               run=ExchangeRun, k=Py_ssize_t, done=Py_ssize_t, paused=bint)
cpdef list idle_gaps(object a, object conn, object threshold_ns=*)

@cython.locals(cut=Py_ssize_t, start=Py_ssize_t, end=Py_ssize_t, k=Py_ssize_t, conns=list,
               times=cython.longlong[:], index=dict, client=str, last=cython.longlong)
cpdef object previous_on_path(object a, object conn)

# Close and start times are 64-bit (Connection.start_ns, Close._ts).
@cython.locals(lo=Py_ssize_t, hi=Py_ssize_t, mid=Py_ssize_t, at=cython.longlong)
cdef Py_ssize_t _bisect(long long[:] times, long long t, Py_ssize_t end, bint right) except -1

# The client and host as str (startswith and rindex in C).
@cython.locals(client=str, host=str, cut=Py_ssize_t, paths=dict, got=list)
cpdef dict _closed_by_path(object a)

# What ends a gap and who waited through it, asked for each gap (a load test's connections
# have thousands): C calls, not Python ones.
cdef tuple _what_ended(object a, object conn, object frame, object dur, dict starts, dict timeouts, int fl)
# They read the exchanges' columns (an ExchangeRun) and the store's with ix_at (bounds-checked
# C reads, no memoryview made per call) and give an index (-1: none): the caller takes the
# object it names.
@cython.locals(resp=Py_ssize_t, end=Py_ssize_t, small=cpython.array.array)
cdef Py_ssize_t _answered_before(ExchangeRun run, Py_ssize_t lo, Py_ssize_t before) except -1
@cython.locals(i=Py_ssize_t, req=Py_ssize_t, resp=Py_ssize_t, sent=Py_ssize_t, small=cpython.array.array)
cdef Py_ssize_t _waiting(ExchangeRun run, Py_ssize_t lo, Py_ssize_t before, Py_ssize_t after) except -2
@cython.locals(i=Py_ssize_t, row=Py_ssize_t, s=Py_ssize_t, done=Py_ssize_t, small=cpython.array.array)
cdef Py_ssize_t _in_transfer(ExchangeRun run, Py_ssize_t lo, Py_ssize_t before, Py_ssize_t after, bint requests) except -2
@cython.locals(k=Py_ssize_t, req=Py_ssize_t, first=Py_ssize_t, out=dict, small=cpython.array.array)
cpdef dict _first_requests(ExchangeRun run)  # cpdef: the tests call it
cdef tuple _waited(object e, object frame, tuple ended)
cdef tuple _said_first(tuple ended, str said)

from cpython.object cimport PyObject_GenericSetAttr
cdef str _STREAM, _AFTER, _BEFORE, _DURATION, _ENDS_IN, _EXPLANATION, _WAITING
cdef object _new_object
cdef object _idle_gap(object stream, object after, object before, object dur, tuple ended, object waiting)

@cython.locals(k=Py_ssize_t, resp=Py_ssize_t)
cpdef dict _timeouts_by_frame(object run, object exchanges)
