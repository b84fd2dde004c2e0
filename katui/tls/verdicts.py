"""Why a TLS connection ended, read from its records and TCP's close (no keys needed).

Kept apart from :func:`katui.analysis.verdicts.decide_close` on purpose: the analysis calls
:func:`tls_close` for connections that spoke TLS and were not decrypted. What differs from
plaintext: the idle time before a close is measured up to the last record that was not an alert
(servers send close_notify just before their FIN, so TCP's own idle time would be ~0); and the
reasons that a header gives (``Connection: close``, HTTP/1.0, a request limit) cannot be read,
so a close right after an exchange is ``unknown``.
"""

from __future__ import annotations

import sys
from collections import defaultdict
from dataclasses import replace

from katui.model import IDLE_CLOSE_WHY, Close, Connection, Exchange
from katui.tls.records import alert_name, first_fatal
from katui.units import fmt_s, plural


def tls_close(
    by: str | None,
    how: str | None,
    frame: int | None,
    ts_ns: int | None,
    last_activity_ns: int | None,
    notified_by: str | None,
    exchanges: tuple[Exchange, ...],
    server_fin_ns: int | None,
    rst_frames: tuple[int, ...],
    server_rst: bool,
    idle_threshold_ns: int,
    server_idle_ns: int,
    multiplexed: bool = False,
    blind: str | None = None,
    server_fin_frame: int | None = None,
    alerts: tuple[tuple[str, int, int, int], ...] = (),
) -> Close:
    """The close reason of a TLS connection whose exchanges were inferred from records.

    ``by``/``how``/``frame``/``ts_ns``: TCP's first FIN or RST; ``last_activity_ns``: the end of
    the last record before it that was not an alert; ``notified_by``: the side whose alert
    (close_notify, as far as can be told) came first after that record and before the FIN or RST.
    That side decided to close, even when its peer's FIN came first (curl and aiohttp send
    close_notify and nginx answers with its FIN at once): it is then the returned
    ``Close.asked_by`` (``Close.closer``), while ``Close.by`` stays the side of the first FIN or RST.
    ``server_idle_ns``/``idle_threshold_ns``: the silences that make a server's or a client's
    close an idle timeout (as for plaintext). On a ``multiplexed`` (HTTP/2) connection a client
    burst without an answer is no waiting request (SETTINGS, WINDOW_UPDATE and PING acks are
    bursts too), so no request-timeout is inferred. ``blind``: why bytes may be missing from the
    capture (lost segments, frames cut), or None; ``server_fin_frame``: the frame of the
    server's FIN (``server_fin_ns``'s), for the evidence. ``alerts``: the alerts read in the
    clear (:attr:`katui.model.TlsInfo.alerts`): a fatal one on a connection that carried no
    application data is a failed handshake (``tls-failed``).
    """
    idle = None if ts_ns is None or last_activity_ns is None else ts_ns - last_activity_ns
    decider = notified_by or by
    asked = decider if decider != by else None

    def close(reason: str, text: str, evidence: tuple[str, ...] = (), exchange: int | None = None) -> Close:
        return Close(by, how, frame, ts_ns, idle, reason, sys.intern(text), asked, rst_frames, evidence,
                     None, None, exchange)  # fmt: skip

    if by is None:
        return close("open", "still open when the capture ended")
    idle_txt = f" after {fmt_s(idle)} idle" if idle is not None else ""
    if notified_by is None:
        done = f"{by} closed{idle_txt}"
    elif notified_by == by:
        done = f"{by} closed{idle_txt} (close_notify, then {how.upper()})"
    else:
        done = f"{notified_by} sent close_notify{idle_txt} and the {by} closed in turn"
    fatal = first_fatal(alerts)
    if fatal is not None and not exchanges:
        side, _, code, at = fatal
        name = alert_name(code)
        meaning = ALERT_MEANINGS.get(code)
        closed = f"the {by} closed" if how != "rst" else f"the {by} reset the connection"
        return close(
            "tls-failed",
            f"the TLS handshake failed: the {side} sent a fatal {name} alert (frame {at})"
            + (f": {meaning}" if meaning else "")
            + f"; then {closed}",
            (f"{side} alert {name} frame {at}",),
        )
    if not exchanges and how != "rst":
        # No application data from the client, closed with a FIN (a reset is said as one below):
        # no request was waiting
        # and none had been answered, so no keep-alive timeout can be read from it (nginx
        # waits client_header_timeout for a first request, not keepalive_timeout).
        if blind:
            return close("unknown", f"{done}; no request seen, but the capture lost bytes ({blind})")
        return close(
            "unused",
            f"no request was sent (TLS handshake records only): {done}; a pre-connect, probe or "
            "health check, or a client that gave up on it, not a keep-alive close",
        )
    last = exchanges[-1] if exchanges else None
    if last is not None and last.failed:
        req = last.request
        if server_fin_ns is not None and req.start_ns >= server_fin_ns:
            # nginx answers with a reset; in HTTP/2's lingering close it just reads and drops it
            answer = "it was answered by a reset" if server_rst else "it got no answer"
            fin = f"server FIN frame {server_fin_frame}" if server_fin_frame is not None else "server FIN"
            return close(
                "stale-reuse",
                f"inferred request {last.n} (frame {req.first_frame}) was sent after the server "
                f"had closed the connection; {answer}",
                (fin, f"inferred request {last.n} frame {req.first_frame} sent "
                 f"{fmt_s(req.start_ns - server_fin_ns)} after it", *_server_rst(server_rst, rst_frames)),
                last.n,
            )  # fmt: skip
    if server_rst and last is not None and last.failed:
        if last.reused and (last.idle_before_ns or 0) >= idle_threshold_ns:
            req = last.request
            return close(
                "stale-reuse",
                f"inferred request {last.n} (frame {req.first_frame}) reused the connection after "
                f"{fmt_s(last.idle_before_ns)} idle and got a reset instead of a response: the "
                "keep-alive race",
                (f"inferred request {last.n} frame {req.first_frame} after {fmt_s(last.idle_before_ns)} "
                 "idle", "no response", *_server_rst(server_rst, rst_frames)),
                last.n,
            )  # fmt: skip
    if how == "rst" and notified_by is None and (by == "server" or last is None or not last.failed):
        return close("reset", f"{by} reset the connection{idle_txt}")
    if last is not None and last.failed and ts_ns is not None and not multiplexed:
        wait = ts_ns - last.request.end_ns
        return close(
            "client-gave-up" if decider == "client" else "request-timeout",
            f"{done} while inferred request {last.n} had waited {fmt_s(wait)} for a response",
        )
    limit = min(idle_threshold_ns, server_idle_ns) if decider == "server" else idle_threshold_ns
    if idle is not None and idle >= limit:
        who = IDLE_CLOSE_WHY["server" if decider == "server" else "client"]
        return close("idle-timeout", f"{done}: {who}")
    after = f" right after {plural(len(exchanges), 'exchange')}" if exchanges else ""
    return close(
        "unknown",
        f"{done}{after}; why is encrypted (a 'Connection: close' header, HTTP/1.0 or a request "
        "limit may have asked for it)",
    )


ALERT_MEANINGS = {
    40: "no cipher suite or other parameters in common",
    42: "a certificate was rejected",
    43: "a certificate of an unsupported type",
    44: "a certificate was revoked",
    45: "a certificate has expired",
    46: "a certificate was not accepted (untrusted, for another name, or another check failed)",
    48: "a certificate's issuer is not trusted (self-signed or a private CA)",
    70: "no TLS version in common",
    71: "only cipher suites the peer finds too weak were offered",
    86: "a downgraded retry was refused",
    112: "no certificate for the server name asked for (SNI)",
    116: "a client certificate is required",
    120: "no application protocol (ALPN) in common",
}
"""What a fatal alert says went wrong, in plain words (RFC 8446 6.2), for the ones with a
clear meaning; the others are named only."""


def _server_rst(server_rst: bool, rst_frames: tuple[int, ...]) -> tuple[str, ...]:
    """The server's reset as evidence (its last RST frame, as the plaintext verdict names it)."""
    if not server_rst:
        return ()
    return (f"server RST frame {rst_frames[-1]}",) if rst_frames else ("server RST",)


def normal_reset(close: Close, close_notify: tuple[str, ...], frame: int, from_client: bool) -> bool:
    """True for a client RST at ``frame`` after the server's close_notify (the first alert,
    ``close_notify`` as in :attr:`TlsInfo.close_notify`) and FIN: Python clients close a socket
    holding the unread close_notify, so their kernel resets instead of sending FIN. That is the
    normal ending of a connection the server closed, not an abort."""
    return (
        from_client
        and close_notify[:1] == ("server",)
        and (close.by, close.how) == ("server", "fin")
        and close.frame is not None
        and frame > close.frame
        and frame in close.rst_frames
    )


def request_limits(conns: list[Connection]) -> list[Connection]:
    """``conns`` with the ``unknown`` closes that show a request limit made ``request-limit``.

    Over TLS the limit's ``Connection: close`` is encrypted, but its shape is not: the server
    closes right after the Nth response, at the same N on two connections or more to the same
    server and name (N > 1; one connection alone could be a client's header asking for it).
    """
    seen: dict[tuple, list[int]] = defaultdict(list)
    for i, c in enumerate(conns):
        cl = c.close
        if c.tls is not None and cl.reason == "unknown" and cl.closer == "server" and c.requests > 1:
            seen[(c.server, c.tls.sni, c.requests)].append(i)
    out = list(conns)
    for (_, _, n), idx in seen.items():
        if len(idx) < 2:
            continue
        for i in idx:
            c = out[i]
            others = plural(len(idx) - 1, "other connection")
            text = (
                f"server closed right after inferred response {n}, as on {others} to it: a "
                f"per-connection request limit of {n} requests"
            )
            out[i] = replace(c, close=replace(c.close, reason="request-limit", explanation=sys.intern(text)))
    return out
