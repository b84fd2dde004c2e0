"""Follow stream: a connection's payload bytes in capture order, client and server told apart.

Pure Python (no Textual). Bytes are read back from the capture only when asked for (and at most
``limit`` of them); retransmitted segments are left out, as Wireshark's Follow TCP Stream does.
Every byte from the capture goes through :mod:`katui.textsafe` (text mode) or is shown as hex
with only printable ASCII beside it, so nothing from the capture can act on the terminal.
"""

from __future__ import annotations

from katui.model import NOTE_RETRANSMISSION, Connection
from katui.textsafe import safe_bytes

LIMIT = 1 << 20
"""Bytes read at most for one view (a bulk download need not be read whole to be followed)."""

Line = tuple[int, bool, str]
"""(frame, sent by the client, text)."""


def segments(analysis, conn: Connection, limit: int = LIMIT) -> list[tuple[int, bool, bytes]]:
    """(frame, sent by the client, payload) for every frame carrying new payload."""
    t = analysis.table
    out, total = [], 0
    for frame in conn.frames:
        i = frame - 1
        if not t.pcap[i] or t.notes[i] & NOTE_RETRANSMISSION:
            continue
        data = analysis.payload(frame, limit - total)
        out.append((frame, t.from_client(i), data))
        total += len(data)
        if total >= limit:
            break
    return out


def _printable(b: int) -> str:
    return chr(b) if 0x20 <= b < 0x7F else "."


HEX_WIDE = 16
"""Bytes a hex line shows (xxd's 16); a narrow screen gets :data:`HEX_NARROW`."""
HEX_NARROW = 8


def hex_lines(data: bytes, offset: int = 0, per_line: int = HEX_WIDE) -> list[str]:
    """``00000010  47 45 54 20 ...  GET ...``: ``per_line`` bytes a line."""
    out = []
    width = per_line * 3 - 1
    for at in range(0, len(data), per_line):
        chunk = data[at : at + per_line]
        hexed = " ".join(f"{b:02x}" for b in chunk)
        out.append(f"{offset + at:08x}  {hexed:<{width}}  {''.join(_printable(b) for b in chunk)}")
    return out


def follow_view(
    analysis, conn: Connection, hex_mode: bool = False, limit: int = LIMIT, per_line: int = HEX_WIDE
) -> tuple[list[Line], str]:
    """The lines (:func:`follow_lines`) and what they are: ``text``, ``hex``, or for a TLS
    connection in text mode its records, decrypted or why not
    (:mod:`katui.report.tls_follow`); hex always shows the bytes on the wire."""
    if conn.tls is None or hex_mode:
        return follow_lines(analysis, conn, hex_mode, limit, per_line), "hex" if hex_mode else "text"
    from katui.report.tls_follow import record_lines  # cryptography is loaded for TLS only

    lines, note = record_lines(analysis, segments(analysis, conn, limit))
    return lines, f"TLS records ({note})" if note else "TLS records, decrypted"


def follow_lines(
    analysis, conn: Connection, hex_mode: bool = False, limit: int = LIMIT, per_line: int = HEX_WIDE
) -> list[Line]:
    """The connection's bytes as lines, each with its frame and direction (``per_line`` bytes
    a hex line)."""
    out: list[Line] = []
    sent = {True: 0, False: 0}  # offsets per direction, for the hex view
    for frame, c2s, data in segments(analysis, conn, limit):
        if hex_mode:
            out += [(frame, c2s, line) for line in hex_lines(data, sent[c2s], per_line)]
        else:
            out += [(frame, c2s, line) for line in text_lines(safe_bytes(data))]
        sent[c2s] += len(data)
    return out


def text_lines(text):
    """The lines of a segment's text (str or bytes): split at each newline, a newline that ends
    it ending its last line (no empty line after it: a head's CRLF CRLF is one blank line)."""
    lines = text.split("\n" if isinstance(text, str) else b"\n")
    if len(lines) > 1 and not lines[-1]:
        lines.pop()
    return lines


def prefix(c2s: bool) -> str:
    """The direction mark in front of a line: ``C→`` client to server, ``S←`` server to client."""
    return "C→ " if c2s else "S← "
