"""The Markdown report's picture of a two-lane connection, made in one pass over its rows.

The report draws every frame of a load test twice: as a line of the text ladder
(:func:`katui.report.ladder_text.ladder_lines`) and, when it says something, as an arrow of the
Mermaid diagram (:func:`katui.report.mermaid.sequence_diagram`). This writes both from the frame
table's columns, with no :class:`~katui.report.ladder.FrameLine` per frame, and the same text:
a frame's lane arrow and diagram arrow depend only on its direction, flags and length, which a
load test repeats, so each is made once per writer.
"""

from __future__ import annotations

try:
    import cython
except ImportError:  # the interpreted build without Cython installed
    import katui.model._cython as cython

from katui.model import FIN, RST, SYN, Connection
from katui.report.ladder import Note, _with_notes, flag_text
from katui.report.ladder_text import _arrow, note_text
from katui.report.mermaid import MAX_MESSAGES, _note, mermaid_text
from katui.tls.verdicts import normal_reset
from katui.units import EXACT_NS

MAX_CACHED = 4096
"""Arrow pieces kept per writer (a hostile capture may make every frame's different)."""
_SLOT_BITS = 10
ARROW_SLOTS = 1 << _SLOT_BITS
"""Lane arrows a :class:`TwoLanes` finds by their key in C, before its dict (compiled)."""
_MIX = 0x9E3779B97F4A7C15
"""2**64 over the golden ratio: a key times this, its top bits are its slot (Fibonacci
hashing: keys that differ only in their length's low bits fall in different slots)."""
_DRAWN = SYN | FIN | RST
"""Flags that put a frame without an HTTP label into the diagram."""


_SECTION = "       ├── "
"""What a section note's ladder line starts with (:func:`~katui.report.ladder_text.note_text`)."""
_NOTE_OVER = "    Note over C,S: "
"""What a two-lane diagram's note starts with (:func:`~katui.report.mermaid._note`)."""
_NEAR = 1 << 62
"""Timestamps (ns) within this of 0 are subtracted in C: their differences fit 64 bits."""
_SHORT_NS = EXACT_NS
"""Below this a time's microseconds are found exactly with integers (see ``EXACT_NS``)."""


_SPACED3 = "".join(f"{k:3d}" for k in range(1000)).encode()
_PADDED3 = "".join(f"{k:03d}" for k in range(1000)).encode()
"""The same, as one string of bytes each (three bytes a number), for :class:`Lines`."""
_SPACED = tuple(f"{k:3d}" for k in range(1000))
_PADDED = tuple(f"{k:03d}" for k in range(1000))
"""Three digits of a number: space-padded (its first ones) and zero-padded (the others)."""


def _mermaid_plain(text: str) -> bool:
    """True when :func:`_mermaid` leaves ``text`` as it is (a C loop over its characters)."""
    for ch in text:
        if ch in '#;<>`"{}|%':  # mermaid's _ENTITY (a literal: compiled, a C switch)
            return False
    return True


def _plain_label(label: str, drawing: bool) -> bool:
    """True when :meth:`TwoLanes._label_lines` of ``label`` (not empty) is the lane arrow
    followed by it as it is (nothing to strip at its end), and the diagram's arrow too (no
    Mermaid entity, or no diagram)."""
    return not label[len(label) - 1].isspace() and (not drawing or _mermaid_plain(label))


def _mermaid(text: str) -> str:
    """:func:`~katui.report.mermaid.mermaid_text` of ``text``, with no Python call for the
    text it leaves as it is (most): compiled, its characters are tested in a C loop, not by a
    regular expression's search (a load test's notes are unique: each one is searched)."""
    for ch in text:
        if ch in '#;<>`"{}|%':  # mermaid's _ENTITY (a literal: compiled, a C switch)
            return mermaid_text(text)
    return text


def stamped(frame: int, ns: int, tail: str) -> str:
    """``f"{frame:6d} {ns / 1e9:11.6f}{tail}"`` (a ladder line: frame, time, the rest), made
    with integers where that is the same text and as one string (fast in C): below
    :data:`_SHORT_NS` a double is exact to well under a nanosecond, so only a time halfway
    between two microseconds can round differently and takes the float. Below a million
    frames and 1000 s (most captures), the digits are looked up three at a time."""
    if 0 <= ns < _SHORT_NS and ns % 1000 != 500:
        us = (ns + 500) // 1000
        sec, frac = us // 1_000_000, us % 1_000_000
        if 0 <= frame < 1_000_000 and sec < 1000:
            high = frame // 1000
            if high:  # one string made, not the number's first
                return (f"{_SPACED[high]}{_PADDED[frame % 1000]}  {_SPACED[sec]}."
                        f"{_PADDED[frac // 1000]}{_PADDED[frac % 1000]}{tail}")  # fmt: skip
            return f"   {_SPACED[frame]}  {_SPACED[sec]}.{_PADDED[frac // 1000]}{_PADDED[frac % 1000]}{tail}"
        return f"{frame:6d} {sec:4d}.{frac:06d}{tail}"
    return f"{frame:6d} {ns / 1e9:11.6f}{tail}"


def _three(dst, table: bytes, k: int) -> None:
    """Compiled: the three characters of ``k`` (0 <= k < 1000) in ``table`` (a C function the
    compiler inlines: a ladder line's stamp is six of these)."""
    src = cython.cast("const char *", table) + 3 * k
    dst[0], dst[1], dst[2] = src[0], src[1], src[2]


class Lines:
    """Text lines added one at a time and read back as one string (or its UTF-8), joined by
    newlines.

    Compiled, each line is written as UTF-8 into one buffer (a bytearray reused from one
    connection to the next; a string's UTF-8 is kept in it by Python, so a repeated lane
    arrow is copied, not encoded again) and the string or bytes are made once: no string per
    line, as the Markdown report would otherwise make for every frame it draws, then join,
    then encode into the file. Interpreted, the lines are kept in a list and joined."""

    __slots__ = ("_parts", "_line", "_buf", "_n", "_odd", "count")

    def __init__(self) -> None:
        self._parts: list[str] = []
        self._line: list[str] = []  # interpreted: the pieces :meth:`write` put on the current line
        self._buf = bytearray()
        self._n = 0  # bytes in the buffer (compiled)
        self._odd = False  # compiled: a line held a lone surrogate (see _put)
        self.count = 0
        """Lines added since the last :meth:`clear`."""

    def clear(self) -> None:
        """Forget the lines (the buffer's room is kept)."""
        self._parts.clear()
        self._line.clear()
        self._n = 0
        self._odd = False
        self.count = 0

    def _room(self, size: int) -> None:
        """Compiled: make room for ``size`` more bytes."""
        need = self._n + size
        if need > len(self._buf):
            PyByteArray_Resize(self._buf, max(need, 2 * len(self._buf), 4096))  # noqa: F821

    def _bytes(self, data, size: int) -> None:
        """Compiled: copy ``size`` bytes from ``data`` after the buffer's."""
        self._room(size)
        memcpy(PyByteArray_AS_STRING(self._buf) + self._n, data, size)  # noqa: F821
        self._n += size

    def _put(self, text: str) -> None:
        """Compiled: ``text``'s UTF-8 after the buffer's."""
        if type(text) is not str:  # the ASCII test below reads a str's fields
            raise TypeError(f"a line piece must be a str, not {type(text).__name__}")
        if PyUnicode_IS_COMPACT_ASCII(text):  # noqa: F821  (most lines: its characters are its UTF-8)
            self._bytes(cython.cast("const char *", PyUnicode_DATA(text)), PyUnicode_GET_LENGTH(text))  # noqa: F821
        else:
            self._put_utf8(text)

    def _put_utf8(self, text: str) -> None:
        """Compiled: :meth:`_put` of text with characters past ASCII."""
        size = 0
        try:
            data = PyUnicode_AsUTF8AndSize(text, cython.address(size))  # noqa: F821
        except UnicodeEncodeError:  # a lone surrogate: kept as such for text(); utf8() raises
            self._odd = True
            raw = text.encode("utf-8", "surrogatepass")
            self._bytes(cython.cast("const char *", raw), len(raw))
        else:
            self._bytes(data, size)

    def _char(self, ch: int) -> None:
        """Compiled: one ASCII character after the buffer's (room made by the caller)."""
        PyByteArray_AS_STRING(self._buf)[self._n] = ch  # noqa: F821
        self._n += 1

    def _number(self, value: int, width: int, fill: int) -> None:
        """Compiled: ``value`` (>= 0) in decimal, at least ``width`` characters, ``fill`` before
        its digits (room for 20 + width bytes made by the caller)."""
        digits = 1
        rest = value // 10
        while rest:
            digits += 1
            rest //= 10
        while width > digits:
            self._char(fill)
            width -= 1
        p = PyByteArray_AS_STRING(self._buf) + self._n  # noqa: F821
        self._n += digits
        while digits:
            digits -= 1
            p[digits] = 48 + value % 10
            value //= 10

    def add(self, line: str) -> None:
        """One line (without its newline)."""
        self.count += 1
        if cython.compiled:
            self._put(line)
            self._room(1)
            self._char(10)
        else:
            self._parts.append(line)

    def write(self, text: str) -> None:
        """``text`` at the end of the current line (one :meth:`end` finishes it): a line made
        of pieces is written as it is made, no string made for it."""
        if cython.compiled:
            self._put(text)
        else:
            self._line.append(text)

    def write_number(self, value: int) -> None:
        """:meth:`write` of ``str(value)``."""
        if cython.compiled and value >= 0:
            self._room(24)
            self._number(value, 1, 48)
        else:
            self.write(str(value))

    def end(self) -> None:
        """Finish the line :meth:`write` made."""
        self.count += 1
        if cython.compiled:
            self._room(1)
            self._char(10)
        else:
            self._parts.append("".join(self._line))
            self._line.clear()

    def frame_line(self, frame: int, ns: int, tail: str, width: int, label: str = "") -> None:
        """The line ``stamped(frame, ns, tail + label)[:width]`` (a ladder frame's number, time
        and the rest); compiled, its digits written straight into the buffer where
        :func:`stamped` takes integers, and ``tail`` and ``label`` after them (no string made
        of the two)."""
        if not cython.compiled or width < 32 or frame < 0 or not (0 <= ns < _SHORT_NS and ns % 1000 != 500):
            self.add(stamped(frame, ns, tail + label if label else tail)[:width])
            return
        self.count += 1
        us = (ns + 500) // 1000
        sec, frac = us // 1_000_000, us % 1_000_000
        start = self._n
        self._room(64)
        # f"{frame:6d} {sec:4d}.{frac:06d}", as stamped: below a million frames and 1000 s
        # three digits at a time from tables, straight into the buffer (18 characters).
        if frame < 1_000_000 and sec < 1000:
            p = PyByteArray_AS_STRING(self._buf) + self._n  # noqa: F821
            if frame >= 1000:
                _three(p, _SPACED3, frame // 1000)
                _three(p + 3, _PADDED3, frame % 1000)
            else:
                p[0] = p[1] = p[2] = 32
                _three(p + 3, _SPACED3, frame)
            p[6] = p[7] = 32
            _three(p + 8, _SPACED3, sec)
            p[11] = 46
            _three(p + 12, _PADDED3, frac // 1000)
            _three(p + 15, _PADDED3, frac % 1000)
            self._n += 18
        else:
            self._number(frame, 6, 32)
            self._char(32)
            self._number(sec, 4, 32)
            self._char(46)
            self._number(frac, 6, 48)
        room = width - (self._n - start)  # characters left for the tail (the stamp is ASCII)
        if room < 0:  # a frame number or time wider than the line: cut in Python
            self._n = start
            self.count -= 1
            self.add(stamped(frame, ns, tail + label if label else tail)[:width])
            return
        if len(tail) + len(label) <= room:
            self._put(tail)
            if label:
                self._put(label)
        else:
            rest = tail + label if label else tail
            self._put(rest[:room])
        self._room(1)
        self._char(10)

    def numbered(self, text: str, frame: int, label: str = "") -> None:
        """The line ``f"{text} (frame {frame})"`` (a diagram arrow), or
        ``f"{text}: {label} (frame {frame})"`` when there is a ``label``."""
        if not cython.compiled or frame < 0:
            self.add(f"{text}: {label} (frame {frame})" if label else f"{text} (frame {frame})")
            return
        self.count += 1
        self._put(text)
        if label:
            self._put(": ")
            self._put(label)
        self._put(" (frame ")
        self._room(24)
        self._number(frame, 1, 48)
        self._char(41)
        self._char(10)

    def text(self) -> str:
        """The lines joined by newlines."""
        if not cython.compiled:
            return "\n".join(self._parts)
        if not self._n:
            return ""
        # (surrogatepass: a lone surrogate written by _put reads back as itself)
        return PyUnicode_DecodeUTF8(PyByteArray_AS_STRING(self._buf), self._n - 1, b"surrogatepass")  # noqa: F821

    def utf8(self) -> bytes:
        """``text().encode()`` (raising as it does for a lone surrogate)."""
        if not cython.compiled or self._odd:
            return self.text().encode()
        if not self._n:
            return b""
        return PyBytes_FromStringAndSize(PyByteArray_AS_STRING(self._buf), self._n - 1)  # noqa: F821


class TwoLanes:
    """Draws connections (two lanes: client and server) as the text ladder's lines and the
    Mermaid diagram's body; one per report, so the arrow pieces are shared by its connections."""

    __slots__ = ("_base", "_body", "_dirs", "_first", "_flags", "_frame_notes", "_label_drawn",
                 "_label_texts", "_labeled", "_ladder", "_near", "_notes", "_pieces", "_plen",
                 "_problem_sections", "_sections", "_slot_pieces", "_table", "_ts", "width")  # fmt: skip

    def __init__(self, width: int) -> None:
        self.width = width
        """Ladder lines are cut to this many columns."""
        self._pieces: dict[int, tuple[str, str, bool, str]] = {}
        self._notes: dict[tuple, tuple[str, str]] = {}
        self._sections: dict[str, tuple[str, str]] = {}
        self._problem_sections: dict[str, tuple[str, str]] = {}
        self._labeled: dict[tuple, tuple[str, str]] = {}
        # The capture's first timestamp (set by draw), and whether it is within 2**62 of 0:
        # then it is also the base of the integer times.
        self._first = 0
        self._near = True
        self._base = 0
        self._ladder, self._body = Lines(), Lines()  # refilled by each draw
        # Compiled: the arrows of the last keys seen, in ARROW_SLOTS slots by a hash of the key
        # (0 marks an empty slot, a key is kept plus one), looked up before the dict. The
        # synthetic capture's 200k frames make 1,666 keys (its lengths repeat across
        # connections): 16 slots kept its ACKs, and most data frames went to the dict.
        self._slot_pieces = [None] * ARROW_SLOTS
        # Compiled: the same for a labelled frame's lines, by its key and label (the label
        # object itself: a load test's come from one cache).
        self._label_texts = [None] * 16
        self._label_drawn = [None] * 16
        self._table = None  # the frame table whose columns are kept below
        self._ts = self._flags = self._dirs = self._plen = self._frame_notes = None

    def _line(self, out: Lines, frame: int, stamp: int, tail: str, label: str = "") -> None:
        """Add to ``out`` the ladder line of ``frame``, sent at ``stamp``: its number, its time
        since the capture start, ``tail`` and ``label``, cut to the width."""
        # Times since the capture start are made in 64-bit C integers when no difference can
        # overflow; a hostile capture's far-off timestamps take Python ints.
        if self._near and -_NEAR < stamp < _NEAR:
            out.frame_line(frame, stamp - self._base, tail, self.width, label)
        else:
            out.add(f"{frame:6d} {(stamp - self._first) / 1e9:11.6f}{tail}{label}"[: self.width])

    def _piece(self, key: int, fl: int, c2s: bool, length: int) -> tuple[str, str, bool, str]:
        # (lane arrow between the bars, diagram arrow up to its label, drawn without a label,
        # the lanes with nothing after them)
        flags = flag_text(fl)
        size = f" {length}" if length else ""
        sender, receiver = ("C", "S") if c2s else ("S", "C")
        arrow = "-x" if fl & RST else ("->>" if c2s else "-->>")
        lanes = f" │{_arrow(c2s, flags, length, 24)}│ "
        piece = (
            lanes,
            f"    {sender}{arrow}{receiver}: {flags}{size}",
            bool(fl & _DRAWN),
            lanes.rstrip(),
        )
        if len(self._pieces) < MAX_CACHED and fl < 256:
            self._pieces[key] = piece
        return piece

    def _note_lines(self, row: Note) -> tuple[str, str]:
        # (ladder line, diagram line) of a note: neither shows its frame, and a load test
        # repeats its section notes ("request 1", the teardown) in every connection.
        note = cython.cast(tuple, row)  # a Note read as a tuple: its fields unpacked in C (as a
        kind, text, _, problem, duration, waiting = note  # tuple subclass, by an iterator)
        # A section's lines depend on its text and problem mark only: kept by its text.
        plain = kind == "section" and not duration and not waiting
        if plain:
            notes = self._problem_sections if problem else self._sections
            key = text
        else:
            notes = self._notes
            key = (kind, text, problem, duration, waiting)
        drawn = notes.get(key)
        if drawn is None:
            if kind == "section":  # note_text and _note of a section, made here: most are
                # unique (the handshake's names the stream it replaces), drawn once each
                mark = "✖ " if problem and "✖" not in text else ""
                line = f"       ├── {text}".rstrip()[: self.width]
                drawn = (line, f"    Note over C,S: {_mermaid(mark + text)}")
            else:
                drawn = (note_text(row).rstrip()[: self.width], _note(row))
            if len(notes) < MAX_CACHED:
                notes[key] = drawn
        return drawn

    def _section_note(self, row: Note, lines: Lines, body: Lines, drawing: bool) -> bool:
        """Write a section note's ladder line (and diagram note when ``drawing``) a piece at a
        time, as :meth:`_note_lines` makes them, when its text needs neither cutting, stripping
        nor Mermaid entities (most: a load test's are unique, so no cache would keep them);
        False (nothing written) otherwise."""
        note = cython.cast(tuple, row)  # a Note read as a tuple: its fields unpacked in C (as a
        kind, text, _, problem, duration, waiting = note  # tuple subclass, by an iterator)
        if kind != "section" or duration or waiting or not text:
            return False
        if len(text) > self.width - len(_SECTION) or text[len(text) - 1].isspace():
            return False
        if drawing and not _mermaid_plain(text):
            return False
        lines.write(_SECTION)
        lines.write(text)
        lines.end()
        if drawing:
            body.write(_NOTE_OVER)
            if problem and "✖" not in text:
                body.write("✖ ")
            body.write(text)
            body.end()
        return True

    def _label_lines(self, key: int, piece: tuple, label: str) -> tuple[str, str]:
        # (ladder line after the time, diagram arrow before the frame) of a frame completing
        # an HTTP message: a load test repeats its labels in every connection.
        drawn = ((piece[0] + label).rstrip(), f"{piece[1]}: {_mermaid(label)}")
        if len(self._labeled) < MAX_CACHED:
            self._labeled[(key, label)] = drawn
        return drawn

    def draw(
        self, analysis, conn: Connection, rows: list, labels: dict[int, str]
    ) -> tuple[list[str], list[str] | None]:
        """(ladder lines after the heading, diagram body or None when too big) of ``rows``
        (from :func:`katui.report.ladder.ladder_rows`, no backend lane): what
        ``ladder_lines(drawn=...)`` and ``sequence_diagram(drawn=...)`` write of
        ``drawn_rows(analysis, conn, rows, labels)``. (Lines hold no newline.)"""
        ladder, body = self.draw_text(analysis, conn, rows, labels)
        return (
            ladder.split("\n") if rows else [],
            None if body is None else body.split("\n") if body else [],
        )

    def draw_text(self, analysis, conn: Connection, rows: list, labels: dict) -> tuple[str, str | None]:
        """:meth:`draw`'s lines, each joined by newlines into one string (the ladder's is empty
        for no rows, as is the body's for a diagram without arrows)."""
        drawing = self._fill(analysis, conn, rows, labels)
        return self._ladder.text(), self._body.text() if drawing else None

    def draw_utf8(self, analysis, conn: Connection, rows: list, labels: dict) -> tuple[bytes, bytes | None]:
        """The UTF-8 of :meth:`draw_text`'s strings (what the Markdown report writes to a file)."""
        drawing = self._fill(analysis, conn, rows, labels)
        return self._ladder.utf8(), self._body.utf8() if drawing else None

    def _fill(self, analysis, conn: Connection, rows: list, labels: dict) -> bool:
        """Draw ``rows`` into the ladder's and the diagram's :class:`Lines`; False when the
        diagram is too big to draw."""
        t, first, cache = analysis.table, analysis.first_ns, self._pieces
        if t is not self._table:  # its columns, typed once per frame table (not per connection)
            self._table, self._ts, self._flags, self._dirs = t, t.ts, t.flags, t.dir
            self._plen, self._frame_notes = t.plen, t.notes
        ts, flags, dirs, plen, notes = self._ts, self._flags, self._dirs, self._plen, self._frame_notes
        self._first, self._near = first, -_NEAR < first < _NEAR
        self._base = first if self._near else 0
        tls_notify = conn.tls.close_notify if conn.tls is not None else None
        lines, body = self._ladder, self._body
        lines.clear()
        body.clear()
        drawing = True  # False once the diagram is too big
        messages = 0
        for row in rows:
            if not isinstance(row, int):  # a Note (a frame's row is its number)
                if not self._section_note(row, lines, body, drawing):
                    line, note = self._note_lines(row)
                    lines.add(line)
                    if drawing:
                        body.add(note)
                continue
            i = row  # (compiled: the number read into a C integer, then C arithmetic: no
            i -= 1  # Python int made for row - 1 at every frame)
            fl, length, way = flags[i], plen[i], dirs[i]
            key = length << 9 | fl << 1 | way  # one number per (length, flags byte, direction)
            piece = None
            if fl < 256:
                if cython.compiled:  # a few arrows make most frames: a C look-up first
                    slot = (key * _MIX) >> (64 - _SLOT_BITS)  # (C: the product wraps at 64 bits)
                    if self._slot_keys[slot] == key + 1:
                        piece = self._slot_pieces[slot]
                    else:
                        piece = cache.get(key)
                        if piece is not None:
                            self._slot_keys[slot] = key + 1
                            self._slot_pieces[slot] = piece
                else:
                    piece = cache.get(key)
            if piece is None:
                piece = self._piece(key, fl, way == 0, length)
            stamp = ts[i]
            label = labels.get(row)
            if label is None and not notes[i] and not fl & RST:  # most frames: lanes only
                self._line(lines, i + 1, stamp, piece[3])
                if drawing and piece[2]:
                    messages += 1
                    if messages > MAX_MESSAGES:
                        drawing = False
                    else:
                        body.numbered(piece[1], i + 1)
                continue
            if label and not notes[i] and not fl & RST:  # a message's frame: cached by its label
                drawn = None
                if cython.compiled:  # the same label object on the same arrow: a C look-up first
                    slot = (key ^ key >> 9 ^ len(label) * 7) & 15
                    if self._label_keys[slot] == key + 1 and self._label_texts[slot] is label:
                        drawn = self._label_drawn[slot]
                if drawn is None:
                    drawn = self._labeled.get((key, label))
                    if drawn is None and len(self._labeled) >= MAX_CACHED and _plain_label(label, drawing):
                        # The cache is full (a capture's unique URIs): its lines written from
                        # their pieces, as _label_lines makes them, no string made.
                        self._line(lines, i + 1, stamp, piece[0], label)
                        if drawing:
                            messages += 1
                            if messages > MAX_MESSAGES:
                                drawing = False
                            else:
                                body.numbered(piece[1], i + 1, label)
                        continue
                    if drawn is None:
                        drawn = self._label_lines(key, piece, label)
                    if cython.compiled:
                        self._label_keys[slot] = key + 1
                        self._label_texts[slot] = label
                        self._label_drawn[slot] = drawn
                self._line(lines, i + 1, stamp, drawn[0])
                if drawing:
                    messages += 1
                    if messages > MAX_MESSAGES:
                        drawing = False
                    else:
                        body.numbered(drawn[1], i + 1)
                continue
            label = label or ""
            if notes[i]:
                label = _with_notes(label, notes[i])
            problem = fl & RST
            if problem and tls_notify is not None and normal_reset(conn.close, tls_notify, row, way == 0):
                problem, label = 0, f"{label} normal ending (close_notify unread)".strip()
            # The line ends with the label, not with the frame and time: rstrip() the tail.
            tail = piece[0] + ("✖ reset " if problem else "") + label
            self._line(lines, i + 1, stamp, tail.rstrip())
            if drawing and (label or piece[2]):
                messages += 1
                if messages > MAX_MESSAGES:
                    drawing = False
                elif label:
                    body.numbered(f"{piece[1]}: {_mermaid(label)}", i + 1)
                else:
                    body.numbered(piece[1], i + 1)
        return drawing
