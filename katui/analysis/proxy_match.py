"""Matching the two legs of a proxy: which upstream request(s) each front request caused.

A capture taken on a proxy host (``tcpdump -i any``) holds the client -> proxy connections (the
*front* leg) and the proxy -> backend connections (the *upstream* leg). A front request on a
connection to server ``P`` is linked to an upstream request when

- the upstream connection is opened by the host of ``P`` (the same address, or both loopback,
  so an IPv6 front and an IPv4 upstream on one machine still match) to another server, or
  from another address of the proxy's, known by a request id (:mod:`proxy_headers`);
- the upstream request starts at or after the front request's first frame (its head has then
  arrived: katui does not record where a head ends, and a head fits one segment) and before
  the front response starts (or, with no front response, before the front connection's last
  frame);
- its response, if any, starts no later than the front response (a proxy forwards what it
  received; it cannot answer before the backend did);
- it has the same method, and the same path or the front path with a prefix stripped
  (``/api/x`` -> ``/x``, as ``location /api/ { proxy_pass http://b/; }`` does). Failing that,
  the path with its prefix replaced (``/api/x`` -> ``/v1/x``, as ``proxy_pass http://b/v1/;``
  does), only for upstream requests no front request has a same-path claim on, on a tail with
  a path segment (not a query alone), and only when the proxy made the same replacement for at
  least :data:`MIN_REWRITE_USES` front requests (one coincidence is no configuration);
- no request id ties either request to another request (:func:`proxy_headers.id_owners`).

Links are made only when unambiguous: each upstream request has exactly one front request it
could belong to, and each front request's candidates are at most one answered upstream request
plus unanswered ones before it (a proxy retries only a request that failed; a retry is two
links). A request id both carry settles it. Concurrent identical requests are otherwise told
apart by elimination: a front request causes at most one answered upstream request (no
mirroring), so when one answered upstream request can only be front request F's, F is no
candidate for the other answered ones; repeated until nothing changes. Such links say ``by
elimination``.

Requests inferred from TLS records (a front leg without its key log) are never matched: they
have no method and no path, and timing alone cannot tell a request the proxy forwarded from the
host's own traffic (see ``katui.analysis.findings.races`` for what such a race then says).
"""

from __future__ import annotations

from bisect import bisect_left
from collections import Counter, defaultdict
from dataclasses import dataclass

from katui.analysis.proxy_headers import IdKey, aliases, endpoint_host, id_owners, request_id
from katui.analysis.proxy_overlap import UpstreamSpans
from katui.http.trace import host_key
from katui.model import Connection, Exchange

MAX_ELIMINATION_PASSES = 16
"""Bound on the elimination passes (each pass is linear in the candidate pairs)."""
MAX_PREFIX_SEGMENTS = 8
"""Leading path segments a proxy may strip (a longer hostile path is not cut further)."""
MAX_REWRITE_DEPTH = 2
"""Leading segments a proxy may replace (``/api/v2/x`` -> ``/v1/x`` replaces two)."""
MIN_REWRITE_USES = 2
"""Front requests that must show the same prefix replacement before any is linked by it."""

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
    owners = id_owners(conns)
    host_proxies = possible_proxies(conns)
    alias = aliases(conns, owners, {endpoint_host(s) for s in host_proxies})
    may_proxy = host_proxies | set(alias.values())
    ctx = _Context(owners, alias, {endpoint_host(s) for s in may_proxy})
    upstream = [
        c for c in conns if (host := endpoint_host(c.client)) in ctx.proxy_hosts or host in alias
    ] if ctx.proxy_hosts or alias else []  # fmt: skip
    spans = UpstreamSpans(upstream, alias)
    fronts = [
        (c, e)
        for c in conns
        if c.server in may_proxy and spans.may_have_upstream(c)
        for e in c.exchanges
        if e.req >= 0
    ]
    index = request_index(upstream) if fronts else {}
    found = {(c.stream, e.n): (c, e, same_path(c, e, index, ctx)) for c, e in fronts}
    claimed = {(uc.stream, ue.n) for _, _, f in found.values() for (uc, ue), _ in f}
    for c, e in fronts:
        if not found[c.stream, e.n][2]:
            found[c.stream, e.n] = (c, e, replaced_prefix(c, e, index, ctx, claimed))
    _drop_lone_rewrites(found)
    cands = {key: v for key, v in found.items() if v[2]}
    fronts_of: dict[tuple[int, int], set[tuple[int, int]]] = defaultdict(set)
    for key, (_, _, f) in cands.items():
        for (uc, ue), _ in f:
            fronts_of[uc.stream, ue.n].add(key)
    narrowed = eliminate(cands, fronts_of)
    out = []
    for key, (fc, fe, f) in sorted(cands.items()):
        if any(fronts_of[uc.stream, ue.n] != {key} for (uc, ue), _ in f):
            continue  # an upstream request that could belong to another front request too
        f.sort(key=lambda r: r[0][1].request.start_ns)
        if any(ue.response is not None for (_, ue), _ in f[:-1]):
            continue  # an answered upstream request followed by another: not a retry chain
        keys = {key} | {(uc.stream, ue.n) for (uc, ue), _ in f}
        out.append(Match((fc, fe), tuple(f), frozenset(keys & narrowed)))
    return out


@dataclass(frozen=True, slots=True)
class _Context:
    owners: dict[IdKey, Req]
    """Request id -> the request it ties the others to (:func:`proxy_headers.id_owners`)."""
    alias: dict[str, str]
    """Host key -> proxy, for the hosts a request id shows to be another address of a proxy."""
    proxy_hosts: set[str]
    """Host keys of the proxies' front addresses."""


def _drop_lone_rewrites(found) -> None:
    """Keep prefix replacements the proxy made for at least MIN_REWRITE_USES front requests."""
    uses: Counter = Counter()
    for c, _, f in found.values():
        for rewrite in {rw for _, rw in f if rw[1]}:
            uses[c.server, rewrite] += 1
    for key, (c, e, f) in found.items():
        if any(rw[1] and uses[c.server, rw] < MIN_REWRITE_USES for _, rw in f):
            found[key] = (c, e, [])


def same_host(a: str, b: str) -> bool:
    """True when two addresses are one machine's as far as a capture can tell: equal (an
    IPv4-mapped IPv6 address equals its IPv4 one), or both loopback."""
    return host_key(a) == host_key(b)


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
    while i > 0 and len(out) <= MAX_PREFIX_SEGMENTS:
        out.append((uri[i:], uri[:i]))
        i = uri.find("/", i + 1, end)
    return out


def has_segment(tail: str) -> bool:
    """True when a path tail holds a path segment, not just '/' and a query (``/?page=2``)."""
    return len(tail.split("?", 1)[0]) > 1


REWRITTEN = "\x00"
"""Marks the index keys of path tails (:func:`request_index`); no request target holds a NUL."""


def request_index(conns: list[Connection]) -> dict[tuple[str, str], tuple[list[int], list[Req]]]:
    """(method, uri) -> requests sorted by their first frame's time (start times alongside);
    also (method, NUL + tail) for each tail of the path after one to MAX_REWRITE_DEPTH leading
    segments (``/v1/x`` under ``/x``), to find the prefix a proxy put in place of another."""
    rows: dict[tuple[str, str], list[tuple[int, int, Req]]] = defaultdict(list)
    for c in conns:
        for e in c.exchanges:
            r = e.request
            if r is not None:
                item = (r.start_ns, c.stream, (c, e))
                rows[r.method, r.uri].append(item)
                for tail, _ in path_suffixes(r.uri)[1 : MAX_REWRITE_DEPTH + 1]:
                    if has_segment(tail):
                        rows[r.method, REWRITTEN + tail].append(item)
    index = {}
    for key, items in rows.items():
        items.sort(key=lambda t: (t[0], t[1]))
        index[key] = ([t[0] for t in items], [t[2] for t in items])
    return index


def possible_proxies(conns: list[Connection]) -> set[str]:
    """Servers whose host also opens connections to other servers (only their requests are
    matched: a capture of clients and servers on different hosts costs one pass)."""
    servers_of: dict[str, set[str]] = defaultdict(set)
    for c in conns:
        servers_of[endpoint_host(c.client)].add(c.server)
    return {s for s in {c.server for c in conns} if servers_of.get(endpoint_host(s), set()) - {s}}


def same_path(c: Connection, e: Exchange, index, ctx: _Context) -> list[tuple[Req, Rewrite]]:
    """Upstream requests front request ``e`` on ``c`` may have caused with the same path, or
    the path less a prefix; narrowed to those carrying its request id when any does."""
    out: list[tuple[Req, Rewrite]] = []
    for path, prefix in path_suffixes(e.request.uri):
        for r in _in_window(c, e, index.get((e.request.method, path)), ctx):
            out.append((r, (prefix, "")))
    return _by_id(e, out)


def replaced_prefix(c: Connection, e: Exchange, index, ctx: _Context, claimed) -> list[tuple[Req, Rewrite]]:
    """Upstream requests front request ``e`` on ``c`` may have caused with its path's prefix
    replaced, one per upstream request (its longest shared tail), leaving out the ones another
    front request has a same-path claim on (``claimed``: their (stream, n))."""
    out: list[tuple[Req, Rewrite]] = []
    seen: set[int] = set()
    for path, prefix in path_suffixes(e.request.uri):
        if not has_segment(path):
            continue
        for r in _in_window(c, e, index.get((e.request.method, REWRITTEN + path)), ctx):
            added = r[1].request.uri[: -len(path)]
            if id(r[1]) in seen or (r[0].stream, r[1].n) in claimed or added == prefix:
                continue
            seen.add(id(r[1]))
            out.append((r, (prefix, added)))
    return _by_id(e, out)


def _by_id(e: Exchange, found: list[tuple[Req, Rewrite]]) -> list[tuple[Req, Rewrite]]:
    """The candidates carrying the front request's id, when any does; else all of them."""
    own = request_id(e.request)
    tied = [r for r in found if own is not None and request_id(r[0][1].request) == own]
    return tied or found


def _in_window(c: Connection, e: Exchange, found, ctx: _Context) -> list[Req]:
    """Of ``found`` (an index entry), the upstream requests that fit front request ``e``'s
    time window and hosts, and that no request id ties to another request."""
    if found is None:
        return []
    req, resp = e.request, e.response
    lo = req.start_ns
    hi = resp.start_ns if resp is not None else c.end_ns
    proxy_host = endpoint_host(c.server)
    starts, reqs = found
    out = []
    for i in range(bisect_left(starts, lo), len(starts)):
        if starts[i] >= hi:
            break
        uc, ue = reqs[i]
        if uc is c or uc.server == c.server:
            continue
        up_host = endpoint_host(uc.client)
        if up_host != proxy_host and ctx.alias.get(up_host) != c.server:
            continue
        owner = ctx.owners.get(request_id(ue.request))
        # (requests compared by message row: an exchange is made anew each time it is read)
        if owner is not None and owner[1].req != e.req and owner[0].server == c.server:
            continue  # its id ties it to another request to this proxy
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
