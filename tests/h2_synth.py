"""Hand-made cleartext HTTP/2 (h2c, prior knowledge) captures for the cases real servers make
rarely or never on demand (a GOAWAY flood, thousands of streams left open, a double GOAWAY
without the responses in between). Header blocks are encoded with hpack's own Encoder; the TCP
segments come from :mod:`tests.builders`."""

from __future__ import annotations

import struct

import dpkt
from hpack import Encoder

from katui.http2 import PREFACE
from katui.http2.frames import DATA, END_HEADERS, END_STREAM, GOAWAY, HEADERS, RST_STREAM, SETTINGS
from tests.builders import CLIENT, SERVER, tcp_packet, write_pcap

FIN = dpkt.tcp.TH_FIN | dpkt.tcp.TH_ACK
PUSH = dpkt.tcp.TH_ACK | dpkt.tcp.TH_PUSH


def frame(ftype: int, flags: int, stream: int, payload: bytes = b"", length: int | None = None) -> bytes:
    """One HTTP/2 frame (``length`` overrides the header's length field)."""
    n = len(payload) if length is None else length
    return struct.pack(">I", n)[1:] + bytes((ftype, flags)) + struct.pack(">I", stream) + payload


def start() -> bytes:
    """The client's connection preface and an empty SETTINGS."""
    return PREFACE + frame(SETTINGS, 0, 0)


def req(enc: Encoder, stream: int, path: str = "/", end: bool = True) -> bytes:
    """A GET request's HEADERS (END_STREAM unless ``end`` is False: the stream stays open)."""
    block = enc.encode([(":method", "GET"), (":path", path), (":scheme", "http"), (":authority", "x")])
    return frame(HEADERS, END_HEADERS | (END_STREAM if end else 0), stream, block)


def resp(enc: Encoder, stream: int, status: int = 200, body: bytes | None = b"ok") -> bytes:
    """A response's HEADERS, and a DATA frame with END_STREAM unless ``body`` is None."""
    block = enc.encode([(":status", str(status))])
    if body is None:
        return frame(HEADERS, END_HEADERS | END_STREAM, stream, block)
    return frame(HEADERS, END_HEADERS, stream, block) + frame(DATA, END_STREAM, stream, body)


def goaway(last: int, code: int = 0) -> bytes:
    """A GOAWAY naming the last stream processed."""
    return frame(GOAWAY, 0, 0, struct.pack(">II", last, code))


def rst(stream: int, code: int) -> bytes:
    """An RST_STREAM (7: REFUSED_STREAM, 8: CANCEL)."""
    return frame(RST_STREAM, 0, stream, struct.pack(">I", code))


def h2c_capture(path, events, close: str = "client", close_t: float | None = None, mss: int | None = None,
                cport: int = 40000) -> str:  # fmt: skip
    """Write a capture of one h2c connection: handshake at 0, ``events`` as (time, ``c`` or
    ``s``, bytes) cut into ``mss``-byte segments, then ``close`` (``client``, ``server`` or
    ``none``) sends the first FIN at ``close_t`` (default 10 ms after the last event)."""
    c, s = 1000, 5000
    out = [(0.0, tcp_packet(seq=c, sport=cport, flags=dpkt.tcp.TH_SYN)),
           (0.0001, tcp_packet(SERVER, CLIENT, 80, cport, s, c + 1, dpkt.tcp.TH_SYN | dpkt.tcp.TH_ACK)),
           (0.0002, tcp_packet(seq=c + 1, ack=s + 1, sport=cport))]  # fmt: skip
    c, s = c + 1, s + 1
    for t, d, data in events:
        for i in range(0, len(data), mss or len(data) or 1):
            chunk = data[i : i + (mss or len(data))]
            if d == "c":
                out.append((t, tcp_packet(seq=c, ack=s, sport=cport, flags=PUSH, payload=chunk)))
                c += len(chunk)
            else:
                out.append((t, tcp_packet(SERVER, CLIENT, 80, cport, s, c, PUSH, chunk)))
                s += len(chunk)
    t = close_t if close_t is not None else (events[-1][0] + 0.01 if events else 1.0)
    if close == "client":
        out += [(t, tcp_packet(seq=c, ack=s, sport=cport, flags=FIN)),
                (t + 0.0001, tcp_packet(SERVER, CLIENT, 80, cport, s, c + 1, FIN)),
                (t + 0.0002, tcp_packet(seq=c + 1, ack=s + 1, sport=cport))]  # fmt: skip
    elif close == "server":
        out += [(t, tcp_packet(SERVER, CLIENT, 80, cport, s, c, FIN)),
                (t + 0.0001, tcp_packet(seq=c, ack=s + 1, sport=cport, flags=FIN)),
                (t + 0.0002, tcp_packet(SERVER, CLIENT, 80, cport, s + 1, c + 1))]  # fmt: skip
    write_pcap(str(path), out)
    return str(path)
