"""What the tracing headers (:mod:`katui.http.trace`) say about a front request and an upstream
request being one request on its two legs.

Header values are sent by clients, and proxies differ in what they pass on (nginx's
``proxy_set_header X-Request-Id $request_id`` replaces a client's id; HAProxy's ``option
forwardfor`` appends its own ``X-Forwarded-For`` line; the realip module changes what
``$remote_addr`` is). So a header that disagrees is no evidence either way; only agreement
counts:

- a request id agrees when the upstream request carries the front request's id, and that id is
  on no other front request (:func:`id_owners`): such an id ties the two requests even when the
  proxy's upstream address is not its front address (:func:`aliases`), and settles which of
  several concurrent identical requests went where;
- ``X-Forwarded-For`` agrees when the upstream request's is exactly the front request's (or
  nothing) plus the front client's address, as nginx's ``$proxy_add_x_forwarded_for`` and
  HAProxy's ``option forwardfor`` write it; ``X-Real-IP`` / ``Forwarded: for=`` when they name
  the front client. Forwarded-for agreement is only named in a link's ``how``: a client can
  write any address there, so it ties nothing on its own.
"""

from __future__ import annotations

from collections import defaultdict

from katui.http.trace import host_key
from katui.memo import remember
from katui.model import Connection, Exchange, HttpMessage
from katui.model.exchange import columns
from katui.model.store import NO_TRACE_XFF

Req = tuple[Connection, Exchange]
"""A request as the matcher sees it: its connection and exchange."""
IdKey = tuple[str, int]
"""(request-id header, hash of its value)."""


def request_id(msg: HttpMessage) -> IdKey | None:
    """The request id ``msg`` carries, or None."""
    t = msg.trace
    return None if t is None or t.id_name is None else (t.id_name, t.id_hash)


def forwarded_agrees(front: HttpMessage, client_host: str, upstream: HttpMessage) -> str | None:
    """The header in which ``upstream`` names ``front`` (sent from ``client_host``, a host key)
    as the request it forwarded, or None when none does."""
    t = upstream.trace
    if t is None:
        return None
    if t.xff_last is not None:
        received = front.trace.xff_hash if front.trace is not None else NO_TRACE_XFF
        if t.xff_last == client_host and t.xff_prefix_hash == received:
            return "x-forwarded-for"
    if t.real_ip is not None and t.real_ip == client_host:
        return "x-real-ip"
    if t.forwarded_last is not None and t.forwarded_last == client_host:
        return "forwarded"
    return None


def agreeing_headers(front: HttpMessage, client_host: str, upstream: HttpMessage) -> tuple[str, ...]:
    """The tracing headers that say ``upstream`` is ``front`` forwarded, for a link's ``how``."""
    out = []
    up_id = request_id(upstream)
    if up_id is not None and up_id == request_id(front):
        out.append(up_id[0])
    named = forwarded_agrees(front, client_host, upstream)
    if named is not None:
        out.append(named)
    return tuple(out)


def _ids(c: Connection):
    """(exchange, request id) of ``c``'s requests that carry one, read from the message store's
    sparse trace column (no message view per request: this runs over every request, and most
    captures carry no such header)."""
    exchanges = c.exchanges
    if not exchanges or not exchanges[0].store.traces:  # one store per capture
        return
    traces = exchanges[0].store.traces
    for e in exchanges:
        if e.req >= 0:
            t = traces.get(e.req)
            if t is not None and t.id_name is not None:
                yield e, (t.id_name, t.id_hash)


def _traced(conns: list[Connection]) -> bool:
    """True when a request of ``conns`` carried a request id: a trace column of their message
    stores (one per capture) is not empty."""
    store = None
    for c in conns:
        run = columns(c.exchanges)  # its store read without making an exchange
        if run and run.store is not store:
            store = run.store
            if store.traces:
                return True
    return False


def id_owners(conns: list[Connection]) -> dict[IdKey, Req]:
    """Request id -> the one request that carried it first, for the ids whose other carriers
    all started while that request was open (before its response, or before its connection's
    end) on connections to other servers: the pattern of one request and the tries a proxy
    made for it. An id repeated outside that window (a client reusing a correlation id) owns
    nothing."""
    if not _traced(conns):
        return {}  # no request carried an id (most captures): no pass over the requests
    carriers: dict[IdKey, list[tuple[int, int, Req]]] = defaultdict(list)
    for c in conns:
        for e, key in _ids(c):
            carriers[key].append((e.request.start_ns, c.stream, (c, e)))
    out = {}
    for key, items in carriers.items():
        if len(items) < 2:
            continue
        items.sort(key=lambda t: (t[0], t[1]))
        fc, fe = items[0][2]
        end = fe.response.start_ns if fe.response is not None else fc.end_ns
        if all(t[0] < end and t[2][0].server != fc.server for t in items[1:]):
            out[key] = (fc, fe)
    return out


def aliases(conns: list[Connection], owners: dict[IdKey, Req], proxy_hosts: set[str]) -> dict[str, str]:
    """Host key -> proxy (front server), for the hosts shown to be another address of a proxy
    (a proxy with one address per network): a connection from there carries the id that a
    request to that proxy owns. Like the proxy's own address, the whole host then counts as the
    proxy's upstream side. Hosts that are a proxy's front address already, or tied to two
    proxies, get none."""
    out: dict[str, str] = {}
    if not owners:
        return out  # no request id ties anything (most captures): no pass over the connections
    clash: set[str] = set()
    for c in conns:
        host = endpoint_host(c.client)
        if host in proxy_hosts:
            continue
        for _, key in _ids(c):
            owner = owners.get(key)
            if owner is None or owner[0] is c:
                continue
            if out.setdefault(host, owner[0].server) != owner[0].server:
                clash.add(host)
    return {h: p for h, p in out.items() if h not in clash}


_HOST_KEYS: dict[str, str] = {}
MAX_HOST_KEYS = 4096
"""Hosts whose key :func:`endpoint_host` remembers (a capture has a connection per client port,
from a few hosts; hostile ones may have any number of hosts: later ones are not kept)."""


def endpoint_host(endpoint: str) -> str:
    """The host key (:func:`katui.http.trace.host_key`) of ``1.2.3.4:80`` or ``[::1]:80``."""
    host = endpoint.rsplit(":", 1)[0]
    key = _HOST_KEYS.get(host)
    if key is None:  # parsing the address costs microseconds: once per host, not per connection
        bare = host[1:-1] if host.startswith("[") else host
        key = remember(_HOST_KEYS, host, host_key(bare), MAX_HOST_KEYS)
    return key
