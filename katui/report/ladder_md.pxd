# C types for ladder_md.py when setup.py compiles it with Cython (the .py stays the source).
# Frame numbers stay Python ints (dict keys); a frame's length and arrow key are 64-bit C ints
# (the key becomes a Python int for its look-up only); the frame-table columns are typed
# memoryviews; a timestamp's difference from the capture start is made in C only when both
# are within 2**62 of 0 (no overflow), else with Python ints.
cimport cython


cdef long long _NEAR, _SHORT_NS
cdef tuple _SPACED, _PADDED
# TCP flag bits and the diagram's size limit, tested for every frame: C integers.
cdef int SYN, FIN, RST, _DRAWN
cdef Py_ssize_t MAX_MESSAGES
@cython.locals(ch=Py_UCS4)
cpdef str _mermaid(str text)


@cython.locals(us=cython.longlong, sec=cython.longlong, frac=cython.longlong, high=Py_ssize_t)
cpdef str stamped(Py_ssize_t frame, long long ns, str tail)


cdef class TwoLanes:
    cdef public dict _pieces
    cdef dict _notes, _labeled
    cdef public Py_ssize_t width
    cdef object _first
    cdef long long _base
    cdef bint _near

    cdef str _line(self, Py_ssize_t frame, long long stamp, str tail)

    cdef tuple _note_lines(self, object row)
    cdef tuple _label_lines(self, object key, tuple piece, str label)
    cdef tuple _piece(self, object key, int fl, bint c2s, object length)
    @cython.locals(i=Py_ssize_t, fl=int, way=int, messages=Py_ssize_t, problem=int,
                   length=cython.ulonglong, key=cython.ulonglong,
                   stamp=cython.longlong,
                   ts=cython.longlong[:], flags=cython.uchar[:], dirs=cython.uchar[:],
                   plen=cython.uint[:], notes=cython.uchar[:])
    cpdef tuple draw(self, object analysis, object conn, list rows, dict labels)
