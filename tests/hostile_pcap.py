"""Build small pcap / pcapng files and Ethernet/IPv4/TCP frames byte by byte for hostile tests.

Plain ``struct`` so every field can be set to a wrong value on purpose (dpkt fixes lengths up).
"""

from __future__ import annotations

import struct
from pathlib import Path

CLIENT = (b"\x0a\x00\x00\x01", 40000)
SERVER = (b"\x0a\x00\x00\x02", 80)
SYN, FIN, RST, PSH, ACK = 0x02, 0x01, 0x04, 0x08, 0x10


def pcap(frames: list[bytes], linktype: int = 1, lengths: list[tuple[int, int]] | None = None) -> bytes:
    """A microsecond pcap; ``lengths`` overrides (caplen, wirelen) per record."""
    out = [struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 262144, linktype)]
    for i, f in enumerate(frames):
        cap, wire = lengths[i] if lengths else (len(f), len(f))
        out.append(struct.pack("<IIII", 1_700_000_000 + i, i * 1000, cap, wire) + f)
    return b"".join(out)


def shb() -> bytes:
    """A little-endian pcapng section header block."""
    return block(0x0A0D0D0A, struct.pack("<IHHq", 0x1A2B3C4D, 1, 0, -1))


def idb(linktype: int = 1, options: bytes = b"") -> bytes:
    """An interface description block."""
    return block(1, struct.pack("<HHI", linktype, 0, 65535) + options)


def epb(frame: bytes, iface: int = 0, ts: int = 0, caplen: int | None = None) -> bytes:
    """An enhanced packet block (caplen may lie)."""
    cap = len(frame) if caplen is None else caplen
    pad = b"\0" * (-len(frame) % 4)
    return block(6, struct.pack("<IIIII", iface, ts >> 32, ts & 0xFFFFFFFF, cap, len(frame)) + frame + pad)


def block(btype: int, body: bytes, length: int | None = None) -> bytes:
    """A pcapng block with ``body`` (length fields may lie)."""
    n = 12 + len(body) if length is None else length
    return struct.pack("<II", btype, n) + body + struct.pack("<I", n)


def tcp_frame(
    src=CLIENT,
    dst=SERVER,
    seq=0,
    ack=0,
    flags=ACK,
    payload=b"",
    ihl=5,
    doff=5,
    options: bytes = b"",
    total: int | None = None,
) -> bytes:
    """Ethernet + IPv4 + TCP; header lengths and the IP total length may be bogus."""
    tcp = (
        struct.pack(
            "!HHIIBBHHH", src[1], dst[1], seq & 0xFFFFFFFF, ack & 0xFFFFFFFF, doff << 4, flags, 65535, 0, 0
        )
        + options
        + payload
    )
    ip_opts = b"\0" * max(0, ihl * 4 - 20)
    tot = 20 + len(ip_opts) + len(tcp) if total is None else total
    ip = struct.pack("!BBHHHBBH4s4s", 0x40 | ihl, 0, tot, 1, 0x4000, 64, 6, 0, src[0], dst[0])
    return b"\x02" * 6 + b"\x04" * 6 + b"\x08\x00" + ip + ip_opts + tcp


def conversation(request: bytes, response: bytes, isn_c: int = 1000, isn_s: int = 5000) -> list[bytes]:
    """Handshake, one request, one response, FIN from the server, FIN from the client."""
    c, s = isn_c, isn_s
    return [
        tcp_frame(seq=c, flags=SYN),
        tcp_frame(SERVER, CLIENT, seq=s, ack=c + 1, flags=SYN | ACK),
        tcp_frame(seq=c + 1, ack=s + 1),
        tcp_frame(seq=c + 1, ack=s + 1, flags=PSH | ACK, payload=request),
        tcp_frame(SERVER, CLIENT, seq=s + 1, ack=c + 1 + len(request), flags=PSH | ACK, payload=response),
        tcp_frame(SERVER, CLIENT, seq=s + 1 + len(response), ack=c + 1 + len(request), flags=FIN | ACK),
        tcp_frame(seq=c + 1 + len(request), ack=s + 2 + len(response), flags=FIN | ACK),
        tcp_frame(SERVER, CLIENT, seq=s + 2 + len(response), ack=c + 2 + len(request)),
    ]


def write(tmp: Path, name: str, data: bytes) -> str:
    """Write ``data`` to ``tmp/name`` and return the path as a string."""
    p = tmp / name
    p.write_bytes(data)
    return str(p)


GET = b"GET /a HTTP/1.1\r\nHost: x\r\n\r\n"
OK = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi"
