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


def test_a_408_that_leaves_the_connection_open_is_its_answer(tmp_path):
    # no 'Connection: close' and no close for 30 s: the server chose to answer, it was not closing
    r408 = b"HTTP/1.1 408 Request Timeout\r\nContent-Length: 0\r\n\r\n"
    conn = _capture(tmp_path, [(3.0, "c", GET), (0.0001, "s", r408), (30.0, "s", "fin")])
    assert conn.close.reason != "stale-reuse"


def test_a_408_a_round_trip_after_the_request_is_its_answer(tmp_path):
    # iRTT 2 ms here: a 408 8 ms after a request that followed 1 s of silence took longer than a
    # round trip, so the server could have read the request first (an application's own 408)
    conn = _capture(tmp_path, [(1.0, "c", GET), (0.008, "s", R408), (0.0001, "s", "fin")])
    assert (conn.close.reason, conn.close.status) == ("error-close", 408)


def test_without_the_handshake_the_silence_is_unknown_and_nothing_crossed(tmp_path):
    # a capture that starts mid-connection: 10 s of silence seen, requests may have come before
    c, s = 1001, 5001
    pkts = [
        (0.0, tcp_packet(seq=c, ack=s)),
        (10.0, tcp_packet(seq=c, ack=s, flags=PSH, payload=GET)),
        (10.0001, tcp_packet(SERVER, CLIENT, 80, 40000, s, c + len(GET), PSH, R408)),
        (10.0002, tcp_packet(SERVER, CLIENT, 80, 40000, s + len(R408), c + len(GET), FIN)),
    ]
    path = tmp_path / "mid.pcap"
    write_pcap(path, pkts)
    (conn,) = analyze(str(path)).connections
    assert conn.close.reason != "stale-reuse"


def test_a_client_half_close_before_the_response_is_not_leaving_it(tmp_path):
    # the client sends its request and FIN (shutdown(SHUT_WR)); the server's response comes
    # after: the client did not leave a response mid-way, and no negative wait is written
    part = b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nabc"
    pkts = [
        (0.0, tcp_packet(seq=1000, flags=dpkt.tcp.TH_SYN)),
        (0.001, tcp_packet(SERVER, CLIENT, 80, 40000, 5000, 1001, dpkt.tcp.TH_SYN | dpkt.tcp.TH_ACK)),
        (0.002, tcp_packet(seq=1001, ack=5001)),
        (0.003, tcp_packet(seq=1001, ack=5001, flags=PSH, payload=GET)),
        (0.004, tcp_packet(seq=1001 + len(GET), ack=5001, flags=FIN)),
        (0.504, tcp_packet(SERVER, CLIENT, 80, 40000, 5001, 1002 + len(GET), PSH, part)),
    ]
    path = tmp_path / "half.pcap"
    write_pcap(path, pkts)
    (conn,) = analyze(str(path)).connections
    assert conn.close.reason != "client-gave-up"
    assert conn.close.wait_ns is None or conn.close.wait_ns >= 0


def test_a_408_after_idle_on_a_reused_connection_is_labelled_no_request(tmp_path):
    from katui.analysis.requests import NO_REQUEST, missing_request

    conn = _capture(tmp_path, [(0.001, "c", GET), (0.001, "s", OK), (5.0, "s", R408), (0.0001, "s", "fin")])
    (ex,) = [e for e in conn.exchanges if e.req < 0]
    assert missing_request(conn, ex) == NO_REQUEST
