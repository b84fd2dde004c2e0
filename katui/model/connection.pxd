# C types for connection.py when setup.py compiles it with Cython (the .py stays the source).
# Numbers that may be None, or that are not the tracker's own 64-bit counts, stay objects.

cdef class Connection:
    cdef public long long stream, first_frame, last_frame, start_ns, end_ns
    cdef public long long frames_c2s, frames_s2c, bytes_c2s, bytes_s2c
    cdef public long long retransmissions, out_of_order, lost_segments, truncated_frames, requests
    cdef public object isn_client, isn_server, client, server, client_inferred, handshake_rtt_ns
    cdef public object state, http, exchanges, close, frames, http_error, tls, http2
