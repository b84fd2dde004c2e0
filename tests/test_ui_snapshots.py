"""Snapshot tests of the main screen on the seed capture (pytest-textual-snapshot)."""

from __future__ import annotations

import pytest
from ui_helpers import SAMPLES, settle

from katui.ui.app import KatuiApp

SEED = str(SAMPLES / "httptest.pcap")


async def _loaded(pilot) -> None:
    await settle(pilot.app, pilot)


@pytest.mark.parametrize("size", [(80, 24), (120, 40)])
def test_main_screen(snap_compare, size):
    assert snap_compare(KatuiApp(SEED), terminal_size=size, run_before=_loaded)


def test_ladder_on_the_close(snap_compare):
    async def to_close(pilot) -> None:
        await _loaded(pilot)
        await pilot.press("enter", "right_square_bracket", "right_square_bracket",
                          "right_square_bracket", "right_square_bracket")  # fmt: skip

    assert snap_compare(KatuiApp(SEED), terminal_size=(100, 30), run_before=to_close)


def test_error_screen(snap_compare, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # a relative name: the tmp path differs per run
    (tmp_path / "notes.pcap").write_text("not a capture")
    app = KatuiApp("notes.pcap")
    assert snap_compare(app, terminal_size=(80, 24), run_before=_loaded)


def test_help_screen(snap_compare):
    async def help_(pilot) -> None:
        await _loaded(pilot)
        await pilot.press("question_mark")

    assert snap_compare(KatuiApp(SEED), terminal_size=(80, 24), run_before=help_)


def test_filter_prompt_with_an_error(snap_compare):
    async def typed(pilot) -> None:
        await _loaded(pilot)
        await pilot.press("slash", *"reused idle:4s")

    assert snap_compare(KatuiApp(SEED), terminal_size=(80, 24), run_before=typed)


def test_stale_reuse_at_180x50_with_the_ladder_focused(snap_compare):
    async def to_ladder(pilot) -> None:
        await _loaded(pilot)
        await pilot.press("l", "G")

    app = KatuiApp(str(SAMPLES / "stale-reuse.pcap"))
    assert snap_compare(app, terminal_size=(180, 50), run_before=to_ladder)


@pytest.mark.parametrize("size", [(80, 24), (180, 50)])
def test_request_list(snap_compare, size):
    async def requests(pilot) -> None:
        await _loaded(pilot)
        await pilot.press("r")
        await _loaded(pilot)
        await pilot.press("j")

    app = KatuiApp(str(SAMPLES / "stale-reuse.pcap"))
    assert snap_compare(app, terminal_size=size, run_before=requests)


def test_ladder_in_utc(snap_compare):
    async def utc(pilot) -> None:
        await _loaded(pilot)
        await pilot.press("enter", "t", "t", "t", "t")

    assert snap_compare(KatuiApp(SEED), terminal_size=(80, 24), run_before=utc)


@pytest.mark.parametrize("size", [(80, 24), (180, 50)])
def test_server_summary(snap_compare, size):
    async def servers(pilot) -> None:
        await _loaded(pilot)
        await pilot.press("v")
        await _loaded(pilot)

    assert snap_compare(KatuiApp(SEED), terminal_size=size, run_before=servers)


@pytest.mark.parametrize("size", [(80, 24), (180, 50)])
def test_timeline(snap_compare, size):
    async def timeline(pilot) -> None:
        await _loaded(pilot)
        await pilot.press("T", "j")  # the new connection: its link to the close

    app = KatuiApp(str(SAMPLES / "stale-reuse.pcap"))
    assert snap_compare(app, terminal_size=size, run_before=timeline)


@pytest.mark.parametrize("size", [(80, 24), (180, 50)])
def test_follow_stream_of_hostile_bytes(snap_compare, size):
    async def follow(pilot) -> None:
        await _loaded(pilot)
        await pilot.press("F")

    app = KatuiApp(str(SAMPLES / "hostile.pcap"))
    assert snap_compare(app, terminal_size=size, run_before=follow)


@pytest.mark.parametrize("size", [(80, 24), (160, 45)])
def test_follow_stream_search_in_hostile_bytes(snap_compare, size):
    """The matches of a search highlighted, the current one brighter, escapes kept."""

    async def search(pilot) -> None:
        await _loaded(pilot)
        await pilot.press("F", "slash", *"\\x1b[31;1m", "enter", "n")

    app = KatuiApp(str(SAMPLES / "hostile.pcap"))
    assert snap_compare(app, terminal_size=size, run_before=search)


@pytest.mark.parametrize("size", [(80, 24), (180, 50)])
def test_backend_lane_on_the_502_race(snap_compare, size):
    """A proxy's front connection with its upstream frames (client | proxy | backend), the
    cursor on the row of the race that came back to the client as a 502."""

    async def to_race(pilot) -> None:
        await _loaded(pilot)
        await pilot.press("l")
        ladder = pilot.app.main.query_one("#ladder")
        ladder.cursor = next(y for y, r in enumerate(ladder.rows) if getattr(r, "problem", False))
        await pilot.pause()

    app = KatuiApp(str(SAMPLES / "real" / "proxy-nginx-race.pcap"))
    assert snap_compare(app, terminal_size=size, run_before=to_race)


@pytest.mark.parametrize("size", [(80, 24), (180, 50)])
def test_follow_stream_of_tls_records_decrypted(snap_compare, size):
    from katui.tls.keylog import KeyLog

    async def follow(pilot) -> None:
        await _loaded(pilot)
        await pilot.press("F")

    real = SAMPLES / "real"
    app = KatuiApp(str(real / "tls-tls13-httpx.pcap"), keylog=KeyLog.read(str(real / "tls-tls13-httpx.keys")))
    assert snap_compare(app, terminal_size=size, run_before=follow)


@pytest.mark.parametrize("size", [(80, 24), (180, 50)])
def test_timeline_of_a_pool_racing_the_server(snap_compare, size):
    async def timeline(pilot) -> None:
        await _loaded(pilot)
        await pilot.press("T", "j")

    app = KatuiApp(str(SAMPLES / "real" / "clients-race-requests.pcap"))
    assert snap_compare(app, terminal_size=size, run_before=timeline)
