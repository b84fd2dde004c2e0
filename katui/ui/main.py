"""The main screen: summary line, connection list, ladder and detail; owns filters and keys."""

from __future__ import annotations

from pathlib import Path

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.reactive import var
from textual.screen import Screen
from textual.widgets import ProgressBar, Static

from katui.analysis.payload import payload_kind
from katui.analysis.query import Query
from katui.analysis.verdicts import DEFAULT_IDLE_NS
from katui.report.ladder import TIME_MODES, TIME_TITLES
from katui.report.ladder_text import time_heading
from katui.report.lanes import upstream_streams
from katui.textsafe import safe_text
from katui.ui import actions
from katui.ui.connections import ConnectionTable
from katui.ui.detail import DetailPane
from katui.ui.exporting import ExportActions
from katui.ui.filters import COLUMN_SORT, select
from katui.ui.footer import KeyFooter
from katui.ui.inorder import InOrderInput
from katui.ui.keys import bindings
from katui.ui.ladder import LadderView
from katui.ui.prompt import FILTER_HINT, PromptActions
from katui.units import fmt_bytes, fmt_s, fmt_start, fmt_timeout, plural


def summary_text(a) -> Text:
    """The header: file, start, frames, connections, requests, duration; the inferred timeout
    on a line of its own (an 80-column terminal cut it off the end of the first one); the first
    warning on a third."""
    t = a.timeout
    if t.estimate_ns is not None:
        # Always whose: a capture of several servers (or of a proxy and its backend) has one
        # timeout each, and a bare number reads as everyone's.
        timeout = (
            f"server idle timeout ≈ {fmt_timeout(t.estimate_ns)} at {safe_text(t.server)}: "
            f"{plural(t.samples, 'close')}"
        )
        timeout += f", reused after {fmt_s(t.low_ns)}" if t.low_ns else ""
        if len([x for x in a.timeouts if x.estimate_ns is not None]) > 1:
            timeout += "; more servers in the findings"
    else:
        timeout = "server idle timeout: no idle close seen"
    text = Text()
    text.append(safe_text(Path(a.path).name), "bold")
    if a.frames:  # first, so a narrow terminal keeps it: it is what server logs are matched by
        text.append(f" · started {fmt_start(a.first_ns)}")
    text.append(
        f" · {plural(a.frames, 'frame')} · {plural(len(a.connections), 'connection')} · "
        f"{plural(a.requests, 'request')} · {fmt_s(a.duration_ns)}\n{timeout}"
    )
    if a.warnings:  # a line of its own, so a narrow terminal does not cut it away
        text.append(f"\n⚠ {plural(len(a.warnings), 'warning')}: {safe_text(a.warnings[0])}")
    text.no_wrap, text.overflow = True, "ellipsis"
    return text


class MainScreen(PromptActions, ExportActions, actions.MainActions, Screen):
    """Everything on one screen; widgets post messages up, this screen sets their attributes."""

    BINDINGS = bindings()
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (110, "-wide")]

    analysis = var(None, init=False)
    error = var("", init=False)

    def __init__(self, path: str, idle_threshold_ns: int | None) -> None:
        super().__init__()
        self.path = path
        self.filter = Query()
        self._kinds: dict[int, str | None] = {}
        self.sort, self.reverse = "stream", False
        self.shown = []
        self.conn = None
        self.gap_ns = idle_threshold_ns or DEFAULT_IDLE_NS
        self.pending = []
        """Actions typed while loading, run when the analysis arrives (see after_load)."""
        self.read_all = False
        """Loading has read the whole capture and is analysing what it read."""

    def compose(self) -> ComposeResult:
        yield Static(Text(f"katui · loading {safe_text(self.path)}"), id="summary")
        with Vertical(id="loading"):
            yield Static(Text(f"Reading {safe_text(self.path)} …"), id="loading-text")
            yield ProgressBar(id="loading-bar", show_eta=False)
        yield Static(id="error")
        with Vertical(id="body"):
            yield ConnectionTable(id="connections")
            with Horizontal(id="lower"):
                with Vertical(id="ladder-box"):
                    yield Static(id="ladder-head")
                    yield LadderView(id="ladder")
                yield DetailPane(id="detail")
        # select_on_focus off: 'p' pre-fills "port:" and the first digit must not replace it.
        yield InOrderInput(id="search", placeholder=FILTER_HINT, select_on_focus=False)
        yield Static(id="export-progress")
        yield KeyFooter(held=True)  # released once the first rows (or the error) are drawn

    def on_mount(self) -> None:
        self.query_one("#connections").border_title = "Connections"
        self.query_one("#ladder-box").border_title = "Ladder"
        self.query_one("#detail").border_title = "Detail"
        ladder = self.query_one("#ladder")
        self.watch(ladder, "scroll_x", self._pan_ladder_head)
        self.watch(ladder, "lane", self._pan_ladder_head)  # lanes widen with the pane

    def _pan_ladder_head(self) -> None:
        """The lane names above the ladder pan with its rows."""
        if self.conn is not None:
            ladder = self.query_one("#ladder", LadderView)
            head = safe_text(ladder.header())
            x = int(ladder.scroll_x)
            keep = len(time_heading(ladder.time_mode)) if x else 0  # frame and time stay
            self.query_one("#ladder-head", Static).update(Text(head[:keep] + head[keep + x :]))

    def progress(self, frames: int, done: int, total: int) -> None:
        """Show loading progress (called by the app with the worker's numbers)."""
        self.query_one("#loading-bar", ProgressBar).update(total=max(total, 1), progress=done)
        self.read_all = done >= total
        if self.read_all:  # the connections are being analysed: that takes a while on big ones
            text = f"Read {safe_text(self.path)}: {frames} frames, {fmt_bytes(total)}; analysing…"
        else:
            text = f"Reading {safe_text(self.path)}: {frames} frames, {fmt_bytes(done)} of {fmt_bytes(total)}"
        self.query_one("#loading-text", Static).update(Text(text))
        self._title_preview()

    def preview(self, rows: list) -> None:
        """List connections seen so far while the rest of the capture loads."""
        if self.analysis is not None or not rows:
            return
        table = self.query_one("#connections", ConnectionTable)
        if not self.has_class("-previewing"):
            self.add_class("-previewing")
            self.set_focus(table)  # j/k/Enter typed while loading go to the list
            self.call_after_refresh(self.query_one(KeyFooter).release)
        table.append_preview(rows)
        self._title_preview()

    def _title_preview(self) -> None:
        table = self.query_one("#connections", ConnectionTable)
        if self.analysis is None and self.has_class("-previewing"):
            table.border_title = (
                f"Connections {table.row_total} · analysing…"
                if self.read_all
                else f"Connections {table.row_total} so far · loading…"
            )

    def watch_error(self, error: str) -> None:
        self.query_one(KeyFooter).release()
        self.add_class("-failed")
        self.query_one("#summary", Static).update(Text(f"katui · {safe_text(self.path)}"))
        self.query_one("#error", Static).update(Text.assemble(
            ("✖ Could not load the capture\n\n", "bold"), safe_text(error),
            "\n\nPress q to quit."))  # fmt: skip
        self.refresh_bindings()

    def watch_analysis(self, a) -> None:
        if a is None:
            return
        self.query_one(KeyFooter).release()
        table = self.query_one("#connections", ConnectionTable)
        # The row chosen while the preview was listed stays chosen.
        chosen = table.stream if self.has_class("-previewing") else None
        self.remove_class("-previewing", update=False)
        self.add_class("-loaded", update=False)
        self.update_node_styles()  # one restyle of the screen, not one per class
        self.query_one("#summary", Static).update(summary_text(a))
        self.query_one("#ladder", LadderView).gap_ns = self.gap_ns
        self.refill(chosen)
        if self.focused is None or self.focused.id not in ("ladder", "detail", "search"):
            self.set_focus(table)
        self.refresh_bindings()
        self.run_pending()

    def refill(self, stream: int | None = None, top: bool = False) -> None:
        """Apply filter and sort to the connection list, keeping the selection when possible
        (``top``: show the first row of the new order instead)."""
        a = self.analysis
        if a is None:
            return
        keep = stream if stream is not None else (self.conn.stream if self.conn else None)
        if top:
            keep = None
        self.shown = select(a.connections, self.filter, self.sort, self.reverse, self.kind)
        table = self.query_one("#connections", ConnectionTable)
        table.roles = a.proxies.roles
        table.fill(self.shown, a.first_ns, keep)
        what = safe_text(self.filter.text)
        order = f" · sort {self.sort}{' ↓' if self.reverse else ''}" if self.sort != "stream" \
            or self.reverse else ""  # fmt: skip
        table.border_title = Text(f"Connections {len(self.shown)}/{len(a.connections)}"
                                  f"{f' · filter: {what}' if what else ''}{order}")  # fmt: skip
        if not self.shown:
            self.show_connection(None)

    def kind(self, conn) -> str | None:
        """What a non-HTTP connection carries (TLS...), read once per connection."""
        if conn.stream not in self._kinds:
            self._kinds[conn.stream] = payload_kind(self.analysis, conn)
        return self._kinds[conn.stream]

    def on_connection_table_header_clicked(self, message: ConnectionTable.HeaderClicked) -> None:
        column = COLUMN_SORT[message.column]
        if column == self.sort:
            self.action_reverse()
        else:
            self.reverse = False
            self.action_sort(column)

    def on_connection_table_selected(self, message: ConnectionTable.Selected) -> None:
        if self.analysis is None:  # still loading: the list shows previews only
            return
        conn = self.analysis.connections[message.stream] if message.stream is not None else None
        if conn is not self.conn:
            self.show_connection(conn)

    def show_connection(self, conn, frame: int | None = None) -> None:
        """Point the ladder and detail at ``conn`` (cursor on ``frame`` when given)."""
        self.conn = conn
        self.query_one("#ladder", LadderView).show(self.analysis, conn, frame)
        self.update_ladder_head()

    def update_ladder_head(self) -> None:
        """Lane names, time mode and gap threshold above the ladder."""
        ladder = self.query_one("#ladder", LadderView)
        box = self.query_one("#ladder-box")
        if self.conn is None:
            box.border_title = "Ladder"
            self.query_one("#ladder-head", Static).update("")
            return
        mode = TIME_TITLES[ladder.time_mode]
        lane = ""
        if upstream_streams(self.analysis, self.conn):  # a proxy's front connection
            lane = " · with backend lane (b hides)" if ladder.backend else " · backend lane hidden (b shows)"
        box.border_title = (f"Ladder · stream {self.conn.stream}{lane} · time {mode} · "
                            f"gaps ≥ {fmt_s(ladder.gap_ns)}")  # fmt: skip
        self._pan_ladder_head()

    def on_ladder_view_frame_selected(self, message: LadderView.FrameSelected) -> None:
        ladder = self.query_one("#ladder", LadderView)
        detail = self.query_one("#detail", DetailPane)
        detail.show(self.analysis, message.conn or self.conn, message.frame, message.note, ladder.time_mode)

    def cycle_time(self) -> str:
        """Next time mode for the ladder."""
        ladder = self.query_one("#ladder", LadderView)
        ladder.time_mode = TIME_MODES[(TIME_MODES.index(ladder.time_mode) + 1) % len(TIME_MODES)]
        self.update_ladder_head()
        if self.conn is not None and ladder.frame is not None:  # its t= follows the mode
            self.query_one("#detail", DetailPane).show(
                self.analysis, self.conn, ladder.frame, time_mode=ladder.time_mode
            )
        return ladder.time_mode
