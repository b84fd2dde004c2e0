"""Follow stream's search (katui.report.follow_search): patterns, matches found in the stream's
bytes, and the columns highlighted on the lines as the view shows them."""

from __future__ import annotations

import glob

import pytest
from ui_helpers import SAMPLES

from katui.report.follow import follow_lines, hex_lines, segments
from katui.report.follow_search import StreamIndex, parse
from katui.textsafe import safe_bytes
from tests.conftest import analysed

HOSTILE = str(SAMPLES / "hostile.pcap")


def test_patterns_are_literal_with_smart_case_and_the_views_escapes():
    assert parse("") is None
    assert parse("content-length") == (b"content-length", True, "text, any case", False)
    assert parse("Content-Length").fold is False  # a capital: exact case
    assert parse("a.*[b]").needle == b"a.*[b]"  # no regular expression
    assert parse("\\x1b[2J").needle == b"\x1b[2J"  # as the text view shows the byte
    assert parse("\\xff\\\\\\u202e").needle == b"\xff\\\xe2\x80\xae"
    assert parse("C:\\Windows").needle == b"C:\\Windows"  # a backslash that escapes nothing
    assert parse("\\x41").fold is False  # 'A'


def test_hex_digits_are_bytes_in_the_hex_view_only():
    assert parse("0d0a0d0a", hex_view=True) == (b"\r\n\r\n", False, "bytes 0d 0a 0d 0a", True)
    assert parse("0D 0A", hex_view=True).needle == b"\r\n"
    assert parse("0d0a0d0a").needle == b"0d0a0d0a"  # text in the text view
    assert parse("0d0a0", hex_view=True).needle == b"0d0a0"  # odd: text
    assert parse("\\x63afe", hex_view=True).needle == b"cafe"  # text in hex, one letter escaped
    assert parse("\\x0d", as_shown=True).needle == b"\\x0d"  # TLS records: as shown


@pytest.mark.parametrize("path", sorted(glob.glob(str(SAMPLES / "*.pcap")))[:8])
def test_the_index_has_the_lines_of_the_view(path):
    a = analysed(path)
    for conn in a.connections[:20]:
        segs = segments(a, conn)
        for hex_mode, per_line in ((False, 16), (True, 16), (True, 8)):
            lines = follow_lines(a, conn, hex_mode, per_line=per_line)
            index = StreamIndex.of_segments(segs, hex_mode, per_line)
            assert len(index.starts) == len(lines)
            for y, (_, _, text) in enumerate(lines):
                start, end, _ = index.bounds(y)
                data = index.data[start:end]
                shown = hex_lines(data, 0, per_line)[0][10:] if hex_mode else safe_bytes(data, False)
                assert shown == (text[10:] if hex_mode else text)


def _index(*segs, hex_mode=False):
    return StreamIndex.of_segments([(f, c2s, data) for f, c2s, data in segs], hex_mode)


def test_a_match_spans_segments_of_one_direction_never_two_directions():
    index = _index((4, True, b"GET /a HT"), (5, True, b"TP/1.1\r\n\r\n"), (6, False, b"HTTP/1.1 200 OK\r\n"))
    http = parse("http")
    assert index.next_match(http, 0) == 7 and index.line_of(7) == 0
    assert index.spans(http, 0) == [(7, 9, 7)] and index.spans(http, 1) == [(0, 2, 7)]
    assert index.next_match(http, 8) == 19  # the response's
    assert index.next_match(parse("\\x0d\\x0a\\x0d\\x0aHTTP"), 0) is None  # request into response
    assert index.count(http) == 2
    assert index.previous_match(http, 19) == 7 and index.previous_match(http, 7) is None


def test_search_forward_backward_and_case():
    index = _index((1, True, b"a Foo b foo c FOO"))
    assert [index.next_match(parse("foo"), at) for at in (0, 3, 9, 15)] == [2, 8, 14, None]
    assert index.next_match(parse("Foo"), 3) is None and index.count(parse("foo")) == 3
    assert index.previous_match(parse("foo"), 14) == 8 and index.previous_match(parse("foo"), 2) is None


def test_columns_follow_the_escapes_of_the_text_view():
    data = b"\x1b[2J caf\xc3\xa9 \xff\\ \xe2\x80\xaeevil"
    index = _index((1, True, data))
    (text,) = [t for *_, t in follow_lines_of(data)]
    assert text == "\\x1b[2J café \\xff\\\\ \\u202eevil"
    for pattern, shown in (("\\x1b[2J", "\\x1b[2J"), ("é", "é"), ("\\xff\\\\", "\\xff\\\\"), ("evil", "evil"),
                           ("\\u202ee", "\\u202ee")):  # fmt: skip
        ((a, b, _),) = index.spans(parse(pattern), 0)
        assert text[a:b] == shown
    # A byte inside a character (bytes typed in hex): the whole character is highlighted.
    ((a, b, _),) = index.spans(parse("a9", hex_view=True), 0)
    assert text[a:b] == "é"


def follow_lines_of(data: bytes):
    return [(1, True, line) for line in safe_bytes(data).split("\n")]


def test_a_match_of_a_line_break_takes_a_column_past_the_text():
    index = _index((1, True, b"Host: x\r\n\r\nbody"))
    bytes_ = parse("\\x0d\\x0a\\x0d\\x0a")
    assert index.matches_on(bytes_, 0) == [7] and index.matches_on(bytes_, 1) == [7]
    assert index.spans(bytes_, 0) == [(7, 8, 7)]  # "Host: x" is 7 long: the cell after it
    assert index.spans(bytes_, 1) == [(0, 1, 7)]
    assert index.spans(parse("x\\x0d"), 0) == [(6, 8, 6)]


def test_hex_lines_highlight_the_hex_and_the_characters():
    index = _index((1, True, bytes(range(0x40, 0x60))), hex_mode=True)
    pattern = parse("4e 4f 50 51", hex_view=True)
    line = hex_lines(index.data)
    assert index.spans(pattern, 0) == [(52, 57, 14), (73, 75, 14)]
    assert line[0][52:57] == "4e 4f" and line[0][73:75] == "NO"
    assert index.spans(pattern, 1) == [(10, 15, 14), (59, 61, 14)]
    assert line[1][10:15] == "50 51" and line[1][59:61] == "PQ"


def test_hostile_stream_matches_and_records_as_shown():
    a = analysed(HOSTILE)
    conn = a.connections[0]
    index = StreamIndex.of_segments(segments(a, conn), False)
    lines = follow_lines(a, conn)
    pattern = parse("\\x1b]52;c;")
    assert index.count(pattern) == 7
    at = index.next_match(pattern, 0)
    while at is not None:
        y = index.line_of(at)
        (a_, b_, _) = next(s for s in index.spans(pattern, y) if s[2] == at)
        assert lines[y][2][a_:b_] == "\\x1b]52;c;"
        at = index.next_match(pattern, at + 1)
    shown = StreamIndex.of_lines(lines)
    assert shown.count(parse("\\x1b]52;c;", as_shown=True)) == 7  # the text, as shown


def test_a_newline_at_the_end_of_a_segment_ends_its_last_line():
    """Follow stream as Wireshark's: a head's CRLF CRLF is one blank line, and a body ending in a
    newline has no blank line after it (each segment's last newline made an extra empty line)."""
    a = analysed(str(SAMPLES / "httptest.pcap"))
    lines = [(frame, text) for frame, _, text in follow_lines(a, a.connections[0])]
    assert [t for f, t in lines if f == 4][-2:] == ["Connection: keep-alive", ""]
    assert [t for f, t in lines if f == 6][-3:] == ["Connection: keep-alive", "", "keep-alive test"]
