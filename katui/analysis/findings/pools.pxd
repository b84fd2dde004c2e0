# C types for pools.py when setup.py compiles it with Cython (the .py stays the source).
# _reuse runs over every exchange of the capture: their columns (ExchangeRun) are read in C.
cimport cython

from katui.model.connection cimport Close, Connection as XConnection
from katui.model.exchange cimport ExchangeRun, columns

cdef unsigned char REUSED, PIPELINED


@cython.locals(c2=XConnection, run=ExchangeRun, k=Py_ssize_t, e_at=Py_ssize_t, bits=cython.uchar, count=Py_ssize_t,
               piped=Py_ssize_t, had=Py_ssize_t, conc=Py_ssize_t, h2=bint, idle=cython.longlong,
               longest=cython.longlong)
cpdef list _reuse(object conns, object by_server)
# The pool-miss sweep runs over every connection of a (client host, server) pair.
@cython.locals(c=XConnection, out=list)
cpdef list _idle_stretches(object cs)
cdef long long NO_TS
@cython.locals(cl=Close, ts=cython.longlong)
cpdef object _idle_stretch(XConnection p)
@cython.locals(c=XConnection, hits=list, open_heap=list, stretches=list, i=Py_ssize_t, t=cython.longlong)
cpdef list _opened_beside_idle(object cs)
@cython.locals(c=XConnection, cl=Close)
cpdef object _asked_closes(object conns)
