# C types for facts.py when setup.py compiles it with Cython (the .py stays the source).
# A connection's counters and times are read from its C structs (Conn, Half), not by name:
# facts() runs once per connection. What may be None stays an object.
cimport cython

from katui.tcp.state cimport Conn, Half


@cython.locals(ch=Half, sh=Half, cd=int, sd=int)
cpdef object facts(Conn c, object table)
cpdef tuple client_side(Conn c)
cpdef tuple _first_close(Conn c, int cd)
cpdef str _state(Conn c)
cdef tuple _ends(Conn c, int cd)
# Once or twice per connection: an IPv4 address is written from its four bytes as C integers.
@cython.locals(a=cython.uchar, b=cython.uchar, c=cython.uchar, d=cython.uchar)
cpdef str endpoint(bytes ip, unsigned int port)
