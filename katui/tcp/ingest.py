"""The reading loop: every record of a capture decoded and handed to the tracker.

Compiled, it walks the records, decodes each frame's headers and tracks its segment with C calls
and typed fields: no tuple, no Python integer per field and no generator step per frame.
"""

from __future__ import annotations

from collections.abc import Callable

from katui.capture.decode import Segment, decode
from katui.capture.reader import CaptureFile
from katui.tcp.frames import FrameTable
from katui.tcp.tracker import Tracker

Tick = Callable[[int, int], None]
"""tick(frames read, offset of the current record): called every ``every`` frames."""


class Reading:
    """One pass over a capture's records; what it has read so far (also after an exception)."""

    __slots__ = ("n", "first", "last", "skipped")

    def __init__(self) -> None:
        self.n = 0
        """Frames read (the frame being read, while one is)."""
        self.first = 0
        """Timestamp of frame 1 (0 before it is read)."""
        self.last = 0
        """Timestamp of the last frame read."""
        self.skipped = [0, 0, 0, 0, 0]
        """Frames that were not TCP segments, by SKIP_* reason (katui.capture.decode)."""

    def run(self, cap: CaptureFile, table: FrameTable, tracker: Tracker, tick: Tick, every: int) -> None:
        """Read every record of ``cap`` into ``table`` and ``tracker``, calling ``tick`` every
        ``every`` frames."""
        self._walk(cap, table, tracker, cap.buf, tick, every)
        cap.end_records()

    def _walk(
        self, cap: CaptureFile, table: FrameTable, tracker: Tracker, view, tick: Tick, every: int
    ) -> None:
        cur = cap.cursor()
        seg = Segment()
        buf = cap.buf
        keep = table.kept
        t_ts, t_caplen, t_wirelen = table.ts.append, table.caplen.append, table.wirelen.append
        skipped = self.skipped
        while cur.advance():
            n = self.n + 1
            self.n = n
            ts = cur.ts
            if n == 1:
                self.first = ts
            self.last = ts
            if keep:
                t_ts(ts)
                t_caplen(cur.caplen)
                t_wirelen(cur.wirelen)
            why = decode(seg, cur.linktype, buf, view, cur.off, cur.caplen, cur.wirelen)
            if why == 0:
                tracker.track(n, ts, seg)
            else:
                skipped[why] += 1
                table.not_tcp()
            if n % every == 0:
                tick(n, cur.off)
