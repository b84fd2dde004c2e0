"""What the finding rules share: grouping, wording, the safe client idle timeout."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from katui.analysis.software import Software, server_software, setting_phrase
from katui.model import Connection, Finding, TimeoutEstimate

MIN_POOL_IDLE_NS = 100_000_000
"""A connection idle at least this long when its client opens another to the same server is a
pool miss ('not reusing connections'); shorter, the new one was decided before it went idle."""
EXAMPLES = 3
"""Example sentences quoted in a grouped finding."""
RETRY_WINDOW_NS = 1_000_000_000
"""A request repeated by the same client host this soon after a reset counts as its retry."""
_ORDER = {"problem": 0, "warning": 1, "info": 2}


def safe_idle_s(t: TimeoutEstimate) -> float | None:
    """A client pool idle timeout that stays below every idle close seen from this server: the
    shortest close minus a margin for RTT and timer jitter (10 %, at least 50 ms), rounded down
    to 0.1 s."""
    if t.high_ns is None:
        return None
    high = t.high_ns / 1e9
    safe = high - max(0.1 * high, 0.05)
    return int(safe * 10) / 10 if safe >= 1 else round(safe, 2)


def secs(ns: int) -> str:
    """``5 s`` / ``4.9 s`` for a timeout estimate (at most 0.1 s precision)."""
    return f"{round(ns / 1e9, 1):g} s"


def grouped_finding(
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


def fill(advice: str, sw: Software | None) -> str:
    """Name the server's own setting in ``advice`` where the software is known."""
    for mark, (topic, generic) in _TOPICS.items():
        advice = advice.replace(mark, setting_phrase(sw, topic, generic))
    return advice


def by_server_of(conns: Iterable[Connection]) -> dict[str, list[Connection]]:
    out: dict[str, list[Connection]] = defaultdict(list)
    for c in conns:
        out[c.server].append(c)
    return out


def host_of(endpoint: str) -> str:
    """``1.2.3.4`` of ``1.2.3.4:80``, ``[::1]`` of ``[::1]:80``."""
    return endpoint.rsplit(":", 1)[0]


def server_words(conns: list[Connection], server: str) -> str:
    sw = server_software(conns)
    return f"{server} ({sw.name})" if sw else server


def by_pair(conns):
    out = defaultdict(list)
    for c in conns:
        out[(host_of(c.client), c.server)].append(c)
    return out


def by_key(conns, key) -> dict:
    out: dict = defaultdict(list)
    for c in conns:
        out[key(c)].append(c)
    return out


UPSTREAM_IDLE_GENERIC = (
    "its upstream keep-alive timeout (nginx: keepalive_timeout inside the upstream block; "
    "HAProxy: pool-purge-delay on the server line)"
)


def proxy_upstream_setting(
    conns: list[Connection], proxy: str | None, roles: dict[int, tuple[str, str]]
) -> str:
    """How to name proxy ``proxy``'s upstream idle timeout: its own setting when its software
    is known from its front responses (``its upstream keep-alive timeout (nginx
    keepalive_timeout inside the upstream block)``), else the common proxies' settings.

    A front ``Server`` header equal to the backends' says nothing about the proxy: HAProxy
    passes the backend's on (nginx replaces it with its own)."""
    front = [c for c in conns if c.server == proxy] if proxy else []
    sw = server_software(front) if front else None
    if sw is not None:
        upstream = [c for c in conns if roles.get(c.stream) == ("upstream", proxy)]
        backend = server_software(upstream) if upstream else None
        if backend is not None and backend.header == sw.header:
            sw = None
    name = sw.setting("upstream-idle") if sw is not None else None
    return f"its upstream keep-alive timeout ({sw.name} {name})" if name else UPSTREAM_IDLE_GENERIC
