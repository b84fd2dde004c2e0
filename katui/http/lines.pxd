# C types for lines.py when setup.py compiles it with Cython (the .py stays the source).
# Offsets into a head are Py_ssize_t, checked against its length before a pointer reads it;
# numbers read from capture bytes (Content-Length) stay Python ints past 18 digits.
cimport cython
from cpython.bytes cimport PyBytes_FromStringAndSize
from libc.string cimport memchr, memcmp

cdef dict _INTERNED
cdef str _text(object raw, Py_ssize_t limit)
@cython.locals(got=str)
cpdef str common(object raw, Py_ssize_t limit)
@cython.locals(p="const unsigned char *", hit="const unsigned char *")
cpdef Py_ssize_t find_byte(bytes b, int c, Py_ssize_t start, Py_ssize_t stop) except -2
cpdef bytes part(bytes b, Py_ssize_t start, Py_ssize_t stop)
@cython.locals(n=Py_ssize_t, p="const unsigned char *", q="const unsigned char *")
cpdef bint same(bytes b, Py_ssize_t start, Py_ssize_t stop, bytes other) except -1
cdef list _SLOTS
cdef Py_ssize_t _SLOTS_C, MAX_SLOT_VALUE
cdef int _STRIP, _LOWER
@cython.locals(p="const unsigned char *", n=Py_ssize_t, h=Py_ssize_t)
cdef Py_ssize_t _slot(bytes b, Py_ssize_t start, Py_ssize_t stop, Py_ssize_t use) except -2
@cython.locals(slot=Py_ssize_t, got=tuple, seen=bytes, seen_use=Py_ssize_t)
cpdef object recall(bytes b, Py_ssize_t start, Py_ssize_t stop, Py_ssize_t use)
@cython.locals(slot=Py_ssize_t)
cpdef void keep(bytes b, Py_ssize_t start, Py_ssize_t stop, Py_ssize_t use, object value) except *
@cython.locals(p="const unsigned char *", use=Py_ssize_t, text=str, raw=bytes)
cpdef str common_at(bytes b, Py_ssize_t start, Py_ssize_t stop, Py_ssize_t limit, int how)
cdef tuple _NAMES
cdef bytes _SHAPES, _FIRSTS
cdef Py_ssize_t _SHAPE_LENGTHS
cdef int _LENGTH, _ENCODING, _CONNECTION, _KEEP_ALIVE, _HOST, _USER_AGENT, _SERVER, _VIA, _TRACE
@cython.locals(n=Py_ssize_t, kind=int, i=Py_ssize_t, c=int, p="const unsigned char *",
               q="const unsigned char *")
cdef int _name_kind(bytes b, Py_ssize_t start, Py_ssize_t stop) except -2
cdef object _length(object val)
@cython.locals(n="long long", k=Py_ssize_t)
cdef object _length_at(bytes b, Py_ssize_t start, Py_ssize_t stop)
@cython.locals(chunked=bint, trace_lines=list, n=Py_ssize_t, line=Py_ssize_t, end=Py_ssize_t,
               colon=Py_ssize_t, name_end=Py_ssize_t, kind=int, v=Py_ssize_t, cr=Py_ssize_t,
               stop=Py_ssize_t, found=list, k=Py_ssize_t, b=bytes)
cpdef tuple read_headers(bytes head, Py_ssize_t pos, bint is_request, bint in_place)
