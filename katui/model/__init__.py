"""The analysis model: dataclasses shared by the report renderers and the TUI.

They are read-only by convention. :class:`Connection`, :class:`Close`
(:mod:`katui.model.connection`) and :class:`Exchange` (:mod:`katui.model.exchange`), one per
connection or request, are slotted classes compiled with C fields when the core is built, and
not frozen: a frozen dataclass's ``__init__`` sets every field through ``object.__setattr__``,
which made building them cost more than the verdict itself.

Times inside the model are integer nanoseconds (absolute capture timestamps unless a field
says otherwise); conversion to seconds happens only at the edges (reports, UI).
Frame numbers are 1-based, as Wireshark numbers them. ``stream`` is Wireshark's ``tcp.stream``.
"""

from __future__ import annotations

from array import array
from dataclasses import dataclass
from typing import NamedTuple

# Connections and exchanges (one per connection / request) are compiled with C fields when the
# core is built (no int object per number): their own modules.
from katui.model.connection import PROBLEM_REASONS, Close, Connection  # noqa: F401
from katui.model.exchange import GATEWAY_ERRORS, Exchange, InferredExchange  # noqa: F401

# The message store is part of the model: its names are re-exported here.
from katui.model.store import (  # noqa: F401
    CHUNKED,
    COL_START,
    COMPLETE,
    H_CONNECTION,
    H_HOST,
    H_KEEP_ALIVE,
    H_METHOD,
    H_REASON,
    H_SOFTWARE,
    H_VERSION,
    HEAD_UNFINISHED,
    INFERRED_VERSION,
    NUM,
    REQUEST,
    SM_BITS,
    SM_END,
    SM_FIRST,
    SM_FRAME,
    SM_STATUS,
    SMALL,
    Head,
    HeadText,
    HttpMessage,
    MessageStore,
)

# TCP flag bits (byte 13 of the TCP header).
FIN, SYN, RST, PSH, ACK, URG, ECE, CWR = 0x01, 0x02, 0x04, 0x08, 0x10, 0x20, 0x40, 0x80

# Per-frame TCP analysis notes (bit set), shown in the ladder like Wireshark's expert info.
NOTE_RETRANSMISSION = 0x01
NOTE_OUT_OF_ORDER = 0x02
NOTE_PREVIOUS_LOST = 0x04
NOTE_TRUNCATED = 0x08
NOTE_KEEPALIVE = 0x10
NOTE_ZERO_WINDOW = 0x20
"""The sender advertised a zero window (its receive buffer is full: its application stopped
reading); Wireshark's [TCP ZeroWindow]."""

CLOSE_REASONS = {
    "idle-timeout": "closed after sitting idle (keep-alive idle timeout), with FIN or RST",
    "connection-close": "a 'Connection: close' header (over HTTP/2 a GOAWAY) asked for the close "
    "(asked_by says whose)",
    "http10": "HTTP/1.0 without keep-alive: one request per connection",
    "request-limit": "the server's per-connection request limit was reached",
    "error-close": "the server closed after an error response (the status is named)",
    "incomplete-request": "the client sent part of a request and stalled; the server's request "
    "timeout closed it (or answered 408)",
    "stalled-reader": "the server gave up sending a response the client had stopped reading",
    "upgrade": "after 101 Switching Protocols the connection carried another protocol",
    "unused": "no request was ever sent (pre-connect, TCP probe or health check)",
    "not-http": "the payload is not HTTP/1.x: keep-alive verdicts do not apply",
    "reset": "reset (RST) instead of an orderly close",
    "stale-reuse": "a request was sent on a connection the peer had already closed",
    "request-timeout": "the server closed while a request was still waiting for its response (a "
    "request or processing timeout)",
    "client-gave-up": "the client closed while a request was still waiting for its response, or in "
    "the middle of it: it gave up or stopped (a load generator ending its run, a client timeout, an "
    "event stream it left), no server timeout",
    "client-done": "the client closed right after its last response, no header asking for it and "
    "not idle long enough to be an idle timeout: it was done (a tool exiting, a session closed)",
    "unannounced-close": "the server closed right after a response without a 'Connection: close' "
    "announcing it (a client reusing the connection would race it)",
    "aborted-response": "the server closed in the middle of a response: the client got it cut short",
    "upstream-failure": "a proxy ended the client's connection without a response because the "
    "upstream request it caused failed (the upstream keep-alive race)",
    "unknown": "the verdict depends on bytes the capture does not have or cannot read (cut, lost, or "
    "encrypted: the explanation says which)",
    "tls-failed": "the TLS handshake failed: a fatal alert (named) ended the connection before any request",
    "open": "still open when the capture ended",
}
"""Close reason slugs and what each means, in plain words."""

REASON_MARKS = {
    "stale-reuse": "✖",
    "upstream-failure": "✖",
    "reset": "✖",
    "tls-failed": "✖",
    "request-timeout": "⚠",
    "client-gave-up": "⚠",
    "incomplete-request": "⚠",
    "stalled-reader": "⚠",
    "error-close": "⚠",
    "aborted-response": "⚠",
    "unknown": "?",
}
"""A symbol for the close reasons worth a look, so meaning never rests on colour alone:
✖ a problem, ⚠ something to check, ? not knowable from the capture."""


def reason_label(reason: str) -> str:
    """``⚠ incomplete-request`` / ``idle-timeout``: the reason with its mark, if it has one."""
    mark = REASON_MARKS.get(reason)
    return f"{mark} {reason}" if mark else reason


IDLE_CLOSE_WHY = {"server": "keep-alive timeout", "client": "its pool idle timeout or the program closing it"}
"""Why a side closes an idle connection, as close explanations say it (a client may close on a
pool timer, or because the program closed its session or exited)."""


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
    zero_rtt: str | None = None
    """TLS 1.3 0-RTT: ``accepted`` or ``rejected`` (the server skipped the early data) when a
    key log shows it, ``sent`` without keys (the answer is encrypted), None if the client sent
    no early data."""
    labels: tuple[tuple[int, str], ...] = ()
    """(frame, text) for the ladder: the hellos, tickets and alerts (a few dozen at most; the
    text holds capture bytes such as the SNI: escape it)."""
    alerts: tuple[tuple[str, int, int, int], ...] = ()
    """Alerts sent in the clear, (side, level, description, frame): level 2 is fatal (a failed
    handshake: a server refusing a ClientHello, a client refusing a certificate); names in
    :data:`katui.tls.records.ALERT_NAMES`. Encrypted alerts are not here (see ``close_notify``)."""


@dataclass(frozen=True, slots=True)
class Http2Info:
    """What the HTTP/2 frames of a connection showed besides its streams (decrypted ``h2``, or
    cleartext ``h2c``, with prior knowledge or by Upgrade). Sides are ``client``/``server``."""

    cleartext: bool
    """h2c: HTTP/2 on a plain TCP connection (prior knowledge, or see ``upgrade_frame``)."""
    streams: int
    """Streams with an exchange: each the client opened, and each client-numbered (odd) stream
    the server answered on whose request was not captured."""
    settings: tuple[int, int]
    """SETTINGS frames (acknowledgements not counted) sent by the client, by the server."""
    client_settings: tuple[tuple[str, int], ...]
    """The parameters of the client's first SETTINGS (``max_concurrent_streams``...)."""
    server_settings: tuple[tuple[str, int], ...]
    """The parameters of the server's first SETTINGS."""
    pings: tuple[int, int]
    """PING frames (acknowledgements not counted) sent by the client, by the server."""
    goaway: tuple[tuple[str, int, int, int, int], ...]
    """(side, frame, ts ns, last stream id, error code) per GOAWAY, in order: the first 64."""
    rst_streams: tuple[tuple[str, int, int, int], ...]
    """(side, frame, stream id, error code) per RST_STREAM, in order: the first 64."""
    push_promises: int = 0
    """PUSH_PROMISE frames (server push)."""
    note: str | None = None
    """Why frames or headers stopped being read (a hole, undecodable HPACK), or None."""
    labels: tuple[tuple[int, str], ...] = ()
    """(frame, text) for the ladder: SETTINGS, PING, GOAWAY, RST_STREAM (escape the text)."""
    goaway_count: int = 0
    """GOAWAY frames read, all of them (``goaway`` lists the first ones)."""
    rst_stream_count: int = 0
    """RST_STREAM frames read, all of them."""
    server_goaway: tuple[str, int, int, int, int] | None = None
    """The server's GOAWAY with the lowest last stream id (the first with it), listed or not:
    the one that says which streams it will never process."""
    error_goaway: tuple[str, int, int, int, int] | None = None
    """The first GOAWAY with an error code, listed or not."""
    upgrade_frame: int | None = None
    """h2c by Upgrade: the frame of the ``101 Switching Protocols`` (``Upgrade: h2c``) after which
    the connection spoke HTTP/2; its stream 1 is the HTTP/1.1 request that asked for it. None with
    prior knowledge or inside TLS."""


class Preview(NamedTuple):
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
    software: str | None = None
    """The server software, when its headers name it (``nginx``, ``Apache httpd``...)."""
    setting: str | None = None
    """The setting that governs its idle timeout (``keepalive_timeout``...), when known."""
    identified_by: str | None = None
    """What identified the software (``Server: nginx/1.22.1`` or a header shape)."""
    closes_late_s: float = 0.0
    """Seconds the software deliberately closes after its advertised timeout (Node: 1)."""


class Streams(array):
    """Stream numbers (``Finding.streams`` of more than a few), 4 bytes each: a load test's
    findings list the same tens of thousands of connections several times over, and as a tuple
    each number costs a slot and an int object (~40 bytes; ~3 MB at the analysis' peak).
    Equal to and hashed as the tuple of the same numbers; read-only by convention."""

    __slots__ = ()

    def __new__(cls, numbers=()) -> Streams:
        return super().__new__(cls, "I", numbers)

    def __eq__(self, other) -> bool:
        if isinstance(other, (tuple, array)):
            return len(self) == len(other) and tuple(self) == tuple(other)
        return NotImplemented

    def __ne__(self, other) -> bool:
        eq = self.__eq__(other)
        return eq if eq is NotImplemented else not eq

    def __hash__(self) -> int:
        return hash(tuple(self))

    def __repr__(self) -> str:
        return repr(tuple(self))


COMPACT_STREAMS = 8
"""``Finding.streams`` longer than this are kept as :class:`Streams`."""


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
    streams: tuple[int, ...] | Streams = ()
    """Every connection the finding covers (``stream`` is the first); more than a few as
    :class:`Streams`."""
    server: str | None = None
    """The server endpoint it is about, when it is about one."""
    count: int = 1
    """How many connections (or requests, for per-request kinds) it covers."""

    def __post_init__(self) -> None:
        s = self.streams
        if s.__class__ is not Streams and len(s) > COMPACT_STREAMS:
            try:
                object.__setattr__(self, "streams", Streams(s))
            except OverflowError:  # (not a stream number: kept as given)
                pass


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
    """What the gap ends with: ``request``, ``response``, ``close``, ``reset``, or ``other``."""
    explanation: str
    """One sentence for humans."""
    waiting: int = 0
    """The request (its number) that was waiting for its response all through the gap, or 0:
    then the gap is a wait for the server, not an idle connection."""
