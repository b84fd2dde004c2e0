"""Export (`e`) and copy (`y`): the same Markdown as the report renderer, delivered safely."""

from __future__ import annotations

import pytest
from ui_helpers import SAMPLES, settle

from katui.report.markdown import render
from katui.ui.app import KatuiApp

SEED = str(SAMPLES / "httptest.pcap")


async def test_export_selected_connection_writes_markdown(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    app = KatuiApp(SEED)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        await pilot.press("e")
        assert type(app.screen).__name__ == "ScopeScreen"
        await pilot.press("enter")  # first choice: the selected connection
        await pilot.pause()
        out = tmp_path / "httptest-katui.md"
        assert out.read_text() == render(app.main.analysis, [0], app.main.analysis.idle_threshold_ns)
        assert not list(tmp_path.glob(".*.tmp"))


async def test_export_all_and_never_overwrite_without_asking(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "httptest-katui.md"
    out.write_text("keep me")
    app = KatuiApp(SEED)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        await pilot.press("e", "down", "enter")  # all connections
        assert type(app.screen).__name__ == "ConfirmScreen"
        await pilot.press("n")
        await pilot.pause()
        assert out.read_text() == "keep me"
        await pilot.press("e", "down", "enter", "y")
        await pilot.pause()
        assert out.read_text() == render(app.main.analysis, None, app.main.analysis.idle_threshold_ns)


async def test_export_filtered_to_a_typed_name(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    app = KatuiApp(SEED)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        await pilot.press("R", "e")
        screen = app.screen
        assert [key for key, _ in screen.choices] == ["selected", "filtered", "all"]
        screen.query_one("#export-path").value = "reused.md"
        await pilot.press("down", "enter")
        await pilot.pause()
        assert (tmp_path / "reused.md").read_text() == render(
            app.main.analysis, [0], app.main.analysis.idle_threshold_ns
        )


async def test_copy_uses_osc52_and_pyperclip(monkeypatch):
    copied = []
    monkeypatch.setattr("pyperclip.copy", copied.append)
    app = KatuiApp(SEED)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        await pilot.press("j", "y", "enter")
        await pilot.pause()
        expected = render(app.main.analysis, [1], app.main.analysis.idle_threshold_ns)
        assert app.clipboard == expected
        assert copied == [expected]


async def test_copy_without_pyperclip_still_reports(monkeypatch):
    def broken(text):
        raise RuntimeError("no clipboard mechanism")

    monkeypatch.setattr("pyperclip.copy", broken)
    app = KatuiApp(SEED)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        await pilot.press("y", "down", "enter")
        await pilot.pause()
        assert app.clipboard.startswith("#")
        messages = [n.message for n in app._notifications]
        assert any("OSC 52" in m for m in messages)


async def test_big_exports_render_off_the_ui_thread(tmp_path, monkeypatch):
    """Above SYNC_EXPORT_LIMIT connections the Markdown is rendered by a thread worker."""
    import threading

    import katui.ui.exporting as actions

    monkeypatch.setattr(actions, "SYNC_EXPORT_LIMIT", 0)
    threads = []
    real = actions.render_markdown

    def spy(*args):
        threads.append(threading.current_thread())
        return real(*args)

    monkeypatch.setattr(actions, "render_markdown", spy)
    monkeypatch.chdir(tmp_path)
    app = KatuiApp(SEED)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        await pilot.press("e", "down", "enter")  # all connections
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert threads and threads[0] is not threading.main_thread()
        out = tmp_path / "httptest-katui.md"
        assert out.read_text() == render(app.main.analysis, None, app.main.analysis.idle_threshold_ns)


async def test_huge_copies_skip_the_terminal_clipboard(monkeypatch):
    import katui.ui.exporting as actions

    monkeypatch.setattr(actions, "OSC52_LIMIT", 10)
    copied, sent = [], []
    monkeypatch.setattr(actions, "system_copy", lambda text: copied.append(text))
    app = KatuiApp(SEED)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        monkeypatch.setattr(app, "copy_to_clipboard", sent.append)
        await pilot.press("y", "enter")
        await pilot.pause()
        assert copied and not sent


@pytest.mark.parametrize("tmux", [None, "/tmp/tmux-0/default,1,0"])
async def test_copy_inside_tmux_says_how_to_let_osc52_through(monkeypatch, tmux):
    monkeypatch.setattr("pyperclip.copy", lambda text: None)
    if tmux:
        monkeypatch.setenv("TMUX", tmux)
    else:
        monkeypatch.delenv("TMUX", raising=False)
    app = KatuiApp(SEED)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        await pilot.press("y", "enter")
        await pilot.pause()
        said = " ".join(n.message for n in app._notifications)
        assert ("set -g set-clipboard on" in said) == bool(tmux)
