"""Broken pcap / pcapng structure: every readable frame is analysed, damage becomes a warning."""

from __future__ import annotations

import struct

from hostile_pcap import block, epb, idb, shb, tcp_frame, write

from katui.analysis.pipeline import analyze
from katui.capture.reader import MAX_WARNINGS
from katui.report import jsonout, markdown, text


def _analyse(tmp_path, data: bytes, name: str = "x.pcapng"):
    a = analyze(write(tmp_path, name, data))
    # Every renderer must cope with whatever the reader made of the file.
    text.render(a, ladder=True)
    markdown.render(a)
    jsonout.render(a)
    a.close()
    return a


def test_timestamp_clamped_low_is_still_a_time(tmp_path):
    """Regression (review): if_tsoffset -2**62 s pins every frame to the lowest time katui keeps;
    it must not be the lowest int64, which stands for "no time" (a connection closed then read
    as never closed, and the ladder of every report crashed on it)."""
    from hostile_pcap import conversation

    offset = struct.pack("<HHq", 14, 8, -(2**62))
    frames = conversation(
        b"GET / HTTP/1.1\r\nHost: x\r\n\r\n", b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"
    )
    a = _analyse(tmp_path, shb() + idb(options=offset) + b"".join(epb(f, ts=i) for i, f in enumerate(frames)))
    (c,) = a.connections
    assert a.first_ns == a.last_ns == -(2**63) + 1
    assert c.close.by == "server" and c.close.ts_ns == -(2**63) + 1
    assert "impossible timestamp" in a.warnings[0]


def test_many_bad_packet_blocks_give_few_warnings(tmp_path):
    bad = epb(tcp_frame(), iface=7)
    a = _analyse(tmp_path, shb() + idb() + bad * 1000 + epb(tcp_frame()))
    assert a.frames == 1
    assert len(a.warnings) == MAX_WARNINGS + 1
    assert "1000 damaged packet records" in a.warnings[-1]
    assert "unknown interface 7" in a.warnings[0]


def test_packet_blocks_shorter_than_their_header_are_skipped(tmp_path):
    # Regression: a 12-byte EPB/OPB at the end of the file made struct.unpack_from raise, and a
    # 12-byte SPB gave a negative captured length that crashed the frame table.
    good = epb(tcp_frame())
    for btype in (2, 3, 6):
        a = _analyse(tmp_path, shb() + idb() + good + block(btype, b""))
        assert a.frames == 1
        assert "shorter than its own header" in a.warnings[0]


def test_idb_option_overrunning_the_block_and_file(tmp_path):
    # Regression: an if_tsoffset option whose value lies past the end of the file raised struct.error.
    opt = struct.pack("<HH", 14, 8)
    a = _analyse(tmp_path, shb() + idb() + epb(tcp_frame()) + idb(options=opt))
    assert a.frames == 1
    assert "option overruns" in a.warnings[0]


def test_idb_too_short_keeps_interface_numbering(tmp_path):
    a = _analyse(tmp_path, shb() + block(1, b"") + idb() + epb(tcp_frame(), iface=1))
    assert a.frames == 1
    assert a.connections and "unsupported link type -1" in a.warnings[0]


def test_timestamp_beyond_int64_is_clamped(tmp_path):
    # Regression: if_tsresol 10^0 with a 64-bit timestamp overflowed the int64 frame table.
    resol = struct.pack("<HHBxxx", 9, 1, 0)
    a = _analyse(tmp_path, shb() + idb(options=resol) + epb(tcp_frame(), ts=2**64 - 1))
    assert a.frames == 1
    assert a.last_ns == 2**63 - 1
    assert "impossible timestamp" in a.warnings[0]
