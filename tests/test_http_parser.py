"""HTTP/1.x framing on byte streams: every message shape, and splits that must not matter."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from katui import http2, tls
from katui.http.head import METHODS, looks_like_request, looks_like_response
from katui.http.owner import Collector
from katui.http.parser import HttpHalf
from katui.model import MessageStore
from katui.textsafe import safe_text


def run(data: bytes, is_request: bool, methods=(), cuts=()) -> list:
    """Feed ``data`` split at ``cuts``; return the messages (frame = piece index + 1)."""
    out = []
    pending = list(methods)

    def on(msg):
        if not is_request and pending and not (100 <= msg.status < 200 and msg.status != 101):
            pending.pop(0)
        out.append(msg)

    p = HttpHalf(
        is_request,
        Collector(on, (lambda status, ts: pending[0] if pending else "") if not is_request else None),
    )
    bounds = [0, *sorted(set(c for c in cuts if 0 < c < len(data))), len(data)]
    for i in range(len(bounds) - 1):
        p.feed(data, bounds[i], bounds[i + 1], i + 1, i * 1000)
    p.close(len(bounds), 10**9)
    return out


def test_content_length_and_several_messages_in_one_buffer():
    data = (
        b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello"
        b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    )
    m = run(data, False, ["GET", "GET"])
    assert [(x.status, x.body_bytes, x.connection) for x in m] == [(200, 5, None), (404, 0, "close")]


def test_chunked_with_extensions_and_trailers():
    data = (
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"4;ext=1\r\nWiki\r\n5\r\npedia\r\n0\r\nX-Trailer: y\r\n\r\n"
        b"HTTP/1.1 204 No Content\r\n\r\n"
    )
    m = run(data, False, ["GET", "GET"])
    assert [(x.status, x.chunked, x.body_bytes, x.complete) for x in m] == [
        (200, True, 9, True),
        (204, False, 0, True),
    ]


def test_head_204_304_have_no_body():
    data = (
        b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n"
        b"HTTP/1.1 304 Not Modified\r\nContent-Length: 10\r\n\r\n"
        b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
    )
    m = run(data, False, ["HEAD", "GET", "GET"])
    assert [(x.status, x.body_bytes) for x in m] == [(200, 0), (304, 0), (200, 2)]


def test_100_continue_then_final_response():
    data = b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n"
    m = run(data, False, ["POST"])
    assert [x.status for x in m] == [100, 201]


def test_101_switching_protocols_stops_parsing():
    data = (
        b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n\x81\x05hello HTTP/1.1 200 OK\r\n\r\n"
    )
    p_out = run(data, False, ["GET"])
    assert [x.status for x in p_out] == [101]


def test_body_until_close():
    data = b"HTTP/1.0 200 OK\r\n\r\n" + b"x" * 5000
    (m,) = run(data, False, ["GET"], cuts=[100, 2000])
    assert m.body_bytes == 5000 and m.frame == 4 and m.complete


def test_head_ends_at_its_first_empty_line_however_it_was_cut():
    # Found by fuzz/fuzz_http.py: a bare-LF blank line followed later by a CRLF one. In one
    # segment the head was read up to the CRLF CRLF (Content-Length 3); cut in two, up to the
    # LF LF (no length: body until close). The head ends at the first empty line, either way.
    data = b"HTTP/1.1 200 OK\nServer: x\n\nContent-Length: 3\r\n\r\nabc"
    for cuts in ((), (20,), (30,), (5, 25, 40)):
        m = run(data, False, ["GET"], cuts)
        assert [(x.content_length, x.software, x.body_bytes, x.complete) for x in m] == [
            (None, "x", len(data) - 27, True)
        ], cuts


def test_request_with_body_completes_at_last_piece():
    body = b"a=1&b=2"
    data = b"POST /f HTTP/1.1\r\nContent-Length: 7\r\nHost: h\r\n\r\n" + body
    (m,) = run(data, True, cuts=[10, len(data) - 3])
    assert (m.method, m.uri, m.host, m.first_frame, m.frame, m.body_bytes) == ("POST", "/f", "h", 1, 3, 7)


def test_gap_inside_body_marks_message_incomplete():
    out = []
    p = HttpHalf(False, Collector(out.append, lambda s, t: "GET"))
    head = b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n"
    p.feed(head + b"abc", 0, len(head) + 3, 1, 0)
    p.gap(4, 2, 1)
    p.feed(b"xyz", 0, 3, 3, 2)
    assert [(m.frame, m.complete, m.body_bytes) for m in out] == [(3, False, 10)]


def test_head_over_limit_stops_cleanly():
    out = []
    p = HttpHalf(True, Collector(out.append))
    junk = b"GET / HTTP/1.1\r\n" + b"X: " + b"a" * 70000
    p.feed(junk, 0, len(junk), 1, 0)
    assert p.error and "64 KiB" in p.error and out == []


def test_huge_chunk_size_does_not_allocate():
    data = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1000000000000000\r\n" + b"z" * 100
    (m,) = run(data, False, ["GET"])
    assert m.complete is False and m.body_bytes == 100


RESPONSES = st.lists(
    st.sampled_from(
        [
            b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabc",
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
            b"HTTP/1.1 204 No Content\r\n\r\n",
            b"HTTP/1.1 302 Found\r\nLocation: /x\r\nContent-Length: 0\r\n\r\n",
        ]
    ),
    min_size=1,
    max_size=6,
)


@settings(max_examples=150, deadline=None)
@given(RESPONSES, st.lists(st.integers(min_value=1, max_value=400), max_size=12))
def test_any_segmentation_gives_the_same_messages(msgs, cuts):
    data = b"".join(msgs)
    whole = run(data, False, ["GET"] * len(msgs))
    split = run(data, False, ["GET"] * len(msgs), cuts=cuts)
    key = [(m.status, m.body_bytes, m.chunked, m.complete) for m in whole]
    assert [(m.status, m.body_bytes, m.chunked, m.complete) for m in split] == key
    assert len(whole) == len(msgs)


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=600), st.booleans())
def test_arbitrary_bytes_never_raise(data, is_request):
    run(data, is_request, ["GET"] * 5, cuts=[7, 50, 200])


def test_request_target_with_spaces_and_markup_is_kept_whole():
    (m,) = run(b"GET /[bold red]x[/] y HTTP/1.1\r\nHost: a\r\n\r\n", True)
    assert (m.method, m.uri, m.version) == ("GET", "/[bold red]x[/] y", "HTTP/1.1")


def test_targets_decode_as_utf8_keeping_the_bytes_that_are_not():
    (m,) = run("GET /\u202eabc HTTP/1.1\r\n\r\n".encode(), True)
    assert m.uri == "/\u202eabc"
    (m,) = run(b"GET /\xff\xfe\xc3\xa9 HTTP/1.1\r\n\r\n", True)  # was Latin-1 whole: "/ÿþÃ©"
    assert m.uri == "/\udcff\udcfeé" and safe_text(m.uri) == "/\\xff\\xfeé"


def test_message_store_rows_are_views():
    """Messages live in a column store; an HttpMessage reads its row on access."""
    from katui.model import Head, MessageStore

    store = MessageStore()
    i = store.add(
        True, 7, 1_000, Head("HTTP/1.1", "GET", "/a", 0, "", "keep-alive", None, None, False, "h"), 40
    )
    j = store.add(False, 9, 2_000, Head("HTTP/1.0", "", "", 200, "OK", None, "timeout=5", 12, True, ""), 70)
    assert (i, j, len(store), store.view(-1)) == (0, 1, 2, None)
    req, resp = store.view(i), store.view(j)
    assert (req.frame, req.end_ns, req.complete) == (None, None, False)
    store.end(req.index, 8, 1_500, 0, True)
    store.abandon(resp.index, 5)
    assert (req.first_frame, req.frame, req.start_ns, req.end_ns, req.complete) == (7, 8, 1_000, 1_500, True)
    assert (req.is_request, req.label, req.host, req.head_bytes, req.content_length) == (
        True,
        "GET /a",
        "h",
        40,
        None,
    )
    assert (resp.is_request, resp.label, resp.chunked, resp.content_length, resp.body_bytes) == (
        False,
        "200 OK",
        True,
        12,
        5,
    )
    assert (resp.frame, resp.complete, resp.keep_alive, resp.wants_close) == (None, False, "timeout=5", True)


def test_message_store_shares_head_strings_up_to_a_bound(monkeypatch):
    """Rows with the same version/method/reason/headers share one tuple; past the bound (a
    hostile capture making every combination unique) rows keep their own, and stay correct."""
    import katui.model.store as model

    monkeypatch.setattr(model, "MAX_SHARED_HEADS", 3)
    store = model.MessageStore()
    rows = [
        store.add(
            True,
            n,
            n,
            model.Head("HTTP/1.1", "GET", f"/{n}", 0, "", None, None, None, False, f"h{n % 5}"),
            10,
        )
        for n in range(20)
    ]
    views = [store.view(i) for i in rows]
    assert [v.host for v in views] == [f"h{n % 5}" for n in range(20)]
    assert [v.uri for v in views] == [f"/{n}" for n in range(20)]
    assert store.text(rows[0]) is store.text(rows[5]) is store.text(rows[15])  # h0: shared
    assert store.text(rows[4]) is not store.text(rows[9])  # h4 came after the bound
    assert len(store._shared) == 3


def test_content_length_beyond_64_bits_is_clamped_not_fatal():
    """Found in review: a Content-Length over 2**63 overflowed the store's 64-bit column and
    stopped the whole analysis at that frame. It now reads as 'the rest of the stream'."""
    data = b"HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999999\r\n\r\nabc"
    (m,) = run(data, False, ["GET"])
    assert (m.status, m.content_length, m.body_bytes, m.complete) == (200, 1 << 62, 3, False)
    (r,) = run(b"POST / HTTP/1.1\r\nContent-Length: 1" + b"0" * 40 + b"\r\n\r\nxy", True)
    assert (r.method, r.content_length, r.body_bytes) == ("POST", 1 << 62, 2)


@settings(max_examples=300, deadline=None)
@given(
    start=st.sampled_from([m + b" " for m in METHODS] + [b"HTTP/1."]),
    rest=st.binary(max_size=40),
    midstream=st.booleans(),
)
def test_no_other_protocol_claims_bytes_that_begin_like_http(start, rest, midstream):
    """HttpConversation recognises HTTP before it asks the other protocols' sniffers (TLS,
    HTTP/2): the same connections must come out, so neither may claim a request or status line
    (a TLS record starts with a byte 20-23, HTTP/2 with its ``PRI *`` preface or a SETTINGS
    frame's zero length byte)."""
    head = (start + rest)[:32]  # what _sniff hands over: a segment's first 32 bytes
    assert looks_like_request(head) or looks_like_response(head)
    store = MessageStore()
    assert tls.sniff(store, None, None, head, midstream) is None
    assert http2.sniff(store, head, midstream) is None
