"""Per-connection TCP state while a capture is read: sequence tracking and held segments."""

from __future__ import annotations

import heapq
from array import array

from katui.capture.decode import endpoint_of, ends_of
from katui.tcp.sink import NO_SINK, StreamSink

try:
    import cython
except ImportError:  # Cython not installed: the interpreted build (the decorators do nothing)
    import katui.model._cython as cython

M32 = 0xFFFFFFFF
NONE = -1
"""``base``, ``next`` and ``fin_seq`` before they are known (sequence numbers are 0..2**32-1:
typed C integers in the compiled build, not a Python object each)."""


def hold(half: Half, seq: int, entry: tuple) -> None:
    """Keep an out-of-order segment until the bytes before it arrive (or are given up)."""
    held = half.held
    if held is None:
        # Most halves never hold anything: their ``held`` stays None until their first
        # out-of-order segment, and goes back to None once nothing is held.
        held = half.held = Held(half.next)
    elif (half.next - held.origin) & M32 > 1 << 30:
        # Offsets are kept well inside 32 bits: re-anchor them on long transfers.
        held.origin = half.next
        held.heap = [((s - held.origin) & M32, s) for s in held.segments]
        heapq.heapify(held.heap)
    held.segments[seq] = entry
    heapq.heappush(held.heap, ((seq - held.origin) & M32, seq))


def first_held(half: Half) -> tuple[int, int] | None:
    """(offset from origin, seq) of the earliest held segment, dropping stale heap entries."""
    held = half.held
    if held is None:
        return None
    heap, segments = held.heap, held.segments
    while heap and heap[0][1] not in segments:
        heapq.heappop(heap)
    return heap[0] if heap else None


def take_held(half: Half, seq: int) -> tuple:
    """Remove and return the segment held at ``seq`` (the earliest: :func:`first_held`)."""
    held = half.held
    heapq.heappop(held.heap)
    entry = held.segments.pop(seq)
    if not held.segments:
        half.held = None
    return entry


def held_count(half: Half) -> int:
    """How many segments ``half`` holds."""
    return 0 if half.held is None else len(half.held.segments)


def forget_held(half: Half) -> None:
    """Drop every held segment (the byte stream restarted)."""
    half.held = None


@cython.cclass
class ByteConsumer:
    """Takes one direction's next in-order bytes directly (see :meth:`StreamSink.data`): the
    base class of what a sink returns there. Compiled, the tracker calls :meth:`feed` as a C
    method, with C integers (not a Python call with an int object per argument per segment)."""

    __slots__ = ()

    def feed(self, buf, start: int, end: int, frame: int, ts: int) -> None:
        """Consume ``buf[start:end]``, completed in ``frame`` at ``ts`` ns."""
        raise NotImplementedError


class Held:
    """The out-of-order segments one direction holds (see :func:`hold`): made at its first
    such segment and dropped when it holds none again, so the many halves that never hold
    anything carry one pointer for it, not three fields."""

    __slots__ = ("segments", "heap", "origin")

    def __init__(self, origin: int) -> None:
        self.segments: dict[int, tuple] = {}
        """Held segments by sequence number: (frame, ts, payload offset, captured, length)."""
        # Held sequence numbers in stream order, as (offset from ``origin``, seq); entries whose
        # seq left ``segments`` are dropped lazily. Keeps every hold/drain O(log n), so a flood
        # of out-of-order segments or of ACKs beyond a hole cannot cost O(n) each.
        self.heap: list[tuple[int, int]] = []
        self.origin = origin


# 96 bytes as allocated (128 before): not tracked by the cycle collector (nothing it refers to,
# held segments and the sink's consumer, refers back to it) and its ``base`` 32-bit. A load
# test's halves are most of the TCP state at the end of the read (120,000 of them in the ab
# capture: 3.8 MB less). Freed a batch of connections at a time (the freeze), their pools
# empty whole and take the model's objects, whatever their size, as long as nothing that lives
# on was allocated among them: at 80 bytes (32-bit next and fin_seq, the zero window behind a
# pointer) the ab capture's peak was 1 MB lower but the synthetic one's 4 MB higher, its 13,630
# shared URIs being 80-byte strings made while the halves were.
@cython.no_gc
@cython.cclass
class Half:
    """One direction of a connection: sequence tracking and reassembly."""

    __slots__ = ("base", "next", "held", "fin_seq", "frames", "bytes", "fin_frame", "fin_ns",
                 "frames_with_data", "out", "zero_frame", "zero_ns", "zero_last")  # fmt: skip

    def __init__(self) -> None:
        self.base = 0
        """The first sequence number this side used (its ISN after a SYN): known once
        ``frames`` is not 0 (a 32-bit C integer compiled, without a NONE of its own)."""
        self.next = NONE
        self.held: Held | None = None
        """Out-of-order segments waiting for the bytes before them (None: none)."""
        self.fin_seq = NONE
        self.frames = 0
        self.bytes = 0
        self.fin_frame = 0
        self.fin_ns = 0
        self.frames_with_data = 0
        self.out: ByteConsumer | None = None
        """Where this direction's in-order bytes go directly, once the sink has said so."""
        self.zero_frame = 0  # first frame in which this side advertised a zero window
        self.zero_ns = 0
        self.zero_last = 0  # the last such frame


NO_FRAMES = array("I")
"""The (never written) frame list of every connection when frames are not kept."""


# Not tracked by the cycle collector when compiled, with its sides (syn_from, synack_from,
# close_from, rst_sides) and its four flags (close_rst, midstream, a_hi, irtt_known) as C chars:
# 160 bytes instead of 224, and a load test has 100,000s open (the ab capture's 60,000 at the end
# of its read). Compiled, a flag reads as 0 or 1 from Python: tested for truth, never shown. (At
# 144, its RST frames and anomaly counts behind one pointer, the ab capture's peak was the same
# and the synthetic one's 1.6 MB higher.)
# Nothing it refers to (its halves, the sink and its parsers, frame numbers) refers back to it.
@cython.no_gc
@cython.cclass
class Conn:
    """Mutable connection state while the capture is read."""

    __slots__ = ("stream", "ends", "a_hi", "h0", "h1", "frames", "first_frame", "last_frame", "first_ns",
                 "last_ns", "syn_from",
                 "synack_from", "syn_ns", "irtt_ns", "irtt_known", "close_frame", "close_ns", "close_from",
                 "close_rst", "rst_frames", "last_data_ns", "retrans", "ooo", "lost", "truncated",
                 "midstream", "rst_sides", "idle_ref_ns", "sink")  # fmt: skip

    def __init__(
        self, stream: int, ends: int, a_hi: bool, sink: StreamSink, keep_frames: bool = True
    ) -> None:
        self.stream = stream
        self.sink = sink
        """Where the reassembled bytes go (the protocol above TCP)."""
        self.ends = ends
        """The connection's key: its two endpoints as one number, the lower first
        (:func:`katui.capture.decode.endpoint_key`); also the tracker's dict key."""
        self.a_hi = a_hi
        """True when side A (which sent the first frame) is ``ends[1]``: a segment's direction
        is its ``swapped`` flag XOR this."""
        self.h0 = Half()
        self.h1 = Half()
        self.frames = array("I") if keep_frames else NO_FRAMES
        """Its frame numbers, in capture order (only when the frame table is kept: a report
        that never draws a ladder has no use for them, and they cost ~4 bytes a frame)."""
        self.first_frame = 0
        self.last_frame = 0
        self.first_ns = 0
        self.last_ns = 0
        self.syn_from = NONE
        """Side (0 = A, 1 = B) that sent the SYN, NONE (-1) if none was seen (small C integers
        compiled, as ``synack_from`` and ``close_from``: not an object pointer each)."""
        self.synack_from = NONE
        self.syn_ns = 0
        self.irtt_ns = 0
        self.irtt_known = False
        """Whether ``irtt_ns`` (SYN to the ACK of the SYN-ACK) was measured: two C fields
        compiled, not an int object per connection."""
        self.close_frame = 0
        self.close_ns = 0
        self.close_from = NONE
        self.close_rst = False
        self.rst_frames: tuple[int, ...] = ()
        self.last_data_ns = 0  # last payload (the tracker starts it at first_ns)
        self.retrans = self.ooo = self.lost = self.truncated = 0
        self.midstream = False
        self.rst_sides = 0
        """Bit ``1 << d`` set when side ``d`` (0 = A, 1 = B) sent an RST."""
        self.idle_ref_ns = 0  # last payload (or first_ns) before the first FIN/RST

    @property
    def irtt(self) -> int | None:
        """Handshake round trip (SYN to the ACK of the SYN-ACK) in ns, None if not seen."""
        return self.irtt_ns if self.irtt_known else None

    @property
    def halves(self) -> tuple[Half, Half]:
        """(side A's half, side B's half)."""
        return (self.h0, self.h1)

    @property
    def a(self) -> tuple[bytes, int]:
        """(ip bytes, port) of side A, the side that sent the connection's first frame."""
        return endpoint_of(ends_of(self.ends)[1 if self.a_hi else 0])

    @property
    def b(self) -> tuple[bytes, int]:
        """(ip bytes, port) of side B."""
        return endpoint_of(ends_of(self.ends)[0 if self.a_hi else 1])

    def release(self) -> None:
        """Drop the working state once the connection has been frozen into the model."""
        self.h0 = self.h1 = _RELEASED_HALF
        self.sink = NO_SINK


_RELEASED_HALF = Half()  # shared by released connections, never written to
