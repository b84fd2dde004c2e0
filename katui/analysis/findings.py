"""Capture-wide verdicts in plain language, each pointing at a connection and a frame."""

from __future__ import annotations

from collections import Counter

from katui.analysis.timeout import server_idle_close
from katui.model import Connection, Finding, TimeoutEstimate
from katui.units import fmt_s

PER_KIND = 50  # individual findings per kind before they are summarised
_ORDER = {"problem": 0, "warning": 1, "info": 2}


def findings(conns: list[Connection], timeout: TimeoutEstimate) -> list[Finding]:
    """Every finding, problems first."""
    out: list[Finding] = []
    for rule in (_stale, _resets, _server_timeout, _client_timeout, _request_limit, _reuse,
                 _no_reuse, _http10, _unanswered, _damage):
        out.extend(rule(conns, timeout))
    out.sort(key=lambda f: _ORDER[f.severity])
    return out


def _capped(kind: str, items: list[Finding]) -> list[Finding]:
    if len(items) <= PER_KIND:
        return items
    first = items[0]
    more = Finding(kind, first.severity, None, None,
                   f"... and {len(items) - PER_KIND} more connections like these", first.advice)
    return items[:PER_KIND] + [more]


def _stale(conns, timeout):
    tmo = f"~{fmt_s(timeout.estimate_ns)}" if timeout.estimate_ns else "the server's idle timeout"
    items = [Finding("stale-reuse", "problem", c.stream, c.close.rst_frames[0] if c.close.rst_frames
                     else c.close.frame, f"Stream {c.stream}: {c.close.explanation}. This is what "
                     "a client reports as 'Connection reset by peer' (a proxy as a 502).",
                     f"Keep the client's pool idle timeout below {tmo}, or retry idempotent "
                     "requests once on a reset.")
             for c in conns if c.close.reason == "stale-reuse"]
    return _capped("stale-reuse", items)


def _resets(conns, timeout):
    items = [Finding("reset", "warning", c.stream, c.close.frame,
                     f"Stream {c.stream}: {c.close.explanation} (frame {c.close.frame}).",
                     "An RST loses data in flight; check the closing side's logs "
                     "(lingering close, proxy or load-balancer timeouts).")
             for c in conns if c.close.reason == "reset"]
    return _capped("reset", items)


def _server_timeout(conns, timeout: TimeoutEstimate):
    if timeout.estimate_ns is None:
        return []
    first = min((c for c in conns if server_idle_close(c)), key=lambda c: c.close.frame or 0)
    est = timeout.estimate_ns / 1e9
    bracket = ""
    if timeout.low_ns is not None:
        bracket = f"; reuse still worked after {fmt_s(timeout.low_ns)} idle"
    text = (f"The server closes keep-alive connections after ~{est:g} s idle "
            f"({timeout.samples} connection{'s' * (timeout.samples != 1)}, shortest gap "
            f"{fmt_s(timeout.high_ns)}{bracket}); first: stream {first.stream} frame "
            f"{first.close.frame}.")
    safe = max(est - 1, est * 0.8)
    out = [Finding("server-idle-timeout", "info", first.stream, first.close.frame, text,
                   f"Client pool idle timeout must stay below {est:g} s (e.g. {safe:g} s) so a "
                   "pooled connection is never reused just as the server closes it.")]
    if timeout.advertised_s is not None and abs(timeout.advertised_s - est) >= 1:
        out.append(Finding("timeout-mismatch", "warning", first.stream, first.close.frame,
                           f"The server advertises 'Keep-Alive: timeout={timeout.advertised_s:g}' "
                           f"but closes after ~{est:g} s.",
                           "Clients that trust the header will reuse connections too late; make "
                           "the advertised value match the real timeout."))
    return out


def _client_timeout(conns, timeout):
    gaps = [c for c in conns if c.close.reason == "idle-timeout" and c.close.by == "client"]
    if not gaps:
        return []
    shortest = min(gaps, key=lambda c: c.close.idle_before_ns)
    return [Finding("client-idle-timeout", "info", shortest.stream, shortest.close.frame,
                    f"The client closed {len(gaps)} idle connection{'s' * (len(gaps) != 1)} itself"
                    f" (shortest idle {fmt_s(shortest.close.idle_before_ns)}, stream "
                    f"{shortest.stream} frame {shortest.close.frame}).",
                    "Fine as long as it stays below the server's idle timeout.")]


def _request_limit(conns, timeout):
    hit = [c for c in conns if c.close.reason == "request-limit"]
    if not hit:
        return []
    counts = Counter(c.requests for c in hit)
    n, k = counts.most_common(1)[0]
    first = hit[0]
    return [Finding("request-limit", "info", first.stream, first.close.frame,
                    f"The server closed {len(hit)} connection{'s' * (len(hit) != 1)} after a fixed "
                    f"number of requests (most often {n}, {k}x): a per-connection request limit "
                    f"such as nginx keepalive_requests {n}.",
                    "Expected behaviour; raise the limit if the new handshakes cost too much, and "
                    "make sure clients do not retry non-idempotent requests blindly.")]


def _reuse(conns, timeout):
    reused = [(e, c) for c in conns for e in c.exchanges if e.reused]
    if not reused:
        return []
    e, c = max(reused, key=lambda ec: ec[0].idle_before_ns or 0)
    return [Finding("reuse", "info", c.stream, e.request.first_frame,
                    f"{len(reused)} request{'s' * (len(reused) != 1)} reused an open connection "
                    f"(no new handshake); longest idle before reuse {fmt_s(e.idle_before_ns)} "
                    f"(stream {c.stream}, request {e.n}, frame {e.request.first_frame}).")]


def _no_reuse(conns, timeout):
    http = [c for c in conns if c.http and c.requests >= 1]
    single = [c for c in http if c.requests == 1 and c.close.reason not in ("http10",)]
    if len(http) < 3 or len(single) < 0.8 * len(http):
        return []
    c = single[0]
    return [Finding("no-reuse", "warning", c.stream, c.first_frame,
                    f"{len(single)} of {len(http)} HTTP connections carried a single request: "
                    "the client is not reusing connections.",
                    "Use a connection pool / session (HTTP keep-alive) to save a handshake per "
                    "request.")]


def _http10(conns, timeout):
    hit = [c for c in conns if c.close.reason == "http10"]
    if not hit:
        return []
    return [Finding("http10", "info", hit[0].stream, hit[0].first_frame,
                    f"{len(hit)} connection{'s' * (len(hit) != 1)} used HTTP/1.0 without "
                    "keep-alive: one request per connection.",
                    "Send HTTP/1.1 (or 'Connection: keep-alive') to reuse connections.")]


def _unanswered(conns, timeout):
    items = []
    for c in conns:
        if c.close.reason == "stale-reuse":
            continue
        missing = [e for e in c.exchanges if e.request is not None and e.response is None]
        if missing:
            e = missing[0]
            items.append(Finding("unanswered", "warning", c.stream, e.request.first_frame,
                                 f"Stream {c.stream}: {len(missing)} request"
                                 f"{'s' * (len(missing) != 1)} without a response in the "
                                 f"capture (first: request {e.n}, frame {e.request.first_frame})."))
    return _capped("unanswered", items)


def _damage(conns, timeout):
    lost = [c for c in conns if c.lost_segments or c.truncated_frames]
    if not lost:
        return []
    holes = sum(c.lost_segments for c in lost)
    cut = sum(c.truncated_frames for c in lost)
    c = lost[0]
    return [Finding("capture-gaps", "warning", c.stream, c.first_frame,
                    f"{len(lost)} connection{'s' * (len(lost) != 1)} have bytes the capture "
                    f"missed: {holes} hole{'s' * (holes != 1)} in the byte stream, {cut} frame"
                    f"{'s' * (cut != 1)} cut by the snap length. HTTP messages across them may "
                    "be incomplete.",
                    "Capture with a full snap length (tcpdump -s 0) and enough buffer (-B).")]
