# C types for store.py when setup.py compiles it with Cython (the .py stays the source).
# Rows are counts of messages held in memory (Py_ssize_t). The columns are typed arrays: compiled,
# add_scanned grows them in place and writes a row with C stores (interpreted: struct-packed
# bytes). The values fit their columns: frames are 32-bit in katui, a Content-Length is capped
# at 2**62 (katui.http.head), body bytes are counted from the capture.
cimport cpython.array
cimport cython


# The row layout's offsets and flags as C integers (store.py: the same values as NUM, SMALL, COL_*...).
cdef Py_ssize_t _NUM_C, _SMALL_C, _START_C, _END_C, _BODY_C, _FRAME_C, _STATUS_C, _BITS_C, _METHOD_C
cdef unsigned int _REQUEST_C, _CHUNKED_C, _COMPLETE_C, _CLEN_BIG_C, _END_BIG_C, _BODY_BIG_C


cdef class MessageStore:
    cdef public cpython.array.array num, small, uri_ix, head_ix
    cdef public list uri_table, head_table
    cdef public bytearray uri_blob
    cdef public cpython.array.array uri_ends
    cdef public dict _uris, _shared, traces, big_lengths, big_ends, big_bodies
    cdef public list _recent

    @cython.locals(i=Py_ssize_t, bits=cython.uint, clen=cython.longlong, b=Py_ssize_t, recent=list, k=Py_ssize_t,
                   took=cython.longlong, body=cython.uint, nbody=cython.longlong)
    cpdef Py_ssize_t add_scanned(self, bint is_request, long long first_frame, long long start_ns,
                                 tuple scanned, Py_ssize_t head_bytes, long long frame=*,
                                 long long end_ns=*, object body_bytes=*) except -1
    @cython.locals(s=Py_ssize_t)
    cpdef end(self, Py_ssize_t i, long long frame, long long end_ns, object body_bytes, bint complete)
    # Body bytes, or BODY_BIG with them in big_bodies.
    cdef unsigned int _body(self, Py_ssize_t i, long long body_bytes) except? 0xFFFFFFFE
    cdef unsigned int _big_body(self, Py_ssize_t i, long long body_bytes) except? 0xFFFFFFFE
    # End ns - start ns, or END_BIG with the end in big_ends.
    @cython.locals(took=cython.longlong)
    cdef long long _took(self, Py_ssize_t i, long long start_ns, long long end_ns) except -1
    @cython.locals(table=list, k=Py_ssize_t)
    cpdef str uri_at(self, Py_ssize_t ix)
    @cython.locals(ends=cpython.array.array, blob=bytearray)
    cdef Py_ssize_t _new_uri(self, str uri) except -1
    cpdef long long start_ns(self, Py_ssize_t i) except? -1
    cpdef long long status(self, Py_ssize_t i) except? -1
    cpdef str method(self, Py_ssize_t i)


@cython.locals(at=Py_ssize_t)
cdef Py_ssize_t _grow(cpython.array.array col, Py_ssize_t n) except -1
@cython.locals(at=Py_ssize_t, size=int)
cdef void _put(cpython.array.array col, Py_ssize_t ix) except *
@cython.locals(size=int)
cpdef long long ix_at(cpython.array.array col, Py_ssize_t i) except -1
@cython.locals(took=cython.uint, at=Py_ssize_t)
cpdef long long end_at(MessageStore store, Py_ssize_t i) except? -1
@cython.locals(body=cython.uint, at=Py_ssize_t)
cpdef long long body_at(MessageStore store, Py_ssize_t i) except? -1
