"""TCP reassembly: reordered, duplicated and overlapping segments give the in-order messages."""

from __future__ import annotations

import random

from hostile_pcap import ACK, CLIENT, PSH, SERVER, SYN, pcap, tcp_frame, write
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from katui.analysis.pipeline import analyze

REQ = b"".join(
    b"GET /%d HTTP/1.1\r\nHost: h\r\nContent-Length: %d\r\n\r\n" % (i, i) + b"q" * i for i in range(6)
)
RESP = b"".join(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % (7 * i) + b"r" * (7 * i) for i in range(6))


def _pieces(data: bytes, rng: random.Random, overlap: bool) -> list[tuple[int, bytes]]:
    """Cut ``data`` into (offset, bytes) segments; with ``overlap`` some reach back into earlier ones."""
    out, pos = [], 0
    while pos < len(data):
        size = rng.randint(1, 40)
        start = max(0, pos - rng.randint(0, 10)) if overlap and pos else pos
        out.append((start, data[start : pos + size]))
        pos += size
    return out


def _capture(isn_c: int, isn_s: int, rng: random.Random | None, overlap: bool, dups: int) -> bytes:
    frames = [
        tcp_frame(seq=isn_c, flags=SYN),
        tcp_frame(SERVER, CLIENT, seq=isn_s, ack=isn_c + 1, flags=SYN | ACK),
        tcp_frame(seq=isn_c + 1, ack=isn_s + 1),
    ]
    for src, dst, data, isn, peer in (
        (CLIENT, SERVER, REQ, isn_c, isn_s + 1),
        (SERVER, CLIENT, RESP, isn_s, isn_c + 1 + len(REQ)),
    ):
        segs = _pieces(data, rng or random.Random(0), overlap and rng is not None)
        if rng is not None:
            segs += [rng.choice(segs) for _ in range(dups)]
            rng.shuffle(segs)
        frames += [
            tcp_frame(src, dst, seq=isn + 1 + off, ack=peer, flags=PSH | ACK, payload=p) for off, p in segs
        ]
    return pcap(frames)


def _exchanges(tmp_path, name: str, data: bytes) -> list[tuple]:
    a = analyze(write(tmp_path, name, data))
    (c,) = a.connections
    got = [
        (
            e.request.uri,
            e.request.body_bytes,
            e.request.complete,
            e.response.status,
            e.response.body_bytes,
            e.response.complete,
        )
        for e in c.exchanges
    ]
    a.close()
    return got


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    seed=st.integers(0, 2**32),
    overlap=st.booleans(),
    dups=st.integers(0, 8),
    isn_c=st.one_of(st.integers(0, 2**32 - 1), st.integers(2**32 - 300, 2**32 - 1)),
    isn_s=st.one_of(st.integers(0, 2**32 - 1), st.integers(2**32 - 300, 2**32 - 1)),
)
def test_any_delivery_order_same_messages(tmp_path, seed, overlap, dups, isn_c, isn_s):
    in_order = _exchanges(tmp_path, "a.pcap", _capture(isn_c, isn_s, None, False, 0))
    assert [x[0] for x in in_order] == [f"/{i}" for i in range(6)]
    assert all(x[2] and x[5] for x in in_order)
    shuffled = _capture(isn_c, isn_s, random.Random(seed), overlap, dups)
    assert _exchanges(tmp_path, "b.pcap", shuffled) == in_order


def test_first_segment_shorter_than_the_method(tmp_path):
    frames = [
        tcp_frame(seq=0, flags=SYN),
        tcp_frame(SERVER, CLIENT, seq=0, ack=1, flags=SYN | ACK),
        tcp_frame(seq=1, ack=1, flags=PSH | ACK, payload=REQ[:3]),
        tcp_frame(seq=4, ack=1, flags=PSH | ACK, payload=REQ[3:]),
    ]
    a = analyze(write(tmp_path, "g.pcap", pcap(frames)))
    assert a.requests == 6


def test_longer_segment_at_a_held_sequence_number_wins(tmp_path):
    # Regression: a shorter out-of-order segment held first made a longer one at the same seq be
    # dropped, and its extra bytes were reported as a hole (lost segment, incomplete message).
    frames = [
        tcp_frame(seq=0, flags=SYN),
        tcp_frame(SERVER, CLIENT, seq=0, ack=1, flags=SYN | ACK),
        tcp_frame(seq=1 + 30, ack=1, flags=PSH | ACK, payload=REQ[30:35]),
        tcp_frame(seq=1 + 30, ack=1, flags=PSH | ACK, payload=REQ[30:]),
        tcp_frame(seq=1, ack=1, flags=PSH | ACK, payload=REQ[:30]),
    ]
    a = analyze(write(tmp_path, "r.pcap", pcap(frames)))
    assert a.connections[0].lost_segments == 0 and a.requests == 6
    a.close()


def test_method_split_over_three_tiny_segments(tmp_path):
    """'G' + 'E' + 'T / ...': every held piece of the prefix is parsed, not only the first."""
    frames = [
        tcp_frame(seq=0, flags=SYN),
        tcp_frame(SERVER, CLIENT, seq=0, ack=1, flags=SYN | ACK),
        tcp_frame(seq=1, ack=1, flags=PSH | ACK, payload=REQ[:1]),
        tcp_frame(seq=2, ack=1, flags=PSH | ACK, payload=REQ[1:2]),
        tcp_frame(seq=3, ack=1, flags=PSH | ACK, payload=REQ[2:]),
    ]
    a = analyze(write(tmp_path, "g3.pcap", pcap(frames)))
    (c,) = a.connections
    assert [e.request.uri for e in c.exchanges] == [f"/{i}" for i in range(6)]
    assert c.http_error is None


def test_held_segments_are_let_go_once_delivered(tmp_path, monkeypatch):
    """A half holds out-of-order segments (``Half.held``) only while some wait: once the capture
    is read every one was delivered or given up, and nothing is left held (memory on big
    captures: halves that hold nothing carry no dict or heap)."""
    from katui.analysis import pipeline

    left = []
    freeze = pipeline._freeze

    def check(working, table):
        left.extend(h.held for c in working for h in c.halves if h.held is not None)
        return freeze(working, table)

    monkeypatch.setattr(pipeline, "_freeze", check)
    for seed in range(20):
        data = _capture(2**32 - 100, 7, random.Random(seed), overlap=True, dups=4)
        got = _exchanges(tmp_path, f"s{seed}.pcap", data)
        assert [x[0] for x in got] == [f"/{i}" for i in range(6)]
        assert left == []
