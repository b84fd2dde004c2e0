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


def _held_app(monkeypatch) -> tuple[KatuiApp, object]:
    """An app on httptest.pcap (25 frames) whose loading the test starts itself (the returned
    callable), once it records; progress and previews at frame 7, then every 8 frames."""
    monkeypatch.setattr(pipeline, "FIRST_PROGRESS", 7)
    monkeypatch.setattr(pipeline, "PROGRESS_EVERY", 8)
    app = KatuiApp(str(SAMPLES / "httptest.pcap"))
    started = app.load
    monkeypatch.setattr(app, "load", lambda: None)
    return app, started


async def test_reading_waits_until_the_first_rows_are_drawn(monkeypatch):
    app, started = _held_app(monkeypatch)  # 3 previews
    async with app.run_test(size=(100, 30)) as pilot:
        event = _recording(app)
        started()
        await settle(app, pilot)
        # One wait, for the first preview only; it ended because the screen had drawn rows.
        assert event.waits == [True]
        assert len(event.rows_when_set) == 1 and event.rows_when_set[0] >= 1
        assert app.main.has_class("-loaded") and app.main.query_one("#connections").row_total == 2


async def test_reading_goes_on_when_the_screen_never_draws(monkeypatch):
    monkeypatch.setattr(app_module, "FIRST_ROWS_WAIT_S", 0.05)
    app, started = _held_app(monkeypatch)
    async with app.run_test(size=(100, 30)) as pilot:
        event = _recording(app)
        event.set = lambda: None  # a screen that never gets to draw (busy, or closing)
        started()
        await settle(app, pilot)
        # The wait timed out and the analysis finished anyway.
        assert event.waits and not any(event.waits)
        assert app.main.has_class("-loaded") and app.main.query_one("#connections").row_total == 2


def _recording_paints(monkeypatch, app: KatuiApp) -> tuple[list, list]:
    """Record what reaches the screen's preview and progress while loading."""
    previews: list[list[int]] = []
    progress: list[tuple[int, int, int]] = []
    real_preview, real_progress = app.main.preview, app.main.progress

    def preview(rows):
        previews.append([r.stream for r in rows])
        real_preview(rows)

    def progress_(*numbers):
        progress.append(numbers)
        real_progress(*numbers)

    monkeypatch.setattr(app.main, "preview", preview)
    monkeypatch.setattr(app.main, "progress", progress_)
    return previews, progress


async def test_later_rows_and_progress_wait_for_the_paint_interval(monkeypatch):
    # httptest.pcap's 25 frames: progress at 7, 15, 23 and the end; its second connection
    # arrives in a later preview. With a paint interval longer than the load, only the first
    # preview and the first progress are painted; the finished list replaces the rest.
    monkeypatch.setattr(app_module, "PAINT_EVERY_S", 60.0)
    app, started = _held_app(monkeypatch)
    async with app.run_test(size=(100, 30)) as pilot:
        previews, progress = _recording_paints(monkeypatch, app)
        started()
        await settle(app, pilot)
        assert previews == [[0]]
        assert len(progress) == 1 and progress[0][0] == 7
        assert app._paint_timer is None and not app._pending_rows  # stopped when loaded
        assert app.main.has_class("-loaded") and app.main.query_one("#connections").row_total == 2


async def test_rows_held_back_are_painted_when_the_interval_has_passed(monkeypatch):
    monkeypatch.setattr(app_module, "PAINT_EVERY_S", 0.05)
    monkeypatch.setattr(pipeline, "FIRST_PROGRESS", 7)
    monkeypatch.setattr(pipeline, "PROGRESS_EVERY", 8)
    rows: list = []
    pipeline.analyze(str(SAMPLES / "httptest.pcap"), preview=rows.extend)
    assert [r.stream for r in rows] == [0, 1]
    app = KatuiApp(str(SAMPLES / "httptest.pcap"))
    monkeypatch.setattr(app, "load", lambda: None)  # the previews come from this test only
    async with app.run_test(size=(100, 30)) as pilot:
        previews, progress = _recording_paints(monkeypatch, app)
        table = app.main.query_one("#connections")
        app.post_message(app_module.LoadPreview(rows[:1]))
        app.post_message(app_module.LoadPreview(rows[1:]))
        app.post_message(app_module.LoadProgress(25, 100, 100))
        for _ in range(200):  # the timer fires after 0.05 s; up to 10 s on a busy machine
            await pilot.pause(0.05)
            if table.row_total == 2 and progress:
                break
        assert previews == [[0], [1]]  # the second held back, then painted by the timer
        assert progress == [(25, 100, 100)]
        assert app._paint_timer is None


def test_the_end_of_the_reading_previews_the_last_rows_and_says_so(monkeypatch):
    # One tick (at frame 7) during the read: the second connection, seen later, is handed over
    # when the reading ends, with progress saying the whole file was read (then the analysis).
    monkeypatch.setattr(pipeline, "FIRST_PROGRESS", 7)
    monkeypatch.setattr(pipeline, "PROGRESS_EVERY", 100)
    path = SAMPLES / "httptest.pcap"
    size = path.stat().st_size
    rows: list = []
    ticks: list = []
    a = pipeline.analyze(str(path), preview=rows.extend, progress=lambda *t: ticks.append(t))
    assert [r.stream for r in rows] == [c.stream for c in a.connections] == [0, 1]
    assert ticks[0][0] == 7 and ticks[0][1] < size
    assert ticks[1:] == [(25, size, size), (25, size, size)]  # read; analysed
    a.close()
    # Too small to show loading (no tick during the read): no preview at the end either.
    monkeypatch.setattr(pipeline, "FIRST_PROGRESS", 100)
    rows.clear()
    pipeline.analyze(str(path), preview=rows.extend).close()
    assert rows == []


async def test_progress_says_analysing_once_the_file_is_read(monkeypatch):
    rows: list = []
    monkeypatch.setattr(pipeline, "FIRST_PROGRESS", 7)
    pipeline.analyze(str(SAMPLES / "httptest.pcap"), preview=rows.extend).close()
    app = KatuiApp(str(SAMPLES / "httptest.pcap"))
    monkeypatch.setattr(app, "load", lambda: None)  # the messages come from this test only
    async with app.run_test(size=(100, 30)) as pilot:
        main = app.main
        table, text = main.query_one("#connections"), main.query_one("#loading-text")
        main.preview(rows[:1])
        main.progress(7, 1000, 3057)
        await pilot.pause()
        assert "Reading" in str(text.render()) and "1000 B of" in str(text.render())
        assert table.border_title == "Connections 1 so far · loading…"
        main.progress(25, 3057, 3057)
        main.preview(rows[1:])  # rows painted after the end of the read keep the title
        await pilot.pause()
        assert str(text.render()).startswith("Read ") and str(text.render()).endswith("analysing…")
        assert table.border_title == "Connections 2 · analysing…"


async def test_the_footer_keys_wait_for_the_first_rows(monkeypatch):
    # The keys' mounting and styling comes after the first paint of rows, not before it.
    app, _started = _held_app(monkeypatch)  # nothing loads: the screen waits for rows
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        assert not app.main.query("FooterKey")
        rows = []
        pipeline.analyze(str(SAMPLES / "httptest.pcap"), preview=rows.extend).close()
        app.main.preview(rows[:1])
        await pilot.pause()
        await pilot.pause()
        assert app.main.query_one("#connections").row_total == 1
        assert {fk.key for fk in app.main.query("FooterKey")} >= {"question_mark", "slash", "q"}


async def test_the_footer_rebuilds_once_for_a_burst_of_key_changes(monkeypatch):
    app = KatuiApp(str(SAMPLES / "httptest.pcap"))
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(app, pilot)
        footer = app.main.query_one("KeyFooter")
        rebuilds = []
        real = footer.recompose

        async def recompose():
            rebuilds.append(app.focused.id)
            await real()

        monkeypatch.setattr(footer, "recompose", recompose)
        await pilot.press("slash")  # the filter prompt: every key but Esc types
        for _ in range(3):
            app.main.refresh_bindings()
        await pilot.pause()
        await pilot.pause()
        assert rebuilds == ["search"]
        assert not {fk.key for fk in app.main.query("FooterKey")} & {"question_mark", "slash", "q"}
        app.main.refresh_bindings()  # nothing changed: the keys drawn stay
        await pilot.pause()
        await pilot.pause()
        assert rebuilds == ["search"]
