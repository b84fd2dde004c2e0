"""Matching the two legs of a proxy: which upstream request(s) each front request caused.

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
  (``/api/x`` -> ``/x``, as ``location /api/ { proxy_pass http://b/; }`` does); only when a
  front request has no such candidate, a path with its prefix replaced (``/api/x`` ->
  ``/v1/x``, as ``proxy_pass http://b/v1/;`` does; the tail must be a whole segment or more).

The headers a proxy passes on or adds narrow this down and widen it (:data:`TRACE_HEADERS`):
an id header (``X-Request-Id`` and its kin) present on both requests with different values
rules the pair out, with the same value it is evidence; the front client the proxy names
(``X-Forwarded-For``'s last hop, ``X-Real-IP``, ``Forwarded: for=``) rules out front requests
from other clients, and ties an upstream connection to the proxy when the proxy's upstream
address is not its front address (a proxy with one address per network).

Links are made only when unambiguous: each upstream request has exactly one front request it
could belong to, and each front request's candidates are at most one answered upstream request
plus unanswered ones before it (a proxy retries only a request that failed; a retry is two
links). Concurrent identical requests are told apart by elimination: a front request causes at
most one answered upstream request (no mirroring), so when one answered upstream request can
only be front request F's, F is no candidate for the other answered ones; repeated until
nothing changes. Such links say ``by elimination``.

Requests inferred from TLS records (a front leg without its key log) are never matched: they
have no method and no path, and timing alone cannot tell a request the proxy forwarded from the
host's own traffic (see ``katui.analysis.findings.races`` for what such a race then says).
"""

from __future__ import annotations

import ipaddress
from bisect import bisect_left
from collections import defaultdict
from dataclasses import dataclass
from functools import lru_cache

from katui.model import Connection, Exchange, HttpMessage

ID_HEADERS = ("x-request-id", "x-correlation-id", "request-id", "traceparent")
"""Request ids a proxy passes on unchanged (a client's, or one an earlier hop set); of W3C
``traceparent`` only the trace id counts (a tracing proxy replaces the parent id)."""
FORWARDED_HEADERS = ("x-forwarded-for", "x-real-ip", "forwarded")
"""Headers in which a proxy names the client it forwards for."""

MAX_ELIMINATION_PASSES = 16
"""Bound on the elimination passes (each pass is linear in the candidate pairs)."""

Req = tuple[Connection, Exchange]
"""A request as the matcher sees it: its connection and exchange."""
Rewrite = tuple[str, str]
"""How the proxy changed the path: (prefix it removed, prefix it put in its place), e.g.
``("/api", "")`` for ``/api/x`` -> ``/x``, ``("/api", "/v1")`` for ``/api/x`` -> ``/v1/x``."""


@dataclass(frozen=True, slots=True)
class Match:
    """A front request and, unambiguously, the upstream requests it caused."""

    front: Req
    """The front request."""
    upstream: tuple[tuple[Req, Rewrite], ...]
    """(upstream request, how the proxy rewrote the path), in time order: unanswered tries
    first, the answered one (if any) last."""
    eliminated: frozenset[tuple[int, int]]
    """(stream, n) of this match's requests whose candidates had to be ruled out first."""


def match_requests(conns: list[Connection]) -> list[Match]:
    """The unambiguous matches among analysed connections, in front stream / request order."""
    forwarded = forwarded_conns(conns)
    may_proxy = possible_proxies(conns, forwarded)
    proxy_hosts = {endpoint_host(s) for s in may_proxy}
    index = request_index(
        [c for c in conns if endpoint_host(c.client) in proxy_hosts or c.stream in forwarded]
    )
    cands: dict[tuple[int, int], tuple[Connection, Exchange, list[tuple[Req, Rewrite]]]] = {}
    fronts_of: dict[tuple[int, int], set[tuple[int, int]]] = defaultdict(set)
    for c in conns:
        if c.server not in may_proxy:
            continue
        for e in c.exchanges:
            found = candidates(c, e, index) if e.request is not None else None
            if found:
                cands[c.stream, e.n] = (c, e, found)
                for (uc, ue), _ in found:
                    fronts_of[uc.stream, ue.n].add((c.stream, e.n))
    narrowed = eliminate(cands, fronts_of)
    out = []
    for key, (fc, fe, found) in sorted(cands.items()):
        if any(fronts_of[uc.stream, ue.n] != {key} for (uc, ue), _ in found):
            continue  # an upstream request that could belong to another front request too
        found.sort(key=lambda r: r[0][1].request.start_ns)
        if any(ue.response is not None for (_, ue), _ in found[:-1]):
            continue  # an answered upstream request followed by another: not a retry chain
        keys = {key} | {(uc.stream, ue.n) for (uc, ue), _ in found}
        out.append(Match((fc, fe), tuple(found), frozenset(keys & narrowed)))
    return out


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


def endpoint_host(endpoint: str) -> str:
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


REWRITTEN = "\x00"
"""Marks the index keys of path tails (:func:`request_index`); no request target holds a NUL."""


def request_index(conns: list[Connection]) -> dict[tuple[str, str], tuple[list[int], list[Req]]]:
    """(method, uri) -> requests sorted by their first frame's time (start times alongside);
    also (method, NUL + tail) for each tail of the path after one or more leading segments
    (``/v1/x`` under ``/x``), to find the prefix a proxy put in place of another."""
    rows: dict[tuple[str, str], list[tuple[int, int, Req]]] = defaultdict(list)
    for c in conns:
        for e in c.exchanges:
            r = e.request
            if r is not None:
                item = (r.start_ns, c.stream, (c, e))
                rows[r.method, r.uri].append(item)
                for tail, _ in path_suffixes(r.uri)[1:]:
                    if len(tail) > 1:
                        rows[r.method, REWRITTEN + tail].append(item)
    index = {}
    for key, items in rows.items():
        items.sort(key=lambda t: (t[0], t[1]))
        index[key] = ([t[0] for t in items], [t[2] for t in items])
    return index


def possible_proxies(conns: list[Connection], forwarded: dict[int, set[str]] | None = None) -> set[str]:
    """Servers whose host also opens connections to other servers, or whose clients an
    upstream request names as the one it was forwarded for (only their requests are matched:
    a capture of clients and servers on different hosts costs one pass)."""
    servers_of: dict[str, set[str]] = defaultdict(set)
    for c in conns:
        servers_of[endpoint_host(c.client)].add(c.server)
    out = {s for s in {c.server for c in conns} if servers_of.get(endpoint_host(s), set()) - {s}}
    if forwarded:
        named = set().union(*forwarded.values())
        upstream_servers = {c.server for c in conns if c.stream in forwarded}
        out |= {
            c.server for c in conns if endpoint_host(c.client) in named and c.server not in upstream_servers
        }
    return out


def forwarded_conns(conns: list[Connection]) -> dict[int, set[str]]:
    """Stream -> the front clients (host keys) its requests say they were forwarded for, for
    the connections whose requests carry such a header."""
    out: dict[int, set[str]] = {}
    for c in conns:
        for e in c.exchanges:
            r = e.request
            if r is not None and r.trace:
                host = forwarded_for(r)
                if host is not None:
                    out.setdefault(c.stream, set()).add(host)
    return out


def _trace_value(msg: HttpMessage, names: tuple[str, ...]) -> tuple[str, str] | None:
    for name, value in msg.trace:
        if name in names:
            return name, value
    return None


def forwarded_for(msg: HttpMessage) -> str | None:
    """The client (host key) a proxy says it forwarded ``msg`` for: the last hop of
    ``X-Forwarded-For`` (the proxy appends the address it saw), else ``X-Real-IP``, else the
    last ``for=`` of ``Forwarded``; None when absent or not an address."""
    named = _forwarded(msg)
    return None if named is None else named[1]


def _forwarded(msg: HttpMessage) -> tuple[str, str] | None:
    """(header, client host key) of :func:`forwarded_for`."""
    found = _trace_value(msg, FORWARDED_HEADERS[:1]) or _trace_value(msg, FORWARDED_HEADERS[1:2])
    if found is not None:
        raw = found[1].rsplit(",", 1)[-1].strip()
    else:
        found = fwd = _trace_value(msg, FORWARDED_HEADERS[2:])
        if fwd is None:
            return None
        parts = (p.strip() for p in fwd[1].replace(",", ";").split(";"))
        fors = [p[4:] for p in parts if p.lower().startswith("for=")]
        if not fors:
            return None
        raw = fors[-1].strip('"')
        if raw.startswith("["):
            raw = raw[1:].split("]", 1)[0]
        elif raw.count(":") == 1:
            raw = raw.split(":", 1)[0]
    try:
        return found[0], _host_key(str(ipaddress.ip_address(raw)))
    except ValueError:
        return None


def request_id(msg: HttpMessage) -> tuple[str, str] | None:
    """(header, value) of the first request-id header ``msg`` carries, or None."""
    found = _trace_value(msg, ID_HEADERS)
    if found is not None and found[0] == "traceparent":
        return found[0], _trace_id(found[1])
    return found


def _trace_id(traceparent: str) -> str:
    """The trace-id field of ``version-traceid-parentid-flags`` (the whole value if other)."""
    parts = traceparent.split("-")
    return parts[1] if len(parts) == 4 else traceparent


def header_evidence(front: HttpMessage, client_host: str, upstream: HttpMessage) -> tuple[str, ...] | None:
    """What the tracing headers say about ``upstream`` having been forwarded for ``front``
    (sent by a client on ``client_host``, a host key): the names of the headers that agree
    (e.g. ``("x-request-id", "x-forwarded-for")``), or None when one rules the pair out (the
    same id header with another value, or another forwarded-for client)."""
    if not upstream.trace:
        return ()
    agree = []
    up_id = request_id(upstream)
    if up_id is not None:
        front_id = request_id(front)
        if front_id is not None and front_id[0] == up_id[0]:
            if front_id[1] != up_id[1]:
                return None
            agree.append(up_id[0])
    named = _forwarded(upstream)
    if named is not None:
        if named[1] != client_host:
            return None
        agree.append(named[0])
    return tuple(agree)


def candidates(c: Connection, e: Exchange, index) -> list[tuple[Req, Rewrite]]:
    """Upstream requests front request ``e`` on ``c`` may have caused, with the rewrite: the
    same path or the path less a prefix first; only when there is none of those, a path whose
    prefix the proxy replaced (``/api/x`` -> ``/v1/x``)."""
    req = e.request
    out: list[tuple[Req, Rewrite]] = []
    for path, prefix in path_suffixes(req.uri):
        for r in _in_window(c, e, index.get((req.method, path))):
            out.append((r, (prefix, "")))
    if out:
        return out
    for path, prefix in path_suffixes(req.uri):
        for r in _in_window(c, e, index.get((req.method, REWRITTEN + path))):
            added = r[1].request.uri[: -len(path)]
            if added != prefix:
                out.append((r, (prefix, added)))
    return out


def _in_window(c: Connection, e: Exchange, found) -> list[Req]:
    """Of ``found`` (an index entry), the upstream requests that fit front request ``e``'s
    time window and the hosts and headers of ``c``."""
    if found is None:
        return []
    req, resp = e.request, e.response
    lo = req.start_ns
    hi = resp.start_ns if resp is not None else c.end_ns
    proxy_host = endpoint_host(c.server)
    client_host = endpoint_host(c.client)
    starts, reqs = found
    out = []
    for i in range(bisect_left(starts, lo), len(starts)):
        if starts[i] >= hi:
            break
        uc, ue = reqs[i]
        if uc is c or uc.server == c.server:
            continue
        evidence = header_evidence(req, client_host, ue.request)
        if evidence is None:
            continue  # a header says it was forwarded for another request or client
        if endpoint_host(uc.client) != proxy_host and not evidence:
            continue
        if resp is not None and ue.resp >= 0 and ue.response.start_ns > resp.start_ns:
            continue  # answered upstream after the front response had started
        out.append((uc, ue))
    return out


def eliminate(cands, fronts_of) -> set[tuple[int, int]]:
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
