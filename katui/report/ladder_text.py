"""A ladder laid out: rows as (text, role) pieces, the lane names, plain-text lines.

:func:`row_pieces` lays a row of :func:`katui.report.ladder.ladder_rows` out as pieces, which
:func:`ladder_lines` joins into plain text and the TUI styles by role. Two lanes (client and
server) or three (client, proxy and backend: :mod:`katui.report.lanes`), each an arrow
:data:`ARROW_WIDTH` wide in the reports and as wide as :func:`lane_width` gives in the TUI.
"""

from __future__ import annotations

import re
from functools import lru_cache

from katui.analysis.verdicts import DEFAULT_IDLE_NS
from katui.model import Connection
from katui.report.ladder import (
    ARROW_WIDTH,
    CLOCK_MODES,
    Backend,
    FrameLine,
    Note,
    fmt_time,
    frame_line,
    frame_row,
    http_labels,
    ladder_rows,
    row_frame,
)
from katui.units import fmt_s

MIN_LANE = 16
"""Narrowest lane: ``─ PSH 1448 ──▶`` still fits (see :func:`lane_width`)."""
MAX_LANE = 48
"""Widest lane: wider arrows say nothing more, the labels get the rest."""


def lane_width(pane: int, lanes: int = 2, label: int = 30) -> int:
    """Lane width for a pane ``pane`` columns wide: the lanes share what the frame and time
    columns and the labels (``label`` wide, kept to a third of the pane) leave; two lanes are
    never narrower than the reports' :data:`ARROW_WIDTH`, three may be, down to :data:`MIN_LANE`."""
    room = pane - 20 - lanes - min(label, pane // 3)
    return max(ARROW_WIDTH if lanes == 2 else MIN_LANE, min(MAX_LANE, room // lanes))


def gap_head(note: Note) -> str:
    """``⋯ 5.005 s idle`` (``wait`` while a request waited for its response) right-aligned
    under the frame and time columns."""
    return f"⋯ {fmt_s(note.duration_ns)} {'wait' if note.waiting else 'idle'}".rjust(18)


def arrow(line: FrameLine, width: int = ARROW_WIDTH) -> str:
    """``─ SYN ───────▶`` (client to server) or ``◀─────── SYN,ACK ─`` (server to client)."""
    return _arrow(line.c2s, line.flags, line.length, width)


@lru_cache(maxsize=4096)  # a load test repeats a few segment sizes in every ladder
def _arrow(c2s: bool, flags: str, length: int, width: int) -> str:
    body = f" {flags}{f' {length}' if length else ''} "
    if len(body) + 3 > width and "," in flags:  # a narrow lane: ACK goes first, it is on nearly all
        body = body.replace(",ACK", "").replace("ACK,", "")
    if len(body) + 3 > width:
        body = body.replace("PSH,", "").replace(",PSH", "")
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


def frame_pieces(line: FrameLine, width: int = ARROW_WIDTH, lanes: int = 2) -> list[Piece]:
    """One frame row as pieces, its arrow ``width`` wide; with ``lanes`` 3 a front frame
    leaves the backend lane empty and an upstream frame (``leg`` 1) the client lane."""
    lane = "c2s" if line.c2s else "s2c"
    empty = (" " * width + "│", None)
    out: list[Piece] = [(f"{line.frame:>6} {line.time:>{time_width(line.time)}} │", None)]
    if lanes == 3 and line.leg:
        out.append(empty)
    out += [(arrow(line, width), lane), ("│", None)]
    if lanes == 3 and not line.leg:
        out.append(empty)
    out.append((" ", None))
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


def note_text(note: Note) -> str:
    """One gap or section row as plain text: the pieces of :func:`note_pieces` joined, made
    without them (the Markdown report writes a few per connection, most of them unique)."""
    if note.kind == "gap":
        return f"{gap_head(note)} ┊ {note.text}"
    return f"       ├── {note.text}"


def row_pieces(analysis, conn: Connection, rows: list[int | Note], y: int, time_mode: str = "rel",
               labels: dict[int, str] | None = None, seqack: bool = False,
               width: int = ARROW_WIDTH, lanes: int = 2) -> list[Piece]:  # fmt: skip
    """Row ``y`` of ``rows`` (from :func:`ladder_rows`, maybe with :class:`Backend` rows) as
    pieces: the one layout the text ladder joins and the UI styles by role."""
    row = rows[y]
    if isinstance(row, Note):
        return note_pieces(row)
    k = y - 1  # the previous frame row, for delta times
    while k >= 0 and isinstance(rows[k], Note):
        k -= 1
    prev = row_frame(rows[k]) if k >= 0 else None
    return frame_pieces(row_line(analysis, conn, row, time_mode, prev, labels, seqack), width, lanes)


def row_line(analysis, conn: Connection, row: int | Backend, time_mode: str = "rel",
             prev: int | None = None, labels: dict[int, str] | None = None,
             seqack: bool = False) -> FrameLine:  # fmt: skip
    """:func:`frame_line` of a frame row of ``conn``'s ladder or of its backend lane (times
    since the connection start count from ``conn``'s start in both)."""
    if not isinstance(row, Backend):
        return frame_line(analysis, conn, row, time_mode, prev, labels, seqack)
    up = analysis.connections[row.stream]
    line = frame_line(analysis, up, row.frame, time_mode, prev, labels, seqack)
    if time_mode == "conn":
        line = line._replace(time=fmt_time(analysis.table.ts[row.frame - 1] - conn.start_ns))
    return line._replace(leg=1)


def time_width(time: str) -> int:
    """Width of the time column: 11 for seconds, 12 for a time of day (``14:03:07.123``)."""
    return 12 if ":" in time else 11


def header_line(conn: Connection, time_mode: str = "rel", width: int = ARROW_WIDTH,
                backend: str | None = None) -> str:  # fmt: skip
    """Column heading naming the lanes: client and server, or client, proxy and ``backend``."""
    # The trailing space keeps the two names apart when the client's is wider than its lane.
    lanes = f"client {conn.client} ".ljust(width + 1)
    if backend is None:
        lanes += f"server {conn.server}"
    else:
        lanes += f"proxy {conn.server} ".ljust(width + 1) + f"backend {backend}"
    return time_heading(time_mode) + lanes


def time_heading(time_mode: str = "rel") -> str:
    """The frame and time columns' headings for ``time_mode``, as wide as a frame row's frame
    number and time (19 columns; 20 with a time of day)."""
    return _CLOCK_HEADING if time_mode in CLOCK_MODES else _HEADING


_HEADING = f"{'frame':>6} {'time':>11} "
"""The frame and time columns' headings (a time of day is a column wider: ``_CLOCK_HEADING``)."""
_CLOCK_HEADING = f"{'frame':>6} {'time':>12} "


def drawn_rows(analysis, conn: Connection, rows: list[int | Note],
               labels: dict[int, str]) -> list[FrameLine | Note]:  # fmt: skip
    """``rows`` (from :func:`ladder_rows`, maybe with :class:`Backend` rows) with each frame
    described by :func:`row_line` (times since capture start): what the text ladder and the
    Mermaid diagram both draw."""
    t, first = analysis.table, analysis.first_ns
    # row_line(analysis, conn, row, "rel", None, labels) for each frame, with its lookups
    # hoisted out of the loop: Markdown draws every frame of a load test.
    ts, label_of = t.ts, (labels.get if labels else {}.get)
    out: list[FrameLine | Note] = []
    for row in rows:
        if isinstance(row, Note):
            out.append(row)
        elif isinstance(row, Backend):
            out.append(row_line(analysis, conn, row, "rel", None, labels))
        else:
            i = row - 1
            out.append(frame_row(conn, t, i, f"{(ts[i] - first) / 1e9:.6f}", "", label_of(row, "")))
    return out


def ladder_lines(analysis, conn: Connection, time_mode: str = "rel", gap_ns: int = DEFAULT_IDLE_NS,
                 width: int = 100, seqack: bool = False,
                 drawn: list[FrameLine | Note] | None = None,
                 backend: str | None = None) -> list[str]:  # fmt: skip
    """The whole ladder of ``conn`` as plain text lines (cut to ``width`` columns); ``drawn``
    is :func:`drawn_rows` when the caller has it (then ``time_mode`` and ``seqack`` are unused),
    ``backend`` the backend lane's name when ``drawn`` has upstream frames."""
    out = [header_line(conn, time_mode, backend=backend)[:width]]
    lanes = 2 if backend is None else 3
    if drawn is None:
        labels = http_labels(conn)
        rows = ladder_rows(analysis, conn, gap_ns)
        for y in range(len(rows)):
            pieces = row_pieces(analysis, conn, rows, y, time_mode, labels, seqack)
            out.append("".join([text for text, _ in pieces]).rstrip()[:width])
        return out
    for row in drawn:
        if isinstance(row, Note):
            text = note_text(row)
        elif lanes == 2:
            text = frame_text(row)
        else:
            text = "".join([text for text, _ in frame_pieces(row, lanes=lanes)])
        out.append(text.rstrip()[:width])
    return out


def frame_text(line: FrameLine) -> str:
    """One two-lane frame row as plain text: the pieces of :func:`frame_pieces` joined, made
    without them (the Markdown report writes one per frame)."""
    frame, time, c2s, flags, length, seqack, label, problem, _leg = line
    text = f"{frame:>6} {time.rjust(time_width(time))} │{_arrow(c2s, flags, length, ARROW_WIDTH)}│ "
    if seqack:
        text += f"{seqack} "
    if problem:
        text += "✖ reset "
    return text + label
