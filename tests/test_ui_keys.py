"""Pilot tests of the keys and focus: panes, panning, Esc, footer, help, mouse, loading."""

from __future__ import annotations

import re

from ui_helpers import REPO, SAMPLES, settle

from katui.analysis.pipeline import Preview, analyze
from katui.ui.app import KatuiApp
from katui.ui.keys import all_keys, help_rows, key_label

SEED = str(SAMPLES / "httptest.pcap")


def _focused(app) -> str | None:
    return app.focused.id if app.focused is not None else None


async def test_h_and_l_move_between_panes_everywhere():
    app = KatuiApp(SEED)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        assert _focused(app) == "connections"
        await pilot.press("l")
        assert _focused(app) == "ladder"
        await pilot.press("l")
        assert _focused(app) == "detail"
        await pilot.press("l")
        assert _focused(app) == "detail"
        await pilot.press("h")
        assert _focused(app) == "ladder"
        await pilot.press("h", "h")
        assert _focused(app) == "connections"
        await pilot.press("enter", "enter")
        assert _focused(app) == "detail"
        await pilot.press("escape", "escape")
        assert _focused(app) == "connections"


async def test_panning_has_its_own_keys_and_h_does_not_pan():
    app = KatuiApp(SEED)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        table = app.main.query_one("#connections")
        await pilot.press("greater_than_sign")
        assert table.scroll_x == 8
        await pilot.press("right")
        assert table.scroll_x == 16
        await pilot.press("less_than_sign", "left")
        assert table.scroll_x == 0
        await pilot.press("l", "greater_than_sign")
        ladder = app.main.query_one("#ladder")
        assert ladder.scroll_x == 8 and table.scroll_x == 0
        head = str(app.main.query_one("#ladder-head").content)
        full = ladder.header()
        # the frame and time headings stay, the lane names pan with the rows
        assert head.startswith(" frame        time ") and head[19:] == full[19 + 8 :]
        await pilot.press("h")
        assert _focused(app) == "connections" and ladder.scroll_x == 8
        # G keeps the pan; g (and Home) is the first row at the left edge, in either pane
        await pilot.press("l", "G")
        assert ladder.scroll_x == 8 and ladder.cursor == ladder.row_total - 1
        await pilot.press("g")
        assert ladder.scroll_x == 0 and ladder.cursor == 0
        await pilot.press("h", "right", "right", "G")
        assert table.scroll_x == 16
        await pilot.press("home")
        assert table.scroll_x == 0 and table.cursor == 0


async def test_esc_backs_out_one_level_and_keeps_the_filter():
    app = KatuiApp(SEED)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        await pilot.press("R", "l", "escape")
        assert _focused(app) == "connections" and app.main.filter.active
        await pilot.press("escape")
        assert app.main.filter.active and [c.stream for c in app.main.shown] == [0]
        await pilot.press("slash", "escape")
        assert not app.main.query_one("#search").has_class("-open")
        assert app.main.filter.active
        await pilot.press("x")
        assert not app.main.filter.active


async def test_footer_shows_the_keys_right_after_loading():
    app = KatuiApp(SEED)
    async with app.run_test(size=(120, 24)) as pilot:
        await settle(app, pilot)
        shown = {fk.key for fk in app.screen.query("FooterKey")}
        assert {"f", "r", "colon", "e", "slash", "question_mark", "q"} <= shown  # y: help and palette


async def test_sort_shows_the_top_of_the_new_order():
    app = KatuiApp(SEED)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        assert app.main.conn.stream == 0
        await pilot.press("O")
        assert [c.stream for c in app.main.shown] == [1, 0]
        table = app.main.query_one("#connections")
        assert table.cursor == 0 and table.scroll_y == 0 and app.main.conn.stream == 1


async def test_focused_pane_has_the_bright_cursor_and_sizes_stay():
    app = KatuiApp(SEED)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        table, ladder = app.main.query_one("#connections"), app.main.query_one("#ladder")
        detail = app.main.query_one("#detail")
        sizes = [w.region.height for w in (table, ladder, detail)]
        assert table.cursor_style("connections").reverse
        assert not ladder.cursor_style("ladder").reverse
        await pilot.press("l")
        assert ladder.cursor_style("ladder").reverse
        assert not table.cursor_style("connections").reverse
        for keys in (["l"], ["h"], ["h"]):
            await pilot.press(*keys)
            assert [w.region.height for w in (table, ladder, detail)] == sizes
        assert sizes[1] >= 6


async def test_help_scrolls_with_vim_keys_and_lists_each_key_once():
    app = KatuiApp(SEED)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        await pilot.press("question_mark")
        box = app.screen.query_one("#help-table")
        assert box.max_scroll_y > 0
        await pilot.press("j")
        assert box.scroll_y == 1
        await pilot.press("G")
        assert box.scroll_y == box.max_scroll_y
        await pilot.press("g")
        assert box.scroll_y == 0
        await pilot.press("end")
        assert box.scroll_x == 0 and box.scroll_y == box.max_scroll_y
        await pilot.press("escape")
        assert app.screen is app.main


def test_help_is_made_from_the_bindings_each_key_once():
    labels = [keys for keys, _ in help_rows()]
    named = [k for label in labels for k in label.split(" / ")]
    bound = {key_label(k) for k in all_keys()}
    assert bound <= set(named)
    assert len(named) == len(set(named)), "a key is listed twice"


def test_readme_key_table_matches_the_bindings():
    text = (REPO / "README.md").read_text()
    table = text.split("## Keys", 1)[1].split("\n## ", 1)[0]
    listed = set()
    for line in table.splitlines():
        if line.startswith("| ") and not line.startswith("| key"):
            cell = line.split("|")[1]
            listed |= {k for k in re.findall(r"`([^`]+)`", cell)}
    bound = {key_label(k) for k in all_keys()} - {"↓", "↑", "←", "→", "PgDn", "PgUp", "Home", "End",
                                                   "Enter", "Esc", "Ctrl+f", "Ctrl+b"}  # fmt: skip
    assert bound <= listed, f"README lacks {sorted(bound - listed)}"
    assert listed <= bound | {"Tab", "Shift+Tab", "Ctrl+p", "Enter", "Esc"}, (
        f"README lists keys that are not bound: {sorted(listed - bound)}"
    )


async def test_detail_pane_scrolls_with_j_and_k():
    app = KatuiApp(SEED)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        ladder = app.main.query_one("#ladder")
        ladder.cursor = ladder.row_of(4)  # the GET: TCP fields and the request head
        await pilot.pause()
        await pilot.press("l", "l")
        detail = app.main.query_one("#detail")
        assert app.focused is detail and detail.max_scroll_y > 0
        await pilot.press("j", "j")
        assert detail.scroll_y == 2
        await pilot.press("k")
        assert detail.scroll_y == 1
        await pilot.press("G")
        assert detail.scroll_y == detail.max_scroll_y


async def test_mouse_click_selects_a_row_and_a_heading_sorts():
    app = KatuiApp(SEED)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        table = app.main.query_one("#connections")
        top = table.content_region.y - table.region.y
        await pilot.click("#connections", offset=(2, top + 2))
        assert app.main.conn.stream == 1
        await pilot.click("#ladder", offset=(2, 3))
        assert app.focused is app.main.query_one("#ladder")
        assert app.main.query_one("#ladder").cursor == 3
        await pilot.click("#connections", offset=(1, top))  # the '#' heading: stream order
        assert app.main.sort == "stream" and app.main.reverse
        assert [c.stream for c in app.main.shown] == [1, 0]


async def test_keys_typed_while_loading_run_after_it_and_the_cursor_stays():
    app = KatuiApp(SEED)
    app.load = lambda: None  # the test delivers the loading messages itself
    async with app.run_test(size=(80, 24)) as pilot:
        main = app.main
        a = analyze(SEED)
        main.preview([Preview(c.stream, c.client, c.server, c.start_ns) for c in a.connections])
        await pilot.pause()
        await pilot.press("j", "enter", "f")
        assert app.screen is main
        main.analysis = a
        await pilot.pause()
        assert main.conn.stream == 1
        assert type(app.screen).__name__ == "FindingsScreen"
        await pilot.press("escape")
        assert _focused(app) == "ladder"


async def test_keys_in_one_read_act_in_order():
    """'l' then 'j' sent at once (tmux, a fast typist): j moves in the ladder, not the list."""
    from textual import events

    app = KatuiApp(SEED)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        for key in ("l", "j", "j", "h"):
            app.post_message(events.Key(key, key))
        await pilot.pause()
        await pilot.pause()
        assert app.main.query_one("#ladder").cursor == 2
        assert app.main.conn.stream == 0 and _focused(app) == "connections"


async def test_mouse_wheel_scrolls_the_ladder():
    from textual import events

    app = KatuiApp(str(SAMPLES / "real" / "proxy-nginx-race.pcap"))
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        ladder = app.main.query_one("#ladder")
        region = ladder.region
        x, y = region.x + 2, region.y + 2
        for _ in range(3):
            ladder.post_message(events.MouseScrollDown(ladder, 2, 2, 0, 0, 0, False, False, False,
                                                       screen_x=x, screen_y=y))  # fmt: skip
        await pilot.pause()
        await pilot.pause()
        assert ladder.scroll_y > 0


async def test_the_list_takes_the_screen_while_loading():
    app = KatuiApp(SEED)
    app.load = lambda: None
    async with app.run_test(size=(80, 24)) as pilot:
        a = analyze(SEED)
        app.main.preview([Preview(c.stream, c.client, c.server, c.start_ns) for c in a.connections])
        await pilot.pause()
        assert app.main.query_one("#connections").region.height >= 18


async def test_z_zooms_the_focused_pane_and_z_or_escape_restores():
    # 80x24 shows four lines of the detail: a long verdict is cut there (stale-reuse.pcap).
    app = KatuiApp(str(SAMPLES / "stale-reuse.pcap"))
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        await pilot.press("l", "l", "z")
        await pilot.pause()
        detail = app.main.query_one("#detail")
        assert app.main.maximized is detail and detail.size.height >= 20
        await pilot.press("z")
        await pilot.pause()
        assert app.main.maximized is None and detail.size.height < 10
        await pilot.press("h", "z")
        await pilot.pause()
        assert app.main.maximized is app.main.query_one("#ladder")
        await pilot.press("escape")  # Esc restores first; a second one goes back a pane
        await pilot.pause()
        assert app.main.maximized is None and app.main.focused.id == "ladder"


async def test_panning_keeps_frame_and_time_and_marks_what_is_cut():
    """Panned sideways to read a long label, a frame row still says which frame and when
    (they panned away before); '…' says where a row goes on past the pane or was panned past."""
    app = KatuiApp(str(SAMPLES / "real" / "tls-tls12-refused.pcap"))  # a long ClientHello label
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        ladder = app.main.query_one("#ladder")
        width = ladder.scrollable_content_region.width
        top = int(ladder.scroll_y)
        shown = range(min(ladder.size.height, ladder.row_total - top))
        whole = [ladder.row_text(top + y) for y in shown]
        long = {y for y in shown if len(whole[y]) > width}
        assert long, "the ladder has rows wider than the pane"
        for y in shown:
            text = ladder.render_line(y).text
            assert len(text) == width and text.endswith("…") == (y in long)
        await pilot.press("l", "right", "right")
        assert ladder.scroll_x == 16
        frames = 0
        for y in shown:
            text, row = ladder.render_line(y).text, whole[y]
            if re.match(r" +\d+ +\d+\.\d{6} ", row):  # a frame row: its frame and time kept
                assert text[:19] == row[:19] and text[19] == "…" and text[20:30] == row[36:46]
                frames += 1
        assert frames
