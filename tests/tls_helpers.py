"""Hand-made TLS records and hellos for the TLS tests (no capture needed)."""

from __future__ import annotations

import struct

from katui.model import MessageStore
from katui.tls.records import TlsConversation


def record(rtype: int, body: bytes, version: int = 0x0303) -> bytes:
    return struct.pack("!BHH", rtype, version, len(body)) + body


def handshake(mtype: int, body: bytes) -> bytes:
    return bytes([mtype]) + len(body).to_bytes(3, "big") + body


def ext(typ: int, data: bytes) -> bytes:
    return struct.pack("!HH", typ, len(data)) + data


def vec(data: bytes, width: int) -> bytes:
    return len(data).to_bytes(width, "big") + data


def client_hello(
    sni: str = "api.example", alpn=("h2", "http/1.1"), session_id: bytes = b"", tls13: bool = True
) -> bytes:
    """A ClientHello handshake message (header included)."""
    names = b"".join(vec(a.encode(), 1) for a in alpn)
    exts = ext(0, vec(b"\x00" + vec(sni.encode(), 2), 2)) + ext(16, vec(names, 2))
    if tls13:
        exts += ext(43, vec(b"\x0a\x0a\x03\x04\x03\x03", 1))
    body = (
        b"\x03\x03"
        + bytes(32)
        + vec(session_id, 1)
        + vec(b"\x13\x01\x13\x02\xc0\x2f", 2)
        + vec(b"\x00", 1)
        + vec(exts, 2)
    )
    return handshake(1, body)


def server_hello(
    version: int = 0x0304, session_id: bytes = b"", cipher: int = 0x1301, alpn: str | None = None, psk=False
) -> bytes:
    exts = b""
    if version == 0x0304:
        exts += ext(43, b"\x03\x04")
    if alpn:
        exts += ext(16, vec(vec(alpn.encode(), 1), 2))
    if psk:
        exts += ext(41, b"\x00\x00")
    body = b"\x03\x03" + bytes(range(32)) + vec(session_id, 1) + struct.pack("!HB", cipher, 0) + vec(exts, 2)
    return handshake(2, body)


def app(n: int) -> bytes:
    """An application-data record with an ``n``-byte body."""
    return record(23, bytes(n))


class Feeder:
    """Feeds a TlsConversation segment by segment, numbering frames and times."""

    def __init__(self, midstream: bool = False) -> None:
        self.store = MessageStore()
        self.conv = TlsConversation(self.store, midstream)
        self.frame = 0

    def send(self, d: int, data: bytes, ts_ms: float | None = None) -> None:
        self.frame += 1
        ts = int((self.frame if ts_ms is None else ts_ms) * 1_000_000)
        self.conv.data(d, data, 0, len(data), self.frame, ts)

    def done(self, client: int = 0) -> TlsConversation:
        self.conv.oriented(client)
        return self.conv


def tls13_handshake(f: Feeder, t: float = 0.0) -> None:
    """ClientHello, the server's flight (ServerHello, CCS, encrypted handshake), the client's
    CCS and Finished."""
    f.send(0, record(22, client_hello(), 0x0301), t + 1)
    f.send(1, record(22, server_hello()) + record(20, b"\x01") + app(1200), t + 2)
    f.send(0, record(20, b"\x01") + app(53), t + 3)
