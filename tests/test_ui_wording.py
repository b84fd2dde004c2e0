"""What the ladder and detail pane say: problems on the right row, no repeated rows, units."""

from __future__ import annotations

from conftest import analysed, capture_path
from ui_helpers import SAMPLES, ladder_texts, settle

from katui.analysis.pipeline import analyze
from katui.report.ladder_text import ladder_lines
from katui.ui.app import KatuiApp
from katui.ui.detail import connection_text, frame_text


def _lines(name: str, stream: int) -> list[str]:
    a = analysed(str(capture_path(name)))
    return ladder_lines(a, a.connections[stream], width=200)


def test_stale_reuse_marks_the_request_not_the_servers_fin():
    lines = _lines("stale-reuse.pcap", 0)
    teardown = next(x for x in lines if "teardown" in x)
    assert "PROBLEM" not in teardown and "request 2 is still sent after it" in teardown
    request = next(x for x in lines if "request 2" in x and "stale reuse" in x)
    assert "✖ PROBLEM" in request
    assert any(x.rstrip().endswith("│ ✖ reset") for x in lines)
    assert not any("RST reset" in x for x in lines)


def test_a_syn_sent_again_gets_no_second_handshake_row():
    lines = _lines("suricata__tls-subjectaltname.pcap", 0)
    assert sum("├── handshake" in x for x in lines) == 1  # (a TLS label may say "full handshake")
    assert any("SYN" in x and "[retransmission]" in x for x in lines)


def test_repeated_request_rows_are_collapsed():
    lines = _lines("zeek__http_1000-requests-one-dropped-response.pcap", 0)
    assert sum("on this connection" in x for x in lines) == 1  # request 2 only
    assert sum("↻ reused" in x for x in lines) > 900  # every request still says it


def test_the_peers_fin_names_the_fin_it_is_measured_from():
    lines = _lines("httptest.pcap", 0)
    assert any("996.2 ms after the server's FIN (frame 11)" in x for x in lines)


def test_one_gap_says_what_each_of_its_numbers_is_measured_from():
    # Stream 1 of the seed: the server's FIN (frame 22, nginx's 5 s timeout), the client's ACK
    # of it 41 ms later (frame 23), then the client's FIN 2.955 s after that ACK (frame 24):
    # one row gives both numbers, each with the frame it counts from (tshark: frame 22 at
    # 13.008729, 23 at 13.049688, 24 at 16.004226).
    lines = _lines("httptest.pcap", 1)
    gap = [x for x in lines if "2.955 s idle" in x]
    assert len(gap) == 1
    assert (
        "since frame 23; then the client closes its side too, 2.995 s after the server's FIN (frame 22)"
        in gap[0]
    )
    assert sum("closes its side too" in x for x in lines) == 1  # not a second row with another number


def test_detail_applies_the_window_scale_and_says_when_it_cannot():
    a = analysed(str(SAMPLES / "httptest.pcap"))
    conn = a.connections[0]
    assert "win=65536 (64 × 2^10)" in frame_text(a, conn, 4).plain
    assert "(SYN: never scaled)" in frame_text(a, conn, 1).plain


def test_tls_connection_is_described_as_tls_with_plurals():
    a = analysed(str(capture_path("suricata__tls-subjectaltname.pcap")))
    text = connection_text(a, a.connections[0]).plain
    # Without keys the verdicts rest on inferred requests: the detail says so, and does not
    # say that they do not apply right above one.
    assert "payload: TLS without keys; requests and responses inferred from the encrypted records" in text
    assert "do not apply" not in text
    assert "⚠ 1 retransmission\n" in text + "\n"
    stale = analysed(str(SAMPLES / "real" / "tls-tls13-stale.pcap"))
    text = connection_text(stale, stale.connections[0]).plain
    assert "inferred from the encrypted records" in text and "✖ PROBLEM close:" in text
    assert "do not apply" not in text


async def test_tcp_notes_are_not_drawn_like_http_labels():
    app = KatuiApp(str(capture_path("suricata__tls-subjectaltname.pcap")))
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(app, pilot)
        ladder = app.main.query_one("#ladder")
        y = next(i for i, r in enumerate(ladder_texts(app)) if "[retransmission]" in r)
        row = ladder._row(y)
        start = row.plain.index("[retransmission]")
        styles = [s.style for s in row.spans if s.start <= start < s.end]
        assert styles and styles[-1] == ladder._style("ladder--note")
        assert ladder._style("ladder--note") != ladder._style("ladder--label")


async def test_brackets_on_marks_stop_at_requests_without_a_row():
    app = KatuiApp(str(SAMPLES / "pipelining.pcap"))
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(app, pilot)
        await pilot.press("l", "G")
        ladder = app.main.query_one("#ladder")
        for _ in range(3):
            await pilot.press("left_square_bracket")
        assert ladder.frame == 14  # GET /d: reused after 0.5 s, no row of its own


def test_detail_pane_has_the_reports_tls_line_with_0rtt():
    """The detail pane says what the reports' TLS line says (SNI, cipher, resumption, 0-RTT);
    before, it named only the version and ALPN, so a 0-RTT request was not explained there."""
    from katui.tls.keylog import KeyLog

    path = SAMPLES / "real" / "tls-tls13-early-data.pcap"
    keys = KeyLog.read(str(path.with_suffix(".keys")))
    a = analyze(str(path), keylog=keys)
    text = connection_text(a, a.connections[1]).plain
    assert "tls: TLS 1.3 · sni localhost · TLS_AES_256_GCM_SHA384 · resumed" in text
    assert "0-RTT early data accepted (the first request went before the handshake ended)" in text
    assert "0-RTT" not in connection_text(a, a.connections[0]).plain  # the full handshake sent none
    plain = analysed(str(path))
    text = connection_text(plain, plain.connections[1]).plain
    assert "0-RTT early data sent (accepted or not is encrypted)" in text
