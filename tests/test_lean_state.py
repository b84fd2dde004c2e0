"""What a big capture keeps in memory, made smaller without changing what it says: held
segments only while a direction holds some, 1xx responses only on the exchanges that have
them, the report's findings written a slice of streams at a time, read pages released between
progress ticks."""

from __future__ import annotations

import gc
import sys

import pytest

import katui.model.exchange
import katui.tcp.state
from katui.analysis import pipeline
from katui.analysis.pipeline import analyze
from katui.model import Exchange
from katui.model.exchange import InformedExchange
from katui.report import jsonout
from katui.tcp.state import held_count
from katui.tcp.tracker import Tracker
from tests.builders import conversation, write_pcap
from tests.conftest import SAMPLES

C, S = b"\x0a\x00\x00\x01", b"\x0a\x00\x00\x02"
ACK, PSH, SYN = 0x10, 0x08, 0x02


def _seg(seq, ack, flags, plen, client=True):
    src, dst, sp, dp = (C, S, 40000, 80) if client else (S, C, 80, 40000)
    return (src, dst, sp, dp, seq, ack, flags, 0, 0, plen, plen, 65535)


def test_a_direction_holds_segments_only_while_some_wait_for_a_hole():
    t = Tracker(b"x" * 64)
    frames = [_seg(1000, 0, SYN, 0), _seg(5000, 1001, SYN | ACK, 0, client=False)]
    for n, seg in enumerate(frames, 1):
        t.segment(n, n, seg)
    half = t.conns[0].halves[0]
    assert half.held is None
    t.segment(3, 3, _seg(1011, 5001, ACK | PSH, 10))  # ahead of the stream: held
    t.segment(4, 4, _seg(1021, 5001, ACK | PSH, 10))
    assert held_count(half) == 2 and half.held is not None
    t.segment(5, 5, _seg(1001, 5001, ACK | PSH, 10))  # the hole filled: both delivered
    assert half.held is None and held_count(half) == 0 and half.next == 1031
    t.segment(6, 6, _seg(1041, 5001, ACK | PSH, 10))  # held again, anchored anew
    assert held_count(half) == 1 and half.held.origin == 1031


def test_connections_on_reused_endpoints_share_one_endpoints_number():
    """A new connection on an earlier one's endpoints (its SYN a new sequence number: a load
    test's client reusing its port) keeps the earlier one's number object, the index's key."""
    t = Tracker(b"x" * 64)
    for n, seg in enumerate([_seg(1000, 0, SYN, 0), _seg(5000, 1001, SYN | ACK, 0, client=False)], 1):
        t.segment(n, n, seg)
    t.segment(3, 3, _seg(9000, 0, SYN, 0))  # the same ports again, a new connection
    first, second = t.conns
    assert second.stream == 1 and second.ends == first.ends and second.ends is first.ends
    assert next(iter(t.by_ends)) is first.ends and t.by_ends[first.ends] is second


def test_a_sequence_number_0_is_a_known_base():
    """A half's base is known from its first frame on (not from a NONE of its own): an ISN of 0
    is one, its SYN sent again is a retransmission, a SYN with another ISN a new connection."""
    t = Tracker(b"x" * 64)
    syn, synack = _seg(0, 0, SYN, 0), _seg(5000, 1, SYN | ACK, 0, client=False)
    for n, seg in enumerate([syn, syn, synack], 1):
        t.segment(n, n, seg)
    (conn,) = t.conns
    client, server = conn.halves
    assert (client.base, client.frames, conn.retrans, client.next) == (0, 2, 1, 1)
    assert (server.base, server.next) == (5000, 5001)
    t.segment(4, 4, _seg(7, 0, SYN, 0))  # the same ports, another ISN: a new connection
    assert len(t.conns) == 2 and t.conns[1].halves[0].base == 7
    fresh = t.conns[1].halves[1]  # a side that sent nothing yet
    assert (fresh.frames, fresh.base, fresh.next) == (0, 0, -1)
    assert not conn.midstream and not conn.close_rst and conn.irtt_known == 0 and conn.a_hi in (0, 1)
    if not katui.tcp.state.__file__.endswith(".py"):  # compiled: 96 and 160 bytes, not collected
        assert sys.getsizeof(fresh) == 96 and not gc.is_tracked(fresh)
        assert sys.getsizeof(conn) == 160 and not gc.is_tracked(conn)


def test_only_an_exchange_with_1xx_responses_keeps_them(tmp_path):
    post = b"POST /up HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\n\r\n"
    get = b"GET / HTTP/1.1\r\nHost: h\r\n\r\n"
    answer = b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nok"
    ok = b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"
    write_pcap(tmp_path / "continue.pcap", conversation([get, post, get], [ok, answer, ok]))
    a = analyze(str(tmp_path / "continue.pcap"))
    try:
        plain, informed, last = a.connections[0].exchanges
        assert type(plain) is Exchange and type(last) is Exchange and plain.informational == ()
        assert type(informed) is InformedExchange
        assert [m.status for m in informed.informational] == [100] and informed.response.status == 201
        assert (informed.n, informed.reused, informed.req, last.n) == (2, True, plain.req + 2, 3)
        row = jsonout.to_dict(a)["connections"][0]["requests"][1]
        assert row["informational"] == [100] and row["reused"] is True
        if not katui.model.exchange.__file__.endswith(".py"):
            assert sys.getsizeof(plain) == 48
    finally:
        a.close()


@pytest.mark.parametrize(
    "name", ["real/clients-ab.pcap", "http10.pcap", "stale-reuse.pcap", "port-reuse.pcap"]
)
def test_the_reports_head_is_its_header_as_the_encoder_writes_it(name, monkeypatch):
    monkeypatch.setattr(jsonout, "STREAMS_SLICE", 2)  # findings of 3+ streams cross a slice
    a = analyze(str(SAMPLES / name))
    try:
        assert jsonout._head_json(a) == jsonout._dump(jsonout._header(a))
        assert any(len(f.streams) > 4 for f in a.findings) or name != "real/clients-ab.pcap"
    finally:
        a.close()


def test_read_pages_are_released_between_progress_ticks(monkeypatch):
    released, ticks = [], []
    release = pipeline._release

    def counted(buf, start, upto, *lag):
        released.append((upto, *lag))
        return release(buf, start, upto, *lag)

    monkeypatch.setattr(pipeline, "_release", counted)
    monkeypatch.setattr(pipeline, "RELEASE_EVERY", 0)
    monkeypatch.setattr(pipeline, "RELEASE_LAG", 0)
    monkeypatch.setattr(pipeline, "RELEASE_FRAMES", 4)
    monkeypatch.setattr(pipeline, "PROGRESS_EVERY", 32)
    monkeypatch.setattr(pipeline, "FIRST_PROGRESS", 6)
    a = analyze(str(SAMPLES / "real" / "clients-ab.pcap"), progress=lambda n, off, size: ticks.append(n))
    try:
        assert a.frames == 100
        # Progress as before: after FIRST_PROGRESS frames, every PROGRESS_EVERY, at the end of
        # the reading loop and once the analysis is done.
        assert ticks == [6, 32, 64, 96, 100, 100]
        assert len(released) > 3 * len(ticks)  # (every 4 frames, each past RELEASE_EVERY)
        # The whole file read, none of it stays: the last release keeps no recent pages.
        assert released[-1] == (a.capture.size, 0) and all(len(r) == 1 for r in released[:-1])
    finally:
        a.close()


@pytest.mark.parametrize(
    "evidence",
    [
        "response 10 (frame 2965) said 'Connection: close'",
        "request 1 (frame 4294967295) said 'Connection: close'",
        "request 1 (frame 4294967296) said it",  # past 32 bits: kept as it is
        "request 1 (frame 12345678901) said it",
        "request 1 (frame 0) said it",
        "request 1 (frame 012) said it",
        "request 1 (frame 12 said it",
        "request 1 (frame 12",
        "request 1 (frame ",
        "(frame 7)",
        "a (frame x) then (frame 8)",
        "two (frame 3) and (frame 4)",
        "x" * 0xFF01 + " (frame 5)",
        "no frame here",
    ],
)
def test_a_close_reads_back_its_evidence_as_given(evidence):
    from dataclasses import replace

    from katui.model import Close

    close = Close(
        "server", "fin", 9, 10, None, "request-limit", "why", "server", (), (evidence,), closing=True
    )
    again = Close(
        "server", "fin", 9, 10, None, "request-limit", "why", "server", (), (evidence,), closing=True
    )
    assert close.evidence == (evidence, "server FIN frame 9")
    assert (
        close == again
        and hash(close) == hash(again)
        and replace(close, reason="x").evidence == close.evidence
    )
    two = Close(None, None, None, None, None, "open", "y", None, (), (evidence, evidence))
    assert two.evidence == (evidence, evidence)


def test_connections_share_the_text_around_their_evidences_frame_numbers():
    from katui.model import Close

    a, b = (
        Close("server", "fin", f, f, None, "r", "y", None, (), (f"response 2 (frame {f}) said it",))
        for f in (17, 9000)
    )
    assert a._evidence is b._evidence  # one string for both
    assert (a.evidence, b.evidence) == (
        ("response 2 (frame 17) said it",),
        ("response 2 (frame 9000) said it",),
    )


def test_long_finding_stream_lists_are_kept_4_bytes_a_number():
    """Findings list the same connections several times over: more than a few numbers are kept
    as Streams (4 bytes each, no int object each), equal to and hashed as the tuple; a short
    list and numbers that are no stream's stay the tuple given."""
    from katui.model import COMPACT_STREAMS, Finding, Streams

    many = tuple(range(1000, 1000 + COMPACT_STREAMS + 1))
    f = Finding("reuse", "info", 1000, None, "x", streams=many)
    assert type(f.streams) is Streams and f.streams.itemsize == 4
    assert f.streams == many and many == f.streams and not (f.streams != many)
    assert f.streams != many[:-1] and f.streams != (*many[:-1], 7)
    assert hash(f) == hash(Finding("reuse", "info", 1000, None, "x", streams=many))
    assert repr(f.streams) == repr(many) and list(f.streams[:2]) == [1000, 1001]
    short = Finding("reuse", "info", 1, None, "x", streams=(1, 2))
    assert type(short.streams) is tuple
    odd = Finding("damage", "info", None, None, "z", streams=(*many, -1))
    assert type(odd.streams) is tuple and odd.streams[-1] == -1
