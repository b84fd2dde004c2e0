"""What an HTTP/2 connection showed besides its streams: SETTINGS, PING, GOAWAY, RST_STREAM and
PUSH_PROMISE frames per side, the times of its activity, and why reading stopped (if it did).
Sides are directions (the tracker's numbering until :meth:`H2Facts.swap`, then 0 = client)."""

from __future__ import annotations

from array import array
from bisect import bisect_right

from katui.http2.frames import ACK, GOAWAY, PING, PUSH_PROMISE, RST_STREAM, SETTINGS, Frame, error_name

MAX_LABELS = 64
"""Ladder labels kept per connection (a PING flood is counted, not labelled)."""
MAX_EVENTS = 64
"""GOAWAY and RST_STREAM frames listed per connection (the first ones; a flood is counted)."""
SETTING_NAMES = {1: "header_table_size", 2: "enable_push", 3: "max_concurrent_streams",
                 4: "initial_window_size", 5: "max_frame_size", 6: "max_header_list_size"}  # fmt: skip
"""SETTINGS parameters by identifier (RFC 9113, 6.5.2)."""


class H2Facts:
    """Counters and events of one HTTP/2 connection (plain data: the model copies what it keeps)."""

    __slots__ = ("settings", "values", "pings", "pushes", "goaways", "rsts", "counts", "final",
                 "error", "labels", "activity", "body", "broken")  # fmt: skip

    def __init__(self) -> None:
        self.settings = [0, 0]
        """SETTINGS frames (not acknowledgements) per side."""
        self.values: list[dict[str, int]] = [{}, {}]
        """Per side, the parameters of its first SETTINGS frame, by name."""
        self.pings = [0, 0]
        """PING frames (not acknowledgements) per side."""
        self.pushes = 0
        """PUSH_PROMISE frames (server push)."""
        self.goaways: list[tuple] = []
        """(side, frame, ts, last stream id, error code) of the first :data:`MAX_EVENTS` GOAWAYs."""
        self.rsts: list[tuple] = []
        """(side, frame, stream, error code) of the first :data:`MAX_EVENTS` RST_STREAMs."""
        self.counts = [0, 0]
        """GOAWAY and RST_STREAM frames read, all of them."""
        self.final: list[tuple | None] = [None, None]
        """Per side, its GOAWAY with the lowest last stream id (the first with it): a graceful
        shutdown sends 2^31-1 first, then the real last stream (RFC 9113, 6.8)."""
        self.error: tuple | None = None
        """The first GOAWAY with an error code."""
        self.labels: list[tuple[int, str]] = []
        """(frame, text) for the ladder."""
        self.activity = array("q")
        """End times (ns) of the frames other than GOAWAY, in the order they were read."""
        self.body: dict[int, int] = {}
        """Body bytes so far of each open message row."""
        self.broken: str | None = None
        """Why frames or headers stopped being read, or None."""

    def active(self, d: int, f: Frame) -> None:
        """Frame ``f`` of side ``d`` was read: anything but a GOAWAY is activity."""
        if f.type != GOAWAY:
            self.activity.append(f.end_ts)

    def stop(self, why: str) -> None:
        """Keep the first reason the connection stopped being followed."""
        if self.broken is None:
            self.broken = why

    def label(self, frame: int, text: str) -> None:
        """A ladder label, while there is room."""
        if len(self.labels) < MAX_LABELS:
            self.labels.append((frame, text))

    def frame(self, d: int, f: Frame) -> int | None:
        """A control frame of side ``d``. Returns the SETTINGS_HEADER_TABLE_SIZE a SETTINGS
        frame carried, or for an RST_STREAM its stream; None otherwise or if malformed."""
        p, t = f.payload, f.type
        if t == SETTINGS and not f.flags & ACK:
            self.settings[d] += 1
            if p is None or len(p) % 6:
                self.label(f.end_frame, "SETTINGS (malformed)")
                return None
            pairs = [(int.from_bytes(p[i : i + 2], "big"), int.from_bytes(p[i + 2 : i + 6], "big"))
                     for i in range(0, len(p), 6)]  # fmt: skip
            if self.settings[d] == 1:
                self.values[d] = {SETTING_NAMES[k]: v for k, v in pairs if k in SETTING_NAMES}
            self.label(f.end_frame, "SETTINGS")
            return next((v for k, v in pairs if k == 1), None)
        if t == PING and not f.flags & ACK:
            self.pings[d] += 1
            self.label(f.end_frame, "PING")
        elif t == PUSH_PROMISE:
            self.pushes += 1
            self.label(f.end_frame, f"PUSH_PROMISE s={f.stream}")
        elif t == GOAWAY and p is not None and len(p) >= 8:
            last = int.from_bytes(p[:4], "big") & 0x7FFFFFFF
            code = int.from_bytes(p[4:8], "big")
            g = (d, f.end_frame, f.end_ts, last, code)
            self.counts[0] += 1
            if len(self.goaways) < MAX_EVENTS:
                self.goaways.append(g)
            if self.final[d] is None or last < self.final[d][3]:
                self.final[d] = g
            if code and self.error is None:
                self.error = g
            err = "" if code == 0 else f" {error_name(code)}"
            self.label(f.end_frame, f"GOAWAY last={last}{err}")
        elif t == RST_STREAM and p is not None and len(p) == 4 and f.stream:
            code = int.from_bytes(p, "big")
            self.counts[1] += 1
            if len(self.rsts) < MAX_EVENTS:
                self.rsts.append((d, f.end_frame, f.stream, code))
            self.label(f.end_frame, f"RST_STREAM s={f.stream} {error_name(code)}")
            return f.stream
        return None

    def swap(self) -> None:
        """The direction numbered 1 is the client's: renumber the sides (0 = client)."""
        self.settings.reverse()
        self.values.reverse()
        self.pings.reverse()
        self.goaways = [(1 - g[0], *g[1:]) for g in self.goaways]
        self.rsts = [(1 - r[0], *r[1:]) for r in self.rsts]
        self.final = [None if g is None else (1 - g[0], *g[1:]) for g in reversed(self.final)]
        if self.error is not None:
            self.error = (1 - self.error[0], *self.error[1:])

    def release(self) -> None:
        """Drop what only the analysis needed (the model copied the rest)."""
        self.activity = array("q")
        self.body = {}

    def last_active(self, before_ns: int) -> int | None:
        """End of the last frame other than a GOAWAY at or before ``before_ns``."""
        times = sorted(self.activity)
        i = bisect_right(times, before_ns)
        return times[i - 1] if i else None
