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
from katui.capture.formats import PCAP_MAGICS, PCAPNG_SHB, PcapngRecords, PcapRecords, Record, Records

GZIP_MAGIC = b"\x1f\x8b"
# A decompressed .gz capture larger than this is refused (a gzip bomb must not fill the disk).
MAX_GUNZIPPED = 64 * 1024**3
# Per-packet damage is reported this many times, then only counted: a hostile file with millions
# of bad blocks must not grow a million warnings.
MAX_WARNINGS = 20


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

    def cursor(self) -> Records:
        """A cursor over every packet record in file order (Wireshark's frame order); call
        :meth:`end_records` after its last record."""
        return PcapRecords(self) if self.format == "pcap" else PcapngRecords(self)

    def records(self) -> Iterator[Record]:
        """Yield every packet record in file order, as (ts, link type, offset, caplen, wirelen)."""
        cur = self.cursor()
        while cur.advance():
            yield cur.ts, cur.linktype, cur.off, cur.caplen, cur.wirelen
        self.end_records()

    def end_records(self) -> None:
        """Sum up the damage once every record was read."""
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
        fh = open(path, "rb")  # kept open for the mapping's lifetime (no with)
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
    elif bytes(cap.buf[8:12]) not in (b"\x1a\x2b\x3c\x4d", b"\x4d\x3c\x2b\x1a"):
        # Nothing of such a file can be read (a later bad section only stops the reading).
        raise CaptureError(
            f"{cap.path}: not a pcapng capture (its section header's byte-order magic is wrong)"
        )
