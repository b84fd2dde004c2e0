"""Why a connection ended: the close-reason verdict for one connection."""

from __future__ import annotations

import sys

from katui.model import Close, Exchange
from katui.units import fmt_s, plural

DEFAULT_IDLE_NS = 1_000_000_000
"""An idle stretch at least this long before a client's close makes it a client idle timeout."""
SERVER_IDLE_NS = 100_000_000
"""A server that closes a keep-alive connection after this much silence, with no header asking
for it, is enforcing an idle timeout (servers do not otherwise close idle connections); clients
often just exit, so theirs needs the longer ``idle_threshold_ns``."""


def decide_close(
    by: str | None,
    how: str | None,
    frame: int | None,
    ts_ns: int | None,
    idle_ns: int | None,
    exchanges: tuple[Exchange, ...],
    server_fin_ns: int | None,
    rst_frames: tuple[int, ...],
    idle_threshold_ns: int = DEFAULT_IDLE_NS,
    server_rst: bool = False,
) -> Close:
    """Pick the close reason from what was seen; see :data:`katui.model.CLOSE_REASONS`."""

    def close(reason: str, text: str, asked_by: str | None = None) -> Close:
        # Interned: a load test repeats a few sentences (idle times are shown to the ms) over
        # tens of thousands of connections.
        return Close(by, how, frame, ts_ns, idle_ns, reason, sys.intern(text), asked_by, rst_frames)

    if by is None:
        return close("open", "still open when the capture ended")
    stale = _stale_request(exchanges, server_fin_ns, server_rst, idle_threshold_ns)
    if stale is not None:
        ex, after_fin = stale
        if after_fin:
            text = (
                f"request {ex.n} (frame {ex.request.first_frame}) was sent after the server "
                f"had closed the connection; it was answered by a reset"
            )
        else:
            text = (
                f"request {ex.n} (frame {ex.request.first_frame}) reused the connection after "
                f"{fmt_s(ex.idle_before_ns)} idle and got a reset instead of a response: the "
                "keep-alive race (the server was closing it)"
            )
        return close("stale-reuse", text)
    idle_txt = f" after {fmt_s(idle_ns)} idle" if idle_ns is not None else ""
    last = exchanges[-1] if exchanges else None
    req = last.request if last else None
    resp = last.response if last else None
    if how == "rst" and (by == "server" or req is None or resp is not None):
        return close("reset", f"{by} reset the connection{idle_txt}")
    if req is not None and resp is None and req.end_ns is not None and ts_ns is not None:
        wait = ts_ns - req.end_ns
        return close(
            "request-timeout",
            f"{by} {'reset' if how == 'rst' else 'closed'} the connection while request "
            f"{last.n} had waited {fmt_s(wait)} for a response: a request or processing "
            "timeout, not keep-alive",
        )
    if how == "rst":
        return close("reset", f"{by} reset the connection{idle_txt}")
    if req is not None and req.version == "HTTP/1.0" and req.wants_close:
        return close("http10", f"HTTP/1.0 request without keep-alive; {by} closed{idle_txt}")
    if req is not None and req.wants_close:
        return close(
            "connection-close",
            f"client sent 'Connection: close' in request {last.n}; {by} closed{idle_txt}",
            "client",
        )
    if resp is not None and resp.wants_close:
        if (
            last.n > 1
            and by == "server"
            and resp.status < 500
            and all(e.response is None or not e.response.wants_close for e in exchanges[:-1])
        ):
            return close(
                "request-limit",
                f"server said 'Connection: close' on response {last.n} after keeping the "
                f"connection for {plural(last.n - 1, 'request')}: a per-connection "
                "request limit",
                "server",
            )
        return close(
            "connection-close",
            f"server sent 'Connection: close' in response {last.n}; {by} closed{idle_txt}",
            "server",
        )
    limit = min(idle_threshold_ns, SERVER_IDLE_NS) if by == "server" else idle_threshold_ns
    if idle_ns is not None and idle_ns >= limit:
        return close(
            "idle-timeout",
            f"{by} closed after {fmt_s(idle_ns)} idle: "
            f"{'keep-alive timeout' if by == 'server' else 'client idle timeout'}",
        )
    return close("closed", f"{by} closed{idle_txt} without a header asking for it")


def _stale_request(exchanges, server_fin_ns, server_rst, idle_threshold_ns):
    """The request that hit a closed or closing connection, if any.

    Two shapes of the keep-alive race, both ending in a reset from the server: a request sent
    after the server's FIN; or a last request that reused an idle connection and got no
    response (the request and the server's close crossed on the wire).
    """
    if not server_rst or not exchanges:
        return None
    for ex in exchanges:
        req = ex.request
        if req is None:
            continue
        if server_fin_ns is not None and req.start_ns >= server_fin_ns and ex.response is None:
            return ex, True
    last = exchanges[-1]
    if last.failed and last.reused and (last.idle_before_ns or 0) >= idle_threshold_ns:
        return last, False
    return None
