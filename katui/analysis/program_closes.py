"""A client's idle close that its own pool idle timeout cannot explain.

A client closing a connection after an idle stretch may be its pool's idle timeout, or the
program closing it (a session or pool closed, the program ending). When the same client (host
and User-Agent) reused a connection to the same server after at least as long an idle, and got
its response, its pool keeps connections idle that long: a shorter idle close of it was not that
pool's timer but the program (samples/real/clients-httpx-expiry.pcap: httpx reused after 1.002 s
idle; its ``Client.close()`` 1.001 s after the last response ended the other connection).
"""

from __future__ import annotations

import sys
from dataclasses import replace

from katui.analysis.findings.common import host_of
from katui.model import Connection
from katui.units import fmt_s


def program_closes(conns: list[Connection]) -> list[Connection]:
    """``conns`` with the client idle closes a longer reuse of the same client rules out as a
    pool idle timeout made ``client-done`` (the program closed them)."""
    idle_closes = [i for i, c in enumerate(conns) if _client_idle_close(c)]
    if not idle_closes:
        return conns  # (most captures: no pass over the exchanges)
    longest: dict[tuple, tuple] = {}  # (host, server, agent) -> (idle, stream, request, frame)
    for c in conns:
        key = None
        for e in c.exchanges:
            idle = e.idle_before_ns
            if not e.reused or idle is None or e.response is None:
                continue
            key = key or _client_key(c)
            if idle > longest.get(key, (-1,))[0]:
                longest[key] = (idle, c.stream, e.n, e.request.first_frame)
    out = list(conns)
    for i in idle_closes:
        c = out[i]
        reuse = longest.get(_client_key(c))
        if reuse is None or reuse[0] < c.close.idle_before_ns:
            continue
        idle, stream, n, frame = reuse
        text = (
            f"client closed after {fmt_s(c.close.idle_before_ns)} idle, not by its pool idle "
            f"timeout: the same client reused a connection to this server after {fmt_s(idle)} idle "
            f"(stream {stream}, request {n}, frame {frame}), so something else in the program closed "
            "it (a session or pool closed, the program ending)"
        )
        evidence = (*c.close.evidence, f"a reuse after {fmt_s(idle)} idle (stream {stream}, frame {frame})")
        close = replace(c.close, reason="client-done", explanation=sys.intern(text), evidence=evidence)
        out[i] = replace(c, close=close)
    return out


def _client_idle_close(c: Connection) -> bool:
    cl = c.close
    return cl.reason == "idle-timeout" and cl.closer == "client" and cl.idle_before_ns is not None


def _client_key(c: Connection) -> tuple:
    """One client program talking to one server: its host, the server, its User-Agent."""
    agent = next((e.request.software for e in c.exchanges if e.request is not None), "")
    return host_of(c.client), c.server, agent
