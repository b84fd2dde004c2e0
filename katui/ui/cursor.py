"""Keyboard cursor shared by the line-by-line views (connection list and ladder)."""

from __future__ import annotations

from textual.binding import Binding

CURSOR_BINDINGS = [
    Binding("down,j", "cursor(1)", "Down", show=False),
    Binding("up,k", "cursor(-1)", "Up", show=False),
    Binding("pagedown,ctrl+f", "page(1)", "Page down", show=False),
    Binding("pageup,ctrl+b", "page(-1)", "Page up", show=False),
    Binding("home,g", "jump(0)", "First row", show=False),
    Binding("end,G", "jump(-1)", "Last row", show=False),
]
"""Vim keys and arrows, less-style paging, g/G."""


class CursorMixin:
    """Actions for a ``cursor`` reactive over ``row_total`` rows, ``pinned`` header lines."""

    pinned = 0

    @property
    def row_total(self) -> int:
        """Number of rows the cursor can visit."""
        raise NotImplementedError

    def action_cursor(self, step: int) -> None:
        self.cursor += step

    def action_page(self, step: int) -> None:
        self.cursor += step * max(self.scrollable_content_region.height - self.pinned - 1, 1)

    def action_jump(self, where: int) -> None:
        self.cursor = 0 if where == 0 else self.row_total - 1

    def validate_cursor(self, value: int) -> int:
        return max(0, min(value, self.row_total - 1))

    def on_resize(self) -> None:
        self.scroll_to_region_of(self.cursor)

    def scroll_to_region_of(self, y: int) -> None:
        """Keep row ``y`` on screen."""
        # The content region excludes scrollbars (a horizontal one takes a line).
        top = int(self.scroll_offset.y)
        height = self.scrollable_content_region.height - self.pinned
        if y < top:
            self.scroll_to(y=y, animate=False)
        elif height > 0 and y >= top + height:
            self.scroll_to(y=y - height + 1, animate=False)
