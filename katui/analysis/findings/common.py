"""What the finding rules share: grouping, wording, the safe client idle timeout."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from operator import attrgetter

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
    """``1.2.3.4`` of ``1.2.3.4:80``, ``[::1]`` of ``[::1]:80`` (what ``rsplit(":", 1)[0]``
    gives, with one string made instead of three)."""
    i = endpoint.rfind(":")
    return endpoint if i < 0 else endpoint[:i]


def server_words(conns: list[Connection], server: str) -> str:
    sw = server_software(conns)
    return f"{server} ({sw.name})" if sw else server


by_start = attrgetter("start_ns")
"""Sort key of connections by their first frame's time."""


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


def proxy_software(conns: list[Connection], proxy: str, upstream_of: dict[int, str]) -> Software | None:
    """The proxy's software, from its front responses' ``Server`` header, unless a backend of
    it sends the same header: HAProxy passes the backend's on (nginx replaces it with its own),
    so then the header names the backend, not the proxy."""
    sw = server_software([c for c in conns if c.server == proxy])
    if sw is None:
        return None
    backends = by_server_of(c for c in conns if upstream_of.get(c.stream) == proxy)
    if any((b := server_software(cs)) is not None and b.header == sw.header for cs in backends.values()):
        return None
    return sw


def proxy_fix(
    conns: list[Connection], proxy: str, upstream_of: dict[int, str], t: TimeoutEstimate | None
) -> str:
    """What to change when proxy ``proxy`` reuses upstream connections its backend (whose
    timeout estimate is ``t``) is closing, in the proxy's own words when its software is known."""
    sw = proxy_software(conns, proxy, upstream_of)
    backend = f" ({t.software} {t.setting})" if t is not None and t.setting else ""
    if sw is not None and sw.name == "HAProxy":
        return ("HAProxy has no per-connection idle timeout for its server connections "
                "(pool-purge-delay closes half of the idle ones each interval, so one can stay "
                f"idle longer): raise the backend's idle timeout{backend} well above "
                "pool-purge-delay, or let HAProxy retry such requests (retry-on conn-failure "
                "empty-response)")  # fmt: skip
    safe = safe_idle_s(t) if t is not None else None
    below = f" below {safe:g} s" if safe is not None else " below the backend's"
    name = sw.setting("upstream-idle") if sw is not None else None
    setting = (f"its upstream keep-alive timeout ({sw.name} {name})" if name else
               "its upstream keep-alive timeout (nginx: keepalive_timeout inside the upstream "
               "block; HAProxy has none per connection: pool-purge-delay, retry-on)")  # fmt: skip
    return f"set {setting}{below}, or raise the backend's idle timeout{backend} above the proxy's"
