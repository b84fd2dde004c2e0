"""The HTTP/2 side of a connection's verdict: its frame facts for the model, who decided to
close, and the close reasons only HTTP/2 frames tell.

- A GOAWAY is the sender's decision to close: its side is the closer, and the idle time before
  the close is measured up to the last frame that was not a GOAWAY. nginx's HTTP/2 idle timeout
  (``keepalive_timeout`` since 1.19.7; ``http2_idle_timeout`` before) sends GOAWAY, close_notify,
  then FIN: an idle timeout like HTTP/1's.
- A request on a stream above the server's GOAWAY last-stream-id will never be processed: a
  stale reuse, even though nginx answers it with no reset (it keeps reading in lingering
  close). Sent after the GOAWAY it is the keep-alive race; sent before, it crossed the GOAWAY
  (refused: RFC 9113, 6.8 makes it safe to retry). The GOAWAY that counts is the server's with
  the lowest last-stream-id: a graceful shutdown sends 2^31-1 first, then the real one.
- Such requests all sent before a GOAWAY that came with the answer of its last stream, without
  idling, were in flight when a request limit closed the connection (a client that opens more
  streams at once than the server's ``keepalive_requests`` leaves): ``request-limit``, naming
  them, not a keep-alive race (nothing idled).
- A prompt close after a GOAWAY was announced: ``connection-close`` asked by the GOAWAY's sender
  (HTTP/2's word for ``Connection: close``).
- A GOAWAY with an error code (the first one) is an error close (``status`` stays null: no response said so).
- A server GOAWAY with last stream 2^31-1 before the close is a graceful shutdown (Go, Envoy,
  a reload): ``connection-close`` asked by the server, whatever came after it.
- Otherwise a server GOAWAY (no error) naming the last stream, sent with its answer (the second
  or later), is a request limit (nginx ``keepalive_requests``, which HTTP/2 obeys since 1.19.7).
- When HPACK or the frame boundaries were lost, the verdict is ``unknown``: requests after that
  point cannot be seen.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from katui.analysis.verdicts import SERVER_IDLE_NS
from katui.http2.frames import error_name
from katui.model import Close, Exchange, Http2Info
from katui.textsafe import ascii_lower
from katui.units import fmt_s, plural

if TYPE_CHECKING:  # (its module, and hpack's, are imported only once a connection spoke HTTP/2)
    from katui.http2.conversation import H2Conversation

SIDES = ("client", "server")


def h2_info(conv: H2Conversation) -> Http2Info:
    """The model's view of an oriented HTTP/2 conversation's frame facts."""
    f = conv.facts
    return Http2Info(
        cleartext=conv.cleartext,
        streams=len(conv.exchanges),
        settings=(f.settings[0], f.settings[1]),
        client_settings=tuple(f.values[0].items()),
        server_settings=tuple(f.values[1].items()),
        pings=(f.pings[0], f.pings[1]),
        goaway=tuple(_sided(g) for g in f.goaways),
        rst_streams=tuple(_sided(r) for r in f.rsts),
        push_promises=f.pushes,
        note=f.broken,
        labels=tuple(sorted(f.labels, key=lambda label: label[0])),  # stable: wire order in a frame
        goaway_count=f.counts[0],
        rst_stream_count=f.counts[1],
        server_goaway=None if f.final[1] is None else _sided(f.final[1]),
        error_goaway=None if f.error is None else _sided(f.error),
        upgrade_frame=conv.upgrade,
    )


def _sided(event: tuple) -> tuple:
    """``event`` with its side (0, 1) named."""
    return (SIDES[event[0]], *event[1:])


def goaway_before(info: Http2Info, close_ns: int | None) -> tuple | None:
    """The first GOAWAY sent before the close (at ``close_ns``), or None."""
    for g in info.goaway:
        if close_ns is None or g[2] <= close_ns:
            return g
    return None


def _reset_by(ex: Exchange, side: int) -> bool:
    """``side`` (0 client, 1 server) reset the stream of ``ex`` (RST_STREAM) before its response
    completed."""
    reset = getattr(ex, "reset", None)
    return reset is not None and reset[0] == side and (ex.response is None or ex.response.end_ns is None)


def server_reset(ex: Exchange) -> bool:
    """The server reset the stream of ``ex`` before its response completed."""
    return _reset_by(ex, 1)


def client_reset(ex: Exchange) -> bool:
    """The client reset the stream of ``ex`` (e.g. CANCEL) before its response completed: it
    stopped waiting for it."""
    return _reset_by(ex, 0)


def never_processed(conn, ex: Exchange) -> bool:
    """HTTP/2 says the server never processed request ``ex`` of ``conn``: it refused the stream,
    or the stream is above the last stream of the server's GOAWAY. Such a request got its
    answer (a refusal), not none."""
    info = getattr(conn, "http2", None)
    if info is None:
        return False
    g = info.server_goaway
    return refused(ex) or (g is not None and ex.response is None and getattr(ex, "stream_id", 0) > g[3])


def refused(ex: Exchange) -> bool:
    """The server refused the stream of ``ex`` (RST_STREAM REFUSED_STREAM): never processed, so
    not a request left waiting. Other resets are failures the verdict still judges."""
    return server_reset(ex) and ex.reset[3] == REFUSED_STREAM


def _goaway_text(g: tuple) -> str:
    side, frame, _ts, last, code = g
    err = "" if code == 0 else f" {error_name(code)}"
    return f"{side} GOAWAY frame {frame} (last stream {last}{err})"


def _reset_text(ex) -> str:
    _side, frame, _ts, code = ex.reset
    never = ": never processed, safe to retry" if code == REFUSED_STREAM else ""
    return (
        f"server RST_STREAM {error_name(code)} frame {frame} on stream {ex.stream_id} (request {ex.n}){never}"
    )


def h2_verdict(close: Close, info: Http2Info, exchanges: tuple[Exchange, ...]) -> Close:
    """``close`` (the HTTP verdict on the connection) corrected by what only HTTP/2 frames tell."""
    # Only what was said before the close decided it: a GOAWAY after the peer's FIN answers it.
    when = close.ts_ns

    def before(g: tuple | None) -> bool:
        return g is not None and (when is None or g[2] <= when)

    gone, final, err = goaway_before(info, when), info.server_goaway, info.error_goaway
    err = err if before(err) else None
    said = sorted({g for g in (gone, final, err) if before(g)}, key=lambda g: g[1])
    resets = [ex for ex in exchanges if server_reset(ex)]
    ev = (*map(_goaway_text, said), *close.evidence, *(_reset_text(ex) for ex in resets[:1]))
    if err is not None:  # a connection error decides, whatever streams it left unprocessed
        side, frame, _ts, last, code = err
        return replace(
            close, reason="error-close", asked_by=side, evidence=ev,
            explanation=f"{side} sent GOAWAY {error_name(code)} (last stream {last}) in frame {frame}: "
            "a connection error",
        )  # fmt: skip
    stale = _after_goaway(final, exchanges)
    if stale is not None and final[3] == 0:
        # GOAWAY last stream 0: the server processed no stream of this connection at all, so
        # nothing was reused and no keep-alive race happened; it turned the connection away.
        side, frame, _ts, last, _code = final
        return replace(
            close, reason="connection-close", asked_by="server", exchange=stale.n, evidence=ev,
            explanation=f"the server turned the connection away: GOAWAY (last stream {last}) in frame "
            f"{frame}, processing no stream, so request {stale.n} (stream {stale.stream_id}) was never "
            "processed (shutting down or overloaded; safe to retry on a new connection)",
        )  # fmt: skip
    if stale is not None:
        crossed = _crossed_limit(final, exchanges)
        if crossed is not None:
            return _limit_with_refused(close, final, crossed, exchanges, ev[: len(said)])
        return _stale(close, stale, final, exchanges)
    asked = [ex for ex in exchanges if ex.request is not None]
    if close.reason in ("request-timeout", "client-gave-up") and asked and all(refused(ex) for ex in asked):
        who = "the client closed" if close.by == "client" else "the server closed"
        return replace(
            close, reason="client-done" if close.by == "client" else "unannounced-close", evidence=ev,
            explanation=f"the server refused every stream (RST_STREAM REFUSED_STREAM: never processed, "
            f"safe to retry), then {who}{_idle(close)}",
        )  # fmt: skip
    if info.note is not None and close.reason not in ("open", "unused"):
        return replace(
            close, reason="unknown", evidence=(*ev, info.note),
            explanation=f"{close.explanation}; but HTTP/2 frames stopped being readable ({info.note})",
        )  # fmt: skip
    drain = next((g for g in said if g[0] == "server" and g[3] == SHUTDOWN_LAST and g[4] == 0), None)
    if drain is not None and close.reason in ("idle-timeout", "request-limit", *PROMPT_CLOSES):
        then = (
            f", then GOAWAY last stream {final[3]} in frame {final[1]}" if final not in (None, drain) else ""
        )
        return replace(
            close, reason="connection-close", asked_by="server", evidence=ev,
            explanation=f"the server shut the connection down gracefully: GOAWAY with last stream "
            f"2^31-1 in frame {drain[1]} (finish what is in flight, open nothing new){then}; "
            f"{close.by} {_verb(close)}{_idle(close)}",
        )  # fmt: skip
    limit = _limit(final, exchanges)
    if limit is not None and close.reason in ("idle-timeout", *PROMPT_CLOSES):
        ex, resp = limit
        return replace(
            close, reason="request-limit", asked_by="server", exchange=ex.n,
            evidence=(*ev[: len(said)], f"response {ex.n} (stream {ex.stream_id}) frame {resp.frame}",
                      *ev[len(said) :]),
            explanation=f"the server sent GOAWAY (last stream {final[3]}) with response {ex.n}, every "
            f"stream answered, without idling: a per-connection request limit (or a graceful shutdown); "
            f"{close.by} {_verb(close)} first",
        )  # fmt: skip
    if gone is not None and close.reason in PROMPT_CLOSES:  # GOAWAY is HTTP/2's 'Connection: close'
        side, frame, _ts, last, _code = gone
        return replace(
            close, reason="connection-close", asked_by=side, evidence=ev,
            explanation=f"{side} announced the close with GOAWAY (last stream {last}) in frame {frame}; "
            f"{close.by} {_verb(close)}{_idle(close)}",
        )  # fmt: skip
    if gone is not None and close.reason == "idle-timeout":
        return replace(close, asked_by=gone[0], evidence=ev)
    if close.reason in PROMPT_CLOSES:  # HTTP/2 has no Connection header: its closing word is GOAWAY
        explanation = close.explanation.replace("a header asking for it", "a GOAWAY")
        return replace(close, evidence=ev, explanation=explanation)
    return replace(close, evidence=ev)


SHUTDOWN_LAST = 0x7FFFFFFF
"""The last stream id of a graceful shutdown's first GOAWAY (RFC 9113, 6.8)."""
PROMPT_CLOSES = ("client-done", "unannounced-close")
"""Reasons of a prompt close no header asked for (over HTTP/2 a GOAWAY may explain it)."""
REFUSED_STREAM = 7
"""The RST_STREAM (and GOAWAY) error code of a stream the server never processed (RFC 9113, 8.7)."""


def _verb(close: Close) -> str:
    return "reset" if close.how == "rst" else "closed"


def _idle(close: Close) -> str:
    return "" if close.idle_before_ns is None else f" after {fmt_s(close.idle_before_ns)} idle"


def _limit(final: tuple | None, exchanges) -> tuple | None:
    """(last exchange, its response) when the server's last GOAWAY (NO_ERROR) came with its last
    response, at least the second, every stream answered: nginx's ``keepalive_requests`` on
    HTTP/2 sends GOAWAY in the same flight as the Nth response (an idle timeout comes after a
    silence instead)."""
    if final is None or final[4] != 0 or len(exchanges) < 2:
        return None
    last = exchanges[-1]
    resp = last.response
    if resp is None or resp.end_ns is None or any(e.response is None for e in exchanges):
        return None
    if getattr(last, "stream_id", -1) != final[3] or abs(final[2] - resp.start_ns) > SERVER_IDLE_NS:
        return None
    return last, resp


def _crossed_limit(final: tuple, exchanges) -> Exchange | None:
    """The exchange of the last stream a server's GOAWAY (no error) let through, when the GOAWAY
    came with its response, without idling, every stream up to it answered, and every request
    above it was sent before the GOAWAY: a request limit met with streams in flight."""
    if final[4] != 0:
        return None
    last = None
    for ex in exchanges:
        sid = getattr(ex, "stream_id", 0)
        if sid > final[3]:
            if ex.request is None or ex.request.start_ns >= final[2]:
                return None  # sent after the GOAWAY: the keep-alive race
        elif ex.response is None:
            return None
        elif sid == final[3]:
            last = ex
    if last is None or abs(final[2] - last.response.start_ns) > SERVER_IDLE_NS:
        return None
    return last


def _limit_with_refused(close: Close, g: tuple, last, exchanges, goaway_ev: tuple) -> Close:
    """``request-limit`` (``connection-close`` when it came with the first answer): the server's
    GOAWAY ``g`` came with the answer of ``last``; the requests above its last stream had been
    sent already and were never processed."""
    above = [ex for ex in exchanges if getattr(ex, "stream_id", 0) > g[3] and ex.request is not None]
    names = ", ".join(str(ex.n) for ex in above)
    streams = ", ".join(str(ex.stream_id) for ex in above)
    first = above[0].request.first_frame
    got = _unanswered(close, above[0], exchanges)
    tcp = _tcp_ends(close)
    # With the first answer, the GOAWAY is HTTP/2's 'Connection: close', not a proven limit.
    only_first = first_answer(g, exchanges)
    reason = "connection-close" if only_first else "request-limit"
    return replace(
        close, reason=reason, asked_by="server", exchange=last.n, evidence=(
            *goaway_ev, f"response {last.n} (stream {last.stream_id}) frame {last.response.frame}",
            f"{plural(len(above), 'request')} ({names}) on stream{'s' if len(above) > 1 else ''} "
            f"{streams} from frame {first}, sent before the GOAWAY: {got}",
            *tcp),
        explanation=f"the server sent GOAWAY (last stream {g[3]}) with response {last.n}, without idling: "
        f"{_limit_words(only_first)}; request{'s' if len(above) > 1 else ''} "
        f"{names} (stream{'s' if len(above) > 1 else ''} {streams}), already sent, "
        f"{'were' if len(above) > 1 else 'was'} above its last stream: never processed (safe to "
        f"retry on a new connection); {close.by} {_verb(close)} first",
    )  # fmt: skip


def first_answer(g: tuple | None, exchanges) -> bool:
    """The server's GOAWAY ``g`` let only the connection's first stream through: one request
    proves no request limit (the verdict is then ``connection-close``)."""
    return g is not None and bool(exchanges) and g[3] == getattr(exchanges[0], "stream_id", -1) > 0


def _limit_words(first: bool) -> str:
    """What a GOAWAY that came with an answer without idling says: a request limit, unless it
    came with the ``first`` answer (one request proves no limit: it may be no keep-alive)."""
    if first:
        return ("it ended the connection after its first request (a limit of 1 request, a "
                "graceful shutdown, or the server not keeping this connection alive)")  # fmt: skip
    return "a per-connection request limit (or a graceful shutdown)"


def _after_goaway(final: tuple | None, exchanges) -> Exchange | None:
    """The first request the server could never process: on a stream above its (lowest) GOAWAY
    last stream id, unanswered; one pass over the exchanges."""
    if final is None:
        return None
    for ex in exchanges:
        if ex.request is not None and ex.response is None and getattr(ex, "stream_id", 0) > final[3]:
            return ex
    return None


def _stale(close: Close, ex, g: tuple, exchanges) -> Close:
    """The stale-reuse verdict on request ``ex``, above the last stream of the server's GOAWAY ``g``."""
    req = ex.request
    after = req.start_ns >= g[2]
    when = f"sent {fmt_s(req.start_ns - g[2])} after it" if after else "sent before it reached the client"
    tcp = _tcp_ends(close)
    why = (f"was sent after the server's GOAWAY (last stream {g[3]}): the server will never process it (the "
           "keep-alive race over HTTP/2; a client retries it on a new connection)") if after else (
           f"crossed the server's GOAWAY (last stream {g[3]}, frame {g[1]}) on the wire: the server never "
           "processed it (refused; RFC 9113 6.8 makes it safe to retry on a new connection)")  # fmt: skip
    return replace(
        close, reason="stale-reuse", exchange=ex.n, evidence=(
            f"server GOAWAY frame {g[1]} (last stream {g[3]})",
            f"request {ex.n} on stream {ex.stream_id} frame {req.first_frame}, {when}",
            _unanswered(close, ex, exchanges), *tcp),
        explanation=f"request {ex.n} (stream {ex.stream_id}, frame {req.first_frame}) {why}",
    )  # fmt: skip


def _tcp_ends(close: Close) -> tuple:
    """Of the HTTP verdict's evidence, what still holds under an HTTP/2 one: the FIN and RST
    frames."""
    return tuple(e for e in close.evidence if " frame " in e and e.split(" ")[1] in ("FIN", "RST"))


def _unanswered(close: Close, ex, exchanges) -> str:
    """What came back for a request above the GOAWAY's last stream: a reset of the stream, a
    reset of the connection (its RST is in the evidence), or nothing (nginx in lingering close
    reads and drops it: said only when the responses name nginx)."""
    if server_reset(ex):
        return _reset_text(ex)
    if close.rst_frames:
        return "no response"
    nginx = any(e.resp >= 0 and ascii_lower(e.store.text(e.resp).software or "").startswith("nginx")
                for e in exchanges[:8])  # fmt: skip
    return "no response and no reset" + (" (nginx keeps reading in lingering close)" if nginx else "")
