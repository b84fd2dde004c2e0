"""Per-frame facts for every frame of a capture, stored column-wise in compact arrays.

One Python object per frame would cost ~150 bytes each; these arrays cost ~45 bytes per frame,
so a million-frame capture stays small. The ladder reads rows straight from here and fetches
payload bytes from the mapped file only for the frame on screen.
"""

from __future__ import annotations

from array import array


class FrameTable:
    """Columns indexed by ``frame - 1``."""

    __slots__ = ("ts", "stream", "dir", "flags", "seq", "ack", "win", "plen", "pcap", "poff",
                 "notes", "caplen", "wirelen")  # fmt: skip

    def __init__(self) -> None:
        self.ts = array("q")
        """Timestamp, ns."""
        self.stream = array("i")
        """tcp.stream, or -1 for frames that are not TCP."""
        self.dir = array("B")
        """0 when sent by the connection's first-seen side (A), 1 when sent by side B."""
        self.flags = array("B")
        """TCP flags byte."""
        self.seq = array("I")
        """Absolute sequence number."""
        self.ack = array("I")
        """Absolute acknowledgement number."""
        self.win = array("I")
        """Raw window field."""
        self.plen = array("I")
        """TCP payload length on the wire."""
        self.pcap = array("I")
        """TCP payload bytes actually captured."""
        self.poff = array("Q")
        """Offset of the TCP payload in the (decompressed) capture file."""
        self.notes = array("B")
        """NOTE_* bits from :mod:`katui.model`."""
        self.caplen = array("I")
        """Captured frame length."""
        self.wirelen = array("I")
        """Frame length on the wire."""

    def __len__(self) -> int:
        return len(self.ts)
