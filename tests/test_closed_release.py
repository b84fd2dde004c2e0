"""A direction's HTTP parser is let go when its FIN is delivered (memory on load-test captures),
and whatever still comes after the FIN lands exactly where it did while parsers were kept:
bytes after a FIN, a FIN retransmitted, an ACK of bytes never seen (a hole), ports reused."""

from __future__ import annotations

import shutil
import subprocess

import dpkt
import pytest

from katui.analysis import pipeline
from katui.http import conversation as http_conversation
from katui.report import jsonout
from tests.builders import CLIENT, SERVER, conversation, tcp_packet, write_pcap
from tests.conftest import SAMPLES

ACK, PSH, FIN, SYN = dpkt.tcp.TH_ACK, dpkt.tcp.TH_PUSH, dpkt.tcp.TH_FIN, dpkt.tcp.TH_SYN
REQ = b"GET /a HTTP/1.1\r\nHost: x\r\n\r\n"
RESP = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"


def _server(seq: int, ack: int, flags: int, payload: bytes = b"") -> bytes:
    return tcp_packet(SERVER, CLIENT, 80, 40000, seq, ack, flags, payload)


def _late_after_fins() -> list[tuple[float, bytes]]:
    """Two exchanges and both FINs (builders.conversation), then what a hostile or odd peer
    may still send: a request and a response after the FINs, the client's FIN again, an ACK of
    7 client bytes the capture never had, a request after that hole, and a SYN reusing the
    ports with a new ISN."""
    packets = conversation([REQ, REQ], [RESP, RESP])
    c, s = 1001 + 2 * len(REQ), 5001 + 2 * len(RESP)  # each side's FIN sequence number
    after = c + 1 + len(REQ) + 7  # past the late request and the 7-byte hole
    late = [
        tcp_packet(seq=c + 1, ack=s + 1, flags=ACK | PSH, payload=REQ),
        _server(s + 1, c + 1 + len(REQ), ACK | PSH, RESP),
        tcp_packet(seq=c, ack=s + 1, flags=FIN | ACK),
        _server(s + 1 + len(RESP), after, ACK),
        tcp_packet(seq=after, ack=s + 1 + len(RESP), flags=ACK | PSH, payload=REQ),
        tcp_packet(seq=77777, flags=SYN),
    ]
    t = packets[-1][0]
    return packets + [(t + 0.01 * (i + 1), p) for i, p in enumerate(late)]


def _payload_frames(packets: list[tuple[float, bytes]], payload: bytes) -> list[int]:
    """Frame numbers of the packets that carry ``payload``."""
    return [i for i, (_, p) in enumerate(packets, 1) if dpkt.ip.IP(p).data.data == payload]


def _json(path: str) -> str:
    a = pipeline.analyze(path)
    try:
        return "".join(jsonout.chunks(a))
    finally:
        a.close()


def _sinks_after_reading(path: str, monkeypatch) -> list[tuple]:
    """Per connection, at the end of the reading pass (the freeze then releases everything):
    (whether each direction's parser is its conversation's own, the client direction, the
    number of exchanges)."""
    got = []
    read = pipeline._read

    def keep(cap, table, tracker, *rest):
        out = read(cap, table, tracker, *rest)
        for c in tracker.conns:
            conv = c.sink
            owns = tuple(p is not None and p.owner is conv for p in (conv.p0, conv.p1))
            got.append((owns, conv.client_direction(), len(conv.exchanges)))
        return out

    monkeypatch.setattr(pipeline, "_read", keep)
    pipeline.analyze(path).close()
    return got


def test_parsers_of_a_closed_connection_are_released(tmp_path, monkeypatch):
    """Both FINs delivered: neither direction keeps a parser of its own (shared stand-ins)."""
    path = tmp_path / "closed.pcap"
    write_pcap(path, conversation([REQ, REQ], [RESP, RESP]))
    assert _sinks_after_reading(str(path), monkeypatch) == [((False, False), 0, 2)]


def test_open_connection_keeps_its_parsers(tmp_path, monkeypatch):
    """No FIN: the parsers stay (bytes may still come)."""
    path = tmp_path / "open.pcap"
    write_pcap(path, conversation([REQ], [RESP], close="none"))
    assert _sinks_after_reading(str(path), monkeypatch) == [((True, True), 0, 1)]


def test_bytes_after_the_fins_reopen_the_parsers(tmp_path, monkeypatch):
    """The late request and response after the FINs make parsers of their own again."""
    path = tmp_path / "late.pcap"
    write_pcap(path, _late_after_fins())
    first, reused = _sinks_after_reading(str(path), monkeypatch)
    assert first == ((True, True), 0, 4)
    assert reused[0] == (False, False)  # a SYN alone: no HTTP


def test_late_frames_land_as_with_parsers_kept(tmp_path, monkeypatch):
    """Releasing changes no output: the JSON report is the same with the release disabled, and
    every request and response (also those after the FINs and the hole) is found where it was
    sent."""
    packets = _late_after_fins()
    path = str(tmp_path / "late.pcap")
    write_pcap(path, packets)
    released = _json(path)
    monkeypatch.setattr(http_conversation, "stand_in", lambda p: None)  # the release disabled
    assert _json(path) == released
    a = pipeline.analyze(path)
    ex = a.connections[0].exchanges
    assert [e.request.frame for e in ex] == _payload_frames(packets, REQ)
    assert [e.response.frame for e in ex if e.response] == _payload_frames(packets, RESP)
    assert [c.stream for c in a.connections] == [0, 1]
    a.close()


@pytest.mark.parametrize(
    "name",
    [
        "real/clients-ab-k.pcap",
        "real/apache-limit-curl-clientfin.pcap",
        "real/nginx-partial-body.pcap",
        "real/haproxy-ka.pcap",
        "hostile.pcap",
        "pipelining.pcap",
        "port-reuse.pcap",
    ],
)
def test_real_captures_unchanged_by_the_release(name, monkeypatch):
    """Captures of real servers (and a hostile one): the same report with the release disabled."""
    path = SAMPLES / name
    if not path.exists():
        pytest.skip(f"{name} not in samples")
    released = _json(str(path))
    monkeypatch.setattr(http_conversation, "stand_in", lambda p: None)  # the release disabled
    assert _json(str(path)) == released


@pytest.mark.skipif(shutil.which("tshark") is None, reason="tshark not installed")
def test_late_frames_match_wireshark(tmp_path):
    """tshark -2 numbers the streams and finds the requests and responses at the same frames
    (also those sent after the FINs, and the request after the hole)."""
    path = str(tmp_path / "late.pcap")
    write_pcap(path, _late_after_fins())
    fields = ["frame.number", "tcp.stream", "http.request", "http.response"]
    cmd = ["tshark", "-2", "-n", "-r", path, "-T", "fields", "-E", "separator=;"]
    out = subprocess.run(
        cmd + [a for f in fields for a in ("-e", f)], capture_output=True, text=True, check=True
    )
    rows = [line.split(";") for line in out.stdout.splitlines()]
    a = pipeline.analyze(path)
    assert [int(stream) for _, stream, _, _ in rows] == list(a.table.stream)
    ex = a.connections[0].exchanges
    assert [int(f) for f, _, req, _ in rows if req] == [e.request.frame for e in ex]
    assert [int(f) for f, _, _, resp in rows if resp] == [e.response.frame for e in ex if e.response]
    a.close()
