"""TCP connection tracking with Wireshark's stream numbering, reassembly and a hand-off of the
bytes to each connection's protocol sink (:mod:`katui.tcp.sink`).

Stream numbers follow Wireshark's ``tcp.stream``: a new number for every new 4-tuple in
first-seen order, and a new one when a SYN (without ACK) arrives on a known 4-tuple with a
sequence number different from the one that side used before (ports reused by a client).

Each direction is reassembled in sequence order. Retransmitted bytes are dropped, partial
overlaps trimmed, out-of-order segments held (as file offsets, not copies) until the hole is
filled, and holes that are never filled (the peer ACKed bytes the capture never saw, or too
much is waiting) are handed to the sink as explicit gaps.
"""

from __future__ import annotations

try:
    import cython
except ImportError:  # the interpreted build without Cython installed
    import katui.model._cython as cython

from katui.capture.decode import Segment, endpoint_key, endpoint_number, ends_of
from katui.model import (
    ACK,
    FIN,
    NOTE_KEEPALIVE,
    NOTE_OUT_OF_ORDER,
    NOTE_PREVIOUS_LOST,
    NOTE_RETRANSMISSION,
    NOTE_TRUNCATED,
    NOTE_ZERO_WINDOW,
    RST,
    SYN,
)
from katui.tcp.sink import SinkFactory, no_sink
from katui.tcp.state import NONE, Conn, Half, first_held, forget_held, held_count, hold, take_held

# Sequence numbers are 32-bit; a negative one (state.NONE) is one not known yet.
M32 = 0xFFFFFFFF
HALF = 0x80000000
MAX_PENDING = 4096  # out-of-order segments held per direction before declaring a hole


class Tracker:
    """Feeds decoded TCP segments into connections (and says after each frame what goes into
    its :class:`katui.tcp.frames.FrameTable` row)."""

    def __init__(self, buf, new_sink: SinkFactory = no_sink, keep_frames: bool = True) -> None:
        self.buf = buf
        self.keep_frames = keep_frames
        """Whether each connection lists its frame numbers (:attr:`Conn.frames`)."""
        self.new_sink = new_sink
        """Makes each new connection's sink (the protocol its bytes are handed to)."""
        self.conns: list[Conn] = []
        self.by_ends: dict[int, Conn] = {}
        """Connections by their endpoints (one entry for both directions; Conn.ends)."""
        self.row_stream = self.row_dir = self.row_note = 0
        """The last tracked frame's frame-table fields: tcp.stream, direction, NOTE_* bits
        (the reading loop, katui.tcp.ingest, writes the table)."""

    def segment(self, n: int, ts: int, seg: tuple) -> None:
        """Process frame ``n`` (timestamp ``ts`` ns) carrying a segment as
        :func:`katui.capture.decode.tcp_segment` returns it."""
        src, dst, sport, dport, seq, ack, flags, toff, poff, pcap, plen, win = seg
        s = Segment()
        s.ends, s.swapped = endpoint_key(endpoint_number(src, sport), endpoint_number(dst, dport))
        s.seq, s.ack, s.flags, s.win = seq, ack, flags, win
        s.toff, s.poff, s.pcap, s.plen = toff, poff, pcap, plen
        self.track(n, ts, s)

    def track(self, n: int, ts: int, seg: Segment) -> None:
        """Process frame ``n`` (timestamp ``ts`` ns) carrying the decoded TCP segment ``seg``."""
        seq, flags, plen = seg.seq, seg.flags, seg.plen
        conn = self.by_ends.get(seg.ends)
        d = 0
        if conn is not None:
            d = 1 if seg.swapped != conn.a_hi else 0
            half = conn.h1 if d else conn.h0
        if conn is None or (flags & (SYN | ACK) == SYN and half.frames and seq != half.base):
            midstream = not flags & SYN
            # A new connection on the endpoints of an earlier one (a load test's clients reuse
            # their ports) keeps the earlier one's number object, the index's key: not a 48-byte
            # int of its own per connection until the freeze.
            ends = seg.ends if conn is None else conn.ends
            lo, hi = ends_of(ends)
            # Side A sent this frame. Both ends the same (a host talking to its own port): the
            # reverse direction's index entry used to win, so later frames counted as side B.
            conn = Conn(
                len(self.conns), ends, seg.swapped or lo == hi, self.new_sink(midstream), self.keep_frames
            )
            conn.first_ns = conn.last_data_ns = ts
            conn.first_frame = n
            conn.midstream = midstream
            self.conns.append(conn)
            self.by_ends[ends] = conn
            d = 0
            half = conn.h0
        if self.keep_frames:
            if cython.compiled:  # a C store into the grown array (a method call and an int object
                frames = conn.frames  # per frame otherwise: the TUI's load keeps every frame)
                at = len(frames)
                cpython.array.resize_smart(frames, at + 1)  # noqa: F821 - cimported by tracker.pxd
                frames.data.as_uints[at] = n
            else:
                conn.frames.append(n)
        conn.last_frame = n
        conn.last_ns = ts
        half.frames += 1
        half.bytes += plen
        if plen:
            half.frames_with_data += 1
        note = 0
        if half.frames == 1:  # this side's first frame
            half.base = seq
            half.next = (seq + 1) & M32 if flags & SYN else seq
        if flags & SYN:
            note = self._syn(conn, half, d, n, ts, seq, seg.ack, flags)
        if plen:
            note |= self._data(conn, half, d, n, ts, seq, seg.poff, seg.pcap, plen, flags)
        if flags & ACK and not flags & SYN:
            if conn.synack_from >= 0 and not conn.irtt_known and d == conn.syn_from:
                conn.irtt_ns = ts - conn.syn_ns
                conn.irtt_known = True
            other = conn.h0 if d else conn.h1
            if other.next >= 0:
                gap = (seg.ack - other.next) & M32
                if 0 < gap < HALF:
                    note |= self._ack_beyond(conn, other, seg.ack, gap, n, ts)
        if not plen and not flags & (SYN | FIN | RST) and half.next >= 0 and (half.next - seq) & M32 == 1:
            note |= NOTE_KEEPALIVE  # one below what it sent: a keep-alive or zero-window probe (as Wireshark)
        if not seg.win and not flags & (SYN | RST):
            # A zero window: this side's receive buffer is full (its application stopped
            # reading). Raw value: a scaled window of 0 is 0 whatever the scale.
            if not half.zero_frame:
                half.zero_frame, half.zero_ns = n, ts
            half.zero_last = n
            if not flags & FIN:  # as Wireshark marks [TCP ZeroWindow]
                note |= NOTE_ZERO_WINDOW
        if flags & (FIN | RST):
            self._close(conn, half, d, n, ts, seq, plen, flags)
        self.row_stream = conn.stream
        self.row_dir = d
        self.row_note = note

    # -- pieces of segment() -------------------------------------------------------------

    def _syn(self, conn, half, d, n, ts, seq, ack, flags) -> int:
        """SYN / SYN-ACK: (re)synchronise sequence tracking, as the peer's TCP does."""
        retrans = seq == half.base
        if not retrans:
            # A SYN with a new ISN on this stream (the old attempt was reset, or the capture saw
            # this side's other packets first) restarts this side's byte stream.
            half.base = seq
            half.next = (seq + 1) & M32
            forget_held(half)
        if flags & ACK:
            other = conn.h0 if d else conn.h1
            if other.frames and other.next != ack and not other.frames_with_data:
                # The SYN-ACK says where the SYN side's data starts: believe it over guesses.
                other.next = ack
                forget_held(other)
            if conn.synack_from < 0:
                conn.synack_from = d
                return 0
        elif conn.syn_from < 0:
            conn.syn_from = d
            conn.syn_ns = ts
            return 0
        if retrans:
            conn.retrans += 1
            if conn.close_rst and not flags & ACK and d == conn.syn_from and not half.frames_with_data:
                # The SYN again, same ISN, after a reset: the connection attempt goes on (as
                # Wireshark keeps its tcp.stream), so that RST did not end it.
                conn.close_from = NONE
                conn.close_frame = conn.close_ns = 0
                conn.close_rst = False
                conn.idle_ref_ns = 0  # set again by the next close
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
            # In order (the common case): handed to the sink here, one call less per segment.
            half.next = (seq + plen) & M32
            out = half.out
            if out is not None:
                out.feed(self.buf, poff, poff + pcap, n, ts)
            else:
                half.out = conn.sink.data(d, self.buf, poff, poff + pcap, n, ts)
            if pcap < plen:
                conn.sink.gap(d, plen - pcap, n, ts)
            if half.held is not None:
                self._drain(conn, half, d)
            return note
        if rel < HALF:  # ahead of what we have: out of order, or a hole before it
            held = half.held.segments.get(seq) if half.held is not None else None
            if held is None:
                hold(half, seq, (n, ts, poff, pcap, plen))
                conn.ooo += 1
            elif plen > held[4]:  # a repacketised retransmission reaching further: keep that one
                half.held.segments[seq] = (n, ts, poff, pcap, plen)
            if len(half.held.segments) > MAX_PENDING:
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
        if half.held is not None:
            self._drain(conn, half, d)
        return note | NOTE_RETRANSMISSION

    def _deliver(self, conn, half, d, n, ts, poff, pcap, plen) -> None:
        """Hand the next in-order bytes of direction ``d`` to the connection's sink."""
        half.next = (half.next + plen) & M32
        out = half.out
        if out is not None:
            out.feed(self.buf, poff, poff + pcap, n, ts)
        else:
            half.out = conn.sink.data(d, self.buf, poff, poff + pcap, n, ts)
        if pcap < plen:
            conn.sink.gap(d, plen - pcap, n, ts)

    def _drain(self, conn: Conn, half: Half, d: int) -> None:
        """Deliver held segments that now continue the stream (trimming overlaps)."""
        while half.held is not None:
            top = first_held(half)
            if top is None:
                break
            key, s = top
            behind = ((half.next - half.held.origin) & M32) - key
            if behind < 0:
                break  # the next held segment is beyond a hole
            n, ts, poff, pcap, plen = take_held(half, s)
            if behind < plen:
                self._deliver(conn, half, d, n, ts, poff + behind, max(0, pcap - behind), plen - behind)
        if half.fin_seq >= 0 and half.fin_seq == half.next:
            half.next = (half.next + 1) & M32

    def _hole(self, conn: Conn, half: Half, d: int, nbytes: int, n: int, ts: int) -> None:
        conn.lost += 1
        half.next = (half.next + nbytes) & M32
        conn.sink.gap(d, nbytes, n, ts)

    def _skip_to_pending(self, conn: Conn, half: Half, d: int, n: int, ts: int, keep: int = 0) -> None:
        """Give up on the holes before held segments, oldest first, until ``keep`` are left held."""
        while held_count(half) > keep:
            top = first_held(half)
            if top is None:
                break
            hole = top[0] - ((half.next - half.held.origin) & M32)
            if hole > 0:
                self._hole(conn, half, d, hole, n, ts)
            self._drain(conn, half, d)

    def _ack_beyond(self, conn: Conn, other: Half, ack: int, gap: int, n: int, ts: int) -> int:
        """The peer ACKed bytes of ``other`` the capture never delivered in order: a hole."""
        if other.fin_seq >= 0 and (ack - other.fin_seq) & M32 == 1 and gap == 1:
            return 0  # the ACK of a FIN whose sequence slot we already counted
        d_other = 0 if other is conn.h0 else 1
        top = first_held(other)
        if top is not None:
            hole = top[0] - ((other.next - other.held.origin) & M32)
            if 0 <= hole <= gap:
                self._hole(conn, other, d_other, hole, n, ts)
                self._drain(conn, other, d_other)
                return NOTE_PREVIOUS_LOST
        if other.fin_seq >= 0 and other.fin_seq == ((ack - 1) & M32):
            gap -= 1
        if gap > 0:
            self._hole(conn, other, d_other, gap, n, ts)
            if other.fin_seq >= 0 and other.fin_seq == other.next:
                other.next = (other.next + 1) & M32
            return NOTE_PREVIOUS_LOST
        return 0

    def _close(self, conn, half, d, n, ts, seq, plen, flags) -> None:
        if flags & RST:
            conn.rst_frames += (n,)
            conn.rst_sides |= 1 << d
        if conn.close_from < 0:
            conn.close_from = d
            conn.close_frame = n
            conn.close_ns = ts
            conn.close_rst = bool(flags & RST)
            # Idle before the close is measured up to here: a request sent later (the stale
            # reuse the close provokes) must not shorten it.
            conn.idle_ref_ns = conn.last_data_ns
        if flags & FIN and half.fin_seq < 0:
            half.fin_frame, half.fin_ns = n, ts
            half.fin_seq = (seq + plen) & M32
            if half.fin_seq == half.next:
                half.next = (half.next + 1) & M32
                conn.sink.close(d, n, ts)
                # The sink may let go of the direction's consumer now: bytes after the FIN
                # (rare) go through sink.data() again, which says where they go.
                half.out = None

    def finish(self) -> list[Conn]:
        """Flush everything still waiting (capture ended) and return the connections."""
        for conn in self.conns:
            for d, half in enumerate(conn.halves):
                if half.held is not None:
                    self._skip_to_pending(conn, half, d, conn.last_frame, conn.last_ns)
                conn.sink.close(d, conn.last_frame, conn.last_ns)
        return self.conns
