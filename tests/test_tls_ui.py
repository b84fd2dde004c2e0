"""The viewer on TLS captures, with and without a key log: nothing breaks, inferred exchanges
and TLS records are labelled in the ladder, the detail pane shows the frames."""

from __future__ import annotations

from ui_helpers import SAMPLES, ladder_texts, settle, tiny_capture

from katui.analysis.pipeline import analyze
from katui.tls.keylog import KeyLog
from katui.ui.app import KatuiApp
from katui.ui.detail import connection_text

CURL = str(SAMPLES / "real" / "tls-tls12-curl.pcap")


async def test_tls_ladder_without_keys():
    app = KatuiApp(CURL)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        rows = "\n".join(ladder_texts(app))
        assert "ClientHello sni=localhost alpn=h2,http/1.1" in rows
        assert "ServerHello TLS 1.2 full handshake" in rows
        assert "request? 108 B (inferred)" in rows and "alert ×1 (close_notify?)" in rows
        await pilot.press("enter", "G", "g", "j", "j", "j", "j", "f", "escape")
        for _ in range(4):
            await pilot.press("h", "j", "enter", "right_square_bracket", "G")
        assert app.main.conn.stream == 4


async def test_tls_ladder_with_a_key_log():
    app = KatuiApp(CURL, keylog=KeyLog.read(CURL[:-5] + ".keys"))
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        rows = "\n".join(ladder_texts(app))
        assert "GET /a" in rows and "200 OK" in rows and "(inferred)" not in rows
        assert "alert ×1 (close_notify)" in rows


async def test_http2_ladder_and_detail_with_a_key_log():
    """Decrypted HTTP/2: HEADERS per stream, control frames and GOAWAY in the ladder (80x24), the
    frame summary in the detail pane, and the stale request after GOAWAY marked as a problem."""
    h2 = str(SAMPLES / "real" / "h2-httpx-idle.pcap")
    app = KatuiApp(h2, keylog=KeyLog.read(h2[:-5] + ".keys"))
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        rows = "\n".join(ladder_texts(app))
        assert "HEADERS s=1 GET /httpx-0" in rows and "HEADERS s=3 200" in rows
        assert "SETTINGS" in rows and "GOAWAY last=3" in rows
        assert "✖ PROBLEM stale reuse: request 3" in rows and "HEADERS s=5 GET /httpx-2" in rows
        detail = app.main.query_one("#detail").text
        assert "HTTP/2 · 3 streams" in detail and "GOAWAY server last=3" in detail


async def test_hostile_http2_headers_stay_inert(tmp_path):
    """h2c whose :path, :authority and server header carry terminal escapes and Rich markup: the
    reports and the ladder show them escaped, never as control sequences or markup."""
    from hpack import Encoder

    from katui.analysis.pipeline import analyze
    from katui.http2 import PREFACE
    from katui.report import jsonout, markdown, text

    def frame(ftype: int, flags: int, stream: int, payload: bytes) -> bytes:
        return len(payload).to_bytes(3, "big") + bytes((ftype, flags)) + stream.to_bytes(4, "big") + payload

    evil = "\x1b]0;pwn\x07[bold red]x[/]\x9b\u202e"
    req = Encoder().encode([(":method", "GET"), (":path", "/" + evil), (":authority", evil)])
    resp = Encoder().encode([(":status", "200"), ("server", evil)])
    path = tiny_capture(tmp_path / "evil-h2c.pcap", PREFACE + frame(4, 0, 0, b"") + frame(1, 5, 1, req),
                        frame(4, 0, 0, b"") + frame(1, 5, 1, resp))  # fmt: skip
    a = analyze(str(path))
    c = a.connections[0]
    assert c.http2 is not None and c.http2.cleartext and c.exchanges[0].request.uri == "/" + evil
    for out in (text.render(a), markdown.render(a), jsonout.render(a)):
        assert "\x1b" not in out and "\x07" not in out and "\x9b" not in out and "\u202e" not in out
    app = KatuiApp(str(path))
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(app, pilot)
        rows = "\n".join(ladder_texts(app))
        assert "HEADERS s=1 GET /" in rows and "\x1b" not in rows and "\u202e" not in rows


async def test_hostile_sni_and_alpn_never_reach_the_screen_raw(tmp_path):
    """A ClientHello whose SNI and single ALPN name, and a ServerHello whose chosen ALPN, are
    terminal controls: every screen (list, ladder, detail, findings, requests, help, follow
    view) shows them escaped. The ALPN reached the list and the detail pane raw before
    payload.protocol escaped it."""
    from hostile_pcap import conversation, pcap, write
    from tls_helpers import client_hello, record, server_hello

    evil = "\x1b]0;pwn\x07\x1b[31mRED\u202e"
    hello = record(22, client_hello(sni="a" + evil + ".example", alpn=(evil,)))
    path = write(tmp_path, "evil.pcap", pcap(conversation(hello, record(22, server_hello(alpn=evil)))))
    app = KatuiApp(path)
    async with app.run_test(size=(160, 50)) as pilot:
        await settle(app, pilot)
        shown = 0
        for keys in (
            (),
            ("tab",),
            ("j",),
            ("f",),
            ("escape", "r"),
            ("escape", "question_mark"),
            ("escape",),
            ("enter",),
        ):
            await pilot.press(*keys)
            await pilot.pause()
            screen = app.export_screenshot()
            shown += "RED" in screen
            for raw in ("\x1b", "\x07", "\x9b", "\u202e"):
                assert raw not in screen, (keys, repr(raw))
        assert shown  # the names were on screen, escaped


def test_the_detail_of_a_failed_handshake_does_not_promise_decryption():
    """tls12-refused: the detail pane of a handshake that failed says so (the tls line) and not
    that its requests were inferred from encrypted records a key log would decrypt: it had none;
    the connection that carried a request still says it."""
    a = analyze(str(SAMPLES / "real" / "tls-tls12-refused.pcap"))
    failed, _, used = (connection_text(a, c).plain for c in a.connections)
    assert "handshake failed: server alert protocol_version (frame 6)" in failed
    assert "payload: TLS without keys" not in failed and "[✖ tls-failed]" in failed
    assert "payload: TLS without keys; requests and responses inferred" in used
