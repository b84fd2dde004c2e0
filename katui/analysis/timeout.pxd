# C types for timeout.py when setup.py compiles it with Cython (the .py stays the source).
# Its loops over every exchange of a server read the exchanges' fields from their C structs.
cimport cython

from katui.model.connection cimport Connection as XConnection
from katui.model.exchange cimport Exchange as XExchange

cdef long long NO_IDLE


@cython.locals(c=XConnection, e=XExchange, idle=cython.longlong)
cpdef object _longest_survived(object conns, object high)
@cython.locals(c=XConnection, e=XExchange)
cpdef object _advertised(object conns)
