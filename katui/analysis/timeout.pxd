# C types for timeout.py when setup.py compiles it with Cython (the .py stays the source).
# Its loops over every exchange of a server read the exchanges' columns (ExchangeRun) in C.
cimport cython

from katui.model.connection cimport Connection as XConnection
from katui.model.exchange cimport ExchangeRun, columns

cdef long long NO_IDLE
cdef unsigned char REUSED


@cython.locals(c=XConnection, run=ExchangeRun, k=Py_ssize_t, idle=cython.longlong, reused=bint)
cpdef object _longest_survived(object conns, object high)
@cython.locals(c=XConnection, run=ExchangeRun, k=Py_ssize_t, resp=Py_ssize_t)
cpdef object _advertised(object conns)
