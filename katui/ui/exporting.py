"""Export (Markdown, CSV) and copy: which connections, where to, and big ones in a worker
with progress that Esc cancels. The renderers are the reports' pure functions."""

from __future__ import annotations

import os
import threading

from rich.text import Text

from katui.ui.export import default_name, may_write, render_csv, render_markdown, system_copy, write_export
from katui.ui.modals import ScopeScreen
from katui.units import plural

SYNC_EXPORT_LIMIT = 200
"""Exports of at most this many connections render on the UI thread (fast, and immediate)."""
OSC52_LIMIT = 1 << 20
"""Largest Markdown sent to the terminal clipboard; terminals cap OSC 52 well below this."""


class ExportCancelled(Exception):
    """Raised inside a renderer's progress callback when the user pressed Esc."""


def tmux_hint() -> str:
    """Inside tmux, OSC 52 reaches the terminal only with ``set-clipboard on`` (the default,
    ``external``, drops what applications send): say so rather than claim it arrived."""
    if not os.environ.get("TMUX"):
        return ""
    return (" Inside tmux this needs `set -g set-clipboard on` (and `allow-passthrough on` "
            "for nested sessions) in ~/.tmux.conf; otherwise nothing arrives.")  # fmt: skip


class ExportActions:
    """``e``, ``c`` and ``y``; ``self`` is the :class:`MainScreen`."""

    _cancel: threading.Event | None = None

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
        if scope in ("filtered", "list", "requests"):
            return [c.stream for c in self.shown]
        return None

    def _renderer(self, scope: str):
        """``render(streams, progress)`` for ``scope``: the text or its pieces (Markdown unless
        a CSV one)."""
        a = self.analysis
        if scope in ("list", "requests"):
            return lambda streams, progress: render_csv(a, streams, scope == "requests", progress)
        return lambda streams, progress: render_markdown(a, streams, a.idle_threshold_ns, progress)

    def action_export(self) -> None:
        if self.analysis is None:
            return self._later(type(self).action_export)

        def chosen(result) -> None:
            if result is not None:
                self.export_to(*result)

        path = default_name(self.analysis.path)
        self.app.push_screen(ScopeScreen("Export", self._scopes(), path), chosen)
        return None

    def action_export_csv(self) -> None:
        if self.analysis is None:
            return self._later(type(self).action_export_csv)
        shown, requests = len(self.shown), sum(c.requests for c in self.shown)
        choices = [("list", f"the connection list as shown ({plural(shown, 'connection')})"),
                   ("requests", f"their requests ({plural(requests, 'request')})")]  # fmt: skip
        path = default_name(self.analysis.path, "connections.csv")

        def chosen(result) -> None:
            if result is not None:
                scope, where = result
                if scope == "requests" and where == path:
                    where = default_name(self.analysis.path, "requests.csv")
                self.export_to(scope, where)

        self.app.push_screen(ScopeScreen("Export", choices, path, "CSV"), chosen)
        return None

    def _later(self, method) -> None:
        self.pending.append((method, ()))
        self.notify("Still loading: that key runs when the capture is loaded.", timeout=2)

    def export_to(self, scope: str, path: str, overwrite: bool = False) -> None:
        """Write ``scope`` to ``path``, asking before replacing a file."""
        if not may_write(self, path, overwrite, lambda: self.export_to(scope, path, overwrite=True)):
            return
        self._in_background(scope, lambda text: self._write(path, text, overwrite), "Writing")

    def _write(self, path: str, text, overwrite: bool) -> tuple[str, str]:
        from katui.report.output import OutputError

        try:
            return f"Wrote {write_export(path, text, overwrite)}", "information"
        except OutputError as exc:
            return f"Export failed: {exc}", "error"

    def _in_background(self, scope: str, deliver, verb: str) -> None:
        """Render ``scope`` and ``deliver`` it; off the UI thread when big, with progress.

        A load-test capture's "all connections" is 100 MB of Markdown and seconds of work: the
        screen stays responsive, shows how far it got, and Esc cancels (nothing is written).
        Small exports stay synchronous (and immediate)."""
        streams = self._streams(scope)
        count = len(self.analysis.connections) if streams is None else len(streams)
        render = self._renderer(scope)
        if count <= SYNC_EXPORT_LIMIT:
            message, severity = deliver(render(streams, None))
            self.notify(message, severity=severity)
            return
        if self._cancel is not None:
            self.notify("An export is already running (Esc cancels it).", severity="warning")
            return
        cancel = self._cancel = threading.Event()
        self._show_progress(verb, 0, count)

        def progress(done: int, total: int) -> None:
            if cancel.is_set():
                raise ExportCancelled
            self.app.call_from_thread(self._show_progress, verb, done, total)

        def worker() -> None:
            try:
                message, severity = deliver(render(streams, progress))
            except ExportCancelled:
                message, severity = "Export cancelled; nothing written.", "warning"
            self.app.call_from_thread(self._export_done, message, severity)

        self.run_worker(worker, thread=True, group="export")

    def _show_progress(self, verb: str, done: int, total: int) -> None:
        line = self.query_one("#export-progress")
        line.add_class("-open")
        line.update(Text(f"{verb}: {done} of {plural(total, 'connection')} rendered · Esc cancels"))

    def _export_done(self, message: str, severity: str) -> None:
        self._cancel = None
        self.query_one("#export-progress").remove_class("-open")
        self.notify(message, severity=severity)

    def cancel_export(self) -> bool:
        """Cancel a running export (Esc); False when none is running."""
        if self._cancel is None:
            return False
        self._cancel.set()
        return True

    def action_copy(self) -> None:
        if self.analysis is None:
            return self._later(type(self).action_copy)

        def chosen(result) -> None:
            if result is not None:
                self.copy_scope(result[0])

        self.app.push_screen(ScopeScreen("Copy", self._scopes(), None), chosen)
        return None

    def copy_scope(self, scope: str) -> None:
        """Copy the Markdown for ``scope``: OSC 52 through the terminal, and pyperclip."""
        self._in_background(scope, self._copy, "Copying")

    def _copy(self, text) -> tuple[str, str]:
        text = text if isinstance(text, str) else "".join(text)  # a clipboard takes it whole
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
        if threading.current_thread() is not threading.main_thread():
            self.app.call_from_thread(self.app.copy_to_clipboard, text)
        else:
            self.app.copy_to_clipboard(text)
        failed = system_copy(text)
        how = "terminal clipboard (OSC 52)" + ("" if failed else " and system clipboard")
        return f"Copied {lines} lines of Markdown to the {how}.{tmux_hint()}", "information"
