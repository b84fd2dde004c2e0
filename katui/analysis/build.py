"""Turn what TCP and HTTP saw of a connection into a frozen :class:`Connection`."""

from __future__ import annotations

from dataclasses import replace

from katui.analysis.h2close import client_reset, goaway_before, h2_info, h2_verdict, refused
from katui.analysis.verdicts import DEFAULT_IDLE_NS, SERVER_IDLE_NS, CloseFacts, decide_close
from katui.http.conversation import HttpConversation
from katui.http2.conversation import H2Conversation, H2Exchange
from katui.model import Close, Connection, Exchange, TlsInfo
from katui.tcp.facts import ConnectionFacts
from katui.tls import exchanges as tls_exchanges
from katui.tls.records import TlsConversation
from katui.tls.verdicts import normal_reset, tls_close

OPEN_NS = 1 << 62
"""The end of a stream that never ended: later than any capture."""


def build_connection(f: ConnectionFacts, idle_threshold_ns: int = DEFAULT_IDLE_NS) -> Connection:
    """Freeze one connection and decide its close reason."""
    conv: HttpConversation = f.sink
    tls = conv.other if isinstance(conv.other, TlsConversation) else None
    if isinstance(conv.other, H2Conversation) and conv.other.recognised:
        return _h2_connection(f, conv.other, None, idle_threshold_ns)
    if tls is not None and isinstance(tls.inner, H2Conversation) and tls.plaintext_read:
        return _h2_connection(f, tls.inner, tls, idle_threshold_ns)
    exchanges, requests = _exchanges(conv if tls is None else tls)
    if tls is not None and tls.plaintext_read:
        return _decrypted_connection(f, tls, idle_threshold_ns)
    if tls is not None:
        return _tls_connection(f, tls, exchanges, requests, idle_threshold_ns)
    close = decide_close(_close_facts(f, conv.recognised), exchanges, idle_threshold_ns)
    return _connection(f, exchanges, requests, close, conv.recognised, conv.error, None)


def _close_facts(
    f: ConnectionFacts, http: bool, decided: tuple[str | None, int | None] | None = None
) -> CloseFacts:
    """What the close verdict needs of TCP's facts. ``decided`` is (side, idle ns) of whoever
    decided the close when that may not be the first FIN's or RST's side (a decrypted TLS
    connection: the side whose close_notify came first, idle up to its last data record)."""
    decided_by, idle_ns = decided if decided is not None else (None, f.close_idle_before_ns)
    return CloseFacts(
        by=f.close_by,
        decided_by=decided_by,
        how=f.close_how,
        frame=f.close_frame,
        ts_ns=f.close_ts_ns,
        idle_ns=idle_ns,
        server_fin_frame=f.server_fin_frame,
        server_fin_ns=f.server_fin_ns,
        rst_frames=f.rst_frames,
        server_rst=f.server_rst,
        client_bytes=f.bytes_c2s,
        server_bytes=f.bytes_s2c,
        http=http,
        client_zero_window_frame=f.client_zero_window_frame,
        client_zero_window_ns=f.client_zero_window_ns,
        lost_segments=f.lost_segments,
        truncated_frames=f.truncated_frames,
    )


def _connection(
    f: ConnectionFacts,
    exchanges: tuple[Exchange, ...],
    requests: int,
    close: Close,
    http: bool,
    http_error: str | None,
    tls: TlsInfo | None,
) -> Connection:
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
        http=http,
        exchanges=exchanges,
        close=close,
        frames=f.frames,
        isn_client=f.isn_client,
        isn_server=f.isn_server,
        retransmissions=f.retransmissions,
        out_of_order=f.out_of_order,
        lost_segments=f.lost_segments,
        truncated_frames=f.truncated_frames,
        http_error=http_error,
        requests=requests,
        tls=tls,
    )


def _tls_connection(
    f: ConnectionFacts, conv: TlsConversation, exchanges: tuple[Exchange, ...], requests: int, idle_ns: int
) -> Connection:
    """A connection that spoke TLS: its exchanges inferred from records, its close read by
    :func:`katui.tls.verdicts.tls_close`."""
    info = tls_exchanges.info(conv)
    last, notified_by = (
        (None, None)
        if f.close_ts_ns is None
        else tls_exchanges.before_close(conv, f.close_ts_ns, info.multiplexed)
    )
    close = tls_close(
        f.close_by,
        f.close_how,
        f.close_frame,
        f.close_ts_ns,
        last,
        notified_by,
        exchanges,
        f.server_fin_ns,
        f.rst_frames,
        f.server_rst,
        idle_ns,
        SERVER_IDLE_NS,
        info.multiplexed,
    )
    if not close.evidence and close.frame is not None:
        how = "RST" if close.how == "rst" else "FIN"
        close = replace(close, evidence=(f"{close.by} {how} frame {close.frame}",))
    close = _unread_close_notify(f, close, info.close_notify, notified_by, False)
    return _connection(f, exchanges, requests, close, False, None, info)


def _decrypted_connection(f: ConnectionFacts, conv: TlsConversation, idle_ns: int) -> Connection:
    """A TLS connection decrypted with a key log: the HTTP analysis of its plaintext, with the
    idle time up to the last record that was not an alert, and the side whose close_notify
    came first as the closer."""
    inner: HttpConversation = conv.inner
    exchanges, requests = _exchanges(inner)
    by, idle = f.close_by, f.close_idle_before_ns
    if f.close_ts_ns is not None:
        last, notified_by = tls_exchanges.before_close(conv, f.close_ts_ns)
        by = notified_by or by
        idle = None if last is None else f.close_ts_ns - last
    # The verdict is the deciding side's; Close.by stays the side of the first FIN or RST.
    close = _decided(f, inner.recognised, by, idle, exchanges, idle_ns)
    info = tls_exchanges.info(conv)
    if f.close_ts_ns is not None:
        close = _unread_close_notify(f, close, info.close_notify, notified_by, True)
    return _connection(f, exchanges, requests, close, inner.recognised, inner.error, info)


def _decided(
    f: ConnectionFacts, http: bool, by: str | None, idle: int | None, exchanges, idle_ns: int
) -> Close:
    """The verdict of the side ``by`` that decided the close (idle ``idle`` ns before it);
    ``asked_by`` names it when another side's FIN or RST came first."""
    close = decide_close(_close_facts(f, http, (by, idle)), exchanges, idle_ns)
    if by != f.close_by:
        close = replace(close, asked_by=close.asked_by or by)
    return close


def _unread_close_notify(
    f: ConnectionFacts, close: Close, alerts: tuple[str, ...], notified_by: str | None, decrypted: bool
) -> Close:
    """``close`` with the evidence only TLS records give: the close_notify (read with keys; the
    without-keys explanation names it already), and a client's RST after the server's
    close_notify and FIN (:func:`katui.tls.verdicts.normal_reset`). ``alerts``: the senders of
    the connection's alerts in order."""
    ev = list(close.evidence)
    if decrypted and notified_by is not None:
        ev.append(f"{notified_by} close_notify before the first FIN or RST")
    normal = [r for r in close.rst_frames if normal_reset(close, alerts, r, not f.server_rst)]
    if normal:
        ev.append(
            f"client RST frame {normal[0]} after the server's close_notify and FIN: as from a "
            "client that closes its socket with the close_notify unread (its kernel resets "
            "instead of sending FIN), the normal ending, not an abort"
        )
    return close if len(ev) == len(close.evidence) else replace(close, evidence=tuple(ev))


def _h2_connection(
    f: ConnectionFacts, conv: H2Conversation, tls: TlsConversation | None, idle_ns: int
) -> Connection:
    """An HTTP/2 connection (decrypted, or cleartext h2c): one exchange per stream. Streams
    overlap: a request sent while another stream was open is ``concurrent``, not pipelined, and
    idle time counts only while no stream is open. The closer is the side whose GOAWAY came
    first (else whose close_notify), the idle time runs up to the last frame that was not a
    GOAWAY, and :func:`katui.analysis.h2close.h2_verdict` adds what only HTTP/2 frames tell."""
    exchanges, requests = _exchanges(conv)
    for ex in exchanges:
        ex.pipelined = False
    info = h2_info(conv)
    by, idle = f.close_by, f.close_idle_before_ns
    if f.close_ts_ns is not None:
        gone = goaway_before(info, f.close_ts_ns)
        notified_by = tls_exchanges.before_close(tls, f.close_ts_ns)[1] if tls is not None else None
        by = (gone[0] if gone is not None else None) or notified_by or by
        last = conv.facts.last_active(f.close_ts_ns)
        idle = None if last is None else f.close_ts_ns - last
    # A stream the server refused (REFUSED_STREAM: never processed) was answered by the reset,
    # and one the client reset (CANCEL) was given up: neither is a request left waiting. (If
    # every stream was, judge them all rather than none.)
    judged = tuple(ex for ex in exchanges if not refused(ex) and not client_reset(ex)) or exchanges
    close = h2_verdict(_decided(f, True, by, idle, judged, idle_ns), info, exchanges)
    tinfo = tls_exchanges.info(tls) if tls is not None else None
    return replace(_connection(f, exchanges, requests, close, True, conv.error, tinfo), http2=info)


def _exchanges(c: HttpConversation | TlsConversation | H2Conversation) -> tuple[tuple[Exchange, ...], int]:
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
                if getattr(ex, "concurrent", False):
                    ex.idle_before_ns = 0  # HTTP/2: another stream was open, so no idle time
                elif prev_end is not None:
                    ex.idle_before_ns = max(0, req_start - prev_end)
                # Pipelined: sent before the previous response had completed.
                ex.pipelined = prev_resp_end is not None and req_start < prev_resp_end
        ex.n = max(n, 1)
        out.append(ex)
        resp_end = None if resp < 0 else end_ns(resp)
        if resp_end is not None:
            prev_resp_end = resp_end
        end = resp_end if resp_end is not None else req_end if req >= 0 else None
        if resp_end is None and isinstance(ex, H2Exchange):
            # An HTTP/2 stream without its response stays open (the connection is not idle)
            # until its reset, or to the end of the capture.
            end = OPEN_NS if ex.reset is None else ex.reset[2]
        if end is not None:
            prev_end = end if prev_end is None else max(prev_end, end)
    return tuple(out), n
