"""Held out-of-order segments cost O(log n) per packet, whatever the peer sends.

A client that parks MAX_PENDING segments far ahead of the stream and then sends many tiny
in-order segments (each one used to re-scan the held set), while the server ACKs one byte beyond
them (each ACK used to search the held set for its first segment): the flood must cost about the
same as the same flood with nothing held. Compared as a ratio of CPU times measured in the same
process, so machine speed cancels out; a scan per packet makes the ratio ~100.
"""

from __future__ import annotations

import time

from katui.tcp.state import held_count
from katui.tcp.tracker import MAX_PENDING, Tracker

C, S = b"\x0a\x00\x00\x01", b"\x0a\x00\x00\x02"
ACK, PSH, SYN = 0x10, 0x08, 0x02
ROUNDS = 5_000


def _seg(seq, ack, flags, plen, client=True):
    src, dst, sp, dp = (C, S, 40000, 80) if client else (S, C, 80, 40000)
    return (src, dst, sp, dp, seq, ack, flags, 0, 0, plen, plen, 65535)


def _flood(held: int) -> tuple[float, int]:
    buf = b"x" * 64
    t = Tracker(buf)
    frames = [_seg(1000, 0, SYN, 0), _seg(5000, 1001, SYN | ACK, 0, client=False)]
    frames += [_seg(1001 + 1_000_000 + i * 10, 5001, ACK | PSH, 1) for i in range(held)]
    for n, seg in enumerate(frames, 1):
        t.segment(n, n, seg)
    flood = []
    for i in range(ROUNDS):
        flood.append(_seg(1001 + i, 5001, ACK | PSH, 1))
        flood.append(_seg(5001, 1001 + i + 2, ACK, 0, client=False))
    start = time.process_time()
    for n, seg in enumerate(flood, len(frames) + 1):
        t.segment(n, n, seg)
    return time.process_time() - start, held_count(t.conns[0].halves[0])


def test_flood_against_a_full_held_set_costs_like_an_empty_one():
    empty, _ = min(_flood(0) for _ in range(3))
    full, still_held = min(_flood(MAX_PENDING - 1) for _ in range(3))
    assert still_held == MAX_PENDING - 1  # the parked segments really were held throughout
    assert full < 4 * empty + 0.05, (full, empty)
