"""The two capture formats' record layouts: classic pcap and pcapng (blocks, sections,
interfaces with their own link type and time resolution)."""

from __future__ import annotations

import struct
from typing import TYPE_CHECKING

from katui.capture import linktypes

try:
    import cython
except ImportError:  # the interpreted build without Cython installed
    import katui.model._cython as cython

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
_LIMIT = MAX_RECORD  # the same, as a C constant when compiled (formats.pxd)
# Timestamps are int64 nanoseconds (FrameTable.ts); pcapng can encode far larger ones. The
# lowest int64 is not a time: it stands for "no time" (katui.model.connection.NO_TS).
_TS_MIN, _TS_MAX = -(2**63) + 1, 2**63 - 1

_PCAP_RECORD = (struct.Struct("<4I"), struct.Struct(">4I"))
"""[big]: a pcap record header (seconds, fraction, captured length, wire length)."""
_BLOCK = (struct.Struct("<2I"), struct.Struct(">2I"))
"""[big]: a pcapng block's type and length."""
_PACKET = (struct.Struct("<H2x4I"), struct.Struct(">H2x4I"), struct.Struct("<5I"), struct.Struct(">5I"))
"""[enhanced * 2 + big]: a packet block's interface, time high and low words, captured and wire
lengths (an obsolete packet block's interface is 16 bits, then 16 bits of drops).

Interpreted, the record readers read a header's fields with one of these (one call into C);
compiled, each field through a pointer (:func:`_u32`)."""

Record = tuple[int, int, int, int, int]
"""(timestamp ns, link type, offset of frame bytes in the buffer, captured length, wire length)."""


class Records:
    """A cursor over a capture's packet records: each :meth:`advance` refills ``ts``,
    ``linktype``, ``off``, ``caplen`` and ``wirelen`` in place (no tuple per record)."""

    __slots__ = ("cap", "ts", "linktype", "off", "caplen", "wirelen")

    def __init__(self, cap: CaptureFile) -> None:
        self.cap = cap
        self.ts = self.linktype = self.off = self.caplen = self.wirelen = 0

    def advance(self) -> bool:
        """Move to the next record; False at the end of the file (or of its readable part)."""
        raise NotImplementedError


class PcapRecords(Records):
    """Every record of a classic pcap file."""

    __slots__ = ("view", "pos", "end", "n", "big", "mult", "done")

    def __init__(self, cap: CaptureFile) -> None:
        super().__init__(cap)
        buf = cap.buf
        self.view = buf
        self.end = cap.size
        endian, self.mult = PCAP_MAGICS[bytes(buf[:4])]
        self.big = endian == ">"
        self.linktype = _u32(_bytes(buf, 24), 20, self.big) & 0x0FFFFFFF
        self.pos = 24
        self.n = 0
        self.done = False

    def advance(self) -> bool:
        """The next record, or False (with a warning if the file is cut inside one)."""
        pos, end, cap = self.pos, self.end, self.cap
        if self.done:
            return False
        if pos + 16 > end:
            self.done = True
            if pos != end:
                cap.warnings.append(
                    f"capture truncated: {end - pos} stray bytes after record {self.n} "
                    "(a record header is cut)"
                )
            return False
        v, big = _bytes(self.view, end), self.big
        if cython.compiled:
            caplen = _u32(v, pos + 8, big)
        else:  # interpreted, the header's fields in one call into C
            sec, frac, caplen, wirelen = _PCAP_RECORD[big].unpack_from(v, pos)
        if caplen > _LIMIT:
            self.done = True
            cap.warnings.append(
                f"record {self.n + 1} at byte {pos} claims {caplen} bytes (limit {MAX_RECORD}): "
                f"file corrupt from there, {end - pos} bytes not read"
            )
            return False
        if pos + 16 + caplen > end:
            self.done = True
            cap.warnings.append(
                f"capture truncated: record {self.n + 1} at byte {pos} needs {caplen} bytes, "
                f"only {end - pos - 16} left; analysed the {self.n} complete records"
            )
            return False
        self.n += 1
        if cython.compiled:
            sec, frac, wirelen = _u32(v, pos, big), _u32(v, pos + 4, big), _u32(v, pos + 12, big)
        # Seconds are 32 bits: the nanoseconds fit in 63 bits.
        self.ts = sec * 1_000_000_000 + frac * self.mult
        self.caplen = caplen
        self.wirelen = wirelen
        self.off = pos + 16
        self.pos = pos + 16 + caplen
        return True


def _bytes(view, end: int):
    """``view`` as the record readers index it, checked to hold ``end`` bytes: compiled, a
    pointer to its first byte (every record field read is below ``end``: each read follows a
    check of the record's length against it); interpreted, ``view`` itself."""
    if end > len(view) or end <= 0:
        raise IndexError(f"{end} bytes of a capture of {len(view)}")
    if cython.compiled:
        return cython.address(view[0])
    return view


def _u32(b, i: int, big: bool) -> int:
    """The unsigned 32-bit number at ``b[i:i+4]``."""
    if big:
        top = b[i]  # widened first (compiled: to long long), so that the shift cannot overflow
        return (top << 24) | (b[i + 1] << 16) | (b[i + 2] << 8) | b[i + 3]
    top = b[i + 3]
    return (top << 24) | (b[i + 2] << 16) | (b[i + 1] << 8) | b[i]


class _Section:
    """Per-section pcapng state: byte order and the interfaces declared so far."""

    __slots__ = ("endian", "ifaces")

    def __init__(self, endian: str):
        self.endian = endian
        self.ifaces: list[tuple[int, int, int, int]] = []  # (linktype, num, den_shift, offset_s)


class PcapngRecords(Records):
    """Every packet record of a pcapng file, across sections and interfaces."""

    __slots__ = ("view", "pos", "end", "n", "big", "sec", "done")

    def __init__(self, cap: CaptureFile) -> None:
        super().__init__(cap)
        self.view = cap.buf
        self.pos = 0
        self.end = cap.size
        self.n = 0
        self.big = False
        self.sec: _Section | None = None
        self.done = False

    def advance(self) -> bool:
        """The next packet record, or False (with a warning if the file is damaged there)."""
        if self.done:
            return False
        cap, end = self.cap, self.end
        self.done = True  # until a record is found
        while self.pos + 12 <= end:
            pos = self.pos
            v = _bytes(self.view, end)
            if v[pos] == 0x0A and v[pos + 1] == 0x0D and v[pos + 2] == 0x0D and v[pos + 3] == 0x0A:
                bom = _u32(v, pos + 8, False)
                if bom != 0x1A2B3C4D and bom != 0x4D3C2B1A:
                    cap.warnings.append(f"bad pcapng section header at byte {pos}; stopped reading")
                    return False
                self.big = bom == 0x4D3C2B1A
                self.sec = _Section(">" if self.big else "<")
            if self.sec is None:
                cap.warnings.append(f"pcapng data before any section header at byte {pos}")
                return False
            if cython.compiled:
                btype, blen = _u32(v, pos, self.big), _u32(v, pos + 4, self.big)
            else:  # interpreted, both fields in one call into C
                btype, blen = _BLOCK[self.big].unpack_from(v, pos)
            if blen < 12 or blen % 4 or blen > _LIMIT + 4096 and (btype == 2 or btype == 3 or btype == 6):
                cap.warnings.append(f"corrupt pcapng block at byte {pos} (length {blen}); stopped")
                return False
            if pos + blen > end:
                cap.warnings.append(
                    f"capture truncated: pcapng block at byte {pos} needs {blen} bytes, "
                    f"only {end - pos} left; analysed the {self.n} complete records"
                )
                return False
            self.pos = pos + blen
            if btype == 1:
                _read_idb(cap, self.sec, cap.buf, pos + 8, pos + blen - 4)
            elif btype == 10:
                _read_dsb(cap, self.sec, cap.buf, pos + 8, pos + blen - 4)
            elif (btype == 6 or btype == 2 or btype == 3) and self._packet(btype, pos, v):
                self.n += 1
                self.done = False
                return True
        if self.pos != end:
            cap.warnings.append(f"capture truncated: {end - self.pos} stray bytes after the last block")
        return False

    def _packet(self, btype: int, pos: int, v) -> bool:
        """Read the packet block at ``pos`` of ``v`` (the capture, as :meth:`advance` reads
        it) into the cursor's fields; False if it is damaged."""
        cap, big, ifaces = self.cap, self.big, self.sec.ifaces
        body = pos + 8
        bend = self.pos - 4
        if bend - body < (4 if btype == 3 else 20):
            cap.damage(f"packet block at byte {pos} is shorter than its own header; skipped")
            return False
        if btype == 3:  # simple packet block: interface 0, no timestamp
            if not ifaces:
                cap.damage(f"packet block at byte {pos} before any interface; skipped")
                return False
            wirelen = _u32(v, body, big)
            caplen = min(wirelen, bend - body - 4)
            iface, hi, lo, data = 0, 0, 0, body + 4
        elif cython.compiled:
            if btype == 6:
                iface = _u32(v, body, big)
            else:  # obsolete packet block: 16-bit interface, 16-bit drops
                iface = _u16(v, body, big)
            hi, lo = _u32(v, body + 4, big), _u32(v, body + 8, big)
            caplen, wirelen = _u32(v, body + 12, big), _u32(v, body + 16, big)
            data = body + 20
        else:  # interpreted, the five fields in one call into C
            iface, hi, lo, caplen, wirelen = _PACKET[(btype == 6) * 2 + big].unpack_from(v, body)
            data = body + 20
        if iface >= len(ifaces):
            cap.damage(f"packet at byte {pos} names unknown interface {iface}; skipped")
            return False
        if data + caplen > bend:
            cap.damage(f"packet at byte {pos} overruns its block; skipped")
            return False
        linktype, num, shift, offset_s = ifaces[iface]
        if hi < 1 << 20 and not shift and not offset_s and (num == 6 or num == 9):
            # The usual micro- or nanosecond stamps: no overflow possible below 2**52 * 1000.
            self.ts = ((hi << 32) | lo) * (1000 if num == 6 else 1)
        else:
            self.ts = _ns(cap, pos, hi, lo, num, shift, offset_s)
        if linktype != self.linktype or self.n == 0:
            cap.link_types.add(linktype)
        self.linktype, self.off, self.caplen, self.wirelen = linktype, data, caplen, wirelen
        return True


def _ns(cap: CaptureFile, pos: int, hi: int, lo: int, num: int, shift: int, offset_s: int) -> int:
    """A pcapng timestamp in ns (Python integers: the fields can make it any size), clamped."""
    ts_raw = (hi << 32) | lo
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
    return ts


def _u16(b, i: int, big: bool) -> int:
    """The unsigned 16-bit number at ``b[i:i+2]``."""
    return (b[i] << 8) | b[i + 1] if big else (b[i + 1] << 8) | b[i]


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
