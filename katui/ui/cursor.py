"""Keyboard and mouse cursor shared by the line-by-line views (connection list and ladder)."""

from __future__ import annotations

from textual import events
from textual.binding import Binding

CURSOR_BINDINGS = [
    Binding("down,j", "cursor(1)", "Move down", show=False, priority=True),
    Binding("up,k", "cursor(-1)", "Move up", show=False, priority=True),
    Binding("pagedown,ctrl+f", "page(1)", "Page down", show=False, priority=True),
    Binding("pageup,ctrl+b", "page(-1)", "Page up", show=False, priority=True),
    Binding("home,g", "jump(0)", "First row (and back to the left edge)", show=False, priority=True),
    Binding("end,G", "jump(-1)", "Last row", show=False, priority=True),
]
"""Vim keys and arrows, less-style paging, g/G. Priority bindings, like the screen's (see
katui.ui.keys.bindings): every key is acted on before the next is handed out, in order."""

PAN_BINDINGS = [
    Binding("left,less_than_sign", "pan(-8)", "Pan left (long URIs and notes)", show=False, priority=True),
    Binding(
        "right,greater_than_sign", "pan(8)", "Pan right (long URIs and notes)", show=False, priority=True
    ),
]
"""Sideways panning has its own keys: h and l move between panes everywhere."""

SCROLL_BINDINGS = [
    Binding("down,j", "scroll_down", "Scroll down", show=False, priority=True),
    Binding("up,k", "scroll_up", "Scroll up", show=False, priority=True),
    Binding("pagedown,ctrl+f", "page_down", "Page down", show=False, priority=True),
    Binding("pageup,ctrl+b", "page_up", "Page up", show=False, priority=True),
    Binding("home,g", "scroll_home", "Top", show=False, priority=True),
    Binding("end,G", "scroll_end", "Bottom", show=False, priority=True),
]
"""The same keys for the scrolling text panes (detail, help)."""


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
        """g/Home: the first row, panned back to the left edge (the start of everything, as
        Home is in an editor); G/End: the last row, the pan kept."""
        if where == 0:
            self.cursor = 0
            if self.scroll_offset.x:
                self.scroll_to(x=0, animate=False)
        else:
            self.cursor = self.row_total - 1

    def action_pan(self, step: int) -> None:
        self.scroll_to(x=max(0, self.scroll_offset.x + step), animate=False)

    def validate_cursor(self, value: int) -> int:
        return max(0, min(value, self.row_total - 1))

    def on_resize(self) -> None:
        self.scroll_to_region_of(self.cursor)

    def on_focus(self) -> None:
        self.refresh()  # the cursor bar is drawn brighter in the focused pane

    def on_blur(self) -> None:
        self.refresh()

    def cursor_style(self, prefix: str):
        """The cursor bar's style: bright in the focused pane, dim elsewhere."""
        return self.get_component_rich_style(f"{prefix}--cursor" if self.has_focus
                                             else f"{prefix}--cursor-blur", partial=True)  # fmt: skip

    def on_click(self, event: events.Click) -> None:
        """A click on a row selects it (and focuses the pane); on a header line, see
        :meth:`header_clicked`."""
        where = event.get_content_offset(self)
        if where is None:
            return
        self.focus()
        if where.y < self.pinned:
            self.header_clicked(where.x + int(self.scroll_offset.x))
            return
        row = int(self.scroll_offset.y) + where.y - self.pinned
        if 0 <= row < self.row_total:
            self.cursor = row

    def header_clicked(self, x: int) -> None:
        """Called with the virtual column of a click on a pinned header line."""

    def scroll_to_region_of(self, y: int) -> None:
        """Keep row ``y`` on screen."""
        # The content region excludes scrollbars (a horizontal one takes a line).
        top = int(self.scroll_offset.y)
        height = self.scrollable_content_region.height - self.pinned
        if y < top:
            self.scroll_to(y=y, animate=False)
        elif height > 0 and y >= top + height:
            self.scroll_to(y=y - height + 1, animate=False)
