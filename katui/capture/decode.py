"""Decode IPv4/IPv6 + TCP headers of one frame (the hot path of every analysis).

dpkt builds a Python object per layer; on a million frames that alone costs more than the whole
analysis budget, so katui reads the few header fields it needs directly from the mapped file,
into the typed fields of one :class:`Segment` that is refilled for every frame (compiled, no
Python object is made per field). Anything this decoder does not understand (IP fragments,
non-TCP protocols, cut headers) is simply not a TCP segment for katui, as for Wireshark's TCP
dissector.
"""

from __future__ import annotations

import struct

from katui.capture import linktypes

try:
    import cython
except ImportError:  # the interpreted build without Cython installed
    import katui.model._cython as cython

_V6_FRAGMENT = 44
_V6_ADDRESS = 1 << 144
"""Marks an IPv6 endpoint number, so that ``::1`` never equals IPv4's ``0.0.0.1``."""
_V4_BITS = 48
"""Width of an IPv4 endpoint number (address << 16 | port)."""
_V6_BITS = 145
"""Width of an IPv6 endpoint number (with its :data:`_V6_ADDRESS` mark)."""
_V4_KEYS = 1 << (2 * _V4_BITS)
"""Connection keys below this join two IPv4 endpoints; an IPv6 one is at least 2**289."""

SKIP_NOT_IP, SKIP_NOT_TCP, SKIP_FRAGMENT, SKIP_SHORT = 1, 2, 3, 4

_V4_HEADER = struct.Struct("!BxH2xHxB2xII")
"""An IPv4 header's version and length byte, total length, fragment field, protocol and two
addresses."""
_TCP_HEADER = struct.Struct("!HHIIBBH")
"""A TCP header's ports, sequence and acknowledgement numbers, data offset byte, flags and
window. Interpreted, :func:`decode` reads a header's fields with these (one call into C);
compiled, each field through a pointer."""


class Segment:
    """The TCP segment of the frame last given to :func:`decode` (refilled in place)."""

    __slots__ = ("ends", "swapped", "seq", "ack", "flags", "win", "toff", "poff", "pcap", "plen")

    def __init__(self) -> None:
        self.ends = 0
        """The two endpoints, lower first, as one number (:func:`endpoint_key`): the connection's
        key."""
        self.swapped = False
        """True when the sender is the higher endpoint."""
        self.seq = 0
        """Sequence number."""
        self.ack = 0
        """Acknowledgement number."""
        self.flags = 0
        """TCP flags byte."""
        self.win = 0
        """Raw window field."""
        self.toff = 0
        """Offset of the TCP header in the buffer."""
        self.poff = 0
        """Offset of the payload in the buffer."""
        self.pcap = 0
        """Payload bytes captured."""
        self.plen = 0
        """Payload bytes on the wire."""


def endpoint_number(ip: bytes, port: int) -> int:
    """One number for an (ip, port) endpoint; ordered as (ip bytes, port) are."""
    n = (int.from_bytes(ip, "big") << 16) | port
    return n | _V6_ADDRESS if len(ip) == 16 else n


def endpoint_of(n: int) -> tuple[bytes, int]:
    """The (ip bytes, port) of an :func:`endpoint_number`."""
    if n >= _V6_ADDRESS:
        return ((n >> 16) & ((1 << 128) - 1)).to_bytes(16, "big"), n & 0xFFFF
    return (n >> 16).to_bytes(4, "big"), n & 0xFFFF


def endpoint_key(src: int, dst: int) -> tuple[int, bool]:
    """(one number for both endpoints, the lower first (:func:`ends_key`), whether the sender
    ``src`` is the higher one): one key for both directions of a connection."""
    if dst < src:
        return ends_key(dst, src), True
    return ends_key(src, dst), False


def ends_key(lo: int, hi: int) -> int:
    """Endpoint numbers ``lo`` <= ``hi`` (of one IP version) as one number: 96 bits for IPv4,
    one int object where a tuple of two cost 120 bytes (a load test has 100,000s of keys)."""
    if hi < _V6_ADDRESS:
        return _key4(lo, hi)
    return (lo << _V6_BITS) | hi


def ends_of(key: int) -> tuple[int, int]:
    """The two endpoint numbers (lower first) of an :func:`ends_key`."""
    if key < _V4_KEYS:
        return key >> _V4_BITS, key & ((1 << _V4_BITS) - 1)
    return key >> _V6_BITS, key & ((1 << _V6_BITS) - 1)


def _be16(b, i: int) -> int:
    """The big-endian 16-bit number at ``b[i]`` (compiled: ``b`` points into the capture)."""
    return (b[i] << 8) | b[i + 1]


def _be32(b, i: int) -> int:
    """The big-endian 32-bit number at ``b[i]``."""
    top = b[i]  # widened first (compiled: to long long), so that the shift cannot overflow
    return (top << 24) | (b[i + 1] << 16) | (b[i + 2] << 8) | b[i + 3]


def _ip_type(hi: int, lo: int) -> bool:
    """The EtherType ``hi lo`` is IPv4 (0x0800) or IPv6 (0x86DD)."""
    return (hi == 0x08 and lo == 0x00) or (hi == 0x86 and lo == 0xDD)


def decode(seg: Segment, linktype: int, buf, view, off: int, caplen: int, wirelen: int) -> int:
    """Decode the TCP segment in one frame into ``seg``; return 0, or a SKIP_* reason.

    ``view`` is the capture's bytes as indexable unsigned bytes (in the compiled build a typed
    memoryview, the frame checked to lie inside it), ``buf`` the same bytes as an object (for
    the rarer link types).
    """
    end = off + caplen
    if cython.compiled:
        # The frame is checked to lie in the capture once; every header byte read below is
        # inside it (each read follows a length check against ``end``): plain C reads.
        if off < 0 or caplen < 0 or end > view.shape[0]:
            raise IndexError(f"frame bytes {off}..{end} outside the capture")
        # An empty capture has no first byte to point at; no read below happens then (caplen 0).
        p = cython.address(view[0]) if view.shape[0] else cython.NULL
    else:
        p = view
    # The common link types' IPv4/IPv6 frames in C; the rest (VLAN tags, PPPoE, BSD loopback,
    # NFLOG, 802.11, anything short) through linktypes.ip_offset, which gives the same offsets.
    # caplen first: a frame shorter than its link header may be the last bytes of the file.
    ip = -1
    if linktype == 1:  # Ethernet: EtherType at 12
        if caplen >= 14 and _ip_type(p[off + 12], p[off + 13]):
            ip = off + 14
    elif linktype == 276:  # Linux cooked v2 (tcpdump -i any): protocol at 0, 20-byte header
        if caplen >= 20 and _ip_type(p[off], p[off + 1]):
            ip = off + 20
    elif linktype == 113:  # Linux cooked v1: protocol at 14, 16-byte header
        if caplen >= 16 and _ip_type(p[off + 14], p[off + 15]):
            ip = off + 16
    elif linktype == 101 or linktype == 12 or linktype == 14 or linktype == 228 or linktype == 229:
        ip = off  # raw IP
    if ip < 0:
        ip = linktypes.ip_offset(linktype, buf, off, end)
        if ip < off:  # -1: none
            return SKIP_NOT_IP
    if ip + 20 > end:
        return SKIP_SHORT
    ver = p[ip] >> 4
    if ver == 4:
        if cython.compiled:
            ihl, total, frag, proto = p[ip], _be16(p, ip + 2), _be16(p, ip + 6), p[ip + 9]
        else:  # interpreted, the header's fields in one call into C
            ihl, total, frag, proto, src, dst = _V4_HEADER.unpack_from(p, ip)
        if proto != 6:
            return SKIP_NOT_TCP
        if frag & 0x3FFF:
            return SKIP_FRAGMENT
        ihl &= 0x0F
        if ihl < 5:  # bogus header length: the "TCP header" would be IP header bytes
            return SKIP_SHORT
        tcp = ip + ihl * 4
        # Total length 0 is what TSO/LRO-offloaded captures write: trust the captured size.
        ip_end = ip + total if total else off + wirelen
    elif ver == 6:
        if ip + 40 > end:
            return SKIP_SHORT
        nxt = p[ip + 6]
        tcp = ip + 40
        while nxt != 6:
            # hop-by-hop, routing, destination options
            if (nxt == 0 or nxt == 43 or nxt == 60) and tcp + 8 <= end:
                nxt = p[tcp]
                tcp += (p[tcp + 1] + 1) * 8
            elif nxt == _V6_FRAGMENT:
                return SKIP_FRAGMENT
            else:
                return SKIP_NOT_TCP
        total = _be16(p, ip + 4)
        ip_end = ip + 40 + total if total else off + wirelen
    else:
        return SKIP_NOT_IP
    if tcp + 20 > end:
        return SKIP_SHORT
    if cython.compiled:
        sport, dport, doff = _be16(p, tcp), _be16(p, tcp + 2), p[tcp + 12]
    else:  # interpreted, the header's fields in one call into C
        sport, dport, seq, ack, doff, flags, win = _TCP_HEADER.unpack_from(p, tcp)
    doff >>= 4
    payload = tcp + doff * 4
    wire_payload = ip_end - payload
    if wire_payload < 0 or doff < 5:
        return SKIP_SHORT
    # Ethernet pads short frames: bytes past the IP length are not TCP payload.
    captured = (end if end < ip_end else ip_end) - payload  # (interpreted, no call to min())
    if ver == 4:
        if cython.compiled:
            src, dst = _be32(p, ip + 12), _be32(p, ip + 16)
        # C integers until the key is made (48 bits each).
        s4 = (src << 16) | sport
        d4 = (dst << 16) | dport
        seg.swapped = d4 < s4
        seg.ends = _key4(d4, s4) if d4 < s4 else _key4(s4, d4)
    else:
        seg.ends, seg.swapped = endpoint_key(
            endpoint_number(bytes(buf[ip + 8 : ip + 24]), sport),
            endpoint_number(bytes(buf[ip + 24 : ip + 40]), dport),
        )
    if cython.compiled:
        seq, ack, flags, win = _be32(p, tcp + 4), _be32(p, tcp + 8), p[tcp + 13], _be16(p, tcp + 14)
    seg.seq = seq
    seg.ack = ack
    seg.flags = flags
    seg.win = win
    seg.toff = tcp
    seg.poff = payload
    seg.pcap = captured if captured > 0 else 0
    seg.plen = wire_payload
    return 0


def _key4(lo: int, hi: int) -> int:
    """:func:`ends_key` of two IPv4 endpoint numbers (called for every frame: the shift is a
    constant, :data:`_V4_BITS`, not a global looked up). Compiled, the 96-bit number is made
    at once from its 12 bytes (not from two int objects, a shifted one and their OR)."""
    if cython.compiled:
        for k in range(6):  # little-endian: ``hi`` in bytes 0-5, ``lo`` in bytes 6-11
            key[k] = (hi >> (8 * k)) & 0xFF  # noqa: F821 - key: a C array (decode.pxd)
            key[6 + k] = (lo >> (8 * k)) & 0xFF  # noqa: F821
        return _PyLong_FromByteArray(key, 12, 1, 0)  # noqa: F821 - cimported by decode.pxd
    return (lo << 48) | hi


def tcp_segment(linktype: int, buf, off: int, caplen: int, wirelen: int):
    """Decode the TCP segment in one frame; return a tuple (src ip bytes, dst ip bytes, sport,
    dport, seq, ack, flags, TCP header offset, payload offset, payload bytes captured, payload
    bytes on the wire, window), or a SKIP_* int. (The reading loop uses :func:`decode`.)"""
    seg = Segment()
    why = decode(seg, linktype, buf, buf, off, caplen, wirelen)
    if why:
        return why
    lo, hi = ends_of(seg.ends)
    (src, sport), (dst, dport) = (
        endpoint_of(hi if seg.swapped else lo),
        endpoint_of(lo if seg.swapped else hi),
    )
    return (
        src,
        dst,
        sport,
        dport,
        seg.seq,
        seg.ack,
        seg.flags,
        seg.toff,
        seg.poff,
        seg.pcap,
        seg.plen,
        seg.win,
    )
