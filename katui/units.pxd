# C types for units.py when setup.py compiles it with Cython (the .py stays the source).
# A duration below 10**15 ns is split into its shown digits with C integers; anything else
# (None, negative, huge values from a hostile capture) stays a Python object.
cimport cython


cpdef str fmt_s(object ns)

@cython.locals(unit=cython.longlong, digits=int, shown=cython.longlong, rest=cython.longlong)
cpdef str _fmt_exact(long long ns)
