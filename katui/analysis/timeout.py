"""Infer the server's keep-alive idle timeout from how connections ended and were reused."""

from __future__ import annotations

import re
import statistics
from collections import Counter

from katui.model import Connection, TimeoutEstimate

_TIMEOUT = re.compile(r"timeout\s*=\s*(\d+(?:\.\d+)?)", re.I)


def estimate_server_timeout(conns: list[Connection]) -> TimeoutEstimate:
    """Bracket the server idle timeout.

    * ``high``: the shortest idle stretch after which the server closed: the timeout is at most
      that (nginx closes a few ms after ``keepalive_timeout`` expires);
    * ``low``: the longest idle stretch after which a connection was still reused, or the client
      closed first: the timeout is longer than that;
    * ``estimate``: the median server idle-close gap, rounded down to 100 ms when >= 1 s.
    """
    closes = [c.close.idle_before_ns for c in conns if server_idle_close(c)]
    survived = [e.idle_before_ns for c in conns for e in c.exchanges
                if e.reused and e.idle_before_ns is not None]
    survived += [c.close.idle_before_ns for c in conns
                 if c.close.by == "client" and c.close.idle_before_ns is not None
                 and c.close.reason in ("idle-timeout", "closed")]
    advertised = _advertised(conns)
    high = min(closes) if closes else None
    if high is not None:
        survived = [s for s in survived if s < high]
    low = max(survived) if survived else None
    est = None
    if closes:
        med = int(statistics.median(closes))
        est = med - med % 100_000_000 if med >= 1_000_000_000 else med
    return TimeoutEstimate(est, low, high, advertised, len(closes))


def server_idle_close(c: Connection) -> bool:
    """True when the server ended ``c`` with a FIN after an idle stretch (its idle timeout).

    A stale-reuse connection counts too: its server FIN is the idle close the client missed.
    """
    cl = c.close
    if cl.by != "server" or cl.how != "fin" or cl.idle_before_ns is None:
        return False
    return cl.reason == "idle-timeout" or (cl.reason == "stale-reuse" and cl.idle_before_ns >= 1e9)


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
