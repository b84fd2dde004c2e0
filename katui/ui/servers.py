"""The per-server summary screen: counts, closes and idle histograms per server endpoint."""

from __future__ import annotations

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Static

from katui.analysis.servers import server_summaries
from katui.report.servers import server_lines
from katui.report.views import servers_md
from katui.ui.cursor import SCROLL_BINDINGS
from katui.ui.export import export_view
from katui.ui.footer import KeyFooter
from katui.ui.keys import view_bindings

SHOWN = 30
"""Servers drawn (the busiest first); a load test with thousands of endpoints says how many more."""


class ServerText(VerticalScroll, can_focus=True):
    """The summaries; j/k/g/G scroll them."""

    BINDINGS = SCROLL_BINDINGS


class Summarised(Message):
    """The summary lines, made in a thread worker."""

    def __init__(self, lines: list[str]) -> None:
        super().__init__()
        self.lines = lines


class ServersScreen(Screen[None]):
    """Per server endpoint: connections, requests, reuse, closes, timeouts, idle histograms."""

    BINDINGS = view_bindings("servers")

    def __init__(self, analysis) -> None:
        super().__init__()
        self.analysis = analysis

    def compose(self) -> ComposeResult:
        yield Static(Text("Servers · summarising…"), id="servers-title")
        with ServerText(id="servers-box"):
            yield Static(id="servers-text")
        yield KeyFooter()

    def on_mount(self) -> None:
        self.set_focus(self.query_one(ServerText))
        # Bars fill what the labels leave; text wraps before the scrollbar (2 cells).
        self._summarise(max(10, min(40, self.size.width - 44)), self.size.width - 2)

    @work(thread=True, exclusive=True, group="servers")
    def _summarise(self, width: int, columns: int) -> None:
        summaries = server_summaries(self.analysis)
        lines = []
        for s in summaries[:SHOWN]:
            lines += server_lines(s, width, columns) + [""]
        if len(summaries) > SHOWN:
            lines.append(f"… and {len(summaries) - SHOWN} more servers with fewer connections")
        self.post_message(Summarised(lines))

    def action_export(self) -> None:
        a, width = self.analysis, max(10, min(40, self.size.width - 44))
        export_view(self, "servers", lambda: servers_md(a, width))

    def on_summarised(self, message: Summarised) -> None:
        self.lines = message.lines
        count = sum(1 for line in message.lines if line.startswith("server "))
        title = f"Servers · {count} shown, busiest first · ◀ marks the inferred idle timeout"
        self.query_one("#servers-title", Static).update(Text(title, no_wrap=True, overflow="ellipsis"))
        self.query_one("#servers-text", Static).update(Text("\n".join(message.lines)))
