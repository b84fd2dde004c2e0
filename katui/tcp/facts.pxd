# C types for facts.py when setup.py compiles it with Cython (the .py stays the source).
# A connection's counters and times are read from its C structs (Conn, Half), not by name:
# facts() runs once per connection. What may be None stays an object.
cimport cython

from katui.tcp.state cimport Conn, Half
# (as XConnection: the .py's Connection is the Python name)
from katui.model.connection cimport Connection as XConnection


# The close verdict's input (katui.analysis.verdicts reads its fields from this struct).
cdef class CloseFacts:
    cdef public object by, how, frame, ts_ns, idle_ns, server_fin_frame, server_fin_ns
    cdef public object rst_frames, server_rst, client_bytes, server_bytes, http
    cdef public object client_zero_window_frame, client_zero_window_ns, lost_segments
    cdef public object truncated_frames, decided_by, open_ns, irtt_ns


@cython.locals(ch=Half, sh=Half, cd=int, sd=int, closed=bint)
cpdef tuple facts(Conn c, object table)
@cython.locals(conn=XConnection)
cdef object _tcp_connection(Conn c, Half ch, Half sh, tuple ends, object frames)
cpdef tuple client_side(Conn c)
cpdef str _state(Conn c)
cdef tuple _ends(Conn c, int cd)
cpdef str endpoint_text(object n)
cpdef str server_endpoint(object n)
# An IPv4 endpoint's text from the bits of its 48-bit number, as C integers.
@cython.locals(ip=cython.ulonglong)
cdef str _v4_text(unsigned long long n)
# Once or twice per connection: an IPv4 address is written from its four bytes as C integers.
@cython.locals(a=cython.uchar, b=cython.uchar, c=cython.uchar, d=cython.uchar)
cpdef str endpoint(bytes ip, unsigned int port)
