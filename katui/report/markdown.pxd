# C types for markdown.py when setup.py compiles it with Cython (the .py stays the source).
# A connection's and an exchange's fields are read from their C structs (tens of thousands of
# connections, hundreds of thousands of exchanges); a message row's cache key is a 64-bit C
# integer (a head index below 2**30, a 32-bit URI index or status, the request bit).
cimport cython
cimport cpython.array

from katui.model.connection cimport Close
from katui.model.connection cimport Connection as Conn  # markdown.py's Connection: the Python name
from katui.model.exchange cimport Exchange as Ex  # markdown.py's Exchange: the Python name
from katui.model.store cimport MessageStore, body_at, ix_at
from katui.report.ladder cimport add_label, ladder_rows, message_label, record_labels, stream_of
from katui.report.ladder_md cimport Lines, TwoLanes, _mermaid
from katui.units cimport fmt_iso, fmt_s

cdef Py_ssize_t SMALL, SM_BITS, SM_FIRST, SM_FRAME, SM_STATUS, H_VERSION, H_METHOD
cdef int REQUEST, COMPLETE
cdef long long NO_IDLE
cdef unsigned long long _MAX_HEAD
cdef Py_ssize_t PAIRS


@cython.locals(ch=Py_UCS4)
cdef bint _plain(str text) except -1
cpdef str md(str text)
cdef str _md_shared(str text)
cpdef tuple _cell(str label)
cdef str _idle_text(Ex e)


@cython.final  # its methods called directly
cdef class Cells:
    cdef public object store
    cdef dict _by_key
    # The store's columns, read with ix_at (a bounds-checked C read, no Python int per item).
    cdef cpython.array.array _small, _head_ix, _uri_ix
    cdef object _key
    cdef dict _labels, _scratch
    cdef Py_ssize_t _row
    # The plain exchanges kept (see same_pair): C integers compared, no key object.
    cdef Py_ssize_t _pairs, _next_pair, _hit
    cdef unsigned long long _pair_asked[4], _pair_answered[4], _pair_shape[4]
    cdef long long _pair_body[4]
    cdef list _pair_texts
    cdef unsigned long long _cur_asked, _cur_answered, _cur_shape
    cdef long long _cur_body

    @cython.locals(head=cython.ulonglong, which=cython.ulonglong, request=bint, key=cython.ulonglong,
                   s=Py_ssize_t, inferred=bint, text=tuple)
    cpdef tuple of(self, MessageStore store, Py_ssize_t i)
    @cython.locals(s=Py_ssize_t, frame=cython.uint, bits=cython.uint, text=str)
    cpdef str put(self, dict labels, Ex e, Py_ssize_t i, object sid, str label)
    @cython.locals(req=Py_ssize_t, resp=Py_ssize_t, q=Py_ssize_t, r=Py_ssize_t, asked=cython.ulonglong,
                   answered=cython.ulonglong, which=cython.ulonglong, status=cython.ulonglong,
                   bits=cython.uint, frame=cython.uint, shape=cython.ulonglong,
                   small=cpython.array.array)
    cdef bint _pair_fields(self, Ex e) except -1
    @cython.locals(k=Py_ssize_t)
    cpdef keep_pair(self, Ex e, str text, str status, str asked, str answered)
    @cython.locals(k=Py_ssize_t)
    cpdef bint same_pair(self, Ex e) except -1
    @cython.locals(q=Py_ssize_t, r=Py_ssize_t, end=cython.uint, first=cython.uint, small=cpython.array.array)
    cpdef pair_row(self, dict labels, Ex e, Lines out)


@cython.locals(e=Ex, req=Py_ssize_t, resp=Py_ssize_t, end=cython.uint, text=str, status=str,
               small=cpython.array.array)
cdef _exchange_table(Conn c, dict labels, Cells cells, Lines out)

@cython.locals(cl=Close, evidence=tuple, pieces=list, frames=cython.longlong)
cdef object _connection(object a, Conn c, object gap_ns, TwoLanes lanes, Cells cells, Lines out, bint encoded=*)
@cython.locals(header=str, lines=bytes, ladder=list, top=list)
cdef list _encoded_pictures(object a, Conn c, object gap_ns, list gaps, TwoLanes lanes, dict labels)
cdef dict _SERVERS
cdef bytes _participant_server(str server)

cdef dict _CLOSED_BY
@cython.locals(cl=Close, closer=str)
cdef _row(object a, Conn c, Lines out)
cdef long long _EXACT_NS
cdef tuple _MILLIS
@cython.locals(n=cython.longlong, ms=cython.longlong)
cpdef _seconds(Lines out, object ns)
