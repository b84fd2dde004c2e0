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
cdef str _target_at(bytes b, Py_ssize_t start, Py_ssize_t stop)
cdef str _text(object raw, Py_ssize_t limit)
@cython.locals(got=str)
cdef str _common(object raw, Py_ssize_t limit)
cdef Py_ssize_t _RECENT_C
cdef tuple _RECENT, _RECENT_READ
cdef list _NEXT
@cython.locals(got=tuple, k=Py_ssize_t, heads=list, reads=list, nxt=Py_ssize_t, j=Py_ssize_t,
               i=Py_ssize_t, seen=bytes)
cpdef tuple scan_head(object head, bint is_request)
@cython.locals(n=Py_ssize_t, m=Py_ssize_t, k=Py_ssize_t, p="const unsigned char *",
               q="const unsigned char *", hit="const unsigned char *")
cdef Py_ssize_t _find(bytes b, bytes sub, Py_ssize_t start) except -2
@cython.locals(p="const unsigned char *", hit="const unsigned char *")
cdef Py_ssize_t _find_byte(bytes b, int c, Py_ssize_t start, Py_ssize_t stop) except -2
cdef bytes _part(bytes b, Py_ssize_t start, Py_ssize_t stop)
@cython.locals(n=Py_ssize_t, p="const unsigned char *", q="const unsigned char *")
cdef bint _same(bytes b, Py_ssize_t start, Py_ssize_t stop, bytes other) except -1
cdef list _SLOTS
cdef Py_ssize_t _SLOTS_C, _STATUS_USE, _METHOD_USE, MAX_SLOT_VALUE, _LONGEST_METHOD
cdef int _STRIP, _LOWER
@cython.locals(p="const unsigned char *", n=Py_ssize_t, h=Py_ssize_t)
cdef Py_ssize_t _slot(bytes b, Py_ssize_t start, Py_ssize_t stop, Py_ssize_t use) except -2
@cython.locals(slot=Py_ssize_t, got=tuple, seen=bytes, seen_use=Py_ssize_t)
cdef object _recall(bytes b, Py_ssize_t start, Py_ssize_t stop, Py_ssize_t use)
@cython.locals(slot=Py_ssize_t)
cdef void _keep(bytes b, Py_ssize_t start, Py_ssize_t stop, Py_ssize_t use, object value) except *
@cython.locals(p="const unsigned char *", use=Py_ssize_t, text=str, raw=bytes)
cdef str _common_at(bytes b, Py_ssize_t start, Py_ssize_t stop, Py_ssize_t limit, int how)
cdef tuple _NAMES
cdef bytes _SHAPES, _FIRSTS
cdef Py_ssize_t _SHAPE_LENGTHS
cdef int _LENGTH, _ENCODING, _CONNECTION, _KEEP_ALIVE, _HOST, _USER_AGENT, _SERVER, _TRACE
@cython.locals(n=Py_ssize_t, kind=int, i=Py_ssize_t, c=int, p="const unsigned char *",
               q="const unsigned char *")
cdef int _name_kind(bytes b, Py_ssize_t start, Py_ssize_t stop) except -2
@cython.locals(n=Py_ssize_t, eol=Py_ssize_t, e=Py_ssize_t, sp=Py_ssize_t, last=Py_ssize_t,
               line=tuple, m=bytes)
cdef tuple _scan(bytes head, bint is_request)
cdef object _length(object val)
@cython.locals(n="long long", k=Py_ssize_t)
cdef object _length_at(bytes b, Py_ssize_t start, Py_ssize_t stop)
cdef tuple _status_line(object start)
@cython.locals(chunked=bint, trace_lines=list, n=Py_ssize_t, line=Py_ssize_t, end=Py_ssize_t,
               colon=Py_ssize_t, name_end=Py_ssize_t, kind=int, v=Py_ssize_t, cr=Py_ssize_t,
               stop=Py_ssize_t)
cdef tuple _headers(bytes head, Py_ssize_t pos, bint is_request)
