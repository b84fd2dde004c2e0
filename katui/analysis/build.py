"""Complete a frozen :class:`Connection` with what HTTP (or TLS, HTTP/2) saw and its close reason."""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from katui.analysis.h2close import client_reset, goaway_before, h2_info, h2_verdict, refused
from katui.analysis.verdicts import DEFAULT_IDLE_NS, SERVER_IDLE_NS, blind_bytes, decide_close
from katui.http.conversation import HttpConversation, _get
from katui.model import COL_START, NUM, SM_END, SM_FRAME, SMALL, Close, Connection, Exchange, TlsInfo
from katui.model.exchange import NO_IDLE, PIPELINED, REUSED, ExchangeRun, RunWriter, kept
from katui.model.store import END_BIG, end_at
from katui.tcp.facts import CloseFacts
from katui.tls import exchanges as tls_exchanges
from katui.tls.records import TlsConversation
from katui.tls.verdicts import normal_reset, tls_close

if TYPE_CHECKING:
    from katui.http2.conversation import H2Conversation

OPEN_NS = 1 << 62
"""The end of a stream that never ended: later than any capture."""


MAX_SHARED = (1 << 15) * 2 // 3
"""Distinct values a freeze's ``shared`` dict takes (one dict entry costs about what it saves;
hostile captures may make every client different): as many as a dict of 2**15 slots holds
before it doubles (to ~1.3 MB, at the freeze's peak; the synthetic 1M capture's 22,889 values
made it so for 1,000 more shared)."""


def build_connection(
    conn: Connection,
    tcp: CloseFacts,
    sink: HttpConversation,
    idle_threshold_ns: int = DEFAULT_IDLE_NS,
    shared: dict | None = None,
) -> Connection:
    """Complete the frozen connection ``conn`` (what :func:`katui.tcp.facts.facts` made of it,
    with ``tcp`` the facts of its end) with what its ``sink`` read and the close reason, and
    return it. ``shared`` (one dict for all the connections of a capture) makes equal client
    endpoints and close idle times one object: a load test's clients reuse ports, its idle
    times repeat (~60 bytes a connection). Its plain exchanges are kept as columns
    (:func:`katui.model.exchange.kept`), not objects."""
    _build(conn, tcp, sink, idle_threshold_ns)
    if shared is not None:
        _share(conn, shared)
    if not isinstance(conn.exchanges, ExchangeRun):  # (a plain connection's is one already)
        conn.exchanges = kept(conn.exchanges)
    return conn


def _share(conn: Connection, shared: dict) -> None:
    """Give ``conn`` the objects of ``shared`` equal to its client and close idle time (the
    freeze's own objects: set before anything else sees them)."""
    full = len(shared) >= MAX_SHARED
    client = conn.client
    got = shared.get(client)
    if got is not None:
        conn.client = got
    elif not full:
        shared[client] = client
    close = conn.close
    idle = close.idle_before_ns
    if idle is not None:  # (a str is never equal to an int: one dict holds both)
        got = shared.get(idle)
        if got is not None:
            close.idle_before_ns = got
        elif not full:
            shared[idle] = idle


def _build(conn: Connection, tcp: CloseFacts, conv: HttpConversation, idle_threshold_ns: int) -> None:
    tcp.open_ns, tcp.irtt_ns = conn.start_ns, conn.handshake_rtt_ns  # (verdicts.crossed_timeout)
    other = conv.other
    tls = other if isinstance(other, TlsConversation) else None
    if other is not None and tls is None and _is_h2(other) and other.recognised:
        _h2_connection(conn, tcp, other, None, idle_threshold_ns)
        return
    if tls is not None and _is_h2(tls.inner) and tls.plaintext_read:
        _h2_connection(conn, tcp, tls.inner, tls, idle_threshold_ns)
        return
    exchanges, requests = _exchanges(conv if tls is None else tls)
    if tls is not None and tls.plaintext_read:
        _decrypted_connection(conn, tcp, tls, idle_threshold_ns)
    elif tls is not None:
        _tls_connection(conn, tcp, tls, exchanges, requests, idle_threshold_ns)
    else:
        tcp.http = http = conv.recognised
        close = decide_close(tcp, exchanges, idle_threshold_ns)
        _complete(conn, exchanges, requests, close, http, conv.error, None)


def _is_h2(conv) -> bool:
    """True for an HTTP/2 conversation (asked only of a connection that spoke something else
    than HTTP/1.x: the module, and hpack's, are imported only once one spoke HTTP/2)."""
    from katui.http2.conversation import H2Conversation

    return isinstance(conv, H2Conversation)


def _complete(
    conn: Connection,
    exchanges: tuple[Exchange, ...],
    requests: int,
    close: Close,
    http: bool,
    http_error: str | None,
    tls: TlsInfo | None,
) -> None:
    """Set the fields of ``conn`` that TCP did not know (the freeze's own object: set before
    anything else sees it; compiled, C fields)."""
    conn._http = http  # (Connection.http)
    conn.exchanges = exchanges
    conn.close = close
    conn.http_error = http_error
    conn.requests = requests
    conn.tls = tls


def _tls_connection(
    conn: Connection,
    f: CloseFacts,
    conv: TlsConversation,
    exchanges: tuple[Exchange, ...],
    requests: int,
    idle_ns: int,
) -> None:
    """A connection that spoke TLS: its exchanges inferred from records, its close read by
    :func:`katui.tls.verdicts.tls_close`."""
    info = tls_exchanges.info(conv)
    last, notified_by = (
        (None, None) if f.ts_ns is None else tls_exchanges.before_close(conv, f.ts_ns, info.multiplexed)
    )
    close = tls_close(
        f.by,
        f.how,
        f.frame,
        f.ts_ns,
        last,
        notified_by,
        exchanges,
        f.server_fin_ns,
        f.rst_frames,
        f.server_rst,
        idle_ns,
        SERVER_IDLE_NS,
        info.multiplexed,
        blind_bytes(f),
        f.server_fin_frame,
        info.alerts,
    )
    if not close.evidence and close.frame is not None:
        how = "RST" if close.how == "rst" else "FIN"
        close = replace(close, evidence=(f"{close.by} {how} frame {close.frame}",))
    close = _unread_close_notify(f, close, info.close_notify, notified_by, False)
    _complete(conn, exchanges, requests, close, False, None, info)


def _decrypted_connection(conn: Connection, f: CloseFacts, conv: TlsConversation, idle_ns: int) -> None:
    """A TLS connection decrypted with a key log: the HTTP analysis of its plaintext, with the
    idle time up to the last record that was not an alert, and the side whose close_notify
    came first as the closer."""
    inner: HttpConversation = conv.inner
    exchanges, requests = _exchanges(inner)
    by, idle = f.by, f.idle_ns
    if f.ts_ns is not None:
        last, notified_by = tls_exchanges.before_close(conv, f.ts_ns)
        by = notified_by or by
        idle = None if last is None else f.ts_ns - last
    # The verdict is the deciding side's; Close.by stays the side of the first FIN or RST.
    close = _decided(f, inner.recognised, by, idle, exchanges, idle_ns)
    info = tls_exchanges.info(conv)
    if f.ts_ns is not None:
        close = _unread_close_notify(f, close, info.close_notify, notified_by, True)
    _complete(conn, exchanges, requests, close, inner.recognised, inner.error, info)


def _decided(f: CloseFacts, http: bool, by: str | None, idle: int | None, exchanges, idle_ns: int) -> Close:
    """The verdict of the side ``by`` that decided the close (idle ``idle`` ns before it);
    ``asked_by`` names it when another side's FIN or RST came first. (``f`` is the freeze's
    own: the verdict's reading of it is set on it.)"""
    f.http, f.decided_by, f.idle_ns = http, by, idle
    close = decide_close(f, exchanges, idle_ns)
    if by != f.by:
        close = replace(close, asked_by=close.asked_by or by)
    return close


def _unread_close_notify(
    f: CloseFacts, close: Close, alerts: tuple[str, ...], notified_by: str | None, decrypted: bool
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
    conn: Connection, f: CloseFacts, conv: H2Conversation, tls: TlsConversation | None, idle_ns: int
) -> None:
    """An HTTP/2 connection (decrypted, or cleartext h2c): one exchange per stream. Streams
    overlap: a request sent while another stream was open is ``concurrent``, not pipelined, and
    idle time counts only while no stream is open. The closer is the side whose GOAWAY came
    first (else whose close_notify), the idle time runs up to the last frame that was not a
    GOAWAY, and :func:`katui.analysis.h2close.h2_verdict` adds what only HTTP/2 frames tell."""
    exchanges, requests = _exchanges(conv, True)
    for ex in exchanges:
        ex.pipelined = False
    info = h2_info(conv)
    by, idle = f.by, f.idle_ns
    if f.ts_ns is not None:
        gone = goaway_before(info, f.ts_ns)
        notified_by = tls_exchanges.before_close(tls, f.ts_ns)[1] if tls is not None else None
        by = (gone[0] if gone is not None else None) or notified_by or by
        last = conv.facts.last_active(f.ts_ns)
        idle = None if last is None else f.ts_ns - last
    # A stream the server refused (REFUSED_STREAM: never processed) was answered by the reset,
    # and one the client reset (CANCEL) was given up: neither is a request left waiting. (If
    # every stream was, judge them all rather than none.)
    judged = tuple(ex for ex in exchanges if not refused(ex) and not client_reset(ex)) or exchanges
    close = h2_verdict(_decided(f, True, by, idle, judged, idle_ns), info, exchanges)
    tinfo = tls_exchanges.info(tls) if tls is not None else None
    _complete(conn, exchanges, requests, close, True, conv.error, tinfo)
    conn.http2 = info


def _exchanges(
    c: HttpConversation | TlsConversation | H2Conversation, h2: bool = False
) -> tuple[tuple[Exchange, ...] | ExchangeRun, int]:
    """Number the tracker's exchanges and work out reuse, idle time and pipelining; also return
    how many had a request. ``h2``: ``c`` is an HTTP/2 conversation (streams overlap).

    A plain HTTP/1.x conversation (no 1xx response) is numbered from its pairs array straight
    into an :class:`ExchangeRun` (as :func:`katui.model.exchange.kept` would pack it): no
    Exchange is made per exchange, a load test has hundreds of thousands. Others are numbered
    in place (the tracker's Exchange objects become the model's) and returned as a tuple."""
    objs: list | None = None
    pairs = None
    if not h2 and isinstance(c, HttpConversation) and c.informed is None:
        pairs = c.pairs
        total = len(pairs) // 2
    else:
        objs = c.exchanges
        total = len(objs)
    out: list[Exchange] = []
    w: RunWriter | None = None
    if pairs is not None:
        count = 0  # the run's length: the pairs with a request or a response
        for k in range(total):
            if _get(pairs, 2 * k) >= 0 or _get(pairs, 2 * k + 1) >= 0:
                count += 1
        if not count:
            return (), 0
        w = RunWriter(c.store, count)
    # The previous ends, and whether there is one (compiled: C integers, not an int object per
    # time read).
    prev_end = prev_resp_end = 0
    has_prev_end = has_prev_resp_end = False
    n = 0
    # Times straight from the message store's columns (its row layout is the model's): this
    # runs for every exchange of the capture.
    store = c.store
    num, small = store.num, store.small
    ex = None
    for k in range(total):
        if objs is None:  # (the pairs array read in C by the conversation's reader, k checked)
            req, resp = _get(pairs, 2 * k), _get(pairs, 2 * k + 1)
        else:
            ex = objs[k]
            req, resp = ex.req, ex.resp
        if req < 0 and resp < 0:
            continue
        idle = NO_IDLE
        reused = pipelined = False
        if req >= 0:
            n += 1
            req_start = num[req * NUM + COL_START]
            if n > 1:
                reused = True
                if h2 and ex.concurrent:
                    idle = 0  # HTTP/2: another stream was open, so no idle time
                elif has_prev_end:
                    idle = _after(req_start, prev_end)
                # Pipelined: sent before the previous response had completed.
                pipelined = has_prev_resp_end and req_start < prev_resp_end
                if ex is not None:  # (Exchange.idle_before_ns set through its field: compiled, a C write)
                    ex.reused = True
                    if idle != NO_IDLE:
                        ex._idle = idle
                    ex.pipelined = pipelined
            at = n
        else:
            at = n or 1
        if ex is not None:
            ex.n = at
            out.append(ex)
        else:
            w.put(idle, req, resp, at, (REUSED if reused else 0) | (PIPELINED if pipelined else 0))
        has_end = True
        if resp >= 0 and small[resp * SMALL + SM_FRAME]:
            took = small[resp * SMALL + SM_END]  # its end, after its start (store.end_at)
            end = num[resp * NUM + COL_START] + took if took != END_BIG else end_at(store, resp)
            prev_resp_end = end
            has_prev_resp_end = True
        elif h2:
            # An HTTP/2 stream without its response stays open (the connection is not idle)
            # until its reset, or to the end of the capture.
            end = OPEN_NS if ex.reset is None else ex.reset[2]
        elif req >= 0 and small[req * SMALL + SM_FRAME]:
            took = small[req * SMALL + SM_END]
            end = num[req * NUM + COL_START] + took if took != END_BIG else end_at(store, req)
        else:
            has_end = False
        if has_end and (not has_prev_end or end > prev_end):
            prev_end = end
            has_prev_end = True
    return (tuple(out) if w is None else w.run()), n


def _after(later: int, earlier: int) -> int:
    """``later - earlier`` ns, 0 when ``later`` is not after ``earlier`` (compiled: subtracted in
    C when that cannot overflow, as Python integers otherwise)."""
    if later <= earlier:
        return 0
    if earlier >= 0 or later < 0:
        return later - earlier
    return int(later) - int(earlier)
