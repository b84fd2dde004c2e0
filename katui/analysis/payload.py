"""What a connection carries when it is not HTTP/1.x, told from its first payload bytes."""

from __future__ import annotations

from katui.model import Connection

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
