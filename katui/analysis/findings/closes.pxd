# C types for closes.py when setup.py compiles it with Cython (the .py stays the source).
# Its loops over every exchange of the capture read the exchanges' columns (ExchangeRun) in C.
cimport cython

from katui.model.connection cimport Connection as XConnection
from katui.model.exchange cimport ExchangeRun, columns

# The message store's row layout (katui.model), imported into C globals: index arithmetic in C.
cdef Py_ssize_t SMALL, SM_STATUS


# The store's status column as a memory view: C reads, bounds-checked.
@cython.locals(c=XConnection, run=ExchangeRun, k=Py_ssize_t, resp=Py_ssize_t, status=cython.longlong,
               small="unsigned int[:]")
cpdef object _error_responses(object conns)
@cython.locals(c=XConnection, out=list)
cpdef list _unanswered_connections(object conns)
@cython.locals(run=ExchangeRun, k=Py_ssize_t, out=list)
cpdef list _lost(XConnection c)
