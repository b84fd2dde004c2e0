# C types for head.py when setup.py compiles it with Cython (the .py stays the source).
# Offsets are Py_ssize_t; the header lines are read by katui.http.lines.
cimport cython

from katui.http.lines cimport common, common_at, find_byte, keep, part, read_headers, recall, same

cpdef bint looks_like_request(object data)
cpdef bint looks_like_response(object data)
cpdef bint cut_start(object data, bint is_request)
cpdef str target_text(object raw)
cdef str _target_at(bytes b, Py_ssize_t start, Py_ssize_t stop)
cdef Py_ssize_t _RECENT_C
cdef tuple _RECENT, _RECENT_READ
cdef list _NEXT
cdef Py_ssize_t _STATUS_USE, _METHOD_USE, _LONGEST_METHOD
@cython.locals(got=tuple, k=Py_ssize_t, heads=list, reads=list, nxt=Py_ssize_t, j=Py_ssize_t,
               i=Py_ssize_t, seen=bytes)
cpdef tuple scan_head(object head, bint is_request)
@cython.locals(n=Py_ssize_t, eol=Py_ssize_t, e=Py_ssize_t, sp=Py_ssize_t, last=Py_ssize_t,
               line=tuple, m=bytes, fields=tuple)
cpdef tuple read_head(bytes head, bint is_request, bint in_place)
@cython.locals(known=dict, block=bytes, got=tuple)
cdef tuple _read_block(bytes head, Py_ssize_t eol, bint is_request)
cdef tuple _status_line(object start)
