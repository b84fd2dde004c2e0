# C types for owner.py when setup.py compiles it with Cython (the .py stays the source).
# A parser's owner is typed: its calls (a few per message) are C method calls. Rows are
# Py_ssize_t (MessageStore rows); times are ns and statuses three digits (long long).
from katui.model.store cimport MessageStore


cdef class MessageOwner:
    cdef public MessageStore store

    cpdef void request_head(self, Py_ssize_t i) except *
    cpdef void request_done(self, Py_ssize_t i) except *
    cpdef str response_method(self, long long status, long long start_ns)
    cpdef void response_done(self, Py_ssize_t i) except *
    cpdef void response_lost(self) except *
    cpdef void h2c_upgrade(self) except *
    cpdef void switched_bytes(self, bint is_request, object buf, Py_ssize_t start, Py_ssize_t end,
                              long long frame, long long ts) except *
