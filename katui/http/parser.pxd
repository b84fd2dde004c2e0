# C types for parser.py when setup.py compiles it with Cython (the .py stays the source).
# Byte counts that capture bytes can make huge (remaining, body, missing: a hostile chunk size or
# hole) stay Python ints; offsets into one piece are Py_ssize_t, bounds-checked (setup.py).
cimport cython
from cpython.buffer cimport PyBUF_SIMPLE, PyBuffer_Release, PyObject_GetBuffer
from cpython.bytes cimport PyBytes_FromStringAndSize
from libc.string cimport memchr

from katui.http.head cimport scan_head
from katui.http.owner cimport MessageOwner
from katui.model.store cimport MessageStore
from katui.tcp.state cimport ByteConsumer

# The parser's states (katui.http.states), imported into C integers: a state test is C.
cdef int HEAD, BODY, CHUNK_SIZE, CHUNK_DATA, CHUNK_END, TRAILER, UNTIL_CLOSE, RESYNC, DEAD


cdef Py_ssize_t _MAX_HEAD_C

cpdef Py_ssize_t _head_end(object buf, Py_ssize_t start, Py_ssize_t stop)
@cython.locals(pb=Py_buffer, p="const unsigned char *", stop=Py_ssize_t)
cdef bytes _whole_head(object buf, Py_ssize_t pos, Py_ssize_t end)
@cython.locals(k=Py_ssize_t, c=int, q="const unsigned char *")
cdef Py_ssize_t _blank_line(const unsigned char *p, Py_ssize_t start, Py_ssize_t stop) noexcept


cpdef bint switches_protocol(object method, object status)


cdef class HttpHalf(ByteConsumer):
    cdef public bint is_request, switched
    cdef public int state
    cdef public MessageOwner owner
    cdef public object head, remaining, error, body, missing
    cdef public MessageStore store
    cdef public long long head_frame, head_ns
    cdef public Py_ssize_t cur

    cdef void _carry(self, object data)
    @cython.locals(st=int, take=Py_ssize_t)
    cpdef void feed(self, object buf, Py_ssize_t pos, Py_ssize_t end, long long frame, long long ts) except *
    @cython.locals(st=int)
    cpdef void gap(self, object nbytes, long long frame, long long ts)
    cpdef void close(self, long long frame, long long ts)
    @cython.locals(stop=Py_ssize_t, have=Py_ssize_t, take=Py_ssize_t, head=bytes)
    cdef Py_ssize_t _head(self, object buf, Py_ssize_t pos, Py_ssize_t end, long long frame, long long ts)
    cdef void _partial_head(self, long long frame, long long ts, bint cut=*)
    @cython.locals(scanned=tuple, method=str)
    cdef Py_ssize_t _start(self, object head, long long frame, long long ts, Py_ssize_t avail)
    @cython.locals(i=Py_ssize_t)
    cdef void _open(self, tuple scanned, Py_ssize_t size)
    @cython.locals(i=Py_ssize_t)
    cdef Py_ssize_t _whole(self, tuple scanned, Py_ssize_t size, long long frame, long long ts, Py_ssize_t body)
    @cython.locals(nl=Py_ssize_t, st=int)
    cdef Py_ssize_t _chunk_line(self, object buf, Py_ssize_t pos, Py_ssize_t end, long long frame,
                                long long ts)
    @cython.locals(consumed_from_head=Py_ssize_t, start=Py_ssize_t)
    cdef Py_ssize_t _resync(self, object buf, Py_ssize_t pos, Py_ssize_t end, long long frame,
                            long long ts)
    cdef void _finish(self, long long frame, long long ts)
    cdef void _done(self, Py_ssize_t i)
    cdef void _lost(self)
    cdef void _abandon(self)
    cdef void _fail(self, str why)
