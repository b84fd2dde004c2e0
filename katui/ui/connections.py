"""The connection list: one DataTable row per connection, rows added in one batch."""

from __future__ import annotations

from rich.cells import cell_len
from textual.binding import Binding
from textual.message import Message
from textual.widgets import DataTable

from katui.ui.filters import COLUMNS, row_cells

MEASURE_ROWS = 200
"""Rows DataTable itself measures per batch; widths of the rest are computed in :meth:`fill`."""


class ConnectionTable(DataTable):
    """Connections with their keep-alive verdicts; posts :class:`Selected` on cursor moves."""

    BINDINGS = [
        Binding("j", "cursor_down", "Down", show=False),
        Binding("k", "cursor_up", "Up", show=False),
        Binding("g", "scroll_top", "First", show=False),
        Binding("G", "scroll_bottom", "Last", show=False),
        Binding("ctrl+f", "page_down", "Page down", show=False),
        Binding("ctrl+b", "page_up", "Page up", show=False),
        Binding("h", "cursor_left", "Left", show=False),
        Binding("l", "cursor_right", "Right", show=False),
    ]

    class Selected(Message):
        """The highlighted connection changed (``stream`` None when the list is empty)."""

        def __init__(self, stream: int | None) -> None:
            super().__init__()
            self.stream = stream

    def __init__(self, **kwargs) -> None:
        super().__init__(cursor_type="row", zebra_stripes=True, **kwargs)
        self.streams: list[int] = []

    def on_mount(self) -> None:
        self.add_columns(*COLUMNS)

    def fill(self, conns, first_ns: int, stream: int | None = None) -> None:
        """Replace the rows with ``conns`` (one batch) and keep ``stream`` highlighted if shown."""
        self.clear()
        self.streams = [c.stream for c in conns]
        rows = [row_cells(c, first_ns) for c in conns]
        self.add_rows(rows)
        for i, column in enumerate(self.ordered_columns):
            widest = max((cell_len(r[i]) for r in rows), default=0)
            column.content_width = max(column.content_width, widest)
        row = self.streams.index(stream) if stream in self.streams else 0
        if self.streams:
            self.move_cursor(row=row, animate=False, scroll=True)
        self.post_message(self.Selected(self.stream))

    def _update_dimensions(self, new_rows) -> None:
        # DataTable measures every cell of every new row (seconds for 60 000 connections);
        # our cells are plain strings whose widths fill() already took, so sample a few.
        super()._update_dimensions(list(new_rows)[:MEASURE_ROWS])

    @property
    def stream(self) -> int | None:
        """Stream of the highlighted row."""
        if not self.streams:
            return None
        return self.streams[min(self.cursor_row, len(self.streams) - 1)]

    def select_stream(self, stream: int) -> bool:
        """Move the cursor to ``stream``; False when it is filtered out."""
        if stream not in self.streams:
            return False
        self.move_cursor(row=self.streams.index(stream), animate=False, scroll=True)
        return True

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        event.stop()
        self.post_message(self.Selected(self.stream))
