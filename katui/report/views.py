"""Markdown of the investigation views: the timeline, the request list, the server summary and
follow stream, as the TUI shows them (its ``e`` key in each view) and ``katui report --view``.

Pure functions (no Textual): analysis -> Markdown string. Text art (the timeline, histograms,
the stream's bytes) goes in a code block whose fence is longer than any run of backticks inside
(:func:`katui.report.markdown.fence`); table cells and prose are escaped with
:func:`katui.report.markdown.md`. Capture bytes reach neither as terminal controls.
"""

from __future__ import annotations

from katui.analysis import requests as rq
from katui.analysis.servers import server_summaries
from katui.model import Connection
from katui.report import follow as fw
from katui.report import timeline as tl
from katui.report.ladder import fmt_time
from katui.report.markdown import fence, md
from katui.report.servers import server_lines
from katui.units import fmt_bytes, fmt_clock, fmt_s, plural

VIEWS = ("timeline", "requests", "servers", "follow")
"""The views ``katui report --view`` writes."""
TIMELINE_WIDTH = 100
"""Cells of the exported timeline's time axis when the caller gives no window."""


def time_text(analysis, ns: int, mode: str) -> str:
    """A timestamp as the request list shows it: seconds since the capture start (``rel``) or
    the time of day (``local``, ``utc``)."""
    return fmt_time(analysis.rel(ns)) if mode == "rel" else fmt_clock(ns, mode == "utc")


def _head(analysis, title: str, what: str) -> list[str]:
    return [f"# katui {title}: {md(analysis.path)}", "", what, ""]


def timeline_md(analysis, conns: list[Connection], t0_ns: int | None = None,
                ns_per_cell: int | None = None, width: int = TIMELINE_WIDTH) -> str:  # fmt: skip
    """The timeline of ``conns`` (sorted by start) as text art: the axis, a row per connection
    (stream number first), the legend; the window is ``t0_ns`` + ``width`` cells of
    ``ns_per_cell``, the whole capture when not given."""
    if t0_ns is None or ns_per_cell is None:
        t0_ns = analysis.first_ns
        ns_per_cell = max(-(-(analysis.duration_ns + 1) // width), 1)
    conns = sorted(conns, key=lambda c: c.start_ns)
    label = len(str(max((c.stream for c in conns), default=0))) + 1
    rel = t0_ns - analysis.first_ns
    start = fmt_s(rel) if rel >= 0 else f"-{fmt_s(-rel)}"
    what = (f"{plural(len(conns), 'connection')}, from {start} since the capture start, "
            f"{fmt_s(ns_per_cell)} per cell. {'; '.join(tl.LEGEND)}.")  # fmt: skip
    art = [(" " * label + tl.axis(rel, ns_per_cell, width)).rstrip()]
    for c in conns:
        prev = tl.follows(analysis, c)
        row = tl.row(c, t0_ns, ns_per_cell, width, prev.close.ts_ns if prev is not None else None)
        art.append(f"{c.stream:>{label - 1}} {row}".rstrip())
    links = [f"- {md(tl.link_text(analysis, c))}" for c in conns if tl.follows(analysis, c) is not None]
    out = _head(analysis, "timeline", what) + fence(art)
    if links:
        out += ["", "Links (`╰─`): each connection opened after a close on its path", "", *links]
    return "\n".join(out) + "\n"


def requests_md(
    analysis, rows: list[rq.Row], time_mode: str = "rel", filter_text: str = "", order: str = ""
) -> str:
    """The request list as a table: the TUI's columns, ``rows`` in their order; the filter and
    sort order that chose them are named under the title."""
    cols = [{"#": "request", "reuse": "reused"}.get(c, c) for c in rq.COLUMNS]
    cols[0] = {"rel": "time s", "utc": "time (UTC)"}.get(time_mode, "time (local)")
    chosen = f" Filter: {md(filter_text)}." if filter_text else ""
    chosen += f" Sorted by {md(order)}." if order else ""
    out = _head(analysis, "requests", f"{plural(len(rows), 'request')}.{chosen}")
    out += ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for conn, ex in rows:
        cells = rq.request_cells(analysis, conn, ex, time_text(analysis, rq.request_time(ex), time_mode))
        out.append("| " + " | ".join(md(cell) for cell in cells) + " |")
    return "\n".join(out) + "\n"


def servers_md(analysis, width: int = 40) -> str:
    """Every server's summary with its histograms, a code block each (busiest first)."""
    summaries = server_summaries(analysis)
    what = f"{plural(len(summaries), 'server')}, busiest first; ◀ marks the inferred idle timeout."
    out = _head(analysis, "servers", what)
    for s in summaries:
        out += [f"## {md(s.server)}", "", *fence(server_lines(s, width)[1:]), ""]
    return "\n".join(out)


def follow_md(analysis, conn: Connection, hex_mode: bool = False, limit: int = fw.LIMIT) -> str:
    """Follow stream of ``conn``: each line with its frame and ``C→`` / ``S←``, in a code
    block (text escaped by :mod:`katui.textsafe`, or hex)."""
    lines, mode = fw.follow_view(analysis, conn, hex_mode, limit)
    what = (f"Stream {conn.stream}, {md(mode)}: C→ client {md(conn.client)}, "
            f"S← server {md(conn.server)}; retransmissions left out, at most "
            f"{fmt_bytes(limit)}.")  # fmt: skip
    art = [f"{frame:>8} {fw.prefix(c2s)}{text}" for frame, c2s, text in lines] or ["(no payload)"]
    return "\n".join(_head(analysis, "follow stream", what) + fence(art)) + "\n"
