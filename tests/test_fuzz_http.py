"""HTTP/1.x framing: any split of a stream gives the same messages; no input makes it raise."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from katui.http.owner import Collector
from katui.http.parser import HttpHalf

REQUESTS = (
    b"GET /a HTTP/1.1\r\nHost: x\r\n\r\n"
    b"POST /b HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello"
    b"\r\nPUT /c HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3;x=y\r\nabc\r\n0\r\nT: 1\r\n\r\n"
    b"GET /d HTTP/1.0\nConnection: keep-alive\n\n"
)
RESPONSES = (
    b"HTTP/1.1 100 Continue\r\n\r\n"
    b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabc"
    b"HTTP/1.1 204 No Content\r\n\r\n"
    b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n"
    b"HTTP/1.0 200 OK\r\n\r\nuntil close"
)
FIELDS = ("method", "uri", "status", "version", "body_bytes", "chunked", "complete", "content_length")


def _parse(data: bytes, cuts: list[int], is_request: bool) -> list[tuple]:
    msgs: list = []
    p = HttpHalf(is_request, Collector(msgs.append, None if is_request else (lambda *_: "GET")))
    bounds = sorted({0, len(data), *(c % (len(data) + 1) for c in cuts)})
    for i, (a, b) in enumerate(zip(bounds, bounds[1:], strict=False)):
        p.feed(data, a, b, i + 1, i)
    p.close(len(bounds), len(bounds))
    return [tuple(getattr(m, f) for f in FIELDS) for m in msgs]


@settings(max_examples=150, deadline=None)
@given(cuts=st.lists(st.integers(min_value=0, max_value=10_000), max_size=40))
def test_request_splits_do_not_matter(cuts):
    whole = _parse(REQUESTS, [], True)
    assert [m[1] for m in whole] == ["/a", "/b", "/c", "/d"]
    assert _parse(REQUESTS, cuts, True) == whole


@settings(max_examples=150, deadline=None)
@given(cuts=st.lists(st.integers(min_value=0, max_value=10_000), max_size=40))
def test_response_splits_do_not_matter(cuts):
    whole = _parse(RESPONSES, [], False)
    assert [m[2] for m in whole] == [100, 200, 204, 200, 200]
    assert _parse(RESPONSES, cuts, False) == whole


_TOKENS = st.sampled_from(
    [
        b"GET ",
        b"HTTP/1.1",
        b" 200 ",
        b"\r\n",
        b"\n",
        b"\r\n\r\n",
        b"Content-Length: ",
        b"-1",
        b"99999999999999999999",
        b"Transfer-Encoding: chunked",
        b"ffffffffffffffff",
        b"0x10",
        b";",
        b":",
        b" ",
        b"\x00",
        b"\x1b[2J",
        b"\xff",
        b"1_0",
        b"+5",
        b"CONNECT ",
        b"HTTP/1.1 101 ",
    ]
)


@settings(max_examples=300, deadline=None)
@given(
    parts=st.lists(st.one_of(_TOKENS, st.binary(max_size=64)), max_size=60),
    gaps=st.lists(st.integers(min_value=0, max_value=1 << 40), max_size=3),
    is_request=st.booleans(),
    resync=st.booleans(),
)
def test_arbitrary_bytes_never_raise(parts, gaps, is_request, resync):
    msgs: list = []
    p = HttpHalf(
        is_request, Collector(msgs.append, None if is_request else (lambda *_: "HEAD")), resync=resync
    )
    data = b"".join(parts)
    half = len(data) // 2
    p.feed(data, 0, half, 1, 1)
    for g in gaps:
        p.gap(g, 2, 2)
    p.feed(data, half, len(data), 3, 3)
    p.close(4, 4)
    assert len(p.head) <= 64 * 1024 + 4
    for m in msgs:
        assert m.body_bytes >= 0


_ENDINGS = st.sampled_from([b"\r\n", b"\n", b"\r", b"\r\r\n", b"\n\r", b"\r\n\r", b"\n\r\n"])


@settings(max_examples=300, deadline=None)
@given(
    lines=st.lists(
        st.tuples(st.sampled_from([b"Content-Length: 3", b"Server: x", b"X: y", b""]), _ENDINGS), max_size=8
    ),
    filler=st.sampled_from([0, 1500, 2100, 70_000]),
    is_request=st.booleans(),
)
def test_head_end_is_the_same_in_one_piece_or_byte_by_byte(lines, filler, is_request):
    """A head in one piece is searched in one pass over its first bytes (compiled: in C), a
    head cut into pieces in the carried bytes: either way it ends at its first empty line,
    whatever mix of CR and LF ends its lines, short or longer than the first look."""
    start = b"GET /a HTTP/1.1\r\n" if is_request else b"HTTP/1.1 200 OK\r\n"
    data = start + b"F: " + b"f" * filler + b"\r\n" + b"".join(n + e for n, e in lines) + b"\r\n\r\nabc"
    whole = _parse(data, [], is_request)
    assert whole or filler > 64 * 1024  # only a head past the 64 KiB cap gives no message
    assert _parse(data, list(range(1, min(len(data), 4000))), is_request) == whole
