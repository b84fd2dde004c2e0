"""The timeline of connections as text: one row per connection on a shared time axis.

Pure Python (no Textual): the TUI draws the rows on screen with it, line by line. A row is
``width`` cells for the time window ``[t0, t0 + width * ns_per_cell)``:

- ``┄`` the connection open and idle, ``━`` a request in flight (request start to response end);
- ``┃`` a request on a new connection, ``↻`` a request that reused it;
- the close at its end: ``S`` the server's FIN, ``C`` the client's FIN, ``✖`` a reset (either
  side), ``▶`` still open at the end of the capture. Letters and symbols, never colour alone.
"""

from __future__ import annotations

from katui.model import Connection
from katui.report.histogram import edge, step_for

LEGEND = "┄ idle ━ busy ┃ request ↻ reused S/C server/client FIN ✖ RST ▶ open"


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


def row(conn: Connection, t0_ns: int, ns_per_cell: int, width: int) -> str:
    """The cells of ``conn`` in the window starting at ``t0_ns`` (``width`` cells)."""
    cells = [" "] * width

    def col(ns: int) -> int:
        return (ns - t0_ns) // ns_per_cell

    def paint(a_ns: int, b_ns: int, ch: str) -> None:
        a, b = max(col(a_ns), 0), min(col(b_ns), width - 1)
        for x in range(a, b + 1):
            cells[x] = ch

    end_ns = conn.start_ns + conn.duration_ns
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
