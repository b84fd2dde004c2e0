"""The viewer on TLS captures, with and without a key log: nothing breaks, inferred exchanges
and TLS records are labelled in the ladder, the detail pane shows the frames."""

from __future__ import annotations

from ui_helpers import SAMPLES, ladder_texts, settle

from katui.tls.keylog import KeyLog
from katui.ui.app import KatuiApp

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
