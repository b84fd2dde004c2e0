"""A connection's ladder diagram as rows: one per frame, plus idle-gap and section notes.

Pure Python (no Textual, no Rich) so the TUI and the Markdown report draw the same ladder.
:func:`ladder_rows` builds the row list once per connection (frame rows are plain ints, so a
10 000-frame connection stays cheap); :func:`frame_line` describes one frame row;
:mod:`katui.report.ladder_text` lays rows out as text.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache, lru_cache
from typing import NamedTuple

try:
    import cython
except ImportError:  # the interpreted build without Cython installed
    import katui.model._cython as cython

from katui.analysis.gaps import idle_gaps, previous_on_path
from katui.analysis.verdicts import DEFAULT_IDLE_NS, crossed_408
from katui.memo import remember
from katui.model import (
    ACK,
    COMPLETE,
    FIN,
    INFERRED_VERSION,
    NOTE_KEEPALIVE,
    NOTE_OUT_OF_ORDER,
    NOTE_PREVIOUS_LOST,
    NOTE_RETRANSMISSION,
    NOTE_TRUNCATED,
    NOTE_ZERO_WINDOW,
    PSH,
    REQUEST,
    RST,
    SYN,
    URG,
    Connection,
)
from katui.model.connection import NO_TS
from katui.model.exchange import PIPELINED, Exchange, columns
from katui.model.store import H_VERSION, SM_BITS, SM_FIRST, SM_FRAME, SMALL, body_at, ix_at
from katui.textsafe import safe_text
from katui.tls.verdicts import normal_reset
from katui.units import fmt_bytes, fmt_clock, fmt_s

TIME_MODES = ("rel", "conn", "delta", "local", "utc")
"""Time column: since capture start, since connection start, delta from previous frame, time of
day in the local time zone, time of day in UTC (the last two to match server logs)."""
TIME_TITLES = {"rel": "since capture start", "conn": "since connection start",
               "delta": "delta from previous frame", "local": "of day, local",
               "utc": "of day, UTC"}  # fmt: skip
CLOCK_MODES = ("local", "utc")
ARROW_WIDTH = 24
"""Width of a lane's arrow in the text reports; the TUI widens lanes with its pane."""
_FLAG_NAMES = ((SYN, "SYN"), (FIN, "FIN"), (RST, "RST"), (PSH, "PSH"), (URG, "URG"), (ACK, "ACK"))
_NOTE_NAMES = ((NOTE_RETRANSMISSION, "retransmission"), (NOTE_OUT_OF_ORDER, "out-of-order"),
               (NOTE_PREVIOUS_LOST, "previous segment lost"), (NOTE_TRUNCATED, "truncated"),
               (NOTE_KEEPALIVE, "tcp keep-alive"), (NOTE_ZERO_WINDOW, "zero window"))  # fmt: skip


class Note(NamedTuple):
    """A non-frame ladder row: an idle gap or a section heading (handshake, request, teardown).
    A named tuple, as :class:`FrameLine`: Markdown makes several per connection of a load test,
    and a frozen dataclass is made several times slower."""

    kind: str
    """``gap`` or ``section``."""
    text: str
    """What the row says (already safe to print)."""
    frame: int
    """The frame the row leads into."""
    problem: bool = False
    """True when the row marks a problem (reset, stale reuse)."""
    duration_ns: int = 0
    """Gap length (gaps only)."""
    waiting: bool = False
    """A gap while a request waited for its response (a wait for the server, not idle)."""


class FrameLine(NamedTuple):
    """Everything one frame row shows (a named tuple: Markdown makes one per frame of a load
    test, and a tuple is made several times faster than a frozen dataclass)."""

    frame: int
    time: str
    c2s: bool
    """True when sent by the client."""
    flags: str
    length: int
    seqack: str
    label: str
    """HTTP message completing here, notes; escaped."""
    problem: str
    """``RST`` / ``STALE`` marker word or empty."""
    leg: int = 0
    """0: a frame of the connection drawn; 1: a frame of an upstream connection a proxy opened
    for it (drawn in the third, backend lane; see :mod:`katui.report.lanes`)."""


@dataclass(frozen=True, slots=True)
class Backend:
    """A ladder row for a frame of an upstream connection linked to the front connection drawn
    (the proxy's side of the backend lane)."""

    frame: int
    stream: int
    """tcp.stream of the upstream connection the frame belongs to."""


def row_frame(row) -> int | None:
    """The frame a ladder row draws (None for a note)."""
    if isinstance(row, Note):
        return None
    return row.frame if isinstance(row, Backend) else row


@cache  # a few dozen combinations, asked for once per frame of every ladder drawn
def flag_text(flags: int) -> str:
    """TCP flags as ``SYN,ACK``."""
    return ",".join(name for bit, name in _FLAG_NAMES if flags & bit) or "-"


def fmt_time(ns: int) -> str:
    """Seconds with microseconds, like Wireshark's time column."""
    return f"{ns / 1e9:.6f}"


safe_label = lru_cache(maxsize=4096)(safe_text)
"""safe_text of a message label: a load test repeats a few (``GET /``, ``200 OK``) in every ladder."""
size_label = lru_cache(maxsize=4096)(fmt_bytes)
"""fmt_bytes of a message body: a load test repeats a few sizes in every ladder."""


def http_labels(conn: Connection, texts: dict[int, str] | None = None) -> dict[int, str]:
    """Frame -> label of the HTTP messages that complete in it, and of TLS records the
    handshake facts name (hellos, tickets, alerts); escaped. ``texts`` holds the escaped
    ``store.label`` of message rows when the caller has made them already."""
    texts = texts or {}
    labels: dict[int, str] = {}
    for ex in conn.exchanges:
        sid = stream_of(ex)
        if ex.req >= 0:
            message_label(labels, ex, ex.req, sid, texts.get(ex.req))
        for m in ex.informational:
            message_label(labels, ex, m.index, sid, texts.get(m.index))
        if ex.resp >= 0:
            message_label(labels, ex, ex.resp, sid, texts.get(ex.resp))
    record_labels(labels, conn)
    return labels


def stream_of(ex: Exchange) -> int | None:
    """The HTTP/2 stream of an exchange, None over HTTP/1."""
    # A plain HTTP/1 exchange's class has no such field: no look-up.
    return None if type(ex) is Exchange else getattr(ex, "stream_id", None)


def add_label(labels: dict[int, str], frame: int, text: str) -> None:
    """Add ``text`` to ``labels`` at ``frame``: several labels in one frame are joined by
    ' | '."""
    had = labels.get(frame)
    labels[frame] = text if had is None else f"{had} | {text}"


def record_labels(labels: dict[int, str], conn: Connection) -> None:
    """Add to ``labels`` (of :func:`http_labels`) those of the TLS records and HTTP/2 frames
    the connection's handshake facts name, after its messages'."""
    for info in (conn.tls, conn.http2):
        if info is not None:
            for frame, text in info.labels:
                text = safe_text(text)
                add_label(labels, frame, text)


def message_label(labels: dict[int, str], ex: Exchange, i: int, sid: int | None,
                  text: str | None = None) -> None:  # fmt: skip
    """Add to ``labels`` (of :func:`http_labels`) the label of message row ``i`` of ``ex``
    (``sid``: its :func:`stream_of`), from ``text``, the row's escaped ``store.label`` when
    the caller has it (several labels in one frame are joined by ' | ')."""
    # The store's columns, not a view and its properties: Markdown labels every message of a
    # load test.
    store = ex.store
    small, s = store.small, i * SMALL  # (compiled: read with ix_at, no Python int per item)
    first, frame, bits = ix_at(small, s + SM_FIRST), ix_at(small, s + SM_FRAME), ix_at(small, s + SM_BITS)
    body = body_at(store, i)
    if text is None:
        text = safe_label(store.label(i))
    if sid is not None:  # HTTP/2: the HEADERS frame and its stream
        text = f"HEADERS s={sid} {text}"
    if bits & REQUEST:
        if sid is not None and ex.concurrent:
            text = f"{text}  ∥ concurrent"
        elif ex.pipelined:
            text = f"{text}  ⇉ pipelined"
        elif ex.reused:
            text = f"{text}  ↻ reused"
    elif body and sid is None and _version(store, i) != INFERRED_VERSION:
        text = f"{text}  {size_label(body)}"  # inferred: its label has its size
    if not bits & COMPLETE or not frame:
        text = f"{text} (incomplete)"
    elif sid is not None and frame != first:  # HTTP/2: HEADERS here, END_STREAM later
        add_label(labels, first, text)
        text = f"END_STREAM s={sid}" + (f"  {fmt_bytes(body)}" if body else "")
    add_label(labels, frame if frame else first, text)


def _version(store, i: int) -> str:
    """The HTTP version of message row ``i`` (its head's ``version``: compiled, read from the
    head's tuple, not by the named tuple's property)."""
    return cython.cast(tuple, store.head_table[ix_at(store.head_ix, i)])[H_VERSION]


def _stale_requests(conn: Connection) -> set[int]:
    """Numbers of the requests a stale reuse is about. Over HTTP/2 an unanswered stream may
    just be slow: only those above the last stream of the server's GOAWAY were never processed
    (others may share their frame)."""
    if conn.close.reason != "stale-reuse":
        return set()
    if _goaway_stale(conn):
        last = conn.http2.server_goaway[3]
        return {ex.n for ex in conn.exchanges
                if ex.request is not None and ex.response is None and ex.stream_id > last}  # fmt: skip
    frames = _stale_frames(conn)
    run = columns(conn.exchanges)  # read as columns: no object nor message view per exchange
    small = run.store.small if len(run) else None
    out = set()
    for k in range(len(run)):
        req = run.req_at(k)
        if req >= 0 and ix_at(small, req * SMALL + SM_FIRST) in frames:
            out.add(run.n_at(k))
    return out


def _goaway_stale(conn: Connection) -> bool:
    """True when an HTTP/2 stale reuse rests on the server's GOAWAY (streams above its last
    stream); without one (a TCP reset after idle) it is drawn as over HTTP/1."""
    return conn.http2 is not None and conn.http2.server_goaway is not None


def _stale_frames(conn: Connection) -> set[int]:
    """The request frames (and RSTs) of a stale reuse, drawn as the problem."""
    if conn.close.reason != "stale-reuse":
        return set()
    if _goaway_stale(conn):
        stale = _stale_requests(conn)
        return {ex.request.first_frame for ex in conn.exchanges if ex.n in stale} | set(conn.close.rst_frames)
    # The unanswered requests' first frames and the last request's, read as columns (no object
    # nor message view per exchange: the synthetic capture has ~200 stale reuses).
    run = columns(conn.exchanges)
    small = run.store.small if len(run) else None
    stale = set()
    for k in range(len(run)):
        req = run.req_at(k)
        if req >= 0 and (run.resp_at(k) < 0 or k == len(run) - 1):
            stale.add(ix_at(small, req * SMALL + SM_FIRST))
    return stale | set(conn.close.rst_frames)


_tuple_new = tuple.__new__
"""What :class:`Note` calls to make one (its named tuple's ``__new__`` is Python code)."""


def _note(kind: str, text: str, frame: int, problem: bool, duration_ns: int, waiting: bool) -> Note:
    """``Note(kind, text, frame, problem, duration_ns, waiting)``, as ladder_rows makes several
    for every connection: compiled, allocated as a tuple of :class:`Note`'s type and filled in
    C, as ``tuple.__new__(Note, fields)`` does after its argument checks (~1,000 instructions
    a note, 300k notes in the synthetic capture's Markdown report); interpreted, that call."""
    if not cython.compiled:
        return _tuple_new(Note, (kind, text, frame, problem, duration_ns, waiting))
    note = PyType_GenericAlloc(Note, 6)  # noqa: F821  (what a tuple subclass allocates with)
    _set(note, 0, kind)
    _set(note, 1, text)
    _set(note, 2, frame)
    _set(note, 3, problem)
    _set(note, 4, duration_ns)
    _set(note, 5, waiting)
    return note


def _set(note, k: int, field) -> None:
    """Compiled: item ``k`` of a new tuple (empty there) is ``field``, which it keeps a
    reference to (PyTuple_SET_ITEM takes one)."""
    Py_INCREF(field)  # noqa: F821
    PyTuple_SET_ITEM(note, k, field)  # noqa: F821


def _section(text: str, frame: int, problem: bool = False) -> Note:
    """``Note("section", text, frame, problem)``."""
    return _note("section", text, frame, problem, 0, False)


def ladder_rows(analysis, conn: Connection, gap_ns: int = DEFAULT_IDLE_NS,
                idle: list | None = None) -> list[int | Note]:  # fmt: skip
    """Frame numbers interleaved with :class:`Note` rows (gaps >= ``gap_ns``, sections);
    ``idle`` is ``idle_gaps(analysis, conn, gap_ns)`` when the caller has it already."""
    flags = analysis.table.flags
    stale = _stale_frames(conn)
    stale_requests = _stale_requests(conn) if stale else set()
    goaway = _goaway_stale(conn)  # an HTTP/2 stale reuse told by the server's GOAWAY
    if idle is None:
        idle = idle_gaps(analysis, conn, gap_ns)
    gaps = {g.before_frame: g for g in idle}
    requests = _noted_requests(conn, gaps, stale_requests)
    last_request = max(requests) if requests else -1  # compiled: a C integer, as ``at``
    rows: list[int | Note] = []
    in_handshake = handshaken = False  # one heading: a SYN sent again is not a new handshake
    answered = False  # the peer's own FIN after the first one
    cl = conn.close
    crossed = bool(stale) and crossed_408(cl)  # a stale reuse that crossed the 408 (asked of one only)
    close_frame = cl.frame
    closed_at = -1 if close_frame is None else close_frame  # compiled: a C integer, as ``at``
    # The peer's FIN is looked for only after a FIN close (Markdown walks every frame).
    fin_close = cl.how == "fin" and close_frame is not None
    for frame in conn.frames:
        at = frame
        gap = gaps.get(frame) if gaps else None  # most connections have no idle gap
        if gap is not None:
            problem = frame in stale or (cl.reason == "reset" and frame == close_frame)
            gap_at = len(rows)
            wait = gap.waiting > 0
            rows.append(_note("gap", safe_text(gap.explanation), frame, problem, gap.duration_ns, wait))
        f = flags[at - 1]
        if f & SYN and not f & ACK and not in_handshake and not handshaken:
            rows.append(_section(_handshake_text(analysis, conn), frame))
            in_handshake = handshaken = True
        elif in_handshake and not f & SYN:
            in_handshake = False
        if not in_handshake and at <= last_request and frame in requests:
            for ex in requests[frame]:  # a loop, not a generator: Cython compiles no closure
                rows.append(_request_note(ex, frame, ex.n in stale_requests, goaway, crossed))
        if at == closed_at:
            rows.append(_close_note(conn, frame))
        elif fin_close and f & FIN and not answered and at > closed_at:
            answered = True
            side = "client" if cl.by == "server" else "server"
            after = analysis.table.ts[frame - 1] - cl.ts_ns
            text = (f"the {side} closes its side too, {fmt_s(after)} after the {cl.by}'s "
                    f"FIN (frame {close_frame})")  # fmt: skip
            if gap is None:
                rows.append(_section(text, frame))
            else:  # one row, each of its two numbers saying what it is measured from
                rows[gap_at] = rows[gap_at]._replace(text=f"since frame {gap.after_frame}; then {text}")
        rows.append(frame)
    return rows


def _noted_requests(conn: Connection, gaps: dict, stale: set[int]) -> dict[int, list]:
    """:func:`~katui.analysis.gaps.requests_by_frame` of the exchanges whose requests get a row
    (gaps: the idle gaps by the frame they end at, stale: the stale requests' numbers).

    Request rows say something new: the first two, after an idle gap, pipelined, stale. A
    connection with 991 requests would otherwise repeat 'request N on this connection'
    between every exchange; its frames still carry the request and ``↻ reused``. (Markdown
    asks for every connection: the others' rows are not read.)"""
    out: dict[int, list] = {}
    exchanges = conn.exchanges
    run = columns(exchanges)  # read as columns: an object only for a request that gets a row
    small = run.store.small if len(run) else None
    for k in range(len(run)):
        req, n = run.req_at(k), run.n_at(k)
        noted = n <= 2 or run.flags_at(k) & PIPELINED != 0 or (stale and n in stale)
        if req < 0 or not (noted or gaps):  # its first frame is read only if it may matter
            continue
        first = ix_at(small, req * SMALL + SM_FIRST)
        if noted or first in gaps:
            got = out.get(first)
            if got is None:
                out[first] = [exchanges[k]]
            else:
                got.append(exchanges[k])
    return out


def _handshake_text(analysis, conn: Connection) -> str:
    """The handshake heading; names the connection this one replaces, if the capture has it."""
    prev = previous_on_path(analysis, conn)
    if prev is None:
        return "handshake: new TCP connection"
    pc = prev.close  # (compiled: its fields read from its struct)
    closed_ns = pc._ts  # pc.ts_ns, None when NO_TS (the field: no property call)
    if closed_ns == NO_TS:
        return "handshake: new TCP connection"
    how = "reset" if pc.how == "rst" else "closed"
    return (
        f"handshake: new connection {fmt_s(conn.start_ns - closed_ns)} after the "
        f"{pc.by} {how} stream {prev.stream} ({pc.reason})"
    )


def _request_note(ex, frame: int, stale: bool, goaway: bool = False, crossed: bool = False) -> Note:
    """The section over request ``ex``'s first frame; ``crossed``: the stale reuse is one that
    crossed the server's 408 (verdicts._crossed_timeout)."""
    if stale and crossed:
        return _section(f"✖ PROBLEM request {ex.n} crossed the server's 408: its request timeout "
                        "ran out on the silent connection as the request came", frame, True)  # fmt: skip
    if stale and goaway:
        return _section(f"✖ PROBLEM stale reuse: request {ex.n} (stream {ex.stream_id}) above the "
                        "GOAWAY's last stream", frame, True)  # fmt: skip
    if stale:
        return _section(f"✖ PROBLEM stale reuse: request {ex.n} sent on a connection the "
                        "server had closed", frame, True)  # fmt: skip
    if ex.pipelined:
        return _section(f"⇉ request {ex.n} pipelined: sent before response {ex.n - 1} had arrived", frame)
    # HTTP/2: multiplexed, not idle in between (a plain HTTP/1 exchange has no such field: no
    # look-up, which would raise and catch inside for each).
    if type(ex) is not Exchange and getattr(ex, "concurrent", False):
        return _section(f"∥ request {ex.n} on stream {ex.stream_id}, concurrent: sent while "
                        "another stream was open", frame)  # fmt: skip
    if ex.reused:
        idle = f", {fmt_s(ex.idle_before_ns)} idle" if ex.idle_before_ns is not None else ""
        return _section(f"↻ request {ex.n} on this connection{idle}, no new handshake", frame)
    return _section(f"request {ex.n}", frame)


_CLOSE_NOTES: dict[tuple, tuple[str, bool]] = {}
"""(how, by, reason, the stale request's number, told by GOAWAY) -> a close note's text and
problem: a load test closes its connections a few ways (at most :data:`MAX_NOTES`)."""
MAX_NOTES = 4096


def _close_note(conn: Connection, frame: int) -> Note:
    close = conn.close
    stale = close.reason == "stale-reuse"
    key = (close.how, close.by, close.reason, close.exchange if stale else None,
           stale and _goaway_stale(conn), stale and crossed_408(close) and _before_close(conn))  # fmt: skip
    got = _CLOSE_NOTES.get(key)
    if got is None:
        got = remember(_CLOSE_NOTES, key, _close_text(conn), MAX_NOTES)
    return _section(got[0], frame, got[1])


def _close_text(conn: Connection) -> tuple[str, bool]:
    """The text of the close note of ``conn`` and whether it marks a problem."""
    close = conn.close
    # In a stale reuse the FIN is the server's normal close: the problem is the request sent
    # after it, which has its own row.
    problem = close.how == "rst" or (close.is_problem and close.reason != "stale-reuse")
    mark = "✖ PROBLEM " if problem else ""
    what = "reset: the {} sends RST" if close.how == "rst" else "teardown: the {} sends FIN"
    text = f"{mark}{what.format(close.by)} ({close.reason})"
    if close.reason == "stale-reuse" and _goaway_stale(conn):
        which = f"request {close.exchange}" if close.exchange else "a request"
        text = f"{mark}{what.format(close.by)}; {which} was never processed (stale-reuse)"
    elif crossed_408(close) and _before_close(conn):
        which = f"request {close.exchange}" if close.exchange else "a request"
        text = f"{mark}{what.format(close.by)} after its 408; {which} had crossed the 408 (stale-reuse)"
    elif close.reason == "stale-reuse" and close.how == "fin":
        which = f"request {close.exchange}" if close.exchange else "a request"
        text = f"teardown: the {close.by} sends FIN; {which} is still sent after it (stale-reuse)"
    return text, problem


def _before_close(conn: Connection) -> bool:
    """Whether the request a stale reuse is about began before the close's FIN or RST (one that
    crossed a 408 may come before it or after it)."""
    close = conn.close
    for e in conn.exchanges:
        if e.n == close.exchange and e.req >= 0:
            return close.frame is None or e.store.small[e.req * SMALL + SM_FIRST] < close.frame
    return False


def frame_line(analysis, conn: Connection, frame: int, time_mode: str = "rel",
               prev_frame: int | None = None, labels: dict[int, str] | None = None,
               seqack: bool = False) -> FrameLine:  # fmt: skip
    """Describe one frame row of ``conn``'s ladder."""
    t = analysis.table
    i = frame - 1
    ts = t.ts[i]
    if time_mode == "conn":
        shown = ts - conn.start_ns
    elif time_mode == "delta":
        shown = ts - t.ts[prev_frame - 1] if prev_frame else 0
    elif time_mode in ("local", "utc"):
        shown = None
    else:
        shown = analysis.rel(ts)
    sa = ""
    if seqack:
        c2s = t.from_client(i)
        isn_own, isn_peer = ((conn.isn_client, conn.isn_server) if c2s
                             else (conn.isn_server, conn.isn_client))  # fmt: skip
        seq = (t.seq[i] - isn_own) % (1 << 32)
        ack = (t.ack[i] - isn_peer) % (1 << 32) if t.flags[i] & ACK else 0
        sa = f"seq={seq} ack={ack}"
    time = fmt_clock(ts, time_mode == "utc") if shown is None else fmt_time(shown)
    return frame_row(conn, t, i, time, sa, labels.get(frame, "") if labels else "")


def frame_row(conn: Connection, t, i: int, time: str, seqack: str, label: str) -> FrameLine:
    """Frame ``i + 1`` of table ``t`` (of ``conn``) as a row showing ``time``, ``seqack`` and
    ``label`` (its HTTP label), with its TCP notes and reset marker."""
    if t.notes[i]:
        label = _with_notes(label, t.notes[i])
    fl = t.flags[i]
    c2s = t.dir[i] == 0
    problem = "RST" if fl & RST else ""
    if problem and conn.tls is not None and normal_reset(conn.close, conn.tls.close_notify, i + 1, c2s):
        problem, label = "", f"{label} normal ending (close_notify unread)".strip()
    return FrameLine(i + 1, time, c2s, flag_text(fl), t.plen[i], seqack, label, problem)


def _with_notes(label: str, notes: int) -> str:
    """``label`` followed by the TCP notes of a frame: ``GET / [retransmission]``."""
    parts = [name for bit, name in _NOTE_NAMES if notes & bit]
    return f"{label} [{', '.join(parts)}]".strip() if parts else label
