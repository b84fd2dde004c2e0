# C types for closed.py when setup.py compiles it with Cython (the .py stays the source): the
# conversation swaps a closed direction's parser with C calls (one per FIN).
from katui.http.owner cimport MessageOwner
from katui.http.parser cimport HttpHalf

cdef dict _STAND_INS


cpdef HttpHalf stand_in(HttpHalf p)
cpdef HttpHalf reopened(HttpHalf p, MessageOwner owner)
