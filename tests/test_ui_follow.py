"""Follow stream: a connection's bytes, client and server apart, text and hex, escaped."""

from __future__ import annotations

from ui_helpers import SAMPLES, settle

from katui.report.follow import follow_lines, hex_lines
from katui.ui.app import KatuiApp
from katui.ui.follow import FollowScreen, FollowView
from tests.conftest import analysed

SEED = str(SAMPLES / "httptest.pcap")
HOSTILE = str(SAMPLES / "hostile.pcap")


def test_text_lines_in_order_with_direction_and_hostile_bytes_escaped():
    a = analysed(HOSTILE)
    lines = follow_lines(a, a.connections[0])
    assert lines[0][1] is True and lines[0][2].startswith("GET /\\x1b[2J")
    assert any(not c2s and text.startswith("HTTP/1.1 200") for _, c2s, text in lines)
    assert all("\x1b" not in text and "\x07" not in text for _, _, text in lines)


def test_hex_lines_show_only_printable_ascii():
    (line,) = hex_lines(b"GET \x1b[2J\r\n", 16)
    assert line.startswith("00000010  47 45 54 20 1b 5b 32 4a 0d 0a") and line.endswith("GET .[2J..")


async def test_f_follows_the_stream_from_the_ladder_frame_and_x_switches_hex():
    app = KatuiApp(SEED)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        app.main.query_one("#ladder").cursor = app.main.query_one("#ladder").row_of(6)
        await pilot.press("F")
        assert isinstance(app.screen, FollowScreen)
        view = app.screen.query_one(FollowView)
        assert view.frame == 6 and "S← HTTP/1.1 200 OK" in view.row_text(view.cursor)
        await pilot.press("x")
        assert app.screen.hex and view.frame == 6 and "48 54 54 50" in view.row_text(view.cursor)
        await pilot.press("g", "j")
        assert view.cursor == 1
        await pilot.press("G", "x")
        assert not app.screen.hex
        await pilot.press("escape")
        ladder = app.main.query_one("#ladder")
        note = next(y for y, row in enumerate(ladder.rows) if not isinstance(row, int) and row.frame >= 8)
        ladder.cursor = note  # a gap or section row: follow opens at the frame it leads into
        await pilot.press("F")
        assert app.screen.query_one(FollowView).frame >= 8
        for key in ("escape", "q", "h"):
            if key != "escape":
                await pilot.press("F")
            await pilot.press(key)
            assert app.screen is app.main
