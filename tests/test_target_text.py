"""A request target that is not valid UTF-8 reads the same everywhere: the reports, the ladder,
the request list and the detail pane all read it with katui.textsafe.capture_text (UTF-8 where
valid, a stray byte shown as \\xNN), and the JSON report writes such a byte as U+FFFD."""

from __future__ import annotations

import json

from ui_helpers import ladder_texts, settle, tiny_capture

from katui.analysis.pipeline import analyze
from katui.http.head import MAX_URI, target_text
from katui.report import jsonout, markdown, text
from katui.textsafe import capture_text, safe_text
from katui.ui.app import KatuiApp
from katui.ui.detail import frame_text

URI = b"/caf\xc3\xa9/\xff\x1b[2J\xe2\x80\xae/\\udc9b"
SHOWN = "/café/\\xff\\x1b[2J\\u202e/\\\\udc9b"
"""As every view shows it: é is UTF-8, 0xff is no UTF-8, ESC and the bidi override escaped, and
a literal backslash doubled (so the text after it can never pass for an escape)."""


def test_a_target_is_utf8_where_valid_and_keeps_a_stray_byte():
    assert target_text(b"/caf\xc3\xa9") == "/café"
    got = target_text(URI)
    assert got == capture_text(URI) and got.encode("utf-8", "surrogateescape") == URI
    assert safe_text(got) == SHOWN  # not Latin-1: "/cafÃ©/ÿ…"
    cut = target_text(b"/" + "é".encode() * MAX_URI)  # cut inside a character at 2 KiB
    assert cut[:-1] == "/" + "é" * ((MAX_URI - 1) // 2) and safe_text(cut[-1]) == "\\xc3"


def test_reports_and_the_tui_show_the_same_target(tmp_path):
    path = str(tiny_capture(tmp_path / "t.pcap", b"GET " + URI + b" HTTP/1.1\r\nHost: x\r\n\r\n",
                            b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"))  # fmt: skip
    a = analyze(path)
    assert f"GET {SHOWN}" in text.render(a)
    assert f"GET {SHOWN}" in markdown.render(a)  # the ladder, in a code block
    assert f"GET {SHOWN}" in frame_text(a, a.connections[0], 4).plain  # the head's bytes
    doc = jsonout.render(a)
    assert "\\udc" not in doc.replace("\\\\udc9b", "")  # no lone surrogate for strict parsers
    assert json.loads(doc)["connections"][0]["requests"][0]["uri"] == "/café/\ufffd\x1b[2J\u202e/\\udc9b"


def test_a_target_past_the_shared_ones_reads_the_same(tmp_path, monkeypatch):
    """Past the URIs the store shares (a crawler's), a target is kept as its UTF-8 in one bytes
    column, lone surrogates too: the reports read it back as the same text, and the JSON
    report still finds the stray byte to write as U+FFFD."""
    import katui.model.store as store_module

    monkeypatch.setattr(store_module, "MAX_SHARED_URIS", 1)  # only '' is shared
    path = str(tiny_capture(tmp_path / "t.pcap", b"GET " + URI + b" HTTP/1.1\r\nHost: x\r\n\r\n",
                            b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"))  # fmt: skip
    a = analyze(path)
    store = a.connections[0].exchanges[0].store
    assert store.uri_table == [""] and store.blob_uris() == [capture_text(URI)]
    assert f"GET {SHOWN}" in text.render(a)
    assert f"GET {SHOWN}" in markdown.render(a)
    doc = jsonout.render(a)
    assert "\\udc" not in doc.replace("\\\\udc9b", "")
    assert json.loads(doc)["connections"][0]["requests"][0]["uri"] == "/café/\ufffd\x1b[2J\u202e/\\udc9b"


async def test_the_ladder_and_the_request_list_show_the_target_as_the_detail_pane(tmp_path):
    path = str(tiny_capture(tmp_path / "t.pcap", b"GET " + URI + b" HTTP/1.1\r\nHost: x\r\n\r\n",
                            b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"))  # fmt: skip
    app = KatuiApp(path)
    async with app.run_test(size=(120, 30)) as pilot:
        await settle(app, pilot)
        assert any(row.endswith(f"GET {SHOWN}") for row in ladder_texts(app))
        await pilot.press("r")
        await pilot.pause()
        await pilot.pause()
        assert str(app.screen.query_one("#requests-uri").render()).startswith(f"GET {SHOWN}")


def test_a_scanned_head_reads_its_target_as_target_text():
    from katui.http.head import scan_head

    for uri in (URI, b"/" + "é".encode() * MAX_URI, b"/a b\xff c"):
        assert scan_head(b"GET " + uri + b" HTTP/1.1\r\nHost: x\r\n\r\n", True)[3] == target_text(uri)


HEADERS_REQ = (b"GET /x HTTP/1.1\r\nHost: caf\xc3\xa9.example\xff\r\n"
               b"User-Agent: \xc3\x9cber/1.0 \xfe\x1b[31m\r\n\r\n")  # fmt: skip
HEADERS_RESP = (b"HTTP/1.1 200 \xc3\x9cK\x9b\r\nServer: Caf\xc3\xa9\x9b/1\r\nConnection: close\r\n"
                b"Content-Length: 2\r\n\r\nok")  # fmt: skip


def test_header_values_read_as_targets_do(tmp_path):
    """Host, User-Agent, Server and the reason phrase are read as a target is (UTF-8 where
    valid, a stray byte shown \\xNN): read as Latin-1 they showed 'cafÃ©' where an HTTP/2
    :authority, a URI and the detail pane's head bytes said 'café'."""
    from katui.http2.headers import request_head

    a = analyze(str(tiny_capture(tmp_path / "h.pcap", HEADERS_REQ, HEADERS_RESP)))
    (ex,) = a.connections[0].exchanges
    req, resp = ex.request, ex.response
    assert req.host == capture_text(b"caf\xc3\xa9.example\xff") == "café.example\udcff"
    assert req.software == capture_text(b"\xc3\x9cber/1.0 \xfe\x1b[31m")
    assert resp.reason == "ÜK\udc9b" and resp.software == "Café\udc9b/1"
    # the same name over HTTP/2 reads the same
    h2 = request_head({b":authority": HEADERS_REQ.split(b"Host: ")[1].split(b"\r\n")[0],
                       b"user-agent": HEADERS_REQ.split(b"User-Agent: ")[1].split(b"\r\n")[0]})  # fmt: skip
    assert h2.host == req.host and h2.software == req.software
    assert "200 ÜK\\x9b" in text.render(a) and "200 ÜK\\x9b" in markdown.render(a)
    doc = jsonout.render(a)
    assert "\\udc" not in doc  # strict JSON: each stray byte U+FFFD
    row = json.loads(doc)["connections"][0]["requests"][0]
    assert row["host"] == "café.example\ufffd" and row["reason"] == "ÜK\ufffd"


def test_header_values_are_matched_as_ascii(tmp_path):
    """Decoded as UTF-8, a hostile value's non-ASCII look-alikes must not pass for protocol
    words: Arabic-Indic digits are no Keep-Alive timeout (the regex and float() took them as
    50), and the Kelvin sign is no 'K' (str.lower made 'Kestrel' of it)."""
    from katui.analysis.software import server_software
    from katui.analysis.timeout import _advertised

    resp = (b"HTTP/1.1 200 OK\r\nServer: \xe2\x84\xaaestrel\r\nKeep-Alive: timeout=\xd9\xa5\xd9\xa0\r\n"
            b"Content-Length: 2\r\n\r\nok")  # fmt: skip
    a = analyze(str(tiny_capture(tmp_path / "k.pcap", b"GET / HTTP/1.1\r\nHost: x\r\n\r\n", resp)))
    (ex,) = a.connections[0].exchanges
    assert ex.response.keep_alive == "timeout=\u0665\u0660"
    assert _advertised(a.connections) is None  # (timeout=50 read it as 50.0)
    assert "timeout=50" not in text.render(a) and "advertises" not in text.render(a)
    sw = server_software(a.connections)
    assert sw is None or "Kestrel" not in sw.name
