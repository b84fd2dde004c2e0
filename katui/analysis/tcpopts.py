"""TCP options read back from the capture: the window scale each side announced in its SYN."""

from __future__ import annotations

from katui.model import ACK, SYN, Connection

WSCALE = 3
"""TCP option kind of the window scale (RFC 7323)."""


def _wscale(buf, off: int) -> int | None:
    """The window scale option of the TCP header at ``off``, or None."""
    end = off + (buf[off + 12] >> 4) * 4
    i = off + 20
    while i < end:
        kind = buf[i]
        if kind == 0:
            return None
        if kind == 1:
            i += 1
            continue
        if i + 1 >= end or buf[i + 1] < 2:
            return None
        if kind == WSCALE and buf[i + 1] == 3 and i + 2 < end:
            return min(buf[i + 2], 14)
        i += buf[i + 1]
    return None


def window_shifts(analysis, conn: Connection) -> tuple[int, int] | None:
    """(client shift, server shift) for the windows after the handshake; None when the SYN or
    SYN-ACK is not in the capture (the scale is then unknown). Both are 0 unless both sides
    announced the option, as RFC 7323 says."""
    t = analysis.table
    if not t.kept:
        return None
    found: dict[bool, int | None] = {}
    for frame in conn.frames[:8]:
        i = frame - 1
        if t.flags[i] & SYN and t.toff[i]:
            c2s = t.from_client(i)
            if c2s != bool(t.flags[i] & ACK):  # the client's SYN, the server's SYN-ACK
                found.setdefault(c2s, _wscale(t.buf, t.toff[i]))
    if len(found) < 2:
        return None
    if found[True] is None or found[False] is None:
        return (0, 0)
    return (found[True], found[False])
