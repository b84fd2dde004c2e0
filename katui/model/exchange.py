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


def made(store: MessageStore, req: int, resp: int) -> Exchange:
    """``Exchange(store, req, resp)``; compiled, made without a call of ``__init__`` (its
    fields set in C, no int object per row): the freeze makes one per exchange of a capture."""
    if not cython.compiled:
        return Exchange(store, req, resp)
    ex = Exchange.__new__(Exchange)
    ex.store = store
    ex.req = req
    ex.resp = resp
    ex.n = 1
    ex._idle = NO_IDLE
    ex.reused = ex.pipelined = False
    return ex


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
    return _packed(exchanges, store)


def columns(exchanges) -> ExchangeRun:
    """``exchanges`` (a connection's: a run or a tuple) as a run, for readers of its columns:
    the run itself, or a new one of the tuple's fields (any kind of exchange: what is not a
    column, 1xx responses, HTTP/2 streams, is read from the tuple's objects). A load test's
    connections are runs: read this way, no object is made per exchange and reader (six
    readers in a JSON report made 430,000 on 200,000 frames of ab)."""
    if isinstance(exchanges, ExchangeRun):
        return exchanges
    return _packed(tuple(exchanges), exchanges[0].store if exchanges else None)


def _packed(exchanges: tuple, store) -> ExchangeRun:
    """The fields of ``exchanges`` (rows of ``store``) as an :class:`ExchangeRun`."""
    w = RunWriter(store, len(exchanges))
    for ex in exchanges:
        bits = (_REUSED_C if ex.reused else 0) | (_PIPELINED_C if ex.pipelined else 0)
        w.put(ex._idle, ex.req, ex.resp, ex.n, bits)
    return w.run()


@cython.cclass
class RunWriter:
    """The columns of an :class:`ExchangeRun` of ``count`` exchanges, written one exchange at a
    time, in order: the freeze numbers a plain connection's exchanges straight into them, with
    no :class:`Exchange` made (a load test has hundreds of thousands)."""

    __slots__ = ("store", "rows", "count", "k", "cols")

    def __init__(self, store: MessageStore, count: int) -> None:
        self.store = store
        self.count = count
        """How many exchanges the run has."""
        self.k = 0
        """How many are written."""
        if cython.compiled:
            # The columns written in place through C pointers (64-bit ones first: aligned).
            self.rows = PyBytes_FromStringAndSize(cython.NULL, count * _ROW_C)  # noqa: F821
            self.cols = None
        else:
            self.rows = None
            self.cols = ([], [], [], [], [])

    def put(self, idle: int, req: int, resp: int, n: int, bits: int) -> None:
        """Write the next exchange: ``Exchange._idle``, ``req``, ``resp``, ``n`` and its
        ``REUSED | PIPELINED`` bits."""
        k, count = self.k, self.count
        if k >= count:
            raise IndexError("more exchanges than the run has room for")
        if cython.compiled:
            base = PyBytes_AS_STRING(self.rows)  # noqa: F821
            cython.cast(cython.p_longlong, base)[k] = idle
            cython.cast(cython.p_int, base + 8 * count)[k] = req
            cython.cast(cython.p_int, base + 12 * count)[k] = resp
            cython.cast(cython.p_int, base + 16 * count)[k] = n
            base[20 * count + k] = bits
        else:
            idles, reqs, resps, ns, flags = self.cols
            idles.append(_IDLE.pack(idle))
            reqs.append(_INT.pack(req))
            resps.append(_INT.pack(resp))
            ns.append(_UINT.pack(n))
            flags.append(bits)
        self.k = k + 1

    def run(self) -> ExchangeRun:
        """The run, once all ``count`` exchanges are written."""
        if self.k != self.count:
            raise ValueError("exchanges missing from the run")
        if cython.compiled:
            return ExchangeRun(self.store, self.rows)
        idle, req, resp, n, bits = self.cols
        return ExchangeRun(self.store, b"".join(idle + req + resp + n) + bytes(bits))


def _count(rows: bytes, k: int) -> int:
    """How many exchanges the columns ``rows`` hold (``k`` checked against it: IndexError)."""
    n = cython.cdiv(len(rows), _ROW_C)  # (compiled: C division, both are not negative)
    if not 0 <= k < n:
        raise IndexError("exchange index out of range")
    return n


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
        ex = made(self.store, self.req_at(k), self.resp_at(k))  # (req_at checks k)
        ex._idle = self.idle_at(k)
        ex.n = self.n_at(k)
        bits = self.flags_at(k)
        ex.reused = (bits & _REUSED_C) != 0
        ex.pipelined = (bits & _PIPELINED_C) != 0
        return ex

    # The columns of exchange k (0-based; IndexError out of range), for the readers of every
    # exchange of a capture (report rows, findings, timeouts, verdicts): compiled, a C read
    # each (~20 instructions), where an Exchange made to be read costs ~350 (made, then freed).

    def idle_at(self, k: int) -> int:
        """``Exchange._idle`` of exchange ``k``: its idle time, ``NO_IDLE`` when unset."""
        rows = self.rows
        _count(rows, k)
        if cython.compiled:
            return cython.cast(cython.p_longlong, PyBytes_AS_STRING(rows))[k]  # noqa: F821
        return _IDLE.unpack_from(rows, 8 * k)[0]

    def req_at(self, k: int) -> int:
        """``Exchange.req`` of exchange ``k`` (-1: no request)."""
        rows = self.rows
        n = _count(rows, k)
        if cython.compiled:
            return cython.cast(cython.p_int, PyBytes_AS_STRING(rows) + 8 * n)[k]  # noqa: F821
        return _INT.unpack_from(rows, 8 * n + 4 * k)[0]

    def resp_at(self, k: int) -> int:
        """``Exchange.resp`` of exchange ``k`` (-1: unanswered)."""
        rows = self.rows
        n = _count(rows, k)
        if cython.compiled:
            return cython.cast(cython.p_int, PyBytes_AS_STRING(rows) + 12 * n)[k]  # noqa: F821
        return _INT.unpack_from(rows, 12 * n + 4 * k)[0]

    def n_at(self, k: int) -> int:
        """``Exchange.n`` of exchange ``k``."""
        rows = self.rows
        n = _count(rows, k)
        if cython.compiled:
            return cython.cast(cython.p_int, PyBytes_AS_STRING(rows) + 16 * n)[k]  # noqa: F821
        return _UINT.unpack_from(rows, 16 * n + 4 * k)[0]

    def flags_at(self, k: int) -> int:
        """``REUSED | PIPELINED`` of exchange ``k`` (``Exchange.reused``, ``.pipelined``)."""
        rows = self.rows
        n = _count(rows, k)
        if cython.compiled:
            return PyBytes_AS_STRING(rows)[20 * n + k]  # noqa: F821
        return rows[20 * n + k]

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
