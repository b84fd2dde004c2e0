"""The timeline of connections: one row per connection on a shared time axis, drawn line by
line (only the rows on screen are made), so 55 000 connections scroll as fast as 5."""

from __future__ import annotations

import bisect

from rich.segment import Segment
from rich.text import Text
from textual.app import ComposeResult
from textual.cache import LRUCache
from textual.geometry import Size
from textual.reactive import reactive
from textual.screen import Screen
from textual.scroll_view import ScrollView
from textual.strip import Strip
from textual.widgets import Input, Static

from katui.analysis.query import parse_duration
from katui.report import timeline as tl
from katui.report.views import timeline_md
from katui.ui.cursor import CURSOR_BINDINGS, CursorMixin
from katui.ui.export import export_view
from katui.ui.footer import KeyFooter
from katui.ui.inorder import InOrderInput
from katui.ui.keys import prompt_check, view_bindings
from katui.units import fmt_s, plural

LABEL = 7
"""Cells of the stream number in front of each row."""


class TimelineView(CursorMixin, ScrollView, can_focus=True):
    """Connections sorted by start; the window ``t0``..``t0 + width * ns_per_cell`` is shown."""

    DEFAULT_CSS = """
    TimelineView { background: $surface; }
    TimelineView > .timeline--axis { text-style: bold; color: $text-accent; }
    TimelineView > .timeline--problem { color: $text-error; }
    TimelineView > .timeline--cursor { text-style: bold reverse; }
    TimelineView > .timeline--cursor-blur { text-style: underline; }
    """
    COMPONENT_CLASSES = {"timeline--axis", "timeline--problem", "timeline--cursor", "timeline--cursor-blur"}
    BINDINGS = CURSOR_BINDINGS

    cursor = reactive(0)
    t0 = reactive(0)
    ns_per_cell = reactive(1)
    pinned = 1

    def __init__(self, analysis, conns, **kwargs) -> None:
        super().__init__(**kwargs)
        self.analysis = analysis
        self.conns = sorted(conns, key=lambda c: c.start_ns)
        self.starts = [c.start_ns for c in self.conns]
        self._strips: LRUCache[tuple, Strip] = LRUCache(1024)

    @property
    def cells(self) -> int:
        """Cells of the time window."""
        return max(self.size.width - LABEL, 10)

    def fit(self) -> None:
        """The whole capture in the window."""
        a = self.analysis
        self.set_reactive(TimelineView.t0, a.first_ns)
        self.ns_per_cell = max(-(-(a.duration_ns + 1) // self.cells), 1)

    def on_mount(self) -> None:
        self.virtual_size = Size(self.size.width, len(self.conns) + 1)

    def on_resize(self) -> None:
        if self.ns_per_cell == 1:
            self.fit()
        self.virtual_size = Size(self.size.width, len(self.conns) + 1)
        super().on_resize()

    @property
    def row_total(self) -> int:
        return len(self.conns)

    @property
    def conn(self):
        """The connection under the cursor."""
        return self.conns[self.cursor] if self.conns else None

    def watch_cursor(self, old: int, new: int) -> None:
        self.scroll_to_region_of(new)
        self.refresh()

    def watch_t0(self) -> None:
        self.refresh()

    def watch_ns_per_cell(self) -> None:
        self.refresh()

    def zoom(self, factor: float) -> None:
        """Zoom around the middle of the window (factor < 1: in)."""
        middle = self.t0 + self.cells * self.ns_per_cell // 2
        self.ns_per_cell = max(int(self.ns_per_cell * factor), 1)
        self.t0 = middle - self.cells * self.ns_per_cell // 2

    def pan(self, cells: int) -> None:
        self.t0 += cells * self.ns_per_cell

    def jump(self, rel_ns: int) -> None:
        """Window from ``rel_ns`` after the capture start; cursor on the first connection
        started then or later."""
        at = self.analysis.first_ns + rel_ns
        self.t0 = at
        self.cursor = min(bisect.bisect_left(self.starts, at), len(self.conns) - 1)

    def show_cursor(self) -> None:
        """Window starting just before the selected connection."""
        if self.conn is not None:
            self.t0 = self.conn.start_ns - self.cells * self.ns_per_cell // 10

    def row_text(self, index: int) -> str:
        """Plain text of row ``index`` (for tests)."""
        c = self.conns[index]
        prev = tl.follows(self.analysis, c)
        follows = prev.close.ts_ns if prev is not None else None
        return f"{c.stream:>{LABEL - 1}} " + tl.row(c, self.t0, self.ns_per_cell, self.cells, follows)

    def render_line(self, y: int) -> Strip:
        width, base = self.size.width, self.rich_style
        if y == 0:
            head = " " * LABEL + tl.axis(self.t0 - self.analysis.first_ns, self.ns_per_cell, self.cells)
            style = base + self.get_component_rich_style("timeline--axis", partial=True)
            return Strip([Segment(head, style)]).crop_extend(0, width, base)
        index = int(self.scroll_offset.y) + y - 1
        if index >= len(self.conns):
            return Strip.blank(width, base)
        key = (index, self.t0, self.ns_per_cell, width)
        strip = self._strips.get(key)
        if strip is None:
            text = self.row_text(index)
            style = base
            if "✖" in text:
                style += self.get_component_rich_style("timeline--problem", partial=True)
            strip = Strip([Segment(text, style)]).crop_extend(0, width, base)
            self._strips[key] = strip
        if index == self.cursor:
            strip = strip.apply_style(self.cursor_style("timeline"))
        return strip


class TimelineScreen(Screen[tuple[int, int | None] | None]):
    """The timeline; Enter returns (stream, None) to open its ladder."""

    BINDINGS = view_bindings("timeline")

    def __init__(self, analysis, conns) -> None:
        super().__init__()
        self.analysis = analysis
        self.conns = conns

    def compose(self) -> ComposeResult:
        yield Static(id="timeline-title")
        yield TimelineView(self.analysis, self.conns, id="timeline")
        yield Static(id="timeline-link")
        yield Static(id="timeline-legend")
        yield InOrderInput(
            id="timeline-goto", placeholder="go to a time since capture start: 12.5s, 3m, 800ms"
        )
        yield KeyFooter()

    def on_mount(self) -> None:
        view = self.query_one(TimelineView)
        self.set_focus(view)
        self.watch(view, "ns_per_cell", self._title)
        self.watch(view, "t0", self._title)
        self.watch(view, "cursor", self._link)

    def on_resize(self) -> None:
        wide = sum(map(len, tl.LEGEND)) + 2 <= self.size.width
        self.query_one("#timeline-legend", Static).update(
            "  ".join(tl.LEGEND) if wide else "\n".join(tl.LEGEND)
        )

    def _link(self) -> None:
        """What the selected connection follows (the ``╰─`` on its row, in words)."""
        conn = self.query_one(TimelineView).conn
        text = tl.link_text(self.analysis, conn) if conn is not None else ""
        self.query_one("#timeline-link", Static).update(Text(text, no_wrap=True, overflow="ellipsis"))

    def _title(self) -> None:
        view = self.query_one(TimelineView)
        rel = view.t0 - self.analysis.first_ns
        start = fmt_s(rel) if rel >= 0 else f"-{fmt_s(-rel)}"
        text = (f"Timeline · {plural(len(view.conns), 'connection')} · from {start} · "
                f"{fmt_s(view.ns_per_cell)} per cell")  # fmt: skip
        self.query_one("#timeline-title", Static).update(Text(text, no_wrap=True, overflow="ellipsis"))

    def check_action(self, action: str, parameters) -> bool | None:
        return prompt_check(self, action)

    def action_open(self) -> None:
        conn = self.query_one(TimelineView).conn
        if conn is not None:
            self.dismiss((conn.stream, None))

    def action_zoom(self, factor: float) -> None:
        self.query_one(TimelineView).zoom(factor)

    def action_pan(self, share: float) -> None:
        view = self.query_one(TimelineView)
        view.pan(int(view.cells * share))

    def action_export(self) -> None:
        view = self.query_one(TimelineView)
        a, conns, t0, per, cells = self.analysis, view.conns, view.t0, view.ns_per_cell, view.cells
        export_view(self, "timeline", lambda: timeline_md(a, conns, t0, per, cells))

    def action_fit(self) -> None:
        self.query_one(TimelineView).fit()

    def action_show_cursor(self) -> None:
        self.query_one(TimelineView).show_cursor()

    def action_goto(self) -> None:
        box = self.query_one("#timeline-goto", Input)
        box.add_class("-open")
        box.value = ""
        self.set_focus(box)

    def action_close(self) -> None:
        box = self.query_one("#timeline-goto", Input)
        if box.has_class("-open"):
            box.remove_class("-open")
            self.set_focus(self.query_one(TimelineView))
            return
        self.dismiss(None)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        try:
            rel = parse_duration("time", event.value.strip())
        except ValueError as exc:
            self.notify(str(exc), severity="error", timeout=3)
            return
        event.input.remove_class("-open")
        view = self.query_one(TimelineView)
        self.set_focus(view)
        view.jump(rel)
