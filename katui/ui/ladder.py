"""The ladder pane: one line per frame of the selected connection, drawn line by line.

A ``ScrollView`` with ``render_line`` and an LRU cache of strips, so a 10 000-frame connection
costs only the lines on screen. Row content comes from the pure :mod:`katui.report.ladder`.
"""

from __future__ import annotations

from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual.cache import LRUCache
from textual.geometry import Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip

from katui.analysis.gaps import requests_by_frame
from katui.analysis.verdicts import DEFAULT_IDLE_NS
from katui.report.ladder import ARROW_WIDTH, Backend, Note, http_labels, ladder_rows, row_frame
from katui.report.ladder_text import ROLES, gap_head, header_line, lane_width, row_pieces, time_heading
from katui.report.lanes import backend_labels, backend_name, upstream_streams, with_backend
from katui.ui.cursor import CURSOR_BINDINGS, PAN_BINDINGS, CursorMixin

_CLASS_OF = {role: f"ladder--{role}" for role in ROLES}

MORE = "…"
"""Drawn where a panned row goes on beyond the pane (right) or was panned past (left)."""


def frozen_columns(row, time_mode: str) -> int:
    """Columns of ``row`` that stay put when the ladder pans sideways: a frame row's frame
    number and time, a gap row's duration (``⋯ 5.005 s idle ┊``), a section row's ``├──``.
    Panning moves only what follows, so a long label or note is read beside its frame."""
    if isinstance(row, Note):  # (note_pieces: the gap's head and " ┊ ", or 7 spaces and "├── ")
        return len(gap_head(row)) + 3 if row.kind == "gap" else 11
    return len(time_heading(time_mode))


class LadderView(CursorMixin, ScrollView, can_focus=True):
    """Client and server lanes, one row per frame, with idle-gap and section rows between; a
    proxy's front connection gets a third lane with its upstream frames (``backend``)."""

    ALLOW_MAXIMIZE = True  # z: the pane fills the screen

    DEFAULT_CSS = """
    LadderView { background: $surface; }
    LadderView > .ladder--c2s { color: $text; }
    LadderView > .ladder--s2c { color: $text-accent; }
    LadderView > .ladder--gap { color: $text-warning; text-style: italic; }
    LadderView > .ladder--section { color: $text-muted; }
    LadderView > .ladder--problem { color: $text-error; text-style: bold; }
    LadderView > .ladder--label { color: $text-success; text-style: bold; }
    LadderView > .ladder--note { color: $text-warning; }
    LadderView > .ladder--cursor { text-style: bold reverse; }
    LadderView > .ladder--cursor-blur { text-style: underline; }
    """
    COMPONENT_CLASSES = {"ladder--c2s", "ladder--s2c", "ladder--gap", "ladder--section",
                         "ladder--problem", "ladder--label", "ladder--note", "ladder--cursor",
                         "ladder--cursor-blur"}  # fmt: skip
    BINDINGS = [*CURSOR_BINDINGS, *PAN_BINDINGS]

    class FrameSelected(Message):
        """The cursor moved onto a frame row (``frame`` None on a gap or section row)."""

        def __init__(self, frame: int | None, conn=None, note: str | None = None) -> None:
            super().__init__()
            self.frame = frame
            self.conn = conn
            """The connection the frame belongs to (an upstream one in the backend lane)."""
            self.note = note
            """On a note row the ladder's width cuts: the note's whole text."""

    cursor = reactive(0)
    time_mode = reactive("rel")
    gap_ns = reactive(DEFAULT_IDLE_NS)
    seqack = reactive(False)
    backend = reactive(True)
    """Draw a proxy's front connection with its upstream frames in a third lane."""
    lane = reactive(ARROW_WIDTH)
    """Width of a lane: it grows with the pane."""

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.analysis = None
        self.conn = None
        self.rows: list[int | Note] = []
        self._labels: dict[int, str] = {}
        self._starts: set[int] = set()
        """Frames where a request starts: ] and [ stop there too (not every one has a row)."""
        self._cache: LRUCache[tuple, Strip] = LRUCache(1024)
        self.lanes = 2
        self.backend_name: str | None = None
        """The backend lane's heading, when it is drawn."""

    def show(self, analysis, conn, frame: int | None = None) -> None:
        """Draw ``conn`` (or nothing); put the cursor on ``frame`` when given."""
        self.analysis, self.conn = analysis, conn
        self._starts = set(requests_by_frame(conn)) if conn is not None else set()
        self._rebuild()
        self.cursor = self.row_of(frame) if frame is not None else 0
        self.scroll_to(y=max(self.cursor - 2, 0), animate=False)
        self._announce()

    def _rebuild(self) -> None:
        a, conn = self.analysis, self.conn
        self.rows, self._labels, self.backend_name = [], {}, None
        if conn is not None:
            self._labels = http_labels(conn)
            self.rows = ladder_rows(a, conn, self.gap_ns)
            if self.backend and upstream_streams(a, conn):
                self.rows = with_backend(a, conn, self.rows)
                self._labels |= backend_labels(a, conn)
                self.backend_name = backend_name(a, conn)
        self.lanes = 2 if self.backend_name is None else 3
        self._relay()

    def _relay(self) -> None:
        """Lane width for the pane's width (its labels keep up to a third of it)."""
        label = max((len(t) for t in self._labels.values()), default=0) + 2
        self.lane = lane_width(self.size.width or 100, self.lanes, label)
        self._cache.clear()
        self.virtual_size = Size(self._width(), len(self.rows))
        self.refresh()

    def on_resize(self) -> None:
        self._relay()

    def header(self) -> str:
        """The lane names above the rows."""
        if self.conn is None:
            return ""
        return header_line(self.conn, self.time_mode, self.lane, self.backend_name)

    def _width(self) -> int:
        """Widest row, so long labels and notes can be panned to with ←/→ instead of cut off."""
        prefix = 20 + self.lanes * (self.lane + 1)  # frame, time and the arrow lanes
        widest = max((len(t) for t in self._labels.values()), default=0) + prefix + 12
        for row in self.rows:
            if isinstance(row, Note):
                widest = max(widest, len(row.text) + 24)
        return widest

    def row_of(self, frame: int) -> int:
        """Row index of ``frame`` (0 when not on this ladder)."""
        for y, row in enumerate(self.rows):
            if row_frame(row) == frame:
                return y
        return 0

    @property
    def frame(self) -> int | None:
        """Frame under the cursor, if the cursor is on a frame row."""
        if not self.rows:
            return None
        return row_frame(self.rows[self.cursor])

    @property
    def frame_conn(self):
        """The connection of the frame under the cursor: an upstream one in the backend lane."""
        row = self.rows[self.cursor] if self.rows else None
        return self.analysis.connections[row.stream] if isinstance(row, Backend) else self.conn

    def row_text(self, y: int) -> str:
        """Plain text of row ``y`` (for tests and copy)."""
        return self._row(y).plain

    def watch_time_mode(self) -> None:
        self._cache.clear()
        self.refresh()

    def watch_seqack(self) -> None:
        self._cache.clear()
        self.refresh()

    def watch_gap_ns(self) -> None:
        self._rebuild_here()

    def watch_backend(self) -> None:
        self._rebuild_here()

    def _rebuild_here(self) -> None:
        """Rebuild the rows, the cursor staying on its frame (or the nearest front frame)."""
        frame = self.frame
        self._rebuild()
        if frame is not None:  # a backend frame gone with its lane: the next front row
            self.cursor = next((y for y, row in enumerate(self.rows) if (row_frame(row) or 0) >= frame), 0)

    @property
    def row_total(self) -> int:
        return len(self.rows)

    def watch_cursor(self, old: int, new: int) -> None:
        self._cache.discard((old,))
        self._cache.discard((new,))
        self.refresh()
        self.scroll_to_region_of(new)
        self._announce()

    def _announce(self) -> None:
        row = self.rows[self.cursor] if self.rows else None
        # Before its first layout the pane has no width: nothing is cut yet (a note shown then
        # would depend on timing).
        width = self.size.width
        cut = isinstance(row, Note) and width > 0 and len(self._row(self.cursor).plain) > width
        self.post_message(self.FrameSelected(self.frame, self.frame_conn, row.text if cut else None))

    def next_mark(self, step: int) -> bool:
        """Move to the next (step 1) or previous (-1) request, gap or close row."""
        y = self.cursor + step
        while 0 <= y < len(self.rows):
            row = self.rows[y]
            if isinstance(row, Note) or (row in self._starts and not self._noted(y)):
                self.cursor = y
                return True
            y += step
        return False

    def _noted(self, y: int) -> bool:
        """True when the row above frame row ``y`` is a note (the mark already stopped there)."""
        return y > 0 and isinstance(self.rows[y - 1], Note)

    def _style(self, name: str) -> Style:
        return self.get_component_rich_style(name, partial=True)

    def notify_style_update(self) -> None:
        """The theme or CSS changed: cached rows carry the old colours (as Textual's Log)."""
        super().notify_style_update()
        self._cache.clear()

    def _row(self, y: int) -> Text:
        pieces = row_pieces(self.analysis, self.conn, self.rows, y, self.time_mode, self._labels,
                            self.seqack, self.lane, self.lanes)  # fmt: skip
        return Text.assemble(
            *((text, self._style(_CLASS_OF[role])) if role else text for text, role in pieces)
        )

    def _visible(self, strip: Strip, row, scroll_x: int, width: int, base: Style) -> Strip:
        """The part of a row's ``strip`` the pane shows: its frozen columns, then what follows
        from ``scroll_x`` on; ``…`` where the row was panned past or goes on past the pane."""
        keep = min(frozen_columns(row, self.time_mode), width) if scroll_x else 0
        end = scroll_x + width
        parts = [strip.crop_extend(0, keep, base)] if keep else []
        start = keep + scroll_x
        if keep and start < strip.cell_length and width - keep > 1:
            parts.append(Strip([Segment(MORE, base)], 1))  # panned past
            start += 1
        cut = strip.cell_length > end and width - keep > 1
        parts.append(strip.crop_extend(start, end - 1 if cut else end, base))
        if cut:
            parts.append(Strip([Segment(MORE, base)], 1))
        return Strip.join(parts) if len(parts) > 1 else parts[0]

    def render_line(self, y: int) -> Strip:
        scroll_x, scroll_y = self.scroll_offset
        index = scroll_y + y
        width = self.scrollable_content_region.width  # (size.width counts the scrollbar)
        base = self.rich_style
        if index >= len(self.rows):
            return Strip.blank(width, base)
        key = (index,)
        strip = self._cache.get(key)
        if strip is None:
            text = self._row(index)
            text.no_wrap = True
            text.end = ""
            segments = list(text.render(self.app.console))
            strip = Strip(Segment.apply_style(segments, base), text.cell_len)
            self._cache[key] = strip
        strip = self._visible(strip, self.rows[index], scroll_x, width, base)
        if index == self.cursor:
            strip = strip.apply_style(self.cursor_style("ladder"))
        return strip.apply_offsets(scroll_x, index)
