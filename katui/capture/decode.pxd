# C types for decode.py when setup.py compiles it with Cython (the .py stays the source).
# Offsets are Py_ssize_t; every index into the capture stays bounds-checked (setup.py).
cimport cython


@cython.locals(end=Py_ssize_t, ip=Py_ssize_t, ver=int, tcp=Py_ssize_t, ip_end=Py_ssize_t,
               payload=Py_ssize_t, wire_payload=Py_ssize_t, captured=Py_ssize_t, doff=int)
cpdef object tcp_segment(int linktype, object buf, Py_ssize_t off, Py_ssize_t caplen,
                         Py_ssize_t wirelen)
