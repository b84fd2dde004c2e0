"""The timeline of connections as text: one row per connection on a shared time axis.

Pure Python (no Textual): the TUI draws the rows on screen with it, line by line. A row is
``width`` cells for the time window ``[t0, t0 + width * ns_per_cell)``:

- ``┄`` the connection open and idle, ``━`` a request in flight (request start to response end);
- ``┃`` a request on a new connection, ``↻`` a request that reused it;
- the close at its end: ``S`` the server's FIN, ``C`` the client's FIN, ``✖`` a reset (either
  side), ``▶`` still open at the end of the capture. Letters and symbols, never colour alone;
- ``╰──`` in front of a connection: the link from the close of the one it follows (the latest
  connection from the same client host to the same server already closed when it started,
  :func:`katui.analysis.gaps.previous_on_path`, as the ladder's handshake heading names it).
  ``╰`` sits at that close's time (so it stands under the close glyph on the row above when the
  two are neighbours), ``─`` runs to the new connection's start; a new connection opened in the
  same cell as the close still gets ``╰`` just before it. So a pool's life reads across rows.
"""

from __future__ import annotations

from katui.analysis.gaps import previous_on_path
from katui.model import Connection
from katui.report.histogram import edge, step_for
from katui.units import fmt_s

LEGEND = ("┄ idle ━ busy ┃ request ↻ reused ╰─ follows a close", "S/C server/client FIN ✖ RST ▶ open")
"""The glyphs in two halves: one line when the screen is wide enough, else two."""


def close_glyph(conn: Connection) -> str:
    """The glyph at a connection's end (see the module docstring)."""
    close = conn.close
    if close.how == "rst":
        return "✖"
    if close.by == "server":
        return "S"
    if close.by == "client":
        return "C"
    return "▶"


def row(conn: Connection, t0_ns: int, ns_per_cell: int, width: int, follows: int | None = None) -> str:
    """The cells of ``conn`` in the window starting at ``t0_ns`` (``width`` cells); ``follows``
    is when the connection it follows closed (the link, see the module docstring)."""
    cells = [" "] * width

    def col(ns: int) -> int:
        return (ns - t0_ns) // ns_per_cell

    def paint(a_ns: int, b_ns: int, ch: str) -> None:
        a, b = max(col(a_ns), 0), min(col(b_ns), width - 1)
        for x in range(a, b + 1):
            cells[x] = ch

    end_ns = conn.start_ns + conn.duration_ns
    if follows is not None:
        start = col(conn.start_ns)
        close = min(col(follows), start - 1)
        for x in range(max(close, 0), min(start, width)):
            cells[x] = "╰" if x == close else "─"
    if end_ns < t0_ns or col(conn.start_ns) >= width:
        return "".join(cells)
    paint(conn.start_ns, end_ns, "┄")
    marks = []
    for ex in conn.exchanges:
        store = ex.store
        first = ex.req if ex.req >= 0 else ex.resp
        start = store.start_ns(first)
        done = store.end_ns(ex.resp) if ex.resp >= 0 else None
        paint(start, done if done is not None else start, "━")
        marks.append((start, "↻" if ex.reused else "┃"))
    for start, ch in marks:
        x = col(start)
        if 0 <= x < width:
            cells[x] = ch
    # At the close itself (a stale reuse's request comes after the server's FIN), else the end.
    x = col(conn.close.ts_ns if conn.close.ts_ns is not None else end_ns)
    if 0 <= x < width:
        cells[x] = close_glyph(conn)
    x = col(end_ns)
    if conn.close.how != "rst" and conn.close.rst_frames and 0 <= x < width:
        cells[x] = "✖"  # an RST after the FIN (a stale reuse answered with a reset)
    return "".join(cells)


def follows(analysis, conn: Connection) -> Connection | None:
    """The connection ``conn`` follows: the latest from its client host to its server already
    closed when it started (None when the capture shows none)."""
    prev = previous_on_path(analysis, conn)
    return prev if prev is not None and prev.close.ts_ns is not None else None


def link_text(analysis, conn: Connection) -> str:
    """``stream 1 ╰ opened 0.3 ms after the server closed stream 0 (idle-timeout)``,
    or that none on its path had closed before it in the capture."""
    prev = follows(analysis, conn)
    if prev is None:
        # Not "the first": others on the path may have been open alongside it.
        return f"stream {conn.stream}: no connection on its path (client host, server) closed before it"
    how = "reset" if prev.close.how == "rst" else "closed"
    return (
        f"stream {conn.stream} ╰ opened {fmt_s(conn.start_ns - prev.close.ts_ns)} after the "
        f"{prev.close.by} {how} stream {prev.stream} ({prev.close.reason})"
    )


def axis(rel0_ns: int, ns_per_cell: int, width: int, spacing: int = 14) -> str:
    """Time labels (since capture start; ``rel0_ns`` is where the window starts) at round steps
    at least ``spacing`` cells apart: ``|0      |5 s    |10 s``."""
    step = step_for(ns_per_cell * spacing, 1)
    out = [" "] * width
    t = -(-rel0_ns // step) * step
    while True:
        x = (t - rel0_ns) // ns_per_cell
        if x >= width:
            break
        label = f"|{edge(t) if t >= 0 else '-' + edge(-t)}"
        for i, ch in enumerate(label[: width - x]):
            out[x + i] = ch
        t += step
    return "".join(out)
