"""The reading loop: every record of a capture decoded and handed to the tracker.

Compiled, it walks the records, decodes each frame's headers and tracks its segment with C calls
and typed fields: no tuple, no Python integer per field and no generator step per frame; the
per-frame columns are written into typed batches and appended to the frame table a batch at a
time, not one ``array.append`` call per column and frame.
"""

from __future__ import annotations

from array import array
from collections.abc import Callable

from katui.capture.decode import Segment, decode
from katui.capture.reader import CaptureFile
from katui.tcp.frames import FrameTable
from katui.tcp.tracker import Tracker

Tick = Callable[[int, int], None]
"""tick(frames read, offset of the current record): called every ``every`` frames."""

BATCH = 4096
"""Frames whose columns are gathered before they are appended to the frame table."""

MAX_FRAMES = 2**31 - 1
"""Frames read at most: frame numbers, per-connection frame lists and counts, and stream
numbers are 32-bit columns (a capture that long is over 100 GB). The reading stops there with
:attr:`Reading.cut` set rather than let a number wrap."""


class Reading:
    """One pass over a capture's records; what it has read so far (also after an exception)."""

    __slots__ = ("n", "first", "last", "skipped", "rows", "cur", "cut")

    def __init__(self) -> None:
        self.n = 0
        """Frames read (the frame being read, while one is)."""
        self.first = 0
        """Timestamp of frame 1 (0 before it is read)."""
        self.last = 0
        """Timestamp of the last frame read."""
        self.skipped = [0, 0, 0, 0, 0]
        """Frames that were not TCP segments, by SKIP_* reason (katui.capture.decode)."""
        self.rows: Rows | None = None
        self.cur = None
        self.cut = False
        """The capture has more frames than ``limit``; those after it were not read."""

    def run(
        self,
        cap: CaptureFile,
        table: FrameTable,
        tracker: Tracker,
        tick: Tick,
        every: int,
        first: int = 0,
        limit: int = MAX_FRAMES,
    ) -> None:
        """Read every record of ``cap`` (the first ``limit`` ones) into ``table`` and
        ``tracker``, calling ``tick`` every ``every`` frames (and once after ``first`` frames,
        when that is sooner: a screen wants its first rows before a big capture's first
        ``every`` frames are read). After an exception, :meth:`flush` the rows read so far."""
        self.cur = cap.cursor()
        if table.kept:
            self.rows = Rows(table)
        self._walk(cap, tracker, cap.buf, tick, every, first if 0 < first < every else every, limit)
        cap.end_records()
        self.flush()

    def flush(self) -> None:
        """Append the frames still gathered to the frame table; a frame whose reading raised
        gets a not-TCP row (with its time and lengths)."""
        rows = self.rows
        if rows is None:
            return
        if rows.written + rows.count < self.n:
            rows.add(self.cur.ts, self.cur.caplen, self.cur.wirelen, -1, None, None)
        rows.flush()

    def _walk(
        self, cap: CaptureFile, tracker: Tracker, view, tick: Tick, every: int, due: int, limit: int
    ) -> None:
        cur = self.cur
        seg = Segment()
        buf = cap.buf
        rows = self.rows
        skipped = self.skipped
        while cur.advance():
            if self.n == limit:
                self.cut = True
                break
            n = self.n + 1
            self.n = n
            ts = cur.ts
            if n == 1:
                self.first = ts
            self.last = ts
            why = decode(seg, cur.linktype, buf, view, cur.off, cur.caplen, cur.wirelen)
            if why == 0:
                tracker.track(n, ts, seg)
            else:
                skipped[why] += 1
            if rows is not None:
                rows.add(ts, cur.caplen, cur.wirelen, why, seg, tracker)
            if n == due:
                tick(n, cur.off)
                due = (n // every + 1) * every


class Rows:
    """The frame table's columns for up to :data:`BATCH` frames, appended to it a batch at a
    time (each column an ``array`` of the table column's type)."""

    __slots__ = ("table", "arrays", "count", "written", "ts", "stream", "dir", "flags", "plen",
                 "pcap", "toff", "notes", "caplen", "wirelen")  # fmt: skip

    def __init__(self, table: FrameTable) -> None:
        self.table = table
        self.count = 0
        """Rows gathered, not yet in the table."""
        self.written = 0
        """Rows appended to the table."""
        self.arrays = [array(code, bytes(BATCH * array(code).itemsize)) for code in FrameTable.TYPES]
        # Compiled, these are typed memoryviews of the arrays: a row is ten C stores.
        (self.ts, self.stream, self.dir, self.flags, self.plen, self.pcap, self.toff, self.notes,
         self.caplen, self.wirelen) = self.arrays  # fmt: skip

    def add(self, ts: int, caplen: int, wirelen: int, why: int, seg: Segment, tracker: Tracker) -> None:
        """The row of the frame just read: ``seg`` and what ``tracker`` made of it when ``why``
        is 0, a frame that is not TCP (``seg`` unused) otherwise."""
        i = self.count
        self.ts[i] = ts
        self.caplen[i] = caplen
        self.wirelen[i] = wirelen
        if why == 0:
            self.stream[i] = tracker.row_stream
            self.dir[i] = tracker.row_dir
            self.flags[i] = seg.flags
            self.plen[i] = seg.plen
            self.pcap[i] = seg.pcap
            self.toff[i] = seg.toff
            self.notes[i] = tracker.row_note
        else:
            self.stream[i] = -1
            self.dir[i] = self.flags[i] = self.notes[i] = 0
            self.plen[i] = self.pcap[i] = self.toff[i] = 0
        self.count = i + 1
        if i + 1 == BATCH:
            self.flush()

    def flush(self) -> None:
        """Append the gathered rows to the table."""
        k, held = self.count, self.table.held
        for name, col in zip(FrameTable.COLUMNS, self.arrays, strict=True):
            if name in held:  # (the others are not kept: nothing to append)
                getattr(self.table, name).extend(col if k == BATCH else col[:k])
        self.written += k
        self.count = 0
