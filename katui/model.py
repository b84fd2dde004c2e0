"""The analysis model: frozen dataclasses shared by the report renderers and the TUI.

Times inside the model are integer nanoseconds (absolute capture timestamps unless a field
says otherwise); conversion to seconds happens only at the edges (reports, UI).
Frame numbers are 1-based, as Wireshark numbers them. ``stream`` is Wireshark's ``tcp.stream``.
"""

from __future__ import annotations

from array import array
from dataclasses import dataclass, field

from katui.units import fmt_bytes

# TCP flag bits (byte 13 of the TCP header).
FIN, SYN, RST, PSH, ACK, URG, ECE, CWR = 0x01, 0x02, 0x04, 0x08, 0x10, 0x20, 0x40, 0x80

# Per-frame TCP analysis notes (bit set), shown in the ladder like Wireshark's expert info.
NOTE_RETRANSMISSION = 0x01
NOTE_OUT_OF_ORDER = 0x02
NOTE_PREVIOUS_LOST = 0x04
NOTE_TRUNCATED = 0x08
NOTE_KEEPALIVE = 0x10

CLOSE_REASONS = {
    "idle-timeout": "closed after sitting idle (keep-alive idle timeout)",
    "connection-close": "a 'Connection: close' header asked for the close",
    "http10": "HTTP/1.0 without keep-alive: one request per connection",
    "request-limit": "the server's per-connection request limit was reached",
    "reset": "reset (RST) instead of an orderly close",
    "stale-reuse": "a request was sent on a connection the peer had already closed",
    "request-timeout": "closed while a request was still waiting for its response",
    "closed": "closed right after the last exchange, without a header asking for it",
    "unknown": "closed right after an exchange over TLS: a header may have asked for it (encrypted)",
    "open": "still open when the capture ended",
}
"""Close reason slugs and what each means, in plain words."""


REQUEST, CHUNKED, COMPLETE = 1, 2, 4
"""Flag bits in a MessageStore row's ``SM_BITS`` number (above them: head bytes << 3)."""

# MessageStore row layout: NUM 64-bit numbers in ``num`` (the COL_* offsets), SMALL 32-bit ones
# in ``small`` (the SM_* offsets), its URI in ``uris`` and a shared tuple of its other strings
# in ``heads`` (the H_* offsets).
NUM = 4
COL_START, COL_END, COL_CLEN, COL_BODY = range(NUM)
SMALL = 4
SM_FIRST, SM_FRAME, SM_STATUS, SM_BITS = range(SMALL)
H_VERSION, H_METHOD, H_REASON, H_CONNECTION, H_KEEP_ALIVE, H_HOST = range(6)
MAX_SHARED_HEADS = 4096


class MessageStore:
    """Every HTTP message of a capture, column-wise: about 70 bytes per message (plus its URI)
    where one object per message (with its int fields) cost over 300. A load-test capture
    holds hundreds of thousands of messages; :class:`HttpMessage` is a view on one row.

    Rows are strided: ``NUM`` 64-bit numbers per row in ``num`` (start ns, end ns, content
    length or -1, body bytes: the ``COL_*`` offsets) and ``SMALL`` 32-bit ones in ``small``
    (first frame, frame, status, flag bits | head bytes << 3: the ``SM_*`` offsets; frame
    numbers are 32-bit everywhere in katui, as in the frame table). ``uris`` holds each row's
    request target ('' for responses) and ``heads`` a tuple (version, method, reason, connection,
    keep-alive, host: the ``H_*`` offsets) that rows with the same strings share: a load test
    repeats a handful of combinations. Rows are appended by the HTTP parser when a head is parsed
    and completed in place when the message ends (frame 0: not completed). Hot renderers read the
    columns directly with these offsets; everything else goes through :class:`HttpMessage`.
    """

    __slots__ = ("num", "small", "uris", "heads", "_shared")

    def __init__(self) -> None:
        self.num = array("q")
        self.small = array("I")
        self.uris: list[str] = []
        self.heads: list[tuple] = []
        self._shared: dict[tuple, tuple] = {}

    def __len__(self) -> int:
        return len(self.num) // NUM

    def add(
        self,
        is_request: bool,
        first_frame: int,
        start_ns: int,
        version: str,
        method: str,
        uri: str,
        status: int,
        reason: str,
        connection: str | None,
        keep_alive: str | None,
        content_length: int | None,
        chunked: bool,
        host: str,
        head_bytes: int,
    ) -> int:
        """Append a message whose head was just parsed (incomplete until :meth:`end`); return
        its row index."""
        i = len(self.num) // NUM
        self.num.extend((start_ns, 0, -1 if content_length is None else content_length, 0))
        self.small.extend(
            (
                first_frame,
                0,
                status,
                (REQUEST if is_request else 0) | (CHUNKED if chunked else 0) | head_bytes << 3,
            )
        )
        self.uris.append(uri)
        head = (version, method, reason, connection, keep_alive, host)
        shared = self._shared.get(head)
        if shared is None:
            shared = head
            # Bounded: hostile captures may make every combination unique (then none is shared).
            if len(self._shared) < MAX_SHARED_HEADS:
                self._shared[head] = head
        self.heads.append(shared)
        return i

    def view(self, i: int) -> HttpMessage | None:
        """Message ``i`` as an object (None for -1: no message)."""
        return None if i < 0 else HttpMessage(self, i)

    def end(self, i: int, frame: int, end_ns: int, body_bytes: int, complete: bool) -> None:
        """Record where message ``i`` ended (the frame carrying its last byte)."""
        num, b = self.num, i * NUM
        num[b + COL_END] = end_ns
        num[b + COL_BODY] = body_bytes
        small, s = self.small, i * SMALL
        small[s + SM_FRAME] = frame
        if complete:
            small[s + SM_BITS] |= COMPLETE

    def abandon(self, i: int, body_bytes: int) -> None:
        """Message ``i`` never completed (the capture or the stream ended inside it)."""
        self.num[i * NUM + COL_BODY] = body_bytes

    def start_ns(self, i: int) -> int:
        """When message ``i`` started (its first frame's timestamp)."""
        return self.num[i * NUM + COL_START]

    def status(self, i: int) -> int:
        """Status code of message ``i`` (0 for a request)."""
        return self.small[i * SMALL + SM_STATUS]

    def method(self, i: int) -> str:
        """Method of message ``i`` ('' for a response)."""
        return self.heads[i][H_METHOD]

    def end_ns(self, i: int) -> int | None:
        """When message ``i`` ended, or None if it never completed."""
        return self.num[i * NUM + COL_END] if self.small[i * SMALL + SM_FRAME] else None


class HttpMessage:
    """One HTTP/1.x request or response head, with where it starts and completes: a read-only
    view on a row of a :class:`MessageStore` (two references; fields are read on access)."""

    __slots__ = ("store", "index")

    def __init__(self, store: MessageStore, index: int) -> None:
        self.store = store
        """The store this message is a row of (renderers may read its columns directly)."""
        self.index = index
        """Row in the store."""

    def _num(self, col: int) -> int:
        return self.store.num[self.index * NUM + col]

    def _small(self, col: int) -> int:
        return self.store.small[self.index * SMALL + col]

    def _text(self, col: int):
        return self.store.heads[self.index][col]

    @property
    def is_request(self) -> bool:
        """True for a request, False for a response."""
        return bool(self._small(SM_BITS) & REQUEST)

    @property
    def first_frame(self) -> int:
        """Frame carrying the first byte of the message."""
        return self._small(SM_FIRST)

    @property
    def frame(self) -> int | None:
        """Frame carrying the last byte (Wireshark shows the message there); None if incomplete."""
        return self._small(SM_FRAME) or None

    @property
    def start_ns(self) -> int:
        """Timestamp of ``first_frame``."""
        return self._num(COL_START)

    @property
    def end_ns(self) -> int | None:
        """Timestamp of ``frame`` (None if incomplete)."""
        return self.store.end_ns(self.index)

    @property
    def version(self) -> str:
        """``HTTP/1.1`` or ``HTTP/1.0``."""
        return self._text(H_VERSION)

    @property
    def method(self) -> str:
        """Request method (requests only, else '')."""
        return self._text(H_METHOD)

    @property
    def uri(self) -> str:
        """Request target as sent, possibly truncated to 2 KiB (requests only, else '')."""
        return self.store.uris[self.index]

    @property
    def status(self) -> int:
        """Status code (responses only, else 0)."""
        return self._small(SM_STATUS)

    @property
    def reason(self) -> str:
        """Reason phrase (responses only, else '')."""
        return self._text(H_REASON)

    @property
    def connection(self) -> str | None:
        """Value of the ``Connection`` header, lower-cased, or None."""
        return self._text(H_CONNECTION)

    @property
    def keep_alive(self) -> str | None:
        """Value of the ``Keep-Alive`` header, or None."""
        return self._text(H_KEEP_ALIVE)

    @property
    def content_length(self) -> int | None:
        """``Content-Length`` header value, or None."""
        n = self._num(COL_CLEN)
        return None if n < 0 else n

    @property
    def chunked(self) -> bool:
        """True when ``Transfer-Encoding: chunked``."""
        return bool(self._small(SM_BITS) & CHUNKED)

    @property
    def body_bytes(self) -> int:
        """Body bytes seen (after de-chunking framing, before decoding)."""
        return self._num(COL_BODY)

    @property
    def head_bytes(self) -> int:
        """Size of the start line plus headers."""
        return self._small(SM_BITS) >> 3

    @property
    def host(self) -> str:
        """``Host`` header of a request ('' if none)."""
        return self._text(H_HOST)

    @property
    def complete(self) -> bool:
        """False when the capture ended (or a gap hit) before the message did."""
        return bool(self._small(SM_BITS) & COMPLETE)

    @property
    def inferred(self) -> bool:
        """True for a burst of TLS application data taken for a message (no keys: its head is
        unknown; ``body_bytes`` counts the records' encrypted bytes)."""
        return self._text(H_VERSION) == INFERRED_VERSION

    @property
    def label(self) -> str:
        """Short ladder label: ``GET /x`` or ``200 OK`` (``request? 517 B`` when inferred)."""
        if self._text(H_VERSION) == INFERRED_VERSION:
            return f"{'request' if self.is_request else 'response'}? {fmt_bytes(self.body_bytes)} (inferred)"
        if self.is_request:
            return f"{self.method} {self.uri}"
        return f"{self.status} {self.reason}".rstrip()

    @property
    def wants_close(self) -> bool:
        """True when the message asks for the connection to be closed after it."""
        tokens = (self.connection or "").replace(" ", "").split(",")
        if "close" in tokens:
            return True
        return self.version == "HTTP/1.0" and "keep-alive" not in tokens

    def __repr__(self) -> str:
        state = f"frame {self.frame}" if self.frame else "incomplete"
        return f"<HttpMessage #{self.index} {self.label!r} from frame {self.first_frame}, {state}>"


INFERRED_VERSION = "TLS"
"""``HttpMessage.version`` of a message inferred from TLS records (:attr:`HttpMessage.inferred`)."""


class Exchange:
    """A request and the final response paired with it on one connection.

    The tracker fills ``req``/``resp`` (message rows) while the capture is read; the analysis
    then sets the positional fields and treats it as immutable. Messages are kept as row
    indices, not objects: a load-test capture has hundreds of thousands of exchanges, and
    ``request``/``response`` make the (two-reference) views on demand.
    """

    __slots__ = ("store", "req", "resp", "informational", "n", "reused", "idle_before_ns",
                 "pipelined")  # fmt: skip

    inferred = False
    """True for an exchange inferred from TLS records (:class:`InferredExchange`)."""

    def __init__(self, store: MessageStore, req: int = -1, resp: int = -1) -> None:
        self.store = store
        """The message store ``req`` and ``resp`` are rows of."""
        self.req = req
        """Row of the request (-1: not captured)."""
        self.resp = resp
        """Row of the final (non-1xx) response (-1: unanswered)."""
        self.informational: tuple[HttpMessage, ...] = ()
        """1xx responses (``100 Continue``, ``101 Switching Protocols``) before the final one."""
        self.n = 1
        """1-based position of the request on its connection."""
        self.reused = False
        """True when the request rode on a connection that had already carried one (n > 1)."""
        self.idle_before_ns: int | None = None
        """Idle time between the previous exchange's last byte and this request's first byte."""
        self.pipelined = False
        """True when the request was sent before the previous response had completed."""

    @property
    def request(self) -> HttpMessage | None:
        """The request (None for a response whose request was not captured)."""
        return self.store.view(self.req)

    @property
    def response(self) -> HttpMessage | None:
        """The final (non-1xx) response, or None when unanswered."""
        return self.store.view(self.resp)

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


class InferredExchange(Exchange):
    """An exchange inferred from encrypted TLS records: a burst of the client's application
    data (the request) and the server's burst that followed (the response). Its messages are
    :attr:`HttpMessage.inferred`; nothing of their heads is known."""

    __slots__ = ()

    inferred = True


@dataclass(frozen=True, slots=True)
class TlsInfo:
    """What the TLS handshake showed in the clear, on a connection that spoke TLS."""

    version: str | None
    """``TLS 1.3``, ``TLS 1.2``... as agreed (``supported_versions`` included); None if no
    ServerHello was seen."""
    sni: str | None
    """Server name the client asked for (SNI), escaped nowhere: render with textsafe."""
    alpn_offered: tuple[str, ...]
    """Protocols the client offered (ALPN), in its order."""
    alpn: str | None
    """Protocol the server chose; None when not chosen or not visible (TLS 1.3 sends it
    encrypted: it is read only when a key log decrypts the connection)."""
    cipher: str | None
    """Cipher suite the server chose, by its IANA name (or ``0x1234``)."""
    resumed: bool | None
    """True when the server resumed a session (TLS 1.2 session ID or ticket echoed, TLS 1.3
    ``pre_shared_key``); None if no ServerHello was seen."""
    full_handshake: bool | None
    """False for an abbreviated (resumed) handshake, True for a full one, None if unknown."""
    handshake_round_trips: int | None
    """Server handshake flights before the client's first application data (1 for TLS 1.3 or a
    resumed TLS 1.2, 2 for a full TLS 1.2; +1 for a HelloRetryRequest)."""
    handshake_ns: int | None
    """ClientHello to the last handshake record before application data."""
    client_hello_frame: int | None
    """Frame that completed the ClientHello."""
    decrypted: bool = False
    """True when a key log decrypted the connection (exchanges are then real, not inferred)."""
    close_notify: tuple[str, ...] = ()
    """Sides (``client``/``server``) that sent what looks like a close_notify alert, in order
    (TLS 1.3: an encrypted record of 19 bytes; TLS 1.2: an alert record)."""
    multiplexed: bool = False
    """ALPN ``h2``: requests are multiplexed, so a burst is not one request (inferred counts
    are then bursts, not requests)."""
    note: str | None = None
    """Why the record layer stopped being read, or what could not be parsed, if anything."""
    labels: tuple[tuple[int, str], ...] = ()
    """(frame, text) for the ladder: the hellos, tickets and alerts (a few dozen at most; the
    text holds capture bytes such as the SNI: escape it)."""


@dataclass(frozen=True, slots=True)
class Close:
    """How a connection ended: who sent the first FIN or RST, and why katui thinks it did."""

    by: str | None
    """``client``, ``server`` or None (still open)."""
    how: str | None
    """``fin``, ``rst`` or None."""
    frame: int | None
    """Frame of the first FIN or RST."""
    ts_ns: int | None
    """Timestamp of that frame."""
    idle_before_ns: int | None
    """How long no payload had flowed in either direction before that frame."""
    reason: str
    """A slug from :data:`CLOSE_REASONS`."""
    explanation: str
    """One sentence for humans, e.g. 'server closed after 5.005 s idle: keep-alive timeout'."""
    asked_by: str | None = None
    """For ``connection-close``: the side whose message carried ``Connection: close``; over TLS,
    the side whose close_notify came first when its peer's FIN or RST was first on the wire."""
    rst_frames: tuple[int, ...] = ()
    """Every RST frame of the connection."""

    @property
    def closer(self) -> str | None:
        """The side that decided to close: the one that asked for it if known, else ``by``."""
        return self.asked_by or self.by


@dataclass(frozen=True, eq=False, slots=True)
class Connection:
    """One TCP connection (one Wireshark ``tcp.stream``)."""

    stream: int
    """Wireshark's tcp.stream index."""
    client: str
    """Client endpoint, ``1.2.3.4:5678`` or ``[::1]:5678``."""
    server: str
    """Server endpoint."""
    client_inferred: str
    """How the client side was chosen: ``syn``, ``syn-ack``, ``http`` or ``port``."""
    first_frame: int
    """First frame of the connection."""
    last_frame: int
    """Last frame of the connection."""
    start_ns: int
    """Timestamp of the first frame."""
    end_ns: int
    """Timestamp of the last frame."""
    frames_c2s: int
    """Frames sent by the client."""
    frames_s2c: int
    """Frames sent by the server."""
    bytes_c2s: int
    """TCP payload bytes sent by the client (wire lengths, retransmissions included)."""
    bytes_s2c: int
    """TCP payload bytes sent by the server."""
    handshake_rtt_ns: int | None
    """SYN to the ACK of the SYN-ACK (Wireshark's iRTT), when the whole handshake was seen."""
    state: str
    """``complete``, ``started-before-capture`` or ``open-at-end``."""
    http: bool
    """True when HTTP/1.x was recognised on the connection."""
    exchanges: tuple[Exchange, ...]
    """Requests and responses in order."""
    close: Close
    """How and why it ended."""
    frames: array = field(repr=False)
    """Frame numbers of the connection, ascending (array of unsigned int)."""
    isn_client: int = 0
    """Client's initial sequence number (for relative seq/ack), or first seq seen."""
    isn_server: int = 0
    """Server's initial sequence number, or first seq seen."""
    retransmissions: int = 0
    """Segments whose bytes had all been seen before."""
    out_of_order: int = 0
    """Segments that arrived ahead of a hole."""
    lost_segments: int = 0
    """Holes in the byte stream that were never filled (lost or not captured)."""
    truncated_frames: int = 0
    """Frames whose payload was cut by the snap length."""
    http_error: str | None = None
    """Why HTTP parsing stopped early on this connection, if it did."""
    requests: int = 0
    """Number of requests seen (exchanges with a request)."""
    tls: TlsInfo | None = None
    """The TLS handshake's facts when the connection spoke TLS (its exchanges are then
    inferred from records unless ``tls.decrypted``)."""

    @property
    def frame_count(self) -> int:
        """Number of frames in the connection."""
        return len(self.frames)

    @property
    def duration_ns(self) -> int:
        """Last frame time minus first frame time."""
        return self.end_ns - self.start_ns

    @property
    def reused(self) -> bool:
        """True when the connection carried more than one request."""
        return self.requests > 1


@dataclass(frozen=True, slots=True)
class Preview:
    """A connection whose verdict is not known yet: the thin subset of :class:`Connection` known
    while the capture is still being read (for early display). Same field names."""

    stream: int
    """tcp.stream."""
    client: str
    """Client endpoint as known so far (from the SYN, else provisional)."""
    server: str
    """Server endpoint as known so far."""
    start_ns: int
    """Timestamp of its first frame."""


@dataclass(frozen=True, slots=True)
class TimeoutEstimate:
    """The server's keep-alive idle timeout inferred from the capture."""

    estimate_ns: int | None
    """Best guess (None when no server-side idle close was seen)."""
    low_ns: int | None
    """Longest idle gap after which a connection was still reused (timeout is above this)."""
    high_ns: int | None
    """Shortest idle gap after which the server closed (timeout is at or below this)."""
    advertised_s: float | None
    """``Keep-Alive: timeout=N`` advertised by the server, if any."""
    samples: int
    """Number of server idle closes behind the estimate."""
    server: str | None = None
    """The server endpoint this estimate is about (None: no server idle close seen)."""


@dataclass(frozen=True, slots=True)
class Finding:
    """A capture-wide verdict in plain language, pointing at a connection and frame."""

    kind: str
    """Slug, e.g. ``server-idle-timeout``, ``stale-reuse``."""
    severity: str
    """``info``, ``warning`` or ``problem``."""
    stream: int | None
    """Connection it points at."""
    frame: int | None
    """Frame it points at."""
    text: str
    """What happened."""
    advice: str = ""
    """What to do about it."""


@dataclass(frozen=True, slots=True)
class IdleGap:
    """A stretch with no frames on a connection, longer than a threshold."""

    stream: int
    """Connection."""
    after_frame: int
    """Last frame before the gap."""
    before_frame: int
    """First frame after the gap."""
    duration_ns: int
    """Length of the gap."""
    ends_in: str
    """What the gap ends with: ``request``, ``close``, ``reset``, or ``other``."""
    explanation: str
    """One sentence for humans."""
