"""The 408 a request crossed (verdicts._crossed_timeout) against 408s that answer a request.

The real case is samples/real/haproxy-preconnect-race.pcap (test_real_captures); these tiny
synthetic captures pin the edges no real server here produces on loopback: a crossing on a
reused connection, a slow application's own 408, a prompt 408 with no silence before it.
"""

from __future__ import annotations

import dpkt

from katui.analysis.pipeline import analyze
from tests.builders import CLIENT, SERVER, tcp_packet, write_pcap

GET = b"GET /x HTTP/1.1\r\nHost: h\r\n\r\n"
OK = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
R408 = b"HTTP/1.1 408 Request Timeout\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"
PSH = dpkt.tcp.TH_ACK | dpkt.tcp.TH_PUSH
FIN = dpkt.tcp.TH_ACK | dpkt.tcp.TH_FIN


def _capture(tmp_path, steps):
    """Handshake (1 ms each way: iRTT 2 ms), then ``steps``: (delay s, 'c'/'s', payload or
    'fin')."""
    c, s, t = 1001, 5001, 0.002
    pkts = [
        (0.0, tcp_packet(seq=1000, flags=dpkt.tcp.TH_SYN)),
        (0.001, tcp_packet(SERVER, CLIENT, 80, 40000, 5000, 1001, dpkt.tcp.TH_SYN | dpkt.tcp.TH_ACK)),
        (0.002, tcp_packet(seq=c, ack=s)),
    ]
    for delay, side, data in steps:
        t += delay
        if side == "c":
            pkts.append((t, tcp_packet(seq=c, ack=s, flags=PSH, payload=data)))
            c += len(data)
        elif data == "fin":
            pkts.append((t, tcp_packet(SERVER, CLIENT, 80, 40000, s, c, FIN)))
            s += 1
        else:
            pkts.append((t, tcp_packet(SERVER, CLIENT, 80, 40000, s, c, PSH, data)))
            s += len(data)
    path = tmp_path / "x.pcap"
    write_pcap(path, pkts)
    (conn,) = analyze(str(path)).connections
    return conn


def test_a_408_one_ms_after_a_reuse_that_followed_10_s_idle_crossed_it(tmp_path):
    conn = _capture(tmp_path, [(0.001, "c", GET), (0.001, "s", OK), (10.0, "c", GET), (0.001, "s", R408),
                               (0.0001, "s", "fin")])  # fmt: skip
    assert (conn.close.reason, conn.close.status, conn.close.exchange) == ("stale-reuse", 408, 2)
    assert "crossed the server's 408" in conn.close.explanation
    assert "10.0 s without a request" in conn.close.explanation


def test_an_applications_slow_408_is_its_answer(tmp_path):
    # 2 s of processing after a request that followed 10 s idle: more than a round trip, so the
    # server had the request; an error close, not a race
    conn = _capture(tmp_path, [(0.001, "c", GET), (0.001, "s", OK), (10.0, "c", GET), (2.0, "s", R408),
                               (0.0001, "s", "fin")])  # fmt: skip
    assert (conn.close.reason, conn.close.status) == ("error-close", 408)


def test_a_prompt_408_without_silence_before_the_request_is_its_answer(tmp_path):
    # the request came 1 ms after the handshake: no request timeout can have run out
    conn = _capture(tmp_path, [(0.001, "c", GET), (0.001, "s", R408), (0.0001, "s", "fin")])
    assert (conn.close.reason, conn.close.status) == ("error-close", 408)


def test_a_request_after_a_408_to_a_silent_connection_crossed_it(tmp_path):
    conn = _capture(tmp_path, [(3.0, "s", R408), (0.0001, "s", "fin"), (0.0002, "c", GET)])
    assert (conn.close.reason, conn.close.status, conn.close.exchange) == ("stale-reuse", 408, 1)
    assert conn.close.wait_ns == 3_002_000_000  # the SYN (the connection's start) to the 408
    assert "got no response" in conn.close.explanation  # no reset in this capture
