"""One TCP connection of the analysis model: :class:`Connection`, one per ``tcp.stream``, and
:class:`Close`, how it ended.

Compiled with Cython when the core is built (``connection.pxd``): their numbers are then C
fields, not an int object each (~400 bytes less per connection; a load test has tens of
thousands). The analysis model re-exports them (``from katui.model import Connection``).
"""

from __future__ import annotations

import sys
from array import array
from typing import TYPE_CHECKING, NamedTuple

from katui.model.fields import dataclass_fields, fields_repr

try:
    import cython
except ImportError:  # Cython not installed: the interpreted build (the decorators do nothing)
    import katui.model._cython as cython

if TYPE_CHECKING:
    from katui.model import Exchange, Http2Info, TlsInfo
    from katui.model.exchange import ExchangeRun

PROBLEM_REASONS = frozenset(("stale-reuse", "reset", "upstream-failure", "tls-failed"))
"""Close reasons that are problems whatever else happened."""

CLOSE_FIELDS = ("by", "how", "frame", "ts_ns", "idle_before_ns", "reason", "explanation", "asked_by",
                "rst_frames", "evidence", "wait_ns", "status", "exchange")  # fmt: skip
"""Close's fields in order (its constructor's positional order)."""
NO_FRAME = 0
"""``Close.frame`` of a connection never closed (frames are numbered from 1)."""
NO_TS = -(1 << 63)
"""``Close.ts_ns`` of a connection never closed (timestamps are 64-bit and never this low)."""


# Not tracked by the cycle collector when compiled: its fields are strings, numbers and tuples
# of them (16 bytes less per connection).
@cython.no_gc
@cython.cclass
class Close:
    """How a connection ended: who sent the first FIN or RST, and why katui thinks it did.
    Read-only by convention; compared and hashed by value and usable with
    :func:`dataclasses.replace`, as the frozen dataclass it replaces was."""

    __slots__ = ("by", "how", "_frame", "_ts", "idle_before_ns", "reason", "explanation", "asked_by",
                 "_rare", "_evidence", "exchange", "_closing", "_ev_frame", "_ev_at")  # fmt: skip
    __dataclass_fields__ = dataclass_fields(CLOSE_FIELDS)

    def __init__(
        self,
        by: str | None,
        how: str | None,
        frame: int | None,
        ts_ns: int | None,
        idle_before_ns: int | None,
        reason: str,
        explanation: str,
        asked_by: str | None = None,
        rst_frames: tuple[int, ...] = (),
        evidence: tuple[str, ...] = (),
        wait_ns: int | None = None,
        status: int | None = None,
        exchange: int | None = None,
        closing: bool = False,
    ) -> None:
        self.by = by
        """``client``, ``server`` or None (still open)."""
        self.how = how
        """``fin``, ``rst`` or None."""
        self._frame = NO_FRAME if frame is None else frame
        self._ts = NO_TS if ts_ns is None else ts_ns
        self.idle_before_ns = idle_before_ns
        """How long no payload had flowed in either direction before that frame."""
        self.reason = reason
        """A slug from :data:`CLOSE_REASONS`."""
        self.explanation = explanation
        """One sentence for humans, e.g. 'server closed after 5.005 s idle: keep-alive timeout'."""
        self.asked_by = asked_by
        """The side that asked for the close: whose message carried ``Connection: close`` (for
        ``connection-close``, ``http10``, ``request-limit``); over TLS, the side whose close_notify
        came first when its peer's FIN or RST was first on the wire."""
        # The RST frames, and what only a few closes have (a wait, a status), in one field:
        # the RST frames' tuple itself (most often the shared empty one) unless there is a wait
        # or a status. Compiled, 112 bytes a close as allocated, not 128: and not the size of
        # the tracker's per-direction state, whose freed blocks its closes would otherwise fill
        # and pin at the freeze (~15 MB of a load test's pools left unusable for the rest).
        self._rare = rst_frames if wait_ns is None and status is None else _Rare(rst_frames, wait_ns, status)
        # One piece of evidence (most connections have one) is kept as the string itself: a
        # tuple less per connection (~50 bytes; a load test has hundreds of thousands), and
        # when it names a frame, as the text around the number, shared (:func:`_frame_out`).
        single = evidence.__class__ is tuple and len(evidence) == 1 and evidence[0].__class__ is str
        self._ev_frame = self._ev_at = 0
        if not single:
            self._evidence = evidence
        elif not _frame_out(self, evidence[0]):
            self._evidence = evidence[0]
        # ``closing``: the evidence ends with the closing FIN or RST (``server FIN frame 14``),
        # made when read: one string less per connection.
        self._closing = closing
        self.exchange = exchange
        """The request (``Exchange.n``) the reason is about, when it is about one."""

    @property
    def rst_frames(self) -> tuple[int, ...]:
        """Every RST frame of the connection."""
        rare = self._rare
        return rare.rst_frames if rare.__class__ is _Rare else rare

    @property
    def wait_ns(self) -> int | None:
        """For a close with something pending (incomplete request, unanswered request, stalled
        response): how long it had waited when the connection was closed."""
        rare = self._rare
        return rare.wait_ns if rare.__class__ is _Rare else None

    @property
    def status(self) -> int | None:
        """For ``error-close``: the status of the error response."""
        rare = self._rare
        return rare.status if rare.__class__ is _Rare else None

    @property
    def frame(self) -> int | None:
        """Frame of the first FIN or RST."""
        return None if self._frame == NO_FRAME else self._frame

    @property
    def ts_ns(self) -> int | None:
        """Timestamp of that frame."""
        return None if self._ts == NO_TS else self._ts

    @property
    def evidence(self) -> tuple[str, ...]:
        """The frames and facts the reason rests on, in words ('response 3 (frame 12) said
        Connection: close', 'server FIN frame 14')."""
        ev = self._evidence
        if self._ev_frame:
            at = self._ev_at
            ev = (f"{ev[:at]}{self._ev_frame}{ev[at:]}",)
        elif ev.__class__ is str:
            ev = (ev,)
        if not self._closing:
            return ev
        return (*ev, f"{self.by} {'RST' if self.how == 'rst' else 'FIN'} frame {self.frame}")

    @property
    def is_problem(self) -> bool:
        """True for a reset or a stale reuse (shown with a ✖)."""
        return self.how == "rst" or self.reason in PROBLEM_REASONS

    @property
    def closer(self) -> str | None:
        """The side that decided to close: the one that asked for it if known, else ``by``."""
        return self.asked_by or self.by

    def _fields(self) -> tuple:
        return tuple([getattr(self, name) for name in CLOSE_FIELDS])

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        return self._fields() == other._fields()

    def __hash__(self) -> int:
        return hash(self._fields())

    def __repr__(self) -> str:
        return fields_repr(self, CLOSE_FIELDS)


def rare_fields(close: Close) -> tuple:
    """``(close.rst_frames, close.wait_ns, close.status)`` in one call (compiled: a C call that
    reads the field behind them, where the three properties are three lookups by name: the JSON
    writer reads them for every connection, ~1,000 instructions each)."""
    rare = close._rare
    return rare if rare.__class__ is _Rare else (rare, None, None)


class _Rare(NamedTuple):
    """``Close._rare`` of a close with a wait or a status."""

    rst_frames: tuple
    wait_ns: int | None
    status: int | None


FRAME_MARK = "(frame "


def _frame_out(close: Close, ev: str) -> bool:
    """Keep ``close``'s one piece of evidence ``ev`` as the text around the number of its
    ``(frame N)``, interned, with N and where it goes in C fields: ``response 10 (frame 2965)
    said 'Connection: close'`` is a string of its own on every connection (~100 bytes each; a
    load test has tens of thousands), the text around the number repeats. False (nothing set)
    when ``ev`` names no frame so."""
    at = ev.find(FRAME_MARK)
    if at < 0 or at > 0xFF00:
        return False
    start = at + len(FRAME_MARK)
    end, n = start, len(ev)
    while end < n and end - start < 10 and "0" <= ev[end] <= "9":
        end += 1
    if end == start or end == n or ev[end] != ")" or ev[start] == "0":
        return False
    frame = int(ev[start:end])
    if frame > 0xFFFFFFFF:
        return False
    close._ev_frame = frame
    close._ev_at = start
    close._evidence = sys.intern(ev[:start] + ev[end:])
    return True


FIELDS = (
    "stream",
    "client",
    "server",
    "client_inferred",
    "first_frame",
    "last_frame",
    "start_ns",
    "end_ns",
    "frames_c2s",
    "frames_s2c",
    "bytes_c2s",
    "bytes_s2c",
    "handshake_rtt_ns",
    "state",
    "http",
    "exchanges",
    "close",
    "frames",
    "isn_client",
    "isn_server",
    "retransmissions",
    "out_of_order",
    "lost_segments",
    "truncated_frames",
    "http_error",
    "requests",
    "tls",
    "http2",
)
"""Connection's fields in order (its constructor's positional order)."""


SLOTS = (*[name for name in FIELDS if name not in ("handshake_rtt_ns", "http")], "_rtt", "_rtt_known",
         "_http")  # fmt: skip
"""Connection's slots: the handshake RTT is two, a number and whether it is known (compiled, C
fields instead of an int object per connection); ``http`` is a byte (``_http``)."""

SHOWN = tuple(name for name in FIELDS if name != "frames")
"""The fields its repr shows (not the frame numbers)."""


# Not tracked by the cycle collector when compiled: nothing it refers to (its exchanges, close,
# TLS and HTTP/2 facts, strings) refers back to it (16 bytes less per connection).
@cython.no_gc
@cython.cclass
class Connection:
    """One TCP connection (one Wireshark ``tcp.stream``). Read-only by convention; works with
    :func:`dataclasses.replace` (and ``fields``) as the dataclass it replaces did, compared by
    identity."""

    __slots__ = SLOTS
    __dataclass_fields__ = dataclass_fields(FIELDS)

    def __init__(
        self,
        stream: int,
        client: str,
        server: str,
        client_inferred: str,
        first_frame: int,
        last_frame: int,
        start_ns: int,
        end_ns: int,
        frames_c2s: int,
        frames_s2c: int,
        bytes_c2s: int,
        bytes_s2c: int,
        handshake_rtt_ns: int | None,
        state: str,
        http: bool,
        exchanges: tuple[Exchange, ...] | ExchangeRun,
        close: Close,
        frames: array,
        isn_client: int = 0,
        isn_server: int = 0,
        retransmissions: int = 0,
        out_of_order: int = 0,
        lost_segments: int = 0,
        truncated_frames: int = 0,
        http_error: str | None = None,
        requests: int = 0,
        tls: TlsInfo | None = None,
        http2: Http2Info | None = None,
    ) -> None:
        self.stream = stream
        """Wireshark's tcp.stream index."""
        self.client = client
        """Client endpoint, ``1.2.3.4:5678`` or ``[::1]:5678``."""
        self.server = server
        """Server endpoint."""
        self.client_inferred = client_inferred
        """How the client side was chosen: ``syn``, ``syn-ack``, ``http`` or ``port``."""
        self.first_frame = first_frame
        """First frame of the connection."""
        self.last_frame = last_frame
        """Last frame of the connection."""
        self.start_ns = start_ns
        """Timestamp of the first frame."""
        self.end_ns = end_ns
        """Timestamp of the last frame."""
        self.frames_c2s = frames_c2s
        """Frames sent by the client."""
        self.frames_s2c = frames_s2c
        """Frames sent by the server."""
        self.bytes_c2s = bytes_c2s
        """TCP payload bytes sent by the client (wire lengths, retransmissions included)."""
        self.bytes_s2c = bytes_s2c
        """TCP payload bytes sent by the server."""
        self._rtt_known = handshake_rtt_ns is not None
        self._rtt = 0 if handshake_rtt_ns is None else handshake_rtt_ns
        self.state = state
        """``complete``, ``started-before-capture`` or ``open-at-end``."""
        self._http = http
        self.exchanges = exchanges
        """Requests and responses in order: a tuple, or as the analysis keeps plain ones, an
        :class:`~katui.model.exchange.ExchangeRun` (a sequence whose exchanges are made when
        read: compare them by their fields, not by identity)."""
        self.close = close
        """How and why it ended."""
        self.frames = frames
        """Frame numbers of the connection, ascending (array of unsigned int); empty when the
        analysis did not keep the per-frame columns (``analyze(frames=False)``: nothing could look
        the frames up)."""
        self.isn_client = isn_client
        """Client's initial sequence number (for relative seq/ack), or first seq seen."""
        self.isn_server = isn_server
        """Server's initial sequence number, or first seq seen."""
        self.retransmissions = retransmissions
        """Segments whose bytes had all been seen before."""
        self.out_of_order = out_of_order
        """Segments that arrived ahead of a hole."""
        self.lost_segments = lost_segments
        """Holes in the byte stream that were never filled (lost or not captured)."""
        self.truncated_frames = truncated_frames
        """Frames whose payload was cut by the snap length."""
        self.http_error = http_error
        """Why HTTP parsing stopped early on this connection, if it did."""
        self.requests = requests
        """Number of requests seen (exchanges with a request)."""
        self.tls = tls
        """The TLS handshake's facts when the connection spoke TLS (its exchanges are then
        inferred from records unless ``tls.decrypted``)."""
        self.http2 = http2
        """HTTP/2 frame facts when HTTP/2 frames were read (decrypted h2 or cleartext h2c)."""

    @property
    def handshake_rtt_ns(self) -> int | None:
        """SYN to the ACK of the SYN-ACK (Wireshark's iRTT), when the whole handshake was seen."""
        return self._rtt if self._rtt_known else None

    @property
    def http(self) -> bool:
        """True when HTTP/1.x was recognised on the connection, or HTTP/2 frames were read
        (``http2``)."""
        return bool(self._http)

    @property
    def frame_count(self) -> int:
        """Number of frames in the connection."""
        return self.frames_c2s + self.frames_s2c

    @property
    def duration_ns(self) -> int:
        """Last frame time minus first frame time."""
        return self.end_ns - self.start_ns

    @property
    def reused(self) -> bool:
        """True when the connection carried more than one request."""
        return self.requests > 1

    @property
    def is_problem(self) -> bool:
        """True for resets, stale reuse, a 502/503/504 response, and connections with lost or
        broken data. The ``problem`` filter (:func:`katui.analysis.query.is_problem`) adds HTTP/2
        connections with a request the server never processed (an analysis verdict, not a
        model fact)."""
        return (
            self.close.is_problem
            or self.lost_segments > 0
            or self.http_error is not None
            or any(ex.gateway_error for ex in self.exchanges)
        )

    def __repr__(self) -> str:
        return fields_repr(self, SHOWN)
