"""The timeline of connections: rows, glyphs, zoom, pan, go to a time, into the ladder."""

from __future__ import annotations

from ui_helpers import SAMPLES, settle

from katui.report import timeline as tl
from katui.ui.app import KatuiApp
from katui.ui.timeline import TimelineScreen, TimelineView
from tests.conftest import analysed

SEED = str(SAMPLES / "httptest.pcap")
STALE = str(SAMPLES / "stale-reuse.pcap")


def test_rows_show_requests_reuse_idle_and_the_close_by_glyph():
    a = analysed(SEED)
    c0, c1 = a.connections
    per = -(-a.duration_ns // 80)
    r0 = tl.row(c0, a.first_ns, per, 80)
    assert r0.startswith("┃") and "↻" in r0 and "S" in r0 and "┄" in r0
    assert r0.index("↻") < r0.index("S")
    r1 = tl.row(c1, a.first_ns, per, 80)
    assert r1.lstrip().startswith("┃") and r1.rstrip().endswith("┄") and "S" in r1
    s = analysed(STALE)
    stale = tl.row(s.connections[0], s.first_ns, -(-s.duration_ns // 80), 80)
    assert stale.index("S") < stale.index("✖")  # the server's FIN, later a reset
    close = s.connections[0].exchanges[1].store.start_ns(s.connections[0].exchanges[1].req)
    zoomed = tl.row(s.connections[0], close - 500_000, 20_000, 80)  # 20 µs a cell
    assert zoomed.index("↻") < zoomed.index("✖")  # the reused request, then its reset
    assert tl.row(s.connections[1], s.first_ns, -(-s.duration_ns // 80), 80).rstrip().endswith("C")
    assert tl.axis(0, 100_000_000, 40).startswith("|0") and "|2 s" in tl.axis(0, 100_000_000, 40)


async def test_timeline_keys():
    app = KatuiApp(SEED)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        await pilot.press("T")
        assert isinstance(app.screen, TimelineScreen)
        view = app.screen.query_one(TimelineView)
        full = view.ns_per_cell
        assert view.row_total == 2 and "↻" in view.row_text(0)
        await pilot.press("j")
        assert view.cursor == 1
        await pilot.press("k", "G")
        assert view.cursor == 1
        await pilot.press("g")
        assert view.cursor == 0
        await pilot.press("plus")
        assert view.ns_per_cell == full // 2
        await pilot.press("minus", "minus")
        assert view.ns_per_cell == full * 2
        t0 = view.t0
        await pilot.press("right")
        assert view.t0 > t0
        await pilot.press("less_than_sign")
        assert view.t0 == t0
        await pilot.press("0")
        assert view.ns_per_cell == full and view.t0 == app.analysis.first_ns
        await pilot.press("colon", *"8s", "enter")
        assert view.cursor == 1 and view.t0 == app.analysis.first_ns + 8_000_000_000
        await pilot.press("g", "full_stop")
        assert view.t0 < app.analysis.connections[0].start_ns
        await pilot.press("colon", "escape")
        assert app.screen.focused is view
        await pilot.press("j", "enter")
        assert app.screen is app.main and app.main.conn.stream == 1


async def test_l_opens_and_escape_q_h_leave_the_timeline():
    app = KatuiApp(SEED)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        for key in ("escape", "q", "h"):
            await pilot.press("T")
            assert isinstance(app.screen, TimelineScreen)
            await pilot.press(key)
            assert app.screen is app.main
        await pilot.press("T", "l")
        assert app.screen is app.main and app.main.focused.id == "ladder"
