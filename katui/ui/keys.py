"""Every main-screen key in one table: bindings, the help screen and the command palette."""

from __future__ import annotations

from typing import NamedTuple

from textual.binding import Binding


class Key(NamedTuple):
    """One action: its keys (first one shown), action string, description, footer visibility."""

    keys: str
    action: str
    description: str
    show: bool = False
    palette: bool = True


KEYS: list[Key] = [
    Key("question_mark", "help", "Help: every key", True),
    Key("slash", "search", "Search: address, port, URI, status", True),
    Key("f", "findings", "Findings: capture-wide verdicts", True),
    Key("t", "time_mode", "Time: capture / connection / delta", True),
    Key("e", "export", "Export: Markdown to a file", True),
    Key("y", "copy", "Copy: Markdown to the clipboard", True),
    Key("q", "quit", "Quit", True),
    Key("right_square_bracket", "mark(1)", "Next request, gap or close in the ladder"),
    Key("left_square_bracket", "mark(-1)", "Previous request, gap or close in the ladder"),
    Key("R", "filter('reused')", "Filter: reused connections only"),
    Key("S", "filter('server_closed')", "Filter: closed by the server only"),
    Key("P", "filter('problems')", "Filter: resets and problems only"),
    Key("p", "port", "Filter: by port"),
    Key("x,escape", "clear_filters", "Clear filters and search"),
    Key("o", "sort", "Sort connections by the next column"),
    Key("O", "reverse", "Reverse the sort order"),
    Key("s", "seqack", "Show or hide relative seq/ack"),
    Key("plus,equals_sign", "gap(1)", "Longer idle-gap threshold"),
    Key("minus", "gap(-1)", "Shorter idle-gap threshold"),
    Key("enter", "focus_ladder", "Open the ladder of the connection", palette=False),
    Key("h", "focus_connections", "Back to the connection list", palette=False),
]

NAVIGATION = [
    ("j / k / ↓ / ↑", "Move down / up"),
    ("g / G / Home / End", "First / last row"),
    ("PgDn / PgUp / Ctrl+f / Ctrl+b", "Page down / up"),
    ("Tab / Shift+Tab", "Next / previous pane"),
    ("← / →", "Pan the list or the ladder sideways (long URIs and notes)"),
    ("Enter / l, h", "Into the ladder, back to the list"),
    ("Ctrl+p", "Command palette"),
]


def bindings() -> list[Binding]:
    """Textual bindings for :data:`KEYS`."""
    return [Binding(k.keys, k.action, k.description.split(":")[0] if k.show else k.description,
                    show=k.show) for k in KEYS]  # fmt: skip


_NAMES = {"question_mark": "?", "slash": "/", "right_square_bracket": "]",
          "left_square_bracket": "[", "plus": "+", "equals_sign": "=", "minus": "-",
          "escape": "Esc", "enter": "Enter"}  # fmt: skip


def key_label(keys: str) -> str:
    """``x,escape`` -> ``x / Esc``."""
    return " / ".join(_NAMES.get(k, k) for k in keys.split(","))


def help_rows() -> list[tuple[str, str]]:
    """(keys, description) for the help screen, actions then navigation."""
    return [(key_label(k.keys), k.description) for k in KEYS] + NAVIGATION
