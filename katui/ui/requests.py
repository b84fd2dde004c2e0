"""Every request in one list (as mitmproxy's flow list): a screen over a line-drawn table.

The table stores only the list of (connection, exchange) rows; a row's cells are made when it
scrolls into view (LRU-cached), so 228 000 requests cost what is on screen. Enter opens the
ladder at the request.
"""

from __future__ import annotations

from rich.cells import cell_len
from rich.segment import Segment
from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.cache import LRUCache
from textual.geometry import Size
from textual.message import Message
from textual.reactive import reactive
from textual.screen import Screen
from textual.scroll_view import ScrollView
from textual.strip import Strip
from textual.widgets import Input, Static

from katui.analysis import requests as rq
from katui.analysis.query import Query, QueryError, parse
from katui.report.views import requests_md, time_text
from katui.textsafe import safe_text
from katui.ui.cursor import CURSOR_BINDINGS, PAN_BINDINGS, CursorMixin
from katui.ui.export import export_view
from katui.ui.footer import KeyFooter
from katui.ui.inorder import InOrderInput
from katui.ui.keys import prompt_check, request_bindings

GAP = 2
WIDTHS = {"time": 12, "method": 7, "status": 6, "ttfb": 8, "reuse": 5, "idle": 8, "sent": 9,
          "received": 9}  # fmt: skip
"""Column widths of known shape."""
URI_WIDTH = (20, 60)
"""The URI column below / from 120 columns (a longer URI is cut with '…')."""
TIME_MODES = ("rel", "local", "utc")
TIME_NAMES = {"rel": "since capture start", "local": "local time of day", "utc": "UTC time of day"}


class RequestTable(CursorMixin, ScrollView, can_focus=True):
    """One line per request; the cursor's row is the request Enter opens."""

    DEFAULT_CSS = """
    RequestTable { background: $surface; }
    RequestTable > .requests--header { text-style: bold; color: $text-accent; }
    RequestTable > .requests--problem { color: $text-error; }
    RequestTable > .requests--cursor { text-style: bold reverse; }
    RequestTable > .requests--cursor-blur { text-style: underline; }
    """
    COMPONENT_CLASSES = {"requests--header", "requests--problem", "requests--cursor",
                         "requests--cursor-blur"}  # fmt: skip
    BINDINGS = [*CURSOR_BINDINGS, *PAN_BINDINGS]

    cursor = reactive(0)
    time_mode = reactive("rel")
    pinned = 1

    def __init__(self, analysis, **kwargs) -> None:
        super().__init__(**kwargs)
        self.analysis = analysis
        self.rows: list[rq.Row] = []
        self.widths = [cell_len(c) for c in rq.COLUMNS]
        self._longest: dict[str, int] = {}
        self.hint = "  listing the requests…"
        """What an empty list says: listing (before the first fill) or that nothing matches."""
        self._strips: LRUCache[int, Strip] = LRUCache(512)

    def fill(self, rows: list[rq.Row], widths: dict[str, int]) -> None:
        """Show ``rows`` with the cursor on the first; ``widths`` of the variable columns
        (measured with the rows, in the worker: a pass over 228 000 rows is not for the UI
        thread)."""
        self.rows = rows
        self.hint = "  no request matches: x clears the filter"
        self._longest = widths
        self._layout()
        self.set_reactive(RequestTable.cursor, 0)
        self.scroll_to(x=0, y=0, animate=False)
        self.refresh()

    def _layout(self) -> None:
        longest = dict(self._longest, uri=URI_WIDTH[self.size.width >= 120])
        self.widths = [max(cell_len(n), longest.get(n, WIDTHS.get(n, 0))) for n in rq.COLUMNS]
        self._strips.clear()
        self.virtual_size = Size(sum(self.widths) + GAP * len(self.widths), len(self.rows) + 1)
        self.refresh()

    def on_resize(self) -> None:
        self._layout()
        super().on_resize()

    @property
    def row_total(self) -> int:
        return len(self.rows)

    @property
    def current(self) -> rq.Row | None:
        """(connection, exchange) under the cursor."""
        return self.rows[self.cursor] if self.rows else None

    def watch_cursor(self, old: int, new: int) -> None:
        self._strips.discard(old)
        self._strips.discard(new)
        self.scroll_to_region_of(new)
        self.refresh()
        self.post_message(RequestHighlighted())

    def watch_time_mode(self) -> None:
        self._strips.clear()
        self.refresh()

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._strips.clear()

    def _time(self, ex) -> str:
        return time_text(self.analysis, rq.request_time(ex), self.time_mode)

    def cells(self, index: int) -> tuple[str, ...]:
        """Cells of row ``index`` (escaped)."""
        conn, ex = self.rows[index]
        cells = rq.request_cells(self.analysis, conn, ex, self._time(ex))
        return tuple(safe_text(c) for c in cells)

    def row_text(self, index: int) -> str:
        """Plain text of row ``index`` (for tests)."""
        return self._line(self.cells(index))

    def _line(self, cells) -> str:
        out = []
        for cell, w, name in zip(cells, self.widths, rq.COLUMNS, strict=True):
            cell = cell if cell_len(cell) <= w else cell[: w - 1] + "…"
            out.append(f" {cell:>{w}} " if name in ("time", "stream", "#", "ttfb", "idle", "sent", "received")
                       else f" {cell:<{w}} ")  # fmt: skip
        return "".join(out)

    def render_line(self, y: int) -> Strip:
        scroll_x, scroll_y = self.scroll_offset
        width, base = self.size.width, self.rich_style
        if y == 0:
            style = base + self.get_component_rich_style("requests--header", partial=True)
            return Strip([Segment(self._line(rq.COLUMNS), style)]).crop_extend(
                scroll_x, scroll_x + width, base
            )
        index = scroll_y + y - 1
        if not self.rows and y == 1:
            return Strip([Segment(self.hint, base)]).crop_extend(0, width, base)
        if index >= len(self.rows):
            return Strip.blank(width, base)
        strip = self._strips.get(index)
        if strip is None:
            cells = self.cells(index)
            style = base
            # a reset, stale reuse, a 50x or an HTTP/2 request never processed: the problem word's
            if "✖" in cells[6] or cells[6] == rq.NEVER_PROCESSED or self.rows[index][1].gateway_error:
                style += self.get_component_rich_style("requests--problem", partial=True)
            strip = Strip([Segment(self._line(cells), style)])
            self._strips[index] = strip
        strip = strip.crop_extend(scroll_x, scroll_x + width, base)
        if index == self.cursor:
            strip = strip.apply_style(self.cursor_style("requests"))
        return strip


class RequestHighlighted(Message):
    """The cursor moved to another request (the screen shows its whole target)."""


class RequestsListed(Message):
    """The requests a filter and order chose (made in a thread worker)."""

    def __init__(self, rows: list, total: int, widths: dict[str, int]) -> None:
        super().__init__()
        self.rows, self.total, self.widths = rows, total, widths

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, RequestsListed)


class RequestsScreen(Screen[tuple[int, int] | None]):
    """Every request; Enter returns (stream, frame) of the request for the ladder.

    Filtering and sorting 228 000 requests takes about a second, so it runs in a thread worker:
    keys stay answered meanwhile and the title says the list is being made."""

    BINDINGS = request_bindings()

    def __init__(self, analysis) -> None:
        super().__init__()
        self.analysis = analysis
        self.filter = Query()
        self.sort, self.reverse = "time", False
        self.total = 0
        self.busy = False

    def compose(self) -> ComposeResult:
        yield Static(id="requests-title")
        yield RequestTable(self.analysis, id="requests")
        yield Static(id="requests-uri")
        yield InOrderInput(id="requests-search", select_on_focus=False,
                           placeholder="filter requests: status:5xx uri:/api idle>4s reused")  # fmt: skip
        yield KeyFooter()

    def on_mount(self) -> None:
        self.refill()
        self.set_focus(self.query_one(RequestTable))

    def refill(self) -> None:
        """Apply the filter and the order (in a worker; :class:`RequestsListed` brings the rows)."""
        self.busy = True
        self._title()
        self._select(self.filter, self.sort, self.reverse)

    @work(thread=True, exclusive=True, group="requests")
    def _select(self, q: Query, sort: str, reverse: bool) -> None:
        everything = rq.all_requests(self.analysis)
        rows = rq.select(everything, q, sort, reverse)
        self.post_message(RequestsListed(rows, len(everything), rq.widths(rows)))

    def on_requests_listed(self, message: RequestsListed) -> None:
        self.busy = False
        self.total = message.total
        self.query_one(RequestTable).fill(message.rows, message.widths)
        self._title()
        self._show_target()

    def on_request_highlighted(self, _message: RequestHighlighted) -> None:
        self._show_target()

    def _show_target(self) -> None:
        """The selected request's whole target and Host under the list: the list cuts a long
        URI, and panning shows the other columns, not the rest of it."""
        row = self.query_one(RequestTable).current
        req = row[1].request if row is not None else None
        host = f"  (Host: {req.host})" if req is not None and req.host else ""
        text = "" if req is None else f"{req.method} {req.uri}{host}"
        self.query_one("#requests-uri", Static).update(Text(safe_text(text), no_wrap=True, overflow="fold"))

    def _title(self) -> None:
        table = self.query_one(RequestTable)
        what = safe_text(self.filter.text)
        busy = " · listing…" if self.busy else ""
        order = f"{self.sort}{' ↓' if self.reverse else ''}"
        text = (f"Requests {len(table.rows)}/{self.total}{busy}{f' · filter: {what}' if what else ''}"
                f" · sort {order} · time {TIME_NAMES[table.time_mode]}")  # fmt: skip
        self.query_one("#requests-title", Static).update(Text(text, no_wrap=True, overflow="ellipsis"))

    def check_action(self, action: str, parameters) -> bool | None:
        return prompt_check(self, action)

    def action_open(self) -> None:
        row = self.query_one(RequestTable).current
        if row is None:
            return
        conn, ex = row
        msg = ex.request or ex.response
        self.dismiss((conn.stream, msg.first_frame))

    def action_close(self) -> None:
        search = self.query_one("#requests-search", Input)
        if search.has_class("-open"):
            search.remove_class("-open", "-bad")
            self.set_focus(self.query_one(RequestTable))
            return
        self.dismiss(None)

    def action_sort(self) -> None:
        self.sort = rq.SORT_KEYS[(rq.SORT_KEYS.index(self.sort) + 1) % len(rq.SORT_KEYS)]
        self.refill()

    def action_reverse(self) -> None:
        self.reverse = not self.reverse
        self.refill()

    def action_time_mode(self) -> None:
        table = self.query_one(RequestTable)
        table.time_mode = TIME_MODES[(TIME_MODES.index(table.time_mode) + 1) % len(TIME_MODES)]
        self._title()

    def action_export(self) -> None:
        table = self.query_one(RequestTable)
        a, rows, mode = self.analysis, list(table.rows), table.time_mode
        what, order = self.filter.text, f"{self.sort}{' (reversed)' if self.reverse else ''}"
        export_view(self, "requests", lambda: requests_md(a, rows, mode, what, order))

    def action_clear(self) -> None:
        self.filter = Query()
        self.refill()

    def action_search(self) -> None:
        search = self.query_one("#requests-search", Input)
        search.add_class("-open")
        search.value = self.filter.text
        self.set_focus(search)

    def on_input_changed(self, event: Input.Changed) -> None:
        try:
            parse(event.value)
        except QueryError as exc:
            event.input.add_class("-bad")
            event.input.tooltip = str(exc)
            self.query_one("#requests-title", Static).update(Text(f"✖ {exc}", no_wrap=True))
            return
        event.input.remove_class("-bad")
        self._title()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        try:
            self.filter = parse(event.value)
        except QueryError:
            return  # the error stays shown; the prompt stays open
        event.input.remove_class("-open")
        self.set_focus(self.query_one(RequestTable))
        self.refill()
