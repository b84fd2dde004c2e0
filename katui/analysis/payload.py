"""What a connection carries when it is not HTTP/1.x, told from its first payload bytes."""

from __future__ import annotations

from katui.model import Connection
from katui.textsafe import safe_text

_SIGNATURES = (
    (b"\x16\x03", "TLS"),
    (b"SSH-", "SSH"),
    (b"PRI * HTTP/2.0", "HTTP/2 without TLS (prior knowledge)"),
)
LOOK_AT = 16
"""Frames of a connection looked at for its first payload."""


def payload_kind(analysis, conn: Connection) -> str | None:
    """``TLS``, ``SSH``... for a connection whose first payload starts like one, else None.

    Reads a few bytes back from the capture (the analysis must have kept its frames)."""
    if conn.http or not analysis.table.kept:
        return None
    pcap = analysis.table.pcap
    for frame in conn.frames[:LOOK_AT]:
        if pcap[frame - 1]:
            head = analysis.payload(frame, 16)
            return next((name for sig, name in _SIGNATURES if head.startswith(sig)), None)
    return None


def protocol(conn: Connection, kind: str | None = None) -> str:
    """What the connection speaks, from the model: ``HTTP/1.1``, ``TLS 1.3 · h2``,
    ``TLS 1.3 · http/1.1 (decrypted)``, ``TLS 1.2``, ``SSH``, ``TCP``... (``kind`` is
    :func:`payload_kind` for a connection that is neither HTTP nor TLS, if known).

    TLS 1.3 sends the chosen ALPN encrypted: without keys only the version is said, unless
    the client offered one protocol alone."""
    tls = conn.tls
    if tls is not None:
        app = tls.alpn or ("h2" if tls.multiplexed else None)
        if app is None and len(tls.alpn_offered) == 1:
            app = tls.alpn_offered[0]
        if app is None and tls.decrypted:
            app = _http_version(conn)
            app = app.lower() if app else None
        # The ALPN is the ClientHello's bytes: hostile, and shown in the TUI's list and detail.
        text = (tls.version or "TLS") + (f" · {safe_text(app)}" if app else "")
        return f"{text} (decrypted)" if tls.decrypted else text
    if conn.http:
        return _http_version(conn) or "HTTP/1.x"
    return kind or "TCP"


def _http_version(conn: Connection) -> str | None:
    """The HTTP version of the first request (or response) that says one, not inferred."""
    for ex in conn.exchanges:
        # The store's head strings, not message views: the connection list measures this
        # column over every connection of a capture when it loads.
        for row in (ex.req, ex.resp):
            if row >= 0:
                version = ex.store.text(row).version
                if version.startswith("HTTP/"):
                    return version
    return None


def short_protocol(name: str) -> str:
    """:func:`protocol` in a list column's width: ``TLS1.3·h2``, ``TLS1.3·h1 dec``."""
    for long, short in (("TLS ", "TLS"), (" · ", "·"), ("http/1.1", "h1"), ("http/1.0", "h1.0"),
                        (" (decrypted)", " dec")):  # fmt: skip
        name = name.replace(long, short)
    return name
