"""Every key in one place: the bindings, and the help screen and README table made from them."""

from __future__ import annotations

from typing import NamedTuple

from textual.binding import Binding

from katui.ui.cursor import CURSOR_BINDINGS, PAN_BINDINGS, SCROLL_BINDINGS


class Key(NamedTuple):
    """One main-screen action: keys (first one shown), action, description, in the footer."""

    keys: str
    action: str
    description: str
    show: bool = False
    palette: bool = True


KEYS: list[Key] = [
    Key("question_mark", "help", "Help: every key", True),
    Key(
        "slash",
        "search",
        "Filter: status:502 reason:reset closed:client idle>4s server:9401 "
        "uri:/api req>=2 proto:h2 tls, words ANDed, ! negates; other words: address, port, URI, reason",
        True,
    ),
    Key("colon", "goto", "Go to: a frame number, or sN for stream N", True),
    Key("f", "findings", "Findings: capture-wide verdicts", True),
    Key("r", "requests", "Requests: every request of the capture in one list", True),
    Key("T", "timeline", "Timeline: the connections of the list on one time axis"),
    Key("F", "follow", "Follow stream: the connection's bytes from the ladder's frame, text or hex"),
    Key("v", "servers", "Servers: per-server summary with idle histograms and the timeout"),
    Key("t", "time_mode", "Time: since capture / since connection / delta / local time of day / UTC"),
    Key("J", "other_leg", "Proxy: jump to the request's other leg (front <-> upstream)"),
    Key(
        "b",
        "backend_lane",
        "Backend lane: a proxy's front connection with its upstream frames "
        "(client | proxy | backend), on or off",
    ),  # fmt: skip
    Key("z", "zoom_pane", "Zoom: the focused pane (list, ladder, detail) fills the screen; z or Esc back"),
    Key("e", "export", "Export: Markdown to a file", True),
    Key("c", "export_csv", "CSV: the connection list as shown, or its requests, to a file"),
    Key("y", "copy", "Copy: Markdown to the clipboard"),  # the footer keeps q at 80 columns
    Key("q", "quit", "Quit", True),
    Key("l,enter", "pane(1)", "Into: list → ladder → detail", palette=False),
    Key("h", "pane(-1)", "Back: detail → ladder → list", palette=False),
    Key(
        "escape",
        "back",
        "Back one level: close the prompt, cancel an export, or back one pane (never clears the filter)",
        palette=False,
    ),
    Key("right_square_bracket", "mark(1)", "Next request, gap or close in the ladder"),
    Key("left_square_bracket", "mark(-1)", "Previous request, gap or close in the ladder"),
    Key("R", "filter('reused')", "Filter: toggle the word reused (more than one request)"),
    Key("S", "filter('closed:server')", "Filter: toggle closed:server (closed by the server)"),
    Key(
        "P", "filter('problem')", "Filter: toggle problem (resets, stale reuse, 502/503/504, unprocessed h2)"
    ),
    Key("p", "port", "Filter: add port:N"),
    Key("x", "clear_filters", "Clear the filter"),
    Key("o", "sort", "Sort connections by the next column (shows the top)"),
    Key("O", "reverse", "Reverse the sort order"),
    Key("s", "seqack", "Show or hide relative seq/ack"),
    Key("plus,equals_sign", "gap(1)", "Longer idle-gap threshold"),
    Key("minus", "gap(-1)", "Shorter idle-gap threshold"),
]

REQUEST_KEYS: list[Key] = [
    Key("l,enter", "open", "Open: the ladder at this request", True),
    Key("slash", "search", "Filter requests: status:5xx uri:/api idle>4s reused problem", True),
    Key("o", "sort", "Sort requests: time, stream, status, TTFB, idle, size, method, URI", True),
    Key("O", "reverse", "Reverse the requests' order"),
    Key("t", "time_mode", "Time of the requests: since capture / local time of day / UTC"),
    Key("x", "clear", "Clear the requests' filter"),
    Key("e", "export", "Export: the requests as listed (filter, order, time) as a Markdown table", True),
    Key("escape", "close", "Back: close the filter, else leave the requests", True),
    Key("q", "close", "Back: leave the requests"),
    Key("h", "close", "Back: leave the requests"),
]
"""Keys of the request list (the cursor keys are the list's, :data:`CURSOR_BINDINGS`)."""

TIMELINE_KEYS: list[Key] = [
    Key("l,enter", "open", "Open: the ladder of the selected connection", True),
    Key("plus,equals_sign", "zoom(0.5)", "Zoom in: half the time per cell", True),
    Key("minus", "zoom(2)", "Zoom out: twice the time per cell", True),
    Key("left,less_than_sign", "pan(-0.25)", "Pan earlier by a quarter of the window"),
    Key("right,greater_than_sign", "pan(0.25)", "Pan later by a quarter of the window"),
    Key("0", "fit", "Fit the whole capture in the window"),
    Key("full_stop", "show_cursor", "Move the window to the selected connection's start"),
    Key("colon", "goto", "Go to: a time since capture start (12.5s, 3m)", True),
    Key("e", "export", "Export: the timeline as shown (its window and zoom) as Markdown text art", True),
    Key("escape", "close", "Back: close the prompt, else leave the timeline", True),
    Key("q", "close", "Back: leave the timeline"),
    Key("h", "close", "Back: leave the timeline"),
]
"""Keys of the timeline (j/k/g/G/PgUp/PgDn move between connections)."""

SERVER_KEYS: list[Key] = [Key("e", "export", "Export: every server's summary as Markdown", True),
                          Key("escape", "dismiss(None)", "Back: leave the server summary", True),
                          Key("q", "dismiss(None)", "Back: leave the server summary"),
                          Key("h", "dismiss(None)", "Back: leave the server summary")]  # fmt: skip
"""Keys of the server summary (j/k/g/G scroll it)."""

FOLLOW_KEYS: list[Key] = [
    Key("x", "hex", "Hex or text", True),
    Key(
        "slash",
        "search",
        "Search: forward from the cursor, as in less (case-insensitive unless the "
        "pattern has a capital; \\x0d is a byte, as shown; in hex, 0d0a is bytes)",
        True,
    ),
    Key("question_mark", "search_back", "Search backward from the cursor"),
    Key("n", "again(False)", "Next: the next match in the search's direction (wraps, saying so)", True),
    Key("N", "again(True)", "Previous match (against the search's direction)"),
    Key("e", "export", "Export: the stream (text or hex, as shown) as Markdown", True),
    Key("escape", "close", "Back: close the search prompt, else leave the stream", True),
    Key("q", "dismiss(None)", "Back: leave the stream"),
    Key("h", "dismiss(None)", "Back: leave the stream"),
]
"""Keys of follow stream (j/k/g/G/PgUp/PgDn move, ←/→ pan)."""

SCREENS = {"request list": REQUEST_KEYS, "timeline": TIMELINE_KEYS, "servers": SERVER_KEYS,
           "follow stream": FOLLOW_KEYS}  # fmt: skip
"""The keys of the views opened from the main screen, by view."""

EXTRA = [
    ("Tab / Shift+Tab", "Next / previous pane"),
    ("Ctrl+p", "Command palette"),
    ("mouse", "Click a row to select it, a column heading to sort by it; the wheel scrolls"),
]
"""Keys Textual itself handles (not in a BINDINGS list of ours)."""


def bindings() -> list[Binding]:
    """Textual bindings for :data:`KEYS` (footer: the word before ':', help: the whole text).

    Priority bindings: the screen acts on a key before the next one is handed to the focused
    pane, so 'l' then 'j' in one read (tmux, a fast typist) moves in the ladder, and '/' then
    text puts the text in the prompt. While the prompt has focus they are refused (it types
    them) and only Esc, an ordinary binding, acts."""
    return [Binding(k.keys, k.action, k.description.split(":")[0] if k.show else k.description,
                    show=k.show, tooltip=k.description, priority=k.keys != "escape")
            for k in KEYS]  # fmt: skip


PROMPTS = ("goto", "search", "search_back")
"""Actions that open a view's prompt: priority bindings, so that what is typed right after the
key (tmux and ssh deliver ':8s⏎' in one read) lands in the prompt, not in the view."""


def view_bindings(view: str) -> list[Binding]:
    """Textual bindings for one of :data:`SCREENS`: ordinary (a prompt types them) but the
    :data:`PROMPTS` ones, which the view refuses while its prompt has focus
    (:func:`prompt_check`)."""
    return [Binding(k.keys, k.action, k.description.split(":")[0] if k.show else k.description,
                    show=k.show, tooltip=k.description, priority=k.action in PROMPTS)
            for k in SCREENS[view]]  # fmt: skip


def prompt_check(screen, action: str) -> bool:
    """A view's ``check_action``: while an Input has focus its prompt keys type into it."""
    from textual.widgets import Input

    return not (action in PROMPTS and isinstance(screen.focused, Input))


def request_bindings() -> list[Binding]:
    """Textual bindings for :data:`REQUEST_KEYS`."""
    return view_bindings("request list")


_NAMES = {"question_mark": "?", "slash": "/", "colon": ":", "right_square_bracket": "]",
          "left_square_bracket": "[", "plus": "+", "equals_sign": "=", "minus": "-",
          "escape": "Esc", "enter": "Enter", "down": "↓", "up": "↑", "left": "←", "right": "→",
          "pagedown": "PgDn", "pageup": "PgUp", "home": "Home", "end": "End",
          "ctrl+f": "Ctrl+f", "ctrl+b": "Ctrl+b", "less_than_sign": "<",
          "greater_than_sign": ">", "full_stop": "."}  # fmt: skip


def key_label(keys: str) -> str:
    """``h,escape`` -> ``h / Esc``."""
    return " / ".join(_NAMES.get(k, k) for k in keys.split(","))


def _rows(found: list[Binding], where: str = "") -> list[tuple[str, str]]:
    return [(key_label(b.key), (b.tooltip or b.description) + where) for b in found]


def help_rows() -> list[tuple[str, str]]:
    """(keys, description) for the help screen: every binding once (the same keys in several
    panes share a row), then Textual's own keys."""
    merged: dict[str, list[str]] = {}
    views = [row for view in SCREENS for row in _rows(view_bindings(view), f" ({view})")]
    for keys, what in (_rows(bindings()) + views
                       + _rows(CURSOR_BINDINGS, " (list, ladder, requests)")
                       + _rows(PAN_BINDINGS, " (list, ladder)")
                       + _rows(SCROLL_BINDINGS, " (detail, help)")):  # fmt: skip
        merged.setdefault(keys, []).append(what)
    return [(keys, "; ".join(what)) for keys, what in merged.items()] + EXTRA


def all_keys() -> set[str]:
    """Every key name bound by katui (for the README and help tests)."""
    views = [b for view in SCREENS for b in view_bindings(view)]
    found = bindings() + views + CURSOR_BINDINGS + PAN_BINDINGS + SCROLL_BINDINGS
    return {k for b in found for k in b.key.split(",")}
