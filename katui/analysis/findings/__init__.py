"""Capture-wide verdicts in plain language: one finding per kind and server (and client where it
matters), with how many connections it covers, all their streams, a few examples and advice.

No false findings: each claim follows from what the capture shows (a connection reset right
after its last response is not a problem; single-request connections are not evidence of a
client that does not reuse connections unless an idle one to the same server was open).
"""

from __future__ import annotations

from katui.analysis.findings.closes import _closes, _damage, _error_statuses, _unanswered
from katui.analysis.findings.common import _ORDER, safe_idle_s
from katui.analysis.findings.pools import (
    _client_timeout,
    _connection_close,
    _http10,
    _no_reuse,
    _request_limit,
    _reuse,
    _server_timeout,
)
from katui.analysis.findings.races import _proxy_races, _refused_at_limit, _stale
from katui.analysis.proxy import ProxyReport, find_proxy_links
from katui.model import Connection, Finding, TimeoutEstimate

__all__ = ["findings", "safe_idle_s"]


def findings(
    conns: list[Connection], timeouts: list[TimeoutEstimate], proxied: ProxyReport | None = None
) -> list[Finding]:
    """Every finding, problems first. ``timeouts`` are the per-server idle timeout estimates,
    ``proxied`` the proxy links (found here when not given)."""
    by_server = {t.server: t for t in timeouts}
    if proxied is None:
        proxied = find_proxy_links(conns)
    # (Long stream lists are kept as Streams, 4 bytes a number: see Finding.)
    out: list[Finding] = _proxy_races(conns, by_server, proxied)
    raced = {r.stream for r in proxied.races if r.outcome != "unlinked"}
    upstream_of = proxied.upstream_proxy()
    out += _error_statuses(conns, proxied)
    for rule in (_stale, _refused_at_limit, _closes, _server_timeout, _client_timeout,
                 _request_limit, _connection_close, _http10, _reuse, _no_reuse, _unanswered,
                 _damage):  # fmt: skip
        if rule is _stale:  # upstream races are told from both legs by _proxy_races
            out += rule([c for c in conns if c.stream not in raced], by_server, upstream_of)
        elif rule in (_server_timeout, _client_timeout, _no_reuse):
            out += rule(conns, by_server, upstream_of)
        else:
            out += rule(conns, by_server)
    out.sort(key=lambda f: _ORDER[f.severity])
    return out
