"""Both legs of a proxy: link each front request to the upstream request(s) it caused, and say
which upstream keep-alive races reached the client.

A capture taken on a proxy host (``tcpdump -i any``) holds the client -> proxy connections (the
*front* leg) and the proxy -> backend connections (the *upstream* leg); how a front request is
matched to the upstream request(s) it caused is said in :mod:`katui.analysis.proxy_match`.

An upstream keep-alive race is a request on a reused upstream connection that the backend
closed or reset without answering it. It reached the client when the front response was a 502
or 504 (or the front connection got no response); it was absorbed when the proxy retried it and
the front response was anything else.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field, replace

from katui.analysis.proxy_headers import agreeing_headers
from katui.analysis.proxy_match import Rewrite, endpoint_host, match_requests
from katui.model import Connection, Exchange

HOW = "timing+method+path"
"""What every link rests on; the tracing headers that agree are appended (``+x-request-id``)."""
HOW_REWRITTEN = "timing+method+path-tail"
"""The same when the path matched after the proxy replaced its prefix (``/api/x`` -> ``/v1/x``)."""

ELIMINATED = ", by elimination"
"""Appended to :data:`HOW` when other candidates had to be ruled out first."""

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
    """What the link rests on: ``timing+method+path`` (``path-tail`` when the proxy replaced
    the path's prefix), then the tracing headers that agree
    (``+x-request-id``, ``+x-forwarded-for`` ...), maybe followed by ``, by elimination``."""
    stripped_prefix: str
    """Path prefix the proxy removed (``/api``), or '' when the paths are equal."""
    added_prefix: str = ""
    """Path prefix the proxy put in its place (``/v1`` for ``/api/x`` -> ``/v1/x``), or ''."""


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
class ProxyBackend:
    """One backend behind one proxy, as the linked upstream requests show it: how long the
    proxy let its connections sit idle before reusing them (for advice on the proxy's upstream
    keep-alive timeout against the backend's own, which the timeout estimates give)."""

    proxy: str
    """The proxy's front endpoint."""
    server: str
    """The backend endpoint."""
    streams: tuple[int, ...]
    """Upstream connections with linked requests, ascending."""
    requests: int
    """Linked upstream requests (retries included)."""
    longest_reused_idle_ns: int | None
    """Longest idle before a reused upstream request that got its response."""
    shortest_raced_idle_ns: int | None
    """Shortest idle before an upstream request that raced the backend's close."""
    races: int
    """Upstream keep-alive races at this backend."""


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
    backends: tuple[ProxyBackend, ...] = ()
    """Each proxy's backends, by proxy and backend endpoint."""
    by_front: dict[tuple[int, int], tuple[ProxyLink, ...]] = field(default_factory=dict, repr=False)
    """(front stream, request n) -> its links, in attempt order."""
    by_upstream: dict[tuple[int, int], ProxyLink] = field(default_factory=dict, repr=False)
    """(upstream stream, request n) -> its link."""

    @classmethod
    def empty(cls) -> ProxyReport:
        """No proxies (an analysis that found none, or made none)."""
        return cls((), {}, (), ())

    def upstream_of(self, stream: int, n: int) -> tuple[ProxyLink, ...]:
        """The links of front request ``n`` on ``stream`` (empty when not linked)."""
        return self.by_front.get((stream, n), ())

    def downstream_of(self, stream: int, n: int) -> ProxyLink | None:
        """The link of upstream request ``n`` on ``stream`` to its front request, if any."""
        return self.by_upstream.get((stream, n))

    def upstream_proxy(self) -> dict[int, str]:
        """Upstream stream -> the proxy whose upstream leg it is, from the links (in a proxy
        chain the middle connection is one proxy's upstream and the next one's front)."""
        return {k.upstream_stream: k.proxy for k in self.links}

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
    links = []
    for m in match_requests(conns):
        fc, fe = m.front
        for attempt, ((uc, ue), rewrite) in enumerate(m.upstream, 1):
            headers = agreeing_headers(fe.request, endpoint_host(fc.client), ue.request)
            base = HOW_REWRITTEN if rewrite[1] else HOW
            how = "+".join((base, *headers)) + (ELIMINATED if m.eliminated else "")
            links.append(_link(fc, fe, uc, ue, attempt, rewrite, how))
    roles: dict[int, tuple[str, str]] = {}
    for k in links:
        roles.setdefault(k.upstream_stream, ("upstream", k.proxy))
    for k in links:  # a proxy chain's middle connection is listed as the later proxy's front
        roles[k.front_stream] = ("front", k.proxy)
    # Only the links' connections are looked up: a capture without proxies (a load test)
    # builds no index of all its connections (an int and a dict slot each: ~50 MB at 600k).
    linked = {k.front_stream for k in links} | {k.upstream_stream for k in links}
    by_stream = {c.stream: c for c in conns if c.stream in linked} if linked else {}
    races = _races(conns, by_stream, links, roles)
    by_front: dict[tuple[int, int], tuple[ProxyLink, ...]] = {}
    for k in links:
        by_front[k.front_stream, k.front_n] = (*by_front.get((k.front_stream, k.front_n), ()), k)
    return ProxyReport(
        proxies=tuple(sorted({k.proxy for k in links})),
        roles=roles,
        links=tuple(links),
        races=races,
        backends=_backends(links, races, by_stream),
        by_front=by_front,
        by_upstream={(k.upstream_stream, k.upstream_n): k for k in links},
    )


def _backends(links, races, by_stream) -> tuple[ProxyBackend, ...]:
    groups: dict[tuple[str, str], list[ProxyLink]] = defaultdict(list)
    for k in links:
        groups[k.proxy, k.upstream_server].append(k)
    out = []
    for (proxy, server), ks in sorted(groups.items()):
        idles = [
            _exchange(by_stream[k.upstream_stream], k.upstream_n).idle_before_ns for k in ks if k.answered
        ]
        mine = [r for r in races if (r.proxy, r.upstream_server) == (proxy, server)]
        raced = [r.idle_before_ns for r in mine if r.idle_before_ns is not None]
        out.append(
            ProxyBackend(
                proxy=proxy,
                server=server,
                streams=tuple(sorted({k.upstream_stream for k in ks})),
                requests=len(ks),
                longest_reused_idle_ns=max((i for i in idles if i is not None), default=None),
                shortest_raced_idle_ns=min(raced, default=None),
                races=len(mine),
            )
        )
    return tuple(out)


def _exchange(c: Connection, n: int) -> Exchange:
    return next(e for e in c.exchanges if e.n == n and e.request is not None)


def _link(
    fc: Connection, fe: Exchange, uc: Connection, ue: Exchange, attempt: int, rewrite: Rewrite, how: str
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
        stripped_prefix=rewrite[0],
        added_prefix=rewrite[1],
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
    # A proxy's upstream connections, by the links: in a chain the middle one is also the next
    # proxy's front connection (its role), and a race on it is still the first proxy's.
    upstream = {k.upstream_stream for k in links}
    upstream |= {s for s, (role, _) in roles.items() if role == "upstream"}
    out = []
    for c in conns:
        if c.stream not in upstream:
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
