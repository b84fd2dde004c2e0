"""Frames with lying headers decode to 'not a TCP segment', never to an exception or a wrong one."""

from __future__ import annotations

from hostile_pcap import GET, OK, conversation, pcap, tcp_frame, write

from katui.analysis.pipeline import analyze
from katui.capture.decode import SKIP_SHORT, tcp_segment


def _seg(frame: bytes, caplen: int | None = None):
    n = len(frame) if caplen is None else caplen
    return tcp_segment(1, frame, 0, n, len(frame))


def test_short_ethernet_frame_at_end_of_file(tmp_path):
    # Regression: a record shorter than 14 bytes at the end of the file raised IndexError in the
    # Ethernet fast path, and the pipeline stopped with "could not decode it".
    frames = [*conversation(GET, OK), b"\x00" * 3]
    a = analyze(write(tmp_path, "short.pcap", pcap(frames)))
    assert a.frames == 9
    assert a.warnings == []
    assert a.requests == 1
    a.close()
    assert not isinstance(_seg(b"\0" * 3), tuple)


def test_ipv4_header_length_below_five_is_not_tcp():
    frame = tcp_frame(payload=b"x")
    bogus = frame[:14] + bytes([0x40 | 2]) + frame[15:]
    assert _seg(bogus) == SKIP_SHORT


def test_bogus_tcp_data_offsets():
    assert _seg(tcp_frame(doff=4)) == SKIP_SHORT
    seg = _seg(tcp_frame(doff=15, payload=b"abc"))  # claims 60 bytes of header, has 23
    assert not isinstance(seg, tuple) or seg[9] >= 0
    cut = tcp_frame(payload=b"hello")
    seg = _seg(cut, caplen=40)  # TCP header cut by the snap length
    assert seg == SKIP_SHORT


def test_ip_total_length_lies():
    # Larger than the frame: payload on the wire > captured (a truncated frame, not a crash).
    seg = _seg(tcp_frame(payload=b"abcd", total=1000))
    assert seg[9] == 4 and seg[10] == 1000 - 40
    # Smaller than the headers: not a segment.
    assert _seg(tcp_frame(payload=b"abcd", total=30)) == SKIP_SHORT


def test_ipv6_extension_header_chain_ends():
    # 200 hop-by-hop headers, each pointing to the next, then the frame ends: bounded and no raise.
    ip6 = bytes([0x60, 0, 0, 0]) + (200 * 8).to_bytes(2, "big") + bytes([0, 64]) + b"\1" * 32
    frame = b"\2" * 12 + b"\x86\xdd" + ip6 + b"\0\0" + b"\0" * 6 * 1 + (b"\0" * 8) * 199
    assert _seg(frame) in (SKIP_SHORT, 2)
