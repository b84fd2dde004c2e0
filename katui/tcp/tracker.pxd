# C types for tracker.py when setup.py compiles it with Cython (the .py stays the source).
# Sequence numbers, acks and gaps are 32-bit values (long long: their differences too).
cimport cpython.array
cimport cython

from katui.capture.decode cimport Segment
from katui.tcp.state cimport ByteConsumer, Conn, Half

cdef long long M32, HALF
# katui.model's flag and note bits, imported into C globals (not a Python operation per test).
cdef int ACK, FIN, RST, SYN
cdef int NOTE_KEEPALIVE, NOTE_OUT_OF_ORDER, NOTE_PREVIOUS_LOST, NOTE_RETRANSMISSION, NOTE_TRUNCATED
cdef int NOTE_ZERO_WINDOW


cdef class Tracker:
    cdef public object buf, new_sink, conns
    cdef public dict by_ends
    cdef public bint keep_frames
    cdef public long long row_stream
    cdef public int row_dir, row_note

    @cython.locals(conn=Conn, half=Half, other=Half, d=int, note=int, flags=int, plen=Py_ssize_t,
                   seq=cython.longlong, gap=cython.longlong, midstream=bint,
                   frames=cpython.array.array, at=Py_ssize_t)
    cpdef void track(self, long long n, long long ts, Segment seg) except *
    @cython.locals(other=Half, retrans=bint)
    cdef int _syn(self, Conn conn, Half half, int d, long long n, long long ts, long long seq,
                  long long ack, int flags) except? -1
    @cython.locals(note=int, held=tuple, rel=cython.longlong, behind=cython.longlong, out=ByteConsumer)
    cdef int _data(self, Conn conn, Half half, int d, long long n, long long ts, long long seq,
                   Py_ssize_t poff, Py_ssize_t pcap, Py_ssize_t plen, int flags) except? -1
    @cython.locals(out=ByteConsumer)
    cdef void _deliver(self, Conn conn, Half half, int d, long long n, long long ts, Py_ssize_t poff,
                       Py_ssize_t pcap, Py_ssize_t plen) except *
    cdef void _drain(self, Conn conn, Half half, int d) except *
    cdef void _hole(self, Conn conn, Half half, int d, object nbytes, long long n, long long ts) except *
    cpdef void _skip_to_pending(self, Conn conn, Half half, int d, long long n, long long ts,
                                int keep=*) except *
    @cython.locals(d_other=int)
    cdef int _ack_beyond(self, Conn conn, Half other, long long ack, object gap, long long n,
                         long long ts) except? -1
    cdef void _close(self, Conn conn, Half half, int d, long long n, long long ts, long long seq,
                     Py_ssize_t plen, int flags) except *
