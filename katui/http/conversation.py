"""One HTTP/1.x conversation: the sink ``tcp/`` feeds a connection's two byte streams into.

It recognises HTTP from the first bytes of either direction (or, on a connection picked up
mid-stream, from a start line anywhere in the first 64 KiB), runs one :class:`HttpHalf` parser
per direction, and pairs requests with responses into :class:`Exchange` objects.
"""

from __future__ import annotations

from array import array
from collections.abc import Callable

from katui.http.closed import reopened, stand_in
from katui.http.head import METHODS, REQ_START, RESP_START, looks_like_request, looks_like_response
from katui.http.owner import MessageOwner
from katui.http.parser import HttpHalf
from katui.http.states import DEAD
from katui.model import MessageStore
from katui.model.exchange import Exchange, InformedExchange, made
from katui.tcp.sink import StreamSink

try:
    import cython
except ImportError:  # Cython not installed: the interpreted build
    import katui.model._cython as cython

SNIFF_LIMIT = 65536  # bytes to look at for an HTTP start on a connection picked up mid-stream

EARLY_ANSWERS = frozenset((400, 408, 413, 414, 431, 494))
"""Statuses a server sends to a request before its head (or body) has all arrived, refusing
it: Bad Request, Request Timeout, Content Too Large, URI Too Long, Request Header Fields Too
Large, and nginx's 494 (Request Header Too Large)."""

HEAD_ONLY = -2
"""``Exchange.req`` at or below this: only the head of request ``HEAD_ONLY - req`` was seen."""

_HTTP_STARTS = tuple(m + b" " for m in METHODS) + (b"HTTP/1.", b"PRI * HTTP/2.0")
"""What a request or status line starts with; the HTTP/2 connection preface is shaped like a
request line, so a client segment of 1-7 of its bytes waits for the next one too (``try_other``
then sees the joined bytes)."""


def _could_start_http(data: bytes) -> bool:
    """True when ``data`` is the beginning of a request line or a status line."""
    return any(start.startswith(data) for start in _HTTP_STARTS)


def _row(req: int) -> int:
    """The request row an exchange under construction points at (its head's, if only that)."""
    return HEAD_ONLY - req if req <= HEAD_ONLY else req


_RELEASED_PAIRS = array("i")
"""The pairs of every released conversation (never written)."""


def _get(pairs: array, k: int) -> int:
    """``pairs[k]`` (compiled: a C read, ``k`` checked)."""
    if cython.compiled:
        if not 0 <= k < len(pairs):
            raise IndexError("pair index out of range")
        return pairs.data.as_ints[k]
    return pairs[k]


def _put(pairs: array, k: int, row: int) -> None:
    """``pairs[k] = row`` (compiled: a C write, ``k`` checked)."""
    if cython.compiled:
        if not 0 <= k < len(pairs):
            raise IndexError("pair index out of range")
        pairs.data.as_ints[k] = row
    else:
        pairs[k] = row


def _add(pairs: array, req: int, resp: int) -> None:
    """Append an exchange's (request row, response row) to ``pairs``."""
    if cython.compiled:
        at = len(pairs)
        cpython.array.resize_smart(pairs, at + 2)  # noqa: F821 - cimported by conversation.pxd
        pairs.data.as_ints[at] = req
        pairs.data.as_ints[at + 1] = resp
    else:
        pairs.append(req)
        pairs.append(resp)


_PREFIX, _AT, _MIDSTREAM = 2, 4, 6
_FRESH = (0, 0, None, None, (), (), False)
"""Recognising state of a new conversation, per direction ``d``: ``[d]`` bytes examined so far
(-1: decided), ``[_PREFIX + d]`` first bytes too few to recognise HTTP, ``[_AT + d]`` where they
were (frame, ts, offset, length); ``[_MIDSTREAM]`` True when no SYN was seen (the first bytes
may be inside a message). Shared until first written (then a list of its own)."""
_FRESH_MIDSTREAM = (0, 0, None, None, (), (), True)
_DECIDED = (-1, -1, None, None, (), (), False)


OtherProtocol = Callable[[bytes, bool], "StreamSink | None"]
"""``try_other(first bytes, midstream)``: the sink of a protocol those bytes start, or None."""


class HttpConversation(MessageOwner):
    """Both directions of an HTTP/1.x connection and the exchanges paired from them.

    A :class:`katui.tcp.sink.StreamSink` for the tracker, and the owner of its two parsers
    (:class:`katui.http.parser.MessageOwner`). Per direction ``d`` (0 or 1, the tracker's):
    ``p<d>`` its parser once HTTP is recognised (after :meth:`oriented`, ``p0`` is the client's).
    Until then ``sniff`` holds what recognising needs (see :data:`_FRESH`); a load test has
    tens of thousands of connections, so that state is one shared tuple until first written and
    is dropped once HTTP is recognised.

    ``other`` is the sink for a connection that turned out not to speak HTTP (TLS, say): when
    a direction's first bytes are not HTTP, ``try_other(first bytes, midstream)`` may return
    one, and from then on both directions' bytes, holes and ends go to it instead. After a
    ``101`` with ``Upgrade: h2c`` it is the HTTP/2 conversation the connection goes on with
    (:meth:`h2c_upgrade`): the parsers hand it what follows the 101 and the upgraded request.
    """

    __slots__ = ("sniff", "p0", "p1", "pairs", "informed", "req_heads", "req_fill", "resp_idx",
                 "resp_hole", "try_other", "other")  # fmt: skip

    def __init__(self, store: MessageStore, midstream: bool, try_other: OtherProtocol | None = None) -> None:
        self.store = store  # the capture's messages (the parsers' rows): MessageOwner's field
        self.sniff: tuple | list = _FRESH_MIDSTREAM if midstream else _FRESH
        self.p0: HttpHalf | None = None
        self.p1: HttpHalf | None = None
        # Exchange objects (48 bytes, and a list slot) for the pairs of a load test's tens of
        # thousands of connections, all held until the freeze, were ~18 MB of a 240,000-request
        # capture's read peak: two 32-bit rows an exchange instead.
        self.pairs = array("i")
        """Requests and responses paired so far, in order: (request row, response row) per
        exchange, as ``Exchange.req`` and ``Exchange.resp`` (``exchanges`` makes the objects)."""
        self.informed: dict[int, tuple] | None = None
        """Exchange index -> its 1xx responses' views, for the exchanges that have any."""
        self.req_heads = 0
        self.req_fill = 0
        self.resp_idx = 0
        self.resp_hole = False
        self.try_other = try_other
        """Offered the first bytes of a connection that is not HTTP (see the class doc)."""
        self.other: StreamSink | None = None
        """The sink of another protocol recognised on the connection, if any."""

    # -- the byte streams (StreamSink) ---------------------------------------------------

    def data(self, d: int, buf, start: int, end: int, frame: int, ts: int) -> HttpHalf | None:
        """Bytes ``buf[start:end]`` continue direction ``d``. Once HTTP is recognised, returns the
        direction's parser: the tracker then feeds it directly (a dead parser ignores bytes)."""
        p = self.p1 if d else self.p0
        if p is None:
            sn = self.sniff
            if sn[d] < 0:
                if self.other is not None:
                    self.other.data(d, buf, start, end, frame, ts)
                return None
            if sn.__class__ is tuple:
                sn = self.sniff = list(sn)
            p = self._sniff(sn, d, buf, start, end - start)
            if p is None:
                if self.other is not None:
                    self.other.data(d, buf, start, end, frame, ts)
                    return None
                if sn[_PREFIX + d] is not None:  # too short to tell yet: remember where it was
                    sn[_AT + d] += ((frame, ts, start, end - start),)
                else:
                    sn[_AT + d] = ()  # decided: not HTTP
                return None
            # The first bytes came in earlier, shorter segments ('G', 'E'): parse them first.
            for pn, pts, pof, plen in sn[_AT + d]:
                p.feed(buf, pof, pof + plen, pn, pts)
        elif p.owner is not self:  # a closed direction's stand-in (katui.http.closed)
            p = self._reopen(d, p)
        if start < end and (p.state != DEAD or p.switched):  # (switched: see switched_bytes)
            p.feed(buf, start, end, frame, ts)
        return p

    def gap(self, d: int, nbytes: int, frame: int, ts: int) -> None:
        """``nbytes`` of direction ``d`` were never captured."""
        p = self.p1 if d else self.p0
        if p is not None:
            if p.owner is not self:  # a stand-in
                p = self._reopen(d, p)
            if p.switched and p.state == DEAD and self.other is not None:
                self.other.gap(d, nbytes, frame, ts)  # a hole in the HTTP/2 after an upgrade
            else:
                p.gap(nbytes, frame, ts)
        elif self.other is not None:
            self.other.gap(d, nbytes, frame, ts)

    def close(self, d: int, frame: int, ts: int) -> None:
        """Direction ``d`` ended (FIN, or the capture ended)."""
        p = self.p1 if d else self.p0
        if p is not None:
            if p.owner is self:  # (a stand-in's close would change nothing)
                p.close(frame, ts)
                self._shrink(d, p)
            # The pairs at their length: appends left room for more, and a load test's ended
            # connections keep theirs until the freeze.
            self.pairs = self.pairs[:]
        if self.other is not None:  # another protocol's, or the HTTP/2 after an h2c upgrade
            self.other.close(d, frame, ts)

    def client_direction(self) -> int | None:
        """The direction whose parser reads requests, if HTTP was recognised."""
        if self.p0 is not None and self.p0.is_request:
            return 0
        if self.p1 is not None and self.p1.is_request:
            return 1
        return None if self.other is None else self.other.client_direction()

    def oriented(self, client: int) -> None:
        """From now on ``p0`` is the client's parser and ``p1`` the server's."""
        if client:
            self.p0, self.p1 = self.p1, self.p0
        if self.other is not None:
            self.other.oriented(client)

    # -- what the analysis reads ---------------------------------------------------------

    @property
    def exchanges(self) -> list[Exchange]:
        """The exchanges paired so far, in order, as new objects (:class:`InformedExchange`
        for those with 1xx responses)."""
        store, pairs, informed = self.store, self.pairs, self.informed
        out = []
        for k in range(len(pairs) // 2):
            ex = made(store, _get(pairs, 2 * k), _get(pairs, 2 * k + 1))
            if informed is not None and k in informed:
                ex = InformedExchange(ex)
                ex.informational = informed[k]
            out.append(ex)
        return out

    @property
    def recognised(self) -> bool:
        """True when HTTP/1.x was recognised on the connection."""
        return self.p0 is not None or self.p1 is not None

    @property
    def error(self) -> str | None:
        """Why parsing stopped early (the client's parser first), if it did."""
        for p in (self.p0, self.p1):
            if p is not None and p.error:
                return p.error
        return None

    def release(self) -> None:
        """Drop the working state once frozen (this also breaks the conversation <-> parser
        reference cycle, so no collector is needed)."""
        self.pairs = _RELEASED_PAIRS
        self.informed = None
        self.p0 = self.p1 = None
        if self.other is not None:
            self.other.release()

    def _shrink(self, d: int, p: HttpHalf) -> None:
        """Swap closed parser ``p`` of direction ``d`` for a shared stand-in if it holds
        nothing (:mod:`katui.http.closed`)."""
        shared = stand_in(p)
        if shared is not None:
            self._set(d, shared)

    def _reopen(self, d: int, p: HttpHalf) -> HttpHalf:
        """Direction ``d``'s parser again, for bytes or a hole after its FIN (``p``: the
        stand-in)."""
        p = reopened(p, self)
        self._set(d, p)
        return p

    def _set(self, d: int, p: HttpHalf) -> None:
        if d:
            self.p1 = p
        else:
            self.p0 = p

    # -- recognising HTTP ----------------------------------------------------------------

    def _sniff(self, sn: list, d: int, buf, poff: int, pcap: int) -> HttpHalf | None:
        """Decide from the first payload bytes whether this connection speaks HTTP/1.x."""
        head = buf[poff : poff + min(pcap, 32)]
        if head.__class__ is not bytes:  # (a mapped capture's slice is bytes already)
            head = bytes(head)
        prefix = sn[_PREFIX + d]
        if prefix is not None:
            head = prefix + head
            sn[_PREFIX + d] = None
        # HTTP first: another protocol's sniffer is offered only bytes that are not (neither TLS's
        # record header nor HTTP/2's preface or SETTINGS frame begins like a request or status
        # line), and asking it costs two Python calls per connection.
        is_req = looks_like_request(head)
        if is_req or looks_like_response(head):
            return self._recognised(d, is_req, False, sn[1 - d] > 0 or sn[_MIDSTREAM])
        if self.try_other is not None and not (sn[0] or sn[1]):
            other = self.try_other(head, sn[_MIDSTREAM])
            if other is not None:
                self.other = other
                self.sniff = _DECIDED
                # The short segments held so far, of both directions: the ones this head was
                # joined from, and the peer's (an h2c client's 'P' held while the server's
                # SETTINGS came first).
                for side in (1 - d, d):
                    for pn, pts, pof, plen in sn[_AT + side]:
                        other.data(side, buf, pof, pof + plen, pn, pts)
                return None
        if not sn[_MIDSTREAM]:
            if len(head) < 8 and _could_start_http(head) and sn[d] == 0:
                sn[_PREFIX + d] = head  # 'GE' + 'T / HTTP/1.1': wait for the next segment
            else:
                sn[d] = -1  # a clean start that is not HTTP: TLS or another protocol
            return None
        window = bytes(buf[poff : poff + min(pcap, SNIFF_LIMIT)])
        for pat, is_req in ((REQ_START, True), (RESP_START, False)):
            if pat.search(window):
                return self._recognised(d, is_req, True, True)
        sniffed = sn[d] + pcap
        sn[d] = -1 if sniffed > SNIFF_LIMIT else sniffed
        return None

    def _recognised(self, d: int, is_req: bool, resync: bool, other_resync: bool) -> HttpHalf:
        """Direction ``d`` speaks HTTP (requests if ``is_req``): a parser for each direction."""
        mine = HttpHalf(is_req, self, resync)  # (positional: no keyword parsing per parser)
        other = HttpHalf(not is_req, self, other_resync)
        if d:
            self.p1, self.p0 = mine, other
        else:
            self.p0, self.p1 = mine, other
        self.sniff = _DECIDED
        return mine

    # -- pairing (MessageOwner: the parsers call these) ----------------------------------

    def request_head(self, i: int) -> None:
        """A request head was parsed: open its exchange now so the response can find it.

        The exchange only points at the head (``req = HEAD_ONLY - i``) until the request is
        done: an unexpected response in between moves the request to a later exchange, and
        this one must then not claim it too.
        """
        pairs = self.pairs
        if self.req_heads >= len(pairs) // 2:
            if self._answered_early(i):
                return
            _add(pairs, HEAD_ONLY - i, -1)
        else:
            _put(pairs, 2 * self.req_heads, HEAD_ONLY - i)
        self.req_heads += 1

    def request_done(self, i: int) -> None:
        """A request finished (or was abandoned); fill the exchange opened at its head."""
        pairs = self.pairs
        count = len(pairs) // 2
        if self.req_fill >= count:
            # A response nobody asked for came after this request's head and moved pairing
            # past its exchange: that one keeps the response, the request goes to a new one.
            marker = HEAD_ONLY - i
            for k in range(count - 1, -1, -1):
                if _get(pairs, 2 * k) == marker:
                    _put(pairs, 2 * k, -1)
                    break
            _add(pairs, -1, -1)
            self.req_heads = max(self.req_heads, count + 1)
        _put(pairs, 2 * self.req_fill, i)
        self.req_fill += 1

    def _answered_early(self, i: int) -> bool:
        """Request ``i``'s head was parsed after a response that came alone (no request head
        parsed before it), started after this request's first byte and refuses a request
        (:data:`EARLY_ANSWERS`): the server answered this request before its head was
        complete. A ``408 Request Timeout`` from nginx, Apache, HAProxy or Node to a head that
        stalled (the head is only parsed, unfinished, at the close), or nginx's ``414`` to a
        request line longer than its buffer. The request joins that exchange, as the servers
        log it (one request, that status), rather than standing as a second request 1 after an
        answer "without a request". Any other response (a 200) is not paired so: it answers a
        request the capture missed (a lost segment, a capture started mid-connection), nor is
        one when server bytes were lost since it (``resp_hole``). Wireshark pairs neither."""
        pairs = self.pairs
        count = len(pairs) // 2
        if not count or self.resp_hole:
            return False
        resp = _get(pairs, 2 * count - 1)
        store = self.store
        if _get(pairs, 2 * count - 2) != -1 or resp < 0 or store.status(resp) not in EARLY_ANSWERS:
            return False
        if store.start_ns(i) > store.start_ns(resp):
            return False
        _put(pairs, 2 * count - 2, HEAD_ONLY - i)
        self.req_fill = count - 1
        self.req_heads = count
        return True

    def response_lost(self) -> None:
        """Server bytes that may have held responses were lost or skipped."""
        self.resp_hole = True

    def response_method(self, status: int, start_ns: int) -> str:
        """Method of the request the next response answers ('' if unknown).

        Responses pair with requests in order (pipelining). After a hole in the server's byte
        stream, though, responses were lost with it: the next response then answers the latest
        request sent before it (as Wireshark pairs), and the skipped requests stay unanswered.
        """
        pairs = self.pairs
        count = len(pairs) // 2
        store = self.store
        if self.resp_hole:
            self.resp_hole = False
            j = self.resp_idx
            while j + 1 < count:
                req = _row(_get(pairs, 2 * (j + 1)))
                if req < 0 or store.start_ns(req) > start_ns:
                    break
                j += 1
            self.resp_idx = j
        if self.resp_idx < count:
            req = _row(_get(pairs, 2 * self.resp_idx))
            return store.method(req) if req >= 0 else ""
        return ""

    def h2c_upgrade(self) -> None:
        """The response just paired is a 101 with ``Upgrade: h2c``: the connection goes on in
        HTTP/2 (RFC 7540 3.2), in an :class:`~katui.http2.conversation.H2Conversation` whose
        stream 1 is the upgraded request. The client's parser stops at the request (what follows
        it is the client's connection preface); the server's stopped at the 101."""
        if self.other is not None or not self.resp_idx:
            return
        from katui.http2.conversation import H2Conversation  # as http2.sniff: only when needed

        at = 2 * (self.resp_idx - 1)
        client = 0 if self.p0 is not None and self.p0.is_request else 1
        h2 = H2Conversation(self.store, client, True)
        h2.upgraded(_row(_get(self.pairs, at)), _get(self.pairs, at + 1))
        self.other = h2
        p = self.p1 if client else self.p0
        if p is not None and p.owner is self and p.cur < 0:  # (not in a body still arriving)
            p.switched = True
            p.state = DEAD

    def switched_bytes(self, is_request: bool, buf, start: int, end: int, frame: int, ts: int) -> None:
        """Bytes after a protocol switch: the HTTP/2 of an h2c upgrade, else ignored."""
        if self.other is not None:
            requests = self.p0 is not None and self.p0.is_request
            self.other.data(0 if requests == is_request else 1, buf, start, end, frame, ts)

    def response_done(self, i: int) -> None:
        """A response finished; pair it with the oldest unanswered request."""
        store = self.store
        status = store.status(i)
        pairs = self.pairs
        count = len(pairs) // 2
        if 100 <= status < 200 and status != 101:
            if self.resp_idx < count:
                if self.informed is None:  # the connection's first: a dict of its own
                    self.informed = {}
                k = self.resp_idx
                self.informed[k] = self.informed.get(k, ()) + (store.view(i),)
            return
        if self.resp_idx < count:
            _put(pairs, 2 * self.resp_idx + 1, i)
        else:
            _add(pairs, -1, i)
            # An answer whose request was never seen: later requests must not land on it.
            self.req_fill = self.req_heads = count + 1
        self.resp_idx += 1
