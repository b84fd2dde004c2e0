"""What TCP saw of a connection, handed over once in client/server terms.

The tracker numbers a connection's two sides A and B (A sent its first frame). Which side is the
client is decided here, once: from the SYN, the SYN-ACK, the sink's word (a request's sender) or
the ports. From then on everything is client/server: the model's :class:`katui.model.Connection`
(what TCP knows of it), the :class:`CloseFacts` of its end, the frame table's ``dir`` column and
the sink.
"""

from __future__ import annotations

import socket
import sys
from array import array

from katui.capture.decode import endpoint_of, ends_of
from katui.model import Connection, Preview
from katui.tcp.frames import FrameTable
from katui.tcp.state import Conn, Half

WELL_KNOWN_SERVER_PORTS = frozenset((80, 8080, 8000, 8008, 8081, 8088, 8888, 3128, 443, 9000))
"""Ports that mark the server side when nothing better tells the client from the server."""


class CloseFacts:
    """What TCP saw of a connection's end, in client/server terms (read-only by convention): what
    the close verdict (:func:`katui.analysis.verdicts.decide_close`) reads. One is made per
    connection by :func:`facts`: compiled, a C-level class (facts.pxd). ``http`` and
    ``decided_by`` are the analysis's, set by it before the verdict."""

    __slots__ = (
        "by",
        "how",
        "frame",
        "ts_ns",
        "idle_ns",
        "server_fin_frame",
        "server_fin_ns",
        "rst_frames",
        "server_rst",
        "client_bytes",
        "server_bytes",
        "http",
        "client_zero_window_frame",
        "client_zero_window_ns",
        "lost_segments",
        "truncated_frames",
        "decided_by",
        "open_ns",
        "irtt_ns",
    )

    def __init__(
        self,
        by: str | None,
        how: str | None,
        frame: int | None,
        ts_ns: int | None,
        idle_ns: int | None,
        server_fin_frame: int | None = None,
        server_fin_ns: int | None = None,
        rst_frames: tuple[int, ...] = (),
        server_rst: bool = False,
        client_bytes: int = 0,
        server_bytes: int = 0,
        http: bool = True,
        client_zero_window_frame: int | None = None,
        client_zero_window_ns: int | None = None,
        lost_segments: int = 0,
        truncated_frames: int = 0,
        decided_by: str | None = None,
        open_ns: int | None = None,
        irtt_ns: int | None = None,
    ) -> None:
        self.by = by
        """``client``, ``server`` or None (never closed)."""
        self.how = how
        """``fin`` or ``rst`` (None: never closed)."""
        self.frame = frame
        """Frame of the first FIN or RST that ended the connection."""
        self.ts_ns = ts_ns
        """Its timestamp."""
        self.idle_ns = idle_ns
        """No payload in either direction for this long before that frame."""
        self.server_fin_frame = server_fin_frame
        """The server's FIN, if it sent one."""
        self.server_fin_ns = server_fin_ns
        """Its timestamp."""
        self.rst_frames = rst_frames
        """Every RST frame of the connection."""
        self.server_rst = server_rst
        """True when the server sent an RST."""
        self.client_bytes = client_bytes
        """TCP payload bytes the client sent."""
        self.server_bytes = server_bytes
        """TCP payload bytes the server sent."""
        self.http = http
        """HTTP/1.x was recognised on the connection."""
        self.client_zero_window_frame = client_zero_window_frame
        """First frame in which the client advertised a zero window (its buffer full)."""
        self.client_zero_window_ns = client_zero_window_ns
        """Its timestamp."""
        self.lost_segments = lost_segments
        """Holes in the byte streams the capture never filled."""
        self.truncated_frames = truncated_frames
        """Frames cut by the snap length."""
        self.decided_by = decided_by
        """The side that decided the close when that is not ``by`` (the first close_notify's or
        GOAWAY's sender): the verdict and its wording are that side's, the evidence still names
        ``by``'s FIN or RST."""
        self.open_ns = open_ns
        """When the connection began (its first frame); set by the analysis."""
        self.irtt_ns = irtt_ns
        """Its handshake round trip (SYN to the ACK of the SYN-ACK), None when not seen; set by
        the analysis."""


def endpoint(ip: bytes, port: int) -> str:
    """``1.2.3.4:80`` or ``[::1]:80``."""
    if len(ip) == 4:  # the dotted quad inet_ntop writes, from C integers when compiled
        a, b, c, d = ip[0], ip[1], ip[2], ip[3]
        return f"{a}.{b}.{c}.{d}:{port}"
    return f"[{socket.inet_ntop(socket.AF_INET6, ip)}]:{port}"


def client_side(c: Conn) -> tuple[int, str]:
    """Which side (0 = A, 1 = B) is the client, and how that was decided."""
    if c.syn_from >= 0:
        return c.syn_from, "syn"
    if c.synack_from >= 0:
        return 1 - c.synack_from, "syn-ack"
    d = c.sink.client_direction()
    if d is not None:
        return d, "http"
    pa, pb = c.a[1], c.b[1]
    if (pb in WELL_KNOWN_SERVER_PORTS) != (pa in WELL_KNOWN_SERVER_PORTS):
        return (0 if pb in WELL_KNOWN_SERVER_PORTS else 1), "port"
    return (0 if pa > pb else 1), "port"


def preview(c: Conn) -> Preview:
    """A connection still being read, as far as it is known."""
    client, server = _ends(c, client_side(c)[0])
    row = (c.stream, endpoint_text(client), server_endpoint(server), c.first_ns)
    return tuple.__new__(Preview, row)  # a named tuple's own __new__ is Python code


def facts(c: Conn, table: FrameTable) -> tuple[Connection, CloseFacts]:
    """Freeze connection ``c`` (the capture has ended) in client/server terms: the model's
    :class:`Connection` with what TCP knows of it (what the protocols above say, its exchanges
    and close verdict, left for the analysis to fill in) and the :class:`CloseFacts` of its end.
    Its frames' ``dir`` in ``table`` becomes 0 for the client's, and its sink is told the
    client's side."""
    cd, how_client = client_side(c)
    sd = 1 - cd
    if cd and table.kept:
        dirs = table.dir
        for frame in c.frames:
            dirs[frame - 1] ^= 1
    c.sink.oriented(cd)
    ch, sh = (c.h1, c.h0) if cd else (c.h0, c.h1)
    client, server = _ends(c, cd)
    ends = (endpoint_text(client), server_endpoint(server), how_client)
    conn = _tcp_connection(c, ch, sh, ends, c.frames if table.kept else NO_FRAMES)
    closed = c.close_from >= 0
    return conn, CloseFacts(
        ("client" if c.close_from == cd else "server") if closed else None,
        ("rst" if c.close_rst else "fin") if closed else None,
        c.close_frame or None,
        c.close_ns if closed else None,
        c.close_ns - c.idle_ref_ns if closed else None,
        sh.fin_frame or None,
        sh.fin_ns if sh.fin_frame else None,
        tuple(c.rst_frames),
        bool(c.rst_sides >> sd & 1),
        ch.bytes,
        sh.bytes,
        True,
        ch.zero_frame or None,
        ch.zero_ns if ch.zero_frame else None,
        c.lost,
        c.truncated,
    )


def _tcp_connection(c: Conn, ch: Half, sh: Half, ends: tuple[str, str, str], frames: array) -> Connection:
    """The model's :class:`Connection` of ``c`` with what TCP knows of it (``ch``, ``sh``: the
    client's and the server's halves; ``ends``: its client, server and client_inferred;
    ``frames``: its frame numbers, if kept), the other fields
    as the analysis starts them: set one by one, straight from the tracker's fields (compiled,
    C fields from C fields: no int object each, no argument parsing). Every slot is set."""
    conn = Connection.__new__(Connection)
    conn.stream = c.stream
    conn.client, conn.server, conn.client_inferred = ends
    conn.first_frame = c.first_frame
    conn.last_frame = c.last_frame
    conn.start_ns = c.first_ns
    conn.end_ns = c.last_ns
    conn.frames_c2s = ch.frames
    conn.frames_s2c = sh.frames
    conn.bytes_c2s = ch.bytes
    conn.bytes_s2c = sh.bytes
    conn._rtt_known = c.irtt_known  # Connection.handshake_rtt_ns: SYN to the ACK of the SYN-ACK
    conn._rtt = c.irtt_ns if c.irtt_known else 0
    conn.state = _state(c)
    conn._http = False  # (Connection.http)
    conn.exchanges = ()
    conn.close = None
    # Without the frame table nothing can look a frame up: its numbers are not kept.
    conn.frames = frames
    conn.isn_client = ch.base  # (0 when that side sent nothing)
    conn.isn_server = sh.base
    conn.retransmissions = c.retrans
    conn.out_of_order = c.ooo
    conn.lost_segments = c.lost
    conn.truncated_frames = c.truncated
    conn.http_error = None
    conn.requests = 0
    conn.tls = conn.http2 = None
    return conn


NO_FRAMES = array("I")
"""The frames of every connection when the frame table is not kept (shared: never written)."""

_SERVERS: dict[int, str] = {}
MAX_SERVERS = 4096
V4_ENDPOINTS = 1 << 48
"""Endpoint numbers below this are IPv4 ones: the address's 32 bits, then the port's 16
(:func:`katui.capture.decode.endpoint_number`)."""


def endpoint_text(n: int) -> str:
    """:func:`endpoint` of an endpoint number (:func:`katui.capture.decode.endpoint_number`);
    an IPv4 one written from its bits (compiled: C integers), not through its bytes."""
    if 0 <= n < V4_ENDPOINTS:
        return _v4_text(n)
    return endpoint(*endpoint_of(n))


def _v4_text(n: int) -> str:
    """:func:`endpoint_text` of an IPv4 endpoint number."""
    ip = n >> 16
    return f"{ip >> 24}.{(ip >> 16) & 255}.{(ip >> 8) & 255}.{ip & 255}:{n & 0xFFFF}"


def server_endpoint(n: int) -> str:
    """:func:`endpoint_text` of a server: one string per server, not per connection (remembered
    for the first few thousand servers: hostile captures may make every one different)."""
    got = _SERVERS.get(n)
    if got is None:
        got = sys.intern(endpoint_text(n))
        if len(_SERVERS) < MAX_SERVERS:
            _SERVERS[n] = got
    return got


def _ends(c: Conn, cd: int) -> tuple[int, int]:
    """The endpoint numbers of the client and of the server, side ``cd`` being the client's
    (the connection's key taken apart once, where ``c.a`` and ``c.b`` would take it apart each)."""
    lo, hi = ends_of(c.ends)
    return (hi, lo) if c.a_hi != (cd == 1) else (lo, hi)


def _state(c: Conn) -> str:
    """``started-before-capture``, ``complete`` (both FINs, or an RST) or ``open-at-end``."""
    if c.midstream:
        return "started-before-capture"
    if c.rst_frames or (c.h0.fin_frame and c.h1.fin_frame):
        return "complete"
    return "open-at-end"
