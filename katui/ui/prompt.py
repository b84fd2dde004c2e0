"""The prompt line of the main screen: the filter (``/``) and go-to (``:``), checked as you type."""

from __future__ import annotations

import re

from rich.text import Text
from textual.widgets import Input

from katui.analysis.query import Query, QueryError, parse
from katui.units import plural

FILTER_HINT = "filter: status:502 reason:reset closed:client idle>4s uri:/api req>=2 tls !word"
GOTO_HINT = "go to: a frame number, or s12 / stream:12 for a stream"
_GOTO = re.compile(r"^(?:(?P<frame>\d+)|(?:s|stream:?)\s*(?P<stream>\d+))$", re.I)


def toggle_word(text: str, word: str) -> str:
    """``text`` with ``word`` removed if it is there, else appended."""
    words = text.split()
    return " ".join([w for w in words if w != word] if word in words else [*words, word])


class PromptActions:
    """Filter and go-to actions; ``self`` is the :class:`MainScreen` (``filter`` is a Query)."""

    prompt = "filter"
    _opened_with = ""

    def _open_prompt(self, mode: str, value: str) -> None:
        search = self.query_one("#search", Input)
        self.prompt = mode
        search.placeholder = FILTER_HINT if mode == "filter" else GOTO_HINT
        search.value = value
        search.add_class("-open")
        self._opened_with = value
        self._check(value)
        # set_focus now, not focus() (which defers): what is typed right after / must land here.
        self.set_focus(search)
        search.cursor_position = len(value)

    def action_search(self, prefix: str = "") -> None:
        text = self.filter.text
        self._open_prompt("filter", f"{text} {prefix}".strip() if prefix else text)

    def action_port(self) -> None:
        self.action_search("port:")

    def action_goto(self) -> None:
        self._open_prompt("goto", "")

    def hide_search(self) -> None:
        """Hide the prompt line and give focus back to the list."""
        self.query_one("#search").remove_class("-open")
        self.set_focus(self.query_one("#connections"))

    def _check(self, value: str, submitted: bool = False) -> str | None:
        """Validate the prompt's text; show the one-line error under it (None when fine). Not
        yet for the text the prompt opened with: 'port:' waits for its number (Enter on it
        says what is missing)."""
        error = None
        if self.prompt == "filter":
            try:
                parse(value)
            except QueryError as exc:
                error = str(exc)
        elif value.strip() and not _GOTO.match(value.strip()):
            error = "a frame number (123), or s12 / stream:12 for a stream"
        shown = None if value == self._opened_with and not submitted else error
        search = self.query_one("#search", Input)
        search.set_class(shown is not None, "-invalid")
        # Text: the error quotes what was typed, which must not be read as markup
        search.border_subtitle = Text(f"✖ {shown}" if shown else "Enter applies · Esc closes")
        return error

    def on_input_changed(self, event: Input.Changed) -> None:
        if event.input.id == "search":
            self._check(event.value)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.input.id != "search" or self._check(event.value, submitted=True) is not None:
            return  # an invalid filter stays in the prompt, with its error shown
        self.hide_search()
        if self.prompt == "goto":
            self.goto(event.value.strip())
            return
        self.set_filter(parse(event.value))

    def set_filter(self, query: Query) -> None:
        """Show the connections matching ``query`` (applied once loaded, if still loading)."""
        self.filter = query
        self.refill()

    def action_filter(self, word: str) -> None:
        self.set_filter(parse(toggle_word(self.filter.text, word)))
        if self.analysis is not None:
            on = word in self.filter.text.split()
            self.notify(f"Filter {word} {'on' if on else 'off'}: "
                        f"{plural(len(self.shown), 'connection')} shown.", timeout=2)  # fmt: skip

    def action_clear_filters(self) -> None:
        if self.filter.active:
            self.set_filter(Query())
            self.notify("Filter cleared.", timeout=2)

    def goto(self, where: str) -> None:
        """Select frame ``N`` (its connection and row) or stream ``sN``."""
        if self.analysis is None:
            self.pending.append((type(self).goto, (where,)))
            return
        m = _GOTO.match(where)
        if m is None:
            return
        a = self.analysis
        if m.group("stream") is not None:
            stream = int(m.group("stream"))
            if stream >= len(a.connections):
                self.notify(f"No stream {stream}: the capture has {len(a.connections)}.", severity="warning")
                return
            self.jump_to((stream, None))
            return
        frame = int(m.group("frame"))
        if not 1 <= frame <= a.frames:
            self.notify(f"No frame {frame}: the capture has {a.frames}.", severity="warning")
            return
        stream = a.table.stream[frame - 1]
        if stream < 0:
            self.notify(f"Frame {frame} is not TCP: it is on no connection.", severity="warning")
            return
        self.jump_to((stream, frame))
