"""Broken pcap / pcapng structure: every readable frame is analysed, damage becomes a warning."""

from __future__ import annotations

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
