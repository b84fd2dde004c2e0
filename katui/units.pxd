# C types for units.py when setup.py compiles it with Cython (the .py stays the source).
# A duration below 10**15 ns is split into its shown digits with C integers; anything else
# (None, negative, huge values from a hostile capture) stays a Python object.
cimport cython
from cpython.bytearray cimport PyByteArray_AS_STRING
from cpython.unicode cimport PyUnicode_DecodeASCII


cpdef str fmt_s(object ns)
cdef tuple _MICROS

@cython.locals(unit=cython.longlong, digits=int, shown=cython.longlong, rest=cython.longlong)
cpdef str _fmt_exact(long long ns)
cdef bytearray _DIGITS
@cython.locals(end=Py_ssize_t, n=Py_ssize_t, buf="char *", _k=int)
cdef str _decimal(unsigned long long shown, int digits, bint ms)

# A timestamp from 0 to 2**62 ns is split with C integers (its microseconds formatted in C);
# others (a hostile capture's) with Python ints.
cdef list _LAST_ISO
cdef object _ISO_NS
@cython.locals(n=cython.longlong, us=cython.longlong, last=list)
cpdef str fmt_iso(object ns, bint utc=*)
