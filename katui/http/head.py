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


_TRACE_SET = frozenset(TRACE_HEADERS)

_HEADERS = re.compile(
    rb"\n(content-length|transfer-encoding|connection|keep-alive|host|user-agent|server|"
    + b"|".join(TRACE_HEADERS)
    + rb")[ \t]*:[ \t]*([^\r\n]*)",
    re.I,
)


MAX_CACHED_HEAD = 1024
"""Longest head (or header block) remembered by :func:`scan_head`'s caches."""
CACHE_ENTRIES = 256
"""Entries per cache; a full cache is emptied (a hostile capture of all-different heads then
costs a bounded dict's churn, never memory)."""

_HEADS: tuple[dict, dict] = ({}, {})
"""[is_request]: whole head bytes -> what :func:`scan_head` read from them (a load test repeats
the same head bytes; a server's Date changes once a second)."""
_BLOCKS: tuple[dict, dict] = ({}, {})
"""[is_request]: header block (from the start line's LF) -> what :func:`_headers` read from it:
clients vary the request target, not their headers."""
_LAST: list = [b"", None, b"", None]
"""[is_request]: the last head :func:`scan_head` read, [2 + is_request]: what it read there (a
load test sends the same request again and again, and its server the same response within a
second)."""
_STATUS_LINES: dict[bytes, tuple] = {}
"""Status line -> (version, status, reason)."""


def _remember(cache: dict, key: bytes, value) -> None:
    if len(key) <= MAX_CACHED_HEAD:
        if len(cache) >= CACHE_ENTRIES:
            cache.clear()
        cache[key] = value


def scan_head(head: bytes, is_request: bool) -> tuple | None:
    """What a head says, or None when it is not an HTTP/1.x head: ``(status, content length or
    None, chunked, URI, (version, method, reason, connection, keep-alive, host, software),
    trace)``, the row :meth:`katui.model.MessageStore.add_scanned` stores. Only the headers
    keep-alive analysis needs are read (and User-Agent / Server, which name the software).

    It is a function of the bytes alone, so byte-identical heads (a load test's) are read once:
    the result is immutable and shared; its Content-Length is part of the bytes it is keyed on.
    """
    k = 1 if is_request else 0
    if head == _LAST[k]:  # the same bytes as the last head of its kind: compared, not hashed
        return _LAST[2 + k]
    cache = _HEADS[k]
    got = cache.get(head)
    if got is None:
        got = _scan(head, is_request)
        if got is None:
            return None
        _remember(cache, head, got)
    _LAST[k], _LAST[2 + k] = head, got
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


def _part(b: bytes, start: int, stop: int) -> bytes:
    """``b[start:stop]`` for 0 <= start <= stop <= len(b); compiled, copied out directly (no
    slice object, no int objects for its ends)."""
    if cython.compiled and 0 <= start <= stop <= len(b):
        return PyBytes_FromStringAndSize(cython.cast("const char *", b) + start, stop - start)  # noqa: F821
    return b[start:stop]


def _scan(head: bytes, is_request: bool) -> tuple | None:
    eol = _find(head, b"\n", 0)
    if eol >= 0:
        start = _part(head, 0, eol).rstrip(b"\r")
        # Header lines start after an LF: the first is the start line's.
        block = _part(head, eol, len(head))
    else:
        start, block = head, b""
    if is_request:
        m, _, rest = start.partition(b" ")
        target, _, version = rest.rpartition(b" ")
        # A target with spaces is invalid HTTP, but hostile clients send it and servers answer:
        # keep it whole (split at the first and last space) rather than lose the request.
        if m not in _METHOD_SET or not target or not version.startswith(b"HTTP/1."):
            return None
        method, uri, status, reason = _common(m, 20), target_text(target), 0, ""
        version_text = _common(version, 8)
    else:
        lines = _STATUS_LINES
        line = lines.get(start)
        if line is None:
            line = _status_line(start)
            if line is None:
                return None
            _remember(lines, start, line)
        version_text, status, reason = line
        method = uri = ""
    # Lines that change from message to message are left out of the header cache's key: a
    # server's Date (once a second; nothing here reads it) and Content-Length (read on its own).
    # A header line read here starts at an LF with its name and stops at CR or LF, so cutting
    # out whole lines (LF to LF) leaves every other line reading the same.
    key, _ = _cut(block, b"\nDate: ")
    key, length_line = _cut(key, b"\nContent-Length: ")
    blocks = _BLOCKS[is_request]
    fields = blocks.get(key)
    if fields is None:
        fields = _headers(key, is_request)
        _remember(blocks, key, fields)
    conn, ka, clen, chunked, host, software, trace = fields
    if length_line is not None:
        if clen is None:  # no other valid length: the cut line's is the first
            clen = _length(length_line[17:].lstrip(b" \t").split(b"\r", 1)[0])
        else:  # another one too: which comes first decides, read the lines in order
            clen = _headers(block, is_request)[2]
    return (status, clen, chunked, uri, (version_text, method, reason, conn, ka, host, software), trace)


def _cut(block: bytes, start: bytes) -> tuple:
    """``block`` without its first line starting with ``start`` (from that LF to the next), and
    that line (None when there is none)."""
    at = _find(block, start, 0)
    if at < 0:
        return block, None
    nl = _find(block, b"\n", at + 1)
    n = len(block)
    if nl < 0:
        return _part(block, 0, at), _part(block, at, n)
    return _part(block, 0, at) + _part(block, nl, n), _part(block, at, nl)


def _length(val: bytes) -> int | None:
    """A Content-Length value (the first of a list), None when it is no valid length."""
    try:
        n = int(val.split(b",")[0])
    except ValueError:
        return None
    # A hostile length past 64 bits means "the rest of the stream": keep it storable.
    return min(n, MAX_CONTENT_LENGTH) if n >= 0 else None


def _status_line(start: bytes) -> tuple | None:
    """(version, status, reason) of a status line, or None when it is not one."""
    if not _RESP_LINE.match(start + b"\n"):
        return None
    version, _, rest = start.partition(b" ")
    # _RESP_LINE checked three digits then a space, CR or LF: 'HTTP/1.1 200\rX' is hostile
    # but must not make int() fail.
    return _common(version, 8), int(rest[:3]), _common(rest[4:] if rest[3:4] == b" " else b"", 200)


def _headers(block: bytes, is_request: bool) -> tuple:
    """(connection, keep-alive, content length, chunked, host, software, trace) of a header
    block."""
    conn = ka = clen = None
    chunked = False
    host = software = ""
    trace_lines: list[tuple[bytes, bytes]] | None = None  # made for the few heads that have any
    for key, val in _HEADERS.findall(block):
        key = key.lower()
        if key == b"content-length":
            if clen is None:
                clen = _length(val)
        elif key == b"connection":
            conn = _common(val.strip().lower(), 200)
        elif key == b"transfer-encoding":
            chunked = b"chunked" in val.lower()
        elif key == b"keep-alive":
            ka = _common(val.strip(), 200)
        elif key == b"host":
            if is_request:
                host = _common(val.strip(), 255)
        elif key in _TRACE_SET:
            if is_request:
                if trace_lines is None:
                    trace_lines = [(key, val)]
                elif len(trace_lines) < MAX_TRACE_LINES:
                    trace_lines.append((key, val))
        elif (key == b"server") != is_request:  # User-Agent of requests, Server of responses
            software = _common(val.strip(), 120)
    return conn, ka, clen, chunked, host, software, parse_trace(trace_lines) if trace_lines else None


def parse_head(head: bytes, is_request: bool) -> Head | None:
    """What a head says (:func:`scan_head`) as a :class:`Head`, or None when it is not an
    HTTP/1.x head."""
    got = scan_head(head, is_request)
    if got is None:
        return None
    status, clen, chunked, uri, (version, method, reason, conn, ka, host, software), trace = got
    return Head(version, method, uri, status, reason, conn, ka, clen, chunked, host, software, trace)
