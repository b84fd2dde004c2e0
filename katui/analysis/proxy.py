"""Both legs of a proxy: link each front request to the upstream request(s) it caused, and say
which upstream keep-alive races reached the client.

A capture taken on a proxy host (``tcpdump -i any``) holds the client -> proxy connections (the
*front* leg) and the proxy -> backend connections (the *upstream* leg). A front request on a
connection to server ``P`` is linked to an upstream request when

- the upstream connection is opened by the host of ``P`` (the same address, or both loopback,
  so an IPv6 front and an IPv4 upstream on one machine still match) to another server;
- the upstream request starts at or after the front request's first frame (its head has then
  arrived: katui does not record where a head ends, and a head fits one segment) and before
  the front response starts (or, with no front response, before the front connection's last
  frame);
- its response, if any, starts no later than the front response (a proxy forwards what it
  received; it cannot answer before the backend did);
- it has the same method, and the same path or the front path with a prefix stripped
  (``/api/x`` -> ``/x``, as ``location /api/ { proxy_pass http://b/; }`` does).

Links are made only when unambiguous: each upstream request has exactly one front request it
could belong to, and each front request's candidates are at most one answered upstream request
plus unanswered ones before it (a proxy retries only a request that failed; a retry is two
links). Concurrent identical requests are told apart by elimination: a front request causes at
most one answered upstream request (no mirroring), so when one answered upstream request can
only be front request F's, F is no candidate for the other answered ones; repeated until
nothing changes. Such links say ``by elimination``.

An upstream keep-alive race is a request on a reused upstream connection that the backend
closed or reset without answering it. It reached the client when the front response was a 502
or 504 (or the front connection got no response); it was absorbed when the proxy retried it and
the front response was anything else.
"""

from __future__ import annotations

import ipaddress
from bisect import bisect_left
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, replace
from functools import lru_cache

from katui.model import Connection, Exchange

HOW = "timing+method+path"
"""How a link is made today (headers such as X-Forwarded-For are not parsed yet)."""

ELIMINATED = ", by elimination"
"""Appended to :data:`HOW` when other candidates had to be ruled out first."""

MAX_ELIMINATION_PASSES = 16
"""Bound on the elimination passes (each pass is linear in the candidate pairs)."""

GATEWAY_ERRORS = frozenset((502, 504))
"""Front statuses that mean the proxy passed an upstream failure on to the client."""

RACE_WINDOW_NS = 1_000_000_000
"""A backend close this soon after an unanswered reused request (or before it) is a race: the
backend had decided to close before it could have read the request."""


@dataclass(frozen=True, slots=True)
class ProxyLink:
    """A front request and one upstream request it caused."""

    proxy: str
    """The proxy's front endpoint (the server of the front connection)."""
    front_stream: int
    """tcp.stream of the front (client -> proxy) connection."""
    front_n: int
    """1-based position of the front request on its connection."""
    front_frame: int
    """Frame of the front request (its last byte, as Wireshark shows it)."""
    upstream_stream: int
    """tcp.stream of the upstream (proxy -> backend) connection."""
    upstream_n: int
    """1-based position of the upstream request on its connection."""
    upstream_frame: int
    """Frame of the upstream request."""
    upstream_server: str
    """The backend endpoint the upstream request went to."""
    attempt: int
    """1 for the first upstream request the front request caused, 2 for a retry, ..."""
    answered: bool
    """True when the upstream request got a response."""
    how: str
    """What the link rests on: ``timing+method+path``, maybe followed by ``, by elimination``."""
    stripped_prefix: str
    """Path prefix the proxy removed (``/api``), or '' when the paths are equal."""


@dataclass(frozen=True, slots=True)
class UpstreamRace:
    """A request on a reused upstream connection that the backend closed or reset unanswered,
    and what the client got."""

    proxy: str | None
    """The proxy's front endpoint (None when the raced request could not be linked)."""
    upstream_server: str
    """The backend endpoint."""
    stream: int
    """tcp.stream of the upstream connection."""
    n: int
    """1-based position of the raced request on that connection."""
    method: str
    """Method of the raced request."""
    request_frame: int
    """Frame of the raced upstream request."""
    close_frame: int | None
    """The backend's FIN or RST that ended the connection."""
    close_how: str | None
    """``fin`` or ``rst``."""
    idle_before_ns: int | None
    """How long the upstream connection had been idle before the raced request."""
    outcome: str
    """``absorbed`` (retried, the client got its answer), ``reached-client`` (502/504 or no
    front response) or ``unlinked`` (the front request is not known)."""
    front_stream: int | None = None
    """tcp.stream of the front connection."""
    front_n: int | None = None
    """Position of the front request on its connection."""
    front_status: int | None = None
    """Status of the front response (None: no response)."""
    front_frame: int | None = None
    """Frame of the front response, or of the front connection's close when none came."""
    retry_stream: int | None = None
    """tcp.stream of the upstream request that retried it (absorbed races)."""
    retry_n: int | None = None
    """Position of the retry on its connection."""
    retry_frame: int | None = None
    """Frame of the retry request."""
    extra_latency_ns: int | None = None
    """Time the race cost: from the raced upstream request to the retry's first frame."""


@dataclass(frozen=True, slots=True)
class RaceGroup:
    """Upstream races of one backend with one outcome and method, counted."""

    upstream_server: str
    """The backend endpoint."""
    outcome: str
    """As in :attr:`UpstreamRace.outcome`."""
    method: str
    """Method of the raced requests."""
    count: int
    """How many races."""
    streams: tuple[int, ...]
    """Upstream and front streams the races cover, ascending."""


@dataclass(frozen=True, slots=True)
class ProxyReport:
    """Proxies found in a capture, the request links and the upstream races."""

    proxies: tuple[str, ...]
    """Front endpoints of the proxies found (with at least one link), sorted."""
    roles: dict[int, tuple[str, str]]
    """tcp.stream -> (``front`` or ``upstream``, proxy endpoint), for linked connections."""
    links: tuple[ProxyLink, ...]
    """Every link, in front stream / request / attempt order."""
    races: tuple[UpstreamRace, ...]
    """Upstream keep-alive races, in upstream stream order."""

    def upstream_of(self, stream: int, n: int) -> tuple[ProxyLink, ...]:
        """The links of front request ``n`` on ``stream`` (empty when not linked)."""
        return tuple(k for k in self.links if k.front_stream == stream and k.front_n == n)

    def downstream_of(self, stream: int, n: int) -> ProxyLink | None:
        """The link of upstream request ``n`` on ``stream`` to its front request, if any."""
        return next((k for k in self.links if k.upstream_stream == stream and k.upstream_n == n), None)

    def race_groups(self) -> tuple[RaceGroup, ...]:
        """The races grouped by backend, outcome and method."""
        groups: dict[tuple[str, str, str], list[UpstreamRace]] = defaultdict(list)
        for r in self.races:
            groups[r.upstream_server, r.outcome, r.method].append(r)
        out = []
        for (server, outcome, method), rs in sorted(groups.items()):
            streams = {r.stream for r in rs} | {r.front_stream for r in rs if r.front_stream is not None}
            streams |= {r.retry_stream for r in rs if r.retry_stream is not None}
            out.append(RaceGroup(server, outcome, method, len(rs), tuple(sorted(streams))))
        return tuple(out)


# A request as the matcher sees it: (connection, exchange).
_Req = tuple[Connection, Exchange]


def find_proxy_links(conns: Iterable[Connection]) -> ProxyReport:
    """Find the proxies in analysed connections, link their two legs and classify the upstream
    keep-alive races (see the module docstring for the rules)."""
    conns = [c for c in conns if c.http and c.exchanges]
    may_proxy = _possible_proxies(conns)
    proxy_hosts = {_endpoint_host(s) for s in may_proxy}
    index = _index([c for c in conns if _endpoint_host(c.client) in proxy_hosts])
    cands: dict[tuple[int, int], tuple[Connection, Exchange, list[tuple[_Req, str]]]] = {}
    fronts_of: dict[tuple[int, int], set[tuple[int, int]]] = defaultdict(set)
    for c in conns:
        if c.server not in may_proxy:
            continue
        for e in c.exchanges:
            found = _candidates(c, e, index) if e.request is not None else None
            if found:
                cands[c.stream, e.n] = (c, e, found)
                for (uc, ue), _ in found:
                    fronts_of[uc.stream, ue.n].add((c.stream, e.n))
    narrowed = _eliminate(cands, fronts_of)
    links = []
    for key, (fc, fe, found) in sorted(cands.items()):
        if any(fronts_of[uc.stream, ue.n] != {key} for (uc, ue), _ in found):
            continue  # an upstream request that could belong to another front request too
        found.sort(key=lambda r: r[0][1].request.start_ns)
        if any(ue.response is not None for (_, ue), _ in found[:-1]):
            continue  # an answered upstream request followed by another: not a retry chain
        for attempt, ((uc, ue), prefix) in enumerate(found, 1):
            how = HOW + ELIMINATED if {key, (uc.stream, ue.n)} & narrowed else HOW
            links.append(_link(fc, fe, uc, ue, attempt, prefix, how))
    roles: dict[int, tuple[str, str]] = {}
    for k in links:
        roles.setdefault(k.upstream_stream, ("upstream", k.proxy))
    for k in links:  # a proxy chain's middle connection is listed as the later proxy's front
        roles[k.front_stream] = ("front", k.proxy)
    races = _races(conns, {c.stream: c for c in conns}, links, roles)
    return ProxyReport(tuple(sorted({k.proxy for k in links})), roles, tuple(links), races)


def _eliminate(cands, fronts_of) -> set[tuple[int, int]]:
    """Rule out front request F for an answered upstream request when another answered one can
    only be F's (see the module docstring); return the keys of the front requests and upstream
    requests whose candidates shrank."""
    narrowed: set[tuple[int, int]] = set()
    for _ in range(MAX_ELIMINATION_PASSES):
        changed = False
        for key, (_, _, found) in cands.items():
            answered = [r for r in found if r[0][1].response is not None]
            own = [r for r in answered if fronts_of[r[0][0].stream, r[0][1].n] == {key}]
            if len(own) != 1:
                continue
            for r in answered:
                ukey = (r[0][0].stream, r[0][1].n)
                if r is not own[0]:
                    fronts_of[ukey].discard(key)
                    found.remove(r)
                    narrowed |= {key, ukey}
                    changed = True
        if not changed:
            break
    return narrowed


def host_of(endpoint: str) -> str:
    """The address part of ``1.2.3.4:80`` or ``[::1]:80``."""
    host = endpoint.rsplit(":", 1)[0]
    return host[1:-1] if host.startswith("[") else host


def same_host(a: str, b: str) -> bool:
    """True when two addresses are one machine's as far as a capture can tell: equal (an
    IPv4-mapped IPv6 address equals its IPv4 one), or both loopback."""
    return _host_key(a) == _host_key(b)


@lru_cache(maxsize=4096)
def _host_key(address: str) -> str:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address
    ip = getattr(ip, "ipv4_mapped", None) or ip
    return "loopback" if ip.is_loopback else str(ip)


def _endpoint_host(endpoint: str) -> str:
    return _host_key(host_of(endpoint))


def path_suffixes(uri: str) -> list[tuple[str, str]]:
    """(path a proxy may have sent upstream, prefix it stripped) for a front request target:
    the path itself, then the path less each leading segment (``/api/x`` -> ``/x``)."""
    if "://" in uri:  # absolute form, as sent to a forward proxy
        rest = uri.split("://", 1)[1]
        uri = "/" + rest.split("/", 1)[1] if "/" in rest else "/"
    out = [(uri, "")]
    end = uri.find("?")
    end = len(uri) if end < 0 else end  # a '/' in the query string is no path segment
    i = uri.find("/", 1, end)
    while i > 0:
        out.append((uri[i:], uri[:i]))
        i = uri.find("/", i + 1, end)
    return out


def _index(conns: list[Connection]) -> dict[tuple[str, str], tuple[list[int], list[_Req]]]:
    """(method, uri) -> requests sorted by their first frame's time (start times alongside)."""
    rows: dict[tuple[str, str], list[tuple[int, int, _Req]]] = defaultdict(list)
    for c in conns:
        for e in c.exchanges:
            r = e.request
            if r is not None:
                rows[r.method, r.uri].append((r.start_ns, c.stream, (c, e)))
    index = {}
    for key, items in rows.items():
        items.sort(key=lambda t: (t[0], t[1]))
        index[key] = ([t[0] for t in items], [t[2] for t in items])
    return index


def _possible_proxies(conns: list[Connection]) -> set[str]:
    """Servers whose host also opens connections to other servers (only their requests are
    matched: a capture of clients and servers on different hosts costs one pass)."""
    servers_of: dict[str, set[str]] = defaultdict(set)
    for c in conns:
        servers_of[_endpoint_host(c.client)].add(c.server)
    return {s for s in {c.server for c in conns} if servers_of.get(_endpoint_host(s), set()) - {s}}


def _candidates(c: Connection, e: Exchange, index) -> list[tuple[_Req, str]]:
    """Upstream requests front request ``e`` on ``c`` may have caused, with the prefix."""
    req, resp = e.request, e.response
    lo = req.start_ns
    hi = resp.start_ns if resp is not None else c.end_ns
    proxy_host = _endpoint_host(c.server)
    out = []
    for path, prefix in path_suffixes(req.uri):
        found = index.get((req.method, path))
        if found is None:
            continue
        starts, reqs = found
        for i in range(bisect_left(starts, lo), len(starts)):
            if starts[i] >= hi:
                break
            uc, ue = reqs[i]
            if uc is c or uc.server == c.server or _endpoint_host(uc.client) != proxy_host:
                continue
            if resp is not None and ue.resp >= 0 and ue.response.start_ns > resp.start_ns:
                continue  # answered upstream after the front response had started
            out.append(((uc, ue), prefix))
    return out


def _exchange(c: Connection, n: int) -> Exchange:
    return next(e for e in c.exchanges if e.n == n and e.request is not None)


def _link(
    fc: Connection, fe: Exchange, uc: Connection, ue: Exchange, attempt: int, prefix: str, how: str
) -> ProxyLink:
    fr, ur = fe.request, ue.request
    return ProxyLink(
        proxy=fc.server,
        front_stream=fc.stream,
        front_n=fe.n,
        front_frame=fr.frame or fr.first_frame,
        upstream_stream=uc.stream,
        upstream_n=ue.n,
        upstream_frame=ur.frame or ur.first_frame,
        upstream_server=uc.server,
        attempt=attempt,
        answered=ue.response is not None,
        how=how,
        stripped_prefix=prefix,
    )


def _is_race(c: Connection, e: Exchange) -> bool:
    """A request on a reused connection that the server closed or reset without answering,
    before the request or just after it (not a processing timeout)."""
    if e.request is None or e.response is not None or not e.reused:
        return False
    if c.close.reason == "stale-reuse":
        return True
    close_ns = c.close.ts_ns
    return c.close.by == "server" and close_ns is not None and close_ns - e.request.start_ns < RACE_WINDOW_NS


def _races(conns, by_stream, links, roles) -> tuple[UpstreamRace, ...]:
    by_upstream = {(k.upstream_stream, k.upstream_n): k for k in links}
    out = []
    for c in conns:
        if roles.get(c.stream, ("",))[0] != "upstream":
            continue
        for e in c.exchanges:
            if _is_race(c, e):
                out.append(_race(c, e, by_upstream.get((c.stream, e.n)), by_stream, links))
    return tuple(out)


def _race(c: Connection, e: Exchange, link: ProxyLink | None, by_stream, links) -> UpstreamRace:
    r = e.request
    race = UpstreamRace(
        proxy=None,
        upstream_server=c.server,
        stream=c.stream,
        n=e.n,
        method=r.method,
        request_frame=r.frame or r.first_frame,
        close_frame=c.close.frame,
        close_how=c.close.how,
        idle_before_ns=e.idle_before_ns,
        outcome="unlinked",
    )
    if link is None:
        return race
    fc = by_stream[link.front_stream]
    resp = _exchange(fc, link.front_n).response
    failed = resp is None or resp.status in GATEWAY_ERRORS
    front = dict(
        proxy=link.proxy,
        outcome="reached-client" if failed else "absorbed",
        front_stream=fc.stream,
        front_n=link.front_n,
        front_status=None if resp is None else resp.status,
        front_frame=fc.close.frame if resp is None else resp.frame or resp.first_frame,
    )
    same_front = (k for k in links if (k.front_stream, k.front_n) == (fc.stream, link.front_n))
    retry = next((k for k in same_front if k.attempt > link.attempt), None)
    if retry is not None and not failed:
        retried = _exchange(by_stream[retry.upstream_stream], retry.upstream_n).request
        front |= dict(
            retry_stream=retry.upstream_stream,
            retry_n=retry.upstream_n,
            retry_frame=retry.upstream_frame,
            extra_latency_ns=retried.start_ns - r.start_ns,
        )
    return replace(race, **front)
