"""Tiny synthetic captures for edge cases (real captures cover the common paths)."""

from __future__ import annotations

import socket
import struct

import dpkt

CLIENT, SERVER = "10.0.0.1", "10.0.0.2"


def tcp_packet(
    src=CLIENT, dst=SERVER, sport=40000, dport=80, seq=1000, ack=0, flags=dpkt.tcp.TH_ACK, payload=b""
) -> bytes:
    """An IPv4 + TCP packet (no link layer)."""
    tcp = dpkt.tcp.TCP(sport=sport, dport=dport, seq=seq, ack=ack, flags=flags, win=65535, data=payload)
    ip = dpkt.ip.IP(src=socket.inet_aton(src), dst=socket.inet_aton(dst), p=dpkt.ip.IP_PROTO_TCP, data=tcp)
    ip.len = len(bytes(ip))
    return bytes(ip)


def ether(ip: bytes) -> bytes:
    """Wrap an IPv4 packet in Ethernet."""
    return b"\x00\x11\x22\x33\x44\x55" + b"\x66\x77\x88\x99\xaa\xbb" + b"\x08\x00" + ip


def conversation(
    requests: list[bytes], responses: list[bytes], gap_s: float = 0.5, close: str = "server"
) -> list[tuple[float, bytes]]:
    """(time, IPv4 packet) list: handshake, request/response pairs, FIN teardown."""
    c, s = 1000, 5000
    t = 0.0
    out = []

    def add(pkt, dt=0.001):
        nonlocal t
        t += dt
        out.append((t, pkt))

    add(tcp_packet(seq=c, flags=dpkt.tcp.TH_SYN), 0)
    add(tcp_packet(SERVER, CLIENT, 80, 40000, s, c + 1, dpkt.tcp.TH_SYN | dpkt.tcp.TH_ACK))
    c += 1
    s += 1
    add(tcp_packet(seq=c, ack=s))
    for i, (req, resp) in enumerate(zip(requests, responses, strict=True)):
        add(
            tcp_packet(seq=c, ack=s, flags=dpkt.tcp.TH_ACK | dpkt.tcp.TH_PUSH, payload=req),
            gap_s if i else 0.001,
        )
        c += len(req)
        add(tcp_packet(SERVER, CLIENT, 80, 40000, s, c, dpkt.tcp.TH_ACK | dpkt.tcp.TH_PUSH, resp))
        s += len(resp)
        add(tcp_packet(seq=c, ack=s))
    fin = dpkt.tcp.TH_FIN | dpkt.tcp.TH_ACK
    if close == "server":
        add(tcp_packet(SERVER, CLIENT, 80, 40000, s, c, fin), 5.0)
        add(tcp_packet(seq=c, ack=s + 1, flags=fin))
        add(tcp_packet(SERVER, CLIENT, 80, 40000, s + 1, c + 1))
    return out


def write_pcap(path, packets, linktype=dpkt.pcap.DLT_EN10MB, nano=False, wrap=ether) -> None:
    """Write (time, IP packet) pairs as a classic pcap."""
    with open(path, "wb") as fh:
        w = dpkt.pcap.Writer(fh, linktype=linktype, nano=nano)
        for ts, pkt in packets:
            w.writepkt(wrap(pkt) if wrap else pkt, ts=ts)


def pcapng_block(btype: int, body: bytes, endian: str = "<") -> bytes:
    """One pcapng block with padding and both length fields."""
    body += b"\x00" * (-len(body) % 4)
    total = len(body) + 12
    return struct.pack(endian + "II", btype, total) + body + struct.pack(endian + "I", total)


def shb(endian: str = "<") -> bytes:
    """Section header block."""
    return pcapng_block(0x0A0D0D0A, struct.pack(endian + "IHHq", 0x1A2B3C4D, 1, 0, -1), endian)


def idb(linktype: int, tsresol: int | None = None, endian: str = "<") -> bytes:
    """Interface description block, optionally with if_tsresol."""
    body = struct.pack(endian + "HHI", linktype, 0, 262144)
    if tsresol is not None:
        body += struct.pack(endian + "HH", 9, 1) + bytes([tsresol]) + b"\x00" * 3
        body += struct.pack(endian + "HH", 0, 0)
    return pcapng_block(1, body, endian)


def epb(iface: int, ts_units: int, data: bytes, endian: str = "<") -> bytes:
    """Enhanced packet block."""
    body = (
        struct.pack(endian + "IIIII", iface, ts_units >> 32, ts_units & 0xFFFFFFFF, len(data), len(data))
        + data
    )
    return pcapng_block(6, body, endian)
