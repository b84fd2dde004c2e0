"""The HTTP/2 frame reader and conversation on hand-made and hostile input: every case ends in a
clear state (exchanges read so far, or a note saying why the rest is unknown), never an
exception. Valid header blocks are encoded with hpack's own Encoder."""

from __future__ import annotations

import struct

from hpack import Encoder
from hypothesis import given, settings
from hypothesis import strategies as st

from katui.http2 import PREFACE, sniff
from katui.http2.conversation import MAX_CONTINUATIONS, H2Conversation
from katui.http2.frames import (
    CONTINUATION,
    DATA,
    END_HEADERS,
    END_STREAM,
    GOAWAY,
    HEADERS,
    PADDED,
    PING,
    PUSH_PROMISE,
    RST_STREAM,
    SETTINGS,
    FrameReader,
)
from katui.model import MessageStore
from tests.h2_synth import frame


def request(enc: Encoder, stream: int, path: str, end: bool = True) -> bytes:
    block = enc.encode([(":method", "GET"), (":path", path), (":scheme", "https"), (":authority", "x")])
    return frame(HEADERS, END_HEADERS | (END_STREAM if end else 0), stream, block)


def response(enc: Encoder, stream: int, status: int = 200, body: bytes = b"ok") -> bytes:
    block = enc.encode([(":status", str(status)), ("server", "nginx/1.22.1")])
    return frame(HEADERS, END_HEADERS, stream, block) + frame(DATA, END_STREAM, stream, body)


def conversation(client: bytes, server: bytes, chunk: int | None = None) -> H2Conversation:
    """Feed the client's then the server's bytes (in ``chunk``-byte pieces, one frame number
    per piece) to a fresh conversation, oriented with the client as direction 0."""
    conv = H2Conversation(MessageStore())
    for d, data in ((0, client), (1, server)):
        step = chunk or max(1, len(data))
        for i in range(0, len(data), step):
            piece = data[i : i + step]
            conv.data(d, piece, 0, len(piece), 1 + i, 1000 + i)
    conv.oriented(0)
    return conv


def test_streams_become_exchanges_with_frames_sizes_and_control_frames():
    ce, se = Encoder(), Encoder()
    client = PREFACE + frame(SETTINGS, 0, 0, struct.pack(">HI", 3, 100)) + request(ce, 1, "/a")
    client += (
        request(ce, 3, "/b") + frame(PING, 0, 0, bytes(8)) + frame(RST_STREAM, 0, 5, struct.pack(">I", 8))
    )
    server = frame(SETTINGS, 0, 0) + response(se, 1, 200, b"hello") + response(se, 3, 404, b"")
    server += frame(GOAWAY, 0, 0, struct.pack(">II", 3, 0))
    conv = conversation(client, server)
    assert conv.recognised and conv.error is None
    got = [(e.stream_id, e.request.method, e.request.uri, e.response.status, e.response.body_bytes)
           for e in conv.exchanges]  # fmt: skip
    assert got == [(1, "GET", "/a", 200, 5), (3, "GET", "/b", 404, 0)]
    assert all(e.request.complete and e.response.complete for e in conv.exchanges)
    assert conv.exchanges[1].concurrent  # stream 1 was still unanswered when 3 was sent
    f = conv.facts
    assert f.settings == [1, 1] and f.values[0] == {"max_concurrent_streams": 100} and f.pings == [1, 0]
    assert f.goaways[0][0] == 1 and f.goaways[0][3:] == (3, 0)
    assert f.rsts == [(0, f.rsts[0][1], 5, 8)]


def test_byte_by_byte_reading_gives_the_same_exchanges():
    ce, se = Encoder(), Encoder()
    client = PREFACE + request(ce, 1, "/a") + request(ce, 3, "/b")
    server = response(se, 1) + response(se, 3)
    whole = conversation(client, server)
    ce, se = Encoder(), Encoder()
    client = PREFACE + request(ce, 1, "/a") + request(ce, 3, "/b")
    server = response(se, 1) + response(se, 3)
    bytewise = conversation(client, server, chunk=1)
    assert [e.request.uri for e in bytewise.exchanges] == [e.request.uri for e in whole.exchanges]
    assert [e.response.body_bytes for e in bytewise.exchanges] == [2, 2]


def test_truncated_frame_leaves_the_message_incomplete():
    ce = Encoder()
    client = PREFACE + request(ce, 1, "/a", end=False) + frame(DATA, END_STREAM, 1, b"body")[:-2]
    conv = conversation(client, b"")
    assert [e.request.uri for e in conv.exchanges] == ["/a"]
    assert not conv.exchanges[0].request.complete and conv.error is None


def test_huge_header_block_is_not_buffered_and_marks_the_rest_unknown():
    conv = conversation(PREFACE + frame(HEADERS, END_HEADERS, 1, b"", length=0xFFFFFF), b"")
    assert conv.exchanges == [] and conv.error is None  # still reading its 16 MiB payload
    r = FrameReader()
    assert (
        r.feed(frame(HEADERS, END_HEADERS, 1, b"", length=0xFFFFFF) + bytes(0xFFFFFF), 1, 1)[0].payload
        is None
    )
    conv = conversation(PREFACE + frame(HEADERS, END_HEADERS, 1, bytes(70000)), b"")
    assert conv.exchanges == [] and "too large" in conv.error


def test_bad_padding_is_reported_not_raised():
    ce = Encoder()
    block = ce.encode([(":method", "GET"), (":path", "/")])
    padded = bytes((200,)) + block  # a pad length longer than the frame
    conv = conversation(PREFACE + frame(HEADERS, END_HEADERS | PADDED | END_STREAM, 1, padded), b"")
    assert conv.exchanges == [] and "padding" in conv.error
    ce = Encoder()
    bad_data = frame(DATA, PADDED | END_STREAM, 1, bytes((9,)) + b"abc")
    conv = conversation(PREFACE + request(ce, 1, "/", end=False) + bad_data, b"")
    assert "padding" in conv.error and not conv.exchanges[0].request.complete


def test_continuation_flood_stops_at_a_bound():
    ce = Encoder()
    block = ce.encode([(":method", "GET"), (":path", "/")])
    flood = frame(HEADERS, 0, 1, block) + frame(CONTINUATION, 0, 1) * (MAX_CONTINUATIONS + 5)
    conv = conversation(PREFACE + flood + request(ce, 3, "/later"), b"")
    assert conv.exchanges == [] and "HPACK state lost" in conv.error


def test_continuation_joins_a_header_block():
    ce = Encoder()
    block = ce.encode([(":method", "POST"), (":path", "/split"), (":authority", "h")])
    wire = frame(HEADERS, END_STREAM, 1, block[:3]) + frame(CONTINUATION, END_HEADERS, 1, block[3:])
    conv = conversation(PREFACE + wire, b"")
    assert [(e.request.method, e.request.uri, e.request.host) for e in conv.exchanges] == [
        ("POST", "/split", "h")
    ]


def test_hpack_garbage_marks_the_connection_unknown_and_stops_reading_headers():
    ce = Encoder()
    garbage = frame(HEADERS, END_HEADERS | END_STREAM, 1, b"\xff\xff\xff\xff\xff\x7f")
    conv = conversation(PREFACE + garbage + request(ce, 3, "/after"), b"")
    assert conv.exchanges == [] and "HPACK" in conv.error


def test_oversized_header_list_is_an_hpack_failure():
    ce = Encoder()
    big = [(":method", "GET"), (":path", "/")] + [(f"x-{i}", "v" * 1000) for i in range(70)]
    block = ce.encode(big)
    conv = conversation(PREFACE + frame(HEADERS, END_HEADERS | END_STREAM, 1, block), b"")
    assert conv.exchanges == [] and conv.error is not None


def test_capture_bytes_in_headers_are_kept_as_text_not_interpreted():
    ce = Encoder()
    block = ce.encode([(":method", "GET"), (":path", "/\x1b[31m[bold]x")])
    conv = conversation(PREFACE + frame(HEADERS, END_HEADERS | END_STREAM, 1, block), b"")
    assert conv.exchanges[0].request.uri == "/\x1b[31m[bold]x"  # escaped by textsafe when shown


def test_a_broken_preface_is_not_http2():
    conv = conversation(b"PRI * HTTP/2.0\r\n\r\nXX\r\n\r\n" + bytes(20), b"")
    assert not conv.recognised and conv.exchanges == []
    assert sniff(MessageStore(), b"PRI * HTTP/2.0\r\n", False) is not None
    assert sniff(MessageStore(), b"GET / HTTP/1.1\r\n", False) is None


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=400), st.binary(max_size=400), st.integers(1, 50))
def test_random_frames_never_raise(client, server, chunk):
    conv = conversation(PREFACE + client, server, chunk)
    for e in conv.exchanges:
        assert e.request is None or isinstance(e.request.uri, str)
    assert conv.error is None or isinstance(conv.error, str)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 12), st.integers(0, 255), st.integers(0, 9), st.binary(max_size=40)),
                max_size=30))  # fmt: skip
def test_random_well_framed_frames_never_raise(frames):
    wire = b"".join(frame(t, fl, s, p) for t, fl, s, p in frames)
    conv = conversation(PREFACE + wire, wire)
    assert len(conv.exchanges) <= len(frames)


def test_nginx_http2_setting_names_follow_its_version():
    from katui.analysis.software import nginx_http2_settings

    assert nginx_http2_settings("nginx/1.22.1") == ("keepalive_timeout", "keepalive_requests")
    assert nginx_http2_settings("nginx/1.19.7")[0] == "keepalive_timeout"
    assert nginx_http2_settings("nginx/1.18.0") == ("http2_idle_timeout", "http2_max_requests")
    assert "before 1.19.7" in nginx_http2_settings("nginx")[0]  # server_tokens off: both names


def test_push_promise_keeps_the_hpack_table_in_step_and_is_not_a_request():
    """The server's encoder indexes the pushed request's headers; its later response refers to
    that table, so the PUSH_PROMISE block must be decoded even though it is not a request."""
    ce, se = Encoder(), Encoder()
    promised = se.encode([(":method", "GET"), (":path", "/style.css"), ("x-pushed", "yes" * 10)])
    push = frame(PUSH_PROMISE, END_HEADERS, 1, struct.pack(">I", 2) + promised)
    pushed = response(se, 2, 200, b"css")
    final = se.encode([(":status", "200"), ("x-pushed", "yes" * 10)])  # indexed from the table
    server = push + pushed + frame(HEADERS, END_HEADERS | END_STREAM, 1, final)
    conv = conversation(PREFACE + request(ce, 1, "/index.html"), server)
    assert conv.error is None and conv.facts.pushes == 1
    assert [(e.stream_id, e.request.uri, e.response.status) for e in conv.exchanges] == [
        (1, "/index.html", 200)
    ]
    assert Encoder().encode([("x-pushed", "yes" * 10)]) not in final  # it really was indexed


def test_h2c_server_speaking_first_is_still_read():
    """An h2c server may send its SETTINGS before the client's preface arrives."""
    ce, se = Encoder(), Encoder()
    settings_frame = frame(SETTINGS, 0, 0, struct.pack(">HI", 3, 128))
    assert sniff(MessageStore(), settings_frame[:16], False) is not None
    assert sniff(MessageStore(), settings_frame[:16], True) is None  # mid-stream: no guess
    assert sniff(MessageStore(), b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc", False) is None  # TLS
    conv = H2Conversation(MessageStore(), cleartext=True)
    server = settings_frame + response(se, 1)
    client = PREFACE + request(ce, 1, "/late-preface")
    conv.data(1, server[:15], 0, 15, 1, 1)
    conv.data(0, client, 0, len(client), 2, 2)
    conv.data(1, server[15:], 0, len(server) - 15, 3, 3)
    conv.oriented(0)
    assert [(e.request.uri, e.response.status) for e in conv.exchanges] == [("/late-preface", 200)]
    assert conv.facts.settings == [0, 1]
