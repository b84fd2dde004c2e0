"""Cases an independent review of the no-reuse grouping and the handshake-only TLS verdict
found (small built captures): CONNECT tunnels, agents that only pose as browsers, a reset
after a ClientHello, --ladder with --view."""

from __future__ import annotations

import dpkt
import pytest
from builders import CLIENT, SERVER, tcp_packet, write_pcap
from tls_helpers import client_hello, record

from katui.analysis.pipeline import analyze
from katui.cli import main
from tests.conftest import SAMPLES

ACK, PSH, SYN, FIN, RST = (dpkt.tcp.TH_ACK, dpkt.tcp.TH_PUSH, dpkt.tcp.TH_SYN, dpkt.tcp.TH_FIN,
                           dpkt.tcp.TH_RST)  # fmt: skip
OK = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi"


def _conn(t, sport, request, response, after=()):
    """One connection left open: handshake, one exchange, then ``after`` (client?, bytes)."""
    c, s = 1000, 5000
    out = [(t, tcp_packet(sport=sport, seq=c, flags=SYN)),
           (t + 0.001, tcp_packet(SERVER, CLIENT, 80, sport, s, c + 1, SYN | ACK))]  # fmt: skip
    c, s = c + 1, s + 1
    out.append((t + 0.002, tcp_packet(sport=sport, seq=c, ack=s)))
    out.append((t + 0.003, tcp_packet(sport=sport, seq=c, ack=s, flags=ACK | PSH, payload=request)))
    c += len(request)
    out.append((t + 0.004, tcp_packet(SERVER, CLIENT, 80, sport, s, c, ACK | PSH, response)))
    s += len(response)
    t += 0.5
    for from_client, data in after:
        if from_client:
            out.append((t, tcp_packet(sport=sport, seq=c, ack=s, flags=ACK | PSH, payload=data)))
            c += len(data)
        else:
            out.append((t, tcp_packet(SERVER, CLIENT, 80, sport, s, c, ACK | PSH, data)))
            s += len(data)
        t += 0.01
    return out


def _four(path, request, response=OK, after=()):
    """Four connections 3 s apart, each left open after its exchange."""
    packets = sorted((p for i in range(4) for p in _conn(i * 3.0, 40000 + i, request, response, after)),
                     key=lambda p: p[0])  # fmt: skip
    write_pcap(str(path), packets)
    return analyze(str(path))


def _get(agent: bytes) -> bytes:
    return b"GET / HTTP/1.1\r\nHost: api.example\r\nUser-Agent: " + agent + b"\r\n\r\n"


def _no_reuse(a):
    return [f for f in a.findings if f.kind == "no-reuse"]


def test_connect_tunnels_are_no_idle_pool_connections(tmp_path):
    """Four open CONNECT tunnels (TLS bytes after the 200) to one proxy: no missed reuse."""
    a = _four(tmp_path / "connect.pcap", b"CONNECT a.example:443 HTTP/1.1\r\nHost: a.example:443\r\n\r\n",
              b"HTTP/1.1 200 Connection established\r\n\r\n",
              [(True, b"\x16\x03\x01\x00\x05hello"), (False, b"\x16\x03\x03\x00\x05hello")])  # fmt: skip
    assert [c.close.reason for c in a.connections] == ["open"] * 4
    assert not _no_reuse(a)


@pytest.mark.parametrize(
    "agent, browser",
    [
        (b"Mozilla/5.0 (Windows NT; Windows NT 10.0; en-US) WindowsPowerShell/5.1.19041.3031", False),
        (b"Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)", False),
        (b"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36",
         True),
    ],
)  # fmt: skip
def test_only_a_browser_engine_makes_a_browser(tmp_path, agent, browser):
    """Four idle connections left open and a new one each time: a habit. PowerShell and
    crawlers send 'Mozilla/5.0 (...)' too; their habit is theirs to fix."""
    (f,) = _no_reuse(_four(tmp_path / "c.pcap", _get(agent)))
    assert ("(web browser)" in f.text) is browser
    assert f.severity == ("info" if browser else "warning")
    assert ("Nothing to change in the browser" in f.advice) is browser


def _tls_hello_then(path, server_bytes: bytes, close: int):
    c, s = 1000, 5000
    packets = [(0, tcp_packet(dport=443, seq=c, flags=SYN)),
               (0.001, tcp_packet(SERVER, CLIENT, 443, 40000, s, c + 1, SYN | ACK))]  # fmt: skip
    c, s = c + 1, s + 1
    packets.append((0.002, tcp_packet(dport=443, seq=c, ack=s)))
    hello = record(22, client_hello(tls13=False))
    packets.append((0.003, tcp_packet(dport=443, seq=c, ack=s, flags=ACK | PSH, payload=hello)))
    c += len(hello)
    if server_bytes:
        packets.append((0.004, tcp_packet(SERVER, CLIENT, 443, 40000, s, c, ACK | PSH, server_bytes)))
        s += len(server_bytes)
    packets.append((0.055, tcp_packet(SERVER, CLIENT, 443, 40000, s, c, close)))
    write_pcap(str(path), packets)
    return analyze(str(path)).connections[0]


@pytest.mark.parametrize(
    "server_bytes, close, reason",
    [
        (b"", RST | ACK, "reset"),  # a reset after the ClientHello is said as a reset
        # a fatal handshake_failure alert in the clear, then a reset or a FIN: the handshake
        # failed (these were 'unknown' and 'unused' before alerts in the clear were read)
        (record(21, b"\x02\x28"), RST | ACK, "tls-failed"),
        (record(21, b"\x02\x28"), FIN | ACK, "tls-failed"),
        (record(21, b"\x01\x00"), FIN | ACK, "unused"),  # a close_notify is no failure
        (b"", FIN | ACK, "unused"),  # closed without a request: no keep-alive close
    ],
)
def test_a_handshake_ended_by_a_reset_is_not_called_unused(tmp_path, server_bytes, close, reason):
    c = _tls_hello_then(tmp_path / "t.pcap", server_bytes, close)
    assert c.requests == 0 and c.close.reason == reason


def test_ladder_with_a_view_is_refused(capsys):
    assert main(["report", str(SAMPLES / "httptest.pcap"), "--ladder", "--view", "requests"]) == 2
    assert "--ladder is for the text format" in capsys.readouterr().err


def test_a_connect_refused_by_the_proxy_leaves_an_http_connection(tmp_path):
    """A CONNECT answered 407 is no tunnel (the parser switches only on 2xx): the connection
    stays HTTP and idle, and new connections beside it are missed reuse."""
    a = _four(tmp_path / "c407.pcap", b"CONNECT a.example:443 HTTP/1.1\r\nHost: a.example:443\r\n\r\n",
              b"HTTP/1.1 407 Proxy Authentication Required\r\nContent-Length: 0\r\n\r\n")  # fmt: skip
    (f,) = _no_reuse(a)
    assert f.count == 3


def test_an_open_connection_ending_in_a_response_without_request(tmp_path):
    """A server's extra response after the answered one: the last exchange has no request
    (reading its method must not fail) and the connection is idle since it."""
    a = _four(tmp_path / "extra.pcap", _get(b"python-requests/2.31"), OK, [(False, OK)])
    assert [c.exchanges[-1].req for c in a.connections] == [-1] * 4
    (f,) = _no_reuse(a)
    assert f.count == 3
