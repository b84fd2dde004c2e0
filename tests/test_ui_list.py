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


# The protocol column. What each server logged (samples/real/*.md): nginx's access log names
# TLSv1.3 and "GET /httpx-0 HTTP/1.1" for tls-tls13-httpx, TLSv1.2 and HTTP/2.0 for
# tls-h2-curl; ab (clients-ab-k) sends HTTP/1.0 requests; the Apache pre-connect never carries
# a request (its payload is nothing at all: TCP).
def _protocols(name: str, keys: bool = False) -> list[str]:
    from katui.analysis.payload import protocol
    from katui.analysis.pipeline import analyze
    from katui.tls.keylog import KeyLog

    path = SAMPLES / "real" / name
    keylog = KeyLog.read(str(path.with_suffix(".keys"))) if keys else None
    return [protocol(c) for c in analyze(str(path), keylog=keylog).connections]


def test_protocol_is_read_from_the_model():
    assert set(_protocols("tls-h2-curl.pcap")) == {"TLS 1.2 · h2"}  # TLS 1.2: ALPN in the clear
    # TLS 1.3 encrypts the ALPN choice; httpx offers http/1.1 alone, so it is known anyway.
    assert set(_protocols("tls-tls13-httpx.pcap")) == {"TLS 1.3 · http/1.1"}
    assert set(_protocols("tls-tls13-httpx.pcap", keys=True)) == {"TLS 1.3 · http/1.1 (decrypted)"}
    assert set(_protocols("clients-ab-k.pcap")) == {"HTTP/1.0"}
    assert set(_protocols("nginx-5xx.pcap")) == {"HTTP/1.1"}
    assert "TCP" in _protocols("apache-preconnect-long.pcap")


async def test_protocol_column_sorts_filters_and_fits_at_80_columns():
    app = KatuiApp(str(SAMPLES / "real" / "tls-h2-curl.pcap"))
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        table = app.main.query_one("#connections")
        line = table.render_line(1).text  # the first connection, as drawn
        assert "TLS1.2·h2" in line and "unknown" in line  # reason and protocol both on screen
        await pilot.press("slash", *"proto:h1", "enter")
        await pilot.pause()
        assert table.row_total == 0
        await pilot.press("x", "slash", *"proto:h2", "enter")
        await pilot.pause()
        assert table.row_total == 3
    app = KatuiApp(str(SAMPLES / "real" / "tls-ciphers-curl.pcap"))
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        app.main.action_sort("proto")
        await pilot.pause()
        cells = [app.main.query_one("#connections").cells(i)[7] for i in range(len(app.main.shown))]
        assert cells == sorted(cells) and {"TLS1.2·h1", "TLS1.3"} <= set(cells)
        assert [c.stream for c in app.main.shown][:2] == [2, 3]  # TLS 1.2 before streams 0, 1


def test_widest_counts_cells_not_characters():
    from katui.ui.connections import _widest

    assert _widest({"10.0.0.1:80", "[::1]:8080"}) == 11
    assert _widest({"ab", "日本語"}) == 6  # wide characters take two cells each
    assert _widest(set()) == 0
