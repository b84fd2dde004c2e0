"""Incremental HTTP/1.x framing for one direction of a TCP connection.

The parser is fed in-order byte ranges of the mapped capture (no copies for bodies: a body of
known length is only counted), plus explicit gaps for bytes that were never captured. It keeps
at most one message head (64 KiB cap) in memory, so memory stays flat whatever the payload size,
and a hostile chunk size or endless head cannot make it allocate without bound.
"""

from __future__ import annotations

try:
    import cython
except ImportError:  # the interpreted build without Cython installed
    import katui.model._cython as cython

from katui.http.head import REQ_START, RESP_START, cut_start, parse_cut_start, parse_head, scan_head
from katui.http.owner import MessageOwner
from katui.http.states import (
    BODY,
    CHUNK_DATA,
    CHUNK_END,
    CHUNK_SIZE,
    DEAD,
    HEAD,
    RESYNC,
    TRAILER,
    UNTIL_CLOSE,
)
from katui.model.store import MessageStore
from katui.tcp.state import ByteConsumer

MAX_HEAD = 64 * 1024
MAX_LINE = 4096
_MAX_HEAD_C = MAX_HEAD  # the same as a C integer (parser.pxd)
FIRST_LOOK = 2048
"""Bytes of a piece copied out of the capture to find a head's end in (most heads are shorter;
a longer one is looked for in the capture itself, past this window)."""

_NO_HEAD = b""  # shared by every parser carrying nothing (most, most of the time)


def _head_end(buf, start: int, stop: int) -> int:
    """Where the head in ``buf[start:stop]`` ends: just past its first empty line (CRLF CRLF, or
    LF LF from a sender that ends lines with a bare LF, RFC 9112 2.2), or -1.

    The first one, whichever kind: a head is the same however TCP cut it (fuzz/fuzz_http.py
    found a head read past an LF LF when it came in one segment, and not when it came in two).
    """
    crlf = buf.find(b"\r\n\r\n", start, stop)
    lf = buf.find(b"\n\n", start, stop if crlf < 0 else crlf)
    if lf >= 0:
        return lf + 2
    return -1 if crlf < 0 else crlf + 4


def _whole_head(buf, pos: int, end: int) -> bytes | None:
    """The bytes of the head starting at ``buf[pos]`` when its empty line (:func:`_head_end`)
    comes before ``end`` and within :data:`MAX_HEAD` bytes, else None (also when ``buf[pos]``
    is a CR or LF: line ends between messages, which the caller skips first).

    Compiled, the empty line is looked for in the capture's own bytes, in one pass in C
    (:func:`_blank_line`), and only the head is copied out. Interpreted, the piece's first bytes
    are copied out and searched there (a request's head is often all the piece: then that copy
    is the head).
    """
    if cython.compiled:
        PyObject_GetBuffer(buf, cython.address(pb), PyBUF_SIMPLE)  # noqa: F821 - cimported by parser.pxd
        try:
            if not 0 <= pos < end <= pb.len:  # noqa: F821 - pb: a Py_buffer (parser.pxd)
                raise IndexError("an HTTP piece outside its buffer")
            p = cython.cast("const unsigned char *", pb.buf)  # noqa: F821
            if p[pos] == 13 or p[pos] == 10:
                return None
            stop = _blank_line(p, pos, min(end, pos + _MAX_HEAD_C))
            if stop < 0:
                return None
            return PyBytes_FromStringAndSize(cython.cast("const char *", p + pos), stop - pos)  # noqa: F821
        finally:
            PyBuffer_Release(cython.address(pb))  # noqa: F821
    piece = buf[pos : min(end, pos + FIRST_LOOK)]
    if piece[0] == 13 or piece[0] == 10:
        return None
    stop = _head_end(piece, 0, len(piece))
    if stop >= 0:
        return piece if stop == len(piece) else piece[:stop]
    if len(piece) == FIRST_LOOK:  # a longer head, or none: the rest of the window
        stop = _head_end(buf, pos, min(end, pos + MAX_HEAD))
        if stop >= 0:
            return buf[pos:stop]
    return None


def _blank_line(p, start: int, stop: int) -> int:
    """:func:`_head_end` of ``p[start:stop]``, compiled only (``p`` points into the capture):
    one pass over the bytes in C instead of two searches.

    The first LF that completes an empty line decides: LF LF ends there, CR LF CR LF one byte
    later (an LF LF that starts before a CR LF CR LF is the first one's LF, an LF LF wholly
    before it is found at an earlier LF).
    """
    k = start
    while k + 1 < stop:
        # the next LF with a byte after it (memchr: a head has a few lines of tens of bytes)
        q = cython.cast("const unsigned char *", memchr(p + k, 10, stop - 1 - k))  # noqa: F821
        if q == cython.NULL:
            return -1
        k = q - p
        c = p[k + 1]
        if c == 10:
            return k + 2
        if c == 13 and k > start and p[k - 1] == 13 and k + 2 < stop and p[k + 2] == 10:
            return k + 3
        k += 1
    return -1


def upgrades_to_h2c(head: bytes) -> bool:
    """A (101) response head whose ``Upgrade`` header names ``h2c``: HTTP/2 over cleartext
    follows it (RFC 7540 3.2). Read only for a 101: a rare head."""
    for line in head.split(b"\n")[1:]:
        name, colon, value = line.partition(b":")
        if colon and name.strip().lower() == b"upgrade":
            return value.split(b",")[0].strip().lower() == b"h2c"
    return False


def switches_protocol(method: str | None, status: int) -> bool:
    """A response after which the connection carries another protocol: 101 Switching
    Protocols, or a 2xx answer to CONNECT (a tunnel); ``method``: its request's."""
    return status == 101 or (method == "CONNECT" and 200 <= status < 300)


class HttpHalf(ByteConsumer):
    """Frames HTTP messages in one direction.

    Messages are rows of ``store``; the parser tells its ``owner`` (a :class:`MessageOwner`)
    about them by row index. The connection's conversation is the owner, so a parser costs no
    bound-method objects (a load-test capture has a hundred thousand parsers).
    ``switched`` turns true after 101/CONNECT: the bytes that follow are not HTTP/1.x.
    """

    __slots__ = ("is_request", "owner", "state", "head", "head_frame", "head_ns", "remaining",
                 "cur", "body", "missing", "error", "switched", "store")  # fmt: skip

    def __init__(self, is_request: bool, owner: MessageOwner, resync: bool = False):
        self.is_request = is_request
        self.owner = owner
        self.store: MessageStore = owner.store
        """Where the messages are kept: the owner's (one store per capture)."""
        self.state = RESYNC if resync else HEAD
        self.head = _NO_HEAD  # bytes carried between pieces (a bytearray while any)
        self.head_frame = 0
        self.head_ns = 0
        self.remaining = 0
        self.cur = -1  # row of the message whose head is parsed and body still arriving
        self.body = 0  # body bytes of ``cur`` so far
        self.missing = 0  # bytes of the current message the capture never had
        self.error: str | None = None
        self.switched = False

    def _carry(self, data) -> None:
        """Keep ``data`` for the next piece (a head or line split across segments)."""
        if self.head is _NO_HEAD:
            self.head = bytearray(data)
        else:
            self.head += data

    # -- input ---------------------------------------------------------------------------

    def feed(self, buf, pos: int, end: int, frame: int, ts: int) -> None:
        """Consume ``buf[pos:end]``, which arrived (completing in order) in ``frame`` at ``ts``."""
        while pos < end:
            st = self.state
            if st == BODY or st == CHUNK_DATA:
                take = min(self.remaining, end - pos)
                self.remaining -= take
                self.body += take
                pos += take
                if self.remaining == 0:
                    if st == BODY:
                        self._finish(frame, ts)
                    else:
                        self.state = CHUNK_END
            elif st == HEAD:
                pos = self._head(buf, pos, end, frame, ts)
            elif st == UNTIL_CLOSE:
                self.body += end - pos
                return
            elif st in (CHUNK_SIZE, CHUNK_END, TRAILER):
                pos = self._chunk_line(buf, pos, end, frame, ts)
            elif st == RESYNC:
                pos = self._resync(buf, pos, end, frame, ts)
            else:  # DEAD
                if self.switched:  # after 101/CONNECT: the owner may follow the new protocol
                    self.owner.switched_bytes(self.is_request, buf, pos, end, frame, ts)
                return

    def gap(self, nbytes: int, frame: int, ts: int) -> None:
        """``nbytes`` of this direction were never captured (lost segment or snap length)."""
        st = self.state
        if st in (BODY, CHUNK_DATA) and nbytes <= self.remaining:
            self.remaining -= nbytes
            self.body += nbytes
            self.missing += nbytes
            if self.remaining == 0:
                if st == BODY:
                    self._finish(frame, ts)
                else:
                    self.state = CHUNK_END
            return
        if st == UNTIL_CLOSE:
            self.body += nbytes
            self.missing += nbytes
            return
        if st == DEAD:
            return
        if st == RESYNC and self.head and cut_start(bytes(self.head[:20]), self.is_request):
            # Only the first bytes of this segment were captured (snap length) and they start a
            # message: count it, as Wireshark does, though its head is lost.
            self.head_frame, self.head_ns = frame, ts
            st = HEAD
        if st == HEAD and self.head:
            # A head cut by the snap length or a hole: keep what its start line says.
            self._partial_head(frame, ts)
        # The gap hit framing bytes: what we were parsing is lost; look for the next message.
        self._abandon()
        self._lost()
        self.head = _NO_HEAD
        self.state = RESYNC

    def close(self, frame: int, ts: int) -> None:
        """The sender closed (FIN/RST) or the capture ended: flush what is pending."""
        if self.state == UNTIL_CLOSE and self.cur >= 0:
            self._finish(frame, ts)
            self.state = DEAD
            return
        if self.state == HEAD and self.head:
            # A head that never got its blank line: the sender stalled or gave up mid-head.
            self._partial_head(frame, ts, cut=False)
        self._abandon()
        if self.state != DEAD:
            self.state = RESYNC

    # -- states --------------------------------------------------------------------------

    def _head(self, buf, pos: int, end: int, frame: int, ts: int) -> int:
        if not self.head:
            self.head_frame, self.head_ns = frame, ts
            # Common case: the whole head is in this piece; no copy into the accumulator.
            head = _whole_head(buf, pos, end)
            if head is None and buf[pos] in (13, 10):  # stray CRLFs between messages (RFC 9112 2.2)
                while pos < end and buf[pos] in (13, 10):
                    pos += 1
                if pos == end:
                    return end
                head = _whole_head(buf, pos, end)
            if head is not None:
                pos += len(head)
                return pos + self._start(head, frame, ts, end - pos)
        have = len(self.head)
        take = min(end, pos + MAX_HEAD + 4 - have)
        self._carry(buf[pos:take])
        stop = _head_end(self.head, max(0, have - 3), len(self.head))
        if stop < 0:
            if len(self.head) > MAX_HEAD:
                self._fail(f"HTTP head longer than {MAX_HEAD // 1024} KiB in frame {frame}")
                return end
            return take
        pos += stop - have  # where the head ends in this piece
        head = bytes(self.head[:stop])
        self.head = _NO_HEAD
        return pos + self._start(head, frame, ts, end - pos)

    def _partial_head(self, frame: int, ts: int, cut: bool = True) -> None:
        """Keep what a head that never ended says: ``cut`` by a gap (shown where the capture
        lost it), or left unfinished when the sender closed (never completed)."""
        head = bytes(self.head)
        self.head = _NO_HEAD
        parsed = parse_head(head, self.is_request) or parse_cut_start(head, self.is_request)
        if parsed is None:
            return
        i = self.store.add(self.is_request, self.head_frame, self.head_ns, parsed, len(head))
        if self.is_request:
            self.owner.request_head(i)
        else:
            self.owner.response_method(parsed.status, self.head_ns)
        if cut:  # shown where the capture lost it, like Wireshark does with a truncated head
            self.store.end(i, frame, ts, 0, False)
        else:
            self.store.head_unfinished(i)
        self._done(i)

    def _start(self, head: bytes, frame: int, ts: int, avail: int) -> int:
        """Frame the message ``head`` starts; ``avail`` bytes follow it in this piece. Returns
        how many of them it took: a body that is all there is counted at once, and the
        message is stored whole (the common case: one call to the store, none to :meth:`feed`'s
        body state)."""
        scanned = scan_head(head, self.is_request)
        if scanned is None:
            # Not a message start (e.g. the capture began mid-body): look for the next one.
            self.error = self.error or (
                f"unexpected bytes instead of an HTTP {'request' if self.is_request else 'response'}"
                f" in frame {self.head_frame}"
            )
            self.state = RESYNC
            return 0
        self.missing = self.body = 0
        status, clen, chunked = scanned[0], scanned[1], scanned[2]
        if self.is_request:
            if scanned[4][1] == "CONNECT":  # its method: the bytes after it are a tunnel's
                self._open(scanned, len(head))
                if chunked:
                    self.state = CHUNK_SIZE
                elif clen:
                    self.state, self.remaining = BODY, clen
                else:
                    self._finish(frame, ts)
                self.switched = True
                return 0
            if chunked:
                self._open(scanned, len(head))
                self.state = CHUNK_SIZE
                return 0
            if clen and clen > avail:
                self._open(scanned, len(head))
                self.state, self.remaining = BODY, clen
                return 0
            return self._whole(scanned, len(head), frame, ts, clen or 0)
        # The method of the request it answers (the store's rows of requests only: this
        # response's row can be added after).
        method = self.owner.response_method(status, self.head_ns)
        if switches_protocol(method, status):
            self.switched = True
            self._whole(scanned, len(head), frame, ts, 0)
            self.state = DEAD
            if status == 101 and upgrades_to_h2c(head):
                self.owner.h2c_upgrade()
            return 0
        if 100 <= status < 200 or status == 204 or status == 304 or method == "HEAD":
            return self._whole(scanned, len(head), frame, ts, 0)
        if chunked:
            self._open(scanned, len(head))
            self.state = CHUNK_SIZE
        elif clen is None:
            self._open(scanned, len(head))
            self.state = UNTIL_CLOSE
        elif clen > avail:
            self._open(scanned, len(head))
            self.state, self.remaining = BODY, clen
        else:
            return self._whole(scanned, len(head), frame, ts, clen)
        return 0

    def _open(self, scanned: tuple, size: int) -> None:
        """Store a message whose body is still to come (:meth:`_finish` ends it)."""
        self.cur = i = self.store.add_scanned(self.is_request, self.head_frame, self.head_ns, scanned, size)
        if self.is_request:
            self.owner.request_head(i)

    def _whole(self, scanned: tuple, size: int, frame: int, ts: int, body: int) -> int:
        """Store a message that ended in ``frame`` with ``body`` bytes of body, all captured;
        return ``body``."""
        i = self.store.add_scanned(
            self.is_request, self.head_frame, self.head_ns, scanned, size, frame, ts, body
        )
        self.body = body
        self.state = DEAD if self.switched else HEAD
        if self.is_request:
            self.owner.request_head(i)
            self.owner.request_done(i)
        else:
            self.owner.response_done(i)
        return body

    def _chunk_line(self, buf, pos: int, end: int, frame: int, ts: int) -> int:
        nl = buf.find(b"\n", pos, end)
        if nl < 0:
            self._carry(buf[pos:end])
            if len(self.head) > MAX_LINE:
                self._fail(f"chunk line longer than {MAX_LINE} bytes in frame {frame}")
            return end
        line = bytes(self.head) + bytes(buf[pos:nl]) if self.head else bytes(buf[pos:nl])
        self.head = _NO_HEAD
        pos = nl + 1
        line = line.rstrip(b"\r")
        st = self.state
        if st == CHUNK_END:
            if line:
                self._fail(f"chunk not followed by CRLF in frame {frame}")
                return end
            self.state = CHUNK_SIZE
        elif st == CHUNK_SIZE:
            size_txt = line.split(b";", 1)[0].strip()
            try:
                size = int(size_txt, 16)
            except ValueError:
                self._fail(f"bad chunk size in frame {frame}")
                return end
            if size < 0:
                self._fail(f"bad chunk size in frame {frame}")
                return end
            if size == 0:
                self.state = TRAILER
            else:
                self.state, self.remaining = CHUNK_DATA, size
        elif not line:  # TRAILER ends with an empty line
            self._finish(frame, ts)
        return pos

    def _resync(self, buf, pos: int, end: int, frame: int, ts: int) -> int:
        """After a gap or a mid-stream start, find the next message start."""
        piece = bytes(buf[pos:end])
        pat = REQ_START if self.is_request else RESP_START
        # Segments usually start at message boundaries: try this one's first byte on its own.
        if pat.match(piece):
            if self.head:
                self._lost()
            self.head = _NO_HEAD
            self.state = HEAD
            return pos
        window = bytes(self.head[-MAX_LINE:]) + piece if self.head else piece
        m = pat.search(window)
        if m is None or m.start(1) > 0:
            self._lost()
        if m is None:
            self.head = bytearray(window[-MAX_LINE:])
            return end
        consumed_from_head = len(window) - (end - pos)
        start = m.start(1) - consumed_from_head
        self.head = _NO_HEAD
        self.state = HEAD
        if start < 0:  # the start line began in the carried-over bytes
            self._carry(window[m.start(1) : consumed_from_head])
            self.head_frame, self.head_ns = frame, ts
            return pos
        return pos + start

    # -- output --------------------------------------------------------------------------

    def _finish(self, frame: int, ts: int) -> None:
        cur = self.cur
        self.cur = -1
        self.state = DEAD if self.switched else HEAD
        if cur >= 0:
            self.store.end(cur, frame, ts, self.body, self.missing == 0)
            self._done(cur)

    def _done(self, i: int) -> None:
        if self.is_request:
            self.owner.request_done(i)
        else:
            self.owner.response_done(i)

    def _lost(self) -> None:
        if not self.is_request:
            self.owner.response_lost()

    def _abandon(self) -> None:
        cur = self.cur
        self.cur = -1
        if cur >= 0:
            self.store.abandon(cur, self.body)
            self._done(cur)  # frame None, complete False: the message never completed

    def _fail(self, why: str) -> None:
        self._abandon()
        self.error = self.error or why
        self.head = _NO_HEAD
        self.state = DEAD
