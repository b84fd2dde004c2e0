"""Capture-wide verdicts in plain language, each pointing at a connection and a frame."""

from __future__ import annotations

from collections import Counter

from katui.analysis.timeout import server_idle_close, server_name
from katui.model import Connection, Finding, TimeoutEstimate
from katui.units import fmt_s, plural

PER_KIND = 50  # individual findings per kind before they are summarised
_ORDER = {"problem": 0, "warning": 1, "info": 2}


def findings(conns: list[Connection], timeouts: list[TimeoutEstimate]) -> list[Finding]:
    """Every finding, problems first. ``timeouts`` are the per-server idle timeout estimates."""
    by_server = {t.server: t for t in timeouts}
    out: list[Finding] = []
    for rule in (
        _stale,
        _resets,
        _request_timeouts,
        _server_timeout,
        _client_timeout,
        _request_limit,
        _reuse,
        _connection_close,
        _no_reuse,
        _http10,
        _unanswered,
        _damage,
    ):
        out.extend(rule(conns, by_server))
    out.sort(key=lambda f: _ORDER[f.severity])
    return out


def _secs(ns: int) -> str:
    """``5 s`` / ``4.9 s`` for a timeout estimate (at most 0.1 s precision)."""
    return f"{round(ns / 1e9, 1):g} s"


def _capped(kind: str, items: list[Finding]) -> list[Finding]:
    if len(items) <= PER_KIND:
        return items
    first = items[0]
    more = Finding(
        kind,
        first.severity,
        None,
        None,
        f"... and {len(items) - PER_KIND} more connections like these",
        first.advice,
    )
    return items[:PER_KIND] + [more]


def _stale(conns, by_server):
    items = []
    for c in conns:
        if c.close.reason != "stale-reuse":
            continue
        t = by_server.get(server_name(c))
        tmo = f"{_secs(t.estimate_ns)}" if t and t.estimate_ns else "the server's idle timeout"
        items.append(
            Finding(
                "stale-reuse",
                "problem",
                c.stream,
                c.close.rst_frames[0] if c.close.rst_frames else c.close.frame,
                f"Stream {c.stream} ({c.server}): {c.close.explanation}. This is what a client "
                "reports as 'Connection reset by peer' (a proxy as a 502).",
                f"Keep the client's pool idle timeout below {tmo}, or retry idempotent requests "
                "once on a reset.",
            )
        )
    return _capped("stale-reuse", items)


def _closes_like(reason: str, advice: str):
    """A warning per connection closed for ``reason``, worded by its close explanation."""

    def rule(conns, by_server):
        items = [
            Finding(
                reason,
                "warning",
                c.stream,
                c.close.frame,
                f"Stream {c.stream}: {c.close.explanation} (frame {c.close.frame}).",
                advice,
            )
            for c in conns
            if c.close.reason == reason
        ]
        return _capped(reason, items)

    return rule


_resets = _closes_like(
    "reset",
    "An RST loses data in flight; check the closing side's logs "
    "(lingering close, proxy or load-balancer timeouts).",
)
_request_timeouts = _closes_like(
    "request-timeout",
    "Look at the server's (or proxy's) read and processing timeouts, and at the client's request timeout.",
)


def _server_timeout(conns, by_server):
    out = []
    for t in by_server.values():
        if t.estimate_ns is None:
            continue
        first = min(
            (c for c in conns if server_name(c) == t.server and server_idle_close(c)),
            key=lambda c: c.close.frame or 0,
        )
        est = t.estimate_ns / 1e9
        bracket = ""
        if t.low_ns is not None:
            bracket = f"; a reused request still got its response after {fmt_s(t.low_ns)} idle"
        text = (
            f"Server {t.server} closes keep-alive connections after ~{_secs(t.estimate_ns)} "
            f"idle ({plural(t.samples, 'connection')}, shortest gap {fmt_s(t.high_ns)}"
            f"{bracket}); first: stream {first.stream} frame {first.close.frame}."
        )
        safe = round(max(est - 1, est * 0.8), 1)
        out.append(
            Finding(
                "server-idle-timeout",
                "info",
                first.stream,
                first.close.frame,
                text,
                f"Client pool idle timeout must stay below {_secs(t.estimate_ns)} "
                f"(e.g. {safe:g} s) so a pooled connection is never reused just as "
                "the server closes it.",
            )
        )
        if t.advertised_s is not None and abs(t.advertised_s - est) >= 1:
            out.append(
                Finding(
                    "timeout-mismatch",
                    "warning",
                    first.stream,
                    first.close.frame,
                    f"Server {t.server} advertises 'Keep-Alive: "
                    f"timeout={t.advertised_s:g}' but closes after ~{_secs(t.estimate_ns)}.",
                    "Clients that trust the header will reuse connections too late; "
                    "make the advertised value match the real timeout.",
                )
            )
    return _capped("server-idle-timeout", out)


def _client_timeout(conns, by_server):
    gaps = [c for c in conns if c.close.reason == "idle-timeout" and c.close.closer == "client"]
    if not gaps:
        return []
    shortest = min(gaps, key=lambda c: c.close.idle_before_ns)
    longest = max(gaps, key=lambda c: c.close.idle_before_ns)
    t = by_server.get(server_name(longest))
    advice = "Fine as long as it stays below the server's idle timeout."
    severity = "info"
    if t is not None and t.estimate_ns is not None:
        if longest.close.idle_before_ns >= t.estimate_ns:
            severity = "warning"
            advice = (
                f"Stream {longest.stream} sat idle {fmt_s(longest.close.idle_before_ns)}, "
                f"longer than server {t.server}'s ~{_secs(t.estimate_ns)}: lower the "
                "client's idle timeout."
            )
        else:
            advice = f"Below server {t.server}'s ~{_secs(t.estimate_ns)}: fine."
    return [
        Finding(
            "client-idle-timeout",
            severity,
            shortest.stream,
            shortest.close.frame,
            f"The client closed {plural(len(gaps), 'idle connection')} itself (idle "
            f"{fmt_s(shortest.close.idle_before_ns)} to "
            f"{fmt_s(longest.close.idle_before_ns)}; first: stream {shortest.stream} "
            f"frame {shortest.close.frame}).",
            advice,
        )
    ]


def _request_limit(conns, by_server):
    hit = [c for c in conns if c.close.reason == "request-limit"]
    if not hit:
        return []
    counts = Counter(c.requests for c in hit)
    n, k = counts.most_common(1)[0]
    first = hit[0]
    return [
        Finding(
            "request-limit",
            "info",
            first.stream,
            first.close.frame,
            f"The server closed {plural(len(hit), 'connection')} after a fixed number of "
            f"requests (most often {n}, {k}x): a per-connection request limit such as "
            f"nginx keepalive_requests {n}.",
            "Expected behaviour; raise the limit if the new handshakes cost too much, and "
            "make sure clients do not retry non-idempotent requests blindly.",
        )
    ]


def _reuse(conns, by_server):
    reused = [(e, c) for c in conns for e in c.exchanges if e.reused and e.resp >= 0]
    if not reused:
        return []
    e, c = max(reused, key=lambda ec: ec[0].idle_before_ns or 0)
    piped = sum(1 for e2, _ in reused if e2.pipelined)
    also = f"; {plural(piped, 'was', 'were')} pipelined" if piped else ""
    return [
        Finding(
            "reuse",
            "info",
            c.stream,
            e.request.first_frame,
            f"{plural(len(reused), 'request')} reused an open connection (no new "
            f"handshake) and got a response{also}; longest idle before a reuse "
            f"{fmt_s(e.idle_before_ns)} (stream {c.stream}, request {e.n}, frame "
            f"{e.request.first_frame}).",
        )
    ]


def _connection_close(conns, by_server):
    out = []
    for side in ("client", "server"):
        hit = [c for c in conns if c.close.reason == "connection-close" and c.close.asked_by == side]
        if not hit:
            continue
        single = sum(1 for c in hit if c.requests <= 1)
        out.append(
            Finding(
                "connection-close",
                "info",
                hit[0].stream,
                hit[0].close.frame,
                f"{plural(len(hit), 'connection')} ended because the {side} sent 'Connection: close' "
                f"({single} of them after a single request): keep-alive was switched off there.",
                "Drop 'Connection: close' from the client's requests (or its HTTP library's option) "
                "to reuse connections."
                if side == "client"
                else "The server refuses keep-alive (e.g. nginx keepalive_timeout 0); enable it if the "
                "handshake per request matters.",
            )
        )
    return out


def _no_reuse(conns, by_server):
    http = [c for c in conns if c.http and c.requests >= 1]
    single = [c for c in http if c.requests == 1 and c.close.reason not in ("http10", "connection-close")]
    if len(http) < 3 or len(single) < 0.8 * len(http):
        return []
    c = single[0]
    return [
        Finding(
            "no-reuse",
            "warning",
            c.stream,
            c.first_frame,
            f"{len(single)} of {len(http)} HTTP connections carried a single request: "
            "the client is not reusing connections.",
            "Use a connection pool / session (HTTP keep-alive) to save a handshake per request.",
        )
    ]


def _http10(conns, by_server):
    hit = [c for c in conns if c.close.reason == "http10"]
    if not hit:
        return []
    return [
        Finding(
            "http10",
            "info",
            hit[0].stream,
            hit[0].first_frame,
            f"{plural(len(hit), 'connection')} used HTTP/1.0 without keep-alive: one request per connection.",
            "Send HTTP/1.1 (or 'Connection: keep-alive') to reuse connections.",
        )
    ]


def _unanswered(conns, by_server):
    items = []
    for c in conns:
        if c.close.reason in ("stale-reuse", "request-timeout"):
            continue
        missing = [e for e in c.exchanges if e.failed]
        if missing:
            e = missing[0]
            items.append(
                Finding(
                    "unanswered",
                    "warning",
                    c.stream,
                    e.request.first_frame,
                    f"Stream {c.stream}: {plural(len(missing), 'request')} without "
                    f"a response in the capture (first: request {e.n}, frame "
                    f"{e.request.first_frame}).",
                )
            )
    return _capped("unanswered", items)


def _damage(conns, by_server):
    lost = [c for c in conns if c.lost_segments or c.truncated_frames]
    if not lost:
        return []
    holes = sum(c.lost_segments for c in lost)
    cut = sum(c.truncated_frames for c in lost)
    c = lost[0]
    return [
        Finding(
            "capture-gaps",
            "warning",
            c.stream,
            c.first_frame,
            f"{plural(len(lost), 'connection')} {'has' if len(lost) == 1 else 'have'} "
            f"bytes the capture missed: {plural(holes, 'hole')} in the byte stream, "
            f"{plural(cut, 'frame')} cut by the snap length. HTTP messages across them "
            "may be incomplete.",
            "Capture with a full snap length (tcpdump -s 0) and enough buffer (-B).",
        )
    ]
