# C types for markdown.py when setup.py compiles it with Cython (the .py stays the source).
# A connection's and an exchange's fields are read from their C structs (tens of thousands of
# connections, hundreds of thousands of exchanges); a message row's cache key is a 64-bit C
# integer (a head index below 2**30, a 32-bit URI index or status, the request bit).
cimport cython

from katui.model.connection cimport Close
from katui.model.connection cimport Connection as Conn  # markdown.py's Connection: the Python name
from katui.model.exchange cimport Exchange
from katui.report.ladder cimport message_label, record_labels, stream_of

cdef Py_ssize_t SMALL, SM_BITS, SM_FIRST, SM_FRAME, SM_STATUS, H_VERSION, NUM, COL_BODY
cdef int REQUEST, COMPLETE
cdef unsigned long long _MAX_HEAD


cdef str _md_shared(str text)


cdef class Cells:
    cdef public object store
    cdef dict _by_key
    cdef object _small, _num, _head_ix, _uri_ix, _key
    cdef dict _labels, _scratch
    cdef Py_ssize_t _row

    @cython.locals(head=cython.ulonglong, which=cython.ulonglong, request=bint, key=cython.ulonglong,
                   s=Py_ssize_t)
    cpdef tuple of(self, object store, Py_ssize_t i)
    @cython.locals(s=Py_ssize_t, frame=cython.uint, bits=cython.uint, text=str)
    cpdef put(self, dict labels, Exchange e, Py_ssize_t i, object sid, str label)


@cython.locals(e=Exchange, req=Py_ssize_t, resp=Py_ssize_t, end=cython.uint)
cdef list _exchange_table(Conn c, dict labels, Cells cells)

@cython.locals(cl=Close)
cdef list _connection(object a, Conn c, object gap_ns, object lanes, Cells cells, bint encoded=*)

cdef dict _CLOSED_BY
@cython.locals(cl=Close, closer=str)
cdef str _row(object a, Conn c)
