"""The timeline of connections: rows, glyphs, zoom, pan, go to a time, into the ladder."""

from __future__ import annotations

from ui_helpers import SAMPLES, settle

from katui.report import timeline as tl
from katui.ui.app import KatuiApp
from katui.ui.timeline import TimelineScreen, TimelineView
from katui.units import fmt_s
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


def test_a_new_connection_is_linked_to_the_close_it_follows():
    s = analysed(STALE)  # the client's pool replaced the connection nginx had closed
    c0, c1 = s.connections
    assert tl.follows(s, c1) is c0 and tl.follows(s, c0) is None
    per = -(-s.duration_ns // 80)
    r0 = tl.row(c0, s.first_ns, per, 80)
    r1 = tl.row(c1, s.first_ns, per, 80, c0.close.ts_ns)
    # ╰ right under the server's FIN on the row above, ─ up to the new connection's start.
    assert r1.index("╰") == r0.index("S")
    assert set(r1[r1.index("╰") + 1 : r1.index("┃")]) == {"─"}
    assert tl.row(c1, s.first_ns, per, 80).lstrip().startswith("┃")  # no link without one
    gap = c1.start_ns - c0.close.ts_ns
    assert (
        tl.link_text(s, c1)
        == f"stream 1 ╰ opened {fmt_s(gap)} after the server closed stream 0 (stale-reuse)"
    )
    assert "no connection on its path" in tl.link_text(s, c0)


def test_a_close_and_a_new_connection_in_one_cell_still_show_the_link():
    a = analysed(str(SAMPLES / "real" / "clients-race-requests.pcap"))
    per = -(-a.duration_ns // 80)
    for c in a.connections[1:]:
        prev = tl.follows(a, c)
        start = (c.start_ns - a.first_ns) // per
        assert prev is not None and (prev.close.ts_ns - a.first_ns) // per == start
        r = tl.row(c, a.first_ns, per, 80, prev.close.ts_ns)
        assert r.index("╰") + 1 == start and r[start] in "┃C"  # the last one closes in its cell


def test_a_link_from_a_close_left_of_the_window_has_no_corner():
    s = analysed(STALE)
    c0, c1 = s.connections
    per = 10_000_000  # 10 ms a cell, the window from just before the new connection
    r = tl.row(c1, c1.start_ns - 20 * per, per, 40, c0.close.ts_ns)
    assert "╰" not in r and r.startswith("─" * 19) and r[20] == "┃"


async def test_timeline_keys():
    app = KatuiApp(SEED)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        await pilot.press("T")
        assert isinstance(app.screen, TimelineScreen)
        view = app.screen.query_one(TimelineView)
        full = view.ns_per_cell
        assert view.row_total == 2 and "↻" in view.row_text(0)
        link = app.screen.query_one("#timeline-link")
        assert "stream 0: no connection on its path" in str(link.render())
        await pilot.press("j")
        assert view.cursor == 1 and "╰─" in view.row_text(1)
        assert "stream 1 ╰ opened" in str(link.render()) and "closed stream 0" in str(link.render())
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


def test_the_axis_of_a_capture_spanning_years_is_in_round_units():
    # ndpi 1kxun's clock jumps: 98 connections over ~5.8 years, 2.5e6 s per cell at 80 columns.
    assert tl.axis(0, 2_524_395_400_000_000, 73).split() == ["|0", "|2", "y", "|4", "y"]
    assert tl.axis(0, 100_000_000_000, 73).split("|")[1:4] == [
        "0" + " " * 16,
        "30 m" + " " * 13,
        "60 m" + " " * 13,
    ]


async def test_a_time_typed_in_one_burst_after_colon_lands_in_the_prompt():
    """tmux and ssh deliver ':8s⏎' in one read: the keys after ':' must reach the prompt it opens,
    not the timeline (the binding is a priority one, as the main screen's prompts)."""
    from textual import events

    app = KatuiApp(SEED)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        await pilot.press("T")
        view = app.screen.query_one(TimelineView)
        for key, char in (("colon", ":"), ("8", "8"), ("s", "s"), ("enter", "\r")):
            app.post_message(events.Key(key, char))
        await pilot.pause()
        await pilot.pause()
        assert view.t0 == app.analysis.first_ns + 8_000_000_000 and app.screen.focused is view
