"""Malicious input cannot make katui hold payloads, loop, or allocate without bound."""

from __future__ import annotations

import struct
import time
import tracemalloc

from hostile_pcap import ACK, GET, PSH, conversation, pcap, tcp_frame, write

from katui.analysis.pipeline import analyze
from katui.capture.formats import MAX_RECORD
from katui.http.owner import Collector
from katui.http.parser import MAX_HEAD, HttpHalf
from katui.tcp.tracker import MAX_PENDING

SEGMENTS = 60_000


def _flood(order: list[int], size: int = 1) -> bytes:
    frames = conversation(GET, b"")[:3]
    body = b"A" * size
    frames += [tcp_frame(seq=s, ack=5001, flags=PSH | ACK, payload=body) for s in order]
    return pcap(frames)


def _measure(path: str):
    tracemalloc.start()
    t0 = time.process_time()
    try:
        a = analyze(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    return a, peak, time.process_time() - t0


def test_tiny_segments_each_behind_a_hole(tmp_path):
    # Every segment sits one byte past a hole that is never filled: the held set overflows on every
    # segment. Regression: each overflow scanned all MAX_PENDING entries (388 s for 50k segments).
    path = write(tmp_path, "holes.pcap", _flood([1002 + 2 * i for i in range(SEGMENTS)]))
    a, peak, cpu = _measure(path)
    c = a.connections[0]
    assert c.out_of_order == SEGMENTS and c.lost_segments == SEGMENTS
    # Frame table ~45 B/frame + the per-connection frame list; held entries are offsets, not bytes.
    assert peak < 16 * 1024 * 1024, peak
    assert cpu < 20, cpu
    a.close()


def test_reversed_segments_hold_at_most_max_pending(tmp_path):
    path = write(tmp_path, "rev.pcap", _flood([1001 + 1000 * i for i in range(SEGMENTS // 10)][::-1], 1000))
    a, peak, _ = _measure(path)
    assert a.connections[0].out_of_order <= MAX_PENDING + 1
    # 6 MB of payload in the file: holding payload copies would blow this bound.
    assert peak < 4 * 1024 * 1024, peak
    a.close()


def test_record_claiming_gigabytes(tmp_path):
    frames = conversation(GET, b"HTTP/1.1 204 No Content\r\n\r\n")
    data = pcap(frames) + struct.pack("<IIII", 1, 0, 0x7FFFFFFF, 0x7FFFFFFF) + b"x" * 100
    a, peak, _ = _measure(write(tmp_path, "huge.pcap", data))
    assert a.frames == len(frames) and a.requests == 1
    assert f"limit {MAX_RECORD}" in a.warnings[0]
    assert peak < 2 * 1024 * 1024
    a.close()


def _parse(chunks: list[bytes]) -> tuple[HttpHalf, list]:
    msgs: list = []
    p = HttpHalf(True, Collector(msgs.append))
    for i, c in enumerate(chunks):
        p.feed(c, 0, len(c), i + 1, i)
    return p, msgs


def test_endless_head_is_capped():
    tracemalloc.start()
    try:
        p, _ = _parse([b"GET / HTTP/1.1\r\n"] + [b"X-A: " + b"b" * 8000 + b"\r\n"] * 200)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert p.error and "KiB" in p.error
    assert peak < 8 * MAX_HEAD


def test_chunk_size_two_to_the_sixty():
    head = b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
    tracemalloc.start()
    try:
        p, msgs = _parse([head, b"%x\r\n" % 2**60] + [b"z" * 65536] * 50)
        p.close(99, 99)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert len(msgs) == 1 and not msgs[0].complete
    assert msgs[0].body_bytes == 50 * 65536
    assert peak < 1024 * 1024
