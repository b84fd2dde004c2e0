"""HTTP/2 frames cut from one direction's byte stream (RFC 9113, 4.1).

Nothing here trusts the bytes: a frame header is 9 bytes, its length at most 2^24 - 1; payloads
are buffered only for the frame types whose content is read (HEADERS, CONTINUATION, SETTINGS,
PING, GOAWAY, RST_STREAM, PUSH_PROMISE) and only up to ``MAX_BUFFERED`` bytes (a longer one is
reported with ``payload`` None); DATA frames are counted, never copied.
"""

from __future__ import annotations

from typing import NamedTuple

DATA, HEADERS, PRIORITY, RST_STREAM, SETTINGS, PUSH_PROMISE, PING, GOAWAY, WINDOW_UPDATE = range(9)
CONTINUATION = 9
NAMES = ("DATA", "HEADERS", "PRIORITY", "RST_STREAM", "SETTINGS", "PUSH_PROMISE", "PING", "GOAWAY",
         "WINDOW_UPDATE", "CONTINUATION")  # fmt: skip
"""Frame type names by type number (0-9)."""
END_STREAM, ACK, END_HEADERS, PADDED, PRIORITY_FLAG = 0x1, 0x1, 0x4, 0x8, 0x20
HEADER_LEN = 9
MAX_BUFFERED = 1 << 16
"""Payload bytes buffered at most per frame (a header block fragment, a GOAWAY's debug data)."""
READ = frozenset((HEADERS, RST_STREAM, SETTINGS, PUSH_PROMISE, PING, GOAWAY, CONTINUATION))
"""Frame types whose payload is buffered."""

ERRORS = ("NO_ERROR", "PROTOCOL_ERROR", "INTERNAL_ERROR", "FLOW_CONTROL_ERROR", "SETTINGS_TIMEOUT",
          "STREAM_CLOSED", "FRAME_SIZE_ERROR", "REFUSED_STREAM", "CANCEL", "COMPRESSION_ERROR",
          "CONNECT_ERROR", "ENHANCE_YOUR_CALM", "INADEQUATE_SECURITY", "HTTP_1_1_REQUIRED")  # fmt: skip
"""Error code names (RFC 9113, 7)."""


def error_name(code: int) -> str:
    """``PROTOCOL_ERROR``, or ``0x1234`` for a code RFC 9113 does not name."""
    return ERRORS[code] if 0 <= code < len(ERRORS) else f"0x{code:x}"


class Frame(NamedTuple):
    """One HTTP/2 frame as read from the stream."""

    type: int
    """Frame type (``DATA``..``CONTINUATION``; others are extensions, ignored)."""
    flags: int
    """Flag bits."""
    stream: int
    """Stream identifier (the reserved bit cleared)."""
    length: int
    """Payload length from the header."""
    payload: bytes | None
    """The payload for types in ``READ`` (None when over ``MAX_BUFFERED`` or for other types;
    a padded DATA frame keeps its first byte, the pad length)."""
    frame: int
    """Capture frame in which the HTTP/2 frame's header began."""
    ts: int
    """Its timestamp (ns)."""
    end_frame: int
    """Capture frame in which the HTTP/2 frame ended."""
    end_ts: int
    """Its timestamp (ns)."""


def data_length(f: Frame) -> int | None:
    """Bytes of data in a DATA frame, padding taken off; None when the padding is impossible."""
    if not f.flags & PADDED:
        return f.length
    if not f.payload or f.payload[0] >= f.length:
        return None
    return f.length - 1 - f.payload[0]


class FrameReader:
    """Cuts one direction's bytes into frames; :meth:`feed` returns the frames it completed."""

    __slots__ = ("hdr", "cur", "left", "body", "start", "lost")

    def __init__(self) -> None:
        self.hdr = b""  # a frame header cut by a chunk boundary
        self.cur: tuple | None = None  # (type, flags, stream, length) of the frame being read
        self.left = 0
        self.body: bytearray | None = None
        self.start = (0, 0)  # (frame, ts) where the current frame's header began
        self.lost = False
        """A hole lost the framing: nothing more is read in this direction."""

    def feed(self, data, frame: int, ts: int) -> list[Frame]:
        """Frames completed by ``data`` (bytes or a memoryview), which arrived in ``frame``."""
        out: list[Frame] = []
        if self.lost:
            return out
        pos, end = 0, len(data)
        while pos < end:
            if self.cur is None:
                if not self.hdr:
                    self.start = (frame, ts)
                take = bytes(data[pos : pos + HEADER_LEN - len(self.hdr)])
                pos += len(take)
                h = self.hdr + take
                if len(h) < HEADER_LEN:
                    self.hdr = h
                    break
                self.hdr = b""
                length = h[0] << 16 | h[1] << 8 | h[2]
                self.cur = (h[3], h[4], int.from_bytes(h[5:9], "big") & 0x7FFFFFFF, length)
                self.left = length
                ftype = h[3]
                buffered = ftype in READ and length <= MAX_BUFFERED
                self.body = bytearray() if buffered or (ftype == DATA and h[4] & PADDED) else None
            n = min(self.left, end - pos)
            if n and self.body is not None and (self.cur[0] != DATA or not self.body):
                self.body += data[pos : pos + (n if self.cur[0] != DATA else 1)]
            pos += n
            self.left -= n
            if self.left == 0:
                ftype, flags, stream, length = self.cur
                body = bytes(self.body) if self.body is not None else None
                out.append(Frame(ftype, flags, stream, length, body, *self.start, frame, ts))
                self.cur, self.body = None, None
        return out

    def gap(self) -> None:
        """Bytes were lost: frame boundaries cannot be found again (frames carry no marker)."""
        self.lost = True
        self.cur, self.body, self.hdr = None, None, b""
