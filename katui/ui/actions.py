"""The main screen's key actions (a mixin, so main.py stays about layout and messages)."""

from __future__ import annotations

import functools

from katui.report.lanes import upstream_streams
from katui.textsafe import safe_text
from katui.ui.filters import SORT_KEYS
from katui.ui.modals import FindingsScreen, HelpScreen
from katui.units import fmt_s

GAP_STEPS_NS = [int(s * 1e9) for s in (0.1, 0.2, 0.5, 1, 2, 5, 10, 30, 60, 300)]


PANES = ("connections", "ladder", "detail")
"""Left to right (top to bottom when stacked): what h and l move between."""


def after_load(method):
    """Run the action now, or once the capture is loaded (keys typed while loading are kept)."""

    @functools.wraps(method)
    def run(self, *args):
        if self.analysis is not None:
            return method(self, *args)
        if not self.error:
            self.pending.append((method, args))
            self.notify("Still loading: that key runs when the capture is loaded.", timeout=2)
        return None

    return run


class MainActions:
    """Actions bound in :mod:`katui.ui.keys`; ``self`` is the :class:`MainScreen`."""

    def check_action(self, action: str, parameters) -> bool | None:
        # While loading every key is accepted (and kept by after_load); a failed load leaves
        # only help and quit. In the prompt the keys type (see keys.bindings), but Esc.
        if getattr(self.focused, "id", None) == "search":
            return action == "back"
        return action in ("help", "quit") or not self.error

    def run_pending(self) -> None:
        """Run the keys typed while the capture was loading, in order."""
        pending, self.pending = self.pending, []
        for method, args in pending:
            method(self, *args)

    def action_quit(self) -> None:
        self.app.exit()

    def action_help(self) -> None:
        self.app.push_screen(HelpScreen())

    @after_load
    def action_sort(self, column: str | None = None) -> None:
        self.sort = column or SORT_KEYS[(SORT_KEYS.index(self.sort) + 1) % len(SORT_KEYS)]
        self.refill(top=True)

    @after_load
    def action_reverse(self) -> None:
        self.reverse = not self.reverse
        self.refill(top=True)

    @after_load
    def action_time_mode(self) -> None:
        self.cycle_time()

    @after_load
    def action_seqack(self) -> None:
        ladder = self.query_one("#ladder")
        ladder.seqack = not ladder.seqack

    @after_load
    def action_backend_lane(self) -> None:
        ladder = self.query_one("#ladder")
        ladder.backend = not ladder.backend
        self.update_ladder_head()
        if self.conn is not None and not upstream_streams(self.analysis, self.conn):
            state = "on" if ladder.backend else "off"
            self.notify(f"Backend lane {state}: it shows on a proxy's front connection (a capture "
                        "of both legs).", timeout=3)  # fmt: skip

    @after_load
    def action_gap(self, step: int) -> None:
        ladder = self.query_one("#ladder")
        now = ladder.gap_ns
        if step > 0:
            bigger = [g for g in GAP_STEPS_NS if g > now]
            ladder.gap_ns = bigger[0] if bigger else now
        else:
            smaller = [g for g in GAP_STEPS_NS if g < now]
            ladder.gap_ns = smaller[-1] if smaller else now
        self.update_ladder_head()
        self.notify(f"Idle gaps shown from {fmt_s(ladder.gap_ns)}.", timeout=2)

    @after_load
    def action_mark(self, step: int) -> None:
        ladder = self.query_one("#ladder")
        self.set_focus(ladder)
        if not ladder.next_mark(step):
            self.notify("No more requests or gaps that way.", severity="warning", timeout=2)

    def action_back(self) -> None:
        """Esc: close the prompt, else cancel a running export, else restore a zoomed pane,
        else back one pane."""
        if self.query_one("#search").has_class("-open"):
            self.hide_search()
        elif not self.cancel_export():
            if self.maximized is not None:
                self.minimize()
            else:
                self.action_pane(-1)

    def action_zoom_pane(self) -> None:
        """z: the focused pane fills the screen (a long verdict in the detail, a wide ladder);
        z again restores the layout."""
        if self.maximized is not None:
            self.minimize()
        elif self.focused is not None and self.focused.id in PANES:
            self.maximize(self.focused, container=False)

    def action_pane(self, step: int) -> None:
        """Into (1) or back (-1) one pane."""
        if self.analysis is None:
            after_load(type(self).action_pane)(self, step)
            return
        focused = self.focused.id if self.focused is not None else None
        at = PANES.index(focused) if focused in PANES else 0
        to = min(max(at + step, 0), len(PANES) - 1)
        if to == at and step < 0 and self.filter.active:
            self.notify("Already at the list; the filter stays (x clears it).", timeout=2)
        # set_focus now, not focus() (which defers): keys typed right after Enter must
        # already reach the pane.
        self.set_focus(self.query_one(f"#{PANES[to]}"))

    @after_load
    def action_findings(self) -> None:
        self.app.push_screen(FindingsScreen(self.analysis.findings), self.jump_to)

    @after_load
    def action_requests(self) -> None:
        from katui.ui.requests import RequestsScreen

        self.app.push_screen(RequestsScreen(self.analysis), self.jump_to)

    @after_load
    def action_servers(self) -> None:
        from katui.ui.servers import ServersScreen

        self.app.push_screen(ServersScreen(self.analysis))

    @after_load
    def action_timeline(self) -> None:
        from katui.ui.timeline import TimelineScreen

        self.app.push_screen(TimelineScreen(self.analysis, self.shown), self.jump_to)

    @after_load
    def action_follow(self) -> None:
        from katui.ui.follow import FollowScreen

        if self.conn is None:
            self.notify("No connection selected.", severity="warning", timeout=2)
            return
        ladder = self.query_one("#ladder")
        if ladder.frame_conn is not self.conn:  # a backend-lane frame: its own connection's bytes
            self.app.push_screen(FollowScreen(self.analysis, ladder.frame_conn, ladder.frame))
            return
        # On a gap or section row: the frame it leads into.
        frame = next((row for row in ladder.rows[ladder.cursor :] if isinstance(row, int)), None)
        self.app.push_screen(FollowScreen(self.analysis, self.conn, frame))

    @after_load
    def action_other_leg(self) -> None:
        """From a request a proxy forwarded, to its other leg: front request -> the upstream
        request it caused (the retry, if there was one), upstream request -> its front request."""
        ladder = self.query_one("#ladder")
        if ladder.frame_conn is not self.conn:  # a backend-lane frame: to its own connection
            self.jump_to((ladder.frame_conn.stream, ladder.frame))
            return
        where = other_leg(self.analysis, self.conn, ladder.frame)
        if where is None:
            self.notify("Not a request linked across a proxy (the capture must hold both legs).",
                        severity="warning", timeout=3)  # fmt: skip
            return
        self.jump_to(where)

    def jump_to(self, where) -> None:
        """Select ``(stream, frame)``, clearing filters that hide it."""
        if where is None:
            return
        stream, frame = where
        table = self.query_one("#connections")
        if stream in table.streams:  # shown: move to it (a refill of 55 000 rows takes ~0.2 s)
            table.cursor = table.streams.index(stream)
        else:
            from katui.analysis.query import Query

            hid = self.filter.text if self.filter.active else ""
            self.filter = Query()
            self.refill(stream)
            if hid:  # say so: the list the user narrowed is gone
                text = f"Filter '{safe_text(hid)}' cleared: it hid stream {stream}."
                self.notify(text, timeout=3, markup=False)
        self.show_connection(self.analysis.connections[stream], frame)
        self.set_focus(self.query_one("#ladder"))


def other_leg(analysis, conn, frame: int | None) -> tuple[int, int] | None:
    """(stream, frame) of the other leg of the request at ``frame`` of ``conn``, or None."""
    if conn is None or frame is None:
        return None
    ex = None
    for e in conn.exchanges:  # the request whose exchange the frame is in (or after)
        req = e.request
        if req is not None and req.first_frame <= frame:
            ex = e
    if ex is None:
        return None
    ups = analysis.proxies.upstream_of(conn.stream, ex.n)
    if ups:
        last = ups[-1]  # the retry, when the first try raced
        return last.upstream_stream, last.upstream_frame
    down = analysis.proxies.downstream_of(conn.stream, ex.n)
    return None if down is None else (down.front_stream, down.front_frame)
