"""Link-layer types katui understands and how to find the IP header inside each.

Values are the LINKTYPE_* numbers stored in pcap/pcapng files (not libpcap's DLT_* values,
which differ for raw IP on some platforms: 12 and 14 are the historic BSD/OpenBSD DLT_RAW).
dpkt's ``pcap.Reader`` rewrites LINKTYPE_RAW 101 to 12 on the way in; katui reads file headers
itself, so it sees the file's own value and accepts both.
"""

from __future__ import annotations

import struct

ETHERNET = 1
NULL = 0
RAW_BSD = 12
RAW_OPENBSD = 14
RAW = 101
IEEE802_11 = 105
IEEE802_11_RADIOTAP = 127
LOOP = 108
LINUX_SLL = 113
NFLOG = 239
IPV4 = 228
IPV6 = 229
LINUX_SLL2 = 276

NAMES = {
    NULL: "null",
    ETHERNET: "ether",
    RAW_BSD: "rawip",
    RAW_OPENBSD: "rawip",
    RAW: "rawip",
    IEEE802_11: "ieee-802-11",
    IEEE802_11_RADIOTAP: "ieee-802-11-radiotap",
    LOOP: "loop",
    LINUX_SLL: "linux-sll",
    NFLOG: "nflog",
    IPV4: "ipv4",
    IPV6: "ipv6",
    LINUX_SLL2: "linux-sll2",
}

SUPPORTED = frozenset(NAMES)

_ETH_IPV4 = 0x0800
_ETH_IPV6 = 0x86DD
_VLAN_TAGS = (0x8100, 0x88A8, 0x9100, 0x9200)
_PPPOE_SESSION = 0x8864
# BSD address families for IPv6 differ per OS (24 NetBSD/OpenBSD, 28 FreeBSD, 30 macOS).
_AF_INET = 2
_AF_INET6 = (10, 24, 28, 30)


def name(linktype: int) -> str:
    """Short human name of a link type, or ``linktype N`` for unknown ones."""
    return NAMES.get(linktype, f"linktype {linktype}")


def ip_offset(linktype: int, buf, off: int, end: int) -> int:
    """Offset of the IPv4/IPv6 header inside the frame ``buf[off:end]``, or -1 if there is none.

    Only the first nibble at the returned offset tells v4 from v6; callers check it.
    """
    if linktype == ETHERNET:
        return _ether(buf, off + 12, end)
    if linktype in (RAW, RAW_BSD, RAW_OPENBSD, IPV4, IPV6):
        return off
    if linktype == LINUX_SLL:
        return _ethertype_at(buf, off + 14, off + 16, end)
    if linktype == LINUX_SLL2:
        return _ethertype_at(buf, off, off + 20, end)
    if linktype in (NULL, LOOP):
        return _bsd_loopback(linktype, buf, off, end)
    if linktype == NFLOG:
        return _nflog(buf, off, end)
    if linktype == IEEE802_11_RADIOTAP:
        if end - off < 4:
            return -1
        (rt_len,) = struct.unpack_from("<H", buf, off + 2)
        return _ieee80211(buf, off + rt_len, end)
    if linktype == IEEE802_11:
        return _ieee80211(buf, off, end)
    return -1


def _ether(buf, type_off: int, end: int) -> int:
    """Follow 802.1Q / QinQ tags from the EtherType at ``type_off``."""
    for _ in range(4):
        if type_off + 2 > end:
            return -1
        etype = (buf[type_off] << 8) | buf[type_off + 1]
        if etype == _ETH_IPV4 or etype == _ETH_IPV6:
            return type_off + 2
        if etype in _VLAN_TAGS:
            type_off += 4
            continue
        if etype == _PPPOE_SESSION and type_off + 10 <= end:
            # PPPoE header (6 bytes) then the PPP protocol: 0x0021 IPv4, 0x0057 IPv6.
            ppp = (buf[type_off + 8] << 8) | buf[type_off + 9]
            return type_off + 10 if ppp in (0x0021, 0x0057) else -1
        return -1
    return -1


def _ethertype_at(buf, type_off: int, ip_off: int, end: int) -> int:
    if ip_off > end:
        return -1
    etype = (buf[type_off] << 8) | buf[type_off + 1]
    if etype == _ETH_IPV4 or etype == _ETH_IPV6:
        return ip_off
    if etype in _VLAN_TAGS:
        return _ether(buf, ip_off + 2, end)
    return -1


def _bsd_loopback(linktype: int, buf, off: int, end: int) -> int:
    if end - off < 4:
        return -1
    raw = bytes(buf[off : off + 4])
    if linktype == LOOP:
        (family,) = struct.unpack(">I", raw)
    else:
        # DLT_NULL stores the family in the *capturing host's* byte order: accept either.
        little, big = struct.unpack("<I", raw)[0], struct.unpack(">I", raw)[0]
        family = little if little < 256 else big
    if family == _AF_INET or family in _AF_INET6:
        return off + 4
    return -1


def _nflog(buf, off: int, end: int) -> int:
    """NFLOG: 4-byte header, then TLVs (little-endian length, 4-byte aligned); type 9 = payload."""
    pos = off + 4
    while pos + 4 <= end:
        tlv_len, tlv_type = struct.unpack_from("<HH", buf, pos)
        if tlv_len < 4:
            return -1
        if tlv_type == 9:
            return pos + 4
        pos += (tlv_len + 3) & ~3
    return -1


def _ieee80211(buf, off: int, end: int) -> int:
    """802.11 data frame, then LLC/SNAP with an EtherType."""
    if end - off < 24:
        return -1
    fc0, fc1 = buf[off], buf[off + 1]
    if (fc0 >> 2) & 0x3 != 2:  # not a data frame
        return -1
    hdr = 24
    if fc1 & 0x03 == 0x03:  # to-DS and from-DS: 4 addresses
        hdr += 6
    if fc0 & 0x80:  # QoS data subtype
        hdr += 2
    if fc1 & 0x80:  # HT control present (order bit on QoS frames)
        hdr += 4
    llc = off + hdr
    if llc + 8 > end or buf[llc] != 0xAA or buf[llc + 1] != 0xAA:
        return -1
    return _ethertype_at(buf, llc + 6, llc + 8, end)
