"""Infer each server's keep-alive idle timeout from how connections ended and were reused.

Estimates are per server endpoint: a capture often holds several servers (a browser page load,
a proxy's upstreams) with different timeouts, and mixing them gives numbers true of none.

The estimate is a *safe* bound: never above the shortest idle after which that server closed a
connection that was really idle (nothing in flight, no partial request), so a client pool set
below it never reuses a connection the server is closing.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from dataclasses import replace

from katui.analysis.proxy import ProxyReport
from katui.analysis.software import Software, server_software
from katui.analysis.verdicts import SERVER_IDLE_NS
from katui.model import H_KEEP_ALIVE, Connection, TimeoutEstimate
from katui.model.exchange import NO_IDLE, REUSED, columns

_TIMEOUT = re.compile(r"timeout\s*=\s*(\d+(?:\.\d+)?)", re.I | re.ASCII)  # (ASCII digits only)
NONE = TimeoutEstimate(None, None, None, None, 0, None)


def estimate_server_timeouts(
    conns: list[Connection], proxied: ProxyReport | None = None
) -> list[TimeoutEstimate]:
    """One estimate per server that showed any evidence, the best-evidenced first. ``proxied``:
    the capture's proxies, whose front endpoints may answer with their backends' headers."""
    by_server: dict[str, list[Connection]] = defaultdict(list)
    for c in conns:
        by_server[server_name(c)].append(c)
    backends: dict[str, set[str]] = defaultdict(set)
    for link in proxied.links if proxied is not None else ():
        backends[link.proxy].add(link.upstream_server)
    out = []
    for server, cs in by_server.items():
        behind = backends.get(cs[0].server)
        sw = server_software(cs)
        if sw is not None and behind:
            sw = _passed_on(sw, [c for c in conns if c.server in behind])
        out.append(_estimate(server, cs, sw))
    out = [t for t in out if t.samples or t.advertised_s is not None]
    out.sort(key=lambda t: (-t.samples, t.advertised_s is None, t.server))
    return out


def server_name(c: Connection) -> str:
    """The server a timeout is about: its endpoint, and the name asked for over TLS (one
    address may serve names with different timeouts), said as such: ``127.0.0.1:443 (SNI
    example.com)`` (a bare name in parentheses read as the server's software where that
    follows: '127.0.0.1:9750 (localhost) (nginx)')."""
    sni = c.tls.sni if c.tls is not None else None
    return f"{c.server} (SNI {sni})" if sni else c.server


def main_timeout(timeouts: list[TimeoutEstimate]) -> TimeoutEstimate:
    """The estimate to headline: the server with the most idle closes."""
    return timeouts[0] if timeouts and timeouts[0].samples else NONE


PASSED_ON = Software("a proxy", "")
"""The software of a proxy's front whose answers carry what names its backend (:func:`_passed_on`)."""


def _passed_on(sw: Software, upstream: list[Connection]) -> Software:
    """``sw``, the software a proxy's front answers name, unless its backends' own answers name
    the same: then the proxy passed their Server header (or Node's Keep-Alive shape) on, as
    HAProxy and Varnish do, and the settings that closed the front's connections are the
    proxy's, which nothing names."""
    backend = server_software(upstream)
    if backend is None or backend.header != sw.header:
        return sw
    return replace(PASSED_ON, header=f"{sw.header}, the backend's, passed on by the proxy")


def _estimate(server: str, conns: list[Connection], sw: Software | None) -> TimeoutEstimate:
    """Bracket one server's idle timeout.

    * ``high``: the shortest idle stretch after which the server closed an idle connection
      (FIN or RST): the timeout is at most that (nginx closes a few ms after it expires);
    * ``low``: the longest idle stretch after which a reused request still got its response,
      below ``high``: the timeout is longer than that;
    * ``estimate``: ``high`` rounded *down* to 0.1 s when >= 1 s, so it is never above a close
      that was seen.
    """
    closed = [c for c in conns if server_idle_close(c)]
    closes = [c.close.idle_before_ns for c in closed]
    high = min(closes) if closes else None
    low = _longest_survived(conns, high)
    est = None
    if high is not None:
        est = high - high % 100_000_000 if high >= 1_000_000_000 else high
    return TimeoutEstimate(
        est, low, high, _advertised(conns), len(closes), server,
        software=sw.name if sw else None,
        setting=_idle_setting(sw, closed),
        identified_by=sw.header if sw else None,
        closes_late_s=sw.closes_late if sw else 0.0,
    )  # fmt: skip


APACHE_H2C_UPGRADED_IDLE = "Timeout: an h2c-upgraded connection's idle limit, not KeepAliveTimeout"
"""What ends an idle HTTP/2 connection Apache upgraded from HTTP/1.1 (``Upgrade: h2c``): seen
with Apache 2.4.71 and mod_http2 2.0.42 (samples/real/apache-h2c-idle.pcap: ``Timeout 4``,
``KeepAliveTimeout 2``, closed after 4.0 s), whereas its prior-knowledge h2c closed after
KeepAliveTimeout."""


def _idle_setting(sw, closed: list[Connection]) -> str | None:
    """The setting named for the idle closes ``closed`` of a server running ``sw``."""
    if sw is None:
        return None
    if (
        sw.name == "Apache httpd"
        and closed
        and all(c.http2 is not None and c.http2.upgrade_frame is not None for c in closed)
    ):
        return APACHE_H2C_UPGRADED_IDLE
    return sw.idle_setting


def _longest_survived(conns: list[Connection], high: int | None) -> int | None:
    """The longest idle time (below ``high`` when given) after which a reused request still got
    its response; None for none. One loop, no list: a load test has an idle time per reused
    request (millions)."""
    low = None
    for c in conns:
        run = columns(c.exchanges)  # read as columns: no object per exchange
        for k in range(len(run)):
            idle = run.idle_at(k)  # Exchange.idle_before_ns, NO_IDLE for None
            reused = run.flags_at(k) & REUSED
            if reused and run.resp_at(k) >= 0 and idle != NO_IDLE and (high is None or idle < high):
                if low is None or idle > low:
                    low = idle
    return low


def server_idle_close(c: Connection) -> bool:
    """True when the server ended ``c`` after an idle stretch (its idle timeout), with a FIN or
    an RST (servers with SO_LINGER 0 enforce the timeout with a reset).

    A stale-reuse connection counts too: its server FIN is the idle close the client missed.
    Closes with a request in flight or partly sent never count: those are request timeouts.
    """
    cl = c.close
    if cl.closer != "server" or cl.idle_before_ns is None:
        return False
    return cl.reason == "idle-timeout" or (
        cl.reason == "stale-reuse" and cl.how == "fin" and cl.idle_before_ns >= SERVER_IDLE_NS
        and not _stream_in_flight(c)
    )  # fmt: skip


def _stream_in_flight(c: Connection) -> bool:
    """HTTP/2: a stream the server's GOAWAY said it would process never got its response, so
    the server closed with a request in flight, not idle (the stale request is above it)."""
    g = c.http2.server_goaway if c.http2 is not None else None
    return g is not None and any(
        e.request is not None and e.response is None and getattr(e, "stream_id", 0) <= g[3]
        for e in c.exchanges
    )


def _advertised(conns: list[Connection]) -> float | None:
    seen: Counter[str] = Counter()
    # Shared strings: count, parse once. Read from the store's head index column (as
    # MessageStore.text does), not a method call per response: a load test has millions.
    store = heads = head_ix = None
    for c in conns:
        run = columns(c.exchanges)  # read as columns: no object per exchange
        for k in range(len(run)):
            resp = run.resp_at(k)
            if resp >= 0:
                if run.store is not store:  # one store per capture: looked up once
                    store = run.store
                    heads, head_ix = store.head_table, store.head_ix
                ka = heads[head_ix[resp]][H_KEEP_ALIVE]
                if ka:
                    seen[ka] += 1
    timeouts: Counter[float] = Counter()
    for ka, count in seen.items():
        m = _TIMEOUT.search(ka)
        if m:
            timeouts[float(m.group(1))] += count
    return timeouts.most_common(1)[0][0] if timeouts else None
