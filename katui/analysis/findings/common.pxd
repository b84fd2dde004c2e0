# C types for common.py when setup.py compiles it with Cython (the .py stays the source).
# The groupings run over every connection of the capture: their fields are read from their C
# structs.
cimport cython

from katui.model.connection cimport Connection as XConnection


@cython.locals(c=XConnection)
cpdef object by_server_of(object conns)
@cython.locals(i=Py_ssize_t)
cpdef str host_of(str endpoint)
@cython.locals(c=XConnection)
cpdef object by_pair(object conns)
