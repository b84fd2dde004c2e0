"""Small synthetic captures of both legs of a proxy, for the cases no real capture here shows
(a load balancer on another host, hostile tracing headers, proxy chains): each connection is
a handshake, request/response payloads with their ACKs, and an optional close."""

from __future__ import annotations

import dpkt

from tests.builders import tcp_packet, write_pcap

SYN, ACK, FIN, PSH = dpkt.tcp.TH_SYN, dpkt.tcp.TH_ACK, dpkt.tcp.TH_FIN, dpkt.tcp.TH_PUSH


def conn(cip, cport, sip, sport, t0, events, close_t=None, server_close=False):
    """Packets of one connection: ``events`` are (time, 'c' or 's', payload); closed by the
    client (or the server) at ``close_t`` when given."""
    seq = {"c": 1000, "s": 5000}
    out = [
        (t0, tcp_packet(cip, sip, cport, sport, 999, 0, SYN)),
        (t0 + 0.0001, tcp_packet(sip, cip, sport, cport, 4999, 1000, SYN | ACK)),
        (t0 + 0.0002, tcp_packet(cip, sip, cport, sport, 1000, 5000, ACK)),
    ]
    ends = {"c": (cip, sip, cport, sport), "s": (sip, cip, sport, cport)}
    for t, who, payload in events:
        other = "s" if who == "c" else "c"
        out.append((t, tcp_packet(*ends[who], seq[who], seq[other], ACK | PSH, payload)))
        seq[who] += len(payload)
        out.append((t + 0.00001, tcp_packet(*ends[other], seq[other], seq[who], ACK)))
    if close_t is not None:
        first, second = ("s", "c") if server_close else ("c", "s")
        out.append((close_t, tcp_packet(*ends[first], seq[first], seq[second], FIN | ACK)))
        out.append((close_t + 0.0001, tcp_packet(*ends[second], seq[second], seq[first] + 1, FIN | ACK)))
        out.append((close_t + 0.0002, tcp_packet(*ends[first], seq[first] + 1, seq[second] + 1, ACK)))
    return out


def req(method: str, uri: str, extra: bytes = b"") -> bytes:
    """A request head (``extra``: more header lines, each ending in CRLF)."""
    return f"{method} {uri} HTTP/1.1\r\nHost: h\r\n".encode() + extra + b"\r\n"


def resp(status: int = 200, extra: bytes = b"") -> bytes:
    """A response with a 2-byte body."""
    return f"HTTP/1.1 {status} OK\r\nContent-Length: 2\r\n".encode() + extra + b"\r\nok"


def write(path, conns) -> str:
    """Write the connections' packets, in time order, to ``path``; return it as a string."""
    write_pcap(str(path), sorted((p for c in conns for p in c), key=lambda x: x[0]))
    return str(path)
