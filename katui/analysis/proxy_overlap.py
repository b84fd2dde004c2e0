"""Which front connections of a possible proxy overlap in time with a connection the proxy's
host opened to another server: only their requests can have caused upstream requests.

A loopback capture with two servers and no proxy makes each server look like a proxy in front
of the other (one host opens connections to both); matching every request of such a capture
cost ~30 us a request (25 s on 600 000 connections). An upstream request caused by a front
request starts inside the front request's window, which lies inside its connection's life, and
inside its own connection's life: so without an overlapping upstream connection a front
connection has nothing to match, and its requests are skipped without changing a link.
"""

from __future__ import annotations

import heapq
from array import array
from bisect import bisect_left, bisect_right
from collections import defaultdict

from katui.analysis.proxy_headers import endpoint_host
from katui.model import Connection


class UpstreamSpans:
    """The life spans of the connections that may carry upstream requests, counted by client
    host and by (client host, server): overlap queries in O(log n)."""

    def __init__(self, upstream: list[Connection], alias: dict[str, str]) -> None:
        times: dict[tuple[str, str], tuple[array, array]] = {}
        for c in upstream:
            key = (endpoint_host(c.client), c.server)
            got = times.get(key)
            if got is None:
                got = times[key] = (array("q"), array("q"))
            got[0].append(c.start_ns)
            got[1].append(c.end_ns)
        # Sorted per (host, server), then merged per host: no list of every upstream
        # connection, nor of all their times at once (a loopback load test's 600 000
        # connections are all upstream candidates: ~60 MB at its peak).
        self._pair = {k: (_sorted(times[k][0]), _sorted(times.pop(k)[1])) for k in list(times)}
        pairs_of: dict[str, list[tuple[array, array]]] = defaultdict(list)
        for (host, _), spans in self._pair.items():
            pairs_of[host].append(spans)
        self._host = {h: ps[0] if len(ps) == 1 else _merged(ps) for h, ps in pairs_of.items()}
        self._aliases: dict[str, list[str]] = defaultdict(list)
        for host, proxy in alias.items():
            self._aliases[proxy].append(host)

    def may_have_upstream(self, front: Connection) -> bool:
        """True when a connection from the proxy's host (or a second address of the proxy) to
        another server was open at some time ``front`` was (ends included)."""
        lo, hi = front.start_ns, front.end_ns
        for host in (endpoint_host(front.server), *self._aliases.get(front.server, ())):
            spans = self._host.get(host)
            if spans is None:
                continue
            own = self._pair.get((host, front.server))
            if _overlapping(spans, lo, hi) - (_overlapping(own, lo, hi) if own else 0) > 0:
                return True
        return False


def _sorted(times: array) -> array:
    """``times`` sorted, as a 64-bit array (8 bytes a time, not an int object and a pointer)."""
    return array("q", sorted(times))


def _merged(spans: list[tuple[array, array]]) -> tuple[array, array]:
    """The (start times, end times) of several sorted spans merged, still sorted."""
    return array("q", heapq.merge(*(s for s, _ in spans))), array("q", heapq.merge(*(e for _, e in spans)))


def _overlapping(spans: tuple[array, array], lo: int, hi: int) -> int:
    """How many spans meet [lo, hi]: those starting by ``hi`` less those ended before ``lo``."""
    starts, ends = spans
    return bisect_right(starts, hi) - bisect_left(ends, lo)
