"""Requests paired with their responses: :class:`Exchange`, one per request of a capture.

Compiled with Cython when the core is built (``exchange.pxd`` makes its slots C fields); the
analysis model re-exports it (``from katui.model import Exchange``).
"""

from __future__ import annotations

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
        """Time from the request's last byte to the response's first byte."""
        if self.req < 0 or self.resp < 0:
            return None
        store = self.store
        req_end = store.end_ns(self.req)
        if req_end is None:  # the request never completed
            return None
        first = self.informational[0].index if self.informational else self.resp
        return store.num[first * NUM + COL_START] - req_end

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
