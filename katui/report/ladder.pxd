# C types for ladder.py when setup.py compiles it with Cython (the .py stays the source).
# Frame numbers stay Python ints (they are the rows' keys), with a C copy to compare and index
# with; a frame's flags byte and the walk's yes/no states are C ints.
cimport cython
cimport cpython.array

from katui.model.connection cimport Close
from katui.model.connection cimport Connection as Conn  # ladder.py's Connection: the Python name
from katui.model.exchange cimport Exchange as Ex  # ladder.py's Exchange: the Python name
from katui.model.exchange cimport ExchangeRun, columns
from katui.model.store cimport MessageStore, body_at, ix_at
from katui.units cimport fmt_s

# The message store's row layout (katui.model.store) in C globals: a row's index arithmetic
# and flag tests are C, not a Python operation per column read.
cdef Py_ssize_t SMALL, SM_BITS, SM_FIRST, SM_FRAME, H_VERSION
cdef long long NO_TS
cdef int COMPLETE, REQUEST, SYN, ACK, FIN
cdef unsigned char PIPELINED


@cython.locals(ex=Ex)
cpdef dict http_labels(object conn, dict texts=*)
cpdef object stream_of(Ex ex)
cpdef void add_label(dict labels, object frame, str text)
cpdef record_labels(dict labels, object conn)
cdef str _version(MessageStore store, Py_ssize_t i)
@cython.locals(s=Py_ssize_t, bits=cython.uint, store=MessageStore, small=cpython.array.array,
               first=cython.longlong, frame=cython.longlong)
cpdef message_label(dict labels, Ex ex, Py_ssize_t i, object sid, str text=*)

@cython.locals(f=int, in_handshake=bint, handshaken=bint, answered=bint, fin_close=bint,
               flags=cython.uchar[:], gap_at=Py_ssize_t, at=cython.longlong, closed_at=cython.longlong,
               requests=dict, gaps=dict, ex=Ex, cl=Close, last_request=cython.longlong)
cpdef list ladder_rows(object analysis, object conn, object gap_ns=*, object idle=*)
# What a stale reuse draws, asked per connection by ladder_rows: C calls.
@cython.locals(run=ExchangeRun, k=Py_ssize_t, req=Py_ssize_t, small=cpython.array.array, stale=set)
cdef set _stale_frames(object conn)
@cython.locals(run=ExchangeRun, k=Py_ssize_t, req=Py_ssize_t, small=cpython.array.array, frames=set,
               out=set)
cdef set _stale_requests(object conn)
cdef bint _goaway_stale(object conn) except -1
# A ladder's notes, made per connection by ladder_rows: C calls.
cdef object _tuple_new
from cpython.ref cimport Py_INCREF
from cpython.tuple cimport PyTuple_SET_ITEM
cdef extern from "Python.h":
    """
    static inline PyObject *katui_alloc(PyObject *type, Py_ssize_t n) {
        return PyType_GenericAlloc((PyTypeObject *)type, n);
    }
    """
    # An instance of a type (a tuple subclass) with room for n items, all NULL.
    object PyType_GenericAlloc "katui_alloc" (object type, Py_ssize_t n)
cdef object _note(str kind, str text, object frame, object problem, object duration_ns, object waiting)
cdef void _set(object note, Py_ssize_t k, object field) noexcept
cdef object _section(str text, object frame, object problem=*)
# The exchanges' columns (an ExchangeRun) and the store's with ix_at: bounds-checked C reads.
@cython.locals(run=ExchangeRun, k=Py_ssize_t, req=Py_ssize_t, n=cython.uint, out=dict, noted=bint,
               first=Py_ssize_t, small=cpython.array.array)
cdef dict _noted_requests(object conn, dict gaps, set stale)
@cython.locals(prev=Conn, pc=Close)
cdef str _handshake_text(object analysis, Conn conn)
cdef object _request_note(Ex ex, object frame, bint stale, bint goaway=*, bint crossed=*)
cdef dict _CLOSE_NOTES
cdef Py_ssize_t MAX_NOTES
@cython.locals(close=Close, stale=bint, got=tuple)
cdef object _close_note(object conn, object frame)
