"""Decrypting TLS records with a key log (``SSLKEYLOGFILE`` format), with ``cryptography``.

Supported: TLS 1.2 with AES-GCM, ChaCha20-Poly1305 or AES-CBC with HMAC-SHA1/256/384, MAC then
encrypt or encrypt then MAC (RFC 7366) (any key exchange: the key log gives the master secret,
RFC 5246 section 6.3 derives the keys) and TLS 1.3 with AES-128/256-GCM or ChaCha20-Poly1305
(the key log gives the traffic secrets, RFC 8446 section 7.3 derives the keys), with key updates
(a KeyUpdate message moves its sender's direction to the next traffic secret, RFC 8446 7.2, as
Wireshark follows them). Not supported (the connection stays in the without-keys view, with a
note): other suites. TLS 1.3 0-RTT data is decrypted with the early traffic secret when the
server accepted it.
"""

from __future__ import annotations

import hmac
from typing import NamedTuple

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM, ChaCha20Poly1305
from cryptography.hazmat.primitives.kdf.hkdf import HKDFExpand

from katui.tls.keylog import LACKS, NO_KEYS, KeyLog


class Suite(NamedTuple):
    """What decryption needs to know of a cipher suite."""

    aead: type | None
    """The AEAD class, or None for AES-CBC with an HMAC."""
    key_len: int
    hash: str
    """``sha256`` or ``sha384``: the PRF's (TLS 1.2) or HKDF's (TLS 1.3) hash."""
    mac: str | None = None
    """CBC suites: the HMAC's hash (``sha1``, ``sha256``, ``sha384``)."""


SUITES = {
    0x1301: Suite(AESGCM, 16, "sha256"),
    0x1302: Suite(AESGCM, 32, "sha384"),
    0x1303: Suite(ChaCha20Poly1305, 32, "sha256"),
    0x009C: Suite(AESGCM, 16, "sha256"),
    0x009D: Suite(AESGCM, 32, "sha384"),
    0x009E: Suite(AESGCM, 16, "sha256"),
    0x009F: Suite(AESGCM, 32, "sha384"),
    0xC02B: Suite(AESGCM, 16, "sha256"),
    0xC02C: Suite(AESGCM, 32, "sha384"),
    0xC02F: Suite(AESGCM, 16, "sha256"),
    0xC030: Suite(AESGCM, 32, "sha384"),
    0xCCA8: Suite(ChaCha20Poly1305, 32, "sha256"),
    0xCCA9: Suite(ChaCha20Poly1305, 32, "sha256"),
    0xCCAA: Suite(ChaCha20Poly1305, 32, "sha256"),
    0x002F: Suite(None, 16, "sha256", "sha1"),
    0x0035: Suite(None, 32, "sha256", "sha1"),
    0x003C: Suite(None, 16, "sha256", "sha256"),
    0x003D: Suite(None, 32, "sha256", "sha256"),
    0xC009: Suite(None, 16, "sha256", "sha1"),
    0xC00A: Suite(None, 32, "sha256", "sha1"),
    0xC013: Suite(None, 16, "sha256", "sha1"),
    0xC014: Suite(None, 32, "sha256", "sha1"),
    0xC023: Suite(None, 16, "sha256", "sha256"),
    0xC024: Suite(None, 32, "sha384", "sha384"),
    0xC027: Suite(None, 16, "sha256", "sha256"),
    0xC028: Suite(None, 32, "sha384", "sha384"),
}
MAC_LEN = {"sha1": 20, "sha256": 32, "sha384": 48}


def _p_hash(name: str, secret: bytes, seed: bytes, n: int) -> bytes:
    out, a = b"", seed
    while len(out) < n:
        a = hmac.new(secret, a, name).digest()
        out += hmac.new(secret, a + seed, name).digest()
    return out[:n]


def _iv_len(suite: Suite) -> int:
    return 16 if suite.aead is None else 12 if suite.aead is ChaCha20Poly1305 else 4


def tls12_key_block(suite: Suite, master: bytes, client_random: bytes, server_random: bytes) -> bytes:
    """RFC 5246 6.3: client and server MAC keys (CBC suites only), keys, IVs."""
    mac_len = MAC_LEN[suite.mac] if suite.mac else 0
    n = 2 * (mac_len + suite.key_len + _iv_len(suite))
    return _p_hash(suite.hash, master, b"key expansion" + server_random + client_random, n)


def hkdf_expand_label(suite: Suite, secret: bytes, label: bytes, length: int) -> bytes:
    """RFC 8446 7.1 with an empty context."""
    full = b"tls13 " + label
    info = length.to_bytes(2, "big") + bytes([len(full)]) + full + b"\x00"
    algo = hashes.SHA256() if suite.hash == "sha256" else hashes.SHA384()
    return HKDFExpand(algo, length, info).derive(secret)


HANDSHAKE = 22
KEY_UPDATE = 24
"""The TLS 1.3 handshake message after which its sender protects records with the next traffic
secret (RFC 8446 4.6.3)."""
MAX_HANDSHAKE_CARRY = 1 << 16
"""Bytes of an application-stage handshake message kept while it spans records (a
NewSessionTicket is a few hundred bytes): beyond that the messages are not followed."""


def traffic_protection(suite: Suite, secret: bytes) -> tuple:
    """(AEAD object, IV) of a TLS 1.3 traffic secret (RFC 8446 7.3)."""
    key = hkdf_expand_label(suite, secret, b"key", suite.key_len)
    return suite.aead(key), hkdf_expand_label(suite, secret, b"iv", 12)


class Direction:
    """Record protection of one direction: a list of key stages (TLS 1.3: handshake, then
    application traffic) and the sequence number within the current stage. TLS 1.3: ``suite``
    and ``secret`` (the current application traffic secret) derive the next stage when the
    direction's sender sends a KeyUpdate."""

    __slots__ = ("tls13", "stages", "stage", "seq", "explicit_nonce", "suite", "secret", "carry",
                 "skip", "updates", "missing")  # fmt: skip

    def __init__(
        self,
        tls13: bool,
        stages: list[tuple],
        explicit_nonce: bool,
        suite: Suite | None = None,
        secret: bytes | None = None,
    ) -> None:
        self.tls13 = tls13
        self.stages = stages  # [(aead object, iv)]
        self.stage = 0
        self.seq = 0
        self.explicit_nonce = explicit_nonce  # TLS 1.2 AES-GCM: 8 bytes before the ciphertext
        self.suite = suite
        self.secret = secret
        self.carry = b""  # the start of a handshake message that continues in the next record
        self.skip = 0  # bytes of an overlong handshake message still to pass over
        self.updates = 0
        """Key updates followed."""
        self.missing: str | None = None
        """TLS 1.3: why the stages stop short (the key log lacks a later secret, as it does for
        a handshake that failed before the client derived its traffic secrets), or None."""

    def decrypt(self, header: bytes, body: bytes) -> tuple[int, bytes] | None:
        """(content type, plaintext) of one protected record, or None if no stage opens it.
        A TLS 1.3 record that only the next stage opens moves to that stage; a KeyUpdate in
        the application stage moves to the next traffic secret's keys."""
        for stage in range(self.stage, min(self.stage + 2, len(self.stages))):
            seq = self.seq if stage == self.stage else 0
            out = self._open(stage, seq, header, body)
            if out is not None:
                self.stage, self.seq = stage, seq + 1
                if out[0] == HANDSHAKE and self.secret is not None and stage == len(self.stages) - 1:
                    self._handshake(out[1])
                return out
        return None

    def _handshake(self, plain: bytes) -> None:
        """Follow the handshake messages of the application stage; a KeyUpdate (which ends its
        record, RFC 8446 5.1) switches to the next secret from the next record on. A message
        longer than ``MAX_HANDSHAKE_CARRY`` is skipped by count, never held."""
        buf = plain if self.skip else self.carry + plain
        i = min(self.skip, len(buf))
        self.skip -= i
        while len(buf) - i >= 4:
            size = int.from_bytes(buf[i + 1 : i + 4], "big")
            if len(buf) - i - 4 < size:
                if size > MAX_HANDSHAKE_CARRY:  # too long to hold: skip the rest of its body
                    self.skip, i = size - (len(buf) - i - 4), len(buf)
                break
            if buf[i] == KEY_UPDATE:
                self._next_secret()
            i += 4 + size
        self.carry = buf[i:]

    def _next_secret(self) -> None:
        """RFC 8446 7.2: application_traffic_secret_N+1 = HKDF-Expand-Label(secret_N,
        "traffic upd", "", Hash.length); keys and IV from it as for the first; numbers from 0."""
        suite = self.suite
        self.secret = hkdf_expand_label(suite, self.secret, b"traffic upd", len(self.secret))
        # Only the current stage is kept beside the handshake's (no growth on many updates).
        self.stages = [self.stages[0], traffic_protection(suite, self.secret)]
        self.stage, self.seq = 1, 0
        self.updates += 1

    def _open(self, stage: int, seq: int, header: bytes, body: bytes) -> tuple[int, bytes] | None:
        aead, iv = self.stages[stage]
        try:
            if self.tls13:
                nonce = bytes(a ^ b for a, b in zip(iv, seq.to_bytes(12, "big"), strict=True))
                plain = aead.decrypt(nonce, body, header)
                stripped = plain.rstrip(b"\x00")
                if not stripped:
                    return None
                return stripped[-1], stripped[:-1]
            if self.explicit_nonce:
                nonce, body = iv + body[:8], body[8:]
            else:
                nonce = bytes(a ^ b for a, b in zip(iv, seq.to_bytes(12, "big"), strict=True))
            aad = seq.to_bytes(8, "big") + header[:3] + (len(body) - 16).to_bytes(2, "big")
            return header[0], aead.decrypt(nonce, body, aad)
        except (InvalidTag, ValueError, OverflowError):
            return None


class CbcDirection:
    """TLS 1.2 AES-CBC record protection of one direction, with its HMAC (checked: it is what
    tells a wrong key log from a right one)."""

    __slots__ = ("key", "mac_key", "mac", "mac_len", "etm", "seq")

    def __init__(self, key: bytes, mac_key: bytes, mac: str, etm: bool) -> None:
        self.key, self.mac_key, self.mac = key, mac_key, mac
        self.mac_len = MAC_LEN[mac]
        self.etm = etm
        """Encrypt-then-MAC (RFC 7366) was negotiated: the MAC covers the ciphertext."""
        self.seq = 0

    def decrypt(self, header: bytes, body: bytes) -> tuple[int, bytes] | None:
        """(content type, plaintext) of one protected record, or None."""
        try:
            out = self._open(header, body)
        except ValueError:
            out = None
        if out is not None:
            self.seq += 1
        return out

    def _tag(self, header: bytes, data: bytes) -> bytes:
        aad = self.seq.to_bytes(8, "big") + header[:3] + len(data).to_bytes(2, "big")
        return hmac.new(self.mac_key, aad + data, self.mac).digest()

    def _open(self, header: bytes, body: bytes) -> tuple[int, bytes] | None:
        n = self.mac_len
        if self.etm:
            ct, tag = body[:-n], body[-n:]
            if len(ct) < 32 or not hmac.compare_digest(tag, self._tag(header, ct)):
                return None
            plain = _unpad(_cbc(self.key, ct))
            return None if plain is None else (header[0], plain)
        plain = _unpad(_cbc(self.key, body)) if len(body) >= 32 else None
        if plain is None or len(plain) < n:
            return None
        content, tag = plain[:-n], plain[-n:]
        return (header[0], content) if hmac.compare_digest(tag, self._tag(header, content)) else None


def _cbc(key: bytes, data: bytes) -> bytes:
    """AES-CBC decryption of an explicit IV and the blocks after it (raises ValueError)."""
    if len(data) % 16:
        raise ValueError("not whole blocks")
    dec = Cipher(algorithms.AES(key), modes.CBC(data[:16])).decryptor()
    return dec.update(data[16:]) + dec.finalize()


def _unpad(plain: bytes) -> bytes | None:
    if not plain:
        return None
    pad = plain[-1]
    if pad + 1 > len(plain) or plain[-pad - 1 :] != bytes([pad]) * (pad + 1):
        return None
    return plain[: -pad - 1]


def tls12_directions(
    suite: Suite, master: bytes, client_random: bytes, server_random: bytes, etm: bool = False
):
    """(client's, server's) record protection for TLS 1.2."""
    block = tls12_key_block(suite, master, client_random, server_random)
    m = MAC_LEN[suite.mac] if suite.mac else 0
    k, iv_len = suite.key_len, _iv_len(suite)
    cm, sm, block = block[:m], block[m : 2 * m], block[2 * m :]
    ck, sk, civ, siv = block[:k], block[k : 2 * k], block[2 * k : 2 * k + iv_len], block[2 * k + iv_len :]
    if suite.aead is None:
        return CbcDirection(ck, cm, suite.mac, etm), CbcDirection(sk, sm, suite.mac, etm)
    gcm = suite.aead is AESGCM
    return (
        Direction(False, [(suite.aead(ck), civ)], gcm),
        Direction(False, [(suite.aead(sk), siv)], gcm),
    )


def tls13_directions(suite: Suite, secrets: dict[str, bytes], early: bool = False):
    """(client's, server's) record protection for TLS 1.3, or None without the secrets.
    ``early``: the client sent 0-RTT data; its first stage is then the early traffic secret's
    (its data and EndOfEarlyData), when the key log has it."""

    def stage(label: str):
        return traffic_protection(suite, secrets[label])

    def direction(side: str) -> Direction:
        # The stages the key log has, in order: a client logs each secret as it derives it, so
        # a handshake that failed (curl refusing the certificate) left only the handshake
        # secrets, or only the server's: those records still open (as tshark opens them).
        labels = [f"{side}_HANDSHAKE_TRAFFIC_SECRET", f"{side}_TRAFFIC_SECRET_0"]
        if side == "CLIENT" and early and "CLIENT_EARLY_TRAFFIC_SECRET" in secrets:
            labels.insert(0, "CLIENT_EARLY_TRAFFIC_SECRET")
        have = []
        for label in labels:
            if label not in secrets:
                break
            have.append(stage(label))
        d = Direction(True, have, False, suite, secrets[labels[-1]] if len(have) == len(labels) else None)
        if len(have) < len(labels):
            d.missing = LACKS + labels[len(have)]
        return d

    dirs = direction("CLIENT"), direction("SERVER")
    if not dirs[0].stages and not dirs[1].stages:
        return None
    missing = dirs[0].missing or dirs[1].missing
    if missing is not None:
        # One side's application data alone would make every request of the other side look
        # unanswered (its responses holes): neither side's is decrypted, the exchanges are
        # inferred from the records as without keys; the handshake stages still open.
        for d in dirs:
            if d.missing is None:  # all its stages: the last is its application traffic's
                d.stages, d.secret, d.missing = d.stages[:-1], None, missing
    return dirs


def early_protection(keys: KeyLog, client_random: bytes, header: bytes, body: bytes):
    """(the client's 0-RTT record protection, the record's (content type, plaintext)) for a
    record sent before the ServerHello names the cipher suite: each TLS 1.3 suite is tried
    with the key log's early traffic secret (the AEAD tag tells the right one); None if none
    opens it."""
    secret = keys.secrets.get(client_random, {}).get("CLIENT_EARLY_TRAFFIC_SECRET")
    if secret is None:
        return None
    for code in (0x1301, 0x1302, 0x1303):
        suite = SUITES[code]
        if len(secret) != (48 if suite.hash == "sha384" else 32):
            continue
        d = Direction(True, [traffic_protection(suite, secret)], False)
        out = d.decrypt(header, body)
        if out is not None:
            return d, out
    return None


def directions(
    keys: KeyLog,
    tls13: bool,
    cipher: int,
    client_random: bytes,
    server_random: bytes,
    etm: bool = False,
    early: bool = False,
):
    """Both directions' record protection, or a note saying why the connection cannot be
    decrypted."""
    suite = SUITES.get(cipher)
    if suite is None or (tls13 and suite.aead is None):
        return f"cipher suite 0x{cipher:04x} is not supported for decryption"
    secrets = keys.secrets.get(client_random)
    if secrets is None:
        return NO_KEYS
    if tls13 and early and "CLIENT_EARLY_TRAFFIC_SECRET" not in secrets:
        # Its 0-RTT request and EndOfEarlyData are protected by that secret alone.
        return LACKS + "0-RTT secret (CLIENT_EARLY_TRAFFIC_SECRET)"
    if tls13:
        dirs = tls13_directions(suite, secrets, early)
        return dirs if dirs is not None else LACKS + "TLS 1.3 traffic secrets"
    master = secrets.get("CLIENT_RANDOM")
    if master is None or len(master) != 48:
        return LACKS + "master secret"
    return tls12_directions(suite, master, client_random, server_random, etm)
