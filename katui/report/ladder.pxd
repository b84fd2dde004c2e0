# C types for ladder.py when setup.py compiles it with Cython (the .py stays the source).
# Frame numbers stay Python ints (they are the rows' keys); a frame's flags byte and the
# walk's yes/no states are C ints.
cimport cython


@cython.locals(f=int, in_handshake=bint, handshaken=bint, answered=bint, fin_close=bint,
               flags=cython.uchar[:], gap_at=Py_ssize_t)
cpdef list ladder_rows(object analysis, object conn, object gap_ns=*, object idle=*)


# The message store's row layout (katui.model.store) in C globals: a row's index arithmetic
# and flag tests are C, not a Python operation per column read.
from katui.model.exchange cimport Exchange as Ex  # ladder.py's Exchange: the Python name

cdef Py_ssize_t NUM, SMALL, COL_BODY, SM_BITS, SM_FIRST, SM_FRAME, H_VERSION
cdef int COMPLETE, REQUEST

@cython.locals(ex=Ex)
cpdef dict http_labels(object conn, dict texts=*)
@cython.locals(s=Py_ssize_t, bits=cython.uint)
cdef _message_label(dict labels, Ex ex, Py_ssize_t i, object sid, dict texts)
