"""Decrypting one TLS connection: its two directions' record protection and the sink its
plaintext goes to (:class:`katui.tls.records.TlsConversation` holds one when a key log has the
connection's secrets)."""

from __future__ import annotations

from collections.abc import Callable

from katui.tcp.sink import StreamSink
from katui.tls.decrypt import Direction
from katui.tls.hello import encrypted_extensions

CHANGE_CIPHER_SPEC, HANDSHAKE, APPLICATION_DATA = 20, 22, 23
H2_PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
"""What an HTTP/2 client sends first (RFC 9113, 3.4)."""
HOLD = 8
"""A direction's first plaintext bytes are held until there are this many (see :meth:`feed`)."""
MAX_HELD = 64
"""0-RTT records held at most while the server's answer to them is awaited."""


class Decryption:
    """Record protection per direction (the tracker's numbering), and the plaintext sink.

    ``dirs[d]`` is None once direction ``d`` cannot be followed (a record that does not
    decrypt, a hole that lost the record framing); ``note`` says why.
    """

    __slots__ = ("dirs", "client", "tls13", "plaintext", "inner", "decrypted", "h2", "pending", "note",
                 "alpn", "zero_rtt", "early_data")  # fmt: skip

    def __init__(
        self,
        dirs: list[Direction | None],
        client: int,
        tls13: bool,
        plaintext: Callable[[bool], StreamSink] | None,
        alpn: str | None = None,
        zero_rtt: list[tuple] | None = None,
    ) -> None:
        self.dirs = dirs
        self.client = client
        """The client's direction."""
        self.tls13 = tls13
        self.plaintext = plaintext
        """Makes the sink decrypted application data goes to (``plaintext(h2)``: True for an
        HTTP/2 sink)."""
        self.inner: StreamSink | None = None
        """The plaintext sink, once application data was decrypted."""
        self.decrypted = False
        """Application data was decrypted."""
        self.h2 = False
        """The client's plaintext starts with the HTTP/2 connection preface."""
        self.pending: list[bytes | None] = [b"", b""]
        self.note: str | None = None
        self.alpn: str | None = alpn
        """The protocol the server chose (TLS 1.2: from its ServerHello; TLS 1.3: read from its
        EncryptedExtensions once decrypted)."""
        self.zero_rtt = zero_rtt
        """TLS 1.3: the client's 0-RTT records, (head, body, frame, ts), waiting for the
        server's EncryptedExtensions to say whether it accepted them; None once decided."""
        self.early_data: bool | None = None
        """TLS 1.3 0-RTT: True if the server accepted early data, False if the client sent some
        and the server did not (it skipped them), None if none was sent or it is not known."""

    @property
    def failed(self) -> bool:
        """Nothing was decrypted and a direction could not be: the connection is not decrypted."""
        return not self.decrypted and self.note is not None

    def protected(self, ccs_sent: bool, rtype: int) -> bool:
        """True for a record its sender protected (TLS 1.3: application data after the
        ServerHello; TLS 1.2: everything but ChangeCipherSpec after the sender's)."""
        if self.tls13:
            return rtype == APPLICATION_DATA
        return ccs_sent and rtype != CHANGE_CIPHER_SPEC

    def open(self, d: int, head: bytes, body, frame: int, ts: int) -> int | None:
        """The content type of a protected record (application data goes on to the plaintext
        sink); None if it could not be decrypted (its bytes then reach the sink as a hole).
        ``body`` is None when the record's bytes were not all captured."""
        if self.zero_rtt is not None and d == self.client and body is not None:
            # Before the server's EncryptedExtensions said whether it takes 0-RTT data, a
            # client record can only be more of it (its Finished answers that flight): held.
            if len(self.zero_rtt) < MAX_HELD:
                self.zero_rtt.append((head, bytes(body), frame, ts))
                return APPLICATION_DATA
            self._zero_rtt(False)  # the server's answer never came: none of it is read
        protection = self.dirs[d]
        out = None
        if protection is not None and body is not None:
            out = protection.decrypt(head, bytes(body))
            if out is None:
                missing = getattr(protection, "missing", None)  # (TLS 1.3 only)
                self.stop(d, missing or f"a record in frame {frame} did not decrypt (wrong key log?)")
        elif protection is not None:
            protection.seq += 1  # its bytes were lost: the next record has the next number
        if out is None:
            if self.inner is not None and head[0] == APPLICATION_DATA:
                self.inner.gap(d, len(body) if body is not None else head[3] << 8 | head[4], frame, ts)
            return None
        ctype, plain = out
        if self.early_data is False and d == self.client and _early_stage(protection):
            return ctype  # 0-RTT data the server rejected (skipped): never processed, not fed
        if ctype == HANDSHAKE and self.tls13 and d != self.client and self.zero_rtt is not None:
            found = encrypted_extensions(plain)
            if found is not None:
                self.alpn = self.alpn or found[0]
                self._zero_rtt(found[1])
        elif ctype == HANDSHAKE and self.tls13 and d != self.client and self.alpn is None:
            found = encrypted_extensions(plain)
            self.alpn = None if found is None else found[0]
        if ctype == APPLICATION_DATA:
            self.decrypted = True
            self.feed(d, plain, frame, ts, False)
        return ctype

    def _zero_rtt(self, accepted: bool) -> None:
        """The server said whether it accepted the client's 0-RTT data: if it did, the early
        records are the connection's first application data (decrypted with the early traffic
        secret, in order); if not, it skipped them, and so does the plaintext sink."""
        records, self.zero_rtt = self.zero_rtt, None
        self.early_data = accepted  # (the client announced early data: the server answered it)
        if not accepted:
            return
        for head, body, frame, ts in records:
            self.open(self.client, head, body, frame, ts)

    def stop(self, d: int, why: str) -> None:
        """Direction ``d`` cannot be decrypted any more."""
        if self.dirs[d] is not None:
            self.dirs[d] = None
            self.note = self.note or f"decryption stopped: {why}"

    def feed(self, d: int, plain: bytes, frame: int, ts: int, final: bool) -> None:
        """Hand decrypted bytes to the plaintext sink. A direction's first bytes wait until
        there are ``HOLD`` of them (or the direction ends): the HTTP sniffer decides from its
        first call, and a few bytes alone ('GE') would be re-read from a later buffer."""
        held = self.pending[d]
        if self.inner is None:
            if self.plaintext is None or not (plain or held):
                return
            start = (held or b"") + plain
            preface = d == self.client and start[: len(H2_PREFACE)] == H2_PREFACE[: len(start)]
            if self.alpn != "h2" and preface and len(start) < len(H2_PREFACE) and not final:
                self.pending[d] = start  # not sure yet: the rest of the preface decides
                return
            self.inner = self.plaintext(self.alpn == "h2" or (preface and len(start) >= len(H2_PREFACE)))
        if held is not None:
            plain = held + plain
            if d == self.client and plain.startswith(H2_PREFACE[: len(plain)]):
                self.h2 = len(plain) >= len(H2_PREFACE)
            if len(plain) < HOLD and not final:
                self.pending[d] = plain
                return
            self.pending[d] = None
        if plain:
            self.inner.data(d, plain, 0, len(plain), frame, ts)

    # -- the plaintext sink follows the connection ------------------------------------------

    def close(self, d: int, frame: int, ts: int) -> None:
        """Direction ``d`` ended."""
        if self.inner is not None:
            self.feed(d, b"", frame, ts, True)
            self.inner.close(d, frame, ts)

    def oriented(self, client: int) -> None:
        """tcp/ decided direction ``client`` is the client's."""
        if self.inner is not None:
            self.inner.oriented(client)

    @property
    def understood(self) -> bool:
        """True when the plaintext sink recognised its protocol (HTTP/1.x or HTTP/2)."""
        return self.decrypted and bool(getattr(self.inner, "recognised", False))

    def release(self) -> None:
        """Drop the working state."""
        self.dirs = [None, None]
        if self.inner is not None:
            self.inner.release()


def _early_stage(protection) -> bool:
    """The record just opened used the client's 0-RTT keys (stage 0 of three)."""
    return getattr(protection, "stage", 1) == 0 and len(getattr(protection, "stages", ())) == 3
