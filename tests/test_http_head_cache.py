"""The HTTP/1 head reader's caches (:func:`katui.http.head.scan_head`): a head read from the
cache, or with its Date and Content-Length lines cut out of the cache key, reads exactly as the
whole head read line by line; the caches stay bounded whatever the heads."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from katui.http import head as h

NAMES = (b"Content-Length", b"content-length", b"CONTENT-LENGTH ", b"Date", b"date", b"Connection",
         b"Keep-Alive", b"Transfer-Encoding", b"Host", b"Server", b"User-Agent", b"X-Forwarded-For",
         b"X-Request-Id", b"ETag", b"Content-Type")  # fmt: skip
VALUES = (b"5", b"55", b"0", b"-1", b"abc", b"5, 5", b"1_0", b" 7", b"9" * 30, b"close", b"chunked",
          b"Wed, 02 Dec 2026 15:34:35 GMT", b"10.0.0.1, 10.0.0.2", b"", b"4\rX-Real-IP: 1.2.3.4")  # fmt: skip
SEPARATORS = (b": ", b":", b" : ", b":\t")
LINE = st.tuples(st.sampled_from(NAMES), st.sampled_from(SEPARATORS), st.sampled_from(VALUES),
                 st.sampled_from((b"\r\n", b"\n")))  # fmt: skip
HEAD = st.tuples(st.booleans(), st.lists(LINE, max_size=8))


def _make(is_request: bool, lines) -> bytes:
    start = b"GET /x HTTP/1.1" if is_request else b"HTTP/1.1 200 OK"
    return start + b"\r\n" + b"".join(n + sep + v + eol for n, sep, v, eol in lines) + b"\r\n"


def _reference(head: bytes, is_request: bool) -> tuple:
    """What the head's header lines say, read from the whole head with no cache involved."""
    conn, ka, clen, chunked, host, software, trace = h._headers(head, is_request)
    return clen, chunked, conn, ka, host, software, trace


def _read(head: bytes, is_request: bool) -> tuple:
    status, clen, chunked, _uri, text, trace = h.scan_head(head, is_request)
    return clen, chunked, text[3], text[4], text[5], text[6], trace


@settings(max_examples=300, deadline=None)
@given(st.lists(HEAD, min_size=1, max_size=12))
def test_cached_reads_equal_the_whole_head_read(heads):
    # Twice over: the first pass fills the caches, the second reads from them; heads that differ
    # only in their Date or Content-Length lines share a header cache entry.
    for _ in range(2):
        for is_request, lines in heads:
            head = _make(is_request, lines)
            assert _read(head, is_request) == _reference(head, is_request), head


def test_content_length_is_each_message_own_when_only_it_and_the_date_differ():
    heads = [
        b"HTTP/1.1 200 OK\r\nServer: nginx\r\nDate: Wed, 02 Dec 2026 15:34:3%d GMT\r\n"
        b"Content-Length: %d\r\nConnection: keep-alive\r\n\r\n" % (n % 10, n)
        for n in range(40)
    ]
    assert [h.scan_head(x, False)[1] for x in heads + heads] == list(range(40)) * 2


def test_a_second_length_line_is_read_in_order():
    one = b"HTTP/1.1 200 OK\r\ncontent-length: 3\r\nContent-Length: 9\r\n\r\n"
    two = b"HTTP/1.1 200 OK\r\nContent-Length: 9\r\ncontent-length: 3\r\n\r\n"
    bad = b"HTTP/1.1 200 OK\r\ncontent-length: x\r\nContent-Length: 9\r\n\r\n"
    assert [h.scan_head(x, False)[1] for x in (one, two, bad, one)] == [3, 9, 9, 3]


def test_caches_stay_bounded():
    for n in range(3 * h.CACHE_ENTRIES):
        h.scan_head(b"GET /%d HTTP/1.1\r\nX-Request-Id: %d\r\n\r\n" % (n, n), True)
        h.scan_head(b"HTTP/1.1 200 R%d\r\nETag: %d\r\n\r\n" % (n, n), False)
    caches = (*h._HEADS, *h._BLOCKS, h._STATUS_LINES)
    assert all(0 < len(c) <= h.CACHE_ENTRIES for c in caches)
    huge = b"GET / HTTP/1.1\r\nX-Pad: " + b"a" * h.MAX_CACHED_HEAD + b"\r\n\r\n"
    assert h.scan_head(huge, True)[3] == "/"
    assert huge not in h._HEADS[True]
    assert all(len(k) <= h.MAX_CACHED_HEAD for c in caches for k in c)
