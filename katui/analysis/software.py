"""Which software a server or client is, from its headers, and which settings govern what it did.

Advice names the setting only when the software is known: nginx's words for an Apache server
would send a user to the wrong config file.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from katui.http.lines import VIA
from katui.model import Connection
from katui.model.exchange import columns
from katui.textsafe import ascii_lower

SAMPLE = 200
"""Messages looked at per endpoint: a server's or client's headers do not change."""


@dataclass(frozen=True, slots=True)
class Software:
    """A server or client program as its headers name it."""

    name: str
    """Display name, e.g. ``nginx``, ``Apache httpd``, ``likely Node.js``."""
    header: str
    """What identified it (``Server: nginx/1.22.1``, or the header shape)."""
    idle_setting: str | None = None
    """The setting for its keep-alive idle timeout (servers) or pool idle timeout (clients)."""
    limit_setting: str | None = None
    """The setting for its per-connection request limit, if it has one."""
    closes_late: float = 0.0
    """Seconds it deliberately closes after its advertised ``Keep-Alive: timeout`` (Node: 1)."""
    no_idle_timeout: bool = False
    """A client known to keep idle pooled connections until the program closes them (requests,
    curl, ab): a close after idle is the program's doing, not a pool timeout."""
    settings: tuple[tuple[str, str], ...] = ()
    """Other settings by topic: ``body-limit``, ``send-timeout``, ``request-timeout``,
    ``keep-alive-off``, ``upstream-idle`` (a proxy's idle connections to its backends)."""

    def setting(self, topic: str) -> str | None:
        """The setting for ``topic`` (see :attr:`settings`), or None when unknown."""
        return dict(self.settings).get(topic)


def setting_phrase(sw: Software | None, topic: str, generic: str) -> str:
    """``nginx client_max_body_size`` when the software and its setting are known, else
    ``generic``: never one server's setting names for another's."""
    name = sw.setting(topic) if sw is not None else None
    return f"{sw.name} {name}" if name else generic


_SERVERS = (
    # Server header prefix, name, idle timeout, request limit, other settings
    ("nginx", "nginx", "keepalive_timeout", "keepalive_requests", (
        ("body-limit", "client_max_body_size"), ("send-timeout", "send_timeout"),
        ("request-timeout", "client_header_timeout / client_body_timeout"),
        ("keep-alive-off", "keepalive_timeout 0"),
        ("upstream-idle", "keepalive_timeout inside the upstream block"))),
    ("apache", "Apache httpd", "KeepAliveTimeout", "MaxKeepAliveRequests", (
        ("body-limit", "LimitRequestBody"), ("send-timeout", "Timeout"),
        ("request-timeout", "RequestReadTimeout (mod_reqtimeout)"),
        ("keep-alive-off", "KeepAlive Off"))),
    ("uvicorn", "uvicorn", "--timeout-keep-alive", None, ()),
    ("gunicorn", "gunicorn", "--keep-alive", None, (
        ("keep-alive-off", "the sync worker (no keep-alive; use -k gthread)"),)),
    ("haproxy", "HAProxy", "timeout http-keep-alive", None, (
        ("request-timeout", "timeout http-request"), ("send-timeout", "timeout client"),
        ("keep-alive-off", "option httpclose"))),
    ("envoy", "Envoy", "common_http_protocol_options.idle_timeout", "max_requests_per_connection", ()),
    ("microsoft-iis", "IIS", "connectionTimeout", None, ()),
    ("caddy", "Caddy", "idle_timeout", None, ()),
)  # fmt: skip
_PROXIES = (
    # Via's pseudonym or comment (lower case, contains), name, client idle timeout setting
    ("varnish", "Varnish", "timeout_idle"),
    ("squid", "Squid", "client_idle_pconn_timeout"),
    ("apachetrafficserver", "Apache Traffic Server", "proxy.config.http.keep_alive_no_activity_timeout_in"),
    ("cloudfront", "Amazon CloudFront", None),
    ("google", "a Google front end", None),
)  # fmt: skip


def via_software(value: str) -> Software:
    """The proxy a response's ``Via`` header names in its last entry (the hop nearest the
    client; e.g. ``1.1 varnish (Varnish/7.1)``), as the software of the connection's server end.
    Hedged ("likely"): a proxy that adds no Via (nginx, HAProxy) may stand in front of it. Its
    Server header is not read: such proxies pass the origin's on."""
    entry = value.rsplit(",", 1)[-1].strip()
    low = ascii_lower(entry)
    for key, name, idle in _PROXIES:
        if key in low:
            return Software(f"likely {name}", f"Via: {entry}", idle)
    return Software(f"a proxy ({entry[:40]})", f"Via: {entry}")


_NODE = Software(
    "likely Node.js",
    "no Server header, 'Keep-Alive: timeout=N' as Node's http server sends it",
    "server.keepAliveTimeout",
    "server.maxRequestsPerSocket",
    closes_late=1.0,
    settings=(("request-timeout", "server.headersTimeout / server.requestTimeout"),),
)
_CLIENTS = (
    # User-Agent part, name, pool idle timeout setting ("" : it has none)
    ("python-requests", "requests (urllib3)", ""),
    ("python-httpx", "httpx", "Limits(keepalive_expiry=...)"),
    ("aiohttp", "aiohttp", "TCPConnector(keepalive_timeout=...)"),
    ("curl", "curl", ""),
    ("apachebench", "ab", ""),
    ("go-http-client", "Go net/http", "Transport.IdleConnTimeout"),
    ("okhttp", "OkHttp", "ConnectionPool keepAliveDuration"),
)
_WHOLE_AGENTS = {
    # The whole User-Agent (lower case): name, pool idle setting. Node's fetch() is undici and
    # sends exactly 'node' (Node 20); http.request sends none. Agents merely containing 'node'
    # (npm, aws-sdk-nodejs, superagent, 'node/v20') are not it and keep their own names.
    "node": ("Node.js fetch/undici", "Agent keepAliveTimeout"),
}
BROWSER = "web browser"
"""The client name of a browser's User-Agent (:func:`_browser`)."""
_BROWSER_TOKENS = (
    "gecko",
    "applewebkit/",
    "khtml",
    "firefox/",
    "chrome/",
    "safari/",
    "msie ",
    "trident/",
    "opera",
)
_NOT_BROWSERS = ("bot", "spider", "crawl", "powershell", "headless", "python", "curl", "java")
_AGENT_PRODUCTS = {
    # The User-Agent's first product token: name, pool idle setting ('undici': undici from npm,
    # and Node 18's early fetch).
    "undici": ("undici", "Agent keepAliveTimeout"),
    "node-fetch": ("node-fetch", "http.Agent({keepAlive: true, timeout})"),
}
_POOL_OBJECTS = {
    # Software.name: the object that is a client's connection pool
    "requests (urllib3)": "one requests.Session",
    "httpx": "one httpx.Client (or AsyncClient)",
    "aiohttp": "one shared aiohttp ClientSession",
    "Go net/http": "one shared http.Client (its Transport is the pool; not one per request)",
    "OkHttp": "one shared OkHttpClient",
    "Node.js fetch/undici": "one undici dispatcher (fetch's global one, or one shared Agent)",
}


def pool_object(sw: Software | None) -> str:
    """What to share for connection reuse, in the client's own terms where it is known."""
    got = _POOL_OBJECTS.get(sw.name) if sw is not None else None
    return got or ("one connection pool (requests.Session, httpx.Client, a shared aiohttp ClientSession)")


RACE_ERRORS = {
    "requests (urllib3)": "'Connection aborted'",
    "httpx": "'Server disconnected without sending a response'",
    "Node.js fetch/undici": "'fetch failed', cause 'other side closed' (UND_ERR_SOCKET) or ECONNRESET",
}
"""What a client program reports for a request lost to the keep-alive race (the samples/real
logs: clients-stale-*, node-fetch-race, where the server's FIN came before its reset; a reset
alone reads ECONNRESET), by :attr:`Software.name`; Node's ``http.request`` (no User-Agent) says
``socket hang up`` (node-agent-race) or ``read ECONNRESET``."""


def server_software(conns: list[Connection]) -> Software | None:
    """The software of the server endpoint these connections went to (None: not identifiable)."""
    names: Counter[str] = Counter()
    node_shape = seen = 0
    http2 = False
    for c in conns:
        for e in c.exchanges:
            if e.resp < 0:
                continue
            head = e.store.text(e.resp)  # shared strings: no message object per response
            http2 = http2 or head.version == "HTTP/2"
            if head.software:
                names[head.software] += 1
            elif head.keep_alive and head.connection == "keep-alive":
                # Node's http server: no Server header, 'Connection: keep-alive' and
                # 'Keep-Alive: timeout=N' on every keep-alive response.
                node_shape += 1
            seen += 1
        if seen >= SAMPLE:
            break
    if names:
        header, _ = names.most_common(1)[0]
        if header.startswith(VIA):
            return via_software(header[len(VIA) :])
        low = ascii_lower(header)  # (a product name is ASCII: see ascii_lower)
        for key, name, idle, limit, more in _SERVERS:
            if low.startswith(key):
                if key == "nginx" and http2:
                    idle, limit = nginx_http2_settings(header)
                return Software(name, f"Server: {header}", idle, limit, settings=more)
        return Software(header.split("/")[0][:40], f"Server: {header}")
    if node_shape:
        return _NODE
    return None


NGINX_H2_KEEPALIVE = (1, 19, 7)
"""From this nginx version on, HTTP/2 connections obey ``keepalive_timeout`` and
``keepalive_requests``; before it, ``http2_idle_timeout`` and ``http2_max_requests``."""


def nginx_http2_settings(header: str) -> tuple[str, str]:
    """The idle-timeout and request-limit settings of an nginx serving HTTP/2, by the version
    its ``Server`` header names (``nginx/1.22.1``; both names when it names none)."""
    parts = header.partition("/")[2].split(".")
    version = tuple(int(p) for p in parts[:3] if p.isdigit()) if len(parts) >= 3 else ()
    if len(version) == 3 and version >= NGINX_H2_KEEPALIVE:
        return "keepalive_timeout", "keepalive_requests"
    if len(version) == 3:
        return "http2_idle_timeout", "http2_max_requests"
    return ("keepalive_timeout (http2_idle_timeout before 1.19.7)",
            "keepalive_requests (http2_max_requests before 1.19.7)")  # fmt: skip


def client_software(conns: list[Connection]) -> Software | None:
    """The client program these connections came from, by its User-Agent (None: unknown; a
    request a proxy forwarded does not count: its User-Agent is the proxy's client's)."""
    agents: Counter[str] = Counter()
    seen = 0
    for c in conns:
        run = columns(c.exchanges)  # read as columns: no object per exchange
        for k in range(len(run)):
            req = run.req_at(k)
            if req >= 0 and not _forwarded(run.store.traces.get(req)):
                agent = run.store.text(req).software
                if agent:
                    agents[agent] += 1
                seen += 1
        if seen >= SAMPLE:
            break
    if not agents:
        return None
    agent, _ = agents.most_common(1)[0]
    low = ascii_lower(agent)
    if _browser(low):
        return Software(BROWSER, f"User-Agent: {agent}")
    product = _WHOLE_AGENTS.get(low) or _AGENT_PRODUCTS.get(low.split("/", 1)[0].split(" ", 1)[0])
    if product is not None:
        return Software(product[0], f"User-Agent: {agent}", product[1])
    for key, name, idle in _CLIENTS:
        if key in low:
            return Software(name, f"User-Agent: {agent}", idle or None, no_idle_timeout=idle == "")
    return Software(agent.split("/")[0][:40], f"User-Agent: {agent}")


def _browser(low: str) -> bool:
    """A browser's User-Agent (lower case): ``Mozilla/`` and a browser engine's token, and
    none of a crawler's, PowerShell's or a script's (they send ``Mozilla/5.0 (...)`` too)."""
    return (
        low.startswith("mozilla/")
        and any(t in low for t in _BROWSER_TOKENS)
        and not any(t in low for t in _NOT_BROWSERS)
    )


def _forwarded(t) -> bool:
    """A request (its :class:`~katui.model.store.Trace`) that names a client it was forwarded
    for (``X-Forwarded-For``, ``X-Real-IP``, ``Forwarded``): a proxy sent it, with its own
    client's User-Agent, which names a program that never held this connection."""
    return t is not None and (
        t.xff_prefix_hash is not None or t.real_ip is not None or t.forwarded_last is not None
    )


CLIENTS_LOOKED_AT = 50
"""Connections whose User-Agent is read by :func:`one_client_software`."""


def one_client_software(conns: list[Connection]) -> Software | None:
    """The client software of ``conns`` when the first ``CLIENTS_LOOKED_AT`` of them (only those
    are read: a load test's thousands of connections cost nothing more) all name the same one,
    else None: advice names a client's setting only then (a second client would be sent to the
    wrong setting)."""
    found = {client_software([c]) for c in conns[:CLIENTS_LOOKED_AT]}
    return found.pop() if len(found) == 1 else None


def client_pool_setting(conns: list[Connection]) -> str:
    """`` (Go net/http Transport.IdleConnTimeout)``: the pool idle-timeout setting of the one
    known client of ``conns`` (:func:`one_client_software`), to name in advice; '' if none."""
    sw = one_client_software(conns)
    return f" ({sw.name} {sw.idle_setting})" if sw is not None and sw.idle_setting else ""
