"""Why a connection ended: the close-reason verdict for one connection."""

from __future__ import annotations

from katui.model import Close, Exchange
from katui.units import fmt_s

DEFAULT_IDLE_NS = 1_000_000_000
"""An idle stretch at least this long before a close makes it an idle-timeout close."""


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
) -> Close:
    """Pick the close reason from what was seen; see :data:`katui.model.CLOSE_REASONS`."""

    def close(reason: str, text: str, asked_by: str | None = None) -> Close:
        return Close(by, how, frame, ts_ns, idle_ns, reason, text, asked_by, rst_frames)

    if by is None:
        return close("open", "still open when the capture ended")
    stale = _stale_request(exchanges, server_fin_ns, rst_frames)
    if stale is not None:
        ex, after_fin = stale
        if after_fin:
            text = (f"request {ex.n} (frame {ex.request.first_frame}) was sent after the server "
                    f"had closed the connection; it was answered by a reset")
        else:
            text = (f"request {ex.n} (frame {ex.request.first_frame}) got no response and the "
                    f"connection was reset: the keep-alive race")
        return close("stale-reuse", text)
    idle_txt = f" after {fmt_s(idle_ns)} idle" if idle_ns is not None else ""
    if how == "rst":
        return close("reset", f"{by} reset the connection{idle_txt}")
    last = exchanges[-1] if exchanges else None
    req = last.request if last else None
    resp = last.response if last else None
    if req is not None and req.version == "HTTP/1.0" and req.wants_close:
        return close("http10", f"HTTP/1.0 request without keep-alive; {by} closed{idle_txt}")
    if req is not None and req.wants_close:
        return close("connection-close",
                     f"client sent 'Connection: close' in request {last.n}; {by} closed{idle_txt}",
                     "client")
    if resp is not None and resp.wants_close:
        if last.n > 1 and by == "server" and all(
            e.response is None or not e.response.wants_close for e in exchanges[:-1]
        ):
            return close("request-limit",
                         f"server said 'Connection: close' on response {last.n} after keeping the "
                         f"connection for {last.n - 1} requests: a per-connection request limit",
                         "server")
        return close("connection-close",
                     f"server sent 'Connection: close' in response {last.n}; {by} closed{idle_txt}",
                     "server")
    if idle_ns is not None and idle_ns >= idle_threshold_ns:
        return close("idle-timeout", f"{by} closed after {fmt_s(idle_ns)} idle: "
                     f"{'keep-alive timeout' if by == 'server' else 'client idle timeout'}")
    return close("closed", f"{by} closed{idle_txt} without a header asking for it")


def _stale_request(exchanges, server_fin_ns, rst_frames):
    """The request that hit a closed or closing connection, if any.

    Two shapes of the keep-alive race: a request that starts after the server's FIN and is
    answered by RST; or a final request that never got a response before the connection was
    reset (the FIN and the request crossed on the wire).
    """
    if not rst_frames or not exchanges:
        return None
    for ex in exchanges:
        req = ex.request
        if req is None:
            continue
        if server_fin_ns is not None and req.start_ns >= server_fin_ns and ex.response is None:
            return ex, True
    last = exchanges[-1]
    if last.request is not None and last.response is None and last.n > 1:
        return last, False
    return None
