"""Markdown report: summary, connections table, findings, and per-connection ladders.

Shared by ``katui report --format md`` and the TUI's export / copy. Every capture-derived
string is escaped: control characters become visible escapes, and ``|``, backticks and other
Markdown syntax are backslash-escaped so a hostile URI cannot break the table or inject links.
"""

from __future__ import annotations

import re
from functools import lru_cache

try:
    import cython
except ImportError:  # the interpreted build without Cython installed
    import katui.model._cython as cython

from katui.analysis.gaps import idle_gaps
from katui.analysis.pipeline import Analysis
from katui.memo import remember
from katui.model import COMPLETE, REQUEST, Connection
from katui.model.exchange import NO_IDLE, Exchange
from katui.model.store import (
    H_METHOD,
    H_VERSION,
    INFERRED_VERSION,
    SM_BITS,
    SM_FIRST,
    SM_FRAME,
    SM_STATUS,
    SMALL,
    body_at,
    ix_at,
)
from katui.report.common import closed_by, covers, http2_summary, summary_pairs, tls_summary
from katui.report.ladder import add_label, ladder_rows, message_label, record_labels, safe_label, stream_of
from katui.report.ladder_md import Lines, TwoLanes, _mermaid
from katui.report.ladder_text import header_line, ladder_lines
from katui.report.lanes import backend_name, drawn_with_backend
from katui.report.mermaid import diagram_block, sequence_diagram
from katui.textsafe import UNSAFE_CHARS, safe_text
from katui.units import EXACT_NS, fmt_iso, fmt_s

MAX_LADDER_FRAMES = 2000
LADDER_WIDTH = 200
"""Ladder lines are cut to this many columns."""
_MD_CHARS = r"\\`*_{}\[\]<>|"
_MD_SPECIAL = re.compile(f"([{_MD_CHARS}])")
_TICKS = re.compile(r"`+")
MAX_CELLS = 4096
"""Strings kept by each of this module's caches (a hostile capture may make every one unique)."""


_DIRTY = re.compile(f"[{_MD_CHARS}{UNSAFE_CHARS}]")
"""Any character :func:`md` changes: most capture text (addresses, evidence) has none."""
_MD: dict[str, str] = {}
"""Text with such characters -> :func:`md` of it, for the labels and explanations a load test
repeats; at most :data:`MAX_CELLS` (a hostile capture may make every one unique)."""


def _plain(text: str) -> bool:
    """True when ``text`` is printable ASCII with no Markdown syntax (:func:`md` leaves it as
    it is): compiled, a C loop over its characters, for a connection's addresses."""
    if text is None:
        return False
    for ch in text:
        if ch < " " or ch > "~" or ch in "\\`*_{}[]<>|":  # a literal: compiled, a C switch
            return False
    return True


def md(text: str) -> str:
    """Escape capture text for Markdown prose and table cells."""
    # One search finds the text with nothing to escape (a connection's addresses and evidence
    # are unique: cached, they would only push out what repeats).
    if _plain(text) or _DIRTY.search(text) is None:
        return text
    got = _MD.get(text)
    return remember(_MD, text, _MD_SPECIAL.sub(r"\\\1", safe_text(text)), MAX_CELLS) if got is None else got


_SHARED: dict[str, str] = {}
"""Text most connections share (a server's address, a close explanation) -> :func:`md` of it,
at most :data:`MAX_CELLS`: one look-up instead of a search of its every character."""


def _md_shared(text: str) -> str:
    """:func:`md` of text that many connections share, kept in :data:`_SHARED`."""
    got = _SHARED.get(text)
    return remember(_SHARED, text, md(text), MAX_CELLS) if got is None else got


@lru_cache(maxsize=4096)
def md_escaped(text: str) -> str:
    """:func:`md` of text that :func:`~katui.textsafe.safe_text` has escaped already."""
    return _MD_SPECIAL.sub(r"\\\1", text)


def fence(lines: list[str]) -> list[str]:
    """``lines`` in a ```` ```text ```` code block, safe whatever backticks they hold."""
    # A line of backticks inside cannot close the fence: the fence is longer than any run.
    longest = 0
    for ln in lines:  # a loop, not a generator: the report fences a ladder per connection
        if "`" in ln:
            longest = max(longest, *map(len, _TICKS.findall(ln)))
    fence = "`" * max(3, longest + 1)
    return [fence + "text", *lines, fence]


def render(a: Analysis, streams: list[int] | None = None, idle_threshold_ns: int | None = None,
           progress=None) -> str:  # fmt: skip
    """The Markdown report for all connections, or only ``streams``, as one string."""
    return "".join(chunks(a, streams, idle_threshold_ns, progress))


def chunks(a: Analysis, streams: list[int] | None = None, idle_threshold_ns: int | None = None,
           progress=None):  # fmt: skip
    """The Markdown report in pieces, one connection at a time, so memory stays flat on big
    captures (the text of :func:`render`).

    ``progress(done, total)`` is called every 100 connections (it may raise to cancel)."""
    return _pieces(a, streams, idle_threshold_ns, progress, False)


def encoded_chunks(a: Analysis, streams: list[int] | None = None, idle_threshold_ns: int | None = None,
                   progress=None):  # fmt: skip
    """The UTF-8 of :func:`chunks`' pieces (what a report file holds), in pieces as well: the
    ladders and diagrams, most of the report, are drawn as UTF-8 (see
    :class:`~katui.report.ladder_md.Lines`) rather than drawn as text and then encoded."""
    return _pieces(a, streams, idle_threshold_ns, progress, True)


def _pieces(a: Analysis, streams: list[int] | None, idle_threshold_ns: int | None, progress,
            encoded: bool):  # fmt: skip
    """:func:`chunks`, or :func:`encoded_chunks` when ``encoded``."""
    conns = a.connections if streams is None else [a.connections[s] for s in streams]
    gap_ns = a.idle_threshold_ns if idle_threshold_ns is None else idle_threshold_ns
    out = [f"# katui: {md(a.path)}", ""]
    for label, value in summary_pairs(a):
        out.append(f"- **{label}**: {md(value)}")
    for w in a.warnings:
        out.append(f"- **warning**: {md(w)}")
    if streams is not None:
        out.append(f"- **exported**: {len(conns)} of {len(a.connections)} connections")
    out += ["", "## Connections", "", _table_head()]
    head = "\n".join(out) + "\n"
    yield head.encode() if encoded else head
    rows = Lines()  # written a piece at a time: no string per cell or row
    for c in conns:
        _row(a, c, rows)
        if rows.count == ROWS:  # a few hundred rows a piece: a load test's 60k rows are not 60k writes
            yield rows.utf8() + b"\n" if encoded else rows.text() + "\n"
            rows.clear()
    if rows.count:
        yield rows.utf8() + b"\n" if encoded else rows.text() + "\n"
    if streams is None:  # all of them: no set of every stream, held while the sections are written
        found = a.findings
    else:
        picked = {c.stream for c in conns}
        found = [f for f in a.findings if f.stream is None or f.stream in picked]
    if found:
        piece = "\n".join(_findings(found)) + "\n"
        yield piece.encode() if encoded else piece
    lanes = TwoLanes(LADDER_WIDTH)  # shared: a load test repeats its frames' arrows
    cells = Cells()  # and its messages' labels
    table = Lines()  # refilled by each connection's section
    for i, c in enumerate(conns):
        if progress is not None and i % 100 == 0:
            progress(i, len(conns))
        yield _connection(a, c, gap_ns, lanes, cells, table, encoded)


ROWS = 256
"""Connection rows joined into one piece of the report."""


def _findings(found: list) -> list[str]:
    out = ["", "## Findings", ""]
    for f in found:
        where = f" (stream {f.stream}, frame {f.frame})" if f.stream is not None else ""
        out.append(f"- **{f.severity}** `{f.kind}`{where}: {md(f.text)}")
        if covers(f):
            out.append(f"  - {covers(f)}")
        if f.advice:
            out.append(f"  - what to do: {md(f.advice)}")
    return out


def _table_head() -> str:
    cols = [
        "stream",
        "client",
        "server",
        "start s",
        "duration",
        "requests",
        "reused",
        "closed by",
        "idle before close",
        "reason",
    ]
    return "| " + " | ".join(cols) + " |\n|" + "---|" * len(cols)


_CLOSED_BY: dict[tuple, str] = {}
"""(who closed, how) -> :func:`~katui.report.common.closed_by` of it: a handful of texts,
one per connection row."""


def _row(a: Analysis, c: Connection, out: Lines) -> None:
    """The connections table's row of ``c``, written to ``out``."""
    cl = c.close
    how = (cl.by, cl.how)
    closer = _CLOSED_BY.get(how)
    if closer is None:
        closer = _CLOSED_BY[how] = closed_by(c)
    out.write("| ")
    out.write_number(c.stream)
    out.write(" | ")
    out.write(md(c.client))
    out.write(" | ")
    out.write(_md_shared(c.server))
    out.write(" | ")
    _seconds(out, c.start_ns - a.first_ns)  # a.rel(c.start_ns): no Python call
    out.write(" | ")
    out.write(fmt_s(c.end_ns - c.start_ns))  # c.duration_ns and c.reused: no property call
    out.write(" | ")
    out.write_number(c.requests)
    out.write(" | yes | " if c.requests > 1 else " |  | ")
    out.write(closer)
    out.write(" | ")
    out.write(fmt_s(cl.idle_before_ns))
    out.write(" | ")
    out.write(cl.reason)
    out.write(" |")
    out.end()


_EXACT_NS = EXACT_NS
_MILLIS = tuple(f"{k:03d}" for k in range(1000))
"""A number of milliseconds below a second as :func:`_seconds` writes it."""


def _seconds(out: Lines, ns: int) -> None:
    """Write ``f"{ns / 1e9:.3f}"`` to ``out``: with integers where that is the same text
    (below ``EXACT_NS`` a double is exact to well under a nanosecond, so only a time halfway
    between two milliseconds can round differently; it takes the float)."""
    if 0 <= ns < _EXACT_NS and ns % 1_000_000 != 500_000:
        n = ns
        ms = (n + 500_000) // 1_000_000
        out.write_number(ms // 1000)
        out.write(".")
        out.write(_MILLIS[ms % 1000])
    else:
        out.write(f"{ns / 1e9:.3f}")


def _exchange_table(c: Connection, labels: dict[int, str], cells: Cells, out: Lines) -> None:
    """A connection's requests and responses as a Markdown table, added to ``out``; ``labels``
    gets the ladder's labels of their messages (:func:`~katui.report.ladder.http_labels`
    without the records'): made here from the same escaped text as the cells."""
    out.add("| # | request frame | response frame | request | status | reused | idle before |")
    out.add("|---|---|---|---|---|---|---|")
    for e in c.exchanges:
        # A plain HTTP/1 exchange like the one before it (a load test's): its cells and labels
        # again, with its numbers.
        if type(e) is Exchange and cells.same_pair(e):
            cells.pair_row(labels, e, out)
            continue
        req, resp, store = e.req, e.resp, e.store  # store rows, not views: every request is here
        small = store.small  # the end frames from the store's column: no call per message
        sid = stream_of(e)
        # The row "| n | request frame | response frame | request | status | reused | idle |",
        # written a piece at a time; a message's end frame is 0 while incomplete (an empty cell).
        out.write("| ")
        out.write_number(e.n)
        asked = answered = None  # the ladder labels put kept by their cache keys
        if req >= 0:
            label, text = cells.of(store, req)
            asked = cells.put(labels, e, req, sid, label)
            end = ix_at(small, req * SMALL + SM_FRAME)
            out.write(" | ")
            if end:
                out.write_number(end)
            else:  # never ended: the frame it started in, marked unfinished (as the text report)
                out.write_number(ix_at(small, req * SMALL + SM_FIRST))
                out.write("…")
            out.write(" | ")
        else:
            text = ""
            out.write(" |  | ")
        if type(e) is not Exchange:  # 1xx responses, in the ladder only (a plain one has none)
            for m in e.informational:
                message_label(labels, e, m.index, sid)
        if resp >= 0:
            label, status = cells.of(store, resp)
            answered = cells.put(labels, e, resp, sid, label)
            end = ix_at(small, resp * SMALL + SM_FRAME)
            if end:
                out.write_number(end)
            out.write(" | ")
            out.write(text)
            out.write(" | ")
            out.write(status)
            out.write(" | ")
            if asked is not None and answered is not None and type(e) is Exchange:
                cells.keep_pair(e, text, status, asked, answered)
        else:
            out.write(" | ")
            out.write(text)
            out.write(" | no response | ")
        if e.reused:
            out.write("yes | ")
            out.write(_idle_text(e))
            out.write(" |")
        else:
            out.write(" |  |")
        out.end()


def _idle_text(e: Exchange) -> str:
    """``fmt_s(e.idle_before_ns)`` from the field, not the property (a Python call for each
    reused request of the table)."""
    return fmt_s(None if e._idle == NO_IDLE else e._idle)


_CELLS: dict[str, tuple[str, str]] = {}
"""Message label -> (its escaped ladder label, its table cell), for the labels a load test
repeats in every connection; at most :data:`MAX_CELLS` (a capture may make each unique)."""


def _cell(label: str) -> tuple[str, str]:
    """(``safe_label(label)``, its :func:`md_escaped` table cell), kept in :data:`_CELLS`."""
    if _plain(label):  # most labels (a unique URI has nothing to escape): a C loop, no look-up
        return (label, label)
    cell = _CELLS.get(label)
    if cell is None:
        if _DIRTY.search(label) is None:
            return (label, label)
        text = safe_label(label)
        cell = (text, md_escaped(text))
        if len(_CELLS) < MAX_CELLS:
            _CELLS[label] = cell
    return cell


PAIRS = 4
"""Plain exchanges whose cells a :class:`Cells` keeps (a load test's first, reused and last)."""
_MAX_HEAD = 1 << 30
"""Head indexes below this fit a row's cache key in 64 bits (beside a 32-bit URI or status)."""


class Cells:
    """:func:`_cell` of message rows' labels, kept by what a label is made of (the row's head
    and URI indexes or its status) rather than by the label: a load test labels every message
    with one of a few, and neither the label nor its hash is made again for each. One per
    report (the indexes are those of one message store)."""

    __slots__ = ("store", "_by_key", "_small", "_head_ix", "_uri_ix", "_labels", "_key",
                 "_row", "_scratch", "_pairs", "_next_pair", "_hit", "_pair_asked", "_pair_answered",
                 "_pair_shape", "_pair_body", "_pair_texts", "_cur_asked", "_cur_answered", "_cur_shape",
                 "_cur_body")  # fmt: skip

    def __init__(self) -> None:
        self.store = None
        """The message store whose rows the cache keys name."""
        self._by_key: dict[int, tuple[str, str]] = {}
        self._small = self._head_ix = self._uri_ix = None
        self._labels: dict[tuple, str] = {}
        """(cache key, what the ladder adds, complete) -> a message's ladder label (see :meth:`put`)."""
        self._key = 0
        self._row = -1  # the row :meth:`of` last kept (or found) by ``_key``; -1: none
        self._scratch: dict[int, str] = {}
        # The exchanges :meth:`keep_pair` kept (compiled: in C arrays) and their texts.
        self._pairs = self._next_pair = self._hit = 0
        self._cur_asked = self._cur_answered = self._cur_shape = self._cur_body = 0
        if not cython.compiled:
            self._pair_asked, self._pair_answered = [0] * PAIRS, [0] * PAIRS
            self._pair_shape, self._pair_body = [0] * PAIRS, [0] * PAIRS
        self._pair_texts: list[tuple[str, str, str]] = [("", "", "")] * PAIRS
        """(a row's request and status cells, its request's label, its response's label)."""

    def of(self, store, i: int) -> tuple[str, str]:
        """``_cell(store.label(i))``."""
        if store is not self.store:
            self.store, self._by_key, self._labels, self._pairs = store, {}, {}, 0
            # Its columns, looked up once (a store keeps its arrays for its lifetime).
            self._small, self._head_ix, self._uri_ix = store.small, store.head_ix, store.uri_ix
        self._row = -1
        head, s = ix_at(self._head_ix, i), i * SMALL
        request = ix_at(self._small, s + SM_BITS) & REQUEST != 0
        # A request's label is its method and URI, a response's its status and reason, both in
        # the head's strings; a message inferred from TLS records is labelled by its size.
        which = ix_at(self._uri_ix, i) if request else ix_at(self._small, s + SM_STATUS)
        key = head << 33 | which << 1 | request
        got = self._by_key.get(key) if head < _MAX_HEAD else None
        if got is None:
            text = cython.cast(tuple, store.head_table[head])  # a HeadText: read as a tuple in C
            inferred = text[H_VERSION] == INFERRED_VERSION
            if request and not inferred:  # store.label(i) of a request, made with C calls
                got = _cell(f"{text[H_METHOD]} {store.uri_at(which)}")
            else:
                got = _cell(store.label(i))
            if head < _MAX_HEAD and len(self._by_key) < MAX_CELLS and not inferred:
                self._by_key[key] = got
                self._key, self._row = key, i
        else:
            self._key, self._row = key, i
        return got

    def put(self, labels: dict[int, str], e, i: int, sid, label: str) -> None:
        """``message_label(labels, e, i, sid, label)`` right after ``of(e.store, i)`` gave
        ``label``: over HTTP/1 the label is kept by the row's cache key and what the ladder adds
        to it (reused or pipelined, the body's size, incomplete), made once for a load test's
        messages rather than for each."""
        if sid is not None or i != self._row or e.store is not self.store:
            message_label(labels, e, i, sid, label)
            return None
        s = i * SMALL
        frame, bits = ix_at(self._small, s + SM_FRAME), ix_at(self._small, s + SM_BITS)
        if bits & REQUEST:
            adds = 2 if e.pipelined else 1 if e.reused else 0
        else:
            adds = body_at(self.store, i)
        key = (self._key, adds, bits & COMPLETE != 0 and frame != 0)
        text = self._labels.get(key)
        if text is None:
            scratch = self._scratch
            scratch.clear()
            message_label(scratch, e, i, None, label)
            text = scratch.popitem()[1]  # its only label (HTTP/1: one, at its frame)
            if len(self._labels) < MAX_CELLS:
                self._labels[key] = text
        at = frame or ix_at(self._small, s + SM_FIRST)
        add_label(labels, at, text)
        return text

    def _pair_fields(self, e) -> bool:
        """Put in the ``_cur_*`` fields what a plain exchange's table cells and ladder labels
        are made of (both messages' head, the request's URI, the response's status and body
        size, their flag bits, whether each has an end frame, and reused / pipelined), packed
        in four numbers. False when ``e`` has no request or no response, or rows of another
        store than :attr:`store`."""
        req, resp = e.req, e.resp
        if req < 0 or resp < 0 or e.store is not self.store:
            return False
        small, q, r = self._small, req * SMALL, resp * SMALL
        # (head indexes, URI indexes and statuses are 32-bit; the bits below 8; each column
        # read once into a C integer, then C arithmetic)
        asked, answered = ix_at(self._head_ix, req), ix_at(self._head_ix, resp)
        which, status = ix_at(self._uri_ix, req), ix_at(small, r + SM_STATUS)
        self._cur_asked = asked << 32 | which
        self._cur_answered = answered << 32 | status
        bits, frame = ix_at(small, q + SM_BITS), ix_at(small, q + SM_FRAME)
        shape = (bits & (REQUEST | COMPLETE)) | (8 if frame else 0)
        bits, frame = ix_at(small, r + SM_BITS), ix_at(small, r + SM_FRAME)
        shape |= (bits & (REQUEST | COMPLETE)) << 4 | (128 if frame else 0)
        self._cur_shape = shape | (2 if e.pipelined else 1 if e.reused else 0) << 8
        self._cur_body = body_at(self.store, resp)
        return True

    def keep_pair(self, e, text: str, status: str, asked: str, answered: str) -> None:
        """Remember a plain exchange's cells and ladder labels (``put`` gave them from its
        caches: the same fields make the same ones) for :meth:`same_pair`, in one of
        :data:`PAIRS` slots (the oldest replaced)."""
        if not self._pair_fields(e):
            return
        k = self._next_pair
        self._pair_asked[k], self._pair_answered[k] = self._cur_asked, self._cur_answered
        self._pair_shape[k], self._pair_body[k] = self._cur_shape, self._cur_body
        self._pair_texts[k] = (f" | {text} | {status}", asked, answered)
        self._next_pair = (k + 1) % PAIRS
        self._pairs = min(self._pairs + 1, PAIRS)

    def same_pair(self, e) -> bool:
        """True when plain exchange ``e`` has the fields of one :meth:`keep_pair` kept: then
        :meth:`pair_row` makes its table row and labels."""
        if not self._pairs or not self._pair_fields(e):
            return False
        for k in range(self._pairs):
            if (self._pair_asked[k] == self._cur_asked and self._pair_answered[k] == self._cur_answered
                    and self._pair_shape[k] == self._cur_shape
                    and self._pair_body[k] == self._cur_body):  # fmt: skip
                self._hit = k
                return True
        return False

    def pair_row(self, labels: dict[int, str], e, out: Lines) -> None:
        """The table row of ``e`` (:meth:`same_pair`) written to ``out`` (a line of pieces, no
        string made), its messages' labels added to ``labels``."""
        cells, asked, answered = self._pair_texts[self._hit]
        small, q, r = self._small, e.req * SMALL, e.resp * SMALL
        out.write("| ")
        out.write_number(e.n)
        out.write(" | ")
        end = ix_at(small, q + SM_FRAME)
        first = ix_at(small, q + SM_FIRST)
        if end:
            out.write_number(end)
        else:  # never ended: its first frame, marked unfinished (as _exchange_table)
            out.write_number(first)
            out.write("…")
        out.write(" | ")
        add_label(labels, end or first, asked)
        end = ix_at(small, r + SM_FRAME)
        if end:
            out.write_number(end)
        add_label(labels, end or ix_at(small, r + SM_FIRST), answered)
        out.write(cells)
        if e.reused:
            out.write(" | yes | ")
            out.write(_idle_text(e))
            out.write(" |")
        else:
            out.write(" |  |  |")
        out.end()


def _connection(a: Analysis, c: Connection, gap_ns: int, lanes: TwoLanes, cells: Cells, out: Lines,
                encoded: bool = False):  # fmt: skip
    """One connection's section after a blank line, each line ended: facts, exchanges, idle
    gaps and (when small enough) its ladder, as text, or its UTF-8 when ``encoded``. Its
    lines up to the pictures are written to ``out`` (compiled: as UTF-8, a piece at a time,
    one buffer reused: neither a string per line nor the section's text is made)."""
    out.clear()
    out.add("")
    out.write("## Stream ")
    out.write_number(c.stream)
    out.write(": ")
    out.write(md(c.client))
    out.write(" → ")
    out.write(_md_shared(c.server))
    out.end()
    out.add("")
    out.write("- frames ")
    out.write_number(c.first_frame)
    out.write("–")
    out.write_number(c.last_frame)
    out.write(" (")
    # The fields of c.frame_count, duration_ns and handshake_rtt_ns (a Python property call
    # each, for every connection)
    frames = c.frames_c2s + c.frames_s2c
    out.write_number(frames)
    out.write("), started ")
    out.write(fmt_iso(c.start_ns))
    out.write(", duration ")
    out.write(fmt_s(c.end_ns - c.start_ns))
    out.write(", handshake RTT ")
    out.write(fmt_s(c._rtt if c._rtt_known else None))
    out.write(", state ")
    out.write(f"{c.state}")
    out.end()
    cl = c.close
    out.write("- close: ")
    out.write(_md_shared(cl.explanation))
    out.write(" (reason `")
    out.write(f"{cl.reason}")
    if cl._frame:  # cl.frame (None: NO_FRAME, 0)
        out.write("`, frame ")
        out.write_number(cl._frame)
        out.write(")")
    else:
        out.write("`)")
    out.end()
    evidence = cl.evidence  # (a property: its text made when read)
    if evidence:
        out.add(f"- evidence: {md('; '.join(evidence))}")
    if c.lost_segments or c.retransmissions or c.truncated_frames:
        out.add(
            f"- TCP: {c.retransmissions} retransmissions, {c.out_of_order} out-of-order, "
            f"{c.lost_segments} holes, {c.truncated_frames} truncated frames"
        )
    if c.http_error:
        out.add(f"- HTTP parsing: {md(c.http_error)}")
    if c.tls is not None:
        out.add(f"- TLS: {md(tls_summary(c.tls))}")
    if c.http2 is not None:
        out.add(f"- HTTP/2: {md(http2_summary(c.http2))}")
    labels: dict[int, str] = {}
    if c.exchanges:
        out.add("")
        _exchange_table(c, labels, cells, out)
    gaps = idle_gaps(a, c, gap_ns)
    if gaps:
        # A wait for a response is listed with them, said to be one (not keep-alive idle).
        out.add("")
        out.add("Idle gaps:" if not any(g.waiting for g in gaps) else "Idle gaps and waits:")
        out.add("")
        for g in gaps:
            out.add(f"- {fmt_s(g.duration_ns)} {'waiting ' if g.waiting else ''}between frames "
                      f"{g.after_frame} and {g.before_frame}: {md(g.explanation)}")  # fmt: skip
    if frames <= MAX_LADDER_FRAMES:
        if encoded:
            pieces = _encoded_pictures(a, c, gap_ns, gaps, lanes, labels)
            pieces[0] = b"".join((out.utf8(), b"\n", pieces[0]))
            pieces.append(b"\n")
            return b"".join(pieces)
        pictures = _pictures(a, c, gap_ns, gaps, lanes, labels)
    else:
        omitted = (
            f"(ladder omitted: {c.frame_count} frames; export this connection alone in "
            "the TUI or use --format json)"
        )
        if encoded:
            return b"".join((out.utf8(), b"\n\n", omitted.encode(), b"\n"))
        pictures = ["", omitted]
    return "".join((out.text(), "\n", "\n".join(pictures), "\n"))


def _encoded_pictures(a: Analysis, c: Connection, gap_ns: int, gaps: list, lanes: TwoLanes,
                      labels: dict[int, str]) -> list[bytes]:  # fmt: skip
    """The UTF-8 of ``"\\n".join(_pictures(...))`` (which starts with a blank line), in pieces
    to join: a two-lane ladder and its diagram drawn as UTF-8, with what is around them
    encoded."""
    if c.stream in a.proxies.roles and backend_name(a, c) is not None:  # three lanes: as text
        return ["\n".join(_pictures(a, c, gap_ns, gaps, lanes, labels)).encode()]
    record_labels(labels, c)  # labels is now http_labels(c)
    lines, body = lanes.draw_utf8(a, c, ladder_rows(a, c, gap_ns, gaps), labels)
    header = header_line(c)[:LADDER_WIDTH]
    if b"`" in lines or "`" in header:  # a fence longer than the backticks inside: as text
        ladder = ["\n".join(fence([header, lines.decode()] if lines else [header])).encode()]
    elif lines:
        ladder = [b"```text\n", header.encode(), b"\n", lines, b"\n```"]
    else:
        ladder = [b"```text\n", header.encode(), b"\n```"]
    if body is None:
        return [b"\n", *ladder]
    # diagram_block(c, [body]): its participants' lines made here, the server's kept
    top = [b"\n```mermaid\nsequenceDiagram\n    participant C as client ", _mermaid(c.client).encode(),
           _participant_server(c.server)]  # fmt: skip
    if body:
        return [*top, body, b"\n```\n\n", *ladder]
    return [*top, b"```\n\n", *ladder]


_SERVERS: dict[str, bytes] = {}
"""A connection's server -> its diagram participant's line and newline, as UTF-8: most
connections share a few (at most :data:`MAX_CELLS`)."""


def _participant_server(server: str) -> bytes:
    """``f"\\n    participant S as server {mermaid_text(server)}\\n"`` as UTF-8, kept in
    :data:`_SERVERS`."""
    got = _SERVERS.get(server)
    if got is None:
        got = f"\n    participant S as server {_mermaid(server)}\n".encode()
        if len(_SERVERS) < MAX_CELLS:
            _SERVERS[server] = got
    return got


def _pictures(a: Analysis, c: Connection, gap_ns: int, gaps: list, lanes: TwoLanes,
              labels: dict[int, str]) -> list[str]:  # fmt: skip
    """The Mermaid diagram (when small enough to render) and the text ladder of ``c``, each
    after a blank line; ``labels`` has its messages' labels (from :func:`_exchange_table`).
    The diagram and the ladder draw the same rows: the gaps and notes are found once."""
    # Only a proxy's front connection has a role and a backend lane (no Python call for others).
    backend = backend_name(a, c) if c.stream in a.proxies.roles else None
    if backend is None:  # two lanes: both drawn in one pass
        record_labels(labels, c)  # labels is now http_labels(c)
        # Each picture's lines come joined (one string each): no string per line to join again.
        lines, body = lanes.draw_text(a, c, ladder_rows(a, c, gap_ns, gaps), labels)
        diagram = [] if body is None else ["\n".join(diagram_block(c, [body] if body else []))]
        ladder = [header_line(c)[:LADDER_WIDTH], lines] if lines else [header_line(c)[:LADDER_WIDTH]]
    else:  # a proxy's front connection is drawn with its upstream frames (client | proxy | backend)
        drawn, backend = drawn_with_backend(a, c, gap_ns, gaps)
        diagram = sequence_diagram(a, c, gap_ns, drawn, backend)
        ladder = ladder_lines(a, c, gap_ns=gap_ns, width=LADDER_WIDTH, drawn=drawn, backend=backend)
    # GitHub and GitLab draw the diagram; the text ladder below has every frame.
    return (["", *diagram] if diagram else []) + ["", *fence(ladder)]
