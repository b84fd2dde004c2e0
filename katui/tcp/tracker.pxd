# C types for tracker.py when setup.py compiles it with Cython (the .py stays the source).
cimport cython

from katui.tcp.state cimport Conn, Half


cdef class Tracker:
    cdef public object buf, new_sink, table, conns, by_tuple
    cdef public object _stream, _dir, _flags, _plen, _pcap, _toff, _notes
    cdef public bint keep

    @cython.locals(conn=Conn, half=Half, other=Half, d=int, note=int, flags=int, plen=Py_ssize_t,
                   pcap=Py_ssize_t, poff=Py_ssize_t, toff=Py_ssize_t, midstream=bint)
    cpdef void segment(self, long long n, long long ts, tuple seg)
    @cython.locals(other=Half, retrans=bint)
    cdef int _syn(self, Conn conn, Half half, int d, long long n, long long ts, object seq, object ack,
                  int flags)
    @cython.locals(note=int, held=tuple)
    cdef int _data(self, Conn conn, Half half, int d, long long n, long long ts, object seq,
                   Py_ssize_t poff, Py_ssize_t pcap, Py_ssize_t plen, int flags)
    cdef void _deliver(self, Conn conn, Half half, int d, long long n, long long ts, Py_ssize_t poff,
                       Py_ssize_t pcap, Py_ssize_t plen)
    cdef void _drain(self, Conn conn, Half half, int d)
    cdef void _hole(self, Conn conn, Half half, int d, object nbytes, long long n, long long ts)
    cpdef void _skip_to_pending(self, Conn conn, Half half, int d, long long n, long long ts, int keep=*)
    @cython.locals(d_other=int)
    cdef int _ack_beyond(self, Conn conn, Half other, object ack, object gap, long long n, long long ts)
    cdef void _close(self, Conn conn, Half half, int d, long long n, long long ts, object seq,
                     Py_ssize_t plen, int flags)
