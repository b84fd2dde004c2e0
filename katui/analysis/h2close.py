"""The HTTP/2 side of a connection's verdict: its frame facts for the model, who decided to
close, and the close reasons only HTTP/2 frames tell.

- A GOAWAY is the sender's decision to close: its side is the closer, and the idle time before
  the close is measured up to the last frame that was not a GOAWAY. nginx's HTTP/2 idle timeout
  (``keepalive_timeout`` since 1.19.7; ``http2_idle_timeout`` before) sends GOAWAY, close_notify,
  then FIN: an idle timeout like HTTP/1's.
- A request on a stream above the server's GOAWAY last-stream-id, sent after that GOAWAY, will
  never be processed: a stale reuse, even though nginx answers it with no reset (it keeps
  reading in lingering close).
- A GOAWAY with an error code is an error close (``status`` stays null: no response said so).
- A server GOAWAY (no error) naming the last stream, sent with its answer (the second or later),
  is a request limit (nginx ``keepalive_requests``, which HTTP/2 obeys since 1.19.7).
- When HPACK or the frame boundaries were lost, the verdict is ``unknown``: requests after that
  point cannot be seen.
"""

from __future__ import annotations

from dataclasses import replace

from katui.analysis.verdicts import SERVER_IDLE_NS
from katui.http2.conversation import H2Conversation
from katui.http2.frames import error_name
from katui.model import Close, Exchange, Http2Info
from katui.units import fmt_s

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
        goaway=tuple((SIDES[g[0]], *g[1:]) for g in f.goaways),
        rst_streams=tuple((SIDES[r[0]], *r[1:]) for r in f.rsts),
        push_promises=f.pushes,
        note=f.broken,
        labels=tuple(sorted(f.labels, key=lambda label: label[0])),  # stable: wire order in a frame
    )


def goaway_before(info: Http2Info, close_ns: int | None) -> tuple | None:
    """The first GOAWAY sent before the close (at ``close_ns``), or None."""
    for g in info.goaway:
        if close_ns is None or g[2] <= close_ns:
            return g
    return None


def h2_verdict(close: Close, info: Http2Info, exchanges: tuple[Exchange, ...]) -> Close:
    """``close`` (the HTTP verdict on the connection) corrected by what only HTTP/2 frames tell."""
    gone = goaway_before(info, None)
    ev = close.evidence
    if gone is not None:
        side, frame, _ts, last, code = gone
        err = "" if code == 0 else f" {error_name(code)}"
        ev = (f"{side} GOAWAY frame {frame} (last stream {last}{err})", *ev)
    stale = _after_goaway(info, exchanges)
    if stale is not None:
        ex, g = stale
        req = ex.request
        # Of the HTTP verdict's evidence only the FIN and RST frames still hold.
        tcp = tuple(e for e in close.evidence if " frame " in e and e.split(" ")[1] in ("FIN", "RST"))
        return replace(
            close, reason="stale-reuse", exchange=ex.n, evidence=(
                f"server GOAWAY frame {g[1]} (last stream {g[3]})",
                f"request {ex.n} on stream {ex.stream_id} frame {req.first_frame}, sent "
                f"{fmt_s(req.start_ns - g[2])} after it", _unanswered(close), *tcp),
            explanation=f"request {ex.n} (stream {ex.stream_id}, frame {req.first_frame}) was sent after "
            f"the server's GOAWAY (last stream {g[3]}): the server will never process it (the keep-alive "
            "race over HTTP/2; a client retries it on a new connection)",
        )  # fmt: skip
    if gone is not None and gone[4] != 0:
        side, frame, _ts, last, code = gone
        return replace(
            close, reason="error-close", asked_by=side, evidence=ev,
            explanation=f"{side} sent GOAWAY {error_name(code)} (last stream {last}) in frame {frame}: "
            "a connection error",
        )  # fmt: skip
    if info.note is not None and close.reason not in ("open", "unused"):
        return replace(
            close, reason="unknown", evidence=(*ev, info.note),
            explanation=f"{close.explanation}; but HTTP/2 frames stopped being readable ({info.note})",
        )  # fmt: skip
    limit = _limit(gone, exchanges)
    if limit is not None and close.reason in ("idle-timeout", *PROMPT_CLOSES):
        ex, resp = limit
        return replace(
            close, reason="request-limit", asked_by="server", exchange=ex.n,
            evidence=(*ev[:1], f"response {ex.n} (stream {ex.stream_id}) frame {resp.frame}", *ev[1:]),
            explanation=f"the server sent GOAWAY (last stream {gone[3]}) with response {ex.n}, every "
            f"stream answered, without idling: a per-connection request limit (or a graceful shutdown); "
            f"{close.by} {'reset' if close.how == 'rst' else 'closed'} first",
        )  # fmt: skip
    if gone is not None and close.reason in ("idle-timeout", *PROMPT_CLOSES):
        return replace(close, asked_by=gone[0], evidence=ev)
    if close.reason in PROMPT_CLOSES:  # HTTP/2 has no Connection header: its closing word is GOAWAY
        return replace(close, explanation=close.explanation.replace("a header asking for it", "a GOAWAY"))
    return replace(close, evidence=ev)


PROMPT_CLOSES = ("client-done", "unannounced-close")
"""Reasons of a prompt close no header asked for (over HTTP/2 a GOAWAY may explain it)."""


def _limit(gone: tuple | None, exchanges) -> tuple | None:
    """(last exchange, its response) when the server's GOAWAY (NO_ERROR) came with its last
    response, at least the second, every stream answered: nginx's ``keepalive_requests`` on
    HTTP/2 sends GOAWAY in the same flight as the Nth response (an idle timeout comes after a
    silence instead)."""
    if gone is None or gone[0] != "server" or gone[4] != 0 or len(exchanges) < 2:
        return None
    last = exchanges[-1]
    resp = last.response
    if resp is None or resp.end_ns is None or any(e.response is None for e in exchanges):
        return None
    if getattr(last, "stream_id", -1) != gone[3] or abs(gone[2] - resp.start_ns) > SERVER_IDLE_NS:
        return None
    return last, resp


def _unanswered(close: Close) -> str:
    """What came back for a request after GOAWAY: nothing (nginx in lingering close reads and
    drops it), or a reset once the server's socket was gone (the RST is in the evidence)."""
    return (
        "no response"
        if close.rst_frames
        else "no response and no reset (nginx keeps reading in lingering close)"
    )


def _after_goaway(info: Http2Info, exchanges) -> tuple | None:
    """The first request the server could never process: on a stream above its GOAWAY's last
    stream id, sent after the GOAWAY, unanswered."""
    for g in info.goaway:
        if g[0] != "server":
            continue
        for ex in exchanges:
            req = ex.request
            sid = getattr(ex, "stream_id", 0)
            if req is not None and ex.response is None and sid > g[3] and req.start_ns >= g[2]:
                return ex, g
    return None
