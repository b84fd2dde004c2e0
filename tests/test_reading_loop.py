"""The compiled reading loop's edges: the tracker's connection key (two endpoint numbers) where
a number could be confused (an IPv6 address whose number equals an IPv4 one, a host talking to
its own port), pcapng timestamps at the edge of the fast integer path, and the frame table's
batched rows when a frame's reading raises."""

from __future__ import annotations

import shutil
import struct
import subprocess

import pytest
from hostile_pcap import ACK, GET, OK, PSH, SYN, conversation, epb, idb, pcap, shb, tcp_frame, write

from katui.analysis import pipeline
from katui.analysis.pipeline import analyze
from katui.capture.decode import (
    SKIP_NOT_IP,
    SKIP_SHORT,
    endpoint_key,
    endpoint_number,
    endpoint_of,
    ends_of,
    tcp_segment,
)
from katui.capture.reader import open_capture
from katui.tcp.frames import FrameTable
from katui.tcp.ingest import BATCH
from katui.tcp.sink import NO_SINK
from katui.tcp.tracker import Tracker
from tests.conftest import SAMPLES

RAW = 101  # LINKTYPE_RAW: the frame is the IP packet


def _v6(src: bytes, dst: bytes, sport: int, dport: int, seq: int, flags: int) -> bytes:
    tcp = struct.pack("!HHIIBBHHH", sport, dport, seq, 0, 5 << 4, flags, 65535, 0, 0)
    return struct.pack("!IHBB16s16s", 6 << 28, len(tcp), 6, 64, src, dst) + tcp


def _v4(src: bytes, dst: bytes, sport: int, dport: int, seq: int, flags: int) -> bytes:
    return tcp_frame((src, sport), (dst, dport), seq=seq, flags=flags)[14:]  # no Ethernet


def test_endpoint_numbers_round_trip_and_order_as_tuples():
    ends = [(b"\0\0\0\1", 80), (b"\0\0\0\1", 81), (b"\x0a\0\0\2", 1), (b"\0" * 15 + b"\1", 80)]
    for ip, port in ends:
        assert endpoint_of(endpoint_number(ip, port)) == (ip, port)
    v4 = [endpoint_number(ip, port) for ip, port in ends[:3]]
    assert v4 == sorted(v4)  # ordered as (ip bytes, port): the lower end is found in C
    # ::1 port 80 is not 0.0.0.1 port 80.
    assert endpoint_number(*ends[3]) != endpoint_number(*ends[0])
    key, swapped = endpoint_key(v4[1], v4[0])
    assert ends_of(key) == (v4[0], v4[1]) and swapped
    assert endpoint_key(v4[0], v4[1]) == (key, False)
    v6 = [endpoint_number(b"\xff" * 16, 65535), endpoint_number(*ends[3])]
    key6, swapped6 = endpoint_key(*v6)
    assert ends_of(key6) == (v6[1], v6[0]) and swapped6 and key6 != key


def test_ipv6_and_ipv4_with_the_same_low_bits_are_two_connections(tmp_path):
    lo4, hi4 = b"\0\0\0\1", b"\0\0\0\2"
    lo6, hi6 = b"\0" * 15 + b"\1", b"\0" * 15 + b"\2"
    frames = [
        _v4(lo4, hi4, 80, 1000, 1, SYN),
        _v6(lo6, hi6, 80, 1000, 1, SYN),
        _v4(hi4, lo4, 1000, 80, 7, SYN | ACK),
        _v6(hi6, lo6, 1000, 80, 7, SYN | ACK),
    ]
    path = write(tmp_path, "mixed.pcap", pcap(frames, linktype=RAW))
    a = analyze(path)
    assert [c.stream for c in a.connections] == [0, 1]
    assert [list(c.frames) for c in a.connections] == [[1, 3], [2, 4]]
    assert [a.table.stream[i] for i in range(4)] == [0, 1, 0, 1]
    a.close()
    if shutil.which("tshark"):  # the oracle numbers them the same way
        out = subprocess.run(
            ["tshark", "-r", path, "-T", "fields", "-e", "tcp.stream"], capture_output=True, text=True
        )
        assert out.stdout.split() == ["0", "1", "0", "1"]


def test_host_talking_to_its_own_port_is_one_connection(tmp_path):
    me = (b"\x0a\0\0\1", 5555)
    frames = [tcp_frame(me, me, seq=100, flags=SYN)]
    frames += [tcp_frame(me, me, seq=101, flags=PSH | ACK, payload=b"x") for _ in range(3)]
    path = write(tmp_path, "self.pcap", pcap(frames))
    a = analyze(path)
    assert len(a.connections) == 1 and list(a.connections[0].frames) == [1, 2, 3, 4]
    a.close()
    if shutil.which("tshark"):
        out = subprocess.run(
            ["tshark", "-r", path, "-T", "fields", "-e", "tcp.stream"], capture_output=True, text=True
        )
        assert set(out.stdout.split()) == {"0"}


@pytest.mark.parametrize("resol", [6, 9])
def test_pcapng_timestamps_either_side_of_the_fast_path(tmp_path, resol):
    # Below 2**52 units the cursor multiplies in C; at and above it, with Python integers.
    units = [(1 << 52) - 1, 1 << 52, (1 << 52) + 12345, 1_700_000_000_123_456]
    opt = struct.pack("<HHBxxx", 9, 1, resol)
    data = shb() + idb(options=opt) + b"".join(epb(tcp_frame(), ts=u) for u in units)
    cap = open_capture(write(tmp_path, f"ts{resol}.pcapng", data))
    got = [r[0] for r in cap.records()]
    cap.close()
    scale = 10 ** (9 - resol)
    assert got == [min(u * scale, 2**63 - 1) for u in units]


def test_tuple_decoder_agrees_with_the_frame():
    frame = tcp_frame(seq=0xFFFFFFFF, ack=0x80000000, flags=PSH | ACK, payload=b"abc")
    src, dst, sport, dport, seq, ack, flags, toff, poff, pcap_n, plen, win = tcp_segment(
        1, frame, 0, len(frame), len(frame)
    )
    assert (src, dst, sport, dport) == (b"\x0a\0\0\1", b"\x0a\0\0\2", 40000, 80)
    assert (seq, ack, flags, win) == (0xFFFFFFFF, 0x80000000, PSH | ACK, 65535)
    assert frame[poff:] == b"abc" and pcap_n == plen == 3 and toff == 34
    assert tcp_segment(1, frame, 0, 40, len(frame)) == SKIP_SHORT


def test_a_frame_that_raises_leaves_the_columns_whole(tmp_path):
    # The rows are gathered in batches: when frame n's tracking raises, frames 1..n are all in
    # the table (n as not TCP, with its own time), as when the columns were appended per frame.
    k = BATCH // 8 + 1  # the connection whose first frame raises comes after a whole batch
    frames = [f for i in range(k + 2) for f in conversation(GET, OK, isn_c=1000 + i * 100_000)]
    cap = open_capture(write(tmp_path, "many.pcap", pcap(frames)))
    made = []

    def sink(midstream):
        if len(made) == k:
            raise ValueError("no more connections")
        made.append(1)
        return NO_SINK

    table = FrameTable(cap.buf)
    n, _, _, _ = pipeline._read(cap, table, Tracker(cap.buf, sink), None, None)
    stamps = [r[0] for r in cap.records()]
    assert n == 8 * k + 1 and f"stopped at frame {n}" in cap.warnings[0]
    assert all(len(getattr(table, c)) == n for c in FrameTable.COLUMNS)
    assert list(table.ts) == stamps[:n]
    assert list(table.stream) == [i // 8 for i in range(8 * k)] + [-1]
    cap.close()


def test_connections_keep_their_frame_numbers_only_with_the_frame_table():
    """Without the frame table (JSON, text) a connection keeps no frame list, only its first and
    last frame and its counts; they equal what the kept list says (tshark: tcp.stream 0 is frames
    1-14, 1 is 15-25 in httptest.pcap, the seed article's capture)."""
    from tests.conftest import REPO

    path = str(REPO / "samples" / "httptest.pcap")
    kept, lean = analyze(path), analyze(path, frames=False)
    assert [(c.first_frame, c.last_frame) for c in kept.connections] == [(1, 14), (15, 25)]
    for k, c in zip(kept.connections, lean.connections, strict=True):
        assert (c.first_frame, c.last_frame) == (k.frames[0], k.frames[-1]) == (k.first_frame, k.last_frame)
        assert len(c.frames) == 0 and c.frame_count == len(k.frames)


@pytest.mark.parametrize("name", ["httptest.pcap", "port-reuse.pcap", "real/proxy-nginx-race.pcap",
                                  "real/h2-curl-parallel.pcap"])  # fmt: skip
def test_previews_name_the_ends_the_connections_get(name, monkeypatch):
    """The rows listed while loading (client, server, start) are the finished connections' own."""
    monkeypatch.setattr(pipeline, "FIRST_PROGRESS", 3)
    monkeypatch.setattr(pipeline, "PROGRESS_EVERY", 4)
    rows: list = []
    a = pipeline.analyze(str(SAMPLES / name), preview=rows.extend)
    assert [r.stream for r in rows] == [c.stream for c in a.connections][: len(rows)] and rows
    for r in rows:
        c = a.connections[r.stream]
        assert (r.client, r.server, r.start_ns) == (c.client, c.server, c.start_ns)


def _first_records(path, k: int, out) -> None:
    """The classic pcap at ``path`` cut after its first ``k`` records."""
    data = open(path, "rb").read()
    order = "<" if data[:4] == b"\xd4\xc3\xb2\xa1" else ">"
    off = 24
    for _ in range(k):
        (incl,) = struct.unpack_from(order + "I", data, off + 8)
        off += 16 + incl
    out.write_bytes(data[:off])


@pytest.mark.parametrize("limit", [1, 9, 14])
def test_reading_stops_at_the_frame_limit_with_a_warning(tmp_path, monkeypatch, limit):
    """Frame numbers, counts and stream numbers are 32-bit columns: past MAX_FRAMES the reading
    stops (a warning says where) instead of letting them wrap. The analysis is then that of the
    capture's first MAX_FRAMES frames (shown with a small limit)."""
    from katui.report.jsonout import connection_dict

    src = str(SAMPLES / "httptest.pcap")
    cut = tmp_path / "first.pcap"
    _first_records(src, limit, cut)
    monkeypatch.setattr(pipeline, "MAX_FRAMES", limit)
    a = analyze(src)
    assert a.frames == limit and len(a.table) == limit
    why = f"katui reads at most {limit} frames (split the capture, e.g. editcap -c)"
    assert a.warnings == [f"stopped after frame {limit}: {why}"]
    monkeypatch.undo()
    b = analyze(str(cut))
    assert b.warnings == [] and b.frames == limit
    assert [connection_dict(a, c) for c in a.connections] == [connection_dict(b, c) for c in b.connections]
    assert a.connections and a.last_ns == b.last_ns
    a.close()
    b.close()
    whole = analyze(src)  # the limit is not reached: no warning
    assert whole.frames == 25 and whole.warnings == []
    whole.close()


def _relink(frame: bytes, linktype: int) -> bytes:
    """An Ethernet frame's packet under another link header: Linux cooked v1 or v2, raw IP."""
    etype, packet = frame[12:14], frame[14:]
    if linktype == 276:
        return etype + b"\0\0" + struct.pack("!IHBB", 1, 772, 0, 6) + b"\0" * 8 + packet
    if linktype == 113:
        return struct.pack("!HHH", 0, 772, 6) + b"\0" * 8 + etype + packet
    return packet


@pytest.mark.parametrize(("linktype", "header"), [(1, 14), (276, 20), (113, 16), (101, 0), (12, 0), (229, 0)])
def test_link_headers_read_in_c_give_the_same_segments_and_skips(tmp_path, linktype, header):
    """decode() finds the IP header of Ethernet, Linux cooked (tcpdump -i any) and raw-IP frames
    itself (IPv4 and IPv6), and hands everything else to linktypes.ip_offset: the same
    connection as over Ethernet, and the same skip reason for every cut of a frame."""
    v4 = conversation(GET, OK)
    v6 = [b"\0" * 12 + b"\x86\xdd" + _v6(b"\0" * 15 + b"\1", b"\0" * 15 + b"\2", 40000, 80, 1, SYN)]
    frames = [_relink(f, linktype) if linktype != 1 else f for f in v4 + v6]
    a = analyze(write(tmp_path, "l.pcap", pcap(frames, linktype=linktype)))
    assert [(c.stream, c.requests, len(c.frames)) for c in a.connections] == [(0, 1, len(v4)), (1, 0, 1)]
    a.close()
    for frame, ip_len in ((frames[0], 20), (frames[-1], 40)):
        for cut in range(header + ip_len + 21):
            whole = len(frame)
            why = tcp_segment(linktype, frame[:cut], 0, cut, whole)
            if linktype in (1, 276, 113) and cut < header:
                assert why == SKIP_NOT_IP, cut
            elif cut < header + 20 or (ip_len == 40 and cut < header + 40):
                assert why == SKIP_SHORT, cut
