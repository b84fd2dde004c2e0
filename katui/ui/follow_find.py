"""Follow stream's search, as in less: ``/`` (forward) or ``?`` (backward) asks for a pattern,
Enter finds it from the cursor, ``n`` finds the next match in the same direction, ``N`` in the
other, wrapping at the ends with a notice. The pattern and what it means are
:func:`katui.report.follow_search.parse`'s; the search itself runs over the stream's bytes."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Input

from katui.report.follow import segments
from katui.report.follow_search import Pattern, StreamIndex, parse
from katui.textsafe import safe_text
from katui.units import plural

SEARCH_HINT = "text; \\x0d is a byte, as shown; in hex, 0d0a is bytes; empty: the last pattern"


def _echo(text: str) -> str:
    """The user's pattern shown back: controls escaped, a backslash as typed (``\\x1b`` means
    the byte it shows in the pattern too)."""
    return safe_text(text).replace("\\\\", "\\")


class SearchActions:
    """``/`` ``?`` ``n`` ``N`` of follow stream; ``self`` is the FollowScreen (``analysis``,
    ``conn``, ``hex``, ``mode``, ``_shown_per_line`` and its :class:`FollowView`)."""

    pattern_text = ""
    """The last pattern, as typed (shown in the title while it is highlighted)."""
    pattern_in_hex = False
    """The last pattern was typed in the hex view: its hex digits stay bytes after ``x``."""
    backward = False
    """The last search went backward (``?``): ``n`` goes on backward, ``N`` forward."""
    asking_backward = False

    def _view(self):
        return self.query_one("#follow")

    def _pattern(self) -> Pattern | None:
        """The last pattern, read as when it was typed (hex digits typed in hex stay bytes)."""
        return parse(self.pattern_text, self.pattern_in_hex, self._as_shown())

    def _as_shown(self) -> bool:
        return not self.hex and self.conn.tls is not None  # TLS records are not the bytes

    def _index(self) -> StreamIndex:
        """The bytes behind the lines shown, made when first searched."""
        view = self._view()
        if view.index is not None:
            return view.index
        if self._as_shown():
            return StreamIndex.of_lines(view.lines)
        return StreamIndex.of_segments(segments(self.analysis, self.conn), self.hex, self._shown_per_line)

    def _ask(self, backward: bool) -> None:
        box = self.query_one("#follow-search", Input)
        self.asking_backward = backward
        box.border_title = "? search backward" if backward else "/ search forward"
        box.placeholder = SEARCH_HINT
        box.value = ""
        box.add_class("-open")
        self._describe("")
        self.set_focus(box)  # now, not focus(): what is typed right after / must land here

    def action_search(self) -> None:
        self._ask(False)

    def action_search_back(self) -> None:
        self._ask(True)

    def action_close(self) -> None:
        """Esc: close the prompt, else leave the stream."""
        box = self.query_one("#follow-search", Input)
        if box.has_class("-open"):
            box.remove_class("-open")
            self.set_focus(self._view())
            return
        self.dismiss(None)

    def _describe(self, value: str) -> None:
        """Say under the prompt what the pattern will look for, as it is typed."""
        pattern = parse(value, self.hex, self._as_shown())
        last = f"the last pattern: {_echo(self.pattern_text)}" if self.pattern_text else ""
        what = pattern.what if pattern else last
        box = self.query_one("#follow-search", Input)
        # A Text, not a str: Textual reads a str as markup, and the pattern may hold brackets.
        box.border_subtitle = Text(f"{what} · Enter searches · Esc closes" if what else "Esc closes")

    def on_input_changed(self, event: Input.Changed) -> None:
        if event.input.id == "follow-search":
            self._describe(event.value)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.input.id != "follow-search":
            return
        self.action_close()
        if event.value:
            self.pattern_text, self.pattern_in_hex = event.value, self.hex
        elif not self.pattern_text:
            return
        self.backward = self.asking_backward
        self.searched()
        self._find(self.backward)

    def action_again(self, reverse: bool) -> None:
        """``n`` (the last search's direction) and ``N`` (the other)."""
        if not self.pattern_text:
            self.notify("No pattern yet: / searches forward, ? backward.", timeout=3)
            return
        self._find(self.backward != reverse)

    def _find(self, backward: bool) -> None:
        found = self._view().find(backward)
        if found == "none":
            self.notify(f"Pattern not found: {_echo(self.pattern_text)}", severity="warning", timeout=3)
        elif found == "wrapped":
            end, other = ("top", "bottom") if backward else ("bottom", "top")
            self.notify(f"Search hit the {end}, continued at the {other}.", timeout=2)

    def searched(self, index: StreamIndex | None = None, match: int | None = None) -> None:
        """Highlight the last pattern in the lines shown (again after ``x`` or a resize; the
        cursor stays on the current ``match`` when the new lines show the same bytes as
        ``index``), and say in the title how many matches there are."""
        pattern = self._pattern()
        if pattern is None:
            self.show_title()
            return
        view, new = self._view(), self._index()
        view.highlight(new, pattern)
        if match is not None and index is not None and index.data == new.data:
            view.match, view.cursor = match, new.line_of(match)
            view.scroll_to_match()
        mark = "?" if self.backward else "/"
        found = plural(new.count(pattern), "match", "matches")
        kind = " (bytes)" if pattern.hex else ""
        self.show_title(f" · {mark}{_echo(self.pattern_text)}{kind}: {found}")
