"""Pilot tests: drive the TUI with keys on the sample captures and assert on its state."""

from __future__ import annotations

import pytest
from textual.geometry import Region
from ui_helpers import SAMPLES, hostile_capture, ladder_texts, settle

from katui.analysis.pipeline import analyze
from katui.ui.app import KatuiApp

SEED = str(SAMPLES / "httptest.pcap")


@pytest.mark.parametrize("size", [(80, 24), (120, 40)])
async def test_seed_ladder_shows_gap_close_reason_and_reuse(size):
    app = KatuiApp(SEED)
    async with app.run_test(size=size) as pilot:
        await settle(app, pilot)
        assert app.main.conn.stream == 0
        rows = ladder_texts(app)
        frame = {int(r.split()[0]): i for i, r in enumerate(rows) if r.strip()[:1].isdigit()}
        between = rows[frame[10] + 1 : frame[11]]
        gap = [r for r in between if "idle" in r and "⋯" in r]
        assert gap and "5.0" in gap[0] and "keep-alive timeout" in gap[0]
        reuse = [r for r in rows if "request 2 on this connection" in r]
        assert reuse and "2.002 s idle" in reuse[0] and "no new handshake" in reuse[0]
        assert "GET /httptest" in rows[frame[8]] and "reused" in rows[frame[8]]
        assert "200 OK  16 B" in rows[frame[9]]
        assert "▶" in rows[frame[1]] and "◀" in rows[frame[2]]


async def test_summary_shows_the_timeout_on_an_80_column_terminal():
    app = KatuiApp(SEED)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        summary = app.main.query_one("#summary")
        shown = [s.text for s in summary.render_lines(Region(0, 0, *summary.size))]
        assert len(shown) == 2
        for word in ("httptest.pcap", "started", "25 frames"):  # the rest is cut at 80 columns
            assert word in shown[0]
        for word in ("2 connections", "3 requests", "16.0 s"):
            assert word in str(summary.content).split("\n")[0]
        # The headline number on a line of its own: at the end of the first it was cut off.
        assert (
            shown[1].strip() == "server idle timeout ≈ 5 s at 127.0.0.1:8081: 2 closes, reused after 2.002 s"
        )


async def test_keys_move_between_connections_and_ladder_marks():
    app = KatuiApp(SEED)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        await pilot.press("j")
        assert app.main.conn.stream == 1
        await pilot.press("k", "enter")
        ladder = app.main.query_one("#ladder")
        assert app.main.conn.stream == 0 and app.focused is ladder
        await pilot.press("G")
        assert ladder.frame == 14
        await pilot.press("g", "right_square_bracket")
        assert "request 1" in ladder.row_text(ladder.cursor)
        await pilot.press("j")
        assert ladder.frame == 4
        assert "GET /httptest" in app.main.query_one("#detail").text
        await pilot.press("left_square_bracket")
        assert "request 1" in ladder.row_text(ladder.cursor)
        ladder.cursor = ladder.row_of(11)
        await pilot.pause()
        assert "keep-alive timeout" in app.main.query_one("#detail").text


async def test_time_format_and_seqack_toggle():
    app = KatuiApp(SEED)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        await pilot.press("j", "enter")  # stream 1 starts at 8.003 s
        ladder = app.main.query_one("#ladder")
        row = ladder.row_of(15)
        assert "8.003420" in ladder.row_text(row)
        await pilot.press("t")
        assert ladder.time_mode == "conn" and "0.000000" in ladder.row_text(row)
        assert "0.000008" in ladder.row_text(row + 1)
        await pilot.press("t")
        assert ladder.time_mode == "delta"
        await pilot.press("s")
        assert "seq=0 ack=1" in ladder.row_text(row + 1)


async def test_t_cycles_through_local_and_utc_clock_times():
    from katui.units import fmt_clock, fmt_start

    app = KatuiApp(SEED)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        header = str(app.main.query_one("#summary").render())
        assert f"started {fmt_start(app.analysis.first_ns)}" in header
        await pilot.press("j", "enter")
        ladder = app.main.query_one("#ladder")
        row = ladder.row_of(15)
        await pilot.press("t", "t", "t")
        ts = app.analysis.table.ts[14]
        assert ladder.time_mode == "local" and fmt_clock(ts) in ladder.row_text(row)
        assert "time of day, local" in app.main.query_one("#ladder-box").border_title
        # The detail pane's t= follows the mode: the selected frame's time of day, to the µs.
        detail = app.main.query_one("#detail")
        while ladder.frame is None:  # off a section row, onto a frame
            await pilot.press("j")
        at = app.analysis.table.ts[ladder.frame - 1]
        rel = f"{(at - app.analysis.first_ns) / 1e9:.6f} s since capture start"
        assert f"t={fmt_clock(at, micro=True)} local ({rel}" in detail.text
        await pilot.press("t")
        assert ladder.time_mode == "utc" and fmt_clock(ts, utc=True) in ladder.row_text(row)
        assert f"t={fmt_clock(at, utc=True, micro=True)} UTC ({rel}" in detail.text
        head = str(app.main.query_one("#ladder-head").render())
        assert head.index("client") == ladder.row_text(row).index("│")
        await pilot.press("t")
        assert ladder.time_mode == "rel"
        assert f"t={(at - app.analysis.first_ns) / 1e9:.6f} s (+" in detail.text


async def test_gap_threshold_keys_change_gap_rows():
    app = KatuiApp(SEED)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        ladder = app.main.query_one("#ladder")
        gaps = sum("⋯" in r for r in ladder_texts(app))
        await pilot.press("plus", "plus")  # 1 s -> 2 s -> 5 s
        assert ladder.gap_ns == 5_000_000_000
        assert sum("⋯" in r for r in ladder_texts(app)) == gaps - 1
        await pilot.press("minus", "minus", "minus")
        assert ladder.gap_ns == 500_000_000


@pytest.mark.parametrize(
    ("sample", "keys", "streams"),
    [
        ("httptest.pcap", ["R"], [0]),
        ("stale-reuse.pcap", ["P"], [0]),
        ("close-client.pcap", ["S"], None),
        ("httptest.pcap", ["slash", *"35466", "enter"], [1]),
        ("httptest.pcap", ["p", *"8081", "enter"], [0, 1]),
        ("httptest.pcap", ["p", *"9", "enter"], []),
        ("httptest.pcap", ["R", "x"], [0, 1]),
    ],
)
async def test_filters(sample, keys, streams):
    app = KatuiApp(str(SAMPLES / sample))
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        await pilot.press(*keys)
        shown = [c.stream for c in app.main.shown]
        if streams is None:
            assert all(c.close.by == "server" for c in app.main.shown)
        else:
            assert shown == streams


async def test_search_by_status_and_uri():
    app = KatuiApp(str(SAMPLES / "stale-reuse.pcap"))
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        await pilot.press("slash", *"/first", "enter")
        assert [c.stream for c in app.main.shown] == [0]
        assert app.focused is app.main.query_one("#connections")


async def test_sort_cycles_and_reverses():
    app = KatuiApp(SEED)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        await pilot.press("O")
        assert [c.stream for c in app.main.shown] == [1, 0]
        assert app.main.conn.stream == 1  # the top of the new order


async def test_findings_jump_to_connection_and_frame():
    app = KatuiApp(str(SAMPLES / "stale-reuse.pcap"))
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        await pilot.press("j")
        first = app.main.analysis.findings[0]
        assert first.kind == "stale-reuse-retried"
        await pilot.press("f")
        assert type(app.screen).__name__ == "FindingsScreen"
        await pilot.press("enter")
        assert app.screen is app.main
        assert app.main.conn.stream == first.stream
        assert app.main.query_one("#ladder").frame == first.frame
        assert "RST" in app.main.query_one("#detail").text


async def test_help_lists_every_key():
    from katui.ui.keys import KEYS

    app = KatuiApp(SEED)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        await pilot.press("question_mark")
        described = " ".join(what for _, what in app.screen.rows)
        assert all(k.description in described for k in KEYS)
        await pilot.press("escape")
        assert app.screen is app.main


async def test_hostile_text_is_escaped_and_literal(tmp_path):
    # A space would end the request target, so the markup in the URI has none; the header has.
    path = hostile_capture(tmp_path / "evil.pcap", b"/\x1b[2J[red]x[/]\x9b")
    app = KatuiApp(str(path))
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        rows = ladder_texts(app)
        get = [r for r in rows if "GET" in r]
        assert get and "GET /\\x1b[2J[red]x[/]\\x9b" in get[0]
        assert not any("\x1b" in r or "\x9b" in r for r in rows)
        ladder = app.main.query_one("#ladder")
        ladder.cursor = ladder.row_of(4)
        await pilot.pause()
        detail = app.main.query_one("#detail").text
        assert "[bold red]x[/]" in detail and "\\x1b]0;pwn\\x07" in detail
        assert "GET /\\x1b[2J[red]x[/]" in detail
        assert "\x1b" not in detail and "\x07" not in detail


async def test_not_a_capture_shows_error(tmp_path):
    bad = tmp_path / "notes.txt"
    bad.write_text("hello, not a capture\n")
    app = KatuiApp(str(bad))
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        assert app.main.error
        assert "Could not load" in str(app.main.query_one("#error").content)
        await pilot.press("q")
    assert app.return_code in (None, 0)


async def test_missing_file_shows_error(tmp_path):
    app = KatuiApp(str(tmp_path / "nope.pcap"))
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        assert app.main.error


async def test_narrow_layout_keeps_every_pane_on_screen():
    app = KatuiApp(SEED)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        assert app.main.has_class("-narrow")
        for pane in ("#connections", "#ladder", "#detail"):
            region = app.main.query_one(pane).region
            assert region.height >= 3 and region.right <= 80 and region.bottom <= 24
        ladder = app.main.query_one("#ladder")
        assert ladder.size.width >= 70


async def test_wide_layout_puts_detail_beside_ladder():
    app = KatuiApp(SEED)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        assert app.main.has_class("-wide")
        ladder, detail = app.main.query_one("#ladder"), app.main.query_one("#detail")
        assert detail.region.x > ladder.region.x


async def test_theme_change_redraws_cached_rows():
    """Cached ladder and list rows are dropped when the theme changes (they carry its colours)."""

    def styles(strip, text: str) -> list:
        return [seg.style for seg in strip if text in seg.text]

    app = KatuiApp(SEED)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        ladder = app.main.query_one("#ladder")
        table = app.main.query_one("#connections")
        y = next(y for y in range(len(ladder.rows)) if "▶" in ladder.row_text(y))
        arrow, row = styles(ladder.render_line(y), "▶"), styles(table.render_line(2), ":")
        assert arrow and row
        app.theme = "textual-light" if app.theme != "textual-light" else "textual-dark"
        await pilot.pause()
        assert styles(ladder.render_line(y), "▶") != arrow
        assert styles(table.render_line(2), ":") != row


async def test_j_jumps_between_the_two_legs_of_a_proxied_request():
    # proxy-nginx-race: front request 2 (frame 15) raced on upstream stream 1 and nginx retried
    # it on upstream stream 2 (request frame 24); J goes to the retry, and back.
    app = KatuiApp(str(SAMPLES / "real" / "proxy-nginx-race.pcap"))
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(app, pilot)
        table = app.main.query_one("#connections")
        assert table.cells(0)[5] == "[::1]:9444 ⇄ front"  # the list marks both legs
        assert table.cells(1)[5] == "127.0.0.1:9443 ⇄ upstream"
        app.main.jump_to((0, 15))
        await pilot.pause()
        await pilot.press("J")
        await pilot.pause()
        assert app.main.conn.stream == 2 and app.main.query_one("#ladder").frame == 24
        await pilot.press("J")
        await pilot.pause()
        assert app.main.conn.stream == 0 and app.main.query_one("#ladder").frame == 15
    plain = KatuiApp(SEED)  # no proxy: J says so and stays
    async with plain.run_test(size=(80, 24)) as pilot:
        await settle(plain, pilot)
        await pilot.press("l", "J")
        await pilot.pause()
        assert plain.main.conn.stream == 0


async def test_j_jumps_from_a_decrypted_tls_front_to_its_upstream_request():
    # proxy-nginx-tls with the client's key log: front request 4 (POST /api/race-post, frame 46)
    # went upstream at frame 51 on stream 2 (raced, not retried: nginx answered 502); without the
    # key log the front is records only and J links nothing.
    from katui.tls.keylog import KeyLog

    path = SAMPLES / "real" / "proxy-nginx-tls.pcap"
    app = KatuiApp(str(path), keylog=KeyLog.read(str(path.with_suffix(".keys"))))
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(app, pilot)
        table = app.main.query_one("#connections")
        assert table.cells(0)[5] == "127.0.0.1:9761 ⇄ front"
        app.main.jump_to((0, 46))
        await pilot.pause()
        await pilot.press("J")
        await pilot.pause()
        assert app.main.conn.stream == 2 and app.main.query_one("#ladder").frame == 51
        await pilot.press("J")
        await pilot.pause()
        assert app.main.conn.stream == 0 and app.main.query_one("#ladder").frame == 46
    sealed = KatuiApp(str(path))
    async with sealed.run_test(size=(100, 30)) as pilot:
        await settle(sealed, pilot)
        assert sealed.main.query_one("#connections").cells(0)[5] == "127.0.0.1:9761"
        sealed.main.jump_to((0, 46))
        await pilot.pause()
        await pilot.press("J")
        await pilot.pause()
        assert sealed.main.conn.stream == 0


async def test_findings_are_made_in_the_loading_thread_once_the_list_is_drawn():
    """Findings are no longer made before the list (they are made on first use), and not on
    the UI thread when f is first pressed either: the loading thread makes them once the
    loaded list is drawn, and f shows the same list."""
    app = KatuiApp(str(SAMPLES / "httptest.pcap"))
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(app, pilot)
        await app.workers.wait_for_complete()
        made = app.analysis.cache.get("findings")
        assert made is not None and made == analyze(str(SAMPLES / "httptest.pcap")).findings
        await pilot.press("f")
        await pilot.pause()
        assert app.screen.findings is made
