"""The per-server summary: counts, closes, the timeout and the idle histograms."""

from __future__ import annotations

from ui_helpers import SAMPLES, settle

from katui.analysis.servers import server_summaries
from katui.report.histogram import bar, durations
from katui.report.servers import server_lines
from katui.ui.app import KatuiApp
from katui.ui.servers import ServersScreen
from tests.conftest import analysed

SEED = str(SAMPLES / "httptest.pcap")


def test_summary_of_the_seed_server():
    (s,) = server_summaries(analysed(SEED))
    assert (s.server, s.connections, s.requests, s.reused, s.resets) == ("127.0.0.1:8081", 2, 3, 1, 0)
    assert s.per_connection == {1: 1, 2: 1}
    assert s.closes == {("server", "fin", "idle-timeout"): 2}
    assert len(s.idle_before_close_ns) == 2 and len(s.idle_before_reuse_ns) == 1
    text = "\n".join(server_lines(s))
    assert "inferred ≈ 5 s (nginx keepalive_timeout) from 2 idle closes" in text
    assert "reuse 33% (1 reused)" in text


def test_the_histogram_marks_the_bin_of_the_timeout_on_round_bins():
    lines = durations([2_000_000_000, 5_005_000_000, 5_006_000_000], 5_000_000_000, "timeout 5 s", 10, 20)
    assert lines[0].startswith("  0–1 s") and len(lines) == 6
    marked = [line for line in lines if "◀ timeout 5 s" in line]
    assert marked == [lines[5]] and lines[5].rstrip().endswith("2  ◀ timeout 5 s")
    assert bar(1, 2, 4) == "██" and bar(0, 2, 4) == ""


def test_the_summary_of_a_reset_names_the_problem():
    (s,) = server_summaries(analysed(str(SAMPLES / "stale-reuse.pcap")))
    assert s.resets == 1
    assert any("✖ stale-reuse" in line for line in server_lines(s))


async def test_v_shows_the_servers_and_the_keys_scroll_and_leave():
    app = KatuiApp(SEED)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        for back in ("escape", "q", "h"):
            await pilot.press("v")
            await settle(app, pilot)
            assert isinstance(app.screen, ServersScreen)
            assert "inferred timeout 5 s" in "\n".join(app.screen.lines)
            box = app.screen.query_one("#servers-box")
            assert box.max_scroll_y > 0
            await pilot.press("j")
            assert box.scroll_y == 1
            await pilot.press("G")
            assert box.scroll_y == box.max_scroll_y
            await pilot.press("g")
            assert box.scroll_y == 0
            await pilot.press(back)
            assert app.screen is app.main


def test_the_timeout_sentence_wraps_at_80_columns():
    # 80 columns less the scrollbar; the bars are 36 cells wide there (ServersScreen).
    (s,) = server_summaries(analysed(str(SAMPLES / "real" / "node-ka-2s.pcap")))
    whole = server_lines(s, 36)
    wrapped = server_lines(s, 36, 78)
    long = next(line for line in whole if "server.keepAliveTimeout" in line)
    assert len(long) > 78  # the software and setting make it long
    assert max(len(line) for line in wrapped) <= 78
    # Wrapped, not cut: the same words, the continuation under the first sentence.
    assert " ".join(" ".join(wrapped).split()) == " ".join(" ".join(whole).split())
    at = next(i for i, line in enumerate(wrapped) if "server.keepAliveTimeout" in line)
    assert wrapped[at + 1].startswith(" " * 16) and wrapped[at + 1].endswith("idle close")
