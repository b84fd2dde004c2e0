"""The first rows of a loading capture: the reading thread hands them over, then lets the screen
draw them before it reads on (bounded), because the compiled reading loop seldom lets go of the
GIL and would otherwise slow the first paint."""

from __future__ import annotations

import threading

from katui.analysis import pipeline
from katui.ui import app as app_module
from katui.ui.app import KatuiApp
from tests.ui_helpers import SAMPLES, settle


class _Recorded(threading.Event):
    """An Event that records its waits (with their outcome) and the list size when it is set."""

    def __init__(self, table_rows) -> None:
        super().__init__()
        self.table_rows = table_rows
        self.waits: list[bool] = []
        self.rows_when_set: list[int] = []

    def wait(self, timeout=None) -> bool:
        got = super().wait(timeout)
        self.waits.append(got)
        return got

    def set(self) -> None:
        self.rows_when_set.append(self.table_rows())
        super().set()


def _recording(app: KatuiApp) -> _Recorded:
    table = app.main.query_one("#connections")
    event = app._first_rows_drawn = _Recorded(lambda: table.row_total)
    return event


async def test_reading_waits_until_the_first_rows_are_drawn(monkeypatch):
    monkeypatch.setattr(pipeline, "FIRST_PROGRESS", 7)  # httptest.pcap's 25 frames: 3 previews
    monkeypatch.setattr(pipeline, "PROGRESS_EVERY", 8)
    app = KatuiApp(str(SAMPLES / "httptest.pcap"))
    started = app.load
    monkeypatch.setattr(app, "load", lambda: None)  # start it ourselves, once recording
    async with app.run_test(size=(100, 30)) as pilot:
        event = _recording(app)
        started()
        await settle(app, pilot)
        # One wait, for the first preview only; it ended because the screen had drawn rows.
        assert event.waits == [True]
        assert len(event.rows_when_set) == 1 and event.rows_when_set[0] >= 1
        assert app.main.has_class("-loaded") and app.main.query_one("#connections").row_total == 2


async def test_reading_goes_on_when_the_screen_never_draws(monkeypatch):
    monkeypatch.setattr(pipeline, "FIRST_PROGRESS", 7)
    monkeypatch.setattr(app_module, "FIRST_ROWS_WAIT_S", 0.05)
    app = KatuiApp(str(SAMPLES / "httptest.pcap"))
    started = app.load
    monkeypatch.setattr(app, "load", lambda: None)
    async with app.run_test(size=(100, 30)) as pilot:
        event = _recording(app)
        event.set = lambda: None  # a screen that never gets to draw (busy, or closing)
        started()
        await settle(app, pilot)
        # The wait timed out and the analysis finished anyway.
        assert event.waits and not any(event.waits)
        assert app.main.has_class("-loaded") and app.main.query_one("#connections").row_total == 2
