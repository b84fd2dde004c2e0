"""The main screen's key actions (a mixin, so main.py stays about layout and messages)."""

from __future__ import annotations

import functools
import os
from pathlib import Path

from katui.ui.export import default_name, render_markdown, system_copy, write_export
from katui.ui.filters import SORT_KEYS
from katui.ui.modals import ConfirmScreen, FindingsScreen, HelpScreen, ScopeScreen
from katui.units import fmt_s

GAP_STEPS_NS = [int(s * 1e9) for s in (0.1, 0.2, 0.5, 1, 2, 5, 10, 30, 60, 300)]


SYNC_EXPORT_LIMIT = 200
"""Exports of at most this many connections render on the UI thread (fast, and immediate)."""
OSC52_LIMIT = 1 << 20
"""Largest Markdown sent to the terminal clipboard; terminals cap OSC 52 well below this."""


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


def tmux_hint() -> str:
    """Inside tmux, OSC 52 reaches the terminal only with ``set-clipboard on`` (the default,
    ``external``, drops what applications send): say so rather than claim it arrived."""
    if not os.environ.get("TMUX"):
        return ""
    return (" Inside tmux this needs `set -g set-clipboard on` (and `allow-passthrough on` "
            "for nested sessions) in ~/.tmux.conf; otherwise nothing arrives.")  # fmt: skip


class MainActions:
    """Actions bound in :mod:`katui.ui.keys`; ``self`` is the :class:`MainScreen`."""

    def check_action(self, action: str, parameters) -> bool | None:
        # While loading every key is accepted (and kept by after_load); a failed load leaves
        # only help and quit.
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
        ladder.focus()
        if not ladder.next_mark(step):
            self.notify("No more requests or gaps that way.", severity="warning", timeout=2)

    def action_pane(self, step: int) -> None:
        """Into (1) or back (-1) one pane; backing out of a prompt closes it first."""
        if self.query_one("#search").has_class("-open") and step < 0:
            self.hide_search()
            return
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

    def jump_to(self, where) -> None:
        """Select ``(stream, frame)``, clearing filters that hide it."""
        if where is None:
            return
        stream, frame = where
        if stream not in [c.stream for c in self.shown]:
            from katui.analysis.query import Query

            self.filter = Query()
        self.refill(stream)
        self.show_connection(self.analysis.connections[stream], frame)
        self.query_one("#ladder").focus()

    def _scopes(self) -> list[tuple[str, str]]:
        total = len(self.analysis.connections)
        out = []
        if self.conn is not None:
            out.append(("selected", f"the selected connection (stream {self.conn.stream})"))
        if self.filter.active:
            out.append(("filtered", f"the filtered connections ({len(self.shown)})"))
        out.append(("all", f"all connections ({total})"))
        return out

    def _streams(self, scope: str) -> list[int] | None:
        if scope == "selected":
            return [self.conn.stream]
        if scope == "filtered":
            return [c.stream for c in self.shown]
        return None

    def _markdown(self, scope: str) -> str:
        return render_markdown(self.analysis, self._streams(scope), self.analysis.idle_threshold_ns)

    @after_load
    def action_export(self) -> None:
        def chosen(result) -> None:
            if result is not None:
                self.export_to(*result)

        path = default_name(self.analysis.path)
        self.app.push_screen(ScopeScreen("Export", self._scopes(), path), chosen)

    def export_to(self, scope: str, path: str, overwrite: bool = False) -> None:
        """Write the Markdown for ``scope`` to ``path``, asking before replacing a file."""
        if not path:
            self.notify("No file name given; nothing written.", severity="warning")
            return
        if Path(path).expanduser().exists() and not overwrite:

            def answer(yes: bool) -> None:
                if yes:
                    self.export_to(scope, path, overwrite=True)
                else:
                    self.notify("Not overwritten; nothing written.")

            self.app.push_screen(ConfirmScreen(f"{path} exists. Overwrite it?"), answer)
            return
        self._in_background(scope, lambda text: self._write(path, text, overwrite), "Writing")

    def _write(self, path: str, text: str, overwrite: bool) -> tuple[str, str]:
        from katui.report.output import OutputError

        try:
            return f"Wrote {write_export(path, text, overwrite)}", "information"
        except OutputError as exc:
            return f"Export failed: {exc}", "error"

    def _in_background(self, scope: str, deliver, verb: str) -> None:
        """Render the Markdown for ``scope`` and ``deliver`` it; off the UI thread when big.

        A load-test capture's "all connections" is 100 MB of Markdown and seconds of work: the
        screen must stay responsive meanwhile. Small exports stay synchronous (and immediate).
        """
        streams = self._streams(scope)
        count = len(self.analysis.connections) if streams is None else len(streams)

        def job() -> tuple[str, str]:
            return deliver(self._markdown(scope))

        if count <= SYNC_EXPORT_LIMIT:
            message, severity = job()
            self.notify(message, severity=severity)
            return
        self.notify(f"{verb} Markdown for {count} connections…", timeout=3)

        def worker() -> None:
            message, severity = job()
            self.app.call_from_thread(self.notify, message, severity=severity)

        self.run_worker(worker, thread=True, group="export")

    @after_load
    def action_copy(self) -> None:
        def chosen(result) -> None:
            if result is not None:
                self.copy_scope(result[0])

        self.app.push_screen(ScopeScreen("Copy", self._scopes(), None), chosen)

    def copy_scope(self, scope: str) -> None:
        """Copy the Markdown for ``scope``: OSC 52 through the terminal, and pyperclip."""
        self._in_background(scope, self._copy, "Copying")

    def _copy(self, text: str) -> tuple[str, str]:
        lines = text.count("\n") + 1
        if len(text) > OSC52_LIMIT:
            # Terminals drop (or choke on) huge OSC 52 payloads; only the local clipboard.
            failed = system_copy(text)
            if failed:
                return (
                    f"{lines} lines of Markdown are too much for the terminal clipboard "
                    f"and the system clipboard failed ({failed}); export to a file with e.",
                    "warning",
                )
            return f"Copied {lines} lines of Markdown to the system clipboard.", "information"
        if self._off_thread():
            self.app.call_from_thread(self.app.copy_to_clipboard, text)
        else:
            self.app.copy_to_clipboard(text)
        failed = system_copy(text)
        how = "terminal clipboard (OSC 52)" + ("" if failed else " and system clipboard")
        return f"Copied {lines} lines of Markdown to the {how}.{tmux_hint()}", "information"

    def _off_thread(self) -> bool:
        import threading

        return threading.current_thread() is not threading.main_thread()
