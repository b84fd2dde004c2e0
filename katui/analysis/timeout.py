"""Infer each server's keep-alive idle timeout from how connections ended and were reused.

Estimates are per server endpoint: a capture often holds several servers (a browser page load,
a proxy's upstreams) with different timeouts, and mixing them gives numbers true of none.
"""

from __future__ import annotations

import re
import statistics
from collections import Counter, defaultdict

from katui.analysis.verdicts import SERVER_IDLE_NS
from katui.model import Connection, TimeoutEstimate

_TIMEOUT = re.compile(r"timeout\s*=\s*(\d+(?:\.\d+)?)", re.I)
NONE = TimeoutEstimate(None, None, None, None, 0, None)


def estimate_server_timeouts(conns: list[Connection]) -> list[TimeoutEstimate]:
    """One estimate per server that showed any evidence, the best-evidenced first."""
    by_server: dict[str, list[Connection]] = defaultdict(list)
    for c in conns:
        by_server[c.server].append(c)
    out = [_estimate(server, cs) for server, cs in by_server.items()]
    out = [t for t in out if t.samples or t.advertised_s is not None]
    out.sort(key=lambda t: (-t.samples, t.advertised_s is None, t.server))
    return out


def main_timeout(timeouts: list[TimeoutEstimate]) -> TimeoutEstimate:
    """The estimate to headline: the server with the most idle closes."""
    return timeouts[0] if timeouts and timeouts[0].samples else NONE


def _estimate(server: str, conns: list[Connection]) -> TimeoutEstimate:
    """Bracket one server's idle timeout.

    * ``high``: the shortest idle stretch after which the server closed: the timeout is at most
      that (nginx closes a few ms after ``keepalive_timeout`` expires);
    * ``low``: the longest idle stretch after which a reused request still got its response:
      the timeout is longer than that;
    * ``estimate``: the median server idle-close gap, rounded to the nearest 100 ms when >= 1 s.
    """
    closes = [c.close.idle_before_ns for c in conns if server_idle_close(c)]
    survived = [e.idle_before_ns for c in conns for e in c.exchanges
                if e.reused and e.response is not None and e.idle_before_ns is not None]
    high = min(closes) if closes else None
    if high is not None:
        survived = [s for s in survived if s < high]
    low = max(survived) if survived else None
    est = None
    if closes:
        med = int(statistics.median(closes))
        est = round(med, -8) if med >= 1_000_000_000 else med
    return TimeoutEstimate(est, low, high, _advertised(conns), len(closes), server)


def server_idle_close(c: Connection) -> bool:
    """True when the server ended ``c`` with a FIN after an idle stretch (its idle timeout).

    A stale-reuse connection counts too: its server FIN is the idle close the client missed.
    """
    cl = c.close
    if cl.by != "server" or cl.how != "fin" or cl.idle_before_ns is None:
        return False
    return cl.reason == "idle-timeout" or (
        cl.reason == "stale-reuse" and cl.idle_before_ns >= SERVER_IDLE_NS)


def _advertised(conns: list[Connection]) -> float | None:
    seen: Counter[float] = Counter()
    for c in conns:
        for e in c.exchanges:
            r = e.response
            if r is not None and r.keep_alive:
                m = _TIMEOUT.search(r.keep_alive)
                if m:
                    seen[float(m.group(1))] += 1
    return seen.most_common(1)[0][0] if seen else None
