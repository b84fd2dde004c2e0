"""What TCP saw of a connection, handed over once in client/server terms.

The tracker numbers a connection's two sides A and B (A sent its first frame). Which side is the
client is decided here, once: from the SYN, the SYN-ACK, the sink's word (a request's sender) or
the ports. From then on everything is client/server: the :class:`ConnectionFacts` record, the
frame table's ``dir`` column and the sink. Fields are named as in :class:`katui.model.Connection`.
"""

from __future__ import annotations

import socket
import sys
from array import array
from functools import partial
from typing import NamedTuple

from katui.capture.decode import endpoint_of, ends_of
from katui.model import Preview
from katui.tcp.frames import FrameTable
from katui.tcp.sink import StreamSink
from katui.tcp.state import Conn

WELL_KNOWN_SERVER_PORTS = frozenset((80, 8080, 8000, 8008, 8081, 8088, 8888, 3128, 443, 9000))
"""Ports that mark the server side when nothing better tells the client from the server."""


class ConnectionFacts(NamedTuple):
    """One connection as TCP saw it (frozen), in client/server terms.

    The fields up to ``truncated_frames`` have the names and meanings of
    :class:`katui.model.Connection`'s; the ``close_*`` ones those of :class:`katui.model.Close`
    (``close_ts_ns`` is ``Close.ts_ns``). Then: ``server_fin_ns``, the server's FIN timestamp if
    it sent one; ``server_rst``, whether it sent an RST; ``sink``, the protocol state the
    connection's bytes went to (already told which direction is the client's);
    ``server_fin_frame``, the server's FIN frame; ``client_zero_window_frame`` and ``_ns``, the
    first frame in which the client advertised a zero window (it had stopped reading).
    """

    stream: int
    client: str
    server: str
    client_inferred: str
    first_frame: int
    last_frame: int
    start_ns: int
    end_ns: int
    frames_c2s: int
    frames_s2c: int
    bytes_c2s: int
    bytes_s2c: int
    handshake_rtt_ns: int | None
    state: str
    frames: array
    isn_client: int
    isn_server: int
    retransmissions: int
    out_of_order: int
    lost_segments: int
    truncated_frames: int
    close_by: str | None
    close_how: str | None
    close_frame: int | None
    close_ts_ns: int | None
    close_idle_before_ns: int | None
    server_fin_ns: int | None
    rst_frames: tuple[int, ...]
    server_rst: bool
    sink: StreamSink
    server_fin_frame: int | None = None
    client_zero_window_frame: int | None = None
    client_zero_window_ns: int | None = None


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
    row = (c.stream, endpoint(*client), server_endpoint(server), c.first_ns)
    return tuple.__new__(Preview, row)  # a named tuple's own __new__ is Python code


def facts(c: Conn, table: FrameTable) -> ConnectionFacts:
    """Freeze connection ``c`` (the capture has ended) in client/server terms; its frames'
    ``dir`` in ``table`` becomes 0 for the client's, and its sink is told the client's side."""
    cd, how_client = client_side(c)
    sd = 1 - cd
    if cd and table.kept:
        dirs = table.dir
        for frame in c.frames:
            dirs[frame - 1] ^= 1
    c.sink.oriented(cd)
    # The halves and ends read directly, not through Conn's properties: once per connection.
    ch, sh = (c.h1, c.h0) if cd else (c.h0, c.h1)
    by, how, ts, idle = _first_close(c, cd)
    client, server = _ends(c, cd)
    return _facts(
        (
            c.stream,
            endpoint(*client),
            server_endpoint(server),
            how_client,
            c.first_frame,
            c.last_frame,
            c.first_ns,
            c.last_ns,
            ch.frames,
            sh.frames,
            ch.bytes,
            sh.bytes,
            c.irtt_ns if c.irtt_known else None,
            _state(c),
            # Without the frame table nothing can look a frame up: don't keep its numbers.
            c.frames if table.kept else NO_FRAMES,
            max(ch.base, 0),
            max(sh.base, 0),
            c.retrans,
            c.ooo,
            c.lost,
            c.truncated,
            by,
            how,
            c.close_frame or None,
            ts,
            idle,
            sh.fin_ns if sh.fin_frame else None,
            tuple(c.rst_frames),
            bool(c.rst_sides >> sd & 1),
            c.sink,
            sh.fin_frame or None,
            ch.zero_frame or None,
            ch.zero_ns if ch.zero_frame else None,
        )
    )


NO_FRAMES = array("I")
"""The frames of every connection when the frame table is not kept (shared: never written)."""

_facts = partial(tuple.__new__, ConnectionFacts)  # all fields at once, without NamedTuple's __new__
_SERVERS: dict[tuple[bytes, int], str] = {}
MAX_SERVERS = 4096


def server_endpoint(end: tuple[bytes, int]) -> str:
    """:func:`endpoint` of a server: one string per server, not per connection (remembered for
    the first few thousand servers: hostile captures may make every one different)."""
    got = _SERVERS.get(end)
    if got is None:
        got = sys.intern(endpoint(*end))
        if len(_SERVERS) < MAX_SERVERS:
            _SERVERS[end] = got
    return got


def _ends(c: Conn, cd: int) -> tuple[tuple[bytes, int], tuple[bytes, int]]:
    """(ip bytes, port) of the client and of the server, side ``cd`` being the client's (the
    connection's key taken apart once, where ``c.a`` and ``c.b`` would take it apart each)."""
    lo, hi = ends_of(c.ends)
    client, server = (hi, lo) if c.a_hi != (cd == 1) else (lo, hi)
    return endpoint_of(client), endpoint_of(server)


def _first_close(c: Conn, cd: int) -> tuple[str | None, str | None, int | None, int | None]:
    """(side, ``fin``/``rst``, timestamp, idle before it) of the first FIN or RST; Nones if none."""
    if c.close_from < 0:
        return None, None, None, None
    idle = c.close_ns - c.idle_ref_ns
    return "client" if c.close_from == cd else "server", "rst" if c.close_rst else "fin", c.close_ns, idle


def _state(c: Conn) -> str:
    """``started-before-capture``, ``complete`` (both FINs, or an RST) or ``open-at-end``."""
    if c.midstream:
        return "started-before-capture"
    if c.rst_frames or (c.h0.fin_frame and c.h1.fin_frame):
        return "complete"
    return "open-at-end"
