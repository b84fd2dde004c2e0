"""Search in follow stream (the TUI's less-like ``/``, ``?``, ``n``, ``N``): a pattern, where it is
in the connection's bytes, and the columns of each match on the lines shown.

Pure Python (no Textual). The search runs over the bytes follow stream shows (the same segments,
at most :data:`katui.report.follow.LIMIT` of them) with ``bytes.find``, never over drawn lines:
lines are mapped to byte offsets once (an array), a match to its line by bisection, and columns
are worked out only for the lines on screen. A match never spans a change of direction (the end
of a request and the start of its response are not one text). TLS records, which are not the
stream's bytes, are searched as shown.
"""

from __future__ import annotations

import re
from array import array
from bisect import bisect_right
from itertools import accumulate
from typing import NamedTuple

from katui.report.follow import HEX_WIDE, Line, text_lines
from katui.textsafe import capture_text, safe_text


class Pattern(NamedTuple):
    """What a search looks for."""

    needle: bytes
    """The bytes to find (lower-cased when :attr:`fold`)."""
    fold: bool
    """ASCII letters match in either case."""
    what: str
    """The pattern in words, for the prompt and the notices (``text, any case``, ``bytes 0d 0a``)."""
    hex: bool = False
    """Typed as hex digits (in the hex view)."""


_HEX_PAIRS = re.compile(r"\s*(?:[0-9a-fA-F]{2}\s*)+")
_ESCAPES = re.compile(r"\\(?:x([0-9a-fA-F]{2})|u([0-9a-fA-F]{4})|(\\))")


def _unescape(m: re.Match) -> str:
    byte, char, backslash = m.groups()
    if byte is not None:  # a byte that was not text: the surrogate the view's decoding gives it
        code = int(byte, 16)
        return chr(code) if code < 0x80 else chr(0xDC00 + code)
    return chr(int(char, 16)) if char is not None else "\\"


def parse(text: str, hex_view: bool = False, as_shown: bool = False) -> Pattern | None:
    """``text`` as typed: literal text (UTF-8), except that the escapes the text view shows
    stand for what they show (``\\x1b`` a byte, ``\\u202e`` a character, ``\\\\`` a backslash),
    so that what is on screen, copied, finds itself; in the hex view a run of hex digit pairs
    (``0d0a0d0a``, ``0d 0a``) is bytes. Text matches ASCII letters in any case unless it has an
    upper-case letter (less's and vim's smart case); bytes match exactly. ``as_shown``: the
    lines are searched as shown (TLS records), the text as typed. None for no pattern."""
    if not text:
        return None
    if hex_view and not as_shown and _HEX_PAIRS.fullmatch(text):
        needle = bytes.fromhex(text)
        return Pattern(needle, False, "bytes " + needle.hex(" "), True)
    plain = text if as_shown else _ESCAPES.sub(_unescape, text)
    fold = not any(c.isupper() for c in plain)
    needle = plain.encode("utf-8", "surrogateescape")
    return Pattern(needle.lower() if fold else needle, fold, "text, any case" if fold else "text, exact case")


_WIDE = re.compile(r"[^\x20-\x5b\x5d-\x7e]")
"""A character the text view may show as more than one (an escape) or that is more than a byte."""
_NON_ASCII = re.compile(r"[^\x00-\x7f]")


def _columns(raw: bytes, cuts: list[tuple[int, bool]], escaped: bool) -> list[int]:
    """The column in a line's text of each (byte offset, is an end) of ``cuts``, sorted by
    offset; the line's text is ``safe_bytes(raw)`` (``escaped``) or ``raw`` as UTF-8. An offset
    inside a character (a byte sequence searched in the middle of one) is its start, or its end
    for an end."""
    text = capture_text(raw)
    out: list[int] = []
    k = byte = col = char = 0
    for m in [*(_WIDE if escaped else _NON_ASCII).finditer(text), None]:
        at = len(text) if m is None else m.start()
        plain_end = byte + at - char  # before it, printable ASCII: a byte is a column
        while k < len(cuts) and cuts[k][0] <= plain_end:
            out.append(col + cuts[k][0] - byte)
            k += 1
        col, byte, char = col + at - char, plain_end, at + 1
        if m is None:
            break
        ch = m.group()
        size = 1 if "\udc80" <= ch <= "\udcff" else len(ch.encode())
        width = len(safe_text(ch)) if escaped else 1
        while k < len(cuts) and cuts[k][0] < byte + size:
            out.append(col + width if cuts[k][1] and cuts[k][0] > byte else col)
            k += 1
        byte, col = byte + size, col + width
    return out + [col] * (len(cuts) - k)


class StreamIndex:
    """The bytes behind follow stream's lines: where each line starts, where each direction's
    run of bytes starts, and how a line shows its bytes (``text``, ``hex`` or ``shown``)."""

    def __init__(self, data: bytes, starts: array, runs: array, layout: str, per_line: int = HEX_WIDE):
        self.data, self.starts, self.runs = data, starts, runs
        self.layout, self.per_line = layout, per_line
        self._folded: bytes | None = None

    @classmethod
    def of_segments(cls, segments, hex_mode: bool, per_line: int = HEX_WIDE) -> StreamIndex:
        """For the lines :func:`katui.report.follow.follow_lines` makes of ``segments``."""
        parts, starts, runs, at, last = [], array("q"), array("q"), 0, None
        for _frame, c2s, data in segments:
            if c2s != last:
                runs.append(at)
                last = c2s
            if hex_mode:
                starts.extend(range(at, at + len(data), per_line))
            else:  # a line after each newline, as the text view splits them
                starts.extend(accumulate((len(p) + 1 for p in text_lines(data)[:-1]), initial=at))
            parts.append(data)
            at += len(data)
        return cls(b"".join(parts), starts, runs, "hex" if hex_mode else "text", per_line)

    @classmethod
    def of_lines(cls, lines: list[Line]) -> StreamIndex:
        """For lines searched as shown (TLS records): their text, a newline after each."""
        texts = [text.encode("utf-8", "surrogateescape") for _, _, text in lines]
        starts = array("q", accumulate((len(t) + 1 for t in texts[:-1]), initial=0) if texts else ())
        return cls(b"\n".join(texts), starts, array("q", [0]), "shown")

    def line_of(self, offset: int) -> int:
        """The line that shows byte ``offset`` (or ends with it, for a line's newline)."""
        return max(bisect_right(self.starts, offset) - 1, 0)

    def bounds(self, y: int) -> tuple[int, int, int]:
        """Line ``y``'s bytes: (start, end of what is shown, end with its line break)."""
        start = self.starts[y]
        after = self.starts[y + 1] if y + 1 < len(self.starts) else len(self.data)
        end = after
        if self.layout != "hex" and end > start and self.data[end - 1] == 0x0A:
            end -= 1
            if self.layout == "text" and end > start and self.data[end - 1] == 0x0D:
                end -= 1  # the view shows "\r\n" as a line break too
        return start, end, after

    def _hay(self, pattern: Pattern) -> bytes:
        if not pattern.fold:
            return self.data
        if self._folded is None:
            self._folded = self.data.lower()
        return self._folded

    def _splits(self, at: int, size: int) -> bool:
        """A match at ``at`` of ``size`` bytes would span two directions."""
        r = bisect_right(self.runs, at)
        return r < len(self.runs) and self.runs[r] < at + size

    def next_match(self, pattern: Pattern, at: int) -> int | None:
        """Where the first match starting at or after byte ``at`` starts."""
        hay, needle = self._hay(pattern), pattern.needle
        found = hay.find(needle, max(at, 0))
        while found >= 0 and self._splits(found, len(needle)):
            found = hay.find(needle, found + 1)
        return found if found >= 0 else None

    def previous_match(self, pattern: Pattern, before: int) -> int | None:
        """Where the last match starting before byte ``before`` starts."""
        hay, needle = self._hay(pattern), pattern.needle
        found = hay.rfind(needle, 0, before - 1 + len(needle)) if before > 0 else -1
        while found >= 0 and self._splits(found, len(needle)):
            found = hay.rfind(needle, 0, found - 1 + len(needle)) if found > 0 else -1
        return found if found >= 0 else None

    def count(self, pattern: Pattern) -> int:
        """Matches, each direction's bytes apart (not overlapping, as they are highlighted)."""
        hay, ends = self._hay(pattern), [*self.runs[1:], len(self.data)]
        return sum(hay.count(pattern.needle, a, b) for a, b in zip(self.runs, ends, strict=False))

    def matches_on(self, pattern: Pattern, y: int) -> list[int]:
        """Starts of the matches with a byte on line ``y`` (its line break included)."""
        start, _, after = self.bounds(y)
        out, found = [], self.next_match(pattern, start - len(pattern.needle) + 1)
        while found is not None and found < after:
            out.append(found)
            found = self.next_match(pattern, found + len(pattern.needle))
        return out

    def spans(self, pattern: Pattern, y: int) -> list[tuple[int, int, int]]:
        """(first column, column after, match start) of each piece of a match on line ``y``, in
        the line's text; a match of the line break covers one column past the text. A hex line
        has two pieces a match: its hex and its characters."""
        start, end, after = self.bounds(y)
        size = len(pattern.needle)
        pieces = [(at, max(at, start), min(at + size, after)) for at in self.matches_on(pattern, y)]
        if self.layout == "hex":
            chars = 11 + 3 * self.per_line  # offset, two spaces, the hex, two spaces
            hexed = [(10 + 3 * (a - start), 9 + 3 * (b - start), at) for at, a, b in pieces]
            return sorted(hexed + [(chars + a - start, chars + b - start, at) for at, a, b in pieces])
        firsts = [(min(a, end) - start, False) for _, a, _ in pieces]
        lasts = [(min(b, end) - start, True) for _, _, b in pieces]
        cuts = sorted(set(firsts + lasts))
        col = dict(zip(cuts, _columns(self.data[start:end], cuts, self.layout == "text"), strict=True))
        return [(col[f], col[last] + (b > end), at)
                for (at, _, b), f, last in zip(pieces, firsts, lasts, strict=True)]  # fmt: skip
