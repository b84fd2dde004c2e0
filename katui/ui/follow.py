"""Follow stream: the selected connection's bytes, line by line, client and server apart by a
prefix (``C→`` / ``S←``) and a colour; ``x`` switches text and hex."""

from __future__ import annotations

from rich.segment import Segment
from rich.text import Text
from textual.app import ComposeResult
from textual.geometry import Size
from textual.reactive import reactive
from textual.screen import Screen
from textual.scroll_view import ScrollView
from textual.strip import Strip
from textual.widgets import Footer, Static

from katui.report.follow import HEX_NARROW, HEX_WIDE, follow_view, prefix
from katui.report.views import follow_md
from katui.textsafe import safe_text
from katui.ui.cursor import CURSOR_BINDINGS, PAN_BINDINGS, CursorMixin
from katui.ui.export import export_view
from katui.ui.keys import view_bindings


class FollowView(CursorMixin, ScrollView, can_focus=True):
    """One line per payload line (text) or 16 bytes (hex)."""

    DEFAULT_CSS = """
    FollowView { background: $surface; }
    FollowView > .follow--client { color: $text; }
    FollowView > .follow--server { color: $text-accent; }
    FollowView > .follow--cursor { text-style: bold reverse; }
    FollowView > .follow--cursor-blur { text-style: underline; }
    """
    COMPONENT_CLASSES = {"follow--client", "follow--server", "follow--cursor", "follow--cursor-blur"}
    BINDINGS = [*CURSOR_BINDINGS, *PAN_BINDINGS]

    cursor = reactive(0)

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.lines: list[tuple[int, bool, str]] = []

    def show(self, lines, frame: int | None = None) -> None:
        """Show ``lines``; the cursor on the first line of ``frame`` or after it."""
        self.lines = lines
        width = max((len(t) for _, _, t in lines), default=0) + 12
        self.virtual_size = Size(width, len(lines))
        at = next((y for y, (f, _, _) in enumerate(lines) if frame is not None and f >= frame), 0)
        self.cursor = at
        self.scroll_to(y=max(at - 2, 0), animate=False)
        self.refresh()

    @property
    def row_total(self) -> int:
        return len(self.lines)

    @property
    def frame(self) -> int | None:
        """Frame of the cursor's line."""
        return self.lines[self.cursor][0] if self.lines else None

    def watch_cursor(self, old: int, new: int) -> None:
        self.scroll_to_region_of(new)
        self.refresh()

    def row_text(self, y: int) -> str:
        """Plain text of line ``y`` (for tests)."""
        frame, c2s, text = self.lines[y]
        return f"{frame:>8} {prefix(c2s)}{text}"

    def render_line(self, y: int) -> Strip:
        scroll_x, scroll_y = self.scroll_offset
        width, base = self.size.width, self.rich_style
        index = scroll_y + y
        if not self.lines and y == 0:
            return Strip([Segment("  no payload on this connection", base)]).crop_extend(0, width, base)
        if index >= len(self.lines):
            return Strip.blank(width, base)
        c2s = self.lines[index][1]
        style = base + self.get_component_rich_style(
            "follow--client" if c2s else "follow--server", partial=True
        )
        strip = Strip([Segment(self.row_text(index), style)]).crop_extend(scroll_x, scroll_x + width, base)
        if index == self.cursor:
            strip = strip.apply_style(self.cursor_style("follow"))
        return strip


HEX_FITS = 12 + 10 + HEX_WIDE * 3 + 1 + HEX_WIDE + 1
"""Columns a 16-byte hex line needs: frame and direction (12), offset (10), the hex, two
spaces, the characters, and the scrollbar."""


class FollowScreen(Screen[None]):
    """The bytes of one connection, opened at the ladder's frame."""

    BINDINGS = view_bindings("follow stream")

    def __init__(self, analysis, conn, frame: int | None = None) -> None:
        super().__init__()
        self.analysis, self.conn, self.frame = analysis, conn, frame
        self.hex = False
        self._shown_per_line = HEX_WIDE

    def compose(self) -> ComposeResult:
        yield Static(id="follow-title")
        yield FollowView(id="follow")
        yield Footer()

    def on_mount(self) -> None:
        self.set_focus(self.query_one(FollowView))
        self._show(self.frame)

    def _per_line(self) -> int:
        """Bytes a hex line shows: 16, or 8 when 16 and their text would not fit the width
        (frame, direction, offset, 16 x 3 hex, 16 characters: 88 columns)."""
        return HEX_WIDE if self.size.width >= HEX_FITS else HEX_NARROW

    def on_resize(self) -> None:
        if self.hex and self._shown_per_line != self._per_line():
            self._show(self.query_one(FollowView).frame)

    def _show(self, frame: int | None) -> None:
        view = self.query_one(FollowView)
        self._shown_per_line = per_line = self._per_line()
        lines, mode = follow_view(self.analysis, self.conn, self.hex, per_line=per_line)
        view.show(lines, frame)
        c = self.conn
        title = (f"Follow stream {c.stream} · {mode} · C→ client {safe_text(c.client)} · "
                 f"S← server {safe_text(c.server)}")  # fmt: skip
        self.query_one("#follow-title", Static).update(Text(title, no_wrap=True, overflow="ellipsis"))

    def action_export(self) -> None:
        a, conn, hex_mode = self.analysis, self.conn, self.hex
        export_view(self, f"stream{conn.stream}", lambda: follow_md(a, conn, hex_mode))

    def action_hex(self) -> None:
        self.hex = not self.hex
        self._show(self.query_one(FollowView).frame)
