"""Capture-wide verdicts in plain language: one finding per kind and server (and client where it
matters), with how many connections it covers, all their streams, a few examples and advice.

No false findings: each claim follows from what the capture shows (a connection reset right
after its last response is not a problem; single-request connections are not evidence of a
client that does not reuse connections unless an idle one to the same server was open).
"""

from __future__ import annotations

import bisect
import heapq
from collections import Counter, defaultdict
from collections.abc import Iterable

from katui.analysis.proxy import ProxyReport, find_proxy_links
from katui.analysis.software import Software, client_software, server_software, setting_phrase
from katui.analysis.timeout import server_idle_close
from katui.analysis.verdicts import GATEWAY_ERRORS
from katui.model import Connection, Finding, TimeoutEstimate
from katui.units import fmt_s, plural

MIN_POOL_IDLE_NS = 100_000_000
"""A connection idle at least this long when its client opens another to the same server is a
pool miss ('not reusing connections'); shorter, the new one was decided before it went idle."""
EXAMPLES = 3
"""Example sentences quoted in a grouped finding."""
RETRY_WINDOW_NS = 1_000_000_000
"""A request repeated by the same client host this soon after a reset counts as its retry."""
_ORDER = {"problem": 0, "warning": 1, "info": 2}


def findings(
    conns: list[Connection], timeouts: list[TimeoutEstimate], proxied: ProxyReport | None = None
) -> list[Finding]:
    """Every finding, problems first. ``timeouts`` are the per-server idle timeout estimates,
    ``proxied`` the proxy links (found here when not given)."""
    by_server = {t.server: t for t in timeouts}
    if proxied is None:
        proxied = find_proxy_links(conns)
    out: list[Finding] = _proxy_races(conns, by_server, proxied)
    raced = {r.stream for r in proxied.races if r.outcome != "unlinked"}
    out += _error_statuses(conns, proxied)
    for rule in (_stale, _closes, _server_timeout, _client_timeout,
                 _request_limit, _connection_close, _http10, _reuse, _no_reuse, _unanswered,
                 _damage):  # fmt: skip
        if rule is _stale:  # upstream races are told from both legs by _proxy_races
            out.extend(rule([c for c in conns if c.stream not in raced], by_server))
            continue
        out.extend(rule(conns, by_server))
    out.sort(key=lambda f: _ORDER[f.severity])
    return out


def safe_idle_s(t: TimeoutEstimate) -> float | None:
    """A client pool idle timeout that stays below every idle close seen from this server: the
    shortest close minus a margin for RTT and timer jitter (10 %, at least 50 ms), rounded down
    to 0.1 s."""
    if t.high_ns is None:
        return None
    high = t.high_ns / 1e9
    safe = high - max(0.1 * high, 0.05)
    return int(safe * 10) / 10 if safe >= 1 else round(safe, 2)


def _secs(ns: int) -> str:
    """``5 s`` / ``4.9 s`` for a timeout estimate (at most 0.1 s precision)."""
    return f"{round(ns / 1e9, 1):g} s"


def _group(
    kind: str,
    severity: str,
    conns: list[Connection],
    text: str,
    advice: str = "",
    server: str | None = None,
    frame_of=lambda c: c.close.frame,
) -> Finding:
    """One finding over ``conns``: the count, every stream, and a few example explanations."""
    first = conns[0]
    examples = "; ".join(f"stream {c.stream}: {c.close.explanation}" for c in conns[:EXAMPLES])
    more = f"; and {len(conns) - EXAMPLES} more" if len(conns) > EXAMPLES else ""
    return Finding(
        kind, severity, first.stream, frame_of(first), f"{text} ({examples}{more}).", advice,
        streams=tuple(c.stream for c in conns), server=server, count=len(conns),
    )  # fmt: skip


_TOPICS = {"{request-timeout}": ("request-timeout", "its request read timeout"),
           "{send-timeout}": ("send-timeout", "its send timeout")}  # fmt: skip


def _fill(advice: str, sw: Software | None) -> str:
    """Name the server's own setting in ``advice`` where the software is known."""
    for mark, (topic, generic) in _TOPICS.items():
        advice = advice.replace(mark, setting_phrase(sw, topic, generic))
    return advice


def _by_server(conns: Iterable[Connection]) -> dict[str, list[Connection]]:
    out: dict[str, list[Connection]] = defaultdict(list)
    for c in conns:
        out[c.server].append(c)
    return out


def _host(endpoint: str) -> str:
    """``1.2.3.4`` of ``1.2.3.4:80``, ``[::1]`` of ``[::1]:80``."""
    return endpoint.rsplit(":", 1)[0]


def _server_words(conns: list[Connection], server: str) -> str:
    sw = server_software(conns)
    return f"{server} ({sw.name})" if sw else server


# -- the keep-alive race -------------------------------------------------------------------


def _stale(conns, by_server):
    stale = [c for c in conns if c.close.reason == "stale-reuse"]
    if not stale:
        return []
    later = _by_client_server(conns)
    out = []
    for server, group in _by_server(stale).items():
        retried, lost = [], []
        for c in group:
            retry = _retry_of(c, later)
            (retried if retry else lost).append((c, retry))
        t = by_server.get(server)
        advice = _race_advice(t, group)
        who = _server_words(conns, server)
        if lost:
            cs = [c for c, _ in lost]
            out.append(_group(
                "stale-reuse", "problem", cs,
                f"{plural(len(cs), 'request')} to {who} hit the keep-alive race and got a reset, "
                "with no retry in the capture: the client saw an error ('Connection reset by "
                "peer'; behind a proxy, a 502)",
                advice, server, _rst_frame,
            ))  # fmt: skip
        if retried:
            cs = [c for c, _ in retried]
            how = "; ".join(
                f"stream {c.stream} retried on stream {r.stream} (frame {r.exchanges[0].request.frame}"
                f", {r.exchanges[0].response.status if r.exchanges[0].response else 'no response'})"
                for c, r in retried[:EXAMPLES]
            )
            out.append(Finding(
                "stale-reuse-retried", "warning", cs[0].stream, _rst_frame(cs[0]),
                f"{plural(len(cs), 'request')} to {who} hit the keep-alive race (a reused "
                f"connection the server was closing) and the client retried on a new connection "
                f"({how}): the race cost a retry and a handshake, not an error.",
                advice, streams=tuple(c.stream for c in cs), server=server, count=len(cs),
            ))  # fmt: skip
    return out


def _rst_frame(c: Connection) -> int | None:
    return c.close.rst_frames[-1] if c.close.rst_frames else c.close.frame


def _by_client_server(conns):
    """(client host, server) -> (its connections by start, their start times)."""
    out = defaultdict(list)
    for c in conns:
        out[(_host(c.client), c.server)].append(c)
    return {k: (sorted(v, key=lambda c: c.start_ns), sorted(c.start_ns for c in v)) for k, v in out.items()}


def _retry_of(c: Connection, by_pair) -> Connection | None:
    """The connection on which the client sent the raced request again, if it did: the next
    connection the same client host opened to the server after the reset (within
    ``RETRY_WINDOW_NS``), whose first request has the same method and target."""
    n = c.close.exchange
    ex = next((e for e in c.exchanges if e.n == n and e.req >= 0), None)
    if ex is None or not c.close.rst_frames:
        return None
    req = ex.request
    later, starts = by_pair[(_host(c.client), c.server)]
    i = bisect.bisect_right(starts, req.start_ns)
    if i == len(later) or later[i].start_ns - req.start_ns > RETRY_WINDOW_NS:
        return None
    nxt = later[i]
    first = nxt.exchanges[0].request if nxt.exchanges else None
    return nxt if first is not None and (first.method, first.uri) == (req.method, req.uri) else None


def _race_advice(t: TimeoutEstimate | None, group: list[Connection]) -> str:
    if t is None or t.high_ns is None:
        return ("Keep the client's pool idle timeout below the server's keep-alive timeout, and "
                "retry idempotent requests once on a reset.")  # fmt: skip
    safe = safe_idle_s(t)
    setting = f" ({t.software} {t.setting})" if t.setting else ""
    return (f"Set the client's pool idle timeout below {safe:g} s (the server closed idle "
            f"connections after {fmt_s(t.high_ns)}), or raise the server's keep-alive timeout"
            f"{setting} well above the client's; retry idempotent requests once on a reset.")  # fmt: skip


def _proxy_races(conns, by_server, proxied: ProxyReport) -> list[Finding]:
    """Upstream keep-alive races, told from both legs: which reached the client, which the
    proxy absorbed; the advice is about the proxy's upstream keep-alive, not a client pool."""
    out = []
    for (server, outcome), races in _group_races(proxied).items():
        first = races[0]
        t = by_server.get(server)
        safe = safe_idle_s(t) if t is not None else None
        below = f" below {safe:g} s" if safe is not None else " below the backend's"
        backend = f" ({t.software} {t.setting})" if t is not None and t.setting else ""
        advice = (f"The reusing side is the proxy {first.proxy or ''}: set its upstream keep-alive "
                  f"timeout{below} (nginx: keepalive_timeout inside the upstream block; HAProxy: "
                  f"timeout http-keep-alive), or raise the backend's idle timeout{backend} above "
                  "the proxy's.").replace("proxy :", "proxy:")  # fmt: skip
        streams = tuple(
            sorted({r.stream for r in races} | {r.front_stream for r in races if r.front_stream is not None})
        )
        if outcome == "reached-client":
            how = "; ".join(
                f"upstream stream {r.stream} frame {r.request_frame} -> client got "
                f"{r.front_status or 'no response'} on stream {r.front_stream} frame {r.front_frame}"
                for r in races[:EXAMPLES]
            )
            sev, text = "problem", (f"{plural(len(races), 'request')} from the proxy to {server} hit "
                                    f"the backend's keep-alive close and the client got an error "
                                    f"({how}).")  # fmt: skip
        elif outcome == "absorbed":
            how = "; ".join(
                f"upstream stream {r.stream} retried on stream {r.retry_stream}"
                + (f", +{fmt_s(r.extra_latency_ns)}" if r.extra_latency_ns is not None else "")
                for r in races[:EXAMPLES]
            )
            sev, text = "warning", (f"{plural(len(races), 'request')} from the proxy to {server} hit "
                                    f"the backend's keep-alive close; the proxy retried and the "
                                    f"client got its answer ({how}).")  # fmt: skip
        else:
            continue  # unlinked: told by _stale as a plain race
        kind = "upstream-race" if outcome == "reached-client" else "upstream-race-absorbed"
        out.append(Finding(kind, sev, first.stream, first.close_frame or first.request_frame, text,
                           advice, streams=streams, server=server, count=len(races)))  # fmt: skip
    return out


def _group_races(proxied: ProxyReport) -> dict:
    groups: dict[tuple[str, str], list] = defaultdict(list)
    for r in proxied.races:
        groups[(r.upstream_server, r.outcome)].append(r)
    return groups


# -- error responses -------------------------------------------------------------------------


def _error_statuses(conns, proxied: ProxyReport):
    raced = {r.front_frame: r for r in proxied.races if r.outcome == "reached-client" and r.front_frame}
    groups: dict[tuple[str, int], list] = defaultdict(list)
    for c in conns:
        for e in c.exchanges:
            if e.resp >= 0 and e.store.status(e.resp) >= 400:  # no message object per response
                groups[(c.server, e.store.status(e.resp))].append((c, e))
    out = []
    for (server, status), hits in sorted(groups.items(), key=lambda kv: (kv[0][1], kv[0][0])):
        c, e = hits[0]
        resp = e.response
        sev = "problem" if status in GATEWAY_ERRORS else "warning" if status >= 500 else "info"
        closed = sum(1 for c2, e2 in hits if c2.close.reason == "error-close" and c2.close.exchange == e2.n)
        also = f"; {closed} of them ended their connection" if closed else ""
        races = [raced[e2.response.frame] for _, e2 in hits if e2.response.frame in raced]
        if races:
            also += (f"; {len(races)} of them from an upstream keep-alive race (upstream stream "
                     f"{races[0].stream} frame {races[0].request_frame})")  # fmt: skip
        streams = tuple(dict.fromkeys(c2.stream for c2, _ in hits))
        out.append(Finding(
            "http-error", sev, c.stream, resp.frame or resp.first_frame,
            f"{_server_words(conns, server)} sent {plural(len(hits), 'response')} "
            f"{status} {resp.reason}".rstrip() + f" (first: stream {c.stream} frame "
            f"{resp.frame or resp.first_frame}{also}).",
            _status_advice(status, server_software([c2 for c2 in conns if c2.server == server])),
            streams=streams, server=server, count=len(hits),
        ))  # fmt: skip
    return out


def _status_advice(status: int, sw: Software | None) -> str:
    if status in (502, 504):
        return ("A proxy or gateway got no valid answer from its upstream (refused, reset or "
                "timed out): its error log at these times says which.")  # fmt: skip
    if status == 503:
        return ("The server, or a proxy in front of it, refused the request (overloaded, in "
                "maintenance, or no healthy upstream): its logs at these times say which.")  # fmt: skip
    if status == 408:
        limit = setting_phrase(sw, "request-timeout", "its header/body read timeout")
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
        "itself; the server never gave up",
        "Look at why the client stopped reading (a stuck consumer, a full buffer).",
    ),
}


def _closes(conns, by_server):
    out = []
    groups: dict[tuple, list[Connection]] = defaultdict(list)
    for c in conns:
        r = c.close.reason
        if r == "reset" or (r == "request-timeout" and c.close.by == "client"):
            groups[(_reset_kind(c), c.server, c.close.by)].append(c)
        elif r in _CLOSE_KINDS:
            groups[(r, c.server, c.close.by)].append(c)
    for (kind, server, by), cs in groups.items():
        if (kind, by) in _CLIENT_SIDE:
            sev, what, advice = _CLIENT_SIDE[(kind, by)]
            text = f"{plural(len(cs), 'connection')} to {server}: {what}"
        elif kind in _CLOSE_KINDS:
            sev, what, advice = _CLOSE_KINDS[kind]
            advice = _fill(advice, server_software([c for c in conns if c.server == server]))
            text = f"{plural(len(cs), 'connection')} to {server}: {what}"
        else:
            sev, text, advice = _reset_words(kind, by, server, cs)
        out.append(_group(kind, sev, cs, text, advice, server))
    return out


def _reset_kind(c: Connection) -> str:
    """``abortive-close`` for a client RST right after its last response (browsers do it),
    ``client-gave-up`` for a client closing with a request in flight, else ``reset``."""
    cl = c.close
    if cl.reason == "request-timeout":
        return "client-gave-up"
    if cl.by == "client" and all(not e.failed for e in c.exchanges) and c.requests:
        return "abortive-close"
    return "reset"


def _reset_words(kind: str, by: str, server: str, cs: list[Connection]):
    n = plural(len(cs), "connection")
    if kind == "abortive-close":
        return ("info", f"{n} to {server} closed by the client with an RST after every request "
                "was answered (an abortive close, as browsers and some pools do)", "")  # fmt: skip
    if kind == "client-gave-up":
        return ("info", f"{n} to {server} closed by the client while a request was still in "
                "flight (the client gave up or stopped, e.g. a load generator ending its run)",
                "If the client timed out, compare its timeout with the server's response times.")  # fmt: skip
    return ("warning", f"{n} to {server} reset by the {by}",
            "An RST loses data in flight; check the resetting side's logs (lingering close, "
            "proxy or load-balancer timeouts).")  # fmt: skip


# -- timeouts ------------------------------------------------------------------------------


def _server_timeout(conns, by_server):
    out = []
    for t in by_server.values():
        if t.estimate_ns is None:
            continue
        closing = [c for c in conns if c.server == t.server and server_idle_close(c)]
        first = min(closing, key=lambda c: c.close.frame or 0)
        bracket = ""
        if t.low_ns is not None:
            bracket = f"; a reused request still got its response after {fmt_s(t.low_ns)} idle"
        rst = sum(1 for c in closing if c.close.how == "rst")
        how = f", {rst} of them with an RST" if rst else ""
        who = f"{t.server} ({t.software})" if t.software else t.server
        setting = f" ({t.software} {t.setting})" if t.setting else ""
        out.append(Finding(
            "server-idle-timeout", "info", first.stream, first.close.frame,
            f"Server {who} closes idle keep-alive connections after ~{_secs(t.estimate_ns)}"
            f"{setting} ({plural(t.samples, 'connection')}{how}, shortest idle before a close "
            f"{fmt_s(t.high_ns)}{bracket}).",
            f"Keep client pool idle timeouts below {safe_idle_s(t):g} s so a pooled connection is "
            "never reused just as the server closes it.",
            streams=tuple(c.stream for c in closing), server=t.server, count=len(closing),
        ))  # fmt: skip
        out.extend(_advertised(t, first))
    return out


def _advertised(t: TimeoutEstimate, first: Connection) -> list[Finding]:
    """Advertised vs real, in the right direction: closing later than advertised is safe for
    clients that honour the header; closing earlier is the dangerous case."""
    adv = t.advertised_s
    if adv is None or t.high_ns is None:
        return []
    real = t.high_ns / 1e9
    if real < adv - 0.05:
        return [Finding(
            "timeout-mismatch", "warning", first.stream, first.close.frame,
            f"Server {t.server} advertises 'Keep-Alive: timeout={adv:g}' but closed an idle "
            f"connection after {fmt_s(t.high_ns)}: earlier than it promises.",
            "Clients that honour the header will reuse connections the server is closing: make "
            "the advertised value no larger than the real timeout.",
            streams=(first.stream,), server=t.server,
        )]  # fmt: skip
    if real > adv + 0.5:
        node = (
            " (Node.js closes 1 s after its advertised keepAliveTimeout on purpose)"
            if t.closes_late_s
            else ""
        )
        return [Finding(
            "timeout-advertised", "info", first.stream, first.close.frame,
            f"Server {t.server} advertises 'Keep-Alive: timeout={adv:g}' and closes after "
            f"{fmt_s(t.high_ns)}: later than advertised, safe for clients that honour the header"
            f"{node}.",
            streams=(first.stream,), server=t.server,
        )]  # fmt: skip
    return []


def _client_timeout(conns, by_server):
    idle = [c for c in conns if c.close.reason == "idle-timeout" and c.close.by == "client"]
    out = []
    for (host, server), cs in _by_pair(idle).items():
        longest = max(c.close.idle_before_ns for c in cs)
        sw = client_software([c for c in conns if _host(c.client) == host and c.server == server])
        name = f"{host} ({sw.name})" if sw else host
        t = by_server.get(server)
        severity, advice = "info", "Closing idle connections below the server's timeout is healthy."
        if t is not None and t.high_ns is not None:
            if longest >= t.high_ns:
                severity = "warning"
                advice = (f"The client kept a connection idle {fmt_s(longest)}, as long as server "
                          f"{server} waits ({fmt_s(t.high_ns)}): lower its pool idle timeout "
                          f"below {safe_idle_s(t):g} s.")  # fmt: skip
            else:
                advice = (f"Below server {server}'s idle timeout ({fmt_s(t.high_ns)}): healthy, "
                          "the client retires connections before the server does.")  # fmt: skip
        lazy = ""
        if sw is not None and sw.name == "httpx":
            lazy = (" httpx expires idle connections only when the next request is made, so its "
                    "setting may be lower.")  # fmt: skip
        out.append(_group(
            "client-idle-timeout", severity, cs,
            f"Client {name} closed {plural(len(cs), 'idle connection')} to {server} itself after "
            f"at most {fmt_s(longest)} idle: its pool idle timeout is at most that.{lazy}",
            advice, server,
        ))  # fmt: skip
    return out


def _by_pair(conns):
    out = defaultdict(list)
    for c in conns:
        out[(_host(c.client), c.server)].append(c)
    return out


# -- headers that asked for the close --------------------------------------------------------


def _request_limit(conns, by_server):
    out = []
    for server, hit in _by_server(c for c in conns if c.close.reason == "request-limit").items():
        n, k = Counter(c.requests for c in hit).most_common(1)[0]
        sw = server_software([c for c in conns if c.server == server])
        if sw is not None and sw.limit_setting:
            m = n - 1 if sw.name == "Apache httpd" else n
            setting = f" ({sw.name} {sw.limit_setting} {m})"
        else:
            setting = ""
        out.append(_group(
            "request-limit", "info", hit,
            f"Server {server} closed {plural(len(hit), 'connection')} after a fixed number of "
            f"requests (most often {n}, {k}x): a per-connection request limit{setting}",
            "Expected behaviour; raise the limit if the new handshakes cost too much, and make "
            "sure clients retry only idempotent requests.", server,
        ))  # fmt: skip
    return out


def _connection_close(conns, by_server):
    out = []
    for side in ("client", "server"):
        hit = [c for c in conns if c.close.reason == "connection-close" and c.close.asked_by == side]
        for server, cs in _by_server(hit).items():
            single = sum(1 for c in cs if c.requests <= 1)
            if side == "client":
                advice = ("If this client should reuse connections, drop 'Connection: close' from "
                          "its requests (health checkers send it on purpose).")  # fmt: skip
            else:
                sw = server_software([c for c in conns if c.server == server])
                off = setting_phrase(sw, "keep-alive-off", "its keep-alive settings")
                advice = (f"The server answered with 'Connection: close': keep-alive is off or "
                          f"limited there ({off}).")  # fmt: skip
            out.append(_group(
                "connection-close", "info", cs,
                f"{plural(len(cs), 'connection')} to {server} ended because the {side} sent "
                f"'Connection: close' ({single} after a single request)", advice, server,
            ))  # fmt: skip
    return out


def _http10(conns, by_server):
    out = []
    for server, hit in _by_server(c for c in conns if c.close.reason == "http10").items():
        out.append(_group(
            "http10", "info", hit,
            f"{plural(len(hit), 'connection')} to {server} used HTTP/1.0 without keep-alive: one "
            "request per connection", "Send HTTP/1.1 (ab: -k) to reuse connections.", server,
        ))  # fmt: skip
    return out


# -- reuse ---------------------------------------------------------------------------------


def _reuse(conns, by_server):
    reused = [(e, c) for c in conns for e in c.exchanges if e.reused and e.resp >= 0]
    if not reused:
        return []
    e, c = max(reused, key=lambda ec: ec[0].idle_before_ns or 0)
    piped = sum(1 for e2, _ in reused if e2.pipelined)
    also = f"; {plural(piped, 'was', 'were')} pipelined" if piped else ""
    streams = tuple(dict.fromkeys(c2.stream for _, c2 in reused))
    return [Finding(
        "reuse", "info", c.stream, e.request.first_frame,
        f"{plural(len(reused), 'request')} reused an open connection (no new handshake) and got "
        f"a response{also}; longest idle before a reuse {fmt_s(e.idle_before_ns)} (stream "
        f"{c.stream}, request {e.n}, frame {e.request.first_frame}).",
        streams=streams, count=len(reused),
    )]  # fmt: skip


def _no_reuse(conns, by_server):
    """A client that opened a new connection while an idle one to the same server was open.

    Only that is evidence: single-request connections ended by the server's idle timeout, or
    that carried the last request of a client run, say nothing about the client's pool.
    """
    out = []
    for (host, server), cs in _by_pair(c for c in conns if c.requests).items():
        if len(cs) < 2:
            continue
        hits = _opened_beside_idle(sorted(cs, key=lambda c: c.start_ns))
        if not hits:
            continue
        c, p = hits[0]
        sw = client_software(cs)
        who = f"{host} ({sw.name})" if sw else host
        # One miss may be another process or component on the host; a habit is a finding.
        sev = "warning" if len(hits) >= 3 or 2 * len(hits) >= len(cs) else "info"
        out.append(Finding(
            "no-reuse", sev, c.stream, c.first_frame,
            f"Client {who} opened {plural(len(hits), 'new connection')} to {server} while an "
            f"idle one to it was open (first: stream {c.stream} at frame {c.first_frame}, while "
            f"stream {p.stream} had been idle since its last response): those requests did not "
            "reuse an idle connection (no pool, or separate pools or processes).",
            "Use one connection pool (requests.Session, httpx.Client, a shared aiohttp "
            "ClientSession) for all requests to a server.",
            streams=tuple(h.stream for h, _ in hits), server=server, count=len(hits),
        ))  # fmt: skip
    return out


def _opened_beside_idle(cs: list[Connection]) -> list[tuple[Connection, Connection]]:
    """(new connection, the idle one beside it) for each connection of ``cs`` (sorted by start)
    opened while an earlier one was idle and reusable: one sweep over the idle stretches."""
    stretches = sorted((s for s in map(_idle_stretch, cs) if s is not None), key=lambda s: s[0])
    # Idle for a moment only is no evidence: a browser queues its next connection while the
    # last response is still arriving. Count a stretch from MIN_POOL_IDLE_NS into it.
    stretches = [(a + MIN_POOL_IDLE_NS, b, p) for a, b, p in stretches if b - a > MIN_POOL_IDLE_NS]
    hits, open_heap, i = [], [], 0
    for c in cs:
        t = c.start_ns
        while i < len(stretches) and stretches[i][0] < t:
            heapq.heappush(open_heap, (stretches[i][1], i, stretches[i][2]))
            i += 1
        while open_heap and open_heap[0][0] <= t:
            heapq.heappop(open_heap)
        if open_heap:
            hits.append((c, open_heap[0][2]))
    return hits


_REUSABLE = frozenset(("idle-timeout", "closed", "stale-reuse", "open"))
"""Close reasons of connections that sat answered and reusable before their close (the others
announced their close, had something in flight, or were never HTTP)."""


def _idle_stretch(p: Connection):
    """(from, until, p): when ``p`` sat answered, reusable and idle before its close, or None.

    Read from the close verdict (its reason and the silence before it), not the exchanges:
    this runs for every connection of a load test."""
    cl = p.close
    if cl.reason not in _REUSABLE or not p.requests:
        return None
    if cl.ts_ns is None:  # still open at the end: idle since its last answered exchange
        last = p.exchanges[-1]
        if last.failed or last.resp < 0 or last.store.end_ns(last.resp) is None:
            return None
        return (last.store.end_ns(last.resp), 1 << 62, p)
    if cl.idle_before_ns is None or cl.idle_before_ns <= 0:
        return None
    return (cl.ts_ns - cl.idle_before_ns, cl.ts_ns, p)


# -- the rest ------------------------------------------------------------------------------


def _unanswered(conns, by_server):
    skip = ("stale-reuse", "request-timeout", "incomplete-request", "error-close", "upgrade",
            "upstream-failure")  # fmt: skip
    hit = [
        c for c in conns
        if c.close.reason not in skip and not (c.truncated_frames or c.lost_segments)
        and any(e.failed for e in c.exchanges)
    ]  # fmt: skip
    out = []
    for (server, open_), cs in _by_key(hit, lambda c: (c.server, c.close.by is None)).items():
        missing = sum(1 for c in cs for e in c.exchanges if e.failed)
        c = cs[0]
        e = next(e for e in c.exchanges if e.failed)
        why = (": the capture ended while the connection was open (the answer may have come later)"
               if open_ else "")  # fmt: skip
        out.append(Finding(
            "unanswered", "info" if open_ else "warning", c.stream, e.request.first_frame,
            f"{plural(missing, 'request')} to {server} without a response in the capture (first: "
            f"stream {c.stream}, request {e.n}, frame {e.request.first_frame}){why}.",
            streams=tuple(c2.stream for c2 in cs), server=server, count=missing,
        ))  # fmt: skip
    return out


def _by_key(conns, key) -> dict:
    out: dict = defaultdict(list)
    for c in conns:
        out[key(c)].append(c)
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
