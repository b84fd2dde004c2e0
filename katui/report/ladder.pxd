# C types for ladder.py when setup.py compiles it with Cython (the .py stays the source).
# Frame numbers stay Python ints (they are the rows' keys); a frame's flags byte and the
# walk's yes/no states are C ints.
cimport cython


@cython.locals(f=int, in_handshake=bint, handshaken=bint, answered=bint, fin_close=bint,
               flags=cython.uchar[:], gap_at=Py_ssize_t)
cpdef list ladder_rows(object analysis, object conn, object gap_ns=*, object idle=*)
