"""ClientHello and ServerHello: the handshake facts TLS sends in the clear.

The hello bodies are read by ``dpkt.ssl`` (the design card's dependency), inside a wrapper that
turns any exception it raises on hostile bytes into "unreadable" (see
``tests/test_tls_hello.py``, which feeds it thousands of mutated hellos). dpkt does not read
extension contents, and does not check that an extension fits its block: katui reads the four
it needs (server_name, ALPN, supported_versions, pre_shared_key) itself, with bounds checks.
"""

from __future__ import annotations

import struct
from typing import NamedTuple

EXT_SERVER_NAME = 0
EXT_ALPN = 16
EXT_ENCRYPT_THEN_MAC = 22
EXT_SESSION_TICKET = 35
EXT_PRE_SHARED_KEY = 41
EXT_EARLY_DATA = 42
EXT_SUPPORTED_VERSIONS = 43

HELLO_RETRY_RANDOM = bytes.fromhex("cf21ad74e59a6111be1d8c021e65b891c2a211167abb8c5e079e09e2c8a8339c")
"""ServerHello.random of a TLS 1.3 HelloRetryRequest (RFC 8446, 4.1.3)."""

MAX_NAMES = 16
"""ALPN names kept from a ClientHello (a hostile one may list thousands)."""
MAX_NAME = 255


class ClientHello(NamedTuple):
    """What katui keeps of a ClientHello."""

    session_id: bytes
    sni: str | None
    alpn: tuple[str, ...]
    versions: tuple[int, ...]
    """``supported_versions`` (empty if absent)."""
    ticket: bool
    """A non-empty session_ticket extension (the client offers a TLS 1.2 ticket)."""
    psk: bool
    """A ``pre_shared_key`` extension (the client offers a TLS 1.3 resumption)."""
    random: bytes
    """The 32 random bytes (a key log is indexed by them)."""
    early_data: bool = False
    """An ``early_data`` extension: the client sends 0-RTT data right after this hello
    (RFC 8446 4.2.10)."""


class ServerHello(NamedTuple):
    """What katui keeps of a ServerHello."""

    version: int
    """The agreed version (``supported_versions`` if present, else the legacy field)."""
    session_id: bytes
    cipher: int
    alpn: str | None
    psk: bool
    """``pre_shared_key`` present: the server accepted a TLS 1.3 resumption."""
    retry: bool
    """A HelloRetryRequest, not a real ServerHello."""
    random: bytes
    """The 32 random bytes (TLS 1.2 key derivation needs them)."""
    etm: bool
    """encrypt_then_mac accepted (RFC 7366: CBC records are MACed after encryption)."""


def version_name(v: int | None) -> str | None:
    """``TLS 1.2`` for 0x0303, ``SSL 3.0`` for 0x0300; ``0x7f1c`` for drafts and others."""
    if v is None:
        return None
    if v == 0x0300:
        return "SSL 3.0"
    if 0x0301 <= v <= 0x0304:
        return f"TLS 1.{v - 0x0301}"
    return f"0x{v:04x}"


def cipher_name(code: int) -> str:
    """IANA name of a cipher suite (``0x1234`` when dpkt does not know it)."""
    from dpkt import ssl_ciphersuites

    suite = ssl_ciphersuites.BY_CODE.get(code)
    return suite.name if suite is not None else f"0x{code:04x}"


def parse_client_hello(body: bytes) -> ClientHello | None:
    """A ClientHello handshake body (after the 4-byte message header), or None if unreadable."""
    from dpkt import ssl

    try:
        hello = ssl.TLSClientHello(body)
        exts = getattr(hello, "extensions", None) or ()
        sni = alpn = versions = None
        ticket = psk = early = False
        for typ, data in exts:
            if typ == EXT_SERVER_NAME and sni is None:
                sni = _server_name(data)
            elif typ == EXT_ALPN and alpn is None:
                alpn = _alpn(data)
            elif typ == EXT_SUPPORTED_VERSIONS and versions is None:
                versions = _versions(data[1 : 1 + data[0]] if data else b"")
            elif typ == EXT_SESSION_TICKET:
                ticket = len(data) > 0
            elif typ == EXT_PRE_SHARED_KEY:
                psk = True
            elif typ == EXT_EARLY_DATA:
                early = True
        random = bytes(hello.random)
        return ClientHello(
            bytes(hello.session_id), sni, alpn or (), versions or (), ticket, psk, random, early
        )
    except Exception:  # dpkt raises NeedData, UnpackError, struct.error, IndexError...
        return None


def parse_server_hello(body: bytes) -> ServerHello | None:
    """A ServerHello handshake body, or None if unreadable."""
    from dpkt import ssl

    try:
        hello = ssl.TLSServerHello(body)
        version = hello.version
        alpn = None
        psk = etm = False
        for typ, data in getattr(hello, "extensions", None) or ():
            if typ == EXT_SUPPORTED_VERSIONS and len(data) == 2:
                version = struct.unpack("!H", data)[0]
            elif typ == EXT_ALPN:
                names = _alpn(data)
                alpn = names[0] if len(names) == 1 else None
            elif typ == EXT_PRE_SHARED_KEY:
                psk = True
            elif typ == EXT_ENCRYPT_THEN_MAC:
                etm = True
        random = bytes(hello.random)
        retry = random == HELLO_RETRY_RANDOM
        code = hello.ciphersuite.code
        return ServerHello(version, bytes(hello.session_id), code, alpn, psk, retry, random, etm)
    except Exception:
        return None


def encrypted_extensions(plain: bytes) -> tuple[str | None, bool] | None:
    """(the ALPN protocol a TLS 1.3 server chose or None, whether it accepted 0-RTT early data)
    from decrypted handshake bytes that start with its EncryptedExtensions message; None if
    they do not."""
    if len(plain) < 6 or plain[0] != 8:
        return None
    exts = _vector(plain[4 : 4 + int.from_bytes(plain[1:4], "big")], 2)
    alpn, early = None, False
    i = 0
    while exts is not None and i + 4 <= len(exts):
        typ, n = int.from_bytes(exts[i : i + 2], "big"), int.from_bytes(exts[i + 2 : i + 4], "big")
        if typ == EXT_ALPN and alpn is None:
            names = _alpn(exts[i + 4 : i + 4 + n])
            alpn = names[0] if len(names) == 1 else None
        elif typ == EXT_EARLY_DATA:
            early = True
        i += 4 + n
    return alpn, early


def _vector(data: bytes, width: int) -> bytes | None:
    """The contents of a length-prefixed vector that exactly fills ``data``."""
    if len(data) < width:
        return None
    n = int.from_bytes(data[:width], "big")
    return data[width:] if n == len(data) - width else None


def _server_name(data: bytes) -> str | None:
    """The first host_name of a server_name extension."""
    names = _vector(data, 2)
    i = 0
    while names is not None and i + 3 <= len(names):
        kind, n = names[i], int.from_bytes(names[i + 1 : i + 3], "big")
        if i + 3 + n > len(names):
            return None
        if kind == 0:
            return names[i + 3 : i + 3 + min(n, MAX_NAME)].decode("latin-1")
        i += 3 + n
    return None


def _alpn(data: bytes) -> tuple[str, ...]:
    """Protocol names of an ALPN extension (at most MAX_NAMES)."""
    names = _vector(data, 2)
    out: list[str] = []
    i = 0
    while names is not None and i < len(names) and len(out) < MAX_NAMES:
        n = names[i]
        if i + 1 + n > len(names):
            break
        out.append(names[i + 1 : i + 1 + n].decode("latin-1"))
        i += 1 + n
    return tuple(out)


def _versions(data: bytes) -> tuple[int, ...]:
    """The versions of a ClientHello's supported_versions list (GREASE values dropped)."""
    out = [int.from_bytes(data[i : i + 2], "big") for i in range(0, len(data) - 1, 2)]
    return tuple(v for v in out if v & 0x0F0F != 0x0A0A)
