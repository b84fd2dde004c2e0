# C types for connection.py when setup.py compiles it with Cython (the .py stays the source).
# The tracker's 64-bit counts and timestamps and the 32-bit sequence numbers are C fields;
# what may be None stays an object.
cimport cython


cdef class Connection:
    # The handshake RTT (_rtt) is a tracker's C integer (katui.tcp.state.Conn.irtt_ns), None
    # when not measured (_rtt_known): no int object per connection.
    cdef public long long stream, start_ns, end_ns, bytes_c2s, bytes_s2c, _rtt
    # Frame numbers and counts of frames or requests: 32-bit, as in the frame table and the
    # message store; sequence numbers are 32-bit values. (32 bytes less per connection.)
    cdef public unsigned int first_frame, last_frame, frames_c2s, frames_s2c, isn_client, isn_server
    cdef public unsigned int retransmissions, out_of_order, lost_segments, truncated_frames, requests
    # Bytes (a bint is four): with the 32-bit fields before them, 192 bytes a connection as
    # allocated, not 208. _http is Connection.http.
    cdef public unsigned char _rtt_known, _http
    cdef public object client, server, client_inferred
    cdef public object state, exchanges, close, frames, http_error, tls, http2


cdef class Close:
    # (_rare: the RST frames, or them with a wait and a status: see Close.__init__)
    cdef public object by, how, idle_before_ns, reason, explanation, asked_by, _rare
    cdef public object _evidence, exchange
    cdef public long long _frame, _ts
    # The frame number of a one-piece evidence and where it goes in the text (_frame_out): with
    # _closing a byte, Close is 112 bytes as allocated.
    cdef public unsigned int _ev_frame
    cdef public unsigned short _ev_at
    cdef public unsigned char _closing


@cython.locals(at=Py_ssize_t, start=Py_ssize_t, end=Py_ssize_t, n=Py_ssize_t)
cdef bint _frame_out(Close close, str ev) except -1
cpdef object rare_fields(Close close)  # (a tuple, or the _Rare named tuple)
