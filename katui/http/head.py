"""HTTP/1.x message heads: recognising a start line and reading the few headers keep-alive
analysis needs (:func:`parse_head`)."""

from __future__ import annotations

import re

try:
    import cython
except ImportError:  # the interpreted build without Cython installed
    import katui.model._cython as cython

from katui.http.trace import MAX_TRACE_LINES, TRACE_HEADERS, parse_trace
from katui.model import Head
from katui.textsafe import capture_text

METHODS = (
    b"GET", b"POST", b"HEAD", b"PUT", b"DELETE", b"OPTIONS", b"PATCH", b"CONNECT", b"TRACE",
    b"PROPFIND", b"PROPPATCH", b"MKCOL", b"COPY", b"MOVE", b"LOCK", b"UNLOCK", b"REPORT",
    b"SEARCH", b"PURGE", b"NOTIFY", b"SUBSCRIBE", b"UNSUBSCRIBE", b"M-SEARCH", b"MKACTIVITY",
    b"CHECKOUT", b"MERGE", b"BIND", b"UNBIND", b"REBIND", b"LINK", b"UNLINK", b"SOURCE",
)  # fmt: skip
_METHOD_SET = frozenset(METHODS)
_LONGEST_METHOD = max(len(m) for m in METHODS)
MAX_URI = 2048
MAX_CONTENT_LENGTH = 1 << 62

_RESP_LINE = re.compile(rb"HTTP/1\.[019] \d{3}[ \r\n]")
REQ_START = re.compile(rb"(?:^|\n)((?:" + b"|".join(METHODS) + rb") [^\r\n]+ HTTP/1\.[01]\r?\n)")
RESP_START = re.compile(rb"(?:^|\n)(HTTP/1\.[01] \d{3}[ \r\n])")


def looks_like_request(data: bytes) -> bool:
    """True when ``data`` (the first bytes of a direction) starts like an HTTP/1.x request."""
    sp = data.find(b" ", 0, 20)
    return sp > 0 and data[:sp] in _METHOD_SET


def looks_like_response(data: bytes) -> bool:
    """True when ``data`` starts like an HTTP/1.x status line."""
    return data.startswith(b"HTTP/1.")


def cut_start(data: bytes, is_request: bool) -> bool:
    """True when ``data`` begins a message start line (``GET `` / ``HTTP/1.1 200``)."""
    return looks_like_request(data) if is_request else _RESP_LINE.match(data + b"\n") is not None


def parse_cut_start(head: bytes, is_request: bool) -> Head | None:
    """A start line cut short by the snap length (``GET /images/sf.net_box.gif HTT``)."""
    if not is_request:
        m = re.match(rb"HTTP/1\.[01] (\d{3})", head)
        if m is None:
            return None
        return Head(_common(head[:8], 8), "", "", int(m.group(1)), "", None, None, None, False, "")
    parts = head.split(b"\r", 1)[0].split(b" ")
    if len(parts) < 2 or parts[0] not in METHODS:
        return None  # the target may be cut away entirely ('GET '): the request still counts
    return Head("HTTP/1.1", _common(parts[0], 20), target_text(parts[1]), 0, "", None, None, None, False, "")


_INTERNED: dict[bytes, str] = {}


def target_text(raw: bytes) -> str:
    """A request target (its first :data:`MAX_URI` bytes) as :func:`katui.textsafe.capture_text`
    reads capture bytes, as the detail pane and follow stream show them: UTF-8 where valid (a
    bidi override is then recognisable as one when escaped), a byte that is not UTF-8 kept as
    itself (shown ``\\xNN``; ``\\ufffd`` in JSON)."""
    return capture_text(raw[:MAX_URI])


def _target_at(b: bytes, start: int, stop: int) -> str:
    """:func:`target_text` of ``b[start:stop]``, decoded in place when compiled (the codec and
    error handler of :func:`katui.textsafe.capture_text`; a test holds the two equal)."""
    return b[start : min(stop, start + MAX_URI)].decode("utf-8", "surrogateescape")


def _text(raw: bytes, limit: int) -> str:
    return raw[:limit].decode("latin-1")


def _common(raw: bytes, limit: int) -> str:
    """Decode a value that repeats across messages (version, method, reason, Connection) once.

    Hundreds of thousands of messages share a handful of these strings; sharing one object per
    distinct value keeps memory proportional to connections, not to messages.
    """
    got = _INTERNED.get(raw)
    if got is None:
        got = _text(raw, limit)
        if len(_INTERNED) < 4096:
            _INTERNED[raw] = got
    return got


_NAMES = (b"content-length", b"transfer-encoding", b"connection", b"keep-alive", b"host",
          b"user-agent", b"server") + TRACE_HEADERS  # fmt: skip
"""The header names :func:`_headers` reads (lower case); a line's name is its index here."""
_LENGTH, _ENCODING, _CONNECTION, _KEEP_ALIVE, _HOST, _USER_AGENT, _SERVER, _TRACE = range(8)
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


MAX_CACHED_HEAD = 1024
"""Longest head :func:`scan_head` remembers."""
RECENT_HEADS = 8
"""Heads of each kind :func:`scan_head` remembers (a power of two)."""
_RECENT_C = RECENT_HEADS  # the same as a C integer (head.pxd)

_RECENT: tuple[list, list] = ([b""] * RECENT_HEADS, [b""] * RECENT_HEADS)
"""[is_request]: the last heads :func:`scan_head` read (a load test sends the same request again
and again, and its server the same response within a second), compared, not hashed: a head
that is new (most of a varied capture's) then costs no hash of its bytes."""
_RECENT_READ: tuple[list, list] = ([None] * RECENT_HEADS, [None] * RECENT_HEADS)
"""[is_request][i]: what :func:`scan_head` read from ``_RECENT[is_request][i]``."""
_NEXT = [0, 0]
"""[is_request]: where in :data:`_RECENT` the next head goes (the oldest's place)."""


def scan_head(head: bytes, is_request: bool) -> tuple | None:
    """What a head says, or None when it is not an HTTP/1.x head: ``(status, content length or
    None, chunked, URI, (version, method, reason, connection, keep-alive, host, software),
    trace)``, the row :meth:`katui.model.MessageStore.add_scanned` stores. Only the headers
    keep-alive analysis needs are read (and User-Agent / Server, which name the software).

    It is a function of the bytes alone, so a head byte-identical to a recent one (a load
    test's) is not read again: the result is immutable and shared.
    """
    k = 1 if is_request else 0
    heads, reads, nxt = _RECENT[k], _RECENT_READ[k], _NEXT[k]
    for j in range(1, _RECENT_C + 1):  # the newest first
        i = (nxt - j) & (_RECENT_C - 1)
        seen = heads[i]
        if head == seen:
            return reads[i]
    got = _scan(head, is_request)
    if got is not None and len(head) <= MAX_CACHED_HEAD:
        heads[nxt], reads[nxt] = head, got
        _NEXT[k] = (nxt + 1) & (_RECENT_C - 1)
    return got


def _find(b: bytes, sub: bytes, start: int) -> int:
    """``b.find(sub, start)``; compiled, a search in C (memchr for the first byte of ``sub``,
    then memcmp), not a Python method call with its arguments parsed."""
    if not cython.compiled or start < 0 or not sub:
        return b.find(sub, start)
    n, m, p, q = len(b), len(sub), b, sub  # compiled: pointers to the bytes (head.pxd)
    k = start
    while k + m <= n:
        hit = cython.cast("const unsigned char *", memchr(p + k, q[0], n - m + 1 - k))  # noqa: F821
        if hit == cython.NULL:
            return -1
        k = hit - p
        if memcmp(p + k, q, m) == 0:  # noqa: F821 - cimported by head.pxd
            return k
        k += 1
    return -1


def _find_byte(b: bytes, c: int, start: int, stop: int) -> int:
    """``b.find(c, start, stop)`` for 0 <= start <= stop <= len(b): the first byte ``c`` there, or
    -1; compiled, memchr."""
    if not cython.compiled or not 0 <= start <= stop <= len(b):
        return b.find(c, start, stop)
    p = b  # compiled: a pointer to the bytes (head.pxd)
    hit = cython.cast("const unsigned char *", memchr(p + start, c, stop - start))  # noqa: F821
    return -1 if hit == cython.NULL else hit - p


def _part(b: bytes, start: int, stop: int) -> bytes:
    """``b[start:stop]`` for 0 <= start <= stop <= len(b); compiled, copied out directly (no
    slice object, no int objects for its ends)."""
    if cython.compiled and 0 <= start <= stop <= len(b):
        return PyBytes_FromStringAndSize(cython.cast("const char *", b) + start, stop - start)  # noqa: F821
    return b[start:stop]


def _same(b: bytes, start: int, stop: int, other: bytes) -> bool:
    """``b[start:stop] == other``; compiled, compared in place."""
    if cython.compiled and 0 <= start <= stop <= len(b):
        n, p, q = stop - start, b, other  # compiled: pointers to the bytes (head.pxd)
        return n == len(other) and memcmp(p + start, q, n) == 0  # noqa: F821 - cimported by head.pxd
    return b[start:stop] == other


SLOTS = 1024
"""Values :func:`_recall` remembers (a power of two)."""
_SLOTS_C = SLOTS  # the same as a C integer (head.pxd)
MAX_SLOT_VALUE = 256
"""Longest value :func:`_keep` remembers (a hostile head's long values are read each time)."""
_SLOTS: list = [None] * SLOTS
"""[a mix of a value's length, some of its bytes and its use]: (its bytes, use, what was read
from them), for :func:`_recall`."""
_STATUS_USE, _METHOD_USE = 1, 2
"""The use of a status line's slot (version, status, reason) and a request method's (its
text); a value's is its :func:`_common_at` limit and ``how``."""
_STRIP, _LOWER = 1, 2
""":func:`_common_at`'s ``how``: ASCII whitespace stripped off the ends; lower-cased."""


def _slot(b: bytes, start: int, stop: int, use: int) -> int:
    """Where in :data:`_SLOTS` ``b[start:stop]`` read for ``use`` is remembered, or -1 when it
    is too long to be."""
    if not 0 <= start <= stop <= len(b):
        raise IndexError("a value outside its head")
    p, n = b, stop - start  # compiled: a pointer to the bytes (head.pxd)
    if n > MAX_SLOT_VALUE:
        return -1
    h = n * 59 + use * 2533
    if n:
        h += p[start] * 499 + p[stop - 1] * 2001 + p[start + n // 2] * 713
    return (h ^ (h >> 10)) & (_SLOTS_C - 1)


def _recall(b: bytes, start: int, stop: int, use: int):
    """What :func:`_keep` kept for the bytes ``b[start:stop]`` and ``use``, or None: a value
    read again (a client's Host, a server's name, a status line) is found by comparing bytes
    in place, not by copying and hashing them."""
    slot = _slot(b, start, stop, use)
    got = _SLOTS[slot] if slot >= 0 else None
    if got is None:
        return None
    seen, seen_use = got[0], got[1]
    return got[2] if seen_use == use and _same(b, start, stop, seen) else None


def _keep(b: bytes, start: int, stop: int, use: int, value) -> None:
    """Remember ``value`` as what ``b[start:stop]`` says for ``use`` (in place of what shared
    its slot)."""
    slot = _slot(b, start, stop, use)
    if slot >= 0:
        _SLOTS[slot] = (_part(b, start, stop), use, value)


def _common_at(b: bytes, start: int, stop: int, limit: int, how: int) -> str:
    """:func:`_common` of ``b[start:stop]`` (``how``: stripped, lower-cased first)."""
    if not 0 <= start <= stop <= len(b):
        raise IndexError("a value outside its head")
    if not cython.compiled:  # interpreted, the dict of :func:`_common` beats slots read in Python
        raw = b[start:stop].strip() if how & _STRIP else b[start:stop]
        return _common(raw.lower() if how & _LOWER else raw, limit)
    p = b  # compiled: a pointer to the bytes (head.pxd)
    if how & _STRIP:
        while start < stop and p[start] in (32, 9, 10, 11, 12, 13):
            start += 1
        while stop > start and p[stop - 1] in (32, 9, 10, 11, 12, 13):
            stop -= 1
    use = limit * 4 + how
    text = _recall(b, start, stop, use)
    if text is None:
        raw = _part(b, start, stop)
        text = _common(raw.lower() if how & _LOWER else raw, limit)
        _keep(b, start, stop, use, text)
    return text


def _name_kind(b: bytes, start: int, stop: int) -> int:
    """Which of :data:`_NAMES` ``b[start:stop]`` is, ASCII letters in any case, or -1.

    Its length and first letter pick the one name it can be (:data:`_SHAPES`), compared in
    place: most lines name a header katui never reads, and no string is made for them."""
    n = stop - start
    if n <= 0 or n >= _SHAPE_LENGTHS or start < 0 or stop > len(b):
        return -1
    p = b  # compiled: a pointer to the bytes (head.pxd)
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


def _scan(head: bytes, is_request: bool) -> tuple | None:
    n = len(head)
    eol = _find_byte(head, 10, 0, n)  # header lines start after an LF: the first is the start line's
    e = n
    if eol >= 0:
        e = eol
        while e > 0 and head[e - 1] == 13:  # the start line without its CRs
            e -= 1
    if is_request:
        # Method, target and version: split at the first and the last space. A target with
        # spaces is invalid HTTP, but hostile clients send it and servers answer: keep it whole
        # rather than lose the request.
        sp = _find_byte(head, 32, 0, e)
        if sp < 0:
            return None
        last = e - 1
        while last > sp and head[last] != 32:
            last -= 1
        if last <= sp + 1 or e - last <= 7 or not _same(head, last + 1, last + 8, b"HTTP/1."):
            return None  # no target, or no HTTP/1 version after it
        method = _recall(head, 0, sp, _METHOD_USE)
        if method is None:  # (only a known method is remembered, or interned)
            m = _part(head, 0, min(sp, _LONGEST_METHOD + 1))
            if m not in _METHOD_SET:
                return None
            method = _common(m, 20)
            _keep(head, 0, sp, _METHOD_USE, method)
        uri, status, reason = _target_at(head, sp + 1, last), 0, ""
        version_text = _common_at(head, last + 1, e, 8, 0)
    else:
        line = _recall(head, 0, e, _STATUS_USE)
        if line is None:
            line = _status_line(_part(head, 0, e))
            if line is None:
                return None
            _keep(head, 0, e, _STATUS_USE, line)
        version_text, status, reason = line
        method = uri = ""
    conn, ka, clen, chunked, host, software, trace = _headers(head, eol, is_request)
    return (status, clen, chunked, uri, (version_text, method, reason, conn, ka, host, software), trace)


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
    n = 0
    k = start
    while k < stop and k - start < 18 and 48 <= b[k] <= 57:
        n = n * 10 + (b[k] - 48)
        k += 1
    if k > start and (k == stop or b[k] == 44):  # up to 18 digits, then the end or a comma
        return n
    return _length(_part(b, start, stop))


def _status_line(start: bytes) -> tuple | None:
    """(version, status, reason) of a status line, or None when it is not one."""
    if not _RESP_LINE.match(start + b"\n"):
        return None
    version, _, rest = start.partition(b" ")
    # _RESP_LINE checked three digits then a space, CR or LF: 'HTTP/1.1 200\rX' is hostile
    # but must not make int() fail.
    return _common(version, 8), int(rest[:3]), _common(rest[4:] if rest[3:4] == b" " else b"", 200)


def _headers(head: bytes, pos: int, is_request: bool) -> tuple:
    """(connection, keep-alive, content length, chunked, host, software, trace) of the header
    lines after the LF at ``head[pos]`` (none when ``pos`` is -1).

    A line is read when its name (up to its first colon, spaces and tabs before that colon
    left out) is one of :data:`_NAMES`; its value runs from after the colon and its spaces and
    tabs to the first CR or LF. The first valid Content-Length counts, the last of the others.
    """
    conn = ka = clen = None
    chunked = False
    host = software = ""
    trace_lines: list[tuple[bytes, bytes]] | None = None  # made for the few heads that have any
    n = len(head)
    while pos >= 0:
        line = pos + 1
        pos = _find_byte(head, 10, line, n)
        end = n if pos < 0 else pos
        if line == end or not _FIRSTS[head[line]]:  # no name read here starts so
            continue
        colon = _find_byte(head, 58, line, end)
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
        cr = _find_byte(head, 13, v, end)
        stop = end if cr < 0 else cr
        if kind == _LENGTH:
            if clen is None:
                clen = _length_at(head, v, stop)
        elif kind == _CONNECTION:
            conn = _common_at(head, v, stop, 200, _STRIP | _LOWER)
        elif kind == _ENCODING:
            chunked = b"chunked" in _part(head, v, stop).lower()
        elif kind == _KEEP_ALIVE:
            ka = _common_at(head, v, stop, 200, _STRIP)
        elif kind == _HOST:
            if is_request:
                host = _common_at(head, v, stop, 255, _STRIP)
        elif kind >= _TRACE:
            if is_request:
                if trace_lines is None:
                    trace_lines = [(_NAMES[kind], _part(head, v, stop))]
                elif len(trace_lines) < MAX_TRACE_LINES:
                    trace_lines.append((_NAMES[kind], _part(head, v, stop)))
        elif (kind == _SERVER) != is_request:  # User-Agent of requests, Server of responses
            software = _common_at(head, v, stop, 120, _STRIP)
    return conn, ka, clen, chunked, host, software, parse_trace(trace_lines) if trace_lines else None


def parse_head(head: bytes, is_request: bool) -> Head | None:
    """What a head says (:func:`scan_head`) as a :class:`Head`, or None when it is not an
    HTTP/1.x head."""
    got = scan_head(head, is_request)
    if got is None:
        return None
    status, clen, chunked, uri, (version, method, reason, conn, ka, host, software), trace = got
    return Head(version, method, uri, status, reason, conn, ka, clen, chunked, host, software, trace)
