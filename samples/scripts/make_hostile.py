"""Write samples/hostile.pcap: one keep-alive HTTP exchange whose text attacks terminals and Markdown.

The request line, headers and bodies carry ESC/CSI sequences (clear screen, cursor moves), OSC 52
(clipboard write) and OSC 8 (hyperlink), BEL, a C1 CSI (U+009B, and the raw byte 0x9b), a bidi
override (U+202E), Rich markup, Markdown table breakers (``|`` and backticks). katui must show all
of it as inert, visible text. Deterministic: run ``python samples/scripts/make_hostile.py``.
"""

from __future__ import annotations

import socket
import sys
from pathlib import Path

import dpkt

NASTY = (
    "\x1b[2J\x1b[H\x1b[31;1mRED\x1b[0m\x1b[10A"  # clear screen, home, colour, cursor up
    "\x1b]52;c;aGFja2Vk\x07"  # OSC 52: write 'hacked' to the clipboard
    "\x1b]8;;http://evil.example/\x1b\\click\x1b]8;;\x1b\\"  # OSC 8 hyperlink
    "\x07\u009b31m\u202eevil.exe\u202c"  # BEL, C1 CSI, right-to-left override
    "[bold red]markup[/bold red][link=http://x]link[/link]"  # Rich markup
    "|a|b|`code`"  # Markdown table cell / code span breakers
)
CLIENT, SERVER = ("10.1.1.1", 51000), ("10.1.1.2", 80)


def _http() -> tuple[bytes, bytes]:
    raw = NASTY.encode("utf-8") + b"\x9b2J"  # also a raw C1 byte, not UTF-8 encoded
    uri = b"/" + raw.replace(b" ", b"%20")
    request = (
        b"GET "
        + uri
        + b" HTTP/1.1\r\nHost: "
        + raw
        + b"\r\nUser-Agent: "
        + raw
        + b"\r\nConnection: keep-alive\r\n\r\n"
    )
    body = raw * 2
    response = (
        b"HTTP/1.1 200 "
        + raw
        + b"\r\nContent-Length: "
        + str(len(body)).encode()
        + b"\r\nKeep-Alive: timeout=5\r\nX-Evil: "
        + raw
        + b"\r\n\r\n"
        + body
    )
    return request, response


def _frame(src, dst, seq, ack, flags, payload=b"") -> bytes:
    tcp = dpkt.tcp.TCP(sport=src[1], dport=dst[1], seq=seq, ack=ack, flags=flags, win=65535, data=payload)
    ip = dpkt.ip.IP(src=socket.inet_aton(src[0]), dst=socket.inet_aton(dst[0]), p=6, ttl=64, data=tcp)
    ip.len = len(ip)
    eth = dpkt.ethernet.Ethernet(src=b"\x02\0\0\0\0\1", dst=b"\x02\0\0\0\0\2", type=0x0800, data=ip)
    return bytes(eth)


def frames() -> list[bytes]:
    """Handshake, request, response, then an idle second and a server FIN."""
    syn, ack, psh, fin = dpkt.tcp.TH_SYN, dpkt.tcp.TH_ACK, dpkt.tcp.TH_PUSH, dpkt.tcp.TH_FIN
    req, resp = _http()
    c, s = 1000, 9000
    return [
        _frame(CLIENT, SERVER, c, 0, syn),
        _frame(SERVER, CLIENT, s, c + 1, syn | ack),
        _frame(CLIENT, SERVER, c + 1, s + 1, ack),
        _frame(CLIENT, SERVER, c + 1, s + 1, psh | ack, req),
        _frame(SERVER, CLIENT, s + 1, c + 1 + len(req), psh | ack, resp),
        _frame(CLIENT, SERVER, c + 1 + len(req), s + 1 + len(resp), ack),
        _frame(SERVER, CLIENT, s + 1 + len(resp), c + 1 + len(req), fin | ack),
        _frame(CLIENT, SERVER, c + 1 + len(req), s + 2 + len(resp), fin | ack),
        _frame(SERVER, CLIENT, s + 2 + len(resp), c + 2 + len(req), ack),
    ]


def main(out: str) -> None:
    """Write the capture to ``out``."""
    times = [0.0, 0.001, 0.002, 0.003, 0.010, 0.011, 5.011, 5.012, 5.013]
    with open(out, "wb") as fh:
        w = dpkt.pcap.Writer(fh, linktype=dpkt.pcap.DLT_EN10MB)
        for t, f in zip(times, frames(), strict=True):
            w.writepkt(f, ts=1_700_000_000 + t)


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else str(Path(__file__).resolve().parents[1] / "hostile.pcap"))
