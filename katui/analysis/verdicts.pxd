cimport cython

# C types for verdicts.py when setup.py compiles it with Cython (the .py stays the source).
# _close is cpdef: its callers name the optional fields they give (a cdef function's
# callers may not skip any).

# What TCP saw of the close (its C struct): katui.tcp.facts makes one per connection.
from katui.tcp.facts cimport CloseFacts


# The rules read a connection's CloseFacts (and its exchanges' rows) from their C structs, not
# by name: they run once per connection.
# (as XExchange: the .py's Exchange is the Python name, imported for its annotations)
from katui.model.exchange cimport Exchange as XExchange, ExchangeRun, columns
# A time in words for most verdicts, a row's index in the store's head table: C calls.
from katui.units cimport fmt_s
from katui.model.store cimport ix_at

# The message store's row layout (katui.model), imported into C globals: index arithmetic in C.
cdef Py_ssize_t SMALL, SM_BITS, SM_FIRST, SM_FRAME, SM_STATUS, NUM, COL_START
cdef int COMPLETE, REQUEST

# exchanges: a tuple, or an ExchangeRun (the rules read its columns in C: run)
@cython.locals(run=ExchangeRun)
cpdef object decide_close(CloseFacts facts, object exchanges, object idle_threshold_ns=*)
@cython.locals(closing=bint)
cpdef object _close(CloseFacts f, str reason, str text, object evidence=*, object asked_by=*,
                    object wait_ns=*, object status=*, object exchange=*)
cdef object _decider(CloseFacts f)
cdef str _verb(CloseFacts f)
cdef str _idle_txt(CloseFacts f)
cdef str _msg(object m, object n)
@cython.locals(s=Py_ssize_t)
cdef str _row_msg(object small, Py_ssize_t row, object n)
cpdef object blind_bytes(CloseFacts f)
@cython.locals(k=Py_ssize_t, j=Py_ssize_t, row=Py_ssize_t, timeout=XExchange, ex=XExchange)
cdef object _crossed_timeout(CloseFacts f, object exchanges, ExchangeRun run, object idle_threshold_ns)
@cython.locals(j=Py_ssize_t, req=Py_ssize_t)
cdef Py_ssize_t _after_timeout(ExchangeRun run, Py_ssize_t k, object sent_ns) except? -2
@cython.locals(j=Py_ssize_t, row=Py_ssize_t)
cdef object _quiet_since(CloseFacts f, ExchangeRun run, Py_ssize_t k)
@cython.locals(ex=XExchange, last=XExchange)
cdef object _stale_reuse(CloseFacts f, object exchanges, ExchangeRun run, object idle_threshold_ns)
@cython.locals(ex=XExchange, k=Py_ssize_t, row=Py_ssize_t)
cdef object _upgrade(CloseFacts f, object exchanges, ExchangeRun run, object idle_threshold_ns)
@cython.locals(k=Py_ssize_t)
cdef object _no_request(CloseFacts f, object exchanges, ExchangeRun run, object idle_threshold_ns)
cdef bint _silence_decides(CloseFacts f, object idle_threshold_ns)
@cython.locals(last=XExchange, k=Py_ssize_t, row=Py_ssize_t, answered=bint)
cdef object _pending(CloseFacts f, object exchanges, ExchangeRun run, object idle_threshold_ns)
cdef object _incomplete(CloseFacts f, XExchange ex, object resp)
cdef object _stalled(CloseFacts f, XExchange ex)
cdef object _left(CloseFacts f, XExchange ex, object resp)
@cython.locals(last=XExchange, row=Py_ssize_t)
cdef object _error(CloseFacts f, object exchanges, ExchangeRun run, object idle_threshold_ns)
@cython.locals(k=Py_ssize_t, req=Py_ssize_t, resp=Py_ssize_t)
cdef object _headers(CloseFacts f, object exchanges, ExchangeRun run, object idle_threshold_ns)
@cython.locals(k=Py_ssize_t, row=Py_ssize_t)
cdef Py_ssize_t _response(ExchangeRun run, object n) except? -2
@cython.locals(k=Py_ssize_t, row=Py_ssize_t, ix=Py_ssize_t, seen=Py_ssize_t)
cdef bint _earlier_close(ExchangeRun run, Py_ssize_t last) except -1
cdef object _text(object store, Py_ssize_t row)
cpdef bint row_wants_close(object text) except -1
@cython.locals(last=XExchange, k=Py_ssize_t)
cdef object _idle(CloseFacts f, object exchanges, ExchangeRun run, object idle_threshold_ns)
@cython.locals(last=XExchange, k=Py_ssize_t)
cdef object _mechanics(CloseFacts f, object exchanges, ExchangeRun run, object idle_threshold_ns)
@cython.locals(k=Py_ssize_t)
cdef Py_ssize_t _last_request(ExchangeRun run) except? -2
