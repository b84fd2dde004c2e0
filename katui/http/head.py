"""HTTP/1.x message heads: recognising a start line and reading the few headers keep-alive
analysis needs (:func:`parse_head`)."""

from __future__ import annotations

import re

try:
    import cython
except ImportError:  # the interpreted build without Cython installed
    import katui.model._cython as cython

from katui.http.lines import (
    common,
    common_at,
    find_byte,
    keep,
    part,
    read_headers,
    recall,
    same,
)
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
        return Head(common(head[:8], 8), "", "", int(m.group(1)), "", None, None, None, False, "")
    parts = head.split(b"\r", 1)[0].split(b" ")
    if len(parts) < 2 or parts[0] not in METHODS:
        return None  # the target may be cut away entirely ('GET '): the request still counts
    return Head("HTTP/1.1", common(parts[0], 20), target_text(parts[1]), 0, "", None, None, None, False, "")


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
SEEN = 1024
"""Interpreted, the heads of each kind :func:`scan_head` remembers, and header blocks: in dicts
(one lookup beats comparing bytes in Python), emptied when full."""
_SEEN_HEADS: tuple[dict, dict] = ({}, {})
"""[is_request]: head -> what :func:`scan_head` read from it (interpreted)."""
_SEEN_BLOCKS: tuple[dict, dict] = ({}, {})
"""[is_request]: header block (from the start line's LF) -> what
:func:`katui.http.lines.read_headers` read there, not in place (a client sends the same
headers with other targets)."""
_STATUS_USE, _METHOD_USE = 1, 2
"""What :func:`katui.http.lines.recall` remembers here: a status line's (version, status,
reason), a request method's text."""


def scan_head(head: bytes, is_request: bool) -> tuple | None:
    """What a head says, or None when it is not an HTTP/1.x head: ``(status, content length or
    None, chunked, URI, (version, method, reason, connection, keep-alive, host, software),
    trace)``, the row :meth:`katui.model.MessageStore.add_scanned` stores. Only the headers
    keep-alive analysis needs are read (and User-Agent / Server, which name the software).

    It is a function of the bytes alone, so a head byte-identical to a recent one (a load
    test's) is not read again: the result is immutable and shared.
    """
    k = 1 if is_request else 0
    if not cython.compiled:  # interpreted, one dict lookup beats comparing heads in Python
        known = _SEEN_HEADS[k]
        got = known.get(head)
        if got is None:
            got = read_head(head, is_request, False)
            if got is not None and len(head) <= MAX_CACHED_HEAD:
                if len(known) >= SEEN:
                    known.clear()
                known[head] = got
        return got
    heads, reads, nxt = _RECENT[k], _RECENT_READ[k], _NEXT[k]
    for j in range(1, _RECENT_C + 1):  # the newest first
        i = (nxt - j) & (_RECENT_C - 1)
        seen = heads[i]
        if head == seen:
            return reads[i]
    got = read_head(head, is_request, True)
    if got is not None and len(head) <= MAX_CACHED_HEAD:
        heads[nxt], reads[nxt] = head, got
        _NEXT[k] = (nxt + 1) & (_RECENT_C - 1)
    return got


def read_head(head: bytes, is_request: bool, in_place: bool) -> tuple | None:
    """:func:`scan_head` of a head not seen recently; ``in_place`` as in
    :func:`katui.http.lines.read_headers` (the tests read heads both ways in both builds)."""
    n = len(head)
    eol = find_byte(head, 10, 0, n)  # header lines start after an LF: the first is the start line's
    e = n
    if eol >= 0:
        e = eol
        while e > 0 and head[e - 1] == 13:  # the start line without its CRs
            e -= 1
    if is_request:
        # Method, target and version: split at the first and the last space. A target with
        # spaces is invalid HTTP, but hostile clients send it and servers answer: keep it whole
        # rather than lose the request.
        sp = find_byte(head, 32, 0, e)
        if sp < 0:
            return None
        if in_place:
            last = e - 1
            while last > sp and head[last] != 32:
                last -= 1
        else:  # interpreted, rfind beats a Python loop back over the target
            last = max(head.rfind(b" ", sp + 1, e), sp)
        if last <= sp + 1 or e - last <= 7 or not same(head, last + 1, last + 8, b"HTTP/1."):
            return None  # no target, or no HTTP/1 version after it
        method = recall(head, 0, sp, _METHOD_USE)
        if method is None:  # (only a known method is remembered, or interned)
            m = part(head, 0, min(sp, _LONGEST_METHOD + 1))
            if m not in _METHOD_SET:
                return None
            method = common(m, 20)
            keep(head, 0, sp, _METHOD_USE, method)
        uri, status, reason = _target_at(head, sp + 1, last), 0, ""
        version_text = common_at(head, last + 1, e, 8, 0)
    else:
        line = recall(head, 0, e, _STATUS_USE)
        if line is None:
            line = _status_line(part(head, 0, e))
            if line is None:
                return None
            keep(head, 0, e, _STATUS_USE, line)
        version_text, status, reason = line
        method = uri = ""
    if in_place or eol < 0:
        fields = read_headers(head, eol, is_request, in_place)
    else:
        fields = _read_block(head, eol, is_request)
    conn, ka, clen, chunked, host, software, trace = fields
    return (status, clen, chunked, uri, (version_text, method, reason, conn, ka, host, software), trace)


def _read_block(head: bytes, eol: int, is_request: bool) -> tuple:
    """:func:`katui.http.lines.read_headers` not in place of the header block from ``eol``,
    remembered by its bytes."""
    known = _SEEN_BLOCKS[1 if is_request else 0]
    block = head[eol:]
    got = known.get(block)
    if got is None:
        got = read_headers(block, 0, is_request, False)
        if len(block) <= MAX_CACHED_HEAD:
            if len(known) >= SEEN:
                known.clear()
            known[block] = got
    return got


def _status_line(start: bytes) -> tuple | None:
    """(version, status, reason) of a status line, or None when it is not one."""
    if not _RESP_LINE.match(start + b"\n"):
        return None
    version, _, rest = start.partition(b" ")
    # _RESP_LINE checked three digits then a space, CR or LF: 'HTTP/1.1 200\rX' is hostile
    # but must not make int() fail.
    return common(version, 8), int(rest[:3]), common(rest[4:] if rest[3:4] == b" " else b"", 200)


def parse_head(head: bytes, is_request: bool) -> Head | None:
    """What a head says (:func:`scan_head`) as a :class:`Head`, or None when it is not an
    HTTP/1.x head."""
    got = scan_head(head, is_request)
    if got is None:
        return None
    status, clen, chunked, uri, (version, method, reason, conn, ka, host, software), trace = got
    return Head(version, method, uri, status, reason, conn, ka, clen, chunked, host, software, trace)
