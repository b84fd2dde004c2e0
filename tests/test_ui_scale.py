"""Big inputs stay cheap: the ladder renders only visible lines; pure modules import no UI."""

from __future__ import annotations

import subprocess
import sys

from conftest import capture_path
from ui_helpers import settle

from katui.ui.app import KatuiApp


async def test_big_connection_ladder_renders_only_what_is_on_screen(monkeypatch):
    path = capture_path("zeek__http_1000-requests-one-dropped-response.pcap")
    app = KatuiApp(str(path))
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        big = max(app.main.analysis.connections, key=lambda c: c.frame_count)
        app.main.jump_to((big.stream, big.first_frame))
        await pilot.pause()
        ladder = app.main.query_one("#ladder")
        assert len(ladder.rows) > 3000
        calls = []
        original = type(ladder)._row
        monkeypatch.setattr(type(ladder), "_row", lambda self, y: calls.append(y) or original(self, y))
        await pilot.press("G")
        await pilot.pause()
        assert ladder.cursor == len(ladder.rows) - 1
        assert ladder.frame == big.last_frame
        assert 0 < len(calls) <= 2 * ladder.size.height
        calls.clear()
        await pilot.press("k", "k", "k")
        await pilot.pause()
        assert len(calls) <= 8  # cached strips: only the cursor's old and new rows redraw


async def test_command_palette_reaches_main_actions():
    app = KatuiApp(str(capture_path("httptest.pcap")))
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        commands = list(app.get_system_commands(app.main))
        titles = [c.title for c in commands]
        for word in ("Findings", "Export", "Copy", "Filter: toggle the word reused", "Filter: status",
                     "Time", "Go to"):  # fmt: skip
            assert any(t.startswith(word) for t in titles), word
        helps = {c.title.split(":")[0]: c.help for c in commands}
        assert helps["Help"] == "key ?" and helps["Go to"] == "key :"  # not 'question_mark'
        await pilot.press("ctrl+p", *"toggle the word reused", "enter")
        await pilot.pause()
        await pilot.pause()
        assert app.main.filter.text == "reused"


def test_ladder_rows_and_textsafe_import_no_textual():
    code = ("import sys, katui.report.ladder, katui.textsafe, katui.ui.filters; "
            "sys.exit('textual' in sys.modules or 'rich' in sys.modules)")  # fmt: skip
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0


async def test_palette_screenshot_writes_to_the_current_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    app = KatuiApp(str(capture_path("httptest.pcap")))
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        shots = [c for c in app.get_system_commands(app.main) if c.title == "Screenshot"]
        assert len(shots) == 1 and str(tmp_path) in shots[0].help
        app.screenshot_here()
        await pilot.pause()
    assert list(tmp_path.glob("*.svg"))
