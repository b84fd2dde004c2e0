"""Idle stretches inside a connection and what ended them."""

from __future__ import annotations

from katui.analysis.pipeline import Analysis
from katui.model import FIN, RST, Connection, IdleGap
from katui.units import fmt_s


def frame_labels(conn: Connection) -> dict[int, list]:
    """HTTP messages by the frame where they complete (Wireshark's display frame)."""
    out: dict[int, list] = {}
    for e in conn.exchanges:
        for m in (e.request, *e.informational, e.response):
            if m is not None and m.frame is not None:
                out.setdefault(m.frame, []).append((e, m))
    return out


def request_starts(conn: Connection) -> dict[int, object]:
    """Exchanges by the frame where their request starts."""
    return {e.request.first_frame: e for e in conn.exchanges if e.request is not None}


def idle_gaps(a: Analysis, conn: Connection, threshold_ns: int | None = None) -> list[IdleGap]:
    """Every stretch of at least ``threshold_ns`` between consecutive frames of ``conn``."""
    limit = a.idle_threshold_ns if threshold_ns is None else threshold_ns
    ts, flags = a.table.ts, a.table.flags
    starts = request_starts(conn)
    out = []
    frames = conn.frames
    for i in range(1, len(frames)):
        prev, cur = frames[i - 1], frames[i]
        dur = ts[cur - 1] - ts[prev - 1]
        if dur < limit:
            continue
        out.append(IdleGap(conn.stream, prev, cur, dur, *_what_ended(a, conn, cur, dur, starts,
                                                                      flags[cur - 1])))
    return out


def _what_ended(a, conn, frame, dur, starts, fl):
    if frame in starts:
        e = starts[frame]
        if conn.close.reason == "stale-reuse" and conn.close.frame is not None \
                and frame > conn.close.frame:
            return "request", (f"request {e.n} sent {fmt_s(dur)} later on a connection the server "
                               "had already closed")
        return "request", f"request {e.n} reuses the connection after {fmt_s(dur)} idle"
    if frame == conn.close.frame:
        kind = "reset" if fl & RST else "close"
        return kind, conn.close.explanation
    if fl & RST:
        return "reset", f"reset after {fmt_s(dur)} idle"
    if fl & FIN:
        return "close", f"FIN after {fmt_s(dur)} idle"
    return "other", f"{fmt_s(dur)} with no traffic"
