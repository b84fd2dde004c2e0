"""A connection's ladder diagram as rows: one per frame, plus idle-gap and section notes.

Pure Python (no Textual, no Rich) so the TUI and the Markdown report draw the same ladder.
:func:`ladder_rows` builds the row list once per connection (frame rows are plain ints, so a
10 000-frame connection stays cheap); :func:`frame_line` describes one frame row;
:func:`row_pieces` lays a row out as (text, role) pieces, which :func:`ladder_lines` joins into
plain text and the TUI styles by role.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache, lru_cache
from typing import NamedTuple

from katui.analysis.gaps import idle_gaps, previous_on_path, requests_by_frame
from katui.analysis.verdicts import DEFAULT_IDLE_NS
from katui.model import (
    ACK,
    COMPLETE,
    FIN,
    INFERRED_VERSION,
    NOTE_KEEPALIVE,
    NOTE_OUT_OF_ORDER,
    NOTE_PREVIOUS_LOST,
    NOTE_RETRANSMISSION,
    NOTE_TRUNCATED,
    PSH,
    REQUEST,
    RST,
    SYN,
    URG,
    Connection,
)
from katui.textsafe import safe_text
from katui.units import fmt_bytes, fmt_clock, fmt_s

TIME_MODES = ("rel", "conn", "delta", "local", "utc")
"""Time column: since capture start, since connection start, delta from previous frame, time of
day in the local time zone, time of day in UTC (the last two to match server logs)."""
TIME_TITLES = {"rel": "since capture start", "conn": "since connection start",
               "delta": "delta from previous frame", "local": "of day, local",
               "utc": "of day, UTC"}  # fmt: skip
CLOCK_MODES = ("local", "utc")
ARROW_WIDTH = 24
_FLAG_NAMES = ((SYN, "SYN"), (FIN, "FIN"), (RST, "RST"), (PSH, "PSH"), (URG, "URG"), (ACK, "ACK"))
_NOTE_NAMES = ((NOTE_RETRANSMISSION, "retransmission"), (NOTE_OUT_OF_ORDER, "out-of-order"),
               (NOTE_PREVIOUS_LOST, "previous segment lost"), (NOTE_TRUNCATED, "truncated"),
               (NOTE_KEEPALIVE, "tcp keep-alive"))  # fmt: skip


@dataclass(frozen=True, slots=True)
class Note:
    """A non-frame ladder row: an idle gap or a section heading (handshake, request, teardown)."""

    kind: str
    """``gap`` or ``section``."""
    text: str
    """What the row says (already safe to print)."""
    frame: int
    """The frame the row leads into."""
    problem: bool = False
    """True when the row marks a problem (reset, stale reuse)."""
    duration_ns: int = 0
    """Gap length (gaps only)."""


class FrameLine(NamedTuple):
    """Everything one frame row shows (a named tuple: Markdown makes one per frame of a load
    test, and a tuple is made several times faster than a frozen dataclass)."""

    frame: int
    time: str
    c2s: bool
    """True when sent by the client."""
    flags: str
    length: int
    seqack: str
    label: str
    """HTTP message completing here, notes; escaped."""
    problem: str
    """``RST`` / ``STALE`` marker word or empty."""


@cache  # a few dozen combinations, asked for once per frame of every ladder drawn
def flag_text(flags: int) -> str:
    """TCP flags as ``SYN,ACK``."""
    return ",".join(name for bit, name in _FLAG_NAMES if flags & bit) or "-"


def fmt_time(ns: int) -> str:
    """Seconds with microseconds, like Wireshark's time column."""
    return f"{ns / 1e9:.6f}"


_safe_label = lru_cache(maxsize=4096)(safe_text)
"""safe_text of a message label: a load test repeats a few (``GET /``, ``200 OK``) in every ladder."""


def http_labels(conn: Connection) -> dict[int, str]:
    """Frame -> label of the HTTP messages that complete in it, and of TLS records the
    handshake facts name (hellos, tickets, alerts); escaped."""
    labels: dict[int, list[str]] = {}
    for ex in conn.exchanges:
        store = ex.store
        for i in (ex.req, *(m.index for m in ex.informational), ex.resp):
            if i < 0:
                continue
            # One store row per message, not a view and its properties: Markdown labels every
            # message of a load test.
            first, frame, _status, bits, _start, body, _uri, head = store.row(i)
            text = _safe_label(store.label(i))
            if bits & REQUEST:
                if ex.pipelined:
                    text = f"{text}  ⇉ pipelined"
                elif ex.reused:
                    text = f"{text}  ↻ reused"
            elif body and head.version != INFERRED_VERSION:  # an inferred label has its size
                text = f"{text}  {fmt_bytes(body)}"
            if not bits & COMPLETE or not frame:
                text = f"{text} (incomplete)"
            labels.setdefault(frame or first, []).append(text)
    if conn.tls is not None:
        for frame, text in conn.tls.labels:
            labels.setdefault(frame, []).append(safe_text(text))
    return {frame: " | ".join(texts) for frame, texts in labels.items()}


def _stale_frames(conn: Connection) -> set[int]:
    if conn.close.reason != "stale-reuse":
        return set()
    last = conn.exchanges[-1] if conn.exchanges else None
    stale = {f for ex in conn.exchanges if ex.request is not None and ex.response is None
             for f in (ex.request.first_frame,)}  # fmt: skip
    if last is not None and last.request is not None:
        stale.add(last.request.first_frame)
    return stale | set(conn.close.rst_frames)


def ladder_rows(analysis, conn: Connection, gap_ns: int = DEFAULT_IDLE_NS,
                idle: list | None = None) -> list[int | Note]:  # fmt: skip
    """Frame numbers interleaved with :class:`Note` rows (gaps >= ``gap_ns``, sections);
    ``idle`` is ``idle_gaps(analysis, conn, gap_ns)`` when the caller has it already."""
    flags = analysis.table.flags
    requests = requests_by_frame(conn)
    stale = _stale_frames(conn)
    if idle is None:
        idle = idle_gaps(analysis, conn, gap_ns)
    gaps = {g.before_frame: g for g in idle}
    rows: list[int | Note] = []
    in_handshake = handshaken = False  # one heading: a SYN sent again is not a new handshake
    answered = False  # the peer's own FIN after the first one
    for frame in conn.frames:
        gap = gaps.get(frame)
        if gap is not None:
            problem = frame in stale or (conn.close.reason == "reset" and frame == conn.close.frame)
            rows.append(Note("gap", safe_text(gap.explanation), frame, problem, gap.duration_ns))
        f = flags[frame - 1]
        if f & SYN and not f & ACK and not in_handshake and not handshaken:
            rows.append(Note("section", _handshake_text(analysis, conn), frame))
            in_handshake = handshaken = True
        elif in_handshake and not f & SYN:
            in_handshake = False
        if frame in requests and not in_handshake:
            rows.extend(_request_note(ex, frame, frame in stale) for ex in requests[frame]
                        if _worth_a_row(ex, frame in stale, gap is not None))  # fmt: skip
        if frame == conn.close.frame:
            rows.append(_close_note(conn, frame))
        elif f & FIN and conn.close.how == "fin" and not answered and frame > conn.close.frame:
            answered = True
            side = "client" if conn.close.by == "server" else "server"
            after = analysis.table.ts[frame - 1] - conn.close.ts_ns
            rows.append(Note("section", f"the {side} closes its side too, {fmt_s(after)} after the "
                             f"{conn.close.by}'s FIN (frame {conn.close.frame})", frame))  # fmt: skip
        rows.append(frame)
    return rows


def _worth_a_row(ex, stale: bool, after_gap: bool) -> bool:
    """Request rows say something new: the first two, after an idle gap, pipelined, stale.

    A connection with 991 requests would otherwise repeat 'request N on this connection'
    between every exchange; its frames still carry the request and ``↻ reused``."""
    return ex.n <= 2 or stale or after_gap or ex.pipelined


def _handshake_text(analysis, conn: Connection) -> str:
    """The handshake heading; names the connection this one replaces, if the capture has it."""
    prev = previous_on_path(analysis, conn)
    if prev is None or prev.close.ts_ns is None:
        return "handshake: new TCP connection"
    how = "reset" if prev.close.how == "rst" else "closed"
    return (
        f"handshake: new connection {fmt_s(conn.start_ns - prev.close.ts_ns)} after the "
        f"{prev.close.by} {how} stream {prev.stream} ({prev.close.reason})"
    )


def gap_head(note: Note) -> str:
    """``⋯ 5.005 s idle`` right-aligned under the frame and time columns."""
    return f"⋯ {fmt_s(note.duration_ns)} idle".rjust(18)


def _request_note(ex, frame: int, stale: bool) -> Note:
    if stale:
        return Note("section", f"✖ PROBLEM stale reuse: request {ex.n} sent on a connection the "
                    "server had closed", frame, True)  # fmt: skip
    if ex.pipelined:
        return Note(
            "section", f"⇉ request {ex.n} pipelined: sent before response {ex.n - 1} had arrived", frame
        )
    if ex.reused:
        idle = f", {fmt_s(ex.idle_before_ns)} idle" if ex.idle_before_ns is not None else ""
        return Note("section", f"↻ request {ex.n} on this connection{idle}, no new handshake", frame)
    return Note("section", f"request {ex.n}", frame)


def _close_note(conn: Connection, frame: int) -> Note:
    close = conn.close
    # In a stale reuse the FIN is the server's normal close: the problem is the request sent
    # after it, which has its own row.
    problem = close.how == "rst" or (close.is_problem and close.reason != "stale-reuse")
    mark = "✖ PROBLEM " if problem else ""
    what = "reset: the {} sends RST" if close.how == "rst" else "teardown: the {} sends FIN"
    text = f"{mark}{what.format(close.by)} ({close.reason})"
    if close.reason == "stale-reuse" and close.how == "fin":
        which = f"request {close.exchange}" if close.exchange else "a request"
        text = f"teardown: the {close.by} sends FIN; {which} is still sent after it (stale-reuse)"
    return Note("section", text, frame, problem)


def frame_line(analysis, conn: Connection, frame: int, time_mode: str = "rel",
               prev_frame: int | None = None, labels: dict[int, str] | None = None,
               seqack: bool = False) -> FrameLine:  # fmt: skip
    """Describe one frame row of ``conn``'s ladder."""
    t = analysis.table
    i = frame - 1
    ts = t.ts[i]
    if time_mode == "conn":
        shown = ts - conn.start_ns
    elif time_mode == "delta":
        shown = ts - t.ts[prev_frame - 1] if prev_frame else 0
    elif time_mode in ("local", "utc"):
        shown = None
    else:
        shown = analysis.rel(ts)
    sa = ""
    if seqack:
        c2s = t.from_client(i)
        isn_own, isn_peer = ((conn.isn_client, conn.isn_server) if c2s
                             else (conn.isn_server, conn.isn_client))  # fmt: skip
        seq = (t.seq[i] - isn_own) % (1 << 32)
        ack = (t.ack[i] - isn_peer) % (1 << 32) if t.flags[i] & ACK else 0
        sa = f"seq={seq} ack={ack}"
    time = fmt_clock(ts, time_mode == "utc") if shown is None else fmt_time(shown)
    return _line(t, i, time, sa, labels)


def _line(t, i: int, time: str, seqack: str, labels: dict[int, str] | None) -> FrameLine:
    """Frame ``i + 1`` of table ``t`` as a row showing ``time`` and ``seqack``."""
    frame = i + 1
    label = labels.get(frame, "") if labels else ""
    if t.notes[i]:
        label = _with_notes(label, t.notes[i])
    fl = t.flags[i]
    return FrameLine(
        frame, time, t.dir[i] == 0, flag_text(fl), t.plen[i], seqack, label, "RST" if fl & RST else ""
    )


def _with_notes(label: str, notes: int) -> str:
    """``label`` followed by the TCP notes of a frame: ``GET / [retransmission]``."""
    parts = [name for bit, name in _NOTE_NAMES if notes & bit]
    return f"{label} [{', '.join(parts)}]".strip() if parts else label


def arrow(line: FrameLine, width: int = ARROW_WIDTH) -> str:
    """``─ SYN ───────▶`` (client to server) or ``◀─────── SYN,ACK ─`` (server to client)."""
    return _arrow(line.c2s, line.flags, line.length, width)


@lru_cache(maxsize=4096)  # a load test repeats a few segment sizes in every ladder
def _arrow(c2s: bool, flags: str, length: int, width: int) -> str:
    body = f" {flags}{f' {length}' if length else ''} "
    fill = max(width - len(body) - 2, 1)
    if c2s:
        return f"─{body}{'─' * fill}▶"
    return f"◀{'─' * fill}{body}─"


ROLES = ("c2s", "s2c", "gap", "section", "problem", "label", "note")
"""What a piece of a ladder row is, for styling: the lane arrow of a frame sent by the client
(``c2s``) or the server (``s2c``), an idle-gap or section note, a problem marker, an HTTP label,
a TCP note (``[retransmission]``: not HTTP, so not in the HTTP labels' colour). A piece without
a role (None) is plain."""

Piece = tuple[str, str | None]
"""(text, role): a piece of a ladder row."""

_TCP_NOTES = re.compile(r"\[(?:retransmission|out-of-order|previous segment lost|truncated|"
                        r"tcp keep-alive)(?:, [a-z -]+)*\]$")  # fmt: skip


def frame_pieces(line: FrameLine) -> list[Piece]:
    """One frame row as pieces."""
    lane = "c2s" if line.c2s else "s2c"
    out: list[Piece] = [
        (f"{line.frame:>6} {line.time:>{time_width(line.time)}} │", None),
        (arrow(line), lane),
        ("│ ", None),
    ]
    if line.seqack:
        out.append((line.seqack + " ", None))
    if line.problem:
        out.append(("✖ reset ", "problem"))
    if line.label:
        notes = _TCP_NOTES.search(line.label)
        cut = notes.start() if notes else len(line.label)
        if cut:
            out.append((line.label[:cut], "label"))
        if cut < len(line.label):
            out.append((line.label[cut:], "note"))
    return out


def note_pieces(note: Note) -> list[Piece]:
    """One gap or section row as pieces."""
    if note.kind == "gap":
        role = "problem" if note.problem else "gap"
        return [(gap_head(note), role), (" ┊ ", None), (note.text, role)]
    return [(f"{'':>6} ", None), (f"├── {note.text}", "problem" if note.problem else "section")]


def row_pieces(analysis, conn: Connection, rows: list[int | Note], y: int, time_mode: str = "rel",
               labels: dict[int, str] | None = None, seqack: bool = False) -> list[Piece]:  # fmt: skip
    """Row ``y`` of ``rows`` (from :func:`ladder_rows`) as pieces: the one layout the text
    ladder joins and the UI styles by role."""
    row = rows[y]
    if isinstance(row, Note):
        return note_pieces(row)
    k = y - 1  # the previous frame row, for delta times
    while k >= 0 and isinstance(rows[k], Note):
        k -= 1
    prev = rows[k] if k >= 0 else None
    return frame_pieces(frame_line(analysis, conn, row, time_mode, prev, labels, seqack))


def time_width(time: str) -> int:
    """Width of the time column: 11 for seconds, 12 for a time of day (``14:03:07.123``)."""
    return 12 if ":" in time else 11


def header_line(conn: Connection, time_mode: str = "rel") -> str:
    """Column heading naming the two lanes."""
    # The trailing space keeps the two names apart when the client's is wider than its lane.
    lanes = f"client {conn.client} ".ljust(ARROW_WIDTH + 1) + f"server {conn.server}"
    width = 12 if time_mode in CLOCK_MODES else 11
    return f"{'frame':>6} {'time':>{width}} {lanes}"


def drawn_rows(analysis, conn: Connection, rows: list[int | Note],
               labels: dict[int, str]) -> list[FrameLine | Note]:  # fmt: skip
    """``rows`` (from :func:`ladder_rows`) with each frame described by :func:`frame_line`
    (times since capture start): what the text ladder and the Mermaid diagram both draw."""
    t, first = analysis.table, analysis.first_ns
    # frame_line(analysis, conn, row, "rel", None, labels) for each frame, with its lookups
    # hoisted out of the loop: Markdown draws every frame of a load test.
    ts, notes, flags, dirs, plen = t.ts, t.notes, t.flags, t.dir, t.plen
    label_of = labels.get if labels else {}.get
    out: list[FrameLine | Note] = []
    for row in rows:
        if isinstance(row, Note):
            out.append(row)
            continue
        i = row - 1
        fl = flags[i]
        label = label_of(row, "")
        if notes[i]:
            label = _with_notes(label, notes[i])
        out.append(FrameLine(row, f"{(ts[i] - first) / 1e9:.6f}", dirs[i] == 0, flag_text(fl), plen[i], "",
                             label, "RST" if fl & RST else ""))  # fmt: skip
    return out


def ladder_lines(analysis, conn: Connection, time_mode: str = "rel", gap_ns: int = DEFAULT_IDLE_NS,
                 width: int = 100, seqack: bool = False,
                 drawn: list[FrameLine | Note] | None = None) -> list[str]:  # fmt: skip
    """The whole ladder of ``conn`` as plain text lines (cut to ``width`` columns); ``drawn``
    is :func:`drawn_rows` when the caller has it (then ``time_mode`` and ``seqack`` are unused)."""
    out = [header_line(conn, time_mode)[:width]]
    if drawn is None:
        labels = http_labels(conn)
        rows = ladder_rows(analysis, conn, gap_ns)
        for y in range(len(rows)):
            pieces = row_pieces(analysis, conn, rows, y, time_mode, labels, seqack)
            out.append("".join([text for text, _ in pieces]).rstrip()[:width])
        return out
    for row in drawn:
        text = "".join([text for text, _ in note_pieces(row)]) if isinstance(row, Note) else frame_text(row)
        out.append(text.rstrip()[:width])
    return out


def frame_text(line: FrameLine) -> str:
    """One frame row as plain text: the pieces of :func:`frame_pieces` joined, made without
    them (the Markdown report writes one per frame)."""
    frame, time, c2s, flags, length, seqack, label, problem = line
    text = f"{frame:>6} {time.rjust(time_width(time))} │{_arrow(c2s, flags, length, ARROW_WIDTH)}│ "
    if seqack:
        text += f"{seqack} "
    if problem:
        text += "✖ reset "
    return text + label
