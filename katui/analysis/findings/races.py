"""The keep-alive race: stale reuse seen from the client, and from both legs of a proxy."""

from __future__ import annotations

import bisect
from collections import Counter, defaultdict
from dataclasses import replace

from katui.analysis.findings.common import (
    EXAMPLES,
    RETRY_WINDOW_NS,
    by_pair,
    by_server_of,
    by_start,
    grouped_finding,
    host_of,
    proxy_fix,
    safe_idle_s,
    server_words,
)
from katui.analysis.h2close import first_answer, never_processed, refused
from katui.analysis.proxy import ProxyReport
from katui.analysis.proxy_match import endpoint_host
from katui.analysis.software import (
    RACE_ERRORS,
    client_pool_setting,
    one_client_software,
    server_software,
    setting_phrase,
)
from katui.analysis.timeout import server_name
from katui.analysis.verdicts import crossed_408
from katui.model import Connection, Finding, TimeoutEstimate
from katui.units import fmt_s, plural

# -- the keep-alive race -------------------------------------------------------------------


def _stale(conns, by_server, upstream_of: dict[int, str] | None = None):
    """Requests lost to (or retried after) the keep-alive race, by server. ``upstream_of``:
    streams that are a proxy's upstream leg; their User-Agent is the proxy's client's, so no
    client program is named for them."""
    upstream_of = upstream_of or {}
    stale = [c for c in conns if c.close.reason == "stale-reuse"]
    # Requests that crossed a server's 408 (verdicts._crossed_timeout): the request timeout of
    # a silent connection was the clock, not the keep-alive timeout; their own finding.
    crossed = [c for c in stale if crossed_408(c.close)]
    out = _crossed_408(conns, crossed) if crossed else []
    stale = [c for c in stale if not crossed_408(c.close)]
    if not stale:
        return out
    later = _by_client_server(conns)
    for server, group in by_server_of(stale).items():
        retried, lost, sealed = [], [], []
        for c in group:
            if c.tls is not None and not c.tls.decrypted:
                sealed.append(c)  # encrypted: a retry cannot be matched by method and URI
                continue
            retry = _retry_of(c, later)
            (retried if retry else lost).append((c, retry))
        t = by_server.get(server_name(group[0]))
        proxied = any(c.stream in upstream_of for c in group)
        advice = _race_advice(t, group, name_client=not proxied)
        who = server_words(conns, server)
        if lost:
            cs = [c for c, _ in lost]
            fronts = _sealed_fronts(conns, cs)
            words = _error_words(cs, name_client=not (proxied or fronts))
            # HTTP/2: a request sent after the server's GOAWAY may get no reset at all (nginx
            # keeps reading in lingering close): say what the capture shows.
            when = "sent after" if all(_sent_after_goaway(c) for c in cs) else "above the last stream of"
            if any(c.close.rst_frames for c in cs):
                got = "got a reset"
            elif all(_stale_exchange(c) is not None and refused(_stale_exchange(c)) for c in cs):
                got = f"was refused with an RST_STREAM ({when} the server's HTTP/2 GOAWAY)"
            else:
                got = f"got no response and no reset ({when} the server's HTTP/2 GOAWAY)"
            if not any(_sent_after_goaway(c) for c in cs):  # they crossed a GOAWAY: not idle
                advice = ("Retry requests above a GOAWAY's last stream on a new connection (RFC "
                          "9113 6.8: never processed, so safe to retry even when not idempotent); "
                          "the server closed for a request limit or a shutdown, not idle.")  # fmt: skip
            out.append(_with_fronts(grouped_finding(
                "stale-reuse", "problem", cs,
                f"{plural(len(cs), 'request')} to {who} hit the keep-alive race and {got}, "
                f"with no retry in the capture: the client saw an error ({words})",
                advice, server, _rst_frame,
            ), cs[0], fronts, "whether its own client got a 502"))  # fmt: skip
        if sealed:
            out.append(grouped_finding(
                "stale-reuse", "warning", sealed,
                f"{plural(len(sealed), 'request')} to {who} hit the keep-alive race over TLS (sent "
                "on a connection the server had closed, answered by a reset): whether the client "
                "retried it or reported an error cannot be told from encrypted records (a key log "
                "would tell)",
                advice, server, _rst_frame,
            ))  # fmt: skip
        if retried:
            cs = [c for c, _ in retried]
            fronts = _sealed_fronts(conns, cs)
            how = "; ".join(
                f"stream {c.stream} retried on stream {r.stream} (frame {r.exchanges[0].request.frame}"
                f", {r.exchanges[0].response.status if r.exchanges[0].response else 'no response'})"
                for c, r in retried[:EXAMPLES]
            )
            out.append(_with_fronts(Finding(
                "stale-reuse-retried", "warning", cs[0].stream, _rst_frame(cs[0]),
                f"{plural(len(cs), 'request')} to {who} hit the keep-alive race (a reused "
                f"connection the server was closing) and the client retried on a new connection "
                f"({how}): the race cost a retry and a handshake, not an error.",
                _race_advice(t, cs, retried=True, name_client=not proxied),
                streams=tuple(c.stream for c in cs), server=server,
                count=len(cs),
            ), cs[0], fronts, "how long its own client waited"))  # fmt: skip
    return out


def _crossed_408(conns, crossed: list[Connection]) -> list[Finding]:
    """Requests that crossed the server's 408 Request Timeout on a connection that had carried
    no request for the server's request timeout (pre-connected, or idle after its last
    exchange), by server: the client got the 408 or a reset for a request the server never
    read (HAProxy logs ``<BADREQ>``). Browsers show HAProxy's 408 page for it."""
    out = []
    for server, group in by_server_of(crossed).items():
        waits = sorted(c.close.wait_ns for c in group if c.close.wait_ns is not None)
        span = "" if not waits else fmt_s(waits[0]) if fmt_s(waits[0]) == fmt_s(waits[-1]) else \
            f"{fmt_s(waits[0])} to {fmt_s(waits[-1])}"  # fmt: skip
        sw = server_software([c for c in conns if c.server == server])
        setting = setting_phrase(sw, "request-timeout", "its request header timeout")
        first = all(c.close.exchange == 1 for c in group)
        quiet = f" for {span}" if span else ""
        text = (f"{plural(len(group), 'request')} to {server_words(conns, server)} crossed the "
                f"server's 408 Request Timeout: it gave up on connections that had carried no "
                f"request{quiet} ({setting}) as the client sent one, so the client got the 408 or "
                f"a reset instead of an answer"
                + (" (each its connection's first request: connections opened before they were "
                   "needed, pre-connected)" if first else ""))  # fmt: skip
        advice = (f"Send a connection's {'first' if first else 'next'} request well within the "
                  f"server's request timeout ({setting}{', ' + span + ' here' if span else ''}), or "
                  f"open connections only when a request is ready; or raise that timeout")  # fmt: skip
        if sw is not None and sw.name == "HAProxy":
            advice += ("; HAProxy's 'option http-ignore-probes' closes connections that never sent "
                       "a byte without the 408, which browsers would show")  # fmt: skip
        advice += "; retry idempotent requests once on a 408 or a reset."
        out.append(grouped_finding("stale-reuse", "problem", group, text, advice, server, _rst_frame))
    return out


def _refused_at_limit(conns, by_server):
    """HTTP/2 requests a request limit left unprocessed: sent at once with others, above the
    last stream of the GOAWAY the server sent with its last answer (verdict ``request-limit``).
    Not a keep-alive race (nothing idled), but each one is an error unless the client sent it
    again on a new connection."""
    # (a GOAWAY with the first answer is connection-close: h2close.first_answer)
    hit = [c for c in conns if c.http2 is not None and (c.close.reason == "request-limit" or (
        c.close.reason == "connection-close" and first_answer(c.http2.server_goaway,
                                                              c.exchanges)))]  # fmt: skip
    lost = [(c, e) for c in hit for e in c.exchanges if e.req >= 0 and never_processed(c, e)]
    if not lost:
        return []
    later = _by_client_server(conns)
    out = []
    for server in by_server_of([c for c, _ in lost]):
        pairs = [(c, e) for c, e in lost if c.server == server]
        cs = list(dict.fromkeys(c for c, _ in pairs))
        again = sum(1 for c, e in pairs if _sent_again(c, e, later))
        sw = server_software([c for c in conns if c.server == server])
        limit = f"{sw.name} {sw.limit_setting}" if sw is not None and sw.limit_setting else "its limit"
        c, e = pairs[0]
        # Sent while another stream was open, or alone after the last answer (then the GOAWAY
        # came after it, before any idle: still no keep-alive race, but not 'at once').
        sent = "went out with others at once" if all(x.concurrent for _, x in pairs) else \
            "went out before the server's GOAWAY"  # fmt: skip
        # A GOAWAY with each connection's first answer proves no limit (h2close.first_answer)
        first_only = all(x.close.reason == "connection-close" for x in cs)
        let = "the server let through" if first_only else "the server's request limit let through"
        text = (f"{plural(len(pairs), 'request')} to {server_words(conns, server)} {sent}, "
                f"above the last stream {let} (GOAWAY last stream {c.http2.server_goaway[3]}), "
                f"and {'were' if len(pairs) > 1 else 'was'} never processed")  # fmt: skip
        if again == len(pairs):
            sev, text = "info", text + ": the client sent them again on a new connection"
        else:
            sev = "problem"
            which = "" if again == 0 else f" ({len(pairs) - again} of them)"
            text += (f", not sent again in the capture{which}: the client saw an error "
                     f"({_error_words(cs)})")  # fmt: skip
        fix = ("" if first_only else f", or keep the streams a client opens at once on one "
               f"connection below the server's request limit ({limit})")  # fmt: skip
        out.append(Finding(
            "refused-at-limit", sev, c.stream, e.request.first_frame, text,
            f"Retry requests above a GOAWAY's last stream on a new connection (RFC 9113 6.8: "
            f"never processed, so safe to retry even when not idempotent){fix}.",
            streams=tuple(x.stream for x in cs), server=server, count=len(pairs),
        ))  # fmt: skip
    return out


def _sent_again(c: Connection, ex, by_pair) -> bool:
    """A later connection of the same client host to the server (within ``RETRY_WINDOW_NS``
    of request ``ex``) carried a request with its method and target."""
    req = ex.request
    later, starts = by_pair[(host_of(c.client), c.server)]
    i = bisect.bisect_right(starts, req.start_ns)
    for nxt in later[i:]:
        if nxt.start_ns - req.start_ns > RETRY_WINDOW_NS:
            return False
        for e in nxt.exchanges:
            r = e.request
            if r is not None and (r.method, r.uri) == (req.method, req.uri):
                return True
    return False


def _sealed_fronts(conns: list[Connection], raced: list[Connection]) -> list[Connection]:
    """TLS connections katui could not decrypt, served by the host that sent a raced request,
    with an inferred exchange open when it was sent: the raced connection may be the upstream
    leg of a proxy whose front leg is encrypted. No link is made from them (method and path are
    encrypted, and timing alone cannot tell a proxied request from the host's own): they only
    make the finding say what cannot be known."""
    times = [(endpoint_host(c.client), c.server, _raced_start(c)) for c in raced]
    out = []
    for f in conns:
        if f.tls is None or f.tls.decrypted:
            continue
        host = endpoint_host(f.server)  # an IPv6 front and an IPv4 upstream on one host match
        for client, server, t in times:
            if t is None or client != host or server == f.server:
                continue
            if any(_open_at(e, t) for e in f.exchanges):
                out.append(f)
                break
    return out


def _error_words(cs: list[Connection], name_client: bool = True) -> str:
    """How clients report a request lost to the race: the one client's words when all of
    ``cs`` come from one known client and ``name_client`` (not a proxy's upstream leg, nor a
    host that may be a proxy in front of them: their User-Agent would be the proxy's client's),
    else the common clients' words, or HTTP/2's."""
    if all(c.http2 is not None for c in cs):
        return "an HTTP/2 client reports the stream refused or the connection closed; behind a proxy, a 502"
    sw = one_client_software(cs) if name_client else None
    if sw is not None and sw.name in RACE_ERRORS:
        return f"{sw.name}: {RACE_ERRORS[sw.name]}; behind a proxy, a 502"
    known = ", ".join(f"{name}: {words}" for name, words in RACE_ERRORS.items())
    return (f"{known}, Node.js http: 'socket hang up' or 'read ECONNRESET', others: 'Connection "
            "reset by peer'; behind a proxy, a 502")  # fmt: skip


def _raced_start(c: Connection) -> int | None:
    ex = next((e for e in c.exchanges if e.n == c.close.exchange and e.req >= 0), None)
    return None if ex is None else ex.request.start_ns


def _open_at(e, t: int) -> bool:
    """An exchange whose request had started and whose response had not by ``t``."""
    return e.req >= 0 and e.request.start_ns <= t and (e.resp < 0 or e.response.start_ns >= t)


def _with_fronts(f: Finding, c: Connection, fronts: list[Connection], unknown: str) -> Finding:
    """``f`` saying what the encrypted connections that may be its front leg leave unknown (the
    ``unknown`` words), and covering them."""
    if not fronts:
        return f
    first = fronts[0]
    others = f" and {plural(len(fronts) - 1, 'other')}" if len(fronts) > 1 else ""
    text = (f"{f.text} The client {host_of(c.client)} also serves TLS at {first.server} (stream "
            f"{first.stream}{others}, not decrypted) with an exchange open at that moment: if it "
            f"is a proxy, which of its requests this was and {unknown} cannot be known without "
            "the key log of those connections; its upstream keep-alive timeout would then be "
            "the setting to lower.")  # fmt: skip
    return replace(f, text=text, streams=tuple(sorted({*f.streams, *(x.stream for x in fronts)})))


def _rst_frame(c: Connection) -> int | None:
    return c.close.rst_frames[-1] if c.close.rst_frames else c.close.frame


def _by_client_server(conns):
    """(client host, server) -> (its connections by start, their start times)."""
    out = {}
    for k, v in by_pair(conns).items():
        v.sort(key=by_start)
        out[k] = (v, [c.start_ns for c in v])
    return out


def _retry_of(c: Connection, by_pair) -> Connection | None:
    """The connection on which the client sent the raced request again, if it did: the next
    connection the same client host opened to the server after the reset (within
    ``RETRY_WINDOW_NS``), whose first request has the same method and target."""
    n = c.close.exchange
    ex = next((e for e in c.exchanges if e.n == n and e.req >= 0), None)
    if ex is None or not c.close.rst_frames:
        return None
    req = ex.request
    later, starts = by_pair[(host_of(c.client), c.server)]
    i = bisect.bisect_right(starts, req.start_ns)
    if i == len(later) or later[i].start_ns - req.start_ns > RETRY_WINDOW_NS:
        return None
    nxt = later[i]
    first = nxt.exchanges[0].request if nxt.exchanges else None
    return nxt if first is not None and (first.method, first.uri) == (req.method, req.uri) else None


def _race_advice(
    t: TimeoutEstimate | None, group: list[Connection], retried: bool = False, name_client: bool = True
) -> str:
    """What to change against the keep-alive race; ``retried``: the client already retried
    (keep that, rather than told to add it); ``name_client``: the client's pool setting may be
    named from its User-Agent (not on a proxy's upstream leg)."""
    retry = ("keep the client's retry of idempotent requests on a new connection" if retried
             else "retry idempotent requests once on a reset")  # fmt: skip
    if t is None or t.high_ns is None:
        return ("Keep the client's pool idle timeout below the server's keep-alive timeout, and "
                f"{retry}.")  # fmt: skip
    safe = safe_idle_s(t)
    setting = f" ({t.software} {t.setting})" if t.setting else ""
    named = client_pool_setting(group) if name_client else ""
    return (f"Set the client's pool idle timeout{named} below {safe:g} s (the server closed idle "
            f"connections after {fmt_s(t.high_ns)}), or raise the server's keep-alive timeout"
            f"{setting} well above the client's; {retry}.")  # fmt: skip


def _proxy_races(conns, by_server, proxied: ProxyReport) -> list[Finding]:
    """Upstream keep-alive races, told from both legs: which reached the client, which the
    proxy absorbed; the advice is about the proxy's upstream keep-alive, not a client pool."""
    upstream_of = proxied.upstream_proxy()
    out = []
    for (server, outcome), races in _group_races(proxied).items():
        first = races[0]
        t = by_server.get(server)
        proxy = f"the proxy {first.proxy}" if first.proxy else "the proxy"
        advice = f"The reusing side is {proxy}: {proxy_fix(conns, first.proxy, upstream_of, t)}."
        # every stream the text names: the raced upstream, the front and the retry's connection
        named = {r.front_stream for r in races} | {r.retry_stream for r in races}
        streams = tuple(sorted({r.stream for r in races} | (named - {None})))
        if outcome == "reached-client":
            how = "; ".join(
                f"upstream stream {r.stream} frame {r.request_frame} -> client got "
                f"{r.front_status or 'no response'} on stream {r.front_stream} frame {r.front_frame}"
                for r in races[:EXAMPLES]
            )
            sev, text = "problem", (f"{plural(len(races), 'request')} ({_methods(races)}) from the "
                                    f"proxy to {server} hit the backend's keep-alive close and the "
                                    f"client got an error ({how}).{_why_not_retried(races)}")  # fmt: skip
        elif outcome == "absorbed":
            how = "; ".join(
                f"upstream stream {r.stream} retried on stream {r.retry_stream}"
                + (f", +{fmt_s(r.extra_latency_ns)}" if r.extra_latency_ns is not None else "")
                for r in races[:EXAMPLES]
            )
            sev, text = "warning", (f"{plural(len(races), 'request')} ({_methods(races)}) from the "
                                    f"proxy to {server} hit the backend's keep-alive close; the "
                                    f"proxy retried on a new upstream connection and the client "
                                    f"got its answer ({how}).")  # fmt: skip
        else:
            continue  # unlinked: told by _stale as a plain race
        kind = "upstream-race" if outcome == "reached-client" else "upstream-race-absorbed"
        out.append(Finding(kind, sev, first.stream, first.close_frame or first.request_frame, text,
                           advice, streams=streams, server=server, count=len(races)))  # fmt: skip
    return out


_IDEMPOTENT = frozenset(("GET", "HEAD", "OPTIONS", "TRACE", "PUT", "DELETE"))


def _methods(races) -> str:
    """``2 POST, 1 GET``."""
    counts = Counter(r.method for r in races)
    return ", ".join(f"{n} {m or '?'}" for m, n in counts.most_common())


def _why_not_retried(races) -> str:
    if not any(r.method not in _IDEMPOTENT for r in races if r.front_status in (502, 504)):
        return ""
    return (" A proxy does not retry a non-idempotent request (POST, PATCH) on its own: nginx "
            "only with proxy_next_upstream non_idempotent, HAProxy with retry-on.")  # fmt: skip


def _group_races(proxied: ProxyReport) -> dict:
    groups: dict[tuple[str, str], list] = defaultdict(list)
    for r in proxied.races:
        groups[(r.upstream_server, r.outcome)].append(r)
    return groups


def _sent_after_goaway(c) -> bool:
    """The stale request of HTTP/2 connection ``c`` left after the server's GOAWAY (one sent
    before it, above its last stream, crossed it on the wire). True off HTTP/2."""
    g = c.http2.server_goaway if c.http2 is not None else None
    ex = _stale_exchange(c)
    if g is None or ex is None or ex.request is None:
        return True
    return ex.request.start_ns >= g[2]


def _stale_exchange(c):
    """The exchange the close verdict of ``c`` is about, if any."""
    n = c.close.exchange
    if not n:
        return None
    ex = c.exchanges[n - 1] if n <= len(c.exchanges) else None
    if ex is not None and ex.n == n and ex.req >= 0:
        return ex  # most connections: request n is the n-th exchange
    # a response without its request (one before the capture, a server speaking first) or a
    # second response numbered like its request shifts the list: look the number up
    return next((e for e in c.exchanges if e.n == n and e.req >= 0), None)
