# C types for verdicts.py when setup.py compiles it with Cython (the .py stays the source).

cdef class CloseFacts:
    cdef public object by, how, frame, ts_ns, idle_ns, server_fin_frame, server_fin_ns
    cdef public object rst_frames, server_rst, client_bytes, server_bytes, http
    cdef public object client_zero_window_frame, client_zero_window_ns, lost_segments
    cdef public object truncated_frames, decided_by
