"""Markdown of the investigation views: from the CLI (``report --view``) and the views' ``e``."""

from __future__ import annotations

import re

import pytest
from markdown_it import MarkdownIt
from ui_helpers import SAMPLES, hostile_capture, settle

from katui.analysis.query import parse
from katui.analysis.requests import all_requests
from katui.cli import main
from katui.report import timeline as tl
from katui.report import views
from katui.report.follow import follow_lines
from katui.ui.app import KatuiApp
from katui.ui.follow import FollowScreen
from katui.ui.modals import ScopeScreen
from katui.ui.requests import RequestsScreen
from katui.ui.servers import ServersScreen
from katui.ui.timeline import TimelineScreen, TimelineView
from tests.conftest import analysed

SEED = str(SAMPLES / "httptest.pcap")
STALE = str(SAMPLES / "stale-reuse.pcap")
HOSTILE = str(SAMPLES / "hostile.pcap")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def _blocks(text: str) -> list[str]:
    """The contents of the code blocks a CommonMark parser finds."""
    return [t.content for t in MarkdownIt().parse(text) if t.type == "fence"]


def test_the_timeline_is_text_art_in_a_code_block_with_its_links():
    a = analysed(STALE)
    text = views.timeline_md(a, a.connections, width=60)
    (art,) = _blocks(text)
    lines = art.splitlines()
    per = max(-(-(a.duration_ns + 1) // 60), 1)
    assert lines[0].startswith("  |0")
    assert lines[1] == f"0 {tl.row(a.connections[0], a.first_ns, per, 60)}".rstrip()
    assert (
        lines[2]
        == f"1 {tl.row(a.connections[1], a.first_ns, per, 60, a.connections[0].close.ts_ns)}".rstrip()
    )
    assert "╰─" in lines[2] and "- stream 1 ╰ opened" in text and "(stale-reuse)" in text


def test_the_request_list_is_a_table_and_hostile_cells_cannot_break_it():
    a = analysed(HOSTILE)
    text = views.requests_md(a, all_requests(a), "utc")
    rows = [line for line in text.splitlines() if line.startswith("|")]
    assert rows[0].startswith("| time (UTC) | stream | request |") and len(rows) == 2 + len(all_requests(a))
    tokens = MarkdownIt().enable("table").parse(text)
    cells = [t for t in tokens if t.type in ("th_open", "td_open")]
    assert len(cells) == len(rows[0].split(" | ")) * (len(rows) - 1)  # every row as wide as the head
    assert not _CONTROL.search(text) and "\\|a\\|b\\|" in text and "[link=http://x]" not in text


def test_the_server_summary_has_each_server_and_its_histograms():
    a = analysed(SEED)
    text = views.servers_md(a)
    assert "## 127.0.0.1:8081" in text
    (block,) = _blocks(text)
    assert "idle before an idle close (2):" in block and "◀ inferred timeout 5 s" in block


def test_follow_stream_is_escaped_and_fenced_past_any_backticks(tmp_path):
    path = hostile_capture(tmp_path / "ticks.pcap", b"/````x`")
    a = analysed(str(path))
    text = views.follow_md(a, a.connections[0])
    assert text.count("`````text") == 1  # four backticks inside: a fence of five
    (block,) = _blocks(text)
    want = [f"{f:>8} {'C→ ' if c2s else 'S← '}{t}" for f, c2s, t in follow_lines(a, a.connections[0])]
    assert block.splitlines() == want
    assert not _CONTROL.search(text) and "\\x1b]0;pwn\\x07" in block
    hexed = _blocks(views.follow_md(a, a.connections[0], hex_mode=True))[0]
    assert hexed.splitlines()[0].startswith("       4 C→ 00000000  47 45 54 20 2f 60 60 60 60")


@pytest.mark.parametrize("view", views.VIEWS)
def test_cli_view_writes_markdown(view, tmp_path, capsys):
    out = tmp_path / f"{view}.md"
    assert main(["report", STALE, "--view", view, "--stream", "1", "-o", str(out)]) == 0
    text = out.read_text()
    assert text.startswith(f"# katui {'follow stream' if view == 'follow' else view}: ")
    a = analysed(STALE)
    if view == "follow":
        assert text == views.follow_md(a, a.connections[1])
    if view == "requests":  # only the requests of --stream 1
        assert text == views.requests_md(a, [r for r in all_requests(a) if r[0].stream == 1])


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["--view", "follow"], "--view follow wants the connection: --stream N (one)"),
        (["--view", "timeline", "-f", "json"], "--view writes Markdown; leave out --format json"),
        (["--view", "follow", "--stream", "9"], "no tcp.stream 9"),
    ],
)
def test_cli_view_mistakes_are_one_line_and_status_2(args, says, capsys):
    assert main(["report", STALE, *args]) == 2
    err = [line for line in capsys.readouterr().err.splitlines() if "slow path" not in line]
    assert len(err) == 1 and says in err[0]


async def _export(app, pilot, path) -> str:
    """Press e in the view on screen, give ``path``, wait for the write."""
    await pilot.press("e")
    assert isinstance(app.screen, ScopeScreen)
    app.screen.query_one("#export-path").value = str(path)
    await pilot.press("enter")
    await app.workers.wait_for_complete()
    await pilot.pause()
    return path.read_text()


async def test_e_in_each_view_exports_what_it_shows(tmp_path):
    app = KatuiApp(STALE)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        a = app.analysis
        await pilot.press("T", "plus")
        assert isinstance(app.screen, TimelineScreen)
        view = app.screen.query_one(TimelineView)
        text = await _export(app, pilot, tmp_path / "t.md")
        assert text == views.timeline_md(a, view.conns, view.t0, view.ns_per_cell, view.cells)
        await pilot.press("escape", "r", "t")
        await settle(app, pilot)
        assert isinstance(app.screen, RequestsScreen)
        order = app.screen.sort
        text = await _export(app, pilot, tmp_path / "r.md")
        assert (
            text == views.requests_md(a, all_requests(a), "local", "", order) and "| time (local) |" in text
        )
        assert f"Sorted by {order}." in text and "Filter:" not in text
        app.screen.filter = parse("reused")  # the export names the filter that chose its rows
        app.screen.refill()
        await settle(app, pilot)
        text = await _export(app, pilot, tmp_path / "r2.md")
        assert "Filter: reused." in text and len(text.splitlines()) < len(
            (tmp_path / "r.md").read_text().splitlines()
        )
        await pilot.press("escape", "v")
        assert isinstance(app.screen, ServersScreen)
        assert "## 127.0.0.1:8086" in await _export(app, pilot, tmp_path / "s.md")
        await pilot.press("escape", "F", "x")
        assert isinstance(app.screen, FollowScreen)
        text = await _export(app, pilot, tmp_path / "f.md")
        assert text == views.follow_md(a, app.screen.conn, hex_mode=True)
        # An existing file is not replaced without a yes.
        await pilot.press("e")
        app.screen.query_one("#export-path").value = str(tmp_path / "t.md")
        await pilot.press("enter", "n")
        assert (tmp_path / "t.md").read_text().startswith("# katui timeline")
