"""The HTTP/1 head reader (:func:`katui.http.head.scan_head`, header lines by
:mod:`katui.http.lines`): it reads what a regular expression over the header block reads, from
the scanner or from its memory of recent heads and values, however many different heads come.

Both ways of reading a head run here in either build: in place (what the compiled build does,
C loops over the bytes) and by bytes methods and a regular expression (what the interpreted
build does). CI runs the suite compiled: tests/test_builds.py runs these tests interpreted too."""

from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from katui.http import head as h
from katui.http import lines
from katui.http.trace import MAX_TRACE_LINES, TRACE_HEADERS, parse_trace

NAMES = (b"Content-Length", b"content-length", b"CONTENT-LENGTH ", b"Date", b"date", b"Connection",
         b"Keep-Alive", b"Transfer-Encoding", b"Host", b"Server", b"User-Agent", b"X-Forwarded-For",
         b"X-Request-Id", b"ETag", b"Content-Type", b"HOST\t", b"Hos", b"Hostx", b"x-real-ip",
         b"Forwarded", b"\rHost", b"Ho\rst", b" Host", b"Server:Host", b"traceparent")  # fmt: skip
VALUES = (b"5", b"55", b"0", b"-1", b"abc", b"5, 5", b"1_0", b" 7", b"9" * 30, b"close", b"chunked",
          b"Wed, 02 Dec 2026 15:34:35 GMT", b"10.0.0.1, 10.0.0.2", b"", b"4\rX-Real-IP: 1.2.3.4",
          b"7 ", b"+7", b"9" * 18, b"9" * 19, b"12,x", b"Keep-Alive ", b"\x0bclose\x0c", b"a:b",
          b"ChunKed, gzip", b"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")  # fmt: skip
SEPARATORS = (b": ", b":", b" : ", b":\t", b"\t:  \t")
LINE = st.tuples(st.sampled_from(NAMES), st.sampled_from(SEPARATORS), st.sampled_from(VALUES),
                 st.sampled_from((b"\r\n", b"\n")))  # fmt: skip
HEAD = st.tuples(st.booleans(), st.lists(LINE, max_size=8))


def _make(is_request: bool, lines) -> bytes:
    start = b"GET /x HTTP/1.1" if is_request else b"HTTP/1.1 200 OK"
    return start + b"\r\n" + b"".join(n + sep + v + eol for n, sep, v, eol in lines) + b"\r\n"


_HEADERS = re.compile(
    rb"\n(content-length|transfer-encoding|connection|keep-alive|host|user-agent|server|"
    + b"|".join(TRACE_HEADERS)
    + rb")[ \t]*:[ \t]*([^\r\n]*)",
    re.I,
)


def _length(val: bytes) -> int | None:
    try:
        n = int(val.split(b",")[0])
    except ValueError:
        return None
    return min(n, lines.MAX_CONTENT_LENGTH) if n >= 0 else None


def _reference(head: bytes, is_request: bool) -> tuple:
    """What the head's header lines say, read with a regular expression over the head."""
    conn = ka = clen = None
    chunked, host, software, traced = False, "", "", []
    for key, val in _HEADERS.findall(head):
        key = key.lower()
        if key == b"content-length":
            clen = _length(val) if clen is None else clen
        elif key == b"connection":
            conn = val.strip().lower().decode("latin-1")
        elif key == b"transfer-encoding":
            chunked = b"chunked" in val.lower()
        elif key == b"keep-alive":
            ka = val.strip().decode("latin-1")
        elif key == b"host":
            host = val.strip().decode("latin-1") if is_request else host
        elif key in TRACE_HEADERS:
            traced += [(key, val)] if is_request and len(traced) < MAX_TRACE_LINES else []
        elif (key == b"server") != is_request:
            software = val.strip().decode("latin-1")
    return clen, chunked, conn, ka, host, software, parse_trace(traced) if traced else None


def _in_place(head: bytes, is_request: bool) -> tuple | None:
    return h.read_head(head, is_request, True)


def _found(head: bytes, is_request: bool) -> tuple | None:
    return h.read_head(head, is_request, False)


READERS = (h.scan_head, _in_place, _found)
"""The build's own reader (with its memory of recent heads), and each way of reading a head."""


def _read(head: bytes, is_request: bool, read=h.scan_head) -> tuple:
    status, clen, chunked, _uri, text, trace = read(head, is_request)
    return clen, chunked, text[3], text[4], text[5], text[6], trace


@settings(max_examples=300, deadline=None)
@given(st.lists(HEAD, min_size=1, max_size=12))
def test_cached_reads_equal_the_whole_head_read(heads):
    # Twice over: the first pass reads the heads, the second from the cache.
    for _ in range(2):
        for is_request, header_lines in heads:
            head = _make(is_request, header_lines)
            want = _reference(head, is_request)
            for read in READERS:
                assert _read(head, is_request, read) == want, (read, head)


START = st.tuples(
    st.sampled_from((b"GET", b"M-SEARCH", b"get", b"GETX", b"", b"HTTP/1.1", b"A" * 300)),
    st.sampled_from((b" ", b"  ", b"\t", b"")),
    st.sampled_from((b"/", b"/a b", b"", b"/x\xff", b" /", b"200", b"/" + b"a" * 3000)),
    st.sampled_from((b" ", b"  ", b"")),
    st.sampled_from((b"HTTP/1.1", b"HTTP/1.", b"HTTP/1", b"HTTP/1.0 ", b"HTTP/2.0", b"OK", b"")),
    st.sampled_from((b"\r\n", b"\n", b"\r\r\n", b"")),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(START, min_size=1, max_size=8), st.booleans())
def test_start_lines_read_the_same_in_place_and_by_bytes_methods(starts, is_request):
    for _ in range(2):  # the second time from the remembered methods and status lines
        for pieces in starts:
            head = b"".join(pieces) + b"Host: h\r\n\r\n"
            assert _in_place(head, is_request) == _found(head, is_request), head
            method, sp, target, sp2, version, eol = pieces  # as a status line: version first
            response = version + sp + target + sp2 + method + eol + b"Server: s\r\n\r\n"
            assert _in_place(response, False) == _found(response, False), response


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


def test_many_different_heads_each_read_as_their_own():
    # More heads and values than the recent heads and the value slots hold, read twice over.
    count = 3 * lines.SLOTS
    requests = [
        b"GET /%d HTTP/1.1\r\nX-Request-Id: %d\r\nHost: h%d\r\n\r\n" % (n, n, n) for n in range(count)
    ]
    responses = [b"HTTP/1.1 %d R%d\r\nServer: s%d\r\n\r\n" % (200 + n % 300, n, n) for n in range(count)]
    for _ in range(2):
        for n, (request, response) in enumerate(zip(requests, responses, strict=True)):
            want = (f"/{n}", ("HTTP/1.1", "GET", "", None, None, f"h{n}", ""))
            assert h.scan_head(request, True)[3:5] == want
            assert h.scan_head(response, False)[0] == 200 + n % 300
            assert h.scan_head(response, False)[4][2::4] == (f"R{n}", f"s{n}")
    huge = b"GET / HTTP/1.1\r\nX-Pad: " + b"a" * h.MAX_CACHED_HEAD + b"\r\n\r\n"
    assert h.scan_head(huge, True)[3] == "/"


def test_values_that_share_a_slot_read_as_their_own():
    # Same length and end bytes: one slot; each head still reads its own Host and status line.
    heads = [b"GET / HTTP/1.1\r\nHost: a%sz\r\n\r\n" % c for c in (b"b", b"c", b"b", b"d")]
    assert [h.scan_head(x, True)[4][5] for x in heads] == ["abz", "acz", "abz", "adz"]
    lines = [b"HTTP/1.1 %d OK\r\n\r\n" % s for s in (200, 300, 200, 201)]
    assert [h.scan_head(x, False)[0] for x in lines] == [200, 300, 200, 201]
    long_hosts = [b"GET / HTTP/1.1\r\nHost: %s\r\n\r\n" % (c * 300) for c in (b"a", b"b", b"a")]
    assert [h.scan_head(x, True)[4][5] for x in long_hosts] == ["a" * 255, "b" * 255, "a" * 255]


def test_a_head_seen_recently_reads_as_it_did():
    heads = [b"GET /%d HTTP/1.1\r\nHost: h%d\r\n\r\n" % (n, n % 3) for n in range(2 * h.RECENT_HEADS)]
    first = [h.scan_head(x, True) for x in heads]
    assert [h.scan_head(x, True) for x in reversed(heads)] == first[::-1]
    assert [r[3] for r in first] == [f"/{n}" for n in range(2 * h.RECENT_HEADS)]
    assert [r[4][5] for r in first] == [f"h{n % 3}" for n in range(2 * h.RECENT_HEADS)]


def test_only_a_known_method_starts_a_request():
    for junk in (b"GETX", b"get", b"A" * 5000, b"UNSUBSCRIBEX", b"GET\t/", b""):
        assert h.scan_head(junk + b" / HTTP/1.1\r\n\r\n", True) is None, junk
    for method in (b"UNSUBSCRIBE", b"GET", b"M-SEARCH", b"GET"):
        assert h.scan_head(method + b" / HTTP/1.1\r\n\r\n", True)[4][1] == method.decode()
    assert h.scan_head(b"GET / HTTP/2.0\r\n\r\n", True) is None
    assert h.scan_head(b"GET /a b HTTP/1.0\r\n\r\n", True)[3] == "/a b"


def test_a_shared_value_is_cut_by_its_own_limit_not_by_the_first_readers():
    """``common`` shares one string per distinct value: the same bytes read first with a long
    limit (a 150-byte Keep-Alive value) and then as a version (limit 20) must give the version
    its own 20 characters (before, the first reader's longer string was shared)."""
    from katui.http.lines import common

    raw = b"HTTP/1.1" + b"A" * 150
    assert common(raw, 255) == raw.decode()
    assert common(raw, 20) == raw[:20].decode()
    assert common(raw, 255) == raw.decode()
