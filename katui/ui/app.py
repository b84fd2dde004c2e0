"""The katui Textual app: loads a capture in a thread worker and shows the main screen."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterable

from textual import work
from textual.app import App, SystemCommand
from textual.message import Message
from textual.screen import Screen
from textual.worker import get_current_worker

from katui.ui.keys import KEYS, key_label
from katui.ui.main import MainScreen

FIRST_ROWS_WAIT_S = 0.25
"""How long the reading thread waits, after handing over the first rows, for the screen to
draw them. The compiled reading loop seldom lets go of the GIL: left running, it would slow the
screen's first paint (and with it the first rows) by tens of milliseconds."""
LIST_DRAWN_WAIT_S = 1.0
"""How long the loading thread waits for the loaded list to be drawn before it makes the
findings (bounded likewise: a busy screen never stalls them)."""

PAINT_EVERY_S = 0.5
"""While loading, progress and the rows that follow the first ones reach the screen at most
this often. Every paint takes the GIL from the reading thread: painting each of a big capture's
thirty progress and preview messages cost the load about a quarter of a second; painting every
0.25 s still cost ~0.15 s of main-thread CPU on a 960k-frame capture, every 0.5 s ~0.07 s
(and the bar still moves twice a second)."""


class LoadProgress(Message):
    """Frames and bytes read so far; newer progress replaces older in the queue."""

    def __init__(self, frames: int, done: int, total: int) -> None:
        super().__init__()
        self.frames, self.done, self.total = frames, done, total

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, LoadProgress)


class LoadPreview(Message):
    """Connections first seen since the previous preview (shown while loading continues)."""

    def __init__(self, rows: list) -> None:
        super().__init__()
        self.rows = rows


class Loaded(Message):
    """The analysis is ready."""

    def __init__(self, analysis) -> None:
        super().__init__()
        self.analysis = analysis


class LoadFailed(Message):
    """The capture could not be read; ``error`` is one line for humans."""

    def __init__(self, error: str) -> None:
        super().__init__()
        self.error = error


class KatuiApp(App[int]):
    """See what HTTP keep-alive does inside a packet capture."""

    CSS_PATH = "katui.tcss"
    TITLE = "katui"

    def __init__(self, path: str, idle_threshold_ns: int | None = None, keylog=None) -> None:
        super().__init__()
        self.path = path
        self.idle_threshold_ns = idle_threshold_ns
        self.keylog = keylog
        self.analysis = None
        self.main = MainScreen(path, idle_threshold_ns)
        self._first_rows_drawn = threading.Event()
        self._list_drawn = threading.Event()
        self._shown_rows = False
        self._pending_progress: tuple[int, int, int] | None = None
        self._pending_rows: list = []
        self._paint_timer = None
        self._painted_at = 0.0

    def notify(self, message: str, *, title: str = "", severity="information", timeout=None,
               markup: bool = False) -> None:  # fmt: skip
        """Every notification as plain text: messages quote file names, typed patterns and
        errors, whose brackets Textual would read as markup (or fail on)."""
        super().notify(message, title=title, severity=severity, timeout=timeout, markup=False)

    def on_mount(self) -> None:
        self.push_screen(self.main)
        self.load()

    @work(thread=True, exclusive=True, group="load")
    def load(self) -> None:
        """Analyse the capture off the UI thread; only posts messages."""
        from katui.analysis.pipeline import analyze
        from katui.capture.errors import CaptureError

        def progress(frames: int, done: int, total: int) -> None:
            self.post_message(LoadProgress(frames, done, total))

        drawn = self._first_rows_drawn

        def preview(rows: list) -> None:
            self.post_message(LoadPreview(rows))
            if not drawn.is_set():
                drawn.wait(FIRST_ROWS_WAIT_S)  # bounded: a busy or closing screen never stalls it

        kwargs = {"preview": preview, "keylog": self.keylog}
        if self.idle_threshold_ns is not None:
            kwargs["idle_threshold_ns"] = self.idle_threshold_ns
        try:
            analysis = analyze(self.path, progress=progress, **kwargs)
        except (CaptureError, OSError) as exc:
            self.post_message(LoadFailed(str(exc) or type(exc).__name__))
            return
        except Exception as exc:  # a bug must show as an error screen, not a traceback
            self.post_message(LoadFailed(f"internal error: {type(exc).__name__}: {exc}"))
            return
        self.post_message(Loaded(analysis))
        # The findings (f) are made here once the list is drawn, not on the UI thread when f
        # is first pressed (~0.7 s on a million-frame capture) nor before the list (~0.1 s
        # later rows); a failure is left to the findings screen to report.
        self._list_drawn.wait(LIST_DRAWN_WAIT_S)
        if get_current_worker().is_cancelled:  # quitting: nothing to make them for
            return
        try:
            analysis.findings  # noqa: B018 - made and kept (Analysis.findings)
        except Exception:  # noqa: S110 - the findings screen makes them again and says why
            pass

    def on_load_progress(self, message: LoadProgress) -> None:
        self._pending_progress = (message.frames, message.done, message.total)
        self._paint_soon()

    def on_load_preview(self, message: LoadPreview) -> None:
        if self._shown_rows:
            self._pending_rows.extend(message.rows)
            self._paint_soon()
            return
        self._shown_rows = True  # the first rows at once: a user waits for them
        self.main.preview(message.rows)
        self.call_after_refresh(self._first_rows_drawn.set)

    def _paint_soon(self) -> None:
        """Paint what loading has sent so far, now or when PAINT_EVERY_S has passed since the
        last paint (one timer at a time)."""
        if self._paint_timer is not None:
            return
        wait = self._painted_at + PAINT_EVERY_S - time.monotonic()
        if wait <= 0:
            self._paint()
        else:  # (a Textual timer of 0 s fails: its interval divides)
            self._paint_timer = self.set_timer(wait, self._paint, name="load-paint")

    def _paint(self) -> None:
        self._paint_timer = None
        self._painted_at = time.monotonic()
        if self._pending_progress is not None:
            self.main.progress(*self._pending_progress)
            self._pending_progress = None
        if self._pending_rows:
            rows, self._pending_rows = self._pending_rows, []
            self.main.preview(rows)

    def _stop_painting(self) -> None:
        """Loading is over: what is still pending is superseded by the result or the error."""
        if self._paint_timer is not None:
            self._paint_timer.stop()
            self._paint_timer = None
        self._pending_progress, self._pending_rows = None, []

    def on_loaded(self, message: Loaded) -> None:
        self._stop_painting()
        self.analysis = message.analysis
        self.main.analysis = message.analysis
        self.call_after_refresh(self._list_drawn.set)

    def on_load_failed(self, message: LoadFailed) -> None:
        self._stop_painting()
        self.main.error = message.error

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        for command in super().get_system_commands(screen):
            if command.title != "Screenshot":  # Textual's writes to ~/Downloads, often missing
                yield command
        yield SystemCommand("Screenshot", f"Save an SVG of the screen in {os.getcwd()}",
                            lambda: self.set_timer(0.1, self.screenshot_here))  # fmt: skip
        if screen is not self.main:
            return
        for key in KEYS:
            if key.palette and key.action != "quit":
                yield SystemCommand(key.description, f"key {key_label(key.keys.split(',')[0])}",
                                    _runner(self.main, key.action))  # fmt: skip

    def screenshot_here(self) -> None:
        """Save an SVG screenshot in the current directory and say where."""
        try:
            path = self.save_screenshot(path=os.getcwd())
        except OSError as exc:
            self.notify(f"Screenshot not saved: {exc}", severity="error")
            return
        self.notify(f"Screenshot saved to {path}")


def _runner(screen: Screen, action: str):
    async def run_action() -> None:
        await screen.app.run_action(action, screen)

    return run_action


def run(path: str, idle_threshold_ns: int | None = None, keylog=None) -> int:
    """Open the TUI on ``path``; returns the process exit code.

    A capture that could not be loaded was shown on screen; once the app has left the terminal,
    the same one line goes to stderr and the exit status is 2, as for ``katui report``.
    """
    import sys

    from katui.textsafe import safe_text

    app = KatuiApp(path, idle_threshold_ns, keylog)
    app.run()
    if app.return_code not in (None, 0):
        return app.return_code
    if app.main.error:
        print(f"katui: {safe_text(app.main.error)}", file=sys.stderr)
        return 2
    return 0
