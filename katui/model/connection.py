"""One TCP connection of the analysis model: :class:`Connection`, one per ``tcp.stream``.

Compiled with Cython when the core is built (``connection.pxd``): its numbers are then C
fields, not an int object each (~300 bytes less per connection; a load test has tens of
thousands). The analysis model re-exports it (``from katui.model import Connection``).
"""

from __future__ import annotations

from array import array
from typing import TYPE_CHECKING

from katui.model.fields import dataclass_fields

if TYPE_CHECKING:
    from katui.model import Close, Exchange, Http2Info, TlsInfo

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


class Connection:
    """One TCP connection (one Wireshark ``tcp.stream``). Read-only by convention; works with
    :func:`dataclasses.replace` (and ``fields``) as the dataclass it replaces did, compared by
    identity."""

    __slots__ = FIELDS
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
        exchanges: tuple[Exchange, ...],
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
        self.handshake_rtt_ns = handshake_rtt_ns
        """SYN to the ACK of the SYN-ACK (Wireshark's iRTT), when the whole handshake was seen."""
        self.state = state
        """``complete``, ``started-before-capture`` or ``open-at-end``."""
        self.http = http
        """True when HTTP/1.x was recognised on the connection, or HTTP/2 frames were read
        (``http2``)."""
        self.exchanges = exchanges
        """Requests and responses in order."""
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
        """True for resets, stale reuse and connections with lost or broken data."""
        return self.close.is_problem or self.lost_segments > 0 or self.http_error is not None

    def __repr__(self) -> str:
        shown = ", ".join(f"{name}={getattr(self, name)!r}" for name in FIELDS if name != "frames")
        return f"Connection({shown})"
