"""The virtual connection list: cursor stays visible, filters refill, preview rows are replaced."""

from __future__ import annotations

import pytest

from katui.ui.app import KatuiApp
from tests.conftest import capture_path
from tests.ui_helpers import SAMPLES, settle


def _visible(table) -> range:
    top = int(table.scroll_offset.y)
    return range(top, top + table.scrollable_content_region.height - table.pinned)


@pytest.mark.parametrize("size", [(80, 24), (100, 30)])
async def test_cursor_row_stays_on_screen(size):
    app = KatuiApp(str(capture_path("pcapplusplus__example.pcap")))
    async with app.run_test(size=size) as pilot:
        await settle(app, pilot)
        table = app.main.query_one("#connections")
        await pilot.press("G")
        await pilot.pause()
        assert table.stream == 65 and table.cursor in _visible(table)
        assert app.main.conn.stream == 65
        for _ in range(7):
            await pilot.press("k")
        await pilot.pause()
        assert table.stream == 58 and table.cursor in _visible(table)
        await pilot.press("g")
        await pilot.pause()
        assert table.cursor == 0 and int(table.scroll_offset.y) == 0


async def test_preview_rows_are_replaced_by_the_analysis():
    from katui.analysis.pipeline import Preview

    app = KatuiApp(str(SAMPLES / "httptest.pcap"))
    async with app.run_test(size=(100, 30)) as pilot:
        table = app.main.query_one("#connections")
        await settle(app, pilot)
        # A preview arriving late (after the analysis) must not disturb the real rows.
        app.main.preview([Preview(0, "1.2.3.4:1", "5.6.7.8:80", 0)])
        assert table.row_total == 2 and table.get_row_at(0)[6] == "idle-timeout"
        # Before the analysis, previews are listed with their verdicts pending.
        table.append_preview([Preview(9, "1.2.3.4:1", "5.6.7.8:80", 0)])
        assert table.get_row_at(2)[3] == "loading…"
        table.fill(app.analysis.connections, app.analysis.first_ns)
        assert table.row_total == 2 and table.get_row_at(0)[3] == "server FIN"


async def test_keys_typed_right_after_enter_reach_the_ladder():
    app = KatuiApp(str(SAMPLES / "request-limit.pcap"))
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(app, pilot)
        await pilot.press("enter", "j", "j")
        await pilot.pause()
        assert app.main.query_one("#connections").stream == 0
        assert app.focused is app.main.query_one("#ladder")
        assert app.main.query_one("#ladder").cursor == 2
