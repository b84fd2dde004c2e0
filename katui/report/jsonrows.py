"""The JSON of connections and their requests, written straight from the model's fields and the
message store's columns.

A load-test capture has tens of thousands of connections and hundreds of thousands of requests:
each request is written with a few format strings from its store rows (no message views, no
dict), and the pieces that a load test repeats (method, host, version, status, reason,
connection headers: one shared head tuple per combination; URIs; close reasons) are made once
and reused. Connections whose requests are all plain HTTP/1 ones are written as a list of
pieces, joined once per :data:`BATCH` pieces (:meth:`RequestWriter.batch`).
"""

from __future__ import annotations

import json

from katui.memo import remember
from katui.model import CHUNKED, COMPLETE
from katui.model.connection import NO_TS, rare_fields
from katui.model.exchange import NO_IDLE, PIPELINED, REUSED, Exchange, ExchangeRun
from katui.model.store import (
    COL_START,
    END_BIG,
    NUM,
    SM_BITS,
    SM_END,
    SM_FIRST,
    SM_FRAME,
    SM_STATUS,
    SMALL,
    body_at,
    end_at,
    ix_at,
)
from katui.units import EXACT_NS

_str = json.encoder.encode_basestring_ascii  # C: quoted, escaped, ASCII-only
MAX_CACHED = 4096
"""Pieces kept per cache (hostile captures may make every head, URI or text unique: then only
the first ones are kept)."""
BATCH = 1 << 13
"""Pieces of plain connections joined into one piece of the report (some 100 KB, a write)."""


_MICROS = tuple(repr(round(us * 1000 / 1e9, 6)) for us in range(101))
"""What :func:`sec` says of each whole number of microseconds up to 1e-4 s (``5.1e-05``)."""


_TRIM3 = ("0",) + tuple(f"{k:03d}".rstrip("0") for k in range(1, 1000))
_DOT_PAD3 = tuple(f".{k:03d}" for k in range(1000))
_DOT_TRIM3 = tuple("." + t for t in _TRIM3)
"""Three decimals of a fraction: without trailing zeros (``05``; ``0`` for none, so that a
whole number of seconds reads ``2.0``), and after the decimal point: all (``.050``) or
without trailing zeros (``.05``)."""
SHORT_NS = EXACT_NS
"""Below this :func:`sec` rounds to microseconds with integers (see ``EXACT_NS``)."""
LONG_NS = 4_000_000_000_000_000_000
"""From here on (and below 0) :func:`sec` is the float's ``repr`` itself."""


def sec(ns: int | None) -> str:
    """``repr(round(ns / 1e9, 6))`` (``null`` for None), the seconds of the JSON schema, made
    faster. Both round the float's exact value to 6 decimals in the same routine (``%.6f``
    and ``round`` both call dtoa's mode 3), and from 1e-4 s up to 4e9 s ``repr`` of that rounded
    number is its decimal digits without trailing zeros (at most 16 significant digits, and
    floats that far apart). Below :data:`SHORT_NS` the float rounds as the integer does (it is
    nearer to ns / 1e9 than ns / 1e9 is to any microsecond's half but an exact one), so those
    digits are the whole microseconds, rounded, in integers: all but exact halves (``..500``
    ns: the float decides). Below 1e-4 s (``5.1e-05``) the same rounding picks one of 101
    strings. Negative, huge or an exact half below 1e-4 s: the original."""
    if ns is None:
        return "null"
    if 0 <= ns < LONG_NS:
        return _secs(ns)
    return _float_secs(ns)


def _float_secs(ns: int) -> str:
    """:func:`sec` as the schema defines it (Python integers: any size)."""
    return repr(round(ns / 1e9, 6))


def _secs(ns: int) -> str:
    """:func:`sec` of an int (compiled: a 64-bit C integer, as the model's times are)."""
    if not 100_000 <= ns < LONG_NS:
        if 0 <= ns < 100_000 and ns % 1000 != 500:
            # Loopback's idle times and TTFBs: a few microseconds (most of a load test's).
            return _MICROS[(ns + 500) // 1000]
        return _float_secs(ns)
    if ns >= SHORT_NS:
        return _micros_text(_float_micros(ns))
    if ns % 1000 != 500:
        return _micros_text((ns + 500) // 1000)
    text = ("%.6f" % (ns / 1e9)).rstrip("0")
    return text + "0" if text[-1] == "." else text


def _micros_text(us: int) -> str:
    """``us`` microseconds as seconds, without trailing zeros (``2.0``, ``2.05``)."""
    whole, frac = us // 1_000_000, us % 1_000_000
    hi, lo = frac // 1000, frac % 1000
    return f"{whole}{_DOT_TRIM3[hi]}" if lo == 0 else f"{whole}{_DOT_PAD3[hi]}{_TRIM3[lo]}"


def _span_pieces(parts: list, later: int, earlier: int) -> None:
    """Append :func:`_span` to ``parts``; most times (0.1 ms to days) as their pieces, the
    text of :func:`_micros_text` not made."""
    if (later < 0) != (earlier < 0):
        parts.append(_wide_span(later, earlier))
        return
    ns = later - earlier
    if not (100_000 <= ns < SHORT_NS and ns % 1000 != 500):
        parts.append(_secs(ns))
        return
    us = (ns + 500) // 1000
    frac = us % 1_000_000
    hi, lo = frac // 1000, frac % 1000
    parts.append(_int(us // 1_000_000))
    if lo == 0:
        parts.append(_DOT_TRIM3[hi])
    else:
        parts.append(_DOT_PAD3[hi])
        parts.append(_TRIM3[lo])


_MANTISSA = float(1 << 53)


def _float_micros(ns: int) -> int:
    """The microseconds ``"%.6f" % (ns / 1e9)`` writes, for SHORT_NS <= ns < LONG_NS (Unix
    times), in integers. The float is m * 2**(e - 53) for an integer m below 2**53, where
    2**(e - 1) <= float < 2**e (20 <= e <= 32 here), so its microseconds are
    m * 15625 / 2**k, k = 47 - e: m split at bit k, each part's product fits in 64 bits, and
    the remainder rounds half to even, as ``%.6f`` (dtoa) does."""
    d = ns / 1e9
    e, top = 20, 1048576.0  # 2**20
    while d >= top:
        top *= 2.0
        e += 1
    m = int(d * (_MANTISSA / top))  # exact: scaled by a power of two
    k = 47 - e
    low = (m & ((1 << k) - 1)) * 15625
    us = (m >> k) * 15625 + (low >> k)
    rest, half = low & ((1 << k) - 1), 1 << (k - 1)
    return us + 1 if rest > half or (rest == half and us & 1) else us


def _span(later: int, earlier: int) -> str:
    """:func:`sec` of ``later - earlier``, two 64-bit times (compiled: subtracted in C when
    the difference cannot overflow, both on the same side of zero)."""
    if (later < 0) == (earlier < 0):
        return _secs(later - earlier)
    return _wide_span(later, earlier)


def _wide_span(later: int, earlier: int) -> str:
    """:func:`_span` in Python integers (compiled: the arguments are objects)."""
    return sec(later - earlier)


_BOOL = ("false", "true")
_EXCHANGE_BITS = tuple(
    f',"reused":{_BOOL[bool(bits & REUSED)]},"pipelined":{_BOOL[bool(bits & PIPELINED)]},"idle_before":'
    for bits in range((REUSED | PIPELINED) + 1)
)
"""By an exchange's ``REUSED | PIPELINED`` bits (an :class:`ExchangeRun`'s flag column)."""
_RESPONSE_BITS = tuple(
    f',"chunked":{_BOOL[bool(bits & CHUNKED)]},"response_complete":{_BOOL[bool(bits & COMPLETE)]}'
    for bits in range((CHUNKED | COMPLETE) + 1)
)
"""By a message's flag bits masked with ``CHUNKED | COMPLETE``."""


def _opt(v) -> str:
    return "null" if v is None else (_str(v) if isinstance(v, str) else str(v))


_INTS = tuple(str(k) for k in range(1000))
"""The text of small numbers (a request's position, a small body, seconds since frame 1)."""


def _int(v: int) -> str:
    """``str(v)``, from :data:`_INTS` when it is there."""
    return _INTS[v] if 0 <= v < 1000 else f"{v}"


def _frame(frame: int) -> str:
    """A frame number, ``null`` for 0 (none)."""
    return f"{frame}" if frame else "null"


_dump = json.JSONEncoder(ensure_ascii=True, separators=(",", ":")).encode


def value(v) -> str:
    """``v`` as the report's JSON encoder writes it (strings, ints and None directly)."""
    if v is None:
        return "null"
    kind = type(v)
    if kind is str:
        return _str(v)
    if kind is int:
        return str(v)
    # A bool directly: the encoder would make its C encoder anew for each one.
    return ("true" if v else "false") if kind is bool else _dump(v)


_TEXTS: dict[str | None, str] = {}


def _text(v: str | None) -> str:
    """:func:`value` of a text that connections repeat (a server's address, how the client
    side was told, a state, a close's reason and explanation), remembered (bounded: hostile
    captures may make every one different). Only str or None: ``True`` and ``1`` would be one
    key."""
    out = _TEXTS.get(v)
    return remember(_TEXTS, v, value(v), MAX_CACHED) if out is None else out


def connection_head(a, c, role: dict | None) -> str:
    """A connection's object in the JSON schema without its requests and closing brace: the
    fields of ``jsonout._connection_fields`` (but ``tls`` and ``http2``) as its encoder writes
    them, written directly (a load test has tens of thousands of connections). Frame numbers
    and counts are ints (the model's annotations); the fields that may be None, bool or str go
    through :func:`value` (:func:`_text` for those a load test repeats). The close's frame and
    time are read from its C fields."""
    cl = c.close
    first_ns = a.first_ns
    frame, ts = cl._frame, cl._ts  # Close.frame, Close.ts_ns
    # Connection.frame_count, duration_ns and handshake_rtt_ns from their C fields (compiled:
    # no property call and no int object each).
    count = c.frames_c2s
    count += c.frames_s2c
    rtt = _secs(c._rtt) if c._rtt_known else "null"
    rst_frames, wait_ns, status = rare_fields(cl)  # Close.rst_frames, wait_ns, status
    return (
        f'{{"stream":{c.stream},"client":{value(c.client)},"server":{_text(c.server)},'
        f'"client_inferred":{_text(c.client_inferred)},"first_frame":{c.first_frame},'
        f'"last_frame":{c.last_frame},"frame_count":{count},'
        f'"frames_client":{c.frames_c2s},"frames_server":{c.frames_s2c},'
        f'"bytes_client":{c.bytes_c2s},"bytes_server":{c.bytes_s2c},'
        f'"start":{_span(c.start_ns, first_ns)},"start_time":{_secs(c.start_ns)},'
        f'"duration":{_span(c.end_ns, c.start_ns)},"handshake_rtt":{rtt},'
        f'"state":{_text(c.state)},"http":{value(c.http)},'
        f'"close":{{"by":{_text(cl.by)},"how":{_text(cl.how)},"frame":{_frame(frame)},'
        f'"time":{"null" if ts == NO_TS else _span(ts, first_ns)},'
        f'"idle_before":{sec(cl.idle_before_ns)},"reason":{_text(cl.reason)},'
        f'"asked_by":{_text(cl.asked_by)},"explanation":{_text(cl.explanation)},'
        f'"evidence":[{",".join([value(x) for x in cl.evidence])}],"wait":{sec(wait_ns)},'
        f'"status":{value(status)},"request":{value(cl.exchange)},'
        f'"rst_frames":[{",".join([value(x) for x in rst_frames])}]}},'
        f'"tcp":{{"retransmissions":{c.retransmissions},"out_of_order":{c.out_of_order},'
        f'"lost_segments":{c.lost_segments},"truncated_frames":{c.truncated_frames}}},'
        f'"http_error":{value(c.http_error)},"proxy":{value(role)}'
    )


def _cached(cache: list, ix: int):
    """``cache[ix]``, None when not made yet."""
    return cache[ix] if ix < len(cache) else None


def _kept(cache: list, ix: int, piece):
    """Keep ``piece`` as ``cache[ix]`` (the list grown with None up to it) when ``ix`` is below
    :data:`MAX_CACHED`; return it."""
    if ix < MAX_CACHED:
        if ix >= len(cache):
            cache.extend([None] * (ix + 1 - len(cache)))
        cache[ix] = piece
    return piece


class RequestWriter:
    """Writes exchanges as the JSON of :func:`katui.report.jsonout._request_json` (the fields of
    the schema, compact, ASCII), caching the pieces of each shared head tuple and the JSON of
    each shared URI by their index in the store's tables; and whole connections whose requests
    are all plain HTTP/1 ones (:meth:`batch`). Compiled, the store's columns are read as typed
    memory views (C integers, bounds-checked)."""

    __slots__ = ("first_ns", "_req", "_resp", "_uri", "_store", "_heads", "_uris", "_small", "_num",
                 "_head_ix", "_uri_ix")  # fmt: skip

    def __init__(self, first_ns: int) -> None:
        self.first_ns = first_ns
        self._req: list[tuple[str, str, str] | None] = []
        self._resp: list[tuple[int, str] | None] = []
        self._uri: list[str | None] = []
        self._store = None  # the store whose tables and columns the others are (one per capture)

    def _use(self, store) -> None:
        """Read ``store``'s tables from now on (the cached pieces are by their indexes)."""
        self._store, self._heads, self._uris = store, store.head_table, store.uri_table
        self._small, self._num = store.small, store.num
        self._head_ix, self._uri_ix = store.head_ix, store.uri_ix
        self._req, self._resp, self._uri = [], [], []

    def _req_pieces(self, ix: int) -> tuple[str, str, str]:
        # What follows "request_first_frame":N, around the URI and the time.
        got = _cached(self._req, ix)
        if got is not None:
            return got
        version, method, _reason, connection, _keep_alive, host, _software = self._heads[ix]
        pieces = (
            f',"method":{_str(method)},"uri":',
            f',"host":{_str(host)},"version":{_str(version)},"time":',
            f',"request_connection":{_opt(connection)},"request_complete":',
        )
        return _kept(self._req, ix, pieces)

    def _uri_json(self, ix: int) -> str:
        got = _cached(self._uri, ix)
        if got is not None:
            return got
        uris = self._uris  # the shared URIs; the store reads the others from its blob
        return _kept(self._uri, ix, _str(uris[ix] if ix < len(uris) else self._store.uri_at(ix)))

    def _resp_piece(self, status: int, ix: int) -> str:
        # What follows "response_first_frame":N, up to the body size.
        got = _cached(self._resp, ix)
        if got is not None and got[0] == status:
            return got[1]
        version, _method, reason, connection, keep_alive, _host, _software = self._heads[ix]
        piece = (
            f',"status":{status},"reason":{_str(reason)},"response_version":{_str(version)},'
            f'"response_connection":{_opt(connection)},"keep_alive":{_opt(keep_alive)},"body_bytes":'
        )
        return _kept(self._resp, ix, (status, piece))[1]

    def batch(self, a, conns: list, start: int, roles: dict) -> tuple[str, int]:
        """The JSON of ``conns[start:]`` (each but ``conns[0]`` after a comma), some
        :data:`BATCH` pieces, and the index of the first connection not written: the end, or
        one that is not plain (TLS, HTTP/2, a proxy's, an exchange that is not plain HTTP/1:
        inferred, with a 1xx), which the caller writes. Most of a load test's connections are
        plain: written here alone, in one string per batch."""
        parts: list[str] = []
        i = start
        while i < len(conns) and len(parts) < BATCH:
            c = conns[i]
            if c.tls is not None or c.http2 is not None or (roles and c.stream in roles):
                break
            mark = len(parts)
            if i:
                parts.append(",")
            if not self._connection(a, c, parts):
                del parts[mark:]
                break
            i += 1
        return "".join(parts), i

    def _connection(self, a, c, parts: list) -> bool:
        """Append the pieces of ``c``'s JSON to ``parts``; False (and some pieces appended)
        when one of its exchanges is not plain."""
        parts.append(connection_head(a, c, None))
        exchanges = c.exchanges
        if not exchanges:
            parts.append(',"requests":[]}')
            return True
        if isinstance(exchanges, ExchangeRun):  # plain: read from its columns, no object made
            run = exchanges
            for k in range(len(run)):
                resp = run.resp_at(k)
                opening = ',"requests":[{"n":' if k == 0 else '},{"n":'
                idle, at, bits = run.idle_at(k), run.n_at(k), run.flags_at(k)
                self._row(run.store, idle, at, bits, run.req_at(k), resp, resp, parts, opening)
        else:
            first = True
            for e in exchanges:
                if type(e) is not Exchange or e.informational:
                    return False
                self._exchange(e, parts, ',"requests":[{"n":' if first else '},{"n":')
                first = False
        parts.append("}]}")
        return True

    def exchange(self, e) -> str:
        """One HTTP/1 or HTTP/2 exchange up to (not including) its closing brace and the fields
        that only some have (informational, stream, proxy legs)."""
        parts: list[str] = []
        self._exchange(e, parts, '{"n":')
        return "".join(parts)

    def _exchange(self, e, parts: list, opening: str) -> None:
        """Append ``opening`` (what precedes the exchange's number) and the pieces of
        :meth:`exchange` to ``parts``."""
        # Exchange.idle_before_ns and ttfb_ns read from the exchange's fields and the rows
        # (compiled: C fields, not a property call each).
        first = e.informational[0].index if e.informational else e.resp
        bits = (REUSED if e.reused else 0) | (PIPELINED if e.pipelined else 0)
        self._row(e.store, e._idle, e.n, bits, e.req, e.resp, first, parts, opening)

    def _row(
        self, store, idle: int, n: int, bits: int, req: int, resp: int, first: int, parts: list, opening: str
    ) -> None:
        """:meth:`_exchange` of an exchange's fields (an :class:`ExchangeRun`'s columns):
        ``bits`` its ``REUSED | PIPELINED``, ``first`` the row of its first response (1xx or
        final)."""
        if store is not self._store:
            self._use(store)
        parts.append(opening)
        parts.append(_int(n))
        parts.append(_EXCHANGE_BITS[bits])
        if idle == NO_IDLE:
            parts.append('null,"ttfb":')
        else:
            _span_pieces(parts, idle, 0)
            parts.append(',"ttfb":')
        self._ttfb(req, resp, first, parts)
        if req < 0:
            parts.append(',"request_frame":null,"method":null,"uri":null')
        else:
            self._request(req, parts)
        if resp < 0:
            parts.append(',"response_frame":null,"status":null')
        else:
            self._response(resp, parts)

    def _ttfb(self, req: int, resp: int, first: int, parts: list) -> None:
        """Append :func:`sec` of ``Exchange.ttfb_ns`` (the same reading of the rows; ``first``:
        the row of the first response, 1xx or final)."""
        if req < 0 or resp < 0 or not self._small[req * SMALL + SM_FRAME]:
            parts.append("null")  # no response, or the request never completed
            return
        took = self._small[req * SMALL + SM_END]  # the request's end, after its start (store.end_at)
        end = self._num[req * NUM + COL_START] + took if took != END_BIG else end_at(self._store, req)
        if self._num[first * NUM + COL_START] < end:  # answered before it ended: no TTFB
            parts.append("null")
            return
        _span_pieces(parts, self._num[first * NUM + COL_START], end)

    def _request(self, req: int, parts: list) -> None:
        s = req * SMALL
        pieces = self._req_pieces(ix_at(self._head_ix, req))
        self._frames(',"request_frame":', ',"request_first_frame":', s, parts)
        parts.append(pieces[0])
        parts.append(self._uri_json(ix_at(self._uri_ix, req)))
        parts.append(pieces[1])
        _span_pieces(parts, self._num[req * NUM + COL_START], self.first_ns)
        parts.append(pieces[2])
        parts.append(_BOOL[bool(self._small[s + SM_BITS] & COMPLETE)])

    def _response(self, resp: int, parts: list) -> None:
        s = resp * SMALL
        self._frames(',"response_frame":', ',"response_first_frame":', s, parts)
        parts.append(self._resp_piece(self._small[s + SM_STATUS], ix_at(self._head_ix, resp)))
        parts.append(_int(body_at(self._store, resp)))
        parts.append(_RESPONSE_BITS[self._small[s + SM_BITS] & (CHUNKED | COMPLETE)])

    def _frames(self, last: str, first: str, s: int, parts: list) -> None:
        """Append a message's frame (``last``, null when incomplete) and first frame (often the
        same: one text for both) from its row at ``s``, after their labels."""
        frame, start = self._small[s + SM_FRAME], self._small[s + SM_FIRST]
        text = _frame(frame)
        parts.append(last)
        parts.append(text)
        parts.append(first)
        parts.append(text if start == frame and frame else f"{start}")
