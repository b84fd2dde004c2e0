# C types for closes.py when setup.py compiles it with Cython (the .py stays the source).
# Its loops over every exchange of the capture read the exchanges' fields from their C structs.
cimport cython

from katui.model.connection cimport Connection as XConnection
from katui.model.exchange cimport Exchange as XExchange

# The message store's row layout (katui.model), imported into C globals: index arithmetic in C.
cdef Py_ssize_t SMALL, SM_STATUS


# The store's status column as a memory view: C reads, bounds-checked.
@cython.locals(c=XConnection, e=XExchange, status=cython.longlong, small="unsigned int[:]")
cpdef object _error_responses(object conns)
@cython.locals(c=XConnection, out=list)
cpdef list _unanswered_connections(object conns)
@cython.locals(e=XExchange, out=list)
cpdef list _lost(XConnection c)
