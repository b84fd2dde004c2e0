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


def test_hex_lines_of_eight_bytes_for_narrow_screens():
    assert hex_lines(b"GET /x HTTP/1.1\r\n", 0, 8) == [
        "00000000  47 45 54 20 2f 78 20 48  GET /x H",
        "00000008  54 54 50 2f 31 2e 31 0d  TTP/1.1.",
        "00000010  0a                       .",  # the text column stays aligned
    ]


async def test_hex_fits_an_80_column_screen_and_widens_with_it():
    # 16 bytes a line need 88 columns with the frame and direction: at 80 the characters were
    # cut to 7 (hostile.pcap, new-user review). 8 bytes a line there, 16 again when wider.
    app = KatuiApp(HOSTILE)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        await pilot.press("F", "x")
        view = app.screen.query_one(FollowView)
        first = view.row_text(0)
        assert first.endswith("00000000  47 45 54 20 2f 1b 5b 32  GET /.[2") and len(first) < 78
        await pilot.resize_terminal(120, 30)
        await pilot.pause()
        assert view.row_text(0).endswith("47 45 54 20 2f 1b 5b 32 4a 1b 5b 48 1b 5b 33 31  GET /.[2J.[H.[31")


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
