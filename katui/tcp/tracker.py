"""TCP connection tracking with Wireshark's stream numbering, reassembly and HTTP hand-off.

Stream numbers follow Wireshark's ``tcp.stream``: a new number for every new 4-tuple in
first-seen order, and a new one when a SYN (without ACK) arrives on a known 4-tuple with a
sequence number different from the one that side used before (ports reused by a client).

Each direction is reassembled in sequence order. Retransmitted bytes are dropped, partial
overlaps trimmed, out-of-order segments held (as file offsets, not copies) until the hole is
filled, and holes that are never filled (the peer ACKed bytes the capture never saw, or too
much is waiting) are handed to the HTTP parser as explicit gaps.
"""

from __future__ import annotations

import heapq
from array import array

from katui.http.parser import (
    DEAD,
    METHODS,
    HttpHalf,
    looks_like_request,
    looks_like_response,
)
from katui.model import (
    ACK,
    COL_START,
    FIN,
    H_METHOD,
    NOTE_KEEPALIVE,
    NOTE_OUT_OF_ORDER,
    NOTE_PREVIOUS_LOST,
    NOTE_RETRANSMISSION,
    NOTE_TRUNCATED,
    NUM,
    RST,
    SM_STATUS,
    SMALL,
    SYN,
    Exchange,
    MessageStore,
)
from katui.tcp.frames import FrameTable

M32 = 0xFFFFFFFF
HALF = 0x80000000
MAX_PENDING = 4096  # out-of-order segments held per direction before declaring a hole
SNIFF_LIMIT = 65536  # bytes to look at for an HTTP start on a connection picked up mid-stream


def _hold(half: Half, seq: int, entry: tuple) -> None:
    """Keep an out-of-order segment until the bytes before it arrive (or are given up)."""
    if not half.pending:
        # Most halves never hold anything: they share the empty _NONE_HELD / _NO_HEAP until
        # their first out-of-order segment (saves ~200 bytes per connection on big captures).
        half.origin = half.next
        half.pending = {}
        half.heap = []
    elif (half.next - half.origin) & M32 > 1 << 30:
        # Offsets are kept well inside 32 bits: re-anchor them on long transfers.
        half.origin = half.next
        half.heap = [((s - half.origin) & M32, s) for s in half.pending]
        heapq.heapify(half.heap)
    half.pending[seq] = entry
    heapq.heappush(half.heap, ((seq - half.origin) & M32, seq))


def _first(half: Half) -> tuple[int, int] | None:
    """(offset from origin, seq) of the earliest held segment, dropping stale heap entries."""
    heap, pending = half.heap, half.pending
    while heap and heap[0][1] not in pending:
        heapq.heappop(heap)
    return heap[0] if heap else None


def _forget(half: Half) -> None:
    """Drop every held segment (the byte stream restarted)."""
    half.pending = _NONE_HELD
    half.heap = _NO_HEAP


_NONE_HELD: dict[int, tuple] = {}  # shared, never written to: see _hold()
_NO_HEAP: list[tuple[int, int]] = []


_HTTP_STARTS = tuple(m + b" " for m in METHODS) + (b"HTTP/1.",)


def _could_start_http(data: bytes) -> bool:
    """True when ``data`` is the beginning of a request line or a status line."""
    return any(start.startswith(data) for start in _HTTP_STARTS)


class Half:
    """One direction of a connection: sequence tracking, reassembly and its HTTP parser."""

    __slots__ = ("base", "next", "pending", "fin_seq", "parser", "sniffed", "frames", "bytes",
                 "fin_frame", "fin_ns", "frames_with_data", "prefix", "prefix_at", "heap",
                 "origin", "zero_frame", "zero_ns", "zero_last")  # fmt: skip

    def __init__(self) -> None:
        self.base: int | None = None
        self.next: int | None = None
        self.pending: dict[int, tuple] = _NONE_HELD
        # Held sequence numbers in stream order, as (offset from ``origin``, seq); entries whose
        # seq left ``pending`` are dropped lazily. Keeps every hold/drain O(log n), so a flood
        # of out-of-order segments or of ACKs beyond a hole cannot cost O(n) each.
        self.heap: list[tuple[int, int]] = _NO_HEAP
        self.origin = 0
        self.fin_seq: int | None = None
        self.parser: HttpHalf | None = None
        self.sniffed = 0  # bytes examined while looking for HTTP; -1 once decided
        self.frames = 0
        self.bytes = 0
        self.fin_frame = 0
        self.fin_ns = 0
        self.frames_with_data = 0
        self.prefix: bytes | None = None  # first payload bytes, too few to recognise HTTP
        self.prefix_at: tuple = ()  # (frame, ts, offset, length) of the pieces held
        self.zero_frame = 0  # first frame in which this side advertised a zero window
        self.zero_ns = 0
        self.zero_last = 0  # the last such frame


class Conn:
    """Mutable connection state while the capture is read."""

    __slots__ = ("stream", "a", "b", "halves", "frames", "first_ns", "last_ns", "syn_from",
                 "synack_from", "syn_ns", "irtt", "close_frame",
                 "close_ns", "close_from", "close_rst", "rst_frames", "last_data_ns",
                 "exchanges", "req_heads", "req_fill", "resp_idx", "retrans", "ooo",
                 "lost", "truncated", "midstream", "switched", "resp_hole", "rst_from",
                 "idle_ref_ns", "store")  # fmt: skip

    def __init__(self, stream: int, a: tuple, b: tuple, store: MessageStore) -> None:
        self.stream = stream
        self.store = store  # the capture's messages (its parsers' rows)
        self.a = a  # (ip bytes, port) of the side that sent the first frame
        self.b = b
        self.halves = (Half(), Half())
        self.frames = array("I")
        self.first_ns = 0
        self.last_ns = 0
        self.syn_from: int | None = None
        self.synack_from: int | None = None
        self.syn_ns = 0
        self.irtt: int | None = None
        self.close_frame = 0
        self.close_ns = 0
        self.close_from: int | None = None
        self.close_rst = False
        self.rst_frames: tuple[int, ...] = ()
        self.last_data_ns: int | None = None
        self.exchanges: list[Exchange] = []
        self.req_heads = 0
        self.req_fill = 0
        self.resp_idx = 0
        self.retrans = self.ooo = self.lost = self.truncated = 0
        self.midstream = False
        self.switched = False
        self.resp_hole = False
        self.rst_from: tuple[int, ...] = ()  # side (0 = A, 1 = B) of each RST
        self.idle_ref_ns: int | None = None  # last payload before the first FIN/RST

    def release(self) -> None:
        """Drop the working state once the connection has been frozen into the model (this also
        breaks the connection <-> parser reference cycle, so no collector is needed)."""
        self.exchanges = _RELEASED_EXCHANGES
        self.halves = _RELEASED_HALVES

    # -- HTTP parser owner (see katui.http.parser.Collector) -----------------------------

    def request_head(self, i: int) -> None:
        """A request head was parsed: open its exchange now so the response can find it.

        The exchange only points at the head (``req = HEAD_ONLY - i``) until the request is
        done: an unexpected response in between moves the request to a later exchange, and
        this one must then not claim it too.
        """
        if self.req_heads >= len(self.exchanges):
            self.exchanges.append(Exchange(self.store, HEAD_ONLY - i))
        else:
            self.exchanges[self.req_heads].req = HEAD_ONLY - i
        self.req_heads += 1

    def request_done(self, i: int) -> None:
        """A request finished (or was abandoned); fill the exchange opened at its head."""
        if self.req_fill >= len(self.exchanges):
            # A response nobody asked for came after this request's head and moved pairing
            # past its exchange: that one keeps the response, the request goes to a new one.
            marker = HEAD_ONLY - i
            for ex in reversed(self.exchanges):
                if ex.req == marker:
                    ex.req = -1
                    break
            self.exchanges.append(Exchange(self.store))
            self.req_heads = max(self.req_heads, len(self.exchanges))
        self.exchanges[self.req_fill].req = i
        self.req_fill += 1

    def response_lost(self) -> None:
        """Server bytes that may have held responses were lost or skipped."""
        self.resp_hole = True

    def _method(self, j: int) -> str:
        req = _row(self.exchanges[j].req)
        return self.store.heads[req][H_METHOD] if req >= 0 else ""

    def response_method(self, status: int, start_ns: int) -> str:
        """Method of the request the next response answers ('' if unknown).

        Responses pair with requests in order (pipelining). After a hole in the server's byte
        stream, though, responses were lost with it: the next response then answers the latest
        request sent before it (as Wireshark pairs), and the skipped requests stay unanswered.
        """
        exchanges = self.exchanges
        if self.resp_hole:
            self.resp_hole = False
            j = self.resp_idx
            num = self.store.num
            while j + 1 < len(exchanges):
                req = _row(exchanges[j + 1].req)
                if req < 0 or num[req * NUM + COL_START] > start_ns:
                    break
                j += 1
            self.resp_idx = j
        if self.resp_idx < len(exchanges):
            return self._method(self.resp_idx)
        return ""

    def response_done(self, i: int) -> None:
        """A response finished; pair it with the oldest unanswered request."""
        store = self.store
        status = store.small[i * SMALL + SM_STATUS]
        if 100 <= status < 200 and status != 101:
            if self.resp_idx < len(self.exchanges):
                self.exchanges[self.resp_idx].informational += (store.view(i),)
            return
        if self.resp_idx < len(self.exchanges):
            self.exchanges[self.resp_idx].resp = i
        else:
            self.exchanges.append(Exchange(store, resp=i))
            # An answer whose request was never seen: later requests must not land on it.
            self.req_fill = self.req_heads = len(self.exchanges)
        self.resp_idx += 1


HEAD_ONLY = -2
"""``Exchange.req`` at or below this: only the head of request ``HEAD_ONLY - req`` was seen."""


def _row(req: int) -> int:
    """The request row an exchange under construction points at (its head's, if only that)."""
    return HEAD_ONLY - req if req <= HEAD_ONLY else req


_RELEASED_HALVES = (Half(), Half())  # shared by released connections, never written to
_RELEASED_EXCHANGES: list = []


class Tracker:
    """Feeds decoded TCP segments into connections; frames go into a :class:`FrameTable`."""

    def __init__(self, buf, table: FrameTable) -> None:
        self.buf = buf
        self.table = table
        # Bound appends of the per-frame columns: one lookup each instead of two per frame.
        self._stream, self._dir, self._flags = table.stream.append, table.dir.append, table.flags.append
        self._plen, self._pcap, self._toff = table.plen.append, table.pcap.append, table.toff.append
        self._notes = table.notes.append
        self.keep = table.kept
        self.conns: list[Conn] = []
        self.messages = MessageStore()
        """Every HTTP message of the capture."""
        self.by_tuple: dict[tuple, tuple[Conn, int]] = {}

    def segment(self, n: int, ts: int, seg: tuple) -> None:
        """Process frame ``n`` (timestamp ``ts`` ns) carrying the decoded TCP segment ``seg``."""
        src, dst, sport, dport, seq, ack, flags, toff, poff, pcap, plen, win = seg
        hit = self.by_tuple.get((src, sport, dst, dport))
        if hit is None or (
            flags & (SYN | ACK) == SYN
            and hit[0].halves[hit[1]].base is not None
            and seq != hit[0].halves[hit[1]].base
        ):
            conn = Conn(len(self.conns), (src, sport), (dst, dport), self.messages)
            conn.first_ns = ts
            conn.midstream = not flags & SYN
            self.conns.append(conn)
            self.by_tuple[(src, sport, dst, dport)] = (conn, 0)
            self.by_tuple[(dst, dport, src, sport)] = (conn, 1)
            d = 0
        else:
            conn, d = hit
        conn.frames.append(n)
        conn.last_ns = ts
        half = conn.halves[d]
        half.frames += 1
        half.bytes += plen
        if plen:
            half.frames_with_data += 1
        note = 0
        if half.base is None:
            half.base = seq
            half.next = (seq + 1) & M32 if flags & SYN else seq
        if flags & SYN:
            note = self._syn(conn, half, d, n, ts, seq, ack, flags)
        if plen:
            note |= self._data(conn, half, d, n, ts, seq, poff, pcap, plen, flags)
        if flags & ACK and not flags & SYN:
            if conn.synack_from is not None and conn.irtt is None and d == conn.syn_from:
                conn.irtt = ts - conn.syn_ns
            other = conn.halves[1 - d]
            if other.next is not None:
                gap = (ack - other.next) & M32
                if 0 < gap < HALF:
                    note |= self._ack_beyond(conn, other, ack, gap, n, ts)
        if not win and not flags & (SYN | RST):
            # A zero window: this side's receive buffer is full (its application stopped
            # reading). Raw value: a scaled window of 0 is 0 whatever the scale.
            if not half.zero_frame:
                half.zero_frame, half.zero_ns = n, ts
            half.zero_last = n
        if flags & (FIN | RST):
            self._close(conn, half, d, n, ts, seq, plen, flags)
        if self.keep:
            self._stream(conn.stream)
            self._dir(d)
            self._flags(flags)
            self._plen(plen)
            self._pcap(pcap)
            self._toff(toff)
            self._notes(note)

    # -- pieces of segment() -------------------------------------------------------------

    def _syn(self, conn, half, d, n, ts, seq, ack, flags) -> int:
        """SYN / SYN-ACK: (re)synchronise sequence tracking, as the peer's TCP does."""
        retrans = seq == half.base
        if not retrans:
            # A SYN with a new ISN on this stream (the old attempt was reset, or the capture saw
            # this side's other packets first) restarts this side's byte stream.
            half.base = seq
            half.next = (seq + 1) & M32
            _forget(half)
        if flags & ACK:
            other = conn.halves[1 - d]
            if other.base is not None and other.next != ack and not other.frames_with_data:
                # The SYN-ACK says where the SYN side's data starts: believe it over guesses.
                other.next = ack
                _forget(other)
            if conn.synack_from is None:
                conn.synack_from = d
                return 0
        elif conn.syn_from is None:
            conn.syn_from = d
            conn.syn_ns = ts
            return 0
        if retrans:
            conn.retrans += 1
            if conn.close_rst and not flags & ACK and d == conn.syn_from and not half.frames_with_data:
                # The SYN again, same ISN, after a reset: the connection attempt goes on (as
                # Wireshark keeps its tcp.stream), so that RST did not end it.
                conn.close_from = None
                conn.close_frame = conn.close_ns = 0
                conn.close_rst = False
                conn.idle_ref_ns = None
            return NOTE_RETRANSMISSION
        return 0

    def _data(self, conn, half, d, n, ts, seq, poff, pcap, plen, flags) -> int:
        conn.last_data_ns = ts
        note = 0
        if pcap < plen:
            conn.truncated += 1
            note = NOTE_TRUNCATED
        rel = (seq - half.next) & M32
        if rel == 0:
            self._deliver(conn, half, d, n, ts, poff, pcap, plen)
            if half.pending:
                self._drain(conn, half, d)
            return note
        if rel < HALF:  # ahead of what we have: out of order, or a hole before it
            held = half.pending.get(seq)
            if held is None:
                _hold(half, seq, (n, ts, poff, pcap, plen))
                conn.ooo += 1
            elif plen > held[4]:  # a repacketised retransmission reaching further: keep that one
                half.pending[seq] = (n, ts, poff, pcap, plen)
            if len(half.pending) > MAX_PENDING:
                self._skip_to_pending(conn, half, d, n, ts, keep=MAX_PENDING // 2)
            return note | NOTE_OUT_OF_ORDER
        behind = (half.next - seq) & M32
        if behind >= plen:
            if plen <= 1 and behind == 1 and not flags & (SYN | FIN | RST):
                return note | NOTE_KEEPALIVE
            conn.retrans += 1
            return note | NOTE_RETRANSMISSION
        # Partial overlap: only the tail is new.
        conn.retrans += 1
        self._deliver(conn, half, d, n, ts, poff + behind, max(0, pcap - behind), plen - behind)
        if half.pending:
            self._drain(conn, half, d)
        return note | NOTE_RETRANSMISSION

    def _deliver(self, conn, half, d, n, ts, poff, pcap, plen) -> None:
        half.next = (half.next + plen) & M32
        p = half.parser
        if p is None:
            if half.sniffed < 0 or conn.switched:
                return
            p = self._sniff(conn, half, d, poff, pcap)
            if p is None:
                if half.prefix is not None:  # too short to tell yet: remember where it was
                    half.prefix_at += ((n, ts, poff, pcap),)
                else:
                    half.prefix_at = ()  # decided: not HTTP
                return
            # The first bytes came in earlier, shorter segments ('G', 'E'): parse them first.
            for pn, pts, pof, plen0 in half.prefix_at:
                p.feed(self.buf, pof, pof + plen0, pn, pts)
            half.prefix_at = ()
        if p.state == DEAD:
            return
        if pcap:
            p.feed(self.buf, poff, poff + pcap, n, ts)
        if pcap < plen:
            p.gap(plen - pcap, n, ts)
        if p.switched:
            conn.switched = True

    def _sniff(self, conn: Conn, half: Half, d: int, poff: int, pcap: int) -> HttpHalf | None:
        """Decide from the first payload bytes whether this connection speaks HTTP/1.x."""
        head = bytes(self.buf[poff : poff + min(pcap, 32)])
        if half.prefix is not None:
            head = half.prefix + head
            half.prefix = None
        other = conn.halves[1 - d]
        if other.parser is not None:  # the peer's role decides ours
            is_req = not other.parser.is_request
            half.parser = self._parser(
                conn, is_req, resync=not (looks_like_request(head) if is_req else looks_like_response(head))
            )
            half.sniffed = -1
            return half.parser
        if looks_like_request(head) or looks_like_response(head):
            is_req = looks_like_request(head)
            half.parser = self._parser(conn, is_req, resync=False)
            other.parser = self._parser(conn, not is_req, resync=other.sniffed > 0 or conn.midstream)
            other.sniffed = half.sniffed = -1
            return half.parser
        if not conn.midstream:
            if len(head) < 8 and _could_start_http(head) and half.sniffed == 0:
                half.prefix = head  # 'GE' + 'T / HTTP/1.1': wait for the next segment
                return None
            half.sniffed = -1  # a clean start that is not HTTP: TLS or another protocol
            return None
        window = bytes(self.buf[poff : poff + min(pcap, SNIFF_LIMIT)])
        from katui.http.parser import _REQ_START, _RESP_START  # noqa: PLC0415 - rare path

        for pat, is_req in ((_REQ_START, True), (_RESP_START, False)):
            if pat.search(window):
                half.parser = self._parser(conn, is_req, resync=True)
                other.parser = self._parser(conn, not is_req, resync=True)
                other.sniffed = half.sniffed = -1
                return half.parser
        half.sniffed += pcap
        if half.sniffed > SNIFF_LIMIT:
            half.sniffed = -1
        return None

    def _parser(self, conn: Conn, is_request: bool, resync: bool) -> HttpHalf:
        return HttpHalf(is_request, conn, resync=resync)

    def _drain(self, conn: Conn, half: Half, d: int) -> None:
        """Deliver held segments that now continue the stream (trimming overlaps)."""
        while half.pending:
            top = _first(half)
            if top is None:
                break
            key, s = top
            behind = ((half.next - half.origin) & M32) - key
            if behind < 0:
                break  # the next held segment is beyond a hole
            heapq.heappop(half.heap)
            n, ts, poff, pcap, plen = half.pending.pop(s)
            if behind < plen:
                self._deliver(conn, half, d, n, ts, poff + behind, max(0, pcap - behind), plen - behind)
        if half.fin_seq is not None and half.fin_seq == half.next:
            half.next = (half.next + 1) & M32

    def _hole(self, conn: Conn, half: Half, nbytes: int, n: int, ts: int) -> None:
        conn.lost += 1
        half.next = (half.next + nbytes) & M32
        if half.parser is not None:
            half.parser.gap(nbytes, n, ts)

    def _skip_to_pending(self, conn: Conn, half: Half, d: int, n: int, ts: int, keep: int = 0) -> None:
        """Give up on the holes before held segments, oldest first, until ``keep`` are left held."""
        while len(half.pending) > keep:
            top = _first(half)
            if top is None:
                break
            hole = top[0] - ((half.next - half.origin) & M32)
            if hole > 0:
                self._hole(conn, half, hole, n, ts)
            self._drain(conn, half, d)

    def _ack_beyond(self, conn: Conn, other: Half, ack: int, gap: int, n: int, ts: int) -> int:
        """The peer ACKed bytes of ``other`` the capture never delivered in order: a hole."""
        if other.fin_seq is not None and (ack - other.fin_seq) & M32 == 1 and gap == 1:
            return 0  # the ACK of a FIN whose sequence slot we already counted
        d_other = conn.halves.index(other)
        top = _first(other) if other.pending else None
        if top is not None:
            hole = top[0] - ((other.next - other.origin) & M32)
            if 0 <= hole <= gap:
                self._hole(conn, other, hole, n, ts)
                self._drain(conn, other, d_other)
                return NOTE_PREVIOUS_LOST
        if other.fin_seq is not None and other.fin_seq == ((ack - 1) & M32):
            gap -= 1
        if gap > 0:
            self._hole(conn, other, gap, n, ts)
            if other.fin_seq is not None and other.fin_seq == other.next:
                other.next = (other.next + 1) & M32
            return NOTE_PREVIOUS_LOST
        return 0

    def _close(self, conn, half, d, n, ts, seq, plen, flags) -> None:
        if flags & RST:
            conn.rst_frames += (n,)
            conn.rst_from += (d,)
        if conn.close_from is None:
            conn.close_from = d
            conn.close_frame = n
            conn.close_ns = ts
            conn.close_rst = bool(flags & RST)
            # Idle before the close is measured up to here: a request sent later (the stale
            # reuse the close provokes) must not shorten it.
            conn.idle_ref_ns = conn.last_data_ns
        if flags & FIN and half.fin_seq is None:
            half.fin_frame, half.fin_ns = n, ts
            half.fin_seq = (seq + plen) & M32
            if half.fin_seq == half.next:
                half.next = (half.next + 1) & M32
                if half.parser is not None:
                    half.parser.close(n, ts)

    def finish(self) -> list[Conn]:
        """Flush everything still waiting (capture ended) and return the connections."""
        for conn in self.conns:
            for d, half in enumerate(conn.halves):
                if half.pending:
                    self._skip_to_pending(conn, half, d, conn.frames[-1], conn.last_ns)
                if half.parser is not None:
                    half.parser.close(conn.frames[-1], conn.last_ns)
        return self.conns
