# C types for text.py when setup.py compiles it with Cython (the .py stays the source).
# A connection's, its close's and an exchange's fields are read from their C structs (a load
# test has tens of thousands of connections and hundreds of thousands of exchanges).
cimport cython

from katui.model.connection cimport Close
from katui.model.connection cimport Connection as Conn  # text.py's Connection: the Python name
from katui.model.exchange cimport Exchange
from katui.report.markdown cimport Cells
from katui.units cimport fmt_iso, fmt_s

cdef Py_ssize_t SMALL, SM_FIRST, SM_FRAME
cdef dict _CLOSED_BY, _SAFE
cdef Py_ssize_t MAX_SAFE


@cython.locals(cl=Close, closer=str)
cdef str _row(object a, Conn c)
cdef str _safe(str text)
@cython.locals(e=Exchange, req=int, resp=int, s=Py_ssize_t, linked=bint, h2=bint)
cdef list _detail(object a, Conn c, bint ladder, Cells cells)
