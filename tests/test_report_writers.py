"""The report writers' fast paths give the text of the general ones they stand in for: JSON
seconds without round()+repr(), a connection's JSON fields without a dict, and the Markdown
report's two-lane ladder and diagram drawn in one pass (vs drawn_rows, ladder_lines and
sequence_diagram, which the TUI and the proxy's three lanes still use)."""

from __future__ import annotations

import json
import random
import struct

import pytest

from katui.analysis.pipeline import analyze
from katui.report import jsonout
from katui.report.jsonrows import sec, value
from katui.report.ladder import http_labels, ladder_rows
from katui.report.ladder_md import TwoLanes, stamped
from katui.report.ladder_text import drawn_rows, header_line, ladder_lines
from katui.report.lanes import backend_name
from katui.report.mermaid import diagram_block, sequence_diagram
from tests.conftest import SAMPLES


def _seconds(ns):
    """What the JSON schema has always written for a duration or time in ns."""
    return "null" if ns is None else repr(round(ns / 1e9, 6))


def _hard_times(shifts: range, edges: tuple[int, ...]) -> list[int]:
    """Every ns below 0.3 ms, microsecond captures up to 3 s, random times of every magnitude
    (``1 << shift``) with the half-way points of the 6th decimal, and 6000 around each edge."""
    values = list(range(0, 300_000))  # '5e-05', '0.0001', '0.000299'
    values += [us * 1000 for us in range(0, 3_000_000, 7)]
    rng = random.Random(13)
    for shift in shifts:
        for _ in range(400):
            ns = rng.randrange(0, 1 << shift) if shift else 0
            base = ns - ns % 1000
            values += [ns, base, base + 499, base + 500, base + 501, -ns]
    for edge in edges:
        values += range(edge - 3000, edge + 3000)
    return values


def test_seconds_are_written_as_repr_of_the_rounded_float():
    # The edges: where the integer path stops (10**15 ns), a Unix time, 2**31 and 2**32 s, where
    # the float path stops (4e18 ns).
    values = _hard_times(
        range(0, 63, 3), (10**15, 1_700_000_000 * 10**9, 2**31 * 10**9, 2**32 * 10**9, 4 * 10**18, 10**16)
    )
    values += [us * 1000 + 500 for us in range(0, 3_000_000, 7)]  # microsecond ties: the float decides
    # Unix times whose float lies exactly halfway between two microseconds (odd multiples of
    # 2**-7 s): written rounded half to even, as %.6f does.
    values += [int((2**31 + j * 2**-7) * 1e9) + d for j in range(1, 20_000, 2) for d in (-1, 0, 1)]
    values += [None]
    wrong = [ns for ns in values if sec(ns) != _seconds(ns)]
    assert wrong == []


def test_ladder_times_made_with_integers_are_the_float_text():
    # The edges: where the integer path stops (10**15 ns), a Unix time, the C subtraction's limit.
    values = _hard_times(range(0, 62, 3), (10**15, 1_700_000_000 * 10**9, 2**62))
    values += [us * 1000 + 500 for us in range(0, 3_000_000, 7)]  # microsecond ties: the float decides
    # Frames: every number of digits, up to past the three-at-a-time lookups (a million).
    lines = [(stamped(f := ns % 2_000_003 - 3, ns, " x"), f"{f:6d} {ns / 1e9:11.6f} x") for ns in values]
    wrong = [made for made, expected in lines if made != expected]
    assert wrong == []


def test_lines_write_what_stamped_cut_and_joined_writes():
    # The Markdown ladder's lines are written into one buffer (compiled: its digits in C, as
    # UTF-8, a tail cut by characters): the same text as stamped(...)[:width] joined by newlines.
    from katui.report.ladder_md import Lines

    values = _hard_times(range(0, 62, 6), (10**15, 2**62))[::97]
    tails = ["", " │─ PSH,ACK 108 ─────────▶│ GET /ka  ↻ reused", "é" * 300, "x😀" * 150, " a`b|c"]
    for width in (200, 60, 32, 31, 0):
        lines, expected = Lines(), []
        for k, ns in enumerate(values):
            frame, tail = (k * 7919) % 10 ** (k % 9), tails[k % len(tails)]  # 1 to 8 digits
            lines.frame_line(frame, ns, tail, width)
            expected.append(stamped(frame, ns, tail)[:width])
            lines.numbered(tail, frame)
            expected.append(f"{tail} (frame {frame})")
            lines.add(tail)
            expected.append(tail)
        assert lines.count == len(expected)
        assert lines.text() == "\n".join(expected), width
        assert lines.utf8() == "\n".join(expected).encode(), width
        lines.clear()
        assert (lines.text(), lines.utf8(), lines.count) == ("", b"", 0)


def test_lines_keep_a_lone_surrogate_as_text_and_encode_it_as_python_does():
    # A lone surrogate reads back as itself; its UTF-8 raises as str.encode (and so the file
    # write) does, not written in some other way.
    from katui.report.ladder_md import Lines

    lines = Lines()
    lines.add("a\ud800b")
    lines.frame_line(3, 1000, " \udfff", 200)
    assert lines.text() == "a\ud800b\n     3    0.000001 \udfff"
    with pytest.raises(UnicodeEncodeError):
        lines.utf8()


def test_the_encoded_markdown_report_is_its_text_in_utf8():
    # The CLI writes the report's UTF-8 pieces (ladders drawn as UTF-8): the bytes of render(),
    # on every sample (proxies' three lanes, TLS, HTTP/2, the hostile capture) and a part.
    from katui.report import markdown

    for path in _samples():
        a = analyze(str(path))
        try:
            text = markdown.render(a)
            assert b"".join(markdown.encoded_chunks(a)) == text.encode(), path.name
            some = [c.stream for c in a.connections][1::2]
            assert b"".join(markdown.encoded_chunks(a, some)) == markdown.render(a, some).encode()
        finally:
            a.close()


@pytest.mark.parametrize("v", [None, 'a\x1b"b', "é", 0, -5, 2**70, True, False, 1.5, [1, "x"], {"k": None}])
def test_a_value_is_written_as_the_encoder_writes_it(v):
    assert value(v) == jsonout._dump(v)


def _samples():
    return sorted(SAMPLES.glob("*.pcap")) + sorted((SAMPLES / "real").glob("*.pcap"))


def test_the_connection_fields_read_back_as_the_schema_says():
    for path in _samples()[:40]:
        a = analyze(str(path))
        try:
            for c in a.connections:
                fields = jsonout._connection_fields(a, c)
                assert fields["stream"] == c.stream and fields["frame_count"] == c.frame_count
                assert fields["close"]["reason"] == c.close.reason
                assert json.loads(jsonout._connection_json(a, c) + "}") == fields
        finally:
            a.close()


def test_two_lanes_draw_what_the_general_ladder_and_diagram_draw():
    drawn_any = 0
    for path in _samples():
        a = analyze(str(path))
        try:
            lanes = TwoLanes(200)
            for c in a.connections:
                if backend_name(a, c) is not None:
                    continue  # three lanes: drawn by the general path only
                rows, labels = ladder_rows(a, c, a.idle_threshold_ns), http_labels(c)
                lines, body = lanes.draw(a, c, rows, labels)
                drawn = drawn_rows(a, c, rows, labels)
                assert [header_line(c)[:200], *lines] == ladder_lines(a, c, width=200, drawn=drawn), path.name
                diagram = [] if body is None else diagram_block(c, body)
                assert diagram == sequence_diagram(a, c, drawn=drawn), path.name
                drawn_any += len(lines)
        finally:
            a.close()
    assert drawn_any > 1000


def test_markdown_escaping_skips_only_text_with_nothing_to_escape():
    # md() returns text without a character to escape as it is, found by one search: every
    # code point, alone and inside text, gets what the two substitutions make of it.
    import re

    from katui.report.markdown import md
    from katui.textsafe import safe_text

    def slow(text: str) -> str:
        return re.sub(r"([\\`*_{}\[\]<>|])", r"\\\1", safe_text(text))

    wrong = [c for c in map(chr, range(0x110000)) if md(c) != slow(c) or md(f"a{c}b") != slow(f"a{c}b")]
    assert wrong == []
    assert md("127.0.0.1:80") == "127.0.0.1:80" and md("a|b\x1b") == "a\\|b\\\\x1b"


@pytest.mark.parametrize(
    "note",
    [
        ("section", "request 1", 3, False, 0),
        ("section", "✖ PROBLEM reset: the server sends RST (reset)", 9, True, 0),
        ("gap", "then request 2 reuses the connection", 12, False, 5_005_000_000),
        ("gap", "then the client resets", 12, True, 85_000),
    ],
)
def test_a_note_as_text_is_its_pieces_joined(note):
    from katui.report.ladder import Note
    from katui.report.ladder_text import note_pieces, note_text

    row = Note(*note)
    assert note_text(row) == "".join(text for text, _ in note_pieces(row))


@pytest.mark.parametrize("text", ["", "request 1", "a;b #c `d` <e>", 'x"y{z}|w%', "naïve → ✖"])
def test_mermaid_text_without_syntax_is_returned_as_it_is(text):
    import re

    from katui.report.mermaid import mermaid_text

    assert mermaid_text(text) == re.sub(r"[#;<>`\"{}|%]", lambda m: f"#{ord(m.group())};", text)


def test_the_ladders_mermaid_check_finds_the_characters_mermaid_text_replaces():
    from katui.report.ladder_md import _mermaid
    from katui.report.mermaid import mermaid_text

    # Every character alone, before and after other text, both builds: the compiled character
    # test must find what the regular expression finds, and leave the rest as it is.
    for code in [*range(32, 256), 0x2192, 0x2716, 0x21BB, 0x1F600]:
        for text in (chr(code), f"GET /a{chr(code)}b", f"{chr(code)}  ↻ reused"):
            assert _mermaid(text) == mermaid_text(text), text
    assert _mermaid("") == ""


def test_durations_made_with_integers_are_the_float_text():
    # _fmt_float is fmt_s as it was, with floats only: the text the integer path must give.
    from katui.units import _fmt_float, fmt_s

    values = [0, 1, -1, -500, -1500, 2**63, -(2**63), 10**30, 10**15, 10**15 - 1]
    for edge in (1000, 10**6, 10**9, 10**10, 10**15):  # where the unit or the path changes
        values += range(edge - 2000, edge + 2000)
    for unit in (1000, 100_000, 10**6, 10**8):  # ties (the float decides) and their neighbours
        values += [k * unit * 7 + unit // 2 + d for k in range(3000) for d in (-1, 0, 1)]
    r = random.Random(3)
    values += [r.randrange(0, 10**16) for _ in range(100_000)] + [
        r.randrange(0, 10**7) for _ in range(100_000)
    ]
    wrong = [ns for ns in values if ns >= 0 and fmt_s(ns) != _fmt_float(ns)]
    assert wrong == []
    assert fmt_s(None) == "-"
    # a negative duration (a hostile capture's clock running back) scaled as its opposite
    assert [fmt_s(ns) for ns in (-1500, -500_000, -2_500_000_000, -(2**63))] == [
        "-2 µs", "-500 µs", "-2.500 s", "-" + fmt_s(2**63)]  # fmt: skip
    assert all(fmt_s(ns) == "-" + fmt_s(-ns) for ns in values if ns < 0)


def test_two_lanes_tell_apart_lengths_that_differ_above_32_bits_of_the_arrow_key():
    # A frame's arrow is cached by length << 9 | flags << 1 | direction: made in 32 bits,
    # lengths 1 and 1 + 2**23 would share a key (and an arrow). A hostile capture can say any.
    from array import array
    from types import SimpleNamespace

    from katui.model import ACK, PSH

    big = 1 + 2**23
    table = SimpleNamespace(
        ts=array("q", [10**9, 2 * 10**9]),
        flags=array("B", [PSH | ACK, PSH | ACK]),
        dir=array("B", [0, 0]),
        plen=array("I", [1, big]),
        notes=array("B", [0, 0]),
    )
    a = SimpleNamespace(table=table, first_ns=0)
    conn = SimpleNamespace(tls=None, close=None)
    lines, _ = TwoLanes(200).draw(a, conn, [1, 2], {})
    assert " 1 " in lines[0] and f" {big} " in lines[1], lines


@pytest.mark.parametrize("limit", [1_000_000_000, 0, 2**62, 2**63 + 5, -(2**63)])
def test_idle_gaps_of_far_apart_timestamps_are_python_int_differences(limit):
    # Frame times are subtracted in C only where that cannot overflow: a hostile capture's
    # timestamps anywhere in 64 bits give the gaps Python's integers give.
    from array import array
    from types import SimpleNamespace

    from katui.analysis.gaps import idle_gaps

    r = random.Random(limit % 1000)
    times = [-(2**63), 2**63 - 1, 0, 2**62, 2**62 - 1, -(2**62), 1 - 2**62, 5, 5, 1_000_000_006]
    times += [r.randrange(-(2**63), 2**63) for _ in range(300)] + [r.randrange(0, 10**10) for _ in range(300)]
    table = SimpleNamespace(
        ts=array("q", times), flags=array("B", [0] * len(times)), from_client=lambda i: True
    )
    a = SimpleNamespace(table=table, idle_threshold_ns=limit)
    close = SimpleNamespace(reason="unknown", frame=None, by=None, explanation="")
    conn = SimpleNamespace(
        stream=0, frames=array("I", range(1, len(times) + 1)), exchanges=[], close=close, http2=None
    )
    got = [(g.after_frame, g.before_frame, g.duration_ns) for g in idle_gaps(a, conn, limit)]
    want = [
        (f, f + 1, times[f] - times[f - 1]) for f in range(1, len(times)) if times[f] - times[f - 1] >= limit
    ]
    assert got == want and (limit > 2**63 or want)


def _crafted_store():
    """Rows whose labels a cache keyed by the wrong thing would mix up: a request and a response
    sharing a head tuple (URI index 200, status 200), TLS-inferred rows with one head and
    different sizes, a URI and a reason to escape, the same URI under other methods."""
    from katui.model.store import INFERRED_VERSION, Head, MessageStore

    store = MessageStore()
    for uri in ["/"] + [f"/{k}" for k in range(210)] + ["/a|b`c\x1b", "/"]:
        for method in ("GET", "POST"):
            store.add(True, 1, 0, Head("HTTP/1.1", method, uri, 0, "", None, None, None, False, ""), 40)
    for status, reason in ((200, "OK"), (200, "Fine"), (201, "OK"), (200, ""), (404, "No <b>|")):
        store.add(False, 2, 0, Head("HTTP/1.1", "", "", status, reason, None, None, None, False, "h"), 40)
    store.add(False, 2, 0, Head("HTTP/1.1", "GET", "", 200, "", None, None, None, False, "h"), 40)
    inferred = Head(INFERRED_VERSION, "", "", 0, "", None, None, None, False, "")
    for request in (True, False):
        for size in (0, 517, 517, 90_000):
            i = store.add(request, 3, 0, inferred, 0)
            store.end(i, 3, 0, size, True)
    return store


def test_message_cells_cached_by_row_are_the_cells_of_the_labels():
    # Cells keeps a row's label by its head and URI indexes (or status): each row, read twice
    # in a shuffled order through one cache, is the cell of the label made anew.
    from katui.report.markdown import Cells, _cell

    stores = [_crafted_store()]
    for path in _samples()[:60]:
        a = analyze(str(path))
        stores += [c.exchanges[0].store for c in a.connections[:1] if c.exchanges]
        a.close()
    rng = random.Random(5)
    cells = Cells()
    for store in stores:
        rows = list(range(len(store))) * 2
        rng.shuffle(rows)
        wrong = [i for i in rows if cells.of(store, i) != _cell(store.label(i))]
        assert wrong == []
    assert cells.store is stores[-1] and len(stores) > 20


def test_the_markdown_report_draws_each_ladder_as_the_general_path_does(tmp_path):
    # The report labels the ladder from its exchange table's cells (Cells, message_label) and
    # draws it in one pass (TwoLanes): each connection's diagram and text ladder are those of
    # http_labels, drawn_rows, sequence_diagram and ladder_lines. The crafted capture has a
    # 1xx response in the frame of its final one (labels joined in order).
    from katui.report.markdown import MAX_LADDER_FRAMES, fence, render
    from tests.builders import conversation, write_pcap

    post = b"POST /up HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\n\r\n"
    answer = b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nok"
    write_pcap(tmp_path / "continue.pcap", conversation([post, post], [answer, answer]))
    checked = 0
    for path in [tmp_path / "continue.pcap", *_samples()]:
        a = analyze(str(path))
        try:
            text = render(a)
            for c in a.connections:
                if backend_name(a, c) is not None or c.frame_count > MAX_LADDER_FRAMES:
                    continue
                rows = ladder_rows(a, c, a.idle_threshold_ns)
                drawn = drawn_rows(a, c, rows, http_labels(c))
                ladder = "\n".join(fence(ladder_lines(a, c, width=200, drawn=drawn)))
                diagram = "\n".join(sequence_diagram(a, c, drawn=drawn))
                section = f"\n\n{diagram}\n\n{ladder}\n" if diagram else f"\n\n{ladder}\n"
                assert section in text, (path.name, c.stream)
                checked += 1
        finally:
            a.close()
    assert checked > 100


def test_times_since_the_first_frame_need_not_fit_in_64_bits(tmp_path):
    # Frame 1 pinned to the lowest time katui keeps (if_tsoffset -2**62 s), a connection to the
    # highest (+2**62 s): its times since frame 1 are about 2**64 ns, written exactly.
    from hostile_pcap import GET, OK, conversation, epb, idb, shb, write

    low, high = (idb(options=struct.pack("<HHq", 14, 8, s)) for s in (-(2**62), 2**62))
    frames = b"".join(epb(f, iface=1) for f in conversation(GET, OK))
    a = analyze(write(tmp_path, "x.pcapng", shb() + low + high + epb(b"\0" * 60) + frames))
    try:
        (c,) = json.loads(jsonout.render(a))["connections"]
    finally:
        a.close()
    span = round(((2**63 - 1) - (-(2**63) + 1)) / 1e9, 6)
    assert c["start"] == c["close"]["time"] == c["requests"][0]["time"] == span
    assert c["requests"][0]["ttfb"] == 0 and c["start_time"] == round((2**63 - 1) / 1e9, 6)


def test_markdown_rows_of_repeated_unfinished_requests_match_the_first(tmp_path):
    """Three connections, each a POST whose body never arrives (Content-Length 100, 3 bytes
    sent), answered 413 with close: the request has no end frame, so its cell is the frame it
    started in, marked unfinished ('4…'). The second and third rows come from the cache of
    repeated exchanges and must be written as the first was ('| 1 | 11… | 12 |'; the cached path
    once wrote '| 1 | | 12 |')."""
    import dpkt

    from katui.report import markdown
    from tests.builders import CLIENT, SERVER, tcp_packet, write_pcap

    post = b"POST /u HTTP/1.1\r\nHost: h\r\nContent-Length: 100\r\n\r\nabc"
    resp = b"HTTP/1.1 413 Payload Too Large\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    ack, psh, fin = dpkt.tcp.TH_ACK, dpkt.tcp.TH_ACK | dpkt.tcp.TH_PUSH, dpkt.tcp.TH_FIN | dpkt.tcp.TH_ACK
    packets = []
    for k in range(3):
        port, t, c, s = 41000 + k, 1.0 + 10 * k, 1000, 5000
        packets += [
            (t, tcp_packet(sport=port, seq=c, flags=dpkt.tcp.TH_SYN)),
            (t + 0.001, tcp_packet(SERVER, CLIENT, 80, port, s, c + 1, dpkt.tcp.TH_SYN | ack)),
            (t + 0.002, tcp_packet(sport=port, seq=c + 1, ack=s + 1)),
            (t + 0.012, tcp_packet(sport=port, seq=c + 1, ack=s + 1, flags=psh, payload=post)),
            (t + 0.013, tcp_packet(SERVER, CLIENT, 80, port, s + 1, c + 1 + len(post), psh, resp)),
            (t + 1.0, tcp_packet(SERVER, CLIENT, 80, port, s + 1 + len(resp), c + 1 + len(post), fin)),
            (t + 1.001, tcp_packet(sport=port, seq=c + 1 + len(post), ack=s + 2 + len(resp), flags=fin)),
        ]
    path = tmp_path / "partial.pcap"
    write_pcap(str(path), packets)
    text = markdown.render(analyze(str(path)))
    rows = [line for line in text.splitlines() if "| POST /u | 413 Payload Too Large |" in line]
    assert len(rows) == 3
    assert [r.split(" | POST")[0] for r in rows] == ["| 1 | 4… | 5", "| 1 | 11… | 12", "| 1 | 18… | 19"]


def test_a_markdown_line_piece_must_be_text():
    """Lines reads a str's fields in C: anything else is a TypeError, never a read of another
    object's memory."""
    from katui.report.ladder_md import Lines

    out = Lines()
    for bad in (None, b"bytes", 3):
        with pytest.raises(TypeError):
            out.write(bad)
            out.end()
