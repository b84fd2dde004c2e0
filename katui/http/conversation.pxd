# C types for conversation.py when setup.py compiles it with Cython (the .py stays the source).
# The pairing counters are row and list indexes (Py_ssize_t); the parsers are typed, so the
# tracker's first segment and the pairing calls the parsers make are C calls.
cimport cpython.array
cimport cython

from katui.http.closed cimport reopened, stand_in
from katui.http.head cimport looks_like_request, looks_like_response
from katui.http.owner cimport MessageOwner
from katui.http.parser cimport HttpHalf
from katui.model.exchange cimport Exchange, made

cdef int DEAD  # katui.http.states.DEAD, imported into a C integer
cdef Py_ssize_t HEAD_ONLY


cdef Py_ssize_t _row(Py_ssize_t req)
# An exchange's rows in the pairs array, read and written in C (the index checked).
cpdef int _get(cpython.array.array pairs, Py_ssize_t k) except? -1  # (cpdef: analysis.build imports it)
cdef void _put(cpython.array.array pairs, Py_ssize_t k, int row) except *
@cython.locals(at=Py_ssize_t)
cdef void _add(cpython.array.array pairs, int req, int resp) except *


cdef class HttpConversation(MessageOwner):
    cdef public object sniff, try_other, other, informed
    cdef public cpython.array.array pairs
    cdef public HttpHalf p0, p1
    # Counts of the connection's exchanges (32-bit: each costs dozens of bytes): 112 bytes a
    # conversation as allocated, not 128; a load test has tens of thousands while it is read.
    cdef public int req_heads, req_fill, resp_idx
    cdef public bint resp_hole

    @cython.locals(p=HttpHalf)
    cpdef object data(self, int d, object buf, Py_ssize_t start, Py_ssize_t end, long long frame,
                      long long ts)
    @cython.locals(is_req=bint)
    cdef HttpHalf _sniff(self, list sn, int d, object buf, Py_ssize_t poff, Py_ssize_t pcap)
    @cython.locals(mine=HttpHalf, other=HttpHalf)
    cdef HttpHalf _recognised(self, int d, bint is_req, bint resync, bint other_resync)
    cdef void _shrink(self, int d, HttpHalf p) except *
    cdef HttpHalf _reopen(self, int d, HttpHalf p)
    cdef void _set(self, int d, HttpHalf p) except *
    @cython.locals(pairs=cpython.array.array)
    cpdef void request_head(self, Py_ssize_t i) except *
    @cython.locals(pairs=cpython.array.array, count=Py_ssize_t, k=Py_ssize_t, marker=Py_ssize_t)
    cpdef void request_done(self, Py_ssize_t i) except *
    @cython.locals(pairs=cpython.array.array, count=Py_ssize_t, resp=Py_ssize_t)
    cdef bint _answered_early(self, Py_ssize_t i) except -1
    cpdef void response_lost(self) except *
    @cython.locals(j=Py_ssize_t, req=Py_ssize_t, pairs=cpython.array.array, count=Py_ssize_t)
    cpdef str response_method(self, long long status, long long start_ns)
    @cython.locals(status=cython.longlong, pairs=cpython.array.array, count=Py_ssize_t, k=Py_ssize_t)
    cpdef void response_done(self, Py_ssize_t i) except *
    @cython.locals(at=Py_ssize_t, client=int, p=HttpHalf)
    cpdef void h2c_upgrade(self) except *
    @cython.locals(requests=bint)
    cpdef void switched_bytes(self, bint is_request, object buf, Py_ssize_t start, Py_ssize_t end,
                              long long frame, long long ts) except *
