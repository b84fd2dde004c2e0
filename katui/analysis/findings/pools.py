"""Findings about pools and timeouts: server and client idle timeouts, request limits,
headers that closed, reuse and the lack of it."""

from __future__ import annotations

import heapq
from collections import Counter, defaultdict
from operator import itemgetter

from katui.analysis.findings.common import (
    MIN_POOL_IDLE_NS,
    by_pair,
    by_server_of,
    by_start,
    grouped_finding,
    host_of,
    proxy_fix,
    safe_idle_s,
    secs,
)
from katui.analysis.h2close import never_processed
from katui.analysis.software import (
    BROWSER,
    client_pool_setting,
    client_software,
    pool_object,
    server_software,
    setting_phrase,
)
from katui.analysis.timeout import server_idle_close, server_name
from katui.http.parser import switches_protocol
from katui.model import Connection, Finding, Streams, TimeoutEstimate
from katui.model.connection import NO_TS
from katui.model.exchange import PIPELINED, REUSED, columns
from katui.units import fmt_s, plural

# -- timeouts ------------------------------------------------------------------------------


def _server_timeout(conns, by_server, upstream_of: dict[int, str] | None = None):
    """Per server, its idle timeout; ``upstream_of`` (upstream stream -> its proxy, from the
    proxy links) turns the advice to the proxy when the server's idle connections are one
    proxy's upstream leg."""
    out = []
    for t in by_server.values():
        if t.estimate_ns is None:
            continue
        closing = [c for c in conns if server_name(c) == t.server and server_idle_close(c)]
        first = min(closing, key=lambda c: c.close.frame or 0)
        bracket = ""
        if t.low_ns is not None:
            bracket = f"; a reused request still got its response after {fmt_s(t.low_ns)} idle"
        rst = sum(1 for c in closing if c.close.how == "rst")
        how = f", {rst} of them with an RST" if rst else ""
        who = f"{t.server} ({t.software})" if t.software else t.server
        setting = f" ({t.software} {t.setting})" if t.setting else ""
        proxies = {(upstream_of or {}).get(c.stream, "") for c in closing}
        if "" in proxies or len(proxies) != 1:
            named = client_pool_setting(closing)
            advice = (f"Keep client pool idle timeouts{named} below {safe_idle_s(t):g} s so a "
                      "pooled connection is never reused just as the server closes it.")  # fmt: skip
        else:
            (proxy,) = proxies
            advice = (f"Its clients are the proxy {proxy}'s upstream connections, which must "
                      "never be reused just as the backend closes them: "
                      f"{proxy_fix(conns, proxy, upstream_of, t)}.")  # fmt: skip
        out.append(Finding(
            "server-idle-timeout", "info", first.stream, first.close.frame,
            f"Server {who} closes idle keep-alive connections after ~{secs(t.estimate_ns)}"
            f"{setting} ({plural(t.samples, 'connection')}{how}, shortest idle before a close "
            f"{fmt_s(t.high_ns)}{bracket}).",
            advice,
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


def _client_timeout(conns, by_server, upstream_of: dict[int, str] | None = None):
    """Clients that closed idle connections themselves; a proxy's upstream leg is the proxy's
    doing (it passes its client's User-Agent on, so that names the wrong program)."""
    upstream_of = upstream_of or {}
    idle = [c for c in conns if c.close.reason == "idle-timeout" and c.close.closer == "client"]
    out = []
    for (host, server), cs in by_pair(idle).items():
        longest = max(c.close.idle_before_ns for c in cs)
        proxy = upstream_of.get(cs[0].stream)
        mine = [c for c in conns if host_of(c.client) == host and c.server == server]
        sw = None if proxy else client_software(mine)
        name = f"{host} ({sw.name})" if sw else host
        t = by_server.get(server_name(cs[0]))
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
        why = "its pool idle timeout is at most that."
        if proxy:
            why = (f"it is the proxy {proxy}'s upstream leg: its upstream keep-alive timeout is "
                   "at most that.")  # fmt: skip
        if sw is not None and sw.name == "httpx":
            why += (" httpx expires idle connections only when the next request is made, so its "
                    "setting may be lower.")  # fmt: skip
        elif sw is not None and sw.no_idle_timeout:
            # requests, curl, ab keep idle connections until the program lets go of them
            why = (f"{sw.name} has no pool idle timeout, so the program closed it (its session "
                   "closed or the process ended), not a timer.")  # fmt: skip
        out.append(grouped_finding(
            "client-idle-timeout", severity, cs,
            f"Client {name} closed {plural(len(cs), 'idle connection')} to {server} itself after "
            f"at most {fmt_s(longest)} idle: {why}",
            advice, server,
        ))  # fmt: skip
    return out


# -- headers that asked for the close --------------------------------------------------------


def _request_limit(conns, by_server):
    out = []
    for server, hit in by_server_of(c for c in conns if c.close.reason == "request-limit").items():
        # Requests the limit left unprocessed (HTTP/2 streams above the GOAWAY) do not count.
        n, k = Counter(c.requests - _never_processed(c) for c in hit).most_common(1)[0]
        sw = server_software([c for c in conns if c.server == server])
        m = n - 1 if sw is not None and sw.name == "Apache httpd" else n
        if sw is not None and sw.limit_setting and m > 0:  # (Apache's 0 means no limit at all)
            setting = f" ({sw.name} {sw.limit_setting} {m})"
        else:
            setting = ""
        out.append(grouped_finding(
            "request-limit", "info", hit,
            f"Server {server} closed {plural(len(hit), 'connection')} after a fixed number of "
            f"requests (most often {n}, {k}x): a per-connection request limit{setting}",
            "Expected behaviour; raise the limit if the new handshakes cost too much, and make "
            "sure clients retry only idempotent requests.", server,
        ))  # fmt: skip
    return out


def _never_processed(c: Connection) -> int:
    """Requests of ``c`` its server never processed (HTTP/2: refused, or above its GOAWAY)."""
    if c.http2 is None:
        return 0
    return sum(1 for e in c.exchanges if never_processed(c, e))


def _connection_close(conns, by_server):
    out = []
    asked = _asked_closes(conns)
    # Over HTTP/2 the word that asked for the close is a GOAWAY, not a header.
    for side, h2 in (("client", False), ("server", False), ("client", True), ("server", True)):
        hit = asked.get((side, h2), [])
        said = "GOAWAY" if h2 else "'Connection: close'"
        for server, cs in by_server_of(hit).items():
            # (HTTP/2 requests the server never processed do not count as carried)
            single = sum(1 for c in cs if c.requests - _never_processed(c) <= 1)
            if side == "client":
                advice = ("If this client should reuse connections, keep them open (GOAWAY is sent "
                          "by a client that is done: a tool exiting, a session closed)." if h2 else
                          "If this client should reuse connections, drop 'Connection: close' from "
                          "its requests (health checkers send it on purpose).")  # fmt: skip
            else:
                sw = server_software([c for c in conns if c.server == server])
                off = setting_phrase(sw, "keep-alive-off", "its keep-alive settings")
                down = ", or it was shutting down" if h2 else ""
                advice = (f"The server answered with {said}: keep-alive is off or limited "
                          f"there{down} ({off}).")  # fmt: skip
            out.append(grouped_finding(
                "connection-close", "info", cs,
                f"{plural(len(cs), 'connection')} to {server} ended because the {side} sent "
                f"{said} ({single} after a single request)", advice, server,
            ))  # fmt: skip
    return out


def _asked_closes(conns) -> dict:
    """(side that asked, HTTP/2) -> the connections closed for a ``Connection: close`` (or a
    GOAWAY) it sent, in capture order: one pass over a load test's connections."""
    asked = defaultdict(list)
    for c in conns:
        cl = c.close
        if cl.reason == "connection-close":
            asked[(cl.asked_by, c.http2 is not None)].append(c)
    return asked


def _http10(conns, by_server):
    out = []
    for server, hit in by_server_of(c for c in conns if c.close.reason == "http10").items():
        out.append(grouped_finding(
            "http10", "info", hit,
            f"{plural(len(hit), 'connection')} to {server} used HTTP/1.0 without keep-alive: one "
            "request per connection", "Send HTTP/1.1 (ab: -k) to reuse connections.", server,
        ))  # fmt: skip
    return out


# -- reuse ---------------------------------------------------------------------------------


def _reuse(conns, by_server):
    # One pass, no tuple per exchange: a load test reuses hundreds of thousands of times.
    count = piped = conc = 0
    longest, e_at, c = -1, -1, None
    first, first_c = None, None
    streams = Streams()  # (4 bytes a stream: the reused connections are most of a load test)
    for c2 in conns:
        had = count
        h2 = c2.http2 is not None
        run = columns(c2.exchanges)  # read as columns: objects only for the two named below
        for k in range(len(run)):
            bits = run.flags_at(k)
            if bits & REUSED and run.resp_at(k) >= 0:
                count += 1
                if first is None:
                    first, first_c = c2.exchanges[k], c2
                if h2 and getattr(c2.exchanges[k], "concurrent", False):
                    conc += 1  # multiplexed beside an open stream: it never met an idle connection
                    continue
                idle = run.idle_at(k)
                if idle < 0:
                    idle = 0  # idle_before_ns or 0
                if idle > longest:  # the first of the longest, as max() picks
                    longest, e_at, c = idle, k, c2
                if bits & PIPELINED:
                    piped += 1
        if count > had:
            streams.append(c2.stream)
    if not count:
        return []
    e = None if e_at < 0 else c.exchanges[e_at]
    also = f"; {plural(piped, 'was', 'were')} pipelined" if piped else ""
    if conc:
        what = "a concurrent HTTP/2 stream" if conc == 1 else "concurrent HTTP/2 streams"
        which = ("it" if count == 1 else "all") if conc == count else str(conc)
        also += (f"; {which} {'was' if conc == 1 else 'were'} {what}, sent while another stream "
                 "of the connection was open")  # fmt: skip
    if e is None:  # every reuse was a concurrent stream: no idle connection was reused
        return [Finding(
            "reuse", "info", first_c.stream, first.request.first_frame,
            f"{plural(count, 'request')} reused an open connection (no new handshake) and got "
            f"a response{also}: none was sent on an idle connection.",
            streams=streams, count=count,
        )]  # fmt: skip
    # Longer than an idle the server closed after: the timeout's "above ..." (the longest reuse
    # below that bound) is shorter, and the two must not read as a contradiction.
    t = by_server.get(server_name(c))
    late = ""
    if t is not None and t.high_ns is not None and longest > t.high_ns:
        late = (f"; longer than the shortest idle after which {c.server} closed a connection "
                f"({fmt_s(t.high_ns)}): a request just past the keep-alive deadline may still be "
                "served until the server's timer closes the connection; do not count on it")  # fmt: skip
    return [Finding(
        "reuse", "info", c.stream, e.request.first_frame,
        f"{plural(count, 'request')} reused an open connection (no new handshake) and got "
        f"a response{also}; longest idle before a reuse {fmt_s(e.idle_before_ns)} (stream "
        f"{c.stream}, request {e.n}, frame {e.request.first_frame}){late}.",
        streams=streams, count=count,
    )]  # fmt: skip


def _no_reuse(conns, by_server, upstream_of: dict[int, str] | None = None):
    """A client that opened a new connection while an idle one to the same server and name was
    open. ``upstream_of``: a proxy's upstream connections (their client is the proxy, their
    User-Agent its own client's).

    Only that is evidence: single-request connections ended by the server's idle timeout, or
    that carried the last request of a client run, say nothing about the client's pool. Pools
    key connections by the name asked for too (requests, httpx, Go, browsers: scheme, host,
    port), so two virtual hosts on one address are two pools, not a missed reuse.
    """
    out = []
    for (host, server, name), cs in _by_pool(conns).items():
        if len(cs) < 2:
            continue
        hits = _opened_beside_idle(cs)
        if not hits:
            continue
        c, p = hits[0]
        proxy = (upstream_of or {}).get(c.stream)
        sw = client_software(cs) if proxy is None else None
        who = f"{host} ({sw.name})" if sw else host if proxy is None else f"{host} (the proxy {proxy})"
        to = f"{server} ({name})" if name and name != host_of(server).strip("[]") else server
        browser = sw is not None and sw.name == BROWSER
        # One miss may be another process or component on the host; a habit is a finding.
        habit = len(hits) >= 3 or 2 * len(hits) >= len(cs)
        sev = "warning" if habit and not browser else "info"
        if browser:
            why = ("a browser opens connections ahead of need and keeps separate pools per "
                   "top-level site and for requests with and without credentials")  # fmt: skip
            advice = ("Nothing to change in the browser; if the extra connections matter, serve the "
                      "page's requests from fewer origins.")  # fmt: skip
        elif proxy is not None:
            why = "the proxy's upstream connection reuse"
            advice = (f"The opening side is the proxy {proxy}, not the program its User-Agent "
                      "names: look at its upstream reuse (HAProxy: http-reuse, whose 'safe' mode "
                      "never reuses for a client connection's first request; nginx: keepalive in "
                      "the upstream block, with proxy_http_version 1.1 and an empty Connection "
                      "header).")  # fmt: skip
        else:
            why = "no pool, or separate pools or processes"
            advice = f"Use {pool_object(sw)} for all requests to a server."
        out.append(Finding(
            "no-reuse", sev, c.stream, c.first_frame,
            f"Client {who} opened {plural(len(hits), 'new connection')} to {to} while an "
            f"idle one to it was open (first: stream {c.stream} at frame {c.first_frame}, while "
            f"stream {p.stream} had been idle since its last response): those requests did not "
            f"reuse an idle connection ({why}).",
            advice, streams=tuple(h.stream for h, _ in hits), server=server, count=len(hits),
        ))  # fmt: skip
    return out


def _by_pool(conns) -> dict:
    """Connections that carried a request by :func:`_pool_key`, each list by start. The names
    are read only where the address alone finds a new connection beside an idle one (any hit
    among one name's connections is one among the address's): a load test's tens of thousands
    of connections are not looked into."""
    out = {}
    for cs in by_pair(c for c in conns if c.requests).values():
        if len(cs) < 2:
            continue
        cs.sort(key=by_start)
        if _opened_beside_idle(cs):
            for c in cs:  # in start order: each name's list is sorted too
                out.setdefault(_pool_key(c), []).append(c)
    return out


def _pool_key(c: Connection) -> tuple[str, str, str]:
    """(client host, server endpoint, name): what a client's pool tells connections apart by.
    The name is the one asked for over TLS (SNI), else the first request's ``Host`` (lower
    case, a port dropped: the endpoint has it); '' when neither was seen."""
    tls = c.tls
    name = tls.sni if tls is not None and tls.sni else ""
    if not name:
        run = columns(c.exchanges)  # read as columns: no object per exchange
        for k in range(len(run)):
            if run.req_at(k) >= 0:
                name = run.store.text(run.req_at(k)).host
                break
    name = name.lower()
    if name.startswith("["):
        name = name[1:].split("]", 1)[0]
    elif name.count(":") == 1:
        name = name.split(":", 1)[0]
    return host_of(c.client), c.server, name


def _opened_beside_idle(cs: list[Connection]) -> list[tuple[Connection, Connection]]:
    """(new connection, the idle one beside it) for each connection of ``cs`` (sorted by start)
    opened while an earlier one was idle and reusable: one sweep over the idle stretches."""
    stretches = _idle_stretches(cs)
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


_REUSABLE = frozenset(("idle-timeout", "client-done", "unannounced-close", "stale-reuse", "open"))
"""Close reasons of connections that sat answered and reusable before their close (the others
announced their close, had something in flight, or were never HTTP)."""


def _idle_stretches(cs: list[Connection]) -> list:
    """The idle stretches (:func:`_idle_stretch`) of ``cs`` longer than MIN_POOL_IDLE_NS, each
    from MIN_POOL_IDLE_NS into it, by start (in ``cs`` order among equal starts). Idle for a
    moment only is no evidence: a browser queues its next connection while the last response
    is still arriving."""
    out = []
    for c in cs:
        s = _idle_stretch(c)
        if s is not None and s[1] - s[0] > MIN_POOL_IDLE_NS:
            out.append((s[0] + MIN_POOL_IDLE_NS, s[1], c))
    out.sort(key=itemgetter(0))
    return out


def _idle_stretch(p: Connection):
    """(from, until, p): when ``p`` sat answered, reusable and idle before its close, or None.

    Read from the close verdict (its reason and the silence before it), not the exchanges:
    this runs for every connection of a load test. The close's time is read from its C field
    (``Close.ts_ns`` is None for NO_TS)."""
    cl = p.close
    if cl.reason not in _REUSABLE or not p.requests:
        return None
    ts = cl._ts
    if ts == NO_TS:  # still open at the end: idle since its last answered exchange
        last = p.exchanges[-1]
        if last.failed or last.resp < 0 or last.store.end_ns(last.resp) is None:
            return None
        method = last.request.method if last.req >= 0 else None
        if switches_protocol(method, last.response.status):
            return None  # upgraded (a WebSocket) or a tunnel: no HTTP connection to reuse
        return (last.store.end_ns(last.resp), 1 << 62, p)
    idle = cl.idle_before_ns
    if idle is None or idle <= 0:
        return None
    return (ts - idle, ts, p)
