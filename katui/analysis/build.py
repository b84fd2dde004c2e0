"""Turn what TCP and HTTP saw of a connection into a frozen :class:`Connection`."""

from __future__ import annotations

from katui.analysis.verdicts import DEFAULT_IDLE_NS, CloseFacts, decide_close
from katui.http.conversation import HttpConversation
from katui.model import Connection, Exchange
from katui.tcp.facts import ConnectionFacts


def build_connection(f: ConnectionFacts, idle_threshold_ns: int = DEFAULT_IDLE_NS) -> Connection:
    """Freeze one connection and decide its close reason."""
    conv: HttpConversation = f.sink
    exchanges, requests = _exchanges(conv)
    facts = CloseFacts(
        by=f.close_by,
        how=f.close_how,
        frame=f.close_frame,
        ts_ns=f.close_ts_ns,
        idle_ns=f.close_idle_before_ns,
        server_fin_frame=f.server_fin_frame,
        server_fin_ns=f.server_fin_ns,
        rst_frames=f.rst_frames,
        server_rst=f.server_rst,
        client_bytes=f.bytes_c2s,
        server_bytes=f.bytes_s2c,
        http=conv.recognised,
        client_zero_window_frame=f.client_zero_window_frame,
        client_zero_window_ns=f.client_zero_window_ns,
        lost_segments=f.lost_segments,
        truncated_frames=f.truncated_frames,
    )
    close = decide_close(facts, exchanges, idle_threshold_ns)
    return Connection(
        stream=f.stream,
        client=f.client,
        server=f.server,
        client_inferred=f.client_inferred,
        first_frame=f.first_frame,
        last_frame=f.last_frame,
        start_ns=f.start_ns,
        end_ns=f.end_ns,
        frames_c2s=f.frames_c2s,
        frames_s2c=f.frames_s2c,
        bytes_c2s=f.bytes_c2s,
        bytes_s2c=f.bytes_s2c,
        handshake_rtt_ns=f.handshake_rtt_ns,
        state=f.state,
        http=conv.recognised,
        exchanges=exchanges,
        close=close,
        frames=f.frames,
        isn_client=f.isn_client,
        isn_server=f.isn_server,
        retransmissions=f.retransmissions,
        out_of_order=f.out_of_order,
        lost_segments=f.lost_segments,
        truncated_frames=f.truncated_frames,
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
    start_ns, end_ns = store.start_ns, store.end_ns
    for ex in c.exchanges:
        req, resp = ex.req, ex.resp
        if req < 0 and resp < 0:
            continue
        # Times straight from the message store's columns: this runs for every exchange.
        if req >= 0:
            n += 1
            req_start = start_ns(req)
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
