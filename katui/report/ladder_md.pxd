# C types for ladder_md.py when setup.py compiles it with Cython (the .py stays the source).
# Frame numbers stay Python ints (dict keys); a frame's length and arrow key are 64-bit C ints
# (the key becomes a Python int for its look-up only); the frame-table columns are typed
# memoryviews; a timestamp's difference from the capture start is made in C only when both
# are within 2**62 of 0 (no overflow), else with Python ints.
cimport cython
from cpython.bytearray cimport PyByteArray_AS_STRING, PyByteArray_Resize
from cpython.bytes cimport PyBytes_FromStringAndSize
from cpython.unicode cimport PyUnicode_AsUTF8AndSize, PyUnicode_DATA, PyUnicode_DecodeUTF8, PyUnicode_GET_LENGTH


cdef extern from "Python.h":
    bint PyUnicode_IS_COMPACT_ASCII(object o)
from libc.string cimport memcpy


cdef long long _NEAR, _SHORT_NS
cdef tuple _SPACED, _PADDED
cdef bytes _SPACED3, _PADDED3
# TCP flag bits and the diagram's size limit, tested for every frame: C integers.
cdef int SYN, FIN, RST, _DRAWN, _SLOT_BITS
cdef Py_ssize_t ARROW_SLOTS
cdef unsigned long long _MIX
cdef Py_ssize_t MAX_MESSAGES
@cython.locals(ch=Py_UCS4)
cpdef str _mermaid(str text)
@cython.locals(ch=Py_UCS4)
cdef bint _mermaid_plain(str text) except -1
cdef str _SECTION, _NOTE_OVER
cdef bint _plain_label(str label, bint drawing) except -1
@cython.locals(src="const char *")
cdef void _three(char *dst, const char *table, Py_ssize_t k) noexcept


@cython.locals(us=cython.longlong, sec=cython.longlong, frac=cython.longlong, high=Py_ssize_t)
cpdef str stamped(Py_ssize_t frame, long long ns, str tail)


# A ladder's and a diagram's lines are written as UTF-8 into one buffer (a bytearray, grown
# by _room before every write into it). Final: its methods called directly, the small ones inlined.
@cython.final
cdef class Lines:
    cdef list _parts, _line
    cdef bytearray _buf
    cdef Py_ssize_t _n
    cdef bint _odd
    cdef public Py_ssize_t count

    cpdef clear(self)
    @cython.locals(need=Py_ssize_t)
    cdef inline int _room(self, Py_ssize_t size) except -1
    cdef int _bytes(self, const char *data, Py_ssize_t size) except -1
    cdef int _put(self, str text) except -1
    @cython.locals(size=Py_ssize_t, data="const char *", raw=bytes)
    cdef int _put_utf8(self, str text) except -1
    cdef inline void _char(self, char ch) noexcept
    @cython.locals(digits=int, rest=cython.ulonglong, p="char *")
    cdef void _number(self, unsigned long long value, int width, char fill) noexcept
    cpdef add(self, str line)
    cpdef write(self, str text)
    cpdef write_number(self, long long value)
    cpdef end(self)
    @cython.locals(us=cython.longlong, sec=cython.longlong, frac=cython.longlong, start=Py_ssize_t,
                   room=Py_ssize_t, rest=str, p="char *")
    cpdef frame_line(self, Py_ssize_t frame, long long ns, str tail, Py_ssize_t width, str label=*)
    cpdef numbered(self, str text, Py_ssize_t frame, str label=*)
    cpdef str text(self)
    cpdef bytes utf8(self)


@cython.final
cdef class TwoLanes:
    cdef public dict _pieces
    cdef dict _notes, _labeled, _sections, _problem_sections
    cdef public Py_ssize_t width
    cdef object _first
    cdef long long _base
    cdef bint _near
    cdef Lines _ladder, _body
    cdef unsigned long long _slot_keys[1024]  # ARROW_SLOTS
    cdef list _slot_pieces
    cdef unsigned long long _label_keys[16]
    cdef list _label_texts, _label_drawn
    # The frame table's columns, typed once per table (a memoryview made per connection costs
    # more than drawing a small one's frames).
    cdef object _table
    cdef long long[:] _ts
    cdef unsigned char[:] _flags, _dirs, _frame_notes
    cdef unsigned int[:] _plen

    cdef _line(self, Lines out, Py_ssize_t frame, long long stamp, str tail, str label=*)

    @cython.locals(plain=bint, notes=dict, note=tuple)
    cdef tuple _note_lines(self, object row)
    @cython.locals(text=str, problem=bint, note=tuple)
    cdef bint _section_note(self, object row, Lines lines, Lines body, bint drawing) except -1
    cdef tuple _label_lines(self, object key, tuple piece, str label)
    cdef tuple _piece(self, object key, int fl, bint c2s, object length)
    cpdef tuple draw(self, object analysis, object conn, list rows, dict labels)
    @cython.locals(i=Py_ssize_t, fl=int, way=int, messages=Py_ssize_t, problem=int, drawing=bint, slot=Py_ssize_t,
                   lines=Lines, body=Lines,
                   length=cython.ulonglong, key=cython.ulonglong,
                   stamp=cython.longlong,
                   ts=cython.longlong[:], flags=cython.uchar[:], dirs=cython.uchar[:],
                   plen=cython.uint[:], notes=cython.uchar[:],
                   piece=tuple, drawn=tuple, label=str)
    cdef bint _fill(self, object analysis, object conn, list rows, dict labels) except -1
    cpdef tuple draw_text(self, object analysis, object conn, list rows, dict labels)
    cpdef tuple draw_utf8(self, object analysis, object conn, list rows, dict labels)
