"""Findings about how connections ended: error statuses, close reasons grouped, gaps."""

from __future__ import annotations

from collections import defaultdict

from katui.analysis.findings.common import by_key, fill, grouped_finding, server_words
from katui.analysis.h2close import never_processed
from katui.analysis.proxy import ProxyReport
from katui.analysis.software import Software, server_software, setting_phrase
from katui.analysis.verdicts import GATEWAY_ERRORS, crossed_408
from katui.model import SM_STATUS, SMALL, Connection, Finding
from katui.model.exchange import columns
from katui.tls.records import alert_name, first_fatal
from katui.units import plural

# -- error responses -------------------------------------------------------------------------


def _error_responses(conns) -> dict:
    """(server, status) -> the (connection, exchange) of each response with a status >= 400."""
    groups: dict[tuple[str, int], list] = defaultdict(list)
    store = small = None
    for c in conns:
        run = columns(c.exchanges)  # read as columns: an object only for an error
        for k in range(len(run)):
            resp = run.resp_at(k)
            if resp >= 0:
                if run.store is not store:  # one store per capture: its column looked up once
                    store = run.store
                    small = store.small
                status = small[resp * SMALL + SM_STATUS]  # no message object per response
                if status >= 400:
                    groups[(c.server, status)].append((c, c.exchanges[k]))
    return groups


def _error_statuses(conns, proxied: ProxyReport):
    raced = {r.front_frame: r for r in proxied.races if r.outcome == "reached-client" and r.front_frame}
    groups = _error_responses(conns)
    out = []
    for (server, status), hits in sorted(groups.items(), key=lambda kv: (kv[0][1], kv[0][0])):
        c, e = hits[0]
        resp = e.response
        sev = "problem" if status in GATEWAY_ERRORS else "warning" if status >= 500 else "info"
        closed = sum(1 for c2, e2 in hits if c2.close.reason == "error-close" and c2.close.exchange == e2.n)
        also = f"; {closed} of them ended their connection" if closed else ""
        races = [raced[e2.response.frame] for _, e2 in hits if e2.response.frame in raced] if raced else []
        if races:
            also += (f"; {len(races)} of them from an upstream keep-alive race (upstream stream "
                     f"{races[0].stream} frame {races[0].request_frame})")  # fmt: skip
        streams = tuple(dict.fromkeys(c2.stream for c2, _ in hits))
        out.append(Finding(
            "http-error", sev, c.stream, resp.frame or resp.first_frame,
            f"{server_words(conns, server)} sent {plural(len(hits), 'response')} "
            f"{status} {resp.reason}".rstrip() + f" (first: stream {c.stream} frame "
            f"{resp.frame or resp.first_frame}{also}).",
            _status_advice(status, server_software([c2 for c2 in conns if c2.server == server]),
                           all(e2.req < 0 or _crossed(c2, e2) for c2, e2 in hits)),
            streams=streams, server=server, count=len(hits),
        ))  # fmt: skip
    return out


def _crossed(c: Connection, e) -> bool:
    """Whether ``e``'s 408 crossed its request (verdicts._crossed_timeout): not its answer."""
    return crossed_408(c.close) and c.close.exchange == e.n


def _status_advice(status: int, sw: Software | None, no_request: bool = False) -> str:
    """What to look at for responses of ``status``; ``no_request``: every one (a 408) answered
    no request or one it crossed, sent by a server tired of a silent connection."""
    if status in (502, 504):
        return ("A proxy or gateway got no valid answer from its upstream (refused, reset or "
                "timed out): its error log at these times says which.")  # fmt: skip
    if status == 503:
        return ("The server, or a proxy in front of it, refused the request (overloaded, in "
                "maintenance, or no healthy upstream): its logs at these times say which.")  # fmt: skip
    if status == 408:
        limit = setting_phrase(sw, "request-timeout", "its header/body read timeout")
        if no_request:
            return (f"The server's request timeout ({limit}) expired on connections that carried "
                    "no request (pre-connected or idle): not a slow request.")  # fmt: skip
        return f"The server's request timeout ({limit}) expired before the client finished a request."
    if status == 413:
        limit = setting_phrase(sw, "body-limit", "its request body limit")
        return f"The request body is larger than the server allows ({limit})."
    return ""


# -- per-connection close reasons, grouped ----------------------------------------------------

_CLOSE_KINDS = {
    # reason: (severity, sentence, advice)
    "incomplete-request": (
        "warning",
        "the client sent part of a request and stalled until the server's request timeout",
        "A client that stops mid-request (slow upload, crashed client, or a slowloris-style "
        "probe) meets the server's request timeout ({request-timeout}); these closes are not "
        "keep-alive idle closes and do not count for the timeout.",
    ),
    "request-timeout": (
        "warning",
        "the connection was closed while a request waited for its response",
        "Look at the server's (or proxy's) processing and upstream timeouts, and at the "
        "client's request timeout.",
    ),
    "stalled-reader": (
        "warning",
        "the server gave up sending a response the client had stopped reading (zero window)",
        "The client stopped reading its response; the server's send timeout ({send-timeout}) "
        "ended it. Not an idle close: look at why the client stalled.",
    ),
    "unknown": (
        "info",
        "the close reason cannot be known from this capture",
        "Capture with a full snap length (tcpdump -s 0) and a large enough buffer (-B).",
    ),
    "unused": (
        "info",
        "no request was ever sent (pre-connects, TCP probes or health checks)",
        "",
    ),
    "upgrade": (
        "info",
        "the connection switched protocols (101) and its close is the application's",
        "",
    ),
    "not-http": ("info", "the payload is not HTTP/1.x", ""),
}


_CLIENT_SIDE = {
    # The same reasons where the client, not the server, ended the connection.
    ("incomplete-request", "client"): (
        "warning",
        "the client sent part of a request, stalled, and gave up itself: the server never timed it out",
        "The server did not close a stalled, partial request: without a request read timeout "
        "a slow or stuck client holds a connection (and a worker) as long as it likes (the "
        "slowloris risk). Set one, or put a proxy that has one in front.",
    ),
    ("stalled-reader", "client"): (
        "warning",
        "the client stopped reading its response (zero window) and then closed the connection "
        "itself; no close from the server was seen (one queued behind the unsent response does "
        "not show while the window is zero)",
        "Look at why the client stopped reading (a stuck consumer, a full buffer). Whether the "
        "server gave up meanwhile ({send-timeout}) only its log can tell.",
    ),
}


def _closes(conns, by_server):
    out = []
    groups: dict[tuple, list[Connection]] = defaultdict(list)
    for c in conns:
        r = c.close.reason
        if r == "tls-failed":
            groups[("tls-failed", c.server, _fatal_alert(c))].append(c)
        elif r == "reset" or r == "client-gave-up" or (r == "request-timeout" and c.close.by == "client"):
            groups[(_reset_kind(c), c.server, c.close.by)].append(c)
        elif r == "unknown" and c.tls is not None and not c.tls.decrypted:
            groups[("unknown-encrypted", c.server, c.close.by)].append(c)
        elif r in _CLOSE_KINDS:
            groups[(r, c.server, c.close.by)].append(c)
    for (kind, server, by), cs in groups.items():
        if (kind, by) in _CLIENT_SIDE:
            sev, what, advice = _CLIENT_SIDE[(kind, by)]
            advice = fill(advice, server_software([c for c in conns if c.server == server]))
            text = f"{plural(len(cs), 'connection')} to {server}: {what}"
        elif kind == "tls-failed":
            sev, text, advice = _tls_failed_words(server, by, cs)
        elif kind == "unknown-encrypted":
            kind, sev = "unknown", "info"
            text = (f"{plural(len(cs), 'connection')} to {server}: closed right after an exchange "
                    "over TLS; whether a header asked for it is encrypted")  # fmt: skip
            advice = ("Decrypt with a key log (SSLKEYLOGFILE from the client, then katui "
                      "--keylog FILE) to read the headers.")  # fmt: skip
        elif kind in _CLOSE_KINDS:
            sev, what, advice = _CLOSE_KINDS[kind]
            advice = fill(advice, server_software([c for c in conns if c.server == server]))
            text = f"{plural(len(cs), 'connection')} to {server}: {what}"
        else:
            sev, text, advice = _reset_words(kind, by, server, cs)
        if kind == "tls-failed":
            out.append(grouped_finding(kind, sev, cs, text, advice, server, _alert_frame))
        else:
            out.append(grouped_finding(kind, sev, cs, text, advice, server))
    return out


def _fatal_alert(c: Connection) -> tuple[str, int]:
    """(side, description) of the alert that failed a ``tls-failed`` connection (its verdict
    was decided from the first fatal one)."""
    a = first_fatal(c.tls.alerts)
    return a[0], a[2]


def _alert_frame(c: Connection) -> int:
    """The frame of the alert that failed a ``tls-failed`` connection."""
    return first_fatal(c.tls.alerts)[3]


_CERTIFICATE_ALERTS = frozenset((42, 43, 44, 45, 46, 48))
"""Alerts that reject the peer's certificate."""


def _tls_failed_words(server: str, alert: tuple[str, int], cs: list[Connection]):
    """The finding for connections whose handshake ended with one fatal alert: what the side
    that sent it refused, and where to look (the alert is the evidence; the settings named are
    the usual places, as the server software is not known over TLS without keys)."""
    side, code = alert
    handshakes = plural(len(cs), "TLS handshake")
    text = f"{handshakes} with {server} failed: the {side} sent a fatal {alert_name(code)} alert"
    if code == 70:
        advice = ("Client and server have no TLS version in common: compare the versions the client "
                  "offers with the server's (nginx ssl_protocols, Apache SSLProtocol, HAProxy "
                  "ssl-min-ver) and upgrade or reconfigure the side that is out of date.")  # fmt: skip
    elif code in (40, 71):
        advice = ("No cipher suite (or key exchange group) in common: compare the client's offer "
                  "with the server's list (nginx ssl_ciphers, Apache SSLCipherSuite, HAProxy "
                  "ciphers).")  # fmt: skip
    elif code == 112:
        advice = ("The server has no certificate for the name the client asked for (the SNI in the "
                  "ClientHello): add the name to a server block, or fix the client's host name "
                  "(nginx's ssl_reject_handshake on a default server refuses unknown names so).")  # fmt: skip
    elif code == 120:
        advice = "No application protocol in common (ALPN): check that both allow http/1.1 or h2."
    elif code == 116 or (code in _CERTIFICATE_ALERTS and side == "server"):
        advice = ("The server refused the client's certificate (or its absence): check the client "
                  "certificate and the CA the server trusts for client certificates.")  # fmt: skip
    elif code in _CERTIFICATE_ALERTS:
        advice = ("The client refused the server's certificate: the server should send its whole "
                  "chain with a certificate valid for the name asked and not expired; a private "
                  "or self-signed CA must be in the client's trust store.")  # fmt: skip
    else:
        advice = f"The {side} aborted the handshake; its log says why."
    if side == "server":
        advice += " (nginx logs failed handshakes at error_log level info only.)"
    return "problem", text, advice


def _reset_kind(c: Connection) -> str:
    """``abortive-close`` for a client RST right after its last response (browsers do it),
    ``client-gave-up`` for a client closing with a request in flight, else ``reset``."""
    cl = c.close
    if cl.reason in ("request-timeout", "client-gave-up"):
        return "client-gave-up"
    if cl.by == "client" and all(not e.failed for e in c.exchanges) and c.requests:
        return "abortive-close"
    return "reset"


def _mid_response(c: Connection) -> bool:
    """Whether the request ``c``'s close is about had its response begun (client-gave-up by a
    client that left a response still arriving, verdicts._left)."""
    n = c.close.exchange
    return any(e.n == n and e.req >= 0 and e.resp >= 0 for e in c.exchanges)


def _reset_words(kind: str, by: str, server: str, cs: list[Connection]):
    n = plural(len(cs), "connection")
    if kind == "abortive-close":
        return ("info", f"{n} to {server} closed by the client with an RST after every request "
                "was answered (an abortive close, as browsers and some pools do)", "")  # fmt: skip
    if kind == "client-gave-up":
        if all(_mid_response(c) for c in cs):
            return ("info", f"{n} to {server} closed by the client in the middle of a response "
                    "(it left a response still arriving: an event stream, a long poll, a download)",
                    "Not a keep-alive close. If the client did not mean to leave, look at its read "
                    "timeout against the gaps in the server's stream.")  # fmt: skip
        return ("info", f"{n} to {server} closed by the client while a request was still in "
                "flight (the client gave up or stopped, e.g. a load generator ending its run)",
                "If the client timed out, compare its timeout with the server's response times.")  # fmt: skip
    return ("warning", f"{n} to {server} reset by the {by}",
            "An RST loses data in flight; check the resetting side's logs (lingering close, "
            "proxy or load-balancer timeouts).")  # fmt: skip


# -- the rest ------------------------------------------------------------------------------


def _unanswered(conns, by_server):
    hit = _unanswered_connections(conns)
    out = []
    for (server, open_), cs in by_key(hit, lambda c: (c.server, c.close.by is None)).items():
        missing = sum(len(_lost(c)) for c in cs)
        c = cs[0]
        e = _lost(c)[0]
        why = (": the capture ended while the connection was open (the answer may have come later)"
               if open_ else "")  # fmt: skip
        out.append(Finding(
            "unanswered", "info" if open_ else "warning", c.stream, e.request.first_frame,
            f"{plural(missing, 'request')} to {server} without a response in the capture (first: "
            f"stream {c.stream}, request {e.n}, frame {e.request.first_frame}){why}.",
            streams=tuple(c2.stream for c2 in cs), server=server, count=missing,
        ))  # fmt: skip
    return out


_NOT_UNANSWERED = frozenset(
    (
        "stale-reuse",
        "request-timeout",
        "client-gave-up",
        "incomplete-request",
        "error-close",
        "upgrade",
        "upstream-failure",
    )
)
"""Close reasons that tell of their unanswered request already."""


def _unanswered_connections(conns) -> list:
    """The connections with an unanswered request that their close reason does not tell of
    (and no bytes the capture missed)."""
    out = []
    for c in conns:
        if c.close.reason not in _NOT_UNANSWERED and not (c.truncated_frames or c.lost_segments) and _lost(c):
            out.append(c)
    return out


def _lost(c) -> list:
    """The requests of ``c`` with no answer at all (an HTTP/2 refusal is an answer)."""
    out = []
    run = columns(c.exchanges)  # read as columns: an object only for an unanswered request
    for k in range(len(run)):
        if run.req_at(k) >= 0 and run.resp_at(k) < 0:  # Exchange.failed
            e = c.exchanges[k]
            if not never_processed(c, e):
                out.append(e)
    return out


def _damage(conns, by_server):
    lost = [c for c in conns if c.lost_segments or c.truncated_frames]
    if not lost:
        return []
    holes = sum(c.lost_segments for c in lost)
    cut = sum(c.truncated_frames for c in lost)
    c = lost[0]
    return [Finding(
        "capture-gaps", "warning", c.stream, c.first_frame,
        f"{plural(len(lost), 'connection')} {'has' if len(lost) == 1 else 'have'} bytes the "
        f"capture missed: {plural(holes, 'hole')} in the byte stream, {plural(cut, 'frame')} cut "
        "by the snap length. HTTP messages across them may be incomplete.",
        "Capture with a full snap length (tcpdump -s 0) and enough buffer (-B).",
        streams=tuple(c2.stream for c2 in lost), count=len(lost),
    )]  # fmt: skip
