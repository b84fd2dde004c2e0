"""Helpers for the TUI tests: open the app on a capture and wait for the loading worker."""

from __future__ import annotations

from pathlib import Path

import dpkt

REPO = Path(__file__).resolve().parents[1]
SAMPLES = REPO / "samples"


async def settle(app, pilot) -> None:
    """Wait until the loading worker is done and its messages are handled."""
    await app.workers.wait_for_complete()
    await pilot.pause()
    await pilot.pause()


def ladder_texts(app) -> list[str]:
    """Every ladder row as plain text."""
    ladder = app.main.query_one("#ladder")
    return [ladder.row_text(y) for y in range(len(ladder.rows))]


def hostile_capture(path: Path, uri: bytes) -> Path:
    """A tiny pcap: handshake, one GET with ``uri``, a 200 response."""
    req = (
        b"GET "
        + uri
        + b" HTTP/1.1\r\nHost: x\r\nUser-Agent: \x1b]0;pwn\x07 [bold red]x[/] \xe2\x80\xae\r\n\r\n"
    )
    return tiny_capture(path, req, b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")


def tiny_capture(path: Path, req: bytes, resp: bytes) -> Path:
    """A tiny pcap on port 80: handshake, the client's ``req`` bytes, the server's ``resp``."""
    c, s = b"\x0a\x00\x00\x01", b"\x0a\x00\x00\x02"
    seq_c, seq_s = 1000, 5000
    frames = [  # (time, from client, flags, seq, ack, payload)
        (0.0, True, dpkt.tcp.TH_SYN, seq_c, 0, b""),
        (0.001, False, dpkt.tcp.TH_SYN | dpkt.tcp.TH_ACK, seq_s, seq_c + 1, b""),
        (0.002, True, dpkt.tcp.TH_ACK, seq_c + 1, seq_s + 1, b""),
        (0.003, True, dpkt.tcp.TH_PUSH | dpkt.tcp.TH_ACK, seq_c + 1, seq_s + 1, req),
        (0.004, False, dpkt.tcp.TH_PUSH | dpkt.tcp.TH_ACK, seq_s + 1, seq_c + 1 + len(req), resp),
    ]
    with path.open("wb") as fh:
        writer = dpkt.pcap.Writer(fh, linktype=dpkt.pcap.DLT_RAW)
        for ts, from_client, flags, seq, ack, data in frames:
            tcp = dpkt.tcp.TCP(sport=40000 if from_client else 80, dport=80 if from_client
                               else 40000, seq=seq, ack=ack, flags=flags, win=65535, data=data)  # fmt: skip
            ip = dpkt.ip.IP(src=c if from_client else s, dst=s if from_client else c,
                            p=dpkt.ip.IP_PROTO_TCP, data=tcp, ttl=64)  # fmt: skip
            ip.len = len(ip)
            writer.writepkt(bytes(ip), ts=1_700_000_000 + ts)
    return path
