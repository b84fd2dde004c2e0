"""The header lines of an HTTP/1.x head, read in place (:func:`read_headers`): a line's name is
recognised by its length and first letter without a string made for it, and the values that
repeat from message to message (a client's Host, a server's name) are found again by comparing
their bytes (:func:`recall`), not by copying and hashing them.

Compiled (``lines.pxd``), the helpers read the head through a pointer after one bounds check;
interpreted, the same code indexes the bytes (a few take a shorter way there, noted), and the
lines are found by a regular expression (:func:`read_headers`' ``in_place``).
"""

from __future__ import annotations

import re

try:
    import cython
except ImportError:  # the interpreted build without Cython installed
    import katui.model._cython as cython

from katui.http.trace import MAX_TRACE_LINES, TRACE_HEADERS, parse_trace
from katui.textsafe import capture_text

MAX_CONTENT_LENGTH = 1 << 62

_INTERNED: dict[bytes, str] = {}


def _text(raw: bytes, limit: int) -> str:
    """A header value's first ``limit`` bytes as :func:`katui.textsafe.capture_text` reads
    them (UTF-8 where valid, a stray byte as its lone surrogate, shown ``\\xNN``), as request
    targets and HTTP/2 values are: a Host or Server header read as Latin-1 showed UTF-8 as
    mojibake (``cafÃ©``) beside the same name read right from an HTTP/2 ``:authority``."""
    return capture_text(raw[:limit])


def common(raw: bytes, limit: int) -> str:
    """Decode a value that repeats across messages (version, method, reason, Connection) once.

    Hundreds of thousands of messages share a handful of these strings; sharing one object per
    distinct value keeps memory proportional to connections, not to messages.
    """
    raw = raw[:limit]  # keyed by what is kept: the same bytes read with a smaller limit differ
    got = _INTERNED.get(raw)
    if got is None:
        got = _text(raw, limit)
        if len(_INTERNED) < 4096:
            _INTERNED[raw] = got
    return got


def find_byte(b: bytes, c: int, start: int, stop: int) -> int:
    """``b.find(c, start, stop)`` for 0 <= start <= stop <= len(b): the first byte ``c`` there, or
    -1; compiled, memchr."""
    if not cython.compiled or not 0 <= start <= stop <= len(b):
        return b.find(c, start, stop)
    p = b  # compiled: a pointer to the bytes (lines.pxd)
    hit = cython.cast("const unsigned char *", memchr(p + start, c, stop - start))  # noqa: F821
    return -1 if hit == cython.NULL else hit - p


def part(b: bytes, start: int, stop: int) -> bytes:
    """``b[start:stop]`` for 0 <= start <= stop <= len(b); compiled, copied out directly (no
    slice object, no int objects for its ends)."""
    if cython.compiled and 0 <= start <= stop <= len(b):
        return PyBytes_FromStringAndSize(cython.cast("const char *", b) + start, stop - start)  # noqa: F821
    return b[start:stop]


def same(b: bytes, start: int, stop: int, other: bytes) -> bool:
    """``b[start:stop] == other``; compiled, compared in place."""
    if cython.compiled and 0 <= start <= stop <= len(b):
        n, p, q = stop - start, b, other  # compiled: pointers to the bytes (lines.pxd)
        return n == len(other) and memcmp(p + start, q, n) == 0  # noqa: F821 - cimported by lines.pxd
    return b[start:stop] == other


SLOTS = 1024
"""Values :func:`recall` remembers (a power of two)."""
_SLOTS_C = SLOTS  # the same as a C integer (lines.pxd)
MAX_SLOT_VALUE = 256
"""Longest value :func:`keep` remembers (a hostile head's long values are read each time)."""
_SLOTS: list = [None] * SLOTS
"""[a mix of a value's length, some of its bytes and its use]: (its bytes, use, what was read
from them), for :func:`recall`."""
_STRIP, _LOWER = 1, 2
""":func:`common_at`'s ``how``: ASCII whitespace stripped off the ends; lower-cased."""


def _slot(b: bytes, start: int, stop: int, use: int) -> int:
    """Where in :data:`_SLOTS` ``b[start:stop]`` read for ``use`` is remembered, or -1 when it
    is too long to be."""
    if not 0 <= start <= stop <= len(b):
        raise IndexError("a value outside its head")
    p, n = b, stop - start  # compiled: a pointer to the bytes (lines.pxd)
    if n > MAX_SLOT_VALUE:
        return -1
    h = n * 59 + use * 2533
    if n:
        h += p[start] * 499 + p[stop - 1] * 2001 + p[start + n // 2] * 713
    return (h ^ (h >> 10)) & (_SLOTS_C - 1)


_SEEN: dict = {}
"""Interpreted, :func:`recall`'s memory instead of :data:`_SLOTS`: (use, bytes) -> what was read
from them (a dict lookup beats a slot found and compared in Python)."""


def _key(b: bytes, start: int, stop: int, use: int) -> tuple | None:
    """The key of ``b[start:stop]`` read for ``use`` in :data:`_SEEN`, or None when it is too
    long to be remembered."""
    if not 0 <= start <= stop <= len(b):
        raise IndexError("a value outside its head")
    return (use, b[start:stop]) if stop - start <= MAX_SLOT_VALUE else None


def recall(b: bytes, start: int, stop: int, use: int):
    """What :func:`keep` kept for the bytes ``b[start:stop]`` and ``use``, or None: a value
    read again (a client's Host, a server's name, a status line) is found by comparing bytes
    in place, not by copying and hashing them. ``use`` says what the bytes were read as:
    :func:`common_at`'s are its limit * 4 + how (32 and up); a caller's own, below 8."""
    if not cython.compiled:
        key = _key(b, start, stop, use)
        return None if key is None else _SEEN.get(key)
    slot = _slot(b, start, stop, use)
    got = _SLOTS[slot] if slot >= 0 else None
    if got is None:
        return None
    seen, seen_use = got[0], got[1]
    return got[2] if seen_use == use and same(b, start, stop, seen) else None


def keep(b: bytes, start: int, stop: int, use: int, value) -> None:
    """Remember ``value`` as what ``b[start:stop]`` says for ``use`` (in place of what shared
    its slot)."""
    if not cython.compiled:
        key = _key(b, start, stop, use)
        if key is not None:
            if len(_SEEN) >= SLOTS:
                _SEEN.clear()
            _SEEN[key] = value
        return
    slot = _slot(b, start, stop, use)
    if slot >= 0:
        _SLOTS[slot] = (part(b, start, stop), use, value)


def common_at(b: bytes, start: int, stop: int, limit: int, how: int) -> str:
    """:func:`common` of ``b[start:stop]`` (``how``: stripped, lower-cased first)."""
    if not 0 <= start <= stop <= len(b):
        raise IndexError("a value outside its head")
    if not cython.compiled:  # interpreted, the dict of :func:`common` beats slots read in Python
        raw = b[start:stop].strip() if how & _STRIP else b[start:stop]
        return common(raw.lower() if how & _LOWER else raw, limit)
    p = b  # compiled: a pointer to the bytes (lines.pxd)
    if how & _STRIP:
        while start < stop and p[start] in (32, 9, 10, 11, 12, 13):
            start += 1
        while stop > start and p[stop - 1] in (32, 9, 10, 11, 12, 13):
            stop -= 1
    use = limit * 4 + how
    text = recall(b, start, stop, use)
    if text is None:
        raw = part(b, start, stop)
        text = common(raw.lower() if how & _LOWER else raw, limit)
        keep(b, start, stop, use, text)
    return text


def _name_kind(b: bytes, start: int, stop: int) -> int:
    """Which of :data:`_NAMES` ``b[start:stop]`` is, ASCII letters in any case, or -1.

    Its length and first letter pick the one name it can be (:data:`_SHAPES`), compared in
    place: most lines name a header katui never reads, and no string is made for them."""
    n = stop - start
    if n <= 0 or n >= _SHAPE_LENGTHS or start < 0 or stop > len(b):
        return -1
    p = b  # compiled: a pointer to the bytes (lines.pxd)
    kind = _SHAPES[n * 32 + (p[start] & 31)] - 1
    if kind < 0:
        return -1
    q = _NAMES[kind]  # compiled: a pointer to its bytes (n of them, by its shape)
    if not cython.compiled:  # interpreted, one comparison of a copy beats a loop over bytes
        return kind if b[start:stop].lower() == q else -1
    i = 0
    while i < n:
        c = p[start + i]
        if 65 <= c <= 90:  # A-Z: compared as a-z
            c += 32
        if c != q[i]:
            return -1
        i += 1
    return kind


_NAMES = (b"content-length", b"transfer-encoding", b"connection", b"keep-alive", b"host",
          b"user-agent", b"server", b"via") + TRACE_HEADERS  # fmt: skip
"""The header names :func:`read_headers` reads (lower case); a line's name is its index here."""
_LENGTH, _ENCODING, _CONNECTION, _KEEP_ALIVE, _HOST, _USER_AGENT, _SERVER, _VIA, _TRACE = range(9)
VIA = "Via: "
"""What a response's software starts with when it names the proxy of a ``Via`` header rather
than a ``Server`` (:func:`read_headers`)."""
_SHAPE_LENGTHS = 32
"""Names are shorter than this."""


def _shapes() -> bytes:
    """[length * 32 + first byte % 32]: 1 + the kind of the one name of :data:`_NAMES` with
    that length and first letter, 0 for none (no two names share both)."""
    table = bytearray(_SHAPE_LENGTHS * 32)
    for kind, name in enumerate(_NAMES):
        at = len(name) * 32 + (name[0] & 31)
        if table[at] or len(name) >= _SHAPE_LENGTHS:
            raise ValueError(f"header name {name!r} shares its shape with another")
        table[at] = kind + 1
    return bytes(table)


_SHAPES = _shapes()
_FIRSTS = bytes(1 if 97 <= c | 32 <= 122 and any(n[0] == c | 32 for n in _NAMES) else 0 for c in range(256))
"""[byte]: 1 when a name of :data:`_NAMES` starts with that letter (in either case)."""


def _length(val: bytes) -> int | None:
    """A Content-Length value (the first of a list), None when it is no valid length."""
    try:
        n = int(val.split(b",")[0])
    except ValueError:
        return None
    # A hostile length past 64 bits means "the rest of the stream": keep it storable.
    return min(n, MAX_CONTENT_LENGTH) if n >= 0 else None


def _length_at(b: bytes, start: int, stop: int) -> int | None:
    """:func:`_length` of ``b[start:stop]``; plain digits (the usual value) read in place."""
    if not cython.compiled:  # interpreted, int() of a copy beats a loop over its digits
        return _length(b[start:stop])
    n = 0
    k = start
    while k < stop and k - start < 18 and 48 <= b[k] <= 57:
        n = n * 10 + (b[k] - 48)
        k += 1
    if k > start and (k == stop or b[k] == 44):  # up to 18 digits, then the end or a comma
        return n
    return _length(part(b, start, stop))


_LINES = re.compile(rb"\n(" + b"|".join(_NAMES) + rb")[ \t]*:[ \t]*([^\r\n]*)", re.IGNORECASE)
"""The header lines :func:`read_headers` reads, name and value (not ``in_place``)."""
_KINDS = {name: kind for kind, name in enumerate(_NAMES)}
"""[lower-case name]: its index in :data:`_NAMES`."""


def read_headers(head: bytes, pos: int, is_request: bool, in_place: bool) -> tuple:
    """(connection, keep-alive, content length, chunked, host, software, trace) of the header
    lines after the LF at ``head[pos]`` (none when ``pos`` is -1). ``software`` is a request's
    User-Agent, a response's Server, or for a response with a Via header, ``Via: `` and that
    value (the last Via line's).

    A line is read when its name (up to its first colon, spaces and tabs before that colon
    left out) is one of :data:`_NAMES`; its value runs from after the colon and its spaces and
    tabs to the first CR or LF. The first valid Content-Length counts, the last of the others.

    ``in_place`` (compiled): the lines are found by a loop over the bytes, in C. Else (what
    the interpreted build does, where one call into C beats a Python loop over each line) a
    regular expression finds them (:data:`_LINES`). Both ways read the same (a test holds them
    equal in both builds).
    """
    conn = ka = clen = None
    chunked = False
    host = software = via = ""
    trace_lines: list[tuple[bytes, bytes]] | None = None  # made for the few heads that have any
    n = len(head)
    found = None if in_place or pos < 0 else _LINES.findall(head, pos)
    k = 0
    b = head  # where the value is: the head, or (found) a copy of the value alone
    while pos >= 0:
        if found is not None:
            if k == len(found):
                break
            name, b = found[k]
            k += 1
            kind, v, stop = _KINDS[name.lower()], 0, len(b)
        else:
            line = pos + 1
            pos = find_byte(head, 10, line, n)
            end = n if pos < 0 else pos
            if line == end or not _FIRSTS[head[line]]:  # no name read here starts so
                continue
            colon = find_byte(head, 58, line, end)
            if colon < 0:
                continue
            name_end = colon
            while name_end > line and head[name_end - 1] in (32, 9):
                name_end -= 1
            kind = _name_kind(head, line, name_end)
            if kind < 0:
                continue
            v = colon + 1
            while v < end and head[v] in (32, 9):
                v += 1
            cr = find_byte(head, 13, v, end)
            stop = end if cr < 0 else cr
        if kind == _LENGTH:
            if clen is None:
                clen = _length_at(b, v, stop)
        elif kind == _CONNECTION:
            conn = common_at(b, v, stop, 200, _STRIP | _LOWER)
        elif kind == _ENCODING:
            chunked = b"chunked" in part(b, v, stop).lower()
        elif kind == _KEEP_ALIVE:
            ka = common_at(b, v, stop, 200, _STRIP)
        elif kind == _HOST:
            if is_request:
                host = common_at(b, v, stop, 255, _STRIP)
        elif kind >= _TRACE:
            if is_request:
                if trace_lines is None:
                    trace_lines = [(_NAMES[kind], part(b, v, stop))]
                elif len(trace_lines) < MAX_TRACE_LINES:
                    trace_lines.append((_NAMES[kind], part(b, v, stop)))
        elif kind == _VIA:
            if not is_request:
                via = common_at(b, v, stop, 120, _STRIP)
        elif (kind == _SERVER) != is_request:  # User-Agent of requests, Server of responses
            software = common_at(b, v, stop, 120, _STRIP)
    if via:
        # A proxy that says so answered: the connection's peer is it (or one in front of it),
        # and a Server header it passed on names the origin, whose settings are not this
        # connection's (katui.analysis.software.server_software).
        software = VIA + via
    return conn, ka, clen, chunked, host, software, parse_trace(trace_lines) if trace_lines else None
