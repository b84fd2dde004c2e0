"""The Markdown report's lines written a piece at a time (no string made for the line) are the
lines the general path makes: a connection row's start seconds, a section note, and a labelled
frame drawn once the label cache is full (a capture of unique URIs), each compared with and
without the fast path on text chosen to need what it leaves to the general one (cutting,
stripping, Mermaid entities, a problem mark)."""

from __future__ import annotations

import random

from katui.analysis.pipeline import analyze
from katui.report.ladder import Note, http_labels, ladder_rows
from katui.report.ladder_md import MAX_CACHED, Lines, TwoLanes
from katui.report.ladder_text import drawn_rows, header_line, ladder_lines
from katui.report.lanes import backend_name
from katui.report.markdown import _seconds
from katui.report.mermaid import diagram_block, sequence_diagram
from katui.units import EXACT_NS
from tests.conftest import SAMPLES

HARD_TEXTS = (
    "request 1",
    "handshake: new connection 78 µs after the server closed stream 3 (http10)",
    "✖ PROBLEM already marked",
    "ends with a space ",
    "ends with a tab\t",
    "x" * 189,  # the longest that fits 200 columns after the 11 of the note's start
    "y" * 190,
    "z" * 400,
    'mermaid <syntax> #1; {a|b} 100% `tick` "q"',
    "",
    " ",
    "line\u2028separator",
    "no-break space at the end\u00a0",
)


def _seconds_text(ns: int) -> str:
    out = Lines()
    _seconds(out, ns)
    out.end()
    return out.text()


def test_connection_start_seconds_are_the_float_text():
    rng = random.Random(8)
    values = list(range(0, 3_000_000, 997)) + [k * 500_000 + d for k in range(0, 4000) for d in (-1, 0, 1)]
    for shift in range(0, 64):
        for _ in range(200):
            ns = rng.randrange(0, 1 << shift) if shift else 0
            values += [ns, ns - ns % 1_000_000 + 500_000, -ns]
    values += list(range(EXACT_NS - 2_000_000, EXACT_NS + 2_000_000, 499_999)) + [2**63 - 1, 2**70, -(2**70)]
    wrong = [ns for ns in values if _seconds_text(ns) != f"{ns / 1e9:.3f}"]
    assert wrong == []


def _two_lane_connections(limit: int = 16):
    """(analysis, connection) of samples' first connections with messages (HTTP/1, TLS, h2)."""
    found = []
    for path in sorted(SAMPLES.glob("*.pcap")) + sorted((SAMPLES / "real").glob("*.pcap")):
        a = analyze(str(path))
        c = next(
            (c for c in a.connections if c.exchanges and c.frame_count < 200 and backend_name(a, c) is None),
            None,
        )
        if c is None:
            a.close()
            continue
        found.append((a, c))
        if len(found) == limit:
            break
    assert len(found) == limit
    return found


def _general(a, c, rows, labels):
    """The text ladder and diagram of ``rows`` by the general path (drawn_rows)."""
    drawn = drawn_rows(a, c, rows, labels)
    return ladder_lines(a, c, width=200, drawn=drawn), sequence_diagram(a, c, drawn=drawn)


def _fast(lanes, a, c, rows, labels):
    lines, body = lanes.draw(a, c, rows, labels)
    return [header_line(c)[:200], *lines], ([] if body is None else diagram_block(c, body))


def test_section_notes_written_in_pieces_are_the_general_notes():
    for a, c in _two_lane_connections():
        try:
            rows = ladder_rows(a, c, a.idle_threshold_ns)
            at = next(r for r in rows if isinstance(r, int))
            notes = [Note("section", t, at, problem) for t in HARD_TEXTS for problem in (False, True)]
            notes += [Note("gap", t, at, True, 7_000_000, w) for t in HARD_TEXTS[:4] for w in (False, True)]
            rows = notes + rows
            labels = http_labels(c)
            assert _fast(TwoLanes(200), a, c, rows, labels) == _general(a, c, rows, labels)
        finally:
            a.close()


def test_labels_drawn_once_the_label_cache_is_full_are_the_general_ones():
    # A capture of unique URIs fills the cache of labelled lines: later labels are written in
    # pieces. Each connection is drawn by a TwoLanes whose cache is full and by a new one.
    conns = _two_lane_connections()
    full = TwoLanes(200)
    a, c = conns[0]
    rows, frames = ladder_rows(a, c, a.idle_threshold_ns), sorted(http_labels(c))
    for k in range(MAX_CACHED // len(frames) + 2):
        full.draw(a, c, rows, {f: f"GET /fill/{k}/{f}" for f in frames})
    hard = [f"GET /{t}" for t in HARD_TEXTS] + ["200 OK  1.5 KiB", "y" * 300, "µ", "a b ", "#"]
    for a, c in conns:
        try:
            rows = ladder_rows(a, c, a.idle_threshold_ns)
            frames = sorted(http_labels(c))
            for k in range(len(hard)):
                labels = {f: hard[(k + j) % len(hard)] for j, f in enumerate(frames)}
                general = _general(a, c, rows, labels)
                assert _fast(full, a, c, rows, labels) == general
                assert _fast(TwoLanes(200), a, c, rows, labels) == general
        finally:
            a.close()


def test_ladder_notes_made_in_c_are_notes():
    # Compiled, ladder_rows allocates its notes as tuples of Note's type and fills them in C:
    # each must be a Note like one made by its constructor (fields, equality, hash, _replace),
    # and stay so across a garbage collection (the tuple is tracked as it is filled).
    import gc

    seen = 0
    for a, c in _two_lane_connections():
        try:
            notes = [r for r in ladder_rows(a, c, a.idle_threshold_ns) if not isinstance(r, int)]
            gc.collect()
            for note in notes:
                made = Note(*note)
                assert type(note) is Note and len(note) == 6
                assert note == made and hash(note) == hash(made) and repr(note) == repr(made)
                assert note._replace(text="x") == made._replace(text="x")
                assert (note.kind, note.frame) == (made.kind, made.frame)
                seen += 1
        finally:
            a.close()
    assert seen > 16


def test_idle_gaps_set_in_c_are_idle_gaps():
    # Compiled, idle_gaps sets a gap's fields in C as IdleGap's frozen __init__ does: each must
    # equal (and hash, print and stay frozen as) the one its constructor makes.
    import dataclasses

    import pytest

    from katui.analysis.gaps import idle_gaps
    from katui.model import IdleGap

    seen = 0
    for a, c in _two_lane_connections():
        try:
            for gap in idle_gaps(a, c, 1_000_000):  # 1 ms: most connections have some
                made = IdleGap(*dataclasses.astuple(gap))
                assert type(gap) is IdleGap and gap == made and hash(gap) == hash(made)
                assert repr(gap) == repr(made)
                with pytest.raises(dataclasses.FrozenInstanceError):
                    gap.waiting = 1
                seen += 1
        finally:
            a.close()
    assert seen > 4
