"""Follow stream of a TLS connection: its records instead of ciphertext bytes.

Pure Python (no Textual). The connection's bytes (as follow stream reads them back from the
capture) are cut into records per direction, each shown where it completes (its last frame, as
Wireshark shows a reassembled record): ``[TLS 1.2] handshake 517 B: ClientHello sni=example``,
``[TLS 1.2] app data 108 B``, ``alert 26 B (encrypted)``; the version in brackets is the
record header's (TLS 1.3 records say TLS 1.2 there, RFC 8446 5.1; the ServerHello line says
what was agreed). With the analysis's key log the
protected records are decrypted again (the same code as the analysis, :mod:`katui.tls.decrypt`)
and their plaintext follows, escaped by :mod:`katui.textsafe` like every byte of a capture.
"""

from __future__ import annotations

from katui.textsafe import safe_bytes, safe_text
from katui.tls import decrypt
from katui.tls.hello import cipher_name, parse_client_hello, parse_server_hello, version_name
from katui.tls.records import alert_level, alert_name, looks_like_record

CCS, ALERT, HANDSHAKE, APPDATA = 20, 21, 22, 23
TYPES = {CCS: "change cipher spec", ALERT: "alert", HANDSHAKE: "handshake", APPDATA: "app data"}
MESSAGES = {0: "HelloRequest", 1: "ClientHello", 2: "ServerHello", 4: "NewSessionTicket",
            5: "EndOfEarlyData", 8: "EncryptedExtensions", 11: "Certificate", 12: "ServerKeyExchange",
            13: "CertificateRequest", 14: "ServerHelloDone", 15: "CertificateVerify",
            16: "ClientKeyExchange", 20: "Finished", 24: "KeyUpdate"}  # fmt: skip
"""Handshake message types (RFC 5246 7.4, RFC 8446 4)."""


class _Side:
    """One direction: bytes not yet a whole record, handshake bytes not yet a whole message,
    whether its ChangeCipherSpec went (TLS 1.2: protected from there), its decryption."""

    def __init__(self) -> None:
        self.buf = bytearray()
        self.hs = bytearray()
        self.ccs = False
        self.lost = False
        self.protection = None


class RecordReader:
    """Both directions of one connection, fed segment by segment in capture order."""

    def __init__(self, keylog) -> None:
        self.keylog = keylog
        self.sides = {True: _Side(), False: _Side()}  # by "sent by the client"
        self.client_random: bytes | None = None
        self.tls13 = False
        self.early_data = False
        """The ClientHello announced 0-RTT data."""
        self.server_hello = False
        self.note: str | None = None
        """Why the records are not decrypted (no key log, no keys for it, ...)."""
        self.found: list[tuple[int, int]] = []
        """(content type, length on the wire) of every record read; the inner type of a
        decrypted one (as Wireshark's ``tls.record.content_type`` says with the keys)."""

    def feed(self, c2s: bool, data: bytes) -> list[str]:
        """The lines of the records that ``data`` completes (and of bytes that are not TLS)."""
        side, out = self.sides[c2s], []
        if side.lost:
            return [f"{len(data)} B not read as TLS records (the framing was lost)"] if data else []
        side.buf += data
        while len(side.buf) >= 5:
            head = bytes(side.buf[:5])
            if not looks_like_record(head):
                side.lost = True
                out.append(f"{len(side.buf)} B that are not a TLS record: the framing is lost here")
                side.buf.clear()
                break
            n = head[3] << 8 | head[4]
            if len(side.buf) < 5 + n:
                break
            body = bytes(side.buf[5 : 5 + n])
            del side.buf[: 5 + n]
            self.found.append((head[0], n))
            out += self._record(c2s, side, head, body)
        return out

    def left(self) -> list[tuple[bool, str]]:
        """What is left when the bytes end: records cut by the end of what was read."""
        return [(c2s, f"{len(s.buf)} B of a record cut off (the capture or the read limit ends)")
                for c2s, s in self.sides.items() if s.buf and not s.lost]  # fmt: skip

    def _record(self, c2s: bool, side: _Side, head: bytes, body: bytes) -> list[str]:
        rtype = head[0]
        first = f"[{version_name(head[1] << 8 | head[2])}] {TYPES[rtype]} {len(body)} B"
        if rtype == CCS:
            side.ccs = True
            return [first]
        if self._protected(side, rtype):
            return self._protected_lines(side, head, body, first)
        if rtype == HANDSHAKE:
            names = self._handshake(side, body)
            return [f"{first}: {', '.join(names)}" if names else f"{first}: part of a handshake message"]
        if rtype == ALERT and len(body) == 2:
            return [f"{first}: {_alert(body)}"]
        return [first]

    def _protected(self, side: _Side, rtype: int) -> bool:
        if self.tls13:
            return rtype == APPDATA
        return side.ccs and rtype != CCS

    def _protected_lines(self, side: _Side, head: bytes, body: bytes, first: str) -> list[str]:
        opened = None
        if side.protection is None and self._zero_rtt(side, head):
            found = decrypt.early_protection(self.keylog, self.client_random, head, body)
            if found is not None:
                side.protection, opened = found
                first += " (0-RTT)"
        if side.protection is None:
            return [f"{first} (encrypted)" if head[0] != APPDATA else first]
        opened = opened or side.protection.decrypt(head, body)
        if opened is None:
            side.protection = None
            self.note = "a record did not decrypt (wrong key log?); the rest stays encrypted"
            return [f"{first} (did not decrypt)"]
        ctype, plain = opened
        self.found[-1] = (ctype, len(body))
        what = TYPES.get(ctype, f"type {ctype}")
        if ctype == ALERT and len(plain) == 2:
            return [f"{first}, decrypted: alert: {_alert(plain)}"]
        if ctype == HANDSHAKE:  # messages may span records: named where they complete
            names = self._handshake(side, plain)
            return [f"{first}, decrypted: handshake: {', '.join(names) or 'part of a message'}"]
        lines = [f"{first}, decrypted {what} {len(plain)} B:"]
        return lines + ["  " + line for line in safe_bytes(plain).split("\n")]

    def _handshake(self, side: _Side, body: bytes) -> list[str]:
        """Names of the handshake messages the record completes (hellos with what they say)."""
        side.hs += body
        names = []
        while len(side.hs) >= 4:
            n = int.from_bytes(side.hs[1:4], "big")
            if len(side.hs) < 4 + n:
                break
            kind, msg = side.hs[0], bytes(side.hs[4 : 4 + n])
            del side.hs[: 4 + n]
            names.append(self._hello(kind, msg) if kind in (1, 2) else MESSAGES.get(kind, f"type {kind}"))
        return names

    def _hello(self, kind: int, msg: bytes) -> str:
        if kind == 1:
            hello = parse_client_hello(msg)
            if hello is None:
                return "ClientHello (unreadable)"
            self.client_random = hello.random
            self.early_data = hello.early_data
            sni = f" sni={safe_text(hello.sni)}" if hello.sni else ""
            alpn = f" alpn={safe_text(','.join(hello.alpn))}" if hello.alpn else ""
            return f"ClientHello{sni}{alpn}"
        hello = parse_server_hello(msg)
        if hello is None:
            return "ServerHello (unreadable)"
        if hello.retry:
            return "HelloRetryRequest"
        self.tls13 = hello.version == 0x0304
        self.server_hello = True
        self._keys(hello)
        alpn = f" alpn={safe_text(hello.alpn)}" if hello.alpn else ""
        return f"ServerHello {version_name(hello.version)} {cipher_name(hello.cipher)}{alpn}"

    def _zero_rtt(self, side: _Side, head: bytes) -> bool:
        """A client application-data record before the ServerHello, after a ClientHello that
        announced early data, with a key log: 0-RTT data to try the early secret on."""
        return (
            self.keylog is not None and self.early_data and not self.server_hello
            and side is self.sides[True] and head[0] == APPDATA
        )  # fmt: skip

    def _keys(self, hello) -> None:
        """Record protection for both sides, from the key log (a note says why not)."""
        if self.keylog is None or self.client_random is None:
            self.note = "no key log: records are shown, not decrypted"
            return
        early = self.tls13 and self.early_data
        dirs = decrypt.directions(self.keylog, self.tls13, hello.cipher, self.client_random,
                                  hello.random, hello.etm, early)  # fmt: skip
        if isinstance(dirs, str):
            self.note = dirs
            return
        client, server = dirs
        sent = self.sides[True].protection  # 0-RTT records already opened: go on counting
        if sent is not None and early and len(client.stages) == 3:
            client.seq = sent.seq
        self.sides[True].protection, self.sides[False].protection = client, server
        self.note = None


def _alert(body: bytes) -> str:
    return f"{alert_level(body[0])} {alert_name(body[1])}"


def wire_records(analysis, segments) -> list[tuple[int, int, int]]:
    """(frame, content type, length) of every record, in the frame that completes it (what
    tshark's ``tls.record`` fields say; the tests compare them)."""
    reader = RecordReader(getattr(analysis, "keylog", None))
    out = []
    for frame, c2s, data in segments:
        before = len(reader.found)
        reader.feed(c2s, data)
        out += [(frame, *found) for found in reader.found[before:]]
    return out


def record_lines(analysis, segments) -> tuple[list[tuple[int, bool, str]], str | None]:
    """(frame, sent by the client, text) for every record of ``segments`` (follow stream's
    (frame, sent by the client, bytes) in capture order), and why they are not decrypted."""
    reader = RecordReader(getattr(analysis, "keylog", None))
    out: list[tuple[int, bool, str]] = []
    last = {True: 0, False: 0}
    for frame, c2s, data in segments:
        out += [(frame, c2s, line) for line in reader.feed(c2s, data)]
        last[c2s] = frame
    out += [(last[c2s], c2s, text) for c2s, text in reader.left()]
    return out, reader.note
