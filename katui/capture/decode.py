"""Decode IPv4/IPv6 + TCP headers of one frame with ``struct`` (the hot path of every analysis).

dpkt builds a Python object per layer; on a million frames that alone costs more than the whole
analysis budget, so katui reads the few header fields it needs directly from the mapped file.
Anything this decoder does not understand (IP fragments, non-TCP protocols, cut headers) is
simply not a TCP segment for katui, as for Wireshark's TCP dissector.
"""

from __future__ import annotations

import struct

from katui.capture import linktypes

_V4 = struct.Struct("!BxHxxHxB2x4s4s")
_V6 = struct.Struct("!4xHBx16s16s")
_TCP = struct.Struct("!HHIIBBH")
_V6_EXT = frozenset((0, 43, 60))  # hop-by-hop, routing, destination options
_V6_FRAGMENT = 44

Segment = tuple
"""(src ip bytes, dst ip bytes, sport, dport, seq, ack, flags, TCP header offset, payload
offset, payload bytes captured, payload bytes on the wire)."""

SKIP_NOT_IP, SKIP_NOT_TCP, SKIP_FRAGMENT, SKIP_SHORT = 1, 2, 3, 4


def tcp_segment(linktype: int, buf, off: int, caplen: int, wirelen: int):
    """Decode the TCP segment in one frame; return a Segment tuple, or a SKIP_* int."""
    end = off + caplen
    # caplen first: a frame shorter than an Ethernet header may be the last bytes of the file.
    ip = off + 14 if linktype == 1 and caplen >= 14 and buf[off + 12] == 8 and buf[off + 13] == 0 else -2
    if ip == -2:
        ip = linktypes.ip_offset(linktype, buf, off, end)
        if ip < 0:
            return SKIP_NOT_IP
    if ip + 20 > end:
        return SKIP_SHORT
    ver = buf[ip] >> 4
    if ver == 4:
        vihl, total, frag, proto, src, dst = _V4.unpack_from(buf, ip)
        if proto != 6:
            return SKIP_NOT_TCP
        if frag & 0x3FFF:
            return SKIP_FRAGMENT
        if vihl & 0x0F < 5:  # bogus header length: the "TCP header" would be IP header bytes
            return SKIP_SHORT
        tcp = ip + (vihl & 0x0F) * 4
        # Total length 0 is what TSO/LRO-offloaded captures write: trust the captured size.
        ip_end = ip + total if total else off + wirelen
    elif ver == 6:
        if ip + 40 > end:
            return SKIP_SHORT
        plen, nxt, src, dst = _V6.unpack_from(buf, ip)
        tcp = ip + 40
        while nxt != 6:
            if nxt in _V6_EXT and tcp + 8 <= end:
                nxt = buf[tcp]
                tcp += (buf[tcp + 1] + 1) * 8
            elif nxt == _V6_FRAGMENT:
                return SKIP_FRAGMENT
            else:
                return SKIP_NOT_TCP
        ip_end = ip + 40 + plen if plen else off + wirelen
    else:
        return SKIP_NOT_IP
    if tcp + 20 > end:
        return SKIP_SHORT
    sport, dport, seq, ack, doff, flags, win = _TCP.unpack_from(buf, tcp)
    payload = tcp + (doff >> 4) * 4
    wire_payload = ip_end - payload
    if wire_payload < 0 or (doff >> 4) < 5:
        return SKIP_SHORT
    # Ethernet pads short frames: bytes past the IP length are not TCP payload.
    captured = min(end, ip_end) - payload
    if captured < 0:
        captured = 0
    return (src, dst, sport, dport, seq, ack, flags, tcp, payload, captured, wire_payload, win)
