"""The connection list: a virtual table drawn line by line, so 60 000 connections stay instant.

A ``DataTable`` builds and measures a row object per connection: refilling it after a filter or
sort took seconds on a load-test capture. Here a fill only stores the list of connections; the
cells of a row are computed when the row scrolls into view (LRU-cached), and column widths come
from cheap per-column maxima instead of measuring every cell.
"""

from __future__ import annotations

from operator import attrgetter

from rich.cells import cell_len
from rich.segment import Segment
from rich.style import Style
from textual.cache import LRUCache
from textual.geometry import Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip

from katui.analysis.payload import protocol, short_protocol
from katui.model import Preview
from katui.ui.cursor import CURSOR_BINDINGS, PAN_BINDINGS, CursorMixin
from katui.ui.filters import COLUMNS, closed_by_cell, preview_cells, reason_cell, row_cells

GAP = 2
"""Spaces between columns."""
FIXED_WIDTHS = {"reuse": 5, "idle→close": 10, "start": 9, "duration": 9}
"""Upper bounds for columns whose cells have a known, short shape."""
_STREAM, _CLIENT, _SERVER = attrgetter("stream"), attrgetter("client"), attrgetter("server")
_EXCHANGES, _CLOSE = attrgetter("exchanges"), attrgetter("close")
_CLOSE_KEY = attrgetter("by", "how", "reason", "asked_by")
"""What :meth:`ConnectionTable._measure` reads of every connection (maps, not loops)."""


def _widest(texts: set[str]) -> int:
    """The widest of ``texts`` in cells (an ASCII text is as wide as it is long: endpoints are,
    and a load test has one per connection)."""
    if all(map(str.isascii, texts)):  # (maps: 60 000 distinct client endpoints in a load test)
        return max(map(len, texts), default=0)
    return max((len(t) if t.isascii() else cell_len(t) for t in texts), default=0)


class ConnectionTable(CursorMixin, ScrollView, can_focus=True):
    """Connections with their keep-alive verdicts; posts :class:`Selected` on cursor moves."""

    ALLOW_MAXIMIZE = True  # z: the pane fills the screen

    DEFAULT_CSS = """
    ConnectionTable { background: $surface; }
    ConnectionTable > .connections--header { text-style: bold; color: $text-accent; }
    ConnectionTable > .connections--problem { color: $text-error; }
    ConnectionTable > .connections--cursor { text-style: bold reverse; }
    ConnectionTable > .connections--cursor-blur { text-style: underline; }
    """
    COMPONENT_CLASSES = {"connections--header", "connections--problem", "connections--cursor",
                         "connections--cursor-blur"}  # fmt: skip
    BINDINGS = [*CURSOR_BINDINGS, *PAN_BINDINGS]

    class Selected(Message):
        """The highlighted connection changed (``stream`` None when the list is empty)."""

        def __init__(self, stream: int | None) -> None:
            super().__init__()
            self.stream = stream

    class HeaderClicked(Message):
        """A column heading was clicked (``column`` as in :data:`COLUMNS`)."""

        def __init__(self, column: str) -> None:
            super().__init__()
            self.column = column

    cursor = reactive(0)
    pinned = 1  # the header line

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.conns: list = []
        self.streams: list[int] = []
        self.first_ns = 0
        self.widths = [cell_len(c) for c in COLUMNS]
        self._cells: LRUCache[int, tuple[str, ...]] = LRUCache(4096)
        self._strips: LRUCache[int, Strip] = LRUCache(512)
        self._previewing = False
        self.roles: dict[int, tuple[str, str]] = {}
        """tcp.stream -> (``front``/``upstream``, proxy) for a proxy's connections: the server
        cell says which leg a connection is."""

    # -- data -------------------------------------------------------------------------------

    def fill(self, conns, first_ns: int, stream: int | None = None) -> None:
        """Show ``conns`` and keep ``stream`` highlighted if it is among them."""
        self.conns = list(conns)
        self.streams = list(map(_STREAM, self.conns))
        self.first_ns = first_ns
        self.widths = self._measure(self.conns)
        if self._previewing:
            self._cells.clear()  # preview cells are keyed by the same streams
            self._previewing = False
        self._strips.clear()
        self.virtual_size = Size(sum(self.widths) + GAP * len(self.widths), len(self.conns) + 1)
        row = self.streams.index(stream) if stream in self.streams else 0
        self.set_reactive(ConnectionTable.cursor, row)
        self.scroll_to(x=0, y=max(row - 2, 0), animate=False)
        self.refresh()
        self.post_message(self.Selected(self.stream))

    def append_preview(self, rows: list) -> None:
        """Add connections seen while loading (``Preview`` rows; replaced by :meth:`fill`)."""
        if not self.conns:
            self.first_ns = rows[0].start_ns
        self._previewing = True
        self.conns.extend(rows)
        self.streams.extend(map(_STREAM, rows))
        # Only the new rows measured: a big capture sends dozens of previews while it loads.
        self.widths = [max(w, n) for w, n in zip(self.widths, self._measure(rows), strict=True)]
        self._strips.clear()
        self.virtual_size = Size(sum(self.widths) + GAP * len(self.widths), len(self.conns) + 1)
        self.refresh()

    def _measure(self, conns: list) -> list[int]:
        """Column widths for ``conns``: exact for the variable ones, known bounds for the rest.

        Every column is read with C-level maps over the list (``attrgetter``), not a Python
        expression per connection: a load test's 60 000 connections took ~90 ms to measure
        when the analysis arrived, ~25 ms so (protocol() is most of what remains)."""
        widths = [cell_len(c) for c in COLUMNS]
        if not conns:
            return widths
        previews = isinstance(conns[0], Preview)  # (a list holds previews or connections)
        if self.roles:
            servers = {self._server(c) for c in conns}
        else:
            servers = set(map(_SERVER, conns))
        longest = {
            "#": len(str(max(map(_STREAM, conns)))),
            "client": _widest(set(map(_CLIENT, conns))),
            "server": max(map(cell_len, servers)),
        }
        if not previews:
            longest["req"] = len(str(max(map(len, map(_EXCHANGES, conns)))))
            # distinct values measured once: a load test repeats them
            longest["proto"] = max(map(cell_len, map(short_protocol, set(map(protocol, conns)))))
            # a handful of combinations even in a load test: measured exactly
            closes = set(map(_CLOSE_KEY, map(_CLOSE, conns)))
            longest["closed by"] = max(cell_len(closed_by_cell(*k[:3])) for k in closes)
            longest["reason"] = max(cell_len(reason_cell(*k[2:])) for k in closes)
        for i, name in enumerate(COLUMNS):
            widths[i] = max(widths[i], longest.get(name, FIXED_WIDTHS.get(name, 0)))
        return widths

    def cells(self, index: int) -> tuple[str, ...]:
        """Cells of row ``index`` (computed on first use)."""
        conn = self.conns[index]
        got = self._cells.get(conn.stream)
        if got is None:
            got = (
                preview_cells(conn, self.first_ns)
                if isinstance(conn, Preview)
                else row_cells(conn, self.first_ns)
            )
            if conn.stream in self.roles:
                got = (*got[:5], self._server(conn), *got[6:])
            self._cells[conn.stream] = got
        return got

    def _server(self, conn) -> str:
        """The server cell: the endpoint, with ``⇄ front`` / ``⇄ upstream`` on a proxy's legs."""
        role = self.roles.get(conn.stream)
        return conn.server if role is None else f"{conn.server} ⇄ {role[0]}"

    @property
    def row_total(self) -> int:
        """Rows shown."""
        return len(self.conns)

    def get_row_at(self, index: int) -> tuple[str, ...]:
        """Cells of row ``index`` (DataTable-compatible name)."""
        return self.cells(index)

    @property
    def stream(self) -> int | None:
        """Stream of the highlighted row."""
        if not self.streams:
            return None
        return self.streams[min(self.cursor, len(self.streams) - 1)]

    def notify_style_update(self) -> None:
        """The theme or CSS changed: cached rows carry the old colours (as Textual's Log)."""
        super().notify_style_update()
        self._strips.clear()

    # -- cursor -----------------------------------------------------------------------------

    def watch_cursor(self, old: int, new: int) -> None:
        self._strips.discard(old)
        self._strips.discard(new)
        self.scroll_to_region_of(new)
        self.refresh()
        self.post_message(self.Selected(self.stream))

    def header_clicked(self, x: int) -> None:
        for name, width in zip(COLUMNS, self.widths, strict=True):
            x -= width + GAP
            if x < 0:
                self.post_message(self.HeaderClicked(name))
                return

    # -- drawing ----------------------------------------------------------------------------

    def _style(self, name: str) -> Style:
        return self.get_component_rich_style(name, partial=True)

    def _line(self, cells) -> str:
        return "".join(f" {cell:<{w}}{' ' * (GAP - 1)}" for cell, w in zip(cells, self.widths, strict=True))

    def render_line(self, y: int) -> Strip:
        scroll_x, scroll_y = self.scroll_offset
        width = self.size.width
        base = self.rich_style
        if y == 0:  # pinned header
            text = self._line(COLUMNS)
            strip = Strip([Segment(text, base + self._style("connections--header"))])
            return strip.crop_extend(scroll_x, scroll_x + width, base)
        index = scroll_y + y - 1
        if not self.conns and y == 1:
            hint = "  nothing matches: x clears the filter"
            return Strip([Segment(hint, base)]).crop_extend(0, width, base)
        if index >= len(self.conns):
            return Strip.blank(width, base)
        strip = self._strips.get(index)
        if strip is None:
            cells = self.cells(index)
            style = base
            if "✖" in cells[3] or "✖" in cells[6]:
                style += self._style("connections--problem")
            strip = Strip([Segment(self._line(cells), style)])
            self._strips[index] = strip
        strip = strip.crop_extend(scroll_x, scroll_x + width, base)
        if index == self.cursor and self.conns:
            strip = strip.apply_style(self.cursor_style("connections"))
        return strip
