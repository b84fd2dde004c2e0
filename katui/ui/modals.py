"""Modal screens: help, findings, export scope, overwrite confirmation."""

from __future__ import annotations

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Input, Label, OptionList, Static
from textual.widgets.option_list import Option

from katui.textsafe import safe_text
from katui.ui.cursor import SCROLL_BINDINGS
from katui.ui.inorder import InOrderInput
from katui.ui.keys import help_rows

_SEVERITY = {"problem": "✖ problem", "warning": "⚠ warning", "info": "ℹ info"}
_CLOSE = [Binding("escape,q", "dismiss(None)", "Close", show=True)]


class HelpText(VerticalScroll, can_focus=True):
    """The key table, wrapped to the width of the screen; j/k/g/G scroll it."""

    BINDINGS = SCROLL_BINDINGS


class HelpScreen(ModalScreen[None]):
    """Every key and what it does, made from the bindings themselves."""

    BINDINGS = _CLOSE + [Binding("question_mark", "dismiss(None)", "Close", show=False)]

    def compose(self) -> ComposeResult:
        rows = help_rows()
        table = Table(box=None, show_header=False, expand=True, padding=(0, 1))
        table.add_column("key", style="bold", no_wrap=True, width=max(len(k) for k, _ in rows))
        table.add_column("action", ratio=1)
        for keys, what in rows:
            table.add_row(keys, what)
        with Vertical(id="help-box", classes="modal-box"):
            yield Label("katui keys — j/k scroll, Esc or q closes", classes="modal-title")
            with HelpText(id="help-table"):
                yield Static(table)

    @property
    def rows(self) -> list[tuple[str, str]]:
        """(keys, description) shown (for tests)."""
        return help_rows()


class FindingsScreen(ModalScreen[tuple[int, int | None] | None]):
    """Capture-wide verdicts; choosing one returns its (stream, frame)."""

    BINDINGS = _CLOSE + [Binding("j", "down", "Down", show=False),
                         Binding("k", "up", "Up", show=False)]  # fmt: skip

    def __init__(self, findings) -> None:
        super().__init__()
        self.findings = findings

    def compose(self) -> ComposeResult:
        options = []
        for i, f in enumerate(self.findings):
            text = Text(f"{_SEVERITY.get(f.severity, f.severity)}  ", style="bold")
            text.append(safe_text(f.text))
            if f.advice:
                text.append(f"\n   → {safe_text(f.advice)}", style="italic")
            where = f"stream {f.stream}, frame {f.frame}" if f.stream is not None else "capture"
            text.append(f"\n   [{where}]")
            options.append(Option(text, id=str(i), disabled=f.stream is None))
        if not options:
            options.append(Option("No findings.", disabled=True))
        with Vertical(id="findings-box", classes="modal-box"):
            yield Label("Findings — Enter jumps to the connection and frame, Esc closes",
                        classes="modal-title")  # fmt: skip
            yield OptionList(*options, id="findings-list")

    def action_down(self) -> None:
        self.query_one(OptionList).action_cursor_down()

    def action_up(self) -> None:
        self.query_one(OptionList).action_cursor_up()

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        f = self.findings[int(event.option.id)]
        self.dismiss((f.stream, f.frame))


class ScopeScreen(ModalScreen[tuple[str, str] | None]):
    """Ask what to export: the selected connection, the filtered list, or everything."""

    BINDINGS = [Binding("escape", "dismiss(None)", "Cancel", show=True),
                Binding("j", "down", "Down", show=False),
                Binding("k", "up", "Up", show=False)]  # fmt: skip

    def action_down(self) -> None:
        self.query_one(OptionList).action_cursor_down()

    def action_up(self) -> None:
        self.query_one(OptionList).action_cursor_up()

    def __init__(self, verb: str, choices: list[tuple[str, str]], path: str | None,
                 what: str = "Markdown") -> None:  # fmt: skip
        super().__init__()
        self.verb, self.choices, self.path, self.what = verb, choices, path, what

    def compose(self) -> ComposeResult:
        with Vertical(id="scope-box", classes="modal-box"):
            yield Label(f"{self.verb} {self.what} for… (Enter chooses, Esc cancels)",
                        classes="modal-title")  # fmt: skip
            yield OptionList(*[Option(text, id=key) for key, text in self.choices], id="scope")
            if self.path is not None:
                yield Label("File (Tab to edit):")
                yield InOrderInput(self.path, id="export-path")

    def _path(self) -> str:
        return self.query_one(Input).value.strip() if self.path is not None else ""

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        self.dismiss((event.option.id, self._path()))

    def on_input_submitted(self, event: Input.Submitted) -> None:
        options = self.query_one(OptionList)
        index = options.highlighted or 0
        self.dismiss((self.choices[index][0], self._path()))


class ConfirmScreen(ModalScreen[bool]):
    """A yes/no question."""

    BINDINGS = [Binding("y", "dismiss(True)", "Yes", show=True),
                Binding("n,escape", "dismiss(False)", "No", show=True)]  # fmt: skip

    def __init__(self, question: str) -> None:
        super().__init__()
        self.question = question

    def compose(self) -> ComposeResult:
        with Vertical(id="confirm-box", classes="modal-box"):
            yield Label(Text(self.question), classes="modal-title")
            yield Label("y = yes, n / Esc = no")
