"""HTTP messages of a capture: a column store (:class:`MessageStore`) and views on its rows.

The row layout (the ``NUM``/``COL_*``, ``SMALL``/``SM_*`` and ``H_*`` offsets) is this module's
business; everything outside :mod:`katui.model` goes through the store's methods and the views.
"""

from __future__ import annotations

import struct
from array import array
from typing import NamedTuple

from katui.units import fmt_bytes

try:
    import cython
except ImportError:  # the interpreted build without Cython installed
    import katui.model._cython as cython

REQUEST, CHUNKED, COMPLETE, HEAD_UNFINISHED = 1, 2, 4, 8
"""Flag bits in a MessageStore row's ``SM_BITS`` number (above them: head bytes << 4)."""

# MessageStore row layout: NUM 64-bit numbers in ``num`` (the COL_* offsets), SMALL 32-bit ones
# in ``small`` (the SM_* offsets), the index of its URI in ``uri_ix`` and of a shared tuple of
# its other strings (the H_* offsets) in ``head_ix``.
NUM = 1
COL_START = 0
SMALL = 7
SM_FIRST, SM_FRAME, SM_STATUS, SM_BITS, SM_CLEN, SM_END, SM_BODY = range(SMALL)
CLEN_BIG = 0xFFFFFFFF
"""``SM_CLEN`` of a Content-Length too big for 32 bits (the store's ``big_lengths`` has it); other
values are the length + 1 (0: none)."""
END_BIG = 0xFFFFFFFF
"""``SM_END`` of a message whose end is not 0 to 2**32 - 2 ns after its start (the store's
``big_ends`` has the end); other values are end ns - start ns (read with :func:`end_at`, only
for rows with an end frame)."""
BODY_BIG = 0xFFFFFFFF
"""``SM_BODY`` of a message whose body bytes 32 bits cannot hold (the store's ``big_bodies``
has them; read with :func:`body_at`); other values are the body bytes."""
H_VERSION, H_METHOD, H_REASON, H_CONNECTION, H_KEEP_ALIVE, H_HOST, H_SOFTWARE = range(7)
MAX_SHARED_HEADS = 4096
MAX_SHARED_URIS = 1 << 14
"""Distinct URIs looked up for sharing, in ``uri_table``; later new ones get an entry each in
``uri_blob`` (hostile or crawler captures may make every URI different)."""
# The same layout as C integers for this module's compiled methods (store.pxd declares them):
# the names above stay Python ints for the modules that read the columns.
_NUM_C, _SMALL_C, _START_C, _BODY_C, _BODY_BIG_C = NUM, SMALL, COL_START, SM_BODY, BODY_BIG
_FRAME_C, _STATUS_C, _BITS_C, _METHOD_C, _END_C = SM_FRAME, SM_STATUS, SM_BITS, H_METHOD, SM_END
_REQUEST_C, _CHUNKED_C, _COMPLETE_C, _CLEN_BIG_C, _END_BIG_C = REQUEST, CHUNKED, COMPLETE, CLEN_BIG, END_BIG
_NUM_ROW = struct.Struct(f"{NUM}q").pack  # a row of ``num`` (array "q": native long long)
_SMALL_ROW = struct.Struct(f"{SMALL}I").pack  # a row of ``small`` (array "I": native unsigned int)


class Trace(NamedTuple):
    """What the headers that tie a forwarded request to its front request say, kept small:
    hashes of the values (compared, never shown) and host keys of the addresses named."""

    id_name: str | None
    """The request-id header (``x-request-id``, ``traceparent`` ...), or None."""
    id_hash: int | None
    """Hash of its (non-empty) value; of ``traceparent``, of its trace id."""
    xff_hash: int
    """Hash of the whole ``X-Forwarded-For`` (all lines, hops joined by ', '; '' if none)."""
    xff_prefix_hash: int | None
    """Hash of all its hops but the last (what the proxy received), None without the header."""
    xff_last: str | None
    """Host key of its last hop (the client the last proxy saw), None if absent or no address."""
    real_ip: str | None
    """Host key of ``X-Real-IP``."""
    forwarded_last: str | None
    """Host key of the last ``for=`` of ``Forwarded``."""


NO_TRACE_XFF = hash("")
""":attr:`Trace.xff_hash` of a request without ``X-Forwarded-For``."""


class Head(NamedTuple):
    """What a message head says: the HTTP parser's reading of a start line and the headers
    keep-alive analysis needs (:meth:`MessageStore.add` stores it)."""

    version: str
    """``HTTP/1.1`` or ``HTTP/1.0``."""
    method: str
    """Request method ('' for a response)."""
    uri: str
    """Request target ('' for a response)."""
    status: int
    """Status code (0 for a request)."""
    reason: str
    """Reason phrase ('' for a request)."""
    connection: str | None
    """``Connection`` header, lower-cased, or None."""
    keep_alive: str | None
    """``Keep-Alive`` header, or None."""
    content_length: int | None
    """``Content-Length`` header, or None."""
    chunked: bool
    """True when ``Transfer-Encoding: chunked``."""
    host: str
    """``Host`` header of a request ('' if none)."""
    software: str = ""
    """``User-Agent`` of a request, ``Server`` of a response ('' if none)."""
    trace: Trace | None = None
    """What a request's tracing headers say (:mod:`katui.http.trace`), or None when absent."""


class HeadText(NamedTuple):
    """The strings of a head that repeat across messages; rows with the same ones share one."""

    version: str
    method: str
    reason: str
    connection: str | None
    keep_alive: str | None
    host: str
    software: str


class MessageStore:
    """Every HTTP message of a capture, column-wise: about 40 bytes per message (plus its URI)
    where one object per message (with its int fields) cost over 300. A load-test capture
    holds hundreds of thousands of messages; :class:`HttpMessage` is a view on one row.

    Rows are strided: ``NUM`` 64-bit numbers per row in ``num`` (start ns: ``COL_START``) and
    ``SMALL`` 32-bit ones in ``small`` (first frame, frame, status, flag bits | head bytes << 4,
    content length + 1 or 0, end ns - start ns, body bytes: the ``SM_*`` offsets; frame numbers
    are 32-bit everywhere in katui, as in the frame table; the rare lengths past 32 bits are in
    ``big_lengths``, the ends more than 4.29 s after their starts in ``big_ends``, the bodies
    of 4 GiB and more in ``big_bodies``). ``uri_ix`` holds the index in
    ``uri_table`` of each row's request target ('' for responses) and ``head_ix`` the index in
    ``head_table`` of a tuple (version, method, reason, connection, keep-alive, host, software:
    the ``H_*`` offsets) that rows with the same strings share: a load test repeats a handful of
    combinations, and an index of one to four bytes a row (as wide as its table needs) costs
    far less than a list's pointer. Rows are appended by
    the HTTP parser when a head is parsed and completed in place when the message ends (frame 0:
    not completed). Hot renderers read the columns directly with these offsets; everything else
    goes through :class:`HttpMessage`.
    """

    __slots__ = ("num", "small", "uri_ix", "uri_table", "uri_blob", "uri_ends", "_uris", "head_ix",
                 "head_table", "_shared", "traces", "big_lengths", "big_ends", "big_bodies",
                 "_recent")  # fmt: skip

    def __init__(self) -> None:
        self.num = array("q")
        self.small = array("I")
        # The index columns start with one byte a row and widen as their tables grow (a load
        # test has a handful of URIs and heads: 6 bytes a row less than 32-bit indexes).
        self.uri_ix = array("B")
        self.uri_table: list[str] = [""]
        self._uris: dict[str, int] = {"": 0}
        self.uri_blob = bytearray()
        """The URIs past the shared ones (``MAX_SHARED_URIS``), UTF-8 (lone surrogates too: the
        bytes that were not UTF-8) one after the other: ~20 bytes each, not a str of ~80. Entry
        ``k`` is URI index ``len(uri_table) + k`` (the table takes no more once this has one)."""
        self.uri_ends = array("I")
        """Where each entry of ``uri_blob`` ends (64-bit once the blob outgrows 32 bits)."""
        self.head_ix = array("B")
        self.head_table: list[HeadText] = []
        self._shared: dict[tuple, int] = {}
        self._recent: list = [None, None, 0, 0]
        """[is_request]: the head strings tuple last stored, [2 + is_request]: its index. The
        parser hands the same tuple again for the same head bytes (a load test's): no hashing of
        its seven strings then."""
        self.traces: dict[int, Trace] = {}
        """Row -> its :attr:`Head.trace`, only for the rows that have one (most have none)."""
        self.big_lengths: dict[int, int] = {}
        """Row -> its Content-Length, for the lengths ``small`` cannot hold (``CLEN_BIG``)."""
        self.big_ends: dict[int, int] = {}
        """Row -> its end ns, for the ends ``small`` cannot hold as a time since the start
        (``END_BIG``: a message longer than 4.29 s, or a timestamp going backwards)."""
        self.big_bodies: dict[int, int] = {}
        """Row -> its body bytes, for the counts ``small`` cannot hold (``BODY_BIG``)."""

    def __len__(self) -> int:
        return len(self.num) // NUM

    def add(self, is_request: bool, first_frame: int, start_ns: int, head: Head, head_bytes: int) -> int:
        """Append a message whose head was just parsed (incomplete until :meth:`end`); return
        its row index."""
        text = (
            head.version,
            head.method,
            head.reason,
            head.connection,
            head.keep_alive,
            head.host,
            head.software,
        )
        scanned = (head.status, head.content_length, head.chunked, head.uri, text, head.trace)
        return self.add_scanned(is_request, first_frame, start_ns, scanned, head_bytes)

    def add_scanned(
        self,
        is_request: bool,
        first_frame: int,
        start_ns: int,
        scanned: tuple,
        head_bytes: int,
        frame: int = 0,
        end_ns: int = 0,
        body_bytes: int = 0,
    ) -> int:
        """:meth:`add` from what :func:`katui.http.head.scan_head` read: ``(status, content
        length or None, chunked, URI, (version, method, reason, connection, keep-alive, host,
        software), trace)``. The HTTP/1 parser's path: no :class:`Head` per message. A
        ``frame`` (not 0) says the message also ended there, complete: :meth:`end` in the same
        call (most messages of a load test fit in one segment)."""
        status, content_length, chunked, uri, text, trace = scanned
        i = len(self.uri_ix)
        if trace is not None:
            self.traces[i] = trace
        bits = (_REQUEST_C if is_request else 0) | (_CHUNKED_C if chunked else 0)
        bits |= (_COMPLETE_C if frame else 0) | head_bytes << 4
        if content_length is None:
            clen = 0
        elif content_length < _CLEN_BIG_C - 1:
            clen = content_length + 1
        else:
            clen = _CLEN_BIG_C
            self.big_lengths[i] = content_length
        # Most rows repeat a URI and head strings already seen: one dict lookup each. Bounded:
        # hostile captures may make every combination unique (then none is shared).
        u = self._uris.get(uri)
        if u is None:
            u = self._new_uri(uri)
            self.uri_ix = _fit(self.uri_ix, u)
        recent, k = self._recent, 1 if is_request else 0
        if recent[k] is text:
            h = recent[2 + k]
        else:
            h = self._shared.get(text)
            if h is None:
                h = _added(self.head_table, self._shared, text, None, MAX_SHARED_HEADS)
                self.head_ix = _fit(self.head_ix, h)
            recent[k], recent[2 + k] = text, h
        nbody = body_bytes  # (compiled: a C integer, as the column held it)
        body = nbody if 0 <= nbody < _BODY_BIG_C else self._big_body(i, nbody)
        took = 0
        if frame:  # (the common case first: ended in time after it started, 0 to 4.29 s)
            if 0 <= start_ns <= end_ns and end_ns - start_ns < _END_BIG_C:
                took = end_ns - start_ns
            else:
                took = self._took(i, start_ns, end_ns)
        if cython.compiled:  # C stores into the arrays, grown in place (store.pxd types them)
            b = _grow(self.num, _NUM_C)
            self.num.data.as_longlongs[b] = start_ns
            b = _grow(self.small, _SMALL_C)
            self.small.data.as_uints[b : b + _SMALL_C] = [first_frame, frame, status, bits, clen, took, body]
            _put(self.uri_ix, u)
            _put(self.head_ix, h)
        else:  # one row's bytes at once: array.extend() goes through an iterator, three times slower
            self.num.frombytes(_NUM_ROW(start_ns))
            self.small.frombytes(_SMALL_ROW(first_frame, frame, status, bits, clen, took, body))
            self.uri_ix.append(u)
            self.head_ix.append(h)
        return i

    def added_all(self) -> None:
        """No more rows will be added (the capture is read): drop the lookups that shared
        URIs and head strings between rows (a crawler's or a synthetic capture's tens of
        thousands of URIs cost ~2 MB of dict). Rows added all the same only share less."""
        self._uris = {"": 0}
        self._shared = {}
        self._recent = [None, None, 0, 0]

    def _new_uri(self, uri: str) -> int:
        """The index of a URI not found among the shared ones: a new entry of ``uri_table``
        while it shares (remembered in ``_uris``), of ``uri_blob`` after."""
        ends = self.uri_ends
        if not len(ends) and len(self._uris) < MAX_SHARED_URIS:
            return _added(self.uri_table, self._uris, uri, uri, MAX_SHARED_URIS)
        blob = self.uri_blob
        blob += uri.encode("utf-8", "surrogatepass")
        if len(blob) > 0xFFFFFFFF and ends.typecode == "I":
            ends = self.uri_ends = array("Q", ends)
        ends.append(len(blob))
        return len(self.uri_table) + len(ends) - 1

    def uri_at(self, ix: int) -> str:
        """URI index ``ix`` (what ``uri_ix`` holds): in ``uri_table`` or ``uri_blob``."""
        table = self.uri_table
        if ix < len(table):
            return table[ix]
        k, ends = ix - len(table), self.uri_ends
        return self.uri_blob[ends[k - 1] if k else 0 : ends[k]].decode("utf-8", "surrogatepass")

    def blob_uris(self) -> list[str]:
        """Every URI of ``uri_blob`` (those past the shared ones), in index order."""
        base = len(self.uri_table)
        return [self.uri_at(base + k) for k in range(len(self.uri_ends))]

    def row(self, i: int) -> tuple:
        """Message ``i`` at once, for renderers that write every message: (first frame, frame
        or 0 if incomplete, status, flag bits (``REQUEST``, ``CHUNKED``, ``COMPLETE``), start ns,
        body bytes, URI, :class:`HeadText`)."""
        s, small = i * SMALL, self.small
        return (small[s + SM_FIRST], small[s + SM_FRAME], small[s + SM_STATUS], small[s + SM_BITS],
                self.num[i * NUM + COL_START], body_at(self, i), self.uri(i), self.text(i))  # fmt: skip

    def view(self, i: int) -> HttpMessage | None:
        """Message ``i`` as an object (None for -1: no message)."""
        return None if i < 0 else HttpMessage(self, i)

    def end(self, i: int, frame: int, end_ns: int, body_bytes: int, complete: bool) -> None:
        """Record where message ``i`` ended (the frame carrying its last byte)."""
        small, s = self.small, i * _SMALL_C
        small[s + _BODY_C] = self._body(i, body_bytes)
        small[s + _END_C] = self._took(i, self.num[i * _NUM_C + _START_C], end_ns)
        small[s + _FRAME_C] = frame
        if complete:
            small[s + _BITS_C] |= COMPLETE

    def _body(self, i: int, body_bytes: int) -> int:
        """``SM_BODY`` of row ``i`` with ``body_bytes`` (``big_bodies`` keeps what it cannot hold)."""
        if 0 <= body_bytes < _BODY_BIG_C:
            if self.big_bodies:  # (a later count may fit where an earlier did not)
                self.big_bodies.pop(i, None)
            return body_bytes
        return self._big_body(i, body_bytes)

    def _big_body(self, i: int, body_bytes: int) -> int:
        self.big_bodies[i] = body_bytes
        return _BODY_BIG_C

    def _took(self, i: int, start_ns: int, end_ns: int) -> int:
        """``SM_END`` of row ``i`` ending at ``end_ns`` (``big_ends`` keeps what it cannot hold)."""
        if start_ns <= end_ns and (start_ns >= 0 or end_ns < 0):  # (of one sign: no C overflow)
            took = end_ns - start_ns
            if took < _END_BIG_C:
                if self.big_ends:  # (ended again: a later end may fit where an earlier did not)
                    self.big_ends.pop(i, None)
                return took
        self.big_ends[i] = end_ns
        return _END_BIG_C

    def head_unfinished(self, i: int) -> None:
        """Message ``i``'s head never got its blank line (the sender stopped mid-head)."""
        self.small[i * SMALL + SM_BITS] |= HEAD_UNFINISHED

    def abandon(self, i: int, body_bytes: int) -> None:
        """Message ``i`` never completed (the capture or the stream ended inside it)."""
        self.small[i * SMALL + SM_BODY] = self._body(i, body_bytes)

    def end_frame(self, i: int) -> int:
        """Frame carrying the last byte of message ``i`` (0 while it is incomplete)."""
        return self.small[i * SMALL + SM_FRAME]

    def first_frame(self, i: int) -> int:
        """Frame carrying the first byte of message ``i``."""
        return self.small[i * SMALL + SM_FIRST]

    def start_ns(self, i: int) -> int:
        """When message ``i`` started (its first frame's timestamp)."""
        return self.num[i * _NUM_C + _START_C]

    def label(self, i: int) -> str:
        """Short ladder label of message ``i``: ``GET /x`` or ``200 OK`` (``request? 517 B
        (inferred)`` for a burst of TLS records)."""
        s, text = i * SMALL, self.text(i)
        if text[H_VERSION] == INFERRED_VERSION:
            kind = "request" if self.small[s + SM_BITS] & REQUEST else "response"
            return f"{kind}? {fmt_bytes(body_at(self, i))} (inferred)"
        if self.small[s + SM_BITS] & REQUEST:
            return f"{text[H_METHOD]} {self.uri(i)}"
        return f"{self.small[s + SM_STATUS]} {text[H_REASON]}".rstrip()

    def trace(self, i: int) -> Trace | None:
        """Message ``i``'s tracing headers (:attr:`Head.trace`), None when it had none."""
        return self.traces.get(i)

    def text(self, i: int) -> HeadText:
        """The head strings of message ``i`` (one object shared by rows with the same ones: read
        them without making a message view)."""
        return self.head_table[self.head_ix[i]]

    def uri(self, i: int) -> str:
        """The request target of message ``i`` ('' for a response)."""
        return self.uri_at(self.uri_ix[i])

    def content_length(self, i: int) -> int | None:
        """Content-Length of message ``i``, None when it had none."""
        clen = self.small[i * SMALL + SM_CLEN]
        if clen == CLEN_BIG:
            return self.big_lengths[i]
        return clen - 1 if clen else None

    def status(self, i: int) -> int:
        """Status code of message ``i`` (0 for a request)."""
        return self.small[i * _SMALL_C + _STATUS_C]

    def method(self, i: int) -> str:
        """Method of message ``i`` ('' for a response)."""
        if not cython.compiled:  # (there, cython.cast would be one more Python call)
            return self.head_table[self.head_ix[i]][_METHOD_C]
        # (compiled: read as the tuple it is, not through the NamedTuple's Python-level item slot)
        return cython.cast(tuple, self.head_table[self.head_ix[i]])[_METHOD_C]

    def end_ns(self, i: int) -> int | None:
        """When message ``i`` ended, or None if it never completed."""
        return end_at(self, i) if self.small[i * SMALL + SM_FRAME] else None


_CLOSE_TOKENS: dict[str | None, tuple[bool, bool]] = {}
MAX_CLOSE_TOKENS = 1024
"""Connection header values whose tokens are remembered (hostile captures may send any)."""


def asks_close(connection: str | None, version: str) -> bool:
    """True when a message with this ``Connection`` header (lower-cased, or None) and version
    asks for the connection to be closed after it: ``close`` among the tokens, or HTTP/1.0
    without ``keep-alive``. (The verdicts ask it of every exchange: tokens are remembered.)"""
    got = _CLOSE_TOKENS.get(connection)
    if got is None:
        tokens = (connection or "").replace(" ", "").split(",")
        got = ("close" in tokens, "keep-alive" in tokens)
        if len(_CLOSE_TOKENS) < MAX_CLOSE_TOKENS:
            _CLOSE_TOKENS[connection] = got
    return got[0] or (version == "HTTP/1.0" and not got[1])


INFERRED_VERSION = "TLS"
"""``HttpMessage.version`` of a message inferred from TLS records (:attr:`HttpMessage.inferred`)."""

_head_text = tuple.__new__  # makes a HeadText without the Python-level NamedTuple constructor


def _grow(col: array, n: int) -> int:
    """Give ``col`` ``n`` more items and return where they start (compiled only: then
    :meth:`MessageStore.add_scanned` writes them through the array's C pointer)."""
    at = len(col)
    cpython.array.resize_smart(col, at + n)  # noqa: F821 - cimported by store.pxd
    return at


def _put(col: array, ix: int) -> None:
    """Append ``ix`` (it fits: :func:`_fit`) to the index column ``col`` through its C pointer
    (compiled only, as :func:`_grow`)."""
    at = _grow(col, 1)
    size = col.ob_descr.itemsize
    if size == 1:
        col.data.as_uchars[at] = ix
    elif size == 2:
        col.data.as_ushorts[at] = ix
    else:
        col.data.as_uints[at] = ix


def end_at(store: MessageStore, i: int) -> int:
    """When row ``i`` of ``store`` ended (a row with an end frame: ``SM_FRAME`` not 0);
    compiled, bounds-checked C reads of the two columns for the hot readers (the freeze, the
    JSON writer)."""
    # The row is checked before it is multiplied: i * 6 can wrap past 2**63 for a huge i.
    if i < 0 or i >= len(store.small) // _SMALL_C or i >= len(store.num) // _NUM_C:
        raise IndexError("message store row out of range")
    at = i * _SMALL_C + _END_C
    if cython.compiled:
        took = store.small.data.as_uints[at]
        if took != _END_BIG_C:
            return store.num.data.as_longlongs[i * _NUM_C + _START_C] + took
    else:
        took = store.small[at]
        if took != _END_BIG_C:
            return store.num[i * _NUM_C + _START_C] + took
    return store.big_ends[i]


def body_at(store: MessageStore, i: int) -> int:
    """Body bytes of row ``i`` of ``store``; compiled, a bounds-checked C read for the hot
    readers (the writers' message labels and rows)."""
    if i < 0 or i >= len(store.small) // _SMALL_C:
        raise IndexError("message store row out of range")
    at = i * _SMALL_C + _BODY_C
    body = store.small.data.as_uints[at] if cython.compiled else store.small[at]
    return body if body != _BODY_BIG_C else store.big_bodies[i]


def ix_at(col: array, i: int) -> int:
    """Item ``i`` of the index column ``col`` (``uri_ix``, ``head_ix``: 1, 2 or 4 bytes an item,
    see :func:`_fit`); compiled, a bounds-checked C read for the writers' typed loops."""
    if i < 0 or i >= len(col):
        raise IndexError("index column row out of range")
    if cython.compiled:
        size = col.ob_descr.itemsize
        if size == 1:
            return col.data.as_uchars[i]
        if size == 2:
            return col.data.as_ushorts[i]
        return col.data.as_uints[i]
    return col[i]


_WIDER = {"B": "H", "H": "I"}
_LAST = {"B": 0xFF, "H": 0xFFFF, "I": 0xFFFFFFFF}


def _fit(col: array, ix: int) -> array:
    """``col``, or a copy of it with items wide enough for the index ``ix`` (done twice at most
    per column: bytes, then 16 bits, then 32)."""
    while ix > _LAST[col.typecode] and col.typecode in _WIDER:
        col = array(_WIDER[col.typecode], col)
    return col


def _added(table: list, shared: dict, key, value, bound: int) -> int:
    """Append the entry for ``key`` (``value``, or a HeadText made of the tuple ``key`` when
    None) to ``table`` and return its index; remembered in ``shared`` up to ``bound`` keys."""
    got = len(table)
    table.append(_head_text(HeadText, key) if value is None else value)
    if len(shared) < bound:
        shared[key] = got
    return got


class HttpMessage:
    """One HTTP/1.x request or response head, with where it starts and completes: a read-only
    view on a row of a :class:`MessageStore` (two references; fields are read on access)."""

    __slots__ = ("store", "index")

    def __init__(self, store: MessageStore, index: int) -> None:
        self.store = store
        """The store this message is a row of (renderers may read its columns directly)."""
        self.index = index
        """Row in the store."""

    def _num(self, col: int) -> int:
        return self.store.num[self.index * NUM + col]

    def _small(self, col: int) -> int:
        return self.store.small[self.index * SMALL + col]

    def _text(self, col: int):
        return self.store.text(self.index)[col]

    @property
    def is_request(self) -> bool:
        """True for a request, False for a response."""
        return bool(self._small(SM_BITS) & REQUEST)

    @property
    def first_frame(self) -> int:
        """Frame carrying the first byte of the message."""
        return self._small(SM_FIRST)

    @property
    def frame(self) -> int | None:
        """Frame carrying the last byte (Wireshark shows the message there); None if incomplete."""
        return self._small(SM_FRAME) or None

    @property
    def start_ns(self) -> int:
        """Timestamp of ``first_frame``."""
        return self._num(COL_START)

    @property
    def end_ns(self) -> int | None:
        """Timestamp of ``frame`` (None if incomplete)."""
        return self.store.end_ns(self.index)

    @property
    def version(self) -> str:
        """``HTTP/1.1`` or ``HTTP/1.0``."""
        return self._text(H_VERSION)

    @property
    def method(self) -> str:
        """Request method (requests only, else '')."""
        return self._text(H_METHOD)

    @property
    def uri(self) -> str:
        """Request target as sent, possibly truncated to 2 KiB (requests only, else '')."""
        return self.store.uri(self.index)

    @property
    def status(self) -> int:
        """Status code (responses only, else 0)."""
        return self._small(SM_STATUS)

    @property
    def reason(self) -> str:
        """Reason phrase (responses only, else '')."""
        return self._text(H_REASON)

    @property
    def connection(self) -> str | None:
        """Value of the ``Connection`` header, lower-cased, or None."""
        return self._text(H_CONNECTION)

    @property
    def keep_alive(self) -> str | None:
        """Value of the ``Keep-Alive`` header, or None."""
        return self._text(H_KEEP_ALIVE)

    @property
    def content_length(self) -> int | None:
        """``Content-Length`` header value, or None."""
        return self.store.content_length(self.index)

    @property
    def chunked(self) -> bool:
        """True when ``Transfer-Encoding: chunked``."""
        return bool(self._small(SM_BITS) & CHUNKED)

    @property
    def body_bytes(self) -> int:
        """Body bytes seen (after de-chunking framing, before decoding)."""
        return body_at(self.store, self.index)

    @property
    def head_bytes(self) -> int:
        """Size of the start line plus headers."""
        return self._small(SM_BITS) >> 4

    @property
    def host(self) -> str:
        """``Host`` header of a request ('' if none)."""
        return self._text(H_HOST)

    @property
    def head_unfinished(self) -> bool:
        """True when the sender stopped before the head's blank line (only its start was seen)."""
        return bool(self._small(SM_BITS) & HEAD_UNFINISHED)

    @property
    def software(self) -> str:
        """``User-Agent`` of a request, ``Server`` of a response ('' if none)."""
        return self._text(H_SOFTWARE)

    @property
    def trace(self) -> Trace | None:
        """What its tracing headers say (:attr:`Head.trace`), None when it had none."""
        return self.store.trace(self.index)

    @property
    def complete(self) -> bool:
        """False when the capture ended (or a gap hit) before the message did."""
        return bool(self._small(SM_BITS) & COMPLETE)

    @property
    def inferred(self) -> bool:
        """True for a burst of TLS application data taken for a message (no keys: its head is
        unknown; ``body_bytes`` counts the records' encrypted bytes)."""
        return self._text(H_VERSION) == INFERRED_VERSION

    @property
    def label(self) -> str:
        """Short ladder label: ``GET /x`` or ``200 OK`` (``request? 517 B`` when inferred)."""
        return self.store.label(self.index)

    @property
    def wants_close(self) -> bool:
        """True when the message asks for the connection to be closed after it."""
        return asks_close(self.connection, self.version)

    def __repr__(self) -> str:
        state = f"frame {self.frame}" if self.frame else "incomplete"
        return f"<HttpMessage #{self.index} {self.label!r} from frame {self.first_frame}, {state}>"
