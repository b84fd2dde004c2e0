"""One HTTP/2 connection: the sink its (decrypted or cleartext) byte streams are fed into.

Each stream the client opens becomes an :class:`H2Exchange`: its request is the client's
HEADERS (decoded with ``hpack``: method, path, ``:authority``, ``user-agent``), completed by the
END_STREAM flag of its last HEADERS or DATA frame; its response the server's HEADERS with a
``:status`` (1xx ones are informational), completed the same way. DATA frames count body bytes.
SETTINGS, PING, GOAWAY and RST_STREAM are recorded for the close verdict, the JSON and the
ladder.

HPACK is stateful: a header block that cannot be decoded (garbage, an oversized list, a block
cut by a hole, a CONTINUATION flood) leaves the decoder's table unknown, so no later header of
that direction can be trusted. From then on no new requests are made (``broken`` says why), and
the close verdict is ``unknown``. A hole in the stream loses the frame boundaries the same way.
"""

from __future__ import annotations

from hpack import Decoder, HPACKError

from katui.http2 import PREFACE
from katui.http2.frames import (
    CONTINUATION,
    DATA,
    END_HEADERS,
    END_STREAM,
    GOAWAY,
    HEADERS,
    PADDED,
    PING,
    PRIORITY_FLAG,
    PUSH_PROMISE,
    RST_STREAM,
    SETTINGS,
    Frame,
    FrameReader,
    data_length,
)
from katui.http2.headers import request_head, response_head, status_of
from katui.http2.state import H2Facts
from katui.model import Exchange, HttpMessage, MessageStore

MAX_HEADER_BLOCK = 1 << 16
"""Bytes of one header block (HEADERS + CONTINUATION) decoded at most."""
MAX_CONTINUATIONS = 256
"""CONTINUATION frames of one header block read at most (a flood of empty ones stops here)."""
MAX_HEADER_LIST = 1 << 16
"""Decoded header list size (RFC 7541 counting) hpack accepts per block."""
MAX_TABLE = 1 << 20
"""Largest HPACK dynamic table a SETTINGS_HEADER_TABLE_SIZE may allow the decoder."""


class H2Exchange(Exchange):
    """An exchange on one HTTP/2 stream."""

    __slots__ = ("stream_id", "concurrent", "reset", "informational")

    def __init__(self, store: MessageStore, stream_id: int) -> None:
        super().__init__(store)
        self.informational: tuple[HttpMessage, ...] = ()
        """1xx responses before the final one."""
        self.stream_id = stream_id
        """The HTTP/2 stream identifier."""
        self.concurrent = False
        """True when the request was sent while another stream of the connection was open."""
        self.reset: tuple[int, int, int, int] | None = None
        """(side, frame, ts ns, error code) of the first RST_STREAM that ended the stream; the
        side is a direction until the conversation is oriented, then 0 = client, 1 = server."""


class H2Conversation:
    """Both directions of an HTTP/2 connection (a :class:`katui.tcp.sink.StreamSink`).

    ``client`` is the direction that sent the connection preface (the tracker's numbering until
    :meth:`oriented`, then 0); None until one did.
    """

    __slots__ = ("store", "client", "readers", "preface", "decoders", "streams", "exchanges",
                 "block", "facts", "cleartext", "first_open", "upgrade")  # fmt: skip

    def __init__(self, store: MessageStore, client: int | None = None, cleartext: bool = False) -> None:
        self.store = store
        """The capture's messages (requests and responses add rows)."""
        self.client = client
        self.readers: list[FrameReader | None] = [FrameReader(), FrameReader()]
        """Per direction, its frame reader (None once the direction ended)."""
        self.preface = [0, 0]
        """Preface bytes matched per direction (-1: not a preface: the server's side)."""
        self.decoders: list[Decoder | None] = [None, None]
        """Per direction, the HPACK decoder of its header blocks, made when first needed (a
        connection that never sends a header block costs no table); None again once it ended."""
        self.streams: dict[int, H2Exchange] = {}
        self.first_open = 0
        """Index in ``exchanges`` before which every stream was found closed (see :meth:`_open`)."""
        self.exchanges: list[H2Exchange] = []
        """One per client stream, in the order they were opened."""
        self.block: list = [None, None]
        """Per direction, a header block waiting for its CONTINUATION frames:
        [first HEADERS or PUSH_PROMISE frame, stream, flags, bytearray, frames read, push]."""
        self.facts = H2Facts()
        """SETTINGS, PING, GOAWAY and RST_STREAM seen, activity times, why reading stopped."""
        self.cleartext = cleartext
        """h2c (no TLS): with prior knowledge, or after an Upgrade (see ``upgrade``)."""
        self.upgrade: int | None = None
        """The frame of the ``101 Switching Protocols`` (``Upgrade: h2c``) after which the
        connection spoke HTTP/2 (:meth:`upgraded`); None with prior knowledge or inside TLS."""

    def upgraded(self, request: int, switching: int) -> None:
        """The connection switched to HTTP/2 with response row ``switching`` (a 101 with
        ``Upgrade: h2c``) to HTTP/1.1 request row ``request``: that request is stream 1, already
        sent whole (half-closed from the client, RFC 9113 3.2 of RFC 7540); its response comes
        in HTTP/2 frames on stream 1, the 101 is its interim response."""
        store = self.store
        self.upgrade = store.end_frame(switching)
        ex = H2Exchange(store, 1)
        ex.req = request
        ex.informational = (store.view(switching),)
        self.streams[1] = ex
        self.exchanges.append(ex)

    # -- the byte streams (StreamSink) ---------------------------------------------------

    def data(self, d: int, buf, start: int, end: int, frame: int, ts: int) -> None:
        """Bytes ``buf[start:end]`` continue direction ``d``."""
        if self.readers[d] is None:
            return  # after the direction's FIN
        data = memoryview(buf)[start:end]
        matched = self.preface[d]
        if matched >= 0 and matched < len(PREFACE):
            take = bytes(data[: len(PREFACE) - matched])
            if PREFACE[matched : matched + len(take)] != take:
                self.preface[d] = -1  # not a client's preface: this is the server's side
                # (unless it began one, or is the side an h2c Upgrade named the client's)
                if matched or d == self.client:
                    self.facts.stop(f"a broken connection preface in frame {frame}")
                    self.readers[d].gap()
                    return
            else:
                self.preface[d] = matched + len(take)
                if self.preface[d] == len(PREFACE) and self.client is None:
                    self.client = d
                data = data[len(take) :]
        for f in self.readers[d].feed(data, frame, ts):
            self._frame(d, f)

    def gap(self, d: int, nbytes: int, frame: int, ts: int) -> None:
        """Bytes of direction ``d`` were lost: its frames (and HPACK state) cannot be followed."""
        if self.readers[d] is not None and not self.readers[d].lost:
            self.readers[d].gap()
            self.facts.stop(f"{nbytes} bytes lost in frame {frame}: HTTP/2 frames after it are unknown")

    def close(self, d: int, frame: int, ts: int) -> None:
        """Direction ``d`` ended (messages left open stay incomplete): its reader and HPACK
        table are dropped at once (tens of thousands of connections of a capture stay tracked
        until its end; each pair of tables costs kilobytes)."""
        self.readers[d] = self.decoders[d] = None

    def client_direction(self) -> int | None:
        """The direction that sent the connection preface."""
        return self.client

    def oriented(self, client: int) -> None:
        """tcp/ decided direction ``client`` is the client's."""
        if client:
            self.facts.swap()
            for ex in self.exchanges:
                if ex.reset is not None:
                    ex.reset = (1 - ex.reset[0], *ex.reset[1:])
        if self.client is not None:  # None: no preface was seen, this is not HTTP/2
            self.client = 0

    @property
    def recognised(self) -> bool:
        """True once a whole connection preface was read."""
        return self.client is not None

    @property
    def error(self) -> str | None:
        """Why frames stopped being read, if they did."""
        return self.facts.broken

    def release(self) -> None:
        """Drop the working state once frozen: tens of thousands of connections each keeping
        two HPACK tables and frame readers would double the memory of a big capture."""
        self.streams = {}
        self.exchanges = []
        self.block = [None, None]
        self.readers = [None, None]
        self.decoders = [None, None]
        self.facts.release()

    # -- frames ----------------------------------------------------------------------------

    def _frame(self, d: int, f: Frame) -> None:
        facts = self.facts
        facts.active(d, f)
        t = f.type
        if self.block[d] is not None and t != CONTINUATION:
            self._broken(d, f, "a header block without its CONTINUATION frames")
        if t == DATA:
            self._data(d, f)
        elif t == HEADERS or t == PUSH_PROMISE:
            self._headers(d, f)
            if t == PUSH_PROMISE:
                facts.frame(d, f)
        elif t == CONTINUATION:
            self._continuation(d, f)
        elif t == RST_STREAM:
            ex = self.streams.get(f.stream)
            if facts.frame(d, f) is not None and ex is not None and ex.reset is None:
                ex.reset = (d, f.end_frame, f.end_ts, int.from_bytes(f.payload, "big"))
                self._abandon(ex)
        elif t in (SETTINGS, PING, GOAWAY):
            table = facts.frame(d, f)
            if table is not None:  # the sender's SETTINGS_HEADER_TABLE_SIZE bounds its peer's
                self._decoder(1 - d).max_allowed_table_size = min(table, MAX_TABLE)

    def _data(self, d: int, f: Frame) -> None:
        ex = self.streams.get(f.stream)
        row = self._row(ex, d)
        if row is None:
            return
        n = data_length(f)
        if n is None:
            self.facts.stop(f"a DATA frame with impossible padding in frame {f.end_frame}")
            return
        self.facts.body[row] = self.facts.body.get(row, 0) + n
        if f.flags & END_STREAM:
            self.store.end(row, f.end_frame, f.end_ts, self.facts.body.pop(row, 0), True)

    def _row(self, ex: H2Exchange | None, d: int) -> int | None:
        """The open message of stream ``ex`` that direction ``d`` sends, if any."""
        if ex is None:
            return None
        row = ex.req if d == self.client else ex.resp
        if row < 0 or self.store.end_ns(row) is not None:
            return None
        return row

    def _headers(self, d: int, f: Frame) -> None:
        """A HEADERS or PUSH_PROMISE frame: the start of a header block (a PUSH_PROMISE's is
        decoded only to keep the HPACK table in step; the pushed stream is not a request)."""
        p = f.payload
        push = f.type == PUSH_PROMISE
        if f.stream == 0 or p is None:
            self._broken(d, f, "HEADERS on stream 0" if f.stream == 0 else "a header block too large to read")
            return
        lo, hi = 0, len(p)
        if f.flags & PADDED:
            if not p:
                self._broken(d, f, "HEADERS with impossible padding")
                return
            lo, hi = 1, hi - p[0]
        if push:
            lo += 4  # the promised stream id
        elif f.flags & PRIORITY_FLAG:
            lo += 5
        if hi < lo:
            self._broken(d, f, "HEADERS with impossible padding")
            return
        self.block[d] = [f, f.stream, f.flags, bytearray(p[lo:hi]), 0, push]
        if f.flags & END_HEADERS:
            self._decode(d, f)

    def _continuation(self, d: int, f: Frame) -> None:
        blk = self.block[d]
        if blk is None or f.stream != blk[1] or f.payload is None:
            self._broken(d, f, "a CONTINUATION frame out of place")
            return
        blk[3] += f.payload
        blk[4] += 1
        if len(blk[3]) > MAX_HEADER_BLOCK or blk[4] > MAX_CONTINUATIONS:
            self._broken(d, f, f"a header block over {MAX_HEADER_BLOCK} bytes or {MAX_CONTINUATIONS} frames")
            return
        if f.flags & END_HEADERS:
            self._decode(d, f)

    def _decoder(self, d: int) -> Decoder:
        """The HPACK decoder of direction ``d``."""
        decoder = self.decoders[d]
        if decoder is None:
            decoder = self.decoders[d] = Decoder(MAX_HEADER_LIST)
        return decoder

    def _broken(self, d: int, f: Frame, why: str) -> None:
        """The HPACK state of direction ``d`` is lost: no header of it can be read any more."""
        self.block[d] = None
        self.readers[d].gap()
        self.facts.stop(f"{why} in frame {f.end_frame}: HPACK state lost, later requests unknown")

    def _decode(self, d: int, last: Frame) -> None:
        first, stream, flags, block, _, push = self.block[d]
        self.block[d] = None
        if self.facts.broken is not None:
            return
        try:
            headers = self._decoder(d).decode(bytes(block), raw=True)
        except (HPACKError, ValueError, IndexError, OverflowError, TypeError) as exc:
            self._broken(d, last, f"undecodable HPACK ({type(exc).__name__})")
            return
        if push:
            return
        fields: dict[bytes, bytes] = {}
        for name, value in headers:
            fields.setdefault(bytes(name).lower(), bytes(value))
        self._message(d, first, last, stream, flags, fields, len(block))

    def _message(self, d: int, first: Frame, last: Frame, stream: int, flags: int, fields: dict,
                 size: int) -> None:  # fmt: skip
        """A decoded header block of ``stream`` from direction ``d``: a request, a response, an
        informational response or trailers."""
        store = self.store
        ex = self.streams.get(stream)
        if d == self.client:
            if ex is not None and ex.req >= 0:
                row = ex.req  # trailers
            else:
                if ex is None:
                    ex = self._open(stream, first)
                row = ex.req = store.add(True, first.frame, first.ts, request_head(fields), size)
        else:
            if ex is None:
                if stream % 2 == 0:
                    return  # a pushed response (server-initiated stream): counted, not a request
                ex = self._open(stream, first)  # a response to a request not captured
            status = status_of(fields)
            if ex.resp >= 0 or (status == 0 and ex.informational):
                row = ex.resp  # trailers
            else:
                row = store.add(False, first.frame, first.ts, response_head(fields, status), size)
                if 100 <= status < 200:
                    store.end(row, last.end_frame, last.end_ts, 0, True)
                    ex.informational += (store.view(row),)
                    return
                ex.resp = row
        if row >= 0 and flags & END_STREAM and store.end_ns(row) is None:
            store.end(row, last.end_frame, last.end_ts, self.facts.body.pop(row, 0), True)

    def _open(self, stream: int, first: Frame) -> H2Exchange:
        ex = H2Exchange(self.store, stream)
        # The first stream still open is looked for from where the last look stopped: each
        # stream is passed once, and one open stream is enough to make this one concurrent
        # (those behind it are not looked at), so thousands of streams never answered cost
        # linear time, not quadratic.
        exchanges, i = self.exchanges, self.first_open
        while i < len(exchanges) and not self._is_open(exchanges[i]):
            i += 1
        self.first_open = i
        ex.concurrent = i < len(exchanges)
        self.streams[stream] = ex
        self.exchanges.append(ex)
        return ex

    def _is_open(self, ex: H2Exchange) -> bool:
        """Stream ``ex`` is open: not reset, and its request or response not yet complete."""
        if ex.reset is not None:
            return False
        end = self.store.end_ns
        return ex.resp < 0 or end(ex.resp) is None or (ex.req >= 0 and end(ex.req) is None)

    def _abandon(self, ex: H2Exchange) -> None:
        """The stream was reset: its open messages stay incomplete."""
        for row in (ex.req, ex.resp):
            if row >= 0 and self.store.end_ns(row) is None:
                self.store.abandon(row, self.facts.body.pop(row, 0))
