# C types for head.py when setup.py compiles it with Cython (the .py stays the source).
# Numbers read from capture bytes (Content-Length) stay Python ints; offsets are Py_ssize_t.
cimport cython
from cpython.bytes cimport PyBytes_FromStringAndSize
from libc.string cimport memchr, memcmp

cdef dict _INTERNED


cpdef bint looks_like_request(object data)
cpdef bint looks_like_response(object data)
cpdef bint cut_start(object data, bint is_request)
cpdef str target_text(object raw)
cdef str _text(object raw, Py_ssize_t limit)
@cython.locals(got=str)
cdef str _common(object raw, Py_ssize_t limit)
cdef void _remember(dict cache, object key, object value)
cdef list _LAST
@cython.locals(cache=dict, got=tuple, k=Py_ssize_t)
cpdef tuple scan_head(object head, bint is_request)
@cython.locals(n=Py_ssize_t, m=Py_ssize_t, k=Py_ssize_t, p="const unsigned char *",
               q="const unsigned char *", hit="const unsigned char *")
cdef Py_ssize_t _find(bytes b, bytes sub, Py_ssize_t start) except -2
cdef bytes _part(bytes b, Py_ssize_t start, Py_ssize_t stop)
@cython.locals(eol=Py_ssize_t, blocks=dict, fields=tuple, line=tuple, lines=dict, start=bytes,
               block=bytes, key=bytes)
cdef tuple _scan(bytes head, bint is_request)
@cython.locals(at=Py_ssize_t, nl=Py_ssize_t, n=Py_ssize_t)
cdef tuple _cut(bytes block, bytes start)
cdef object _length(object val)
cdef tuple _status_line(object start)
@cython.locals(chunked=bint, trace_lines=list)
cpdef tuple _headers(object block, bint is_request)
