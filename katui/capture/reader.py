"""Open pcap / pcapng files (optionally gzip-compressed) and iterate their packet records.

katui reads the file headers itself instead of going through ``dpkt.pcap`` / ``dpkt.pcapng``:

* dpkt's pcapng reader honours only the first interface block (dpkt issue #681), so a file
  mixing link types or time resolutions across interfaces or sections is misread;
* dpkt gives ``Decimal`` timestamps for nanosecond pcaps and floats otherwise, while katui keeps
  integer nanoseconds end to end;
* dpkt rewrites LINKTYPE_RAW (101) to 12 and raises ``NeedData`` on a truncated record header,
  where katui wants the file's own value and a warning with what was read.

The file is memory-mapped, and records are yielded as offsets into that buffer, so payload bytes
are never copied unless a later layer asks for them.
"""

from __future__ import annotations

import gzip
import mmap
import os
import shutil
import stat
import struct
import tempfile
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from katui.capture import linktypes
from katui.capture.errors import CaptureError

PCAP_MAGICS = {
    b"\xd4\xc3\xb2\xa1": ("<", 1000),  # microseconds, little-endian
    b"\xa1\xb2\xc3\xd4": (">", 1000),
    b"\x4d\x3c\xb2\xa1": ("<", 1),  # nanoseconds
    b"\xa1\xb2\x3c\x4d": (">", 1),
}
PCAPNG_SHB = b"\x0a\x0d\x0d\x0a"
GZIP_MAGIC = b"\x1f\x8b"
# Wireshark refuses records larger than this (WTAP_MAX_PACKET_SIZE_STANDARD); so does katui:
# a bigger length is corruption, and believing it would skip the rest of the file.
MAX_RECORD = 262144
# A decompressed .gz capture larger than this is refused (a gzip bomb must not fill the disk).
MAX_GUNZIPPED = 64 * 1024**3
# Per-packet damage is reported this many times, then only counted: a hostile file with millions
# of bad blocks must not grow a million warnings.
MAX_WARNINGS = 20
# Timestamps are int64 nanoseconds (FrameTable.ts); pcapng can encode far larger ones.
_TS_MIN, _TS_MAX = -(2**63), 2**63 - 1

Record = tuple[int, int, int, int, int]
"""(timestamp ns, link type, offset of frame bytes in the buffer, captured length, wire length)."""


@dataclass
class CaptureFile:
    """An opened capture: its bytes (memory-mapped) and what was learnt while reading it."""

    path: str
    """Path as given by the user."""
    format: str
    """``pcap`` or ``pcapng``."""
    compressed: bool
    """True when the file was gzip-compressed (it is decompressed to an unlinked temp file)."""
    buf: mmap.mmap | bytes
    """The (decompressed) file contents."""
    size: int
    """Size in bytes of ``buf``."""
    warnings: list[str] = field(default_factory=list)
    """Damage found while reading, one sentence each (truncation, bad blocks...)."""
    link_types: set[int] = field(default_factory=set)
    """Link types of the packets read so far."""
    damaged: int = 0
    """Packet records that were damaged (skipped, or read with a corrected field)."""
    on_tls_keys: Callable[[bytes], None] | None = None
    """Called with the key log text of each pcapng Decryption Secrets Block of TLS keys, as the
    block is read (``editcap --inject-secrets`` puts them before the packets)."""
    _fh: object = None

    def records(self) -> Iterator[Record]:
        """Yield every packet record in file order (Wireshark's frame order)."""
        yield from _pcap_records(self) if self.format == "pcap" else _pcapng_records(self)
        if self.damaged > MAX_WARNINGS:
            self.warnings.append(
                f"{self.damaged} damaged packet records in all; only the first {MAX_WARNINGS} are listed"
            )

    def damage(self, msg: str) -> None:
        """Report one damaged packet record (listed up to MAX_WARNINGS times, then counted)."""
        self.damaged += 1
        if self.damaged <= MAX_WARNINGS:
            self.warnings.append(msg)

    def read(self, offset: int, length: int) -> bytes:
        """Bytes ``[offset, offset+length)`` of the capture, clipped to the file."""
        end = min(self.size, offset + max(0, length))
        return bytes(self.buf[offset:end])

    def close(self) -> None:
        """Release the mapping and the file handle."""
        if isinstance(self.buf, mmap.mmap):
            try:
                self.buf.close()
            except BufferError:  # a memoryview still points into it; the GC will release it
                pass
        if self._fh is not None:
            self._fh.close()
            self._fh = None


def open_capture(path: str) -> CaptureFile:
    """Open ``path`` read-only; raise :class:`CaptureError` with a one-line reason if impossible.

    ``-`` reads the capture from standard input (``tcpdump -w - | katui report -``): it is
    spooled to an unlinked temporary file first, since the reader maps the file.
    """
    if path == "-":
        return _from_stdin()
    try:
        st = os.stat(path)
    except FileNotFoundError:
        raise CaptureError(f"{path}: no such file") from None
    except OSError as exc:
        raise CaptureError(f"{path}: cannot open: {exc.strerror or exc}") from None
    if stat.S_ISDIR(st.st_mode):
        raise CaptureError(f"{path}: is a directory, not a capture file")
    if not stat.S_ISREG(st.st_mode):
        raise CaptureError(f"{path}: not a regular file (FIFO, device or socket); save it to a file first")
    try:
        fh = open(path, "rb")  # noqa: SIM115 - kept open for the mapping's lifetime
    except OSError as exc:
        raise CaptureError(f"{path}: cannot open: {exc.strerror or exc}") from None
    head = fh.read(4)
    compressed = False
    if head[:2] == GZIP_MAGIC:
        fh = _gunzip_to_temp(path, fh)
        compressed = True
        head = fh.read(4)
    buf = _map(fh)
    fmt = _sniff(path, head)
    cap = CaptureFile(path=path, format=fmt, compressed=compressed, buf=buf, size=len(buf), _fh=fh)
    _check_header(cap)
    return cap


def _from_stdin() -> CaptureFile:
    import sys

    src = sys.stdin.buffer
    if src.isatty():
        raise CaptureError("-: standard input is a terminal; pipe a capture in (tcpdump -w - ...)")
    out = tempfile.TemporaryFile(prefix="katui-stdin-")
    shutil.copyfileobj(src, out, 1 << 20)
    out.seek(0)
    head = out.read(4)
    compressed = head[:2] == GZIP_MAGIC
    if compressed:
        out = _gunzip_to_temp("-", out)
        head = out.read(4)
    buf = _map(out)
    cap = CaptureFile(
        path="-", format=_sniff("-", head), compressed=compressed, buf=buf, size=len(buf), _fh=out
    )
    _check_header(cap)
    return cap


def _gunzip_to_temp(path: str, fh):
    """Decompress into an unlinked temporary file so the capture can still be memory-mapped."""
    fh.seek(0)
    out = tempfile.TemporaryFile(prefix="katui-")
    written = 0
    try:
        with gzip.GzipFile(fileobj=fh) as gz:
            while True:
                # read1: one decompression step at a time, so a cut stream keeps what came before.
                block = gz.read1(1 << 20)
                if not block:
                    break
                written += len(block)
                if written > MAX_GUNZIPPED:
                    raise CaptureError(f"{path}: decompresses to more than 64 GiB; refusing")
                out.write(block)
    except (OSError, EOFError, zlib.error) as exc:
        if written == 0:
            out.close()
            raise CaptureError(f"{path}: broken gzip data: {exc}") from None
        # A cut-off .gz still yields what was decompressed; the record reader reports the cut.
    finally:
        fh.close()
    out.flush()
    out.seek(0)
    return out


def _map(fh) -> mmap.mmap | bytes:
    fh.seek(0, os.SEEK_END)
    if fh.tell() == 0:
        return b""
    return mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ)


def _sniff(path: str, head: bytes) -> str:
    if len(head) == 0:
        raise CaptureError(f"{path}: empty file, not a capture")
    if head in PCAP_MAGICS:
        return "pcap"
    if head == PCAPNG_SHB:
        return "pcapng"
    raise CaptureError(f"{path}: not a pcap or pcapng capture (unknown magic {head.hex()})")


def _check_header(cap: CaptureFile) -> None:
    if cap.format == "pcap":
        if cap.size < 24:
            raise CaptureError(f"{cap.path}: pcap file header is cut short ({cap.size} bytes)")
        endian, _ = PCAP_MAGICS[bytes(cap.buf[:4])]
        linktype = struct.unpack_from(endian + "I", cap.buf, 20)[0] & 0x0FFFFFFF
        if linktype not in linktypes.SUPPORTED:
            raise CaptureError(
                f"{cap.path}: unsupported link type {linktype}; katui reads Ethernet, SLL/SLL2, "
                "NULL/LOOP, raw IP, NFLOG and 802.11"
            )
        cap.link_types.add(linktype)
    elif cap.size < 28:
        raise CaptureError(f"{cap.path}: pcapng section header is cut short ({cap.size} bytes)")


def _pcap_records(cap: CaptureFile) -> Iterator[Record]:
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


def _pcapng_records(cap: CaptureFile) -> Iterator[Record]:
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
