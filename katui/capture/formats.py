"""The two capture formats' record layouts: classic pcap and pcapng (blocks, sections,
interfaces with their own link type and time resolution)."""

from __future__ import annotations

import struct
from collections.abc import Iterator
from typing import TYPE_CHECKING

from katui.capture import linktypes

if TYPE_CHECKING:
    from katui.capture.reader import CaptureFile

PCAP_MAGICS = {
    b"\xd4\xc3\xb2\xa1": ("<", 1000),  # microseconds, little-endian
    b"\xa1\xb2\xc3\xd4": (">", 1000),
    b"\x4d\x3c\xb2\xa1": ("<", 1),  # nanoseconds
    b"\xa1\xb2\x3c\x4d": (">", 1),
}
PCAPNG_SHB = b"\x0a\x0d\x0d\x0a"
# Wireshark refuses records larger than this (WTAP_MAX_PACKET_SIZE_STANDARD); so does katui:
# a bigger length is corruption, and believing it would skip the rest of the file.
MAX_RECORD = 262144
# Timestamps are int64 nanoseconds (FrameTable.ts); pcapng can encode far larger ones.
_TS_MIN, _TS_MAX = -(2**63), 2**63 - 1

Record = tuple[int, int, int, int, int]
"""(timestamp ns, link type, offset of frame bytes in the buffer, captured length, wire length)."""


def pcap_records(cap: CaptureFile) -> Iterator[Record]:
    """Every record of a classic pcap file."""
    buf, end = cap.buf, cap.size
    endian, mult = PCAP_MAGICS[bytes(buf[:4])]
    linktype = struct.unpack_from(endian + "I", buf, 20)[0] & 0x0FFFFFFF
    unpack = struct.Struct(endian + "IIII").unpack_from
    pos = 24
    n = 0
    while pos + 16 <= end:
        sec, frac, caplen, wirelen = unpack(buf, pos)
        if caplen > MAX_RECORD:
            cap.warnings.append(
                f"record {n + 1} at byte {pos} claims {caplen} bytes (limit {MAX_RECORD}): "
                f"file corrupt from there, {end - pos} bytes not read"
            )
            return
        pos += 16
        if pos + caplen > end:
            cap.warnings.append(
                f"capture truncated: record {n + 1} at byte {pos - 16} needs {caplen} bytes, "
                f"only {end - pos} left; analysed the {n} complete records"
            )
            return
        n += 1
        yield sec * 1_000_000_000 + frac * mult, linktype, pos, caplen, wirelen
        pos += caplen
    if pos != end:
        cap.warnings.append(
            f"capture truncated: {end - pos} stray bytes after record {n} (a record header is cut)"
        )


class _Section:
    """Per-section pcapng state: byte order and the interfaces declared so far."""

    __slots__ = ("endian", "ifaces")

    def __init__(self, endian: str):
        self.endian = endian
        self.ifaces: list[tuple[int, int, int, int]] = []  # (linktype, num, den_shift, offset_s)


def pcapng_records(cap: CaptureFile) -> Iterator[Record]:
    """Every packet record of a pcapng file, across sections and interfaces."""
    buf, end = cap.buf, cap.size
    pos = 0
    sec: _Section | None = None
    n = 0
    while pos + 12 <= end:
        raw_type = bytes(buf[pos : pos + 4])
        if raw_type == PCAPNG_SHB:
            bom = bytes(buf[pos + 8 : pos + 12])
            endian = "<" if bom == b"\x4d\x3c\x2b\x1a" else ">" if bom == b"\x1a\x2b\x3c\x4d" else ""
            if not endian:
                cap.warnings.append(f"bad pcapng section header at byte {pos}; stopped reading")
                return
            sec = _Section(endian)
        if sec is None:
            cap.warnings.append(f"pcapng data before any section header at byte {pos}")
            return
        btype, blen = struct.unpack_from(sec.endian + "II", buf, pos)
        if blen < 12 or blen % 4 or blen > MAX_RECORD + 4096 and btype in (2, 3, 6):
            cap.warnings.append(f"corrupt pcapng block at byte {pos} (length {blen}); stopped")
            return
        if pos + blen > end:
            cap.warnings.append(
                f"capture truncated: pcapng block at byte {pos} needs {blen} bytes, "
                f"only {end - pos} left; analysed the {n} complete records"
            )
            return
        body = pos + 8
        bend = pos + blen - 4
        if btype == 1:
            _read_idb(cap, sec, buf, body, bend)
        elif btype == 10:
            _read_dsb(cap, sec, buf, body, bend)
        elif btype in (6, 2, 3):
            rec = _packet_block(cap, sec, btype, buf, body, bend, pos)
            if rec is not None:
                n += 1
                yield rec
        pos += blen
    if pos != end:
        cap.warnings.append(f"capture truncated: {end - pos} stray bytes after the last block")


TLS_KEY_LOG = 0x544C534B
"""Decryption Secrets Block type of TLS key log text ('TLSK')."""


def _read_dsb(cap: CaptureFile, sec: _Section, buf, body: int, bend: int) -> None:
    """A Decryption Secrets Block: hand TLS key log text to ``cap.on_tls_keys``."""
    if bend - body < 8 or cap.on_tls_keys is None:
        return
    stype, slen = struct.unpack_from(sec.endian + "II", buf, body)
    if stype == TLS_KEY_LOG:
        cap.on_tls_keys(bytes(buf[body + 8 : min(bend, body + 8 + slen)]))


def _read_idb(cap: CaptureFile, sec: _Section, buf, body: int, bend: int) -> None:
    e = sec.endian
    # Too short for its fixed fields: keep its slot (packets name interfaces by index), unusable.
    linktype = struct.unpack_from(e + "H", buf, body)[0] if bend - body >= 8 else -1
    num, shift, offset_s = 6, 0, 0  # default resolution: 10^-6 s
    opt = body + 8
    while opt + 4 <= bend:
        code, olen = struct.unpack_from(e + "HH", buf, opt)
        if code == 0:
            break
        val = opt + 4
        if val + olen > bend:
            cap.warnings.append(f"interface {len(sec.ifaces)}: an option overruns its block; ignored")
            break
        if code == 9 and olen >= 1:
            r = buf[val]
            if r & 0x80:
                num, shift = 0, r & 0x7F
            else:
                num, shift = r, 0
        elif code == 14 and olen >= 8:
            offset_s = struct.unpack_from(e + "q", buf, val)[0]
        opt = val + ((olen + 3) & ~3)
    if linktype not in linktypes.SUPPORTED:
        cap.warnings.append(
            f"interface {len(sec.ifaces)} has unsupported link type {linktype}; its packets are skipped"
        )
    sec.ifaces.append((linktype, num, shift, offset_s))


def _packet_block(cap, sec, btype, buf, body, bend, pos) -> Record | None:
    e = sec.endian
    if bend - body < (4 if btype == 3 else 20):
        cap.damage(f"packet block at byte {pos} is shorter than its own header; skipped")
        return None
    if btype == 3:  # simple packet block: interface 0, no timestamp
        if not sec.ifaces:
            cap.damage(f"packet block at byte {pos} before any interface; skipped")
            return None
        wirelen = struct.unpack_from(e + "I", buf, body)[0]
        caplen = min(wirelen, bend - body - 4)
        iface, ts_raw, data = 0, 0, body + 4
    else:
        if btype == 6:
            iface, hi, lo, caplen, wirelen = struct.unpack_from(e + "IIIII", buf, body)
            data = body + 20
        else:  # obsolete packet block
            iface, _drops, hi, lo, caplen, wirelen = struct.unpack_from(e + "HHIIII", buf, body)
            data = body + 20
        ts_raw = (hi << 32) | lo
    if iface >= len(sec.ifaces):
        cap.damage(f"packet at byte {pos} names unknown interface {iface}; skipped")
        return None
    if data + caplen > bend:
        cap.damage(f"packet at byte {pos} overruns its block; skipped")
        return None
    linktype, num, shift, offset_s = sec.ifaces[iface]
    if shift:
        ts = (ts_raw * 1_000_000_000) >> shift
    elif num <= 9:
        ts = ts_raw * 10 ** (9 - num)
    else:
        ts = ts_raw // 10 ** (num - 9)
    ts += offset_s * 1_000_000_000
    if not _TS_MIN <= ts <= _TS_MAX:
        # Beyond year 2262 (or a huge tsoffset): corrupt; keep the frame, pin its time to the limit.
        cap.damage(f"packet at byte {pos} has an impossible timestamp; clamped")
        ts = max(_TS_MIN, min(ts, _TS_MAX))
    cap.link_types.add(linktype)
    return ts, linktype, data, caplen, wirelen
