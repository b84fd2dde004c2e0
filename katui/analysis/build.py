"""Turn the tracker's mutable connection state into frozen :class:`Connection` objects."""

from __future__ import annotations

import socket
import sys

from katui.analysis.verdicts import DEFAULT_IDLE_NS, decide_close
from katui.http.conversation import HttpConversation
from katui.model import COL_START, NUM, Connection, Exchange
from katui.tcp.tracker import Conn

WELL_KNOWN_HTTP = frozenset((80, 8080, 8000, 8008, 8081, 8088, 8888, 3128, 443, 9000))


def endpoint(ip: bytes, port: int) -> str:
    """``1.2.3.4:80`` or ``[::1]:80``."""
    if len(ip) == 4:
        return f"{socket.inet_ntop(socket.AF_INET, ip)}:{port}"
    return f"[{socket.inet_ntop(socket.AF_INET6, ip)}]:{port}"


def client_side(c: Conn) -> tuple[int, str]:
    """Which side (0 = A, 1 = B) is the client, and how that was decided."""
    if c.syn_from is not None:
        return c.syn_from, "syn"
    if c.synack_from is not None:
        return 1 - c.synack_from, "syn-ack"
    d = c.sink.client_direction()
    if d is not None:
        return d, "http"
    pa, pb = c.a[1], c.b[1]
    if (pb in WELL_KNOWN_HTTP) != (pa in WELL_KNOWN_HTTP):
        return (0 if pb in WELL_KNOWN_HTTP else 1), "port"
    return (0 if pa > pb else 1), "port"


def build_connection(c: Conn, idle_threshold_ns: int = DEFAULT_IDLE_NS) -> Connection:
    """Freeze one connection and decide its close reason."""
    cd, how_client = client_side(c)
    sd = 1 - cd
    ends = (c.a, c.b)
    conv = c.sink
    conv.oriented(cd)
    exchanges, requests = _exchanges(conv)
    side = ("client", "server")
    by = None if c.close_from is None else side[0 if c.close_from == cd else 1]
    how = None if c.close_from is None else ("rst" if c.close_rst else "fin")
    idle = None
    if c.close_from is not None:
        idle = c.close_ns - (c.idle_ref_ns if c.idle_ref_ns is not None else c.first_ns)
    server_half = c.halves[sd]
    server_fin = server_half.fin_ns if server_half.fin_frame else None
    close = decide_close(
        by,
        how,
        c.close_frame or None,
        c.close_ns if by else None,
        idle,
        exchanges,
        server_fin,
        tuple(c.rst_frames),
        idle_threshold_ns,
        server_rst=sd in c.rst_from,
    )
    both_fin = c.halves[0].fin_frame and c.halves[1].fin_frame
    if c.midstream:
        state = "started-before-capture"
    elif c.rst_frames or both_fin:
        state = "complete"
    else:
        state = "open-at-end"
    ch, sh = c.halves[cd], c.halves[sd]
    return Connection(
        stream=c.stream,
        client=endpoint(*ends[cd]),
        server=sys.intern(endpoint(*ends[sd])),  # one string per server, not per connection
        client_inferred=how_client,
        first_frame=c.frames[0],
        last_frame=c.frames[-1],
        start_ns=c.first_ns,
        end_ns=c.last_ns,
        frames_c2s=ch.frames,
        frames_s2c=sh.frames,
        bytes_c2s=ch.bytes,
        bytes_s2c=sh.bytes,
        handshake_rtt_ns=c.irtt,
        state=state,
        http=conv.recognised,
        exchanges=exchanges,
        close=close,
        frames=c.frames,
        client_is_a=cd == 0,
        isn_client=ch.base if ch.base is not None else 0,
        isn_server=sh.base if sh.base is not None else 0,
        retransmissions=c.retrans,
        out_of_order=c.ooo,
        lost_segments=c.lost,
        truncated_frames=c.truncated,
        http_error=conv.error,
        requests=requests,
    )


def _exchanges(c: HttpConversation) -> tuple[tuple[Exchange, ...], int]:
    """Number the tracker's exchanges and work out reuse, idle time and pipelining (in place:
    the tracker's Exchange objects become the model's); also return how many had a request."""
    out: list[Exchange] = []
    prev_end: int | None = None
    prev_resp_end: int | None = None
    n = 0
    store = c.store
    num, end_ns = store.num, store.end_ns
    for ex in c.exchanges:
        req, resp = ex.req, ex.resp
        if req < 0 and resp < 0:
            continue
        # Times straight from the message store's columns: this runs for every exchange.
        if req >= 0:
            n += 1
            req_start = num[req * NUM + COL_START]
            req_end = end_ns(req)
            if n > 1:
                ex.reused = True
                if prev_end is not None:
                    ex.idle_before_ns = max(0, req_start - prev_end)
                # Pipelined: sent before the previous response had completed.
                ex.pipelined = prev_resp_end is not None and req_start < prev_resp_end
        ex.n = max(n, 1)
        out.append(ex)
        resp_end = None if resp < 0 else end_ns(resp)
        if resp_end is not None:
            prev_resp_end = resp_end
        end = resp_end if resp_end is not None else req_end if req >= 0 else None
        if end is not None:
            prev_end = end if prev_end is None else max(prev_end, end)
    return tuple(out), n
