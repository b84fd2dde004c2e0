# C types for pools.py when setup.py compiles it with Cython (the .py stays the source).
# _reuse runs over every exchange of the capture: their fields are read from their C structs.
cimport cython

from katui.model.connection cimport Connection as XConnection
from katui.model.exchange cimport Exchange as XExchange


@cython.locals(c2=XConnection, e2=XExchange, count=Py_ssize_t, piped=Py_ssize_t, had=Py_ssize_t,
               idle=cython.longlong, longest=cython.longlong, streams=list)
cpdef list _reuse(object conns, object by_server)
