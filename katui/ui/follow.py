"""Follow stream: the selected connection's bytes, line by line, client and server apart by a
prefix (``C→`` / ``S←``) and a colour; ``x`` switches text and hex; ``/`` ``?`` ``n`` ``N``
search as in less (:mod:`katui.ui.follow_find`)."""

from __future__ import annotations

from rich.cells import cell_len
from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual.app import ComposeResult
from textual.geometry import Size
from textual.reactive import reactive
from textual.screen import Screen
from textual.scroll_view import ScrollView
from textual.strip import Strip
from textual.widgets import Static

from katui.report.follow import HEX_NARROW, HEX_WIDE, follow_view, prefix
from katui.report.follow_search import Pattern, StreamIndex
from katui.report.views import follow_md
from katui.textsafe import safe_text
from katui.ui.cursor import CURSOR_BINDINGS, PAN_BINDINGS, CursorMixin
from katui.ui.export import export_view
from katui.ui.follow_find import SearchActions
from katui.ui.footer import KeyFooter
from katui.ui.inorder import InOrderInput
from katui.ui.keys import prompt_check, view_bindings

LINE_BREAK = "↵"
"""Drawn, highlighted, past a line's text when a match takes in its line break (``\\x0d\\x0a``)."""
SPANS_KEPT = 4096
"""Lines whose matches' columns are kept (a screenful is tens: scrolling through a big stream
must not keep them all)."""
_UNREVERSED = Style(reverse=False)
"""A match keeps its colours on the cursor's line (drawn in reverse video)."""


class FollowView(CursorMixin, ScrollView, can_focus=True):
    """One line per payload line (text) or 16 bytes (hex)."""

    DEFAULT_CSS = """
    FollowView { background: $surface; }
    FollowView > .follow--client { color: $text; }
    FollowView > .follow--server { color: $text-accent; }
    FollowView > .follow--cursor { text-style: bold reverse; }
    FollowView > .follow--cursor-blur { text-style: underline; }
    FollowView > .follow--match { background: $warning-muted; text-style: underline; }
    FollowView > .follow--match-current {
        background: $warning; color: $background; text-style: bold underline;
    }
    """
    COMPONENT_CLASSES = {"follow--client", "follow--server", "follow--cursor", "follow--cursor-blur",
                         "follow--match", "follow--match-current"}  # fmt: skip
    BINDINGS = [*CURSOR_BINDINGS, *PAN_BINDINGS]

    cursor = reactive(0)

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.lines: list[tuple[int, bool, str]] = []
        self.index: StreamIndex | None = None
        """The bytes behind the lines, once searched (the screen makes it)."""
        self.pattern: Pattern | None = None
        """What is highlighted."""
        self.match: int | None = None
        """Where the current match starts, in the bytes of :attr:`index`."""
        self._spans: dict[int, list[tuple[int, int, int]]] = {}

    def show(self, lines, frame: int | None = None) -> None:
        """Show ``lines``; the cursor on the first line of ``frame`` or after it."""
        self.lines = lines
        self.index = self.pattern = self.match = None
        self._spans.clear()
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

    def highlight(self, index: StreamIndex, pattern: Pattern | None) -> None:
        """Highlight the matches of ``pattern`` in ``index`` (the bytes of these lines); the
        current match stays if both are the ones already highlighted."""
        if index is not self.index or pattern != self.pattern:
            self.match = None
        self.index, self.pattern = index, pattern
        self._spans.clear()
        self.refresh()

    def spans(self, y: int) -> list[tuple[int, int, int]]:
        """(first column, column after, match start) of the matches on line ``y``, in
        :meth:`row_text`'s columns (worked out once a line, up to :data:`SPANS_KEPT` lines)."""
        if self.index is None or self.pattern is None:
            return []
        found = self._spans.get(y)
        if found is None:
            if len(self._spans) >= SPANS_KEPT:
                self._spans.clear()
            shift = len(self.row_text(y)) - len(self.lines[y][2])
            found = [(a + shift, b + shift, at) for a, b, at in self.index.spans(self.pattern, y)]
            self._spans[y] = found
        return found

    def find(self, backward: bool) -> str:
        """Move to the next match (the previous one, ``backward``) from where the cursor is:
        the current match when the cursor is on its line, else the cursor line's start.
        Returns ``found``, ``wrapped`` (went past an end), or ``none``."""
        index, pattern = self.index, self.pattern
        if index is None or pattern is None or not self.lines:
            return "none"
        on = self.match if self.match is not None and index.line_of(self.match) == self.cursor else None
        line_start = index.bounds(self.cursor)[0]
        if backward:
            at = index.previous_match(pattern, line_start if on is None else on)
            wrapped = at is None and (at := index.previous_match(pattern, len(index.data) + 1)) is not None
        else:
            at = index.next_match(pattern, line_start if on is None else on + 1)
            wrapped = at is None and (at := index.next_match(pattern, 0)) is not None
        if at is None:
            return "none"
        self.match = at
        self.cursor = index.line_of(at)
        self.scroll_to_match()
        self.refresh()
        return "wrapped" if wrapped else "found"

    def scroll_to_match(self) -> None:
        """Pan so that the current match is on screen (a long line's match may be far right)."""
        span = next((s for s in self.spans(self.cursor) if s[2] == self.match), None)
        if span is None:
            return
        text = self.row_text(self.cursor)
        left, right = cell_len(text[: span[0]]), cell_len(text[: span[1]])
        width = self.scrollable_content_region.width
        if left < self.scroll_offset.x or right > self.scroll_offset.x + width:
            context = max(0, min(width // 4, width - (right - left)))  # some text before it
            self.scroll_to(x=max(0, left - context), animate=False)

    def _marked(self, text: str, spans, style: Style) -> list[Segment]:
        """``text`` in ``style`` with the matches' pieces highlighted (overlaps drawn once)."""
        match = self.get_component_rich_style("follow--match", partial=True) + _UNREVERSED
        current = self.get_component_rich_style("follow--match-current", partial=True) + _UNREVERSED
        text = text.ljust(max(b for _, b, _ in spans), LINE_BREAK)  # a match of the line break
        out, done = [], 0
        for a, b, at in spans:
            a = max(a, done)
            if b > a:
                out += [Segment(text[done:a], style),
                        Segment(text[a:b], style + (current if at == self.match else match))]  # fmt: skip
                done = b
        return [*out, Segment(text[done:], style)]

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
        text, spans = self.row_text(index), self.spans(index)
        segments = self._marked(text, spans, style) if spans else [Segment(text, style)]
        strip = Strip(segments).crop_extend(scroll_x, scroll_x + width, base)
        if index == self.cursor:
            strip = strip.apply_style(self.cursor_style("follow"))
        return strip


HEX_FITS = 12 + 10 + HEX_WIDE * 3 + 1 + HEX_WIDE + 1
"""Columns a 16-byte hex line needs: frame and direction (12), offset (10), the hex, two
spaces, the characters, and the scrollbar."""


class FollowScreen(SearchActions, Screen[None]):
    """The bytes of one connection, opened at the ladder's frame."""

    BINDINGS = view_bindings("follow stream")

    def __init__(self, analysis, conn, frame: int | None = None) -> None:
        super().__init__()
        self.analysis, self.conn, self.frame = analysis, conn, frame
        self.hex = False
        self.mode = "text"
        """What the lines are: text, hex, TLS records (:func:`follow_view`'s)."""
        self._shown_per_line = HEX_WIDE

    def compose(self) -> ComposeResult:
        yield Static(id="follow-title")
        yield FollowView(id="follow")
        yield InOrderInput(id="follow-search", select_on_focus=False)
        yield KeyFooter()

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
        index, match = view.index, view.match
        view.show(lines, frame)
        self.mode = mode
        self.searched(index, match)

    def show_title(self, found: str = "") -> None:
        """The title line: the stream, the mode, what the search found, the two ends."""
        c = self.conn
        title = (f"Follow stream {c.stream} · {self.mode}{found} · C→ client {safe_text(c.client)} · "
                 f"S← server {safe_text(c.server)}")  # fmt: skip
        self.query_one("#follow-title", Static).update(Text(title, no_wrap=True, overflow="ellipsis"))

    def check_action(self, action: str, parameters) -> bool | None:
        return prompt_check(self, action)

    def action_export(self) -> None:
        a, conn, hex_mode = self.analysis, self.conn, self.hex
        export_view(self, f"stream{conn.stream}", lambda: follow_md(a, conn, hex_mode))

    def action_hex(self) -> None:
        self.hex = not self.hex
        self._show(self.query_one(FollowView).frame)
