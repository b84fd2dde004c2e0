"""Per-frame facts for every frame of a capture, stored column-wise in compact arrays.

One Python object per frame would cost ~150 bytes each; these arrays cost ~35 bytes per frame,
so a million-frame capture stays small. Fields only the ladder and detail views need (sequence
and acknowledgement numbers, window, payload offset) are not stored: they are read back from the
mapped capture at the TCP header offset when a row is drawn.
"""

from __future__ import annotations

import struct
from array import array
from collections import deque

_SEQ_ACK = struct.Struct("!II")
_WIN = struct.Struct("!H")


LADDER_COLUMNS = ("ts", "dir", "flags", "plen", "notes")
"""The columns a drawn ladder reads (the Markdown report keeps only these: 15 bytes a frame
instead of 39)."""


class FrameTable:
    """Columns indexed by ``frame - 1``."""

    COLUMNS = ("ts", "stream", "dir", "flags", "plen", "pcap", "toff", "notes", "caplen", "wirelen")
    TYPES = ("q", "i", "B", "B", "I", "I", "Q", "B", "I", "I")
    """The ``array`` type code of each of :attr:`COLUMNS`."""
    __slots__ = ("buf", "kept", "held", *COLUMNS)

    def __init__(self, buf=b"", keep: bool | tuple[str, ...] = True) -> None:
        self.buf = buf
        """The mapped capture (for the lazily read columns)."""
        self.kept = bool(keep)
        """False when the columns were not kept (a report that never draws frames): every
        column is then empty and indexing it raises IndexError."""
        named = keep if isinstance(keep, tuple) else self.COLUMNS if keep else ()
        self.held = tuple(c for c in self.COLUMNS if c in named)
        """The columns kept (all, or those named by ``keep``); the others stay empty."""
        self.ts = array("q")
        """Timestamp, ns."""
        self.stream = array("i")
        """tcp.stream, or -1 for frames that are not TCP."""
        self.dir = array("B")
        """0 when sent by the connection's client, 1 when sent by its server (see
        :meth:`from_client`). While the capture is read, 0 is the side that sent the first
        frame; :func:`katui.tcp.facts.facts` turns it round where that was the server."""
        self.flags = array("B")
        """TCP flags byte."""
        self.plen = array("I")
        """TCP payload length on the wire."""
        self.pcap = array("I")
        """TCP payload bytes actually captured."""
        self.toff = array("Q")
        """Offset of the TCP header in the (decompressed) capture file; 0 for non-TCP frames."""
        self.notes = array("B")
        """NOTE_* bits from :mod:`katui.model`."""
        self.caplen = array("I")
        """Captured frame length."""
        self.wirelen = array("I")
        """Frame length on the wire."""
        # deque(maxlen=0).append is a C call that keeps nothing: the reading loop stays the
        # same, and the bytes of the columns not kept are never allocated.
        for name in self.COLUMNS:
            if name not in self.held:
                setattr(self, name, deque(maxlen=0))

    def __len__(self) -> int:
        return len(self.ts)

    def not_tcp(self) -> None:
        """Add the TCP columns of a frame that is not a TCP segment."""
        self.stream.append(-1)
        self.dir.append(0)
        self.flags.append(0)
        self.plen.append(0)
        self.pcap.append(0)
        self.toff.append(0)
        self.notes.append(0)

    def from_client(self, i: int) -> bool:
        """True when frame ``i + 1`` was sent by its connection's client."""
        return self.dir[i] == 0

    @property
    def seq(self) -> _Lazy:
        """Absolute sequence numbers (read from the capture on access)."""
        return _Lazy(self, 0)

    @property
    def ack(self) -> _Lazy:
        """Absolute acknowledgement numbers."""
        return _Lazy(self, 1)

    @property
    def win(self) -> _Lazy:
        """Raw window field."""
        return _Lazy(self, 2)

    @property
    def poff(self) -> _Lazy:
        """Offset of the TCP payload in the capture file."""
        return _Lazy(self, 3)


class _Lazy:
    """A read-only column computed from the TCP header on access: ``table.seq[i]``."""

    __slots__ = ("t", "field")

    def __init__(self, table: FrameTable, field: int) -> None:
        self.t = table
        self.field = field

    def __len__(self) -> int:
        return len(self.t.ts)

    def __getitem__(self, i: int) -> int:
        off = self.t.toff[i]
        if not off:
            return 0
        buf = self.t.buf
        if self.field == 0 or self.field == 1:
            return _SEQ_ACK.unpack_from(buf, off + 4)[self.field]
        if self.field == 2:
            return _WIN.unpack_from(buf, off + 14)[0]
        return off + (buf[off + 12] >> 4) * 4
