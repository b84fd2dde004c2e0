"""Per-server summary: what each server endpoint's connections did with keep-alive.

Pure Python (no Textual). One pass over the connections gathers, per server endpoint, the
counts the summary view and its histograms need; the timeout estimate is the analysis's own
(:class:`katui.model.TimeoutEstimate`), not inferred again here.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from katui.model import Connection, TimeoutEstimate


@dataclass(slots=True)
class ServerSummary:
    """One server endpoint's keep-alive behaviour in the capture."""

    server: str
    """The endpoint (``10.0.0.5:80``)."""
    connections: int = 0
    """Connections to it."""
    requests: int = 0
    """HTTP requests on them."""
    reused: int = 0
    """Requests that rode on a connection that had already carried one."""
    per_connection: Counter = field(default_factory=Counter)
    """Requests per connection -> number of connections."""
    closes: Counter = field(default_factory=Counter)
    """(closed by, how, reason) -> connections (``open`` for connections still open)."""
    resets: int = 0
    """Connections with an RST (as their close or after a FIN)."""
    errors: Counter = field(default_factory=Counter)
    """Error status (4xx, 5xx) -> responses."""
    idle_before_reuse_ns: list[int] = field(default_factory=list)
    """Idle time before each reused request."""
    idle_before_close_ns: list[int] = field(default_factory=list)
    """Idle time before each idle close (``idle-timeout``, either side)."""
    timeout: TimeoutEstimate | None = None
    """The inferred idle timeout of this server, when the analysis has one."""

    @property
    def reuse_ratio(self) -> float:
        """Share of requests that reused a connection (0 without requests)."""
        return self.reused / self.requests if self.requests else 0.0


def _add(s: ServerSummary, c: Connection) -> None:
    s.connections += 1
    s.requests += c.requests
    s.per_connection[c.requests] += 1
    close = c.close
    s.closes[(close.by or "open", close.how or "", close.reason)] += 1
    if close.how == "rst" or close.rst_frames:
        s.resets += 1
    if close.reason == "idle-timeout" and close.idle_before_ns is not None:
        s.idle_before_close_ns.append(close.idle_before_ns)
    for ex in c.exchanges:
        if ex.reused:
            s.reused += 1
            if ex.idle_before_ns is not None:
                s.idle_before_reuse_ns.append(ex.idle_before_ns)
        if ex.resp >= 0:
            status = ex.store.status(ex.resp)
            if status >= 400:
                s.errors[status] += 1


def server_summaries(analysis) -> list[ServerSummary]:
    """One summary per server endpoint, the busiest first (cached in the analysis)."""
    got = analysis.cache.get("servers")
    if got is not None:
        return got
    by_server: dict[str, ServerSummary] = {}
    for c in analysis.connections:
        s = by_server.get(c.server)
        if s is None:
            s = by_server[c.server] = ServerSummary(c.server)
        _add(s, c)
    for t in analysis.timeouts:
        if t.server in by_server:
            by_server[t.server].timeout = t
    got = sorted(by_server.values(), key=lambda s: (-s.connections, s.server))
    analysis.cache["servers"] = got
    return got
