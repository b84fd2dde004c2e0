# C types for build.py when setup.py compiles it with Cython (the .py stays the source).
# _exchanges runs over every exchange of the capture: its fields are read and set in their C
# structs, not by name. Times stay Python ints (they come from capture bytes).
cimport cpython.array
cimport cython

# (as XExchange: the .py's Exchange is the Python name, imported for its annotations)
from katui.model.exchange cimport Exchange as XExchange, ExchangeRun, RunWriter, kept
from katui.model.connection cimport Close as XClose, Connection as XConnection
from katui.http.conversation cimport _get
from katui.model.store cimport end_at
from katui.tcp.facts cimport CloseFacts

# The message store's row layout (katui.model), imported into C globals: index arithmetic in C.
cdef Py_ssize_t COL_START, NUM, SM_END, SM_FRAME, SMALL
cdef unsigned int END_BIG
cdef long long NO_IDLE  # katui.model.exchange's, and its flag bits
cdef unsigned char REUSED, PIPELINED


# The store's columns read as typed memory views (C integers, bounds-checked), not an int object
# made by the array for each time read and each frame tested.
# A plain HTTP/1.x conversation's pairs array read in C (conversation._get, bounds-checked),
# and its run's columns written in C (RunWriter).
@cython.locals(ex=XExchange, req=Py_ssize_t, resp=Py_ssize_t, n=Py_ssize_t, h2=bint, out=list, objs=list,
               pairs=cpython.array.array, w=RunWriter, total=Py_ssize_t, count=Py_ssize_t, k=Py_ssize_t, at=Py_ssize_t,
               idle=cython.longlong, reused=bint, pipelined=bint,
               num="long long[:]", small="unsigned int[:]", req_start=cython.longlong, end=cython.longlong,
               took=cython.uint,
               prev_end=cython.longlong, prev_resp_end=cython.longlong, has_end=bint, has_prev_end=bint,
               has_prev_resp_end=bint)
cpdef tuple _exchanges(object c, bint h2=*)
cdef object _after(long long later, long long earlier)


# Once per connection: the fields read and set in their C structs.
@cython.locals(close=XClose, full=bint)
cdef void _share(XConnection conn, dict shared) except *


# Once per connection, called from this module: C calls, not Python ones; the connection's and
# its close facts' fields read and set in their C structs.
cpdef object build_connection(XConnection conn, CloseFacts tcp, object sink, object idle_threshold_ns=*,
                              dict shared=*)
cpdef void _build(XConnection conn, CloseFacts tcp, object conv, object idle_threshold_ns) except *
cdef void _complete(XConnection conn, object exchanges, unsigned int requests, object close, object http,
                    object http_error, object tls) except *
