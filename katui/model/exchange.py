"""Requests paired with their responses: :class:`Exchange`, one per request of a capture.

Compiled with Cython when the core is built (``exchange.pxd`` makes its slots C fields); the
analysis model re-exports it (``from katui.model import Exchange``).
"""

from __future__ import annotations

import struct
from collections.abc import Sequence

from katui.model.store import COL_START, NUM, HttpMessage, MessageStore

GATEWAY_ERRORS = frozenset((502, 503, 504))
"""Response statuses of a gateway or server that could not serve the request (a problem)."""

try:
    import cython
except ImportError:  # Cython not installed: the interpreted build (the decorators do nothing)
    import katui.model._cython as cython

NO_IDLE = -1
"""``Exchange.idle_before_ns`` unset (kept as a C integer: idle times are never negative)."""


# Not tracked by the cycle collector when compiled: an exchange refers only to the message
# store (and 1xx message views), which never refer back (16 bytes less each).
@cython.no_gc
@cython.cclass
class Exchange:
    """A request and the final response paired with it on one connection.

    The tracker fills ``req``/``resp`` (message rows) while the capture is read; the analysis
    then sets the positional fields and treats it as immutable. Messages are kept as row
    indices, not objects: a load-test capture has hundreds of thousands of exchanges, and
    ``request``/``response`` make the (two-reference) views on demand.
    """

    # Compiled, the slots are C fields (exchange.pxd): 48 bytes per exchange, not an int object
    # for each row index and idle time (~190 bytes more); a capture has 100,000s.
    __slots__ = ("store", "req", "resp", "n", "reused", "_idle", "pipelined")

    inferred = False
    """True for an exchange inferred from TLS records (:class:`InferredExchange`)."""
    informational: tuple[HttpMessage, ...] = ()
    """1xx responses (``100 Continue``, ``101 Switching Protocols``) before the final one (an
    :class:`InformedExchange` has some; a class attribute here: most exchanges have none, and
    a field would cost 16 bytes each as allocated)."""

    def __init__(self, store: MessageStore, req: int = -1, resp: int = -1) -> None:
        self.store = store
        """The message store ``req`` and ``resp`` are rows of."""
        self.req = req
        """Row of the request (-1: not captured)."""
        self.resp = resp
        """Row of the final (non-1xx) response (-1: unanswered)."""
        self.n = 1
        """1-based position of the request on its connection."""
        self.reused = False
        """True when the request rode on a connection that had already carried one (n > 1)."""
        self._idle = NO_IDLE
        self.pipelined = False
        """True when the request was sent before the previous response had completed."""

    @property
    def idle_before_ns(self) -> int | None:
        """Idle time between the previous exchange's last byte and this request's first byte
        (None: not a reused request, or nothing before it ended)."""
        return None if self._idle == NO_IDLE else self._idle

    @idle_before_ns.setter
    def idle_before_ns(self, ns: int | None) -> None:
        self._idle = NO_IDLE if ns is None else ns

    @property
    def request(self) -> HttpMessage | None:
        """The request (None for a response whose request was not captured)."""
        return self.store.view(self.req)

    @property
    def response(self) -> HttpMessage | None:
        """The final (non-1xx) response, or None when unanswered."""
        return self.store.view(self.resp)

    @property
    def gateway_error(self) -> bool:
        """True when the response is a 502, 503 or 504 (``GATEWAY_ERRORS``)."""
        return self.resp >= 0 and self.store.status(self.resp) in GATEWAY_ERRORS

    @property
    def failed(self) -> bool:
        """True when the request got no response."""
        return self.req >= 0 and self.resp < 0

    @property
    def ttfb_ns(self) -> int | None:
        """Time from the request's last byte to the response's first byte (None: no response,
        the request never completed, or the response began before it ended: a server refusing
        a request early, nginx's 414 to a request line longer than its buffer)."""
        if self.req < 0 or self.resp < 0:
            return None
        store = self.store
        req_end = store.end_ns(self.req)
        if req_end is None:  # the request never completed
            return None
        first = self.informational[0].index if self.informational else self.resp
        took = store.num[first * NUM + COL_START] - req_end
        return took if took >= 0 else None

    def __repr__(self) -> str:
        return (
            f"<Exchange n={self.n} request={self.request!r} response={self.response!r}"
            f"{' reused' if self.reused else ''}>"
        )


class InformedExchange(Exchange):
    """An exchange whose request got 1xx responses (``informational``) before its final one."""

    __slots__ = ("informational",)

    def __init__(self, ex: Exchange) -> None:
        super().__init__(ex.store, ex.req, ex.resp)
        self.n, self.reused, self._idle, self.pipelined = ex.n, ex.reused, ex._idle, ex.pipelined
        self.informational: tuple[HttpMessage, ...] = ()


class InferredExchange(Exchange):
    """An exchange inferred from encrypted TLS records: a burst of the client's application
    data (the request) and the server's burst that followed (the response). Its messages are
    :attr:`HttpMessage.inferred`; nothing of their heads is known."""

    __slots__ = ()

    inferred = True


REUSED, PIPELINED = 1, 2
"""Flag bits of an exchange in an :class:`ExchangeRun` (``Exchange.reused``, ``.pipelined``)."""
ROW_BYTES = 21
"""Bytes an exchange takes in an :class:`ExchangeRun`: idle (64-bit), request row, response row,
n (32-bit each), flags (a byte)."""
# The same as C integers for this module's compiled code (exchange.pxd declares them): no int
# object made for each exchange read.
_ROW_C, _REUSED_C, _PIPELINED_C = ROW_BYTES, REUSED, PIPELINED
_IDLE, _INT = struct.Struct("=q"), struct.Struct("=i")
_UINT = struct.Struct("=I")


def kept(exchanges: tuple) -> tuple | ExchangeRun:
    """A connection's exchanges (numbered, frozen) as an :class:`ExchangeRun` when they are all
    plain :class:`Exchange` of one store, else the tuple itself (1xx responses, exchanges
    inferred from TLS records, HTTP/2 streams: rarer, they stay objects)."""
    if not exchanges:
        return exchanges
    store = exchanges[0].store
    for ex in exchanges:
        if ex.__class__ is not Exchange or ex.store is not store:
            return exchanges
    n = len(exchanges)
    if not cython.compiled:
        cols = (
            b"".join([_IDLE.pack(ex._idle) for ex in exchanges]),
            b"".join([_INT.pack(ex.req) for ex in exchanges]),
            b"".join([_INT.pack(ex.resp) for ex in exchanges]),
            b"".join([_UINT.pack(ex.n) for ex in exchanges]),
            bytes([(REUSED if ex.reused else 0) | (PIPELINED if ex.pipelined else 0) for ex in exchanges]),
        )
        return ExchangeRun(store, b"".join(cols))
    # Compiled: the columns written in place through C pointers (64-bit ones first: aligned).
    rows = PyBytes_FromStringAndSize(cython.NULL, n * _ROW_C)  # noqa: F821 - cimported by exchange.pxd
    base = PyBytes_AS_STRING(rows)  # noqa: F821
    k = 0
    for ex in exchanges:
        cython.cast(cython.p_longlong, base)[k] = ex._idle
        cython.cast(cython.p_int, base + 8 * n)[k] = ex.req
        cython.cast(cython.p_int, base + 12 * n)[k] = ex.resp
        cython.cast(cython.p_int, base + 16 * n)[k] = ex.n
        base[20 * n + k] = (_REUSED_C if ex.reused else 0) | (_PIPELINED_C if ex.pipelined else 0)
        k += 1
    return ExchangeRun(store, rows)


@cython.no_gc
@cython.cclass
class ExchangeRun:
    """A connection's plain exchanges (``Connection.exchanges``), column-wise in one bytes
    object: 21 bytes an exchange where an :class:`Exchange` and its tuple slot cost 56 (a load
    test has hundreds of thousands). A read-only sequence as the tuple it replaces (length,
    truth, iteration, indexing, slicing) whose items are made when read: equal in every field
    from one read to the next, but not the same objects."""

    __slots__ = ("store", "rows")

    def __init__(self, store: MessageStore, rows: bytes) -> None:
        self.store = store
        """The message store the exchanges' ``req`` and ``resp`` are rows of."""
        self.rows = rows
        """The columns one after the other (``ROW_BYTES`` an exchange): ``_idle`` (64-bit),
        ``req``, ``resp``, ``n`` (32-bit), ``REUSED | PIPELINED`` (a byte)."""

    def _made(self) -> tuple:
        """The exchanges as a tuple of new objects."""
        return tuple([self._item(k) for k in range(len(self.rows) // _ROW_C)])

    def _item(self, k: int) -> Exchange:
        """Exchange ``k`` (0-based) as a new :class:`Exchange`."""
        rows = self.rows
        n = len(rows) // _ROW_C
        if not 0 <= k < n:
            raise IndexError("exchange index out of range")
        ex = Exchange.__new__(Exchange)
        ex.store = self.store
        if cython.compiled:  # C reads of the columns (k checked above)
            base = PyBytes_AS_STRING(rows)  # noqa: F821 - cimported by exchange.pxd
            ex._idle = cython.cast(cython.p_longlong, base)[k]
            ex.req = cython.cast(cython.p_int, base + 8 * n)[k]
            ex.resp = cython.cast(cython.p_int, base + 12 * n)[k]
            ex.n = cython.cast(cython.p_int, base + 16 * n)[k]
            bits = base[20 * n + k]
            ex.reused = (bits & _REUSED_C) != 0
            ex.pipelined = (bits & _PIPELINED_C) != 0
        else:
            ex._idle = _IDLE.unpack_from(rows, 8 * k)[0]
            ex.req = _INT.unpack_from(rows, 8 * n + 4 * k)[0]
            ex.resp = _INT.unpack_from(rows, 12 * n + 4 * k)[0]
            ex.n = _UINT.unpack_from(rows, 16 * n + 4 * k)[0]
            bits = rows[20 * n + k]
            ex.reused, ex.pipelined = bool(bits & REUSED), bool(bits & PIPELINED)
        return ex

    def __len__(self) -> int:
        return len(self.rows) // _ROW_C

    def __bool__(self) -> bool:
        return len(self.rows) > 0

    def __iter__(self):
        return iter(self._made())

    def __getitem__(self, i):
        if isinstance(i, slice):
            return self._made()[i]
        k = i.__index__()
        return self._item(k + len(self.rows) // _ROW_C if k < 0 else k)

    def __reversed__(self):
        return reversed(self._made())

    def __eq__(self, other: object) -> bool:
        if isinstance(other, ExchangeRun):
            return self.store is other.store and self.rows == other.rows
        return NotImplemented

    def __hash__(self) -> int:
        return hash(self.rows)

    def __repr__(self) -> str:
        return repr(self._made())


Sequence.register(ExchangeRun)
