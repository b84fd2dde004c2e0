# C types for payload.py when setup.py compiles it with Cython (the .py stays the source).
# The connection list measures protocol() over every connection when a capture loads (a load
# test's 60,000, on the UI's thread): a connection's fields and its first exchange's message
# rows are read as C fields.
cimport cython

from katui.model.connection cimport Connection as Conn
from katui.model.exchange cimport Exchange


@cython.locals(tls=object, app=object, text=str)
cpdef str protocol(Conn conn, object kind=*)

@cython.locals(ex=Exchange, row=cython.int, version=str)
cpdef object _http_version(Conn conn)
