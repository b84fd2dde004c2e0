"""The JSON of a connection's requests, written straight from the message store's columns.

A load-test capture has hundreds of thousands of requests: each is written with one format
string from its store rows (no message views, no dict), and the pieces that a load test repeats
(method, host, version, status, reason, connection headers: one shared head tuple per
combination) are made once per head and reused.
"""

from __future__ import annotations

import json

from katui.memo import remember
from katui.model import CHUNKED, COMPLETE
from katui.model.connection import NO_FRAME, NO_TS
from katui.model.exchange import NO_IDLE, Exchange
from katui.model.store import (
    COL_BODY,
    COL_END,
    COL_START,
    NUM,
    SM_BITS,
    SM_FIRST,
    SM_FRAME,
    SM_STATUS,
    SMALL,
)
from katui.units import EXACT_NS

_str = json.encoder.encode_basestring_ascii  # C: quoted, escaped, ASCII-only
MAX_CACHED = 4096
"""Head pieces kept per writer (hostile captures may make every head unique: then none is kept)."""


_MICROS = tuple(repr(round(us * 1000 / 1e9, 6)) for us in range(101))
"""What :func:`sec` says of each whole number of microseconds up to 1e-4 s (``5.1e-05``)."""


_PAD3 = tuple(f"{k:03d}" for k in range(1000))
_TRIM3 = ("0",) + tuple(f"{k:03d}".rstrip("0") for k in range(1, 1000))
"""Three decimals of a fraction: all (``050``), and without trailing zeros (``05``; ``0`` for
none, so that a whole number of seconds reads ``2.0``)."""
SHORT_NS = EXACT_NS
"""Below this :func:`sec` rounds to microseconds with integers (see ``EXACT_NS``)."""


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
    if not 100_000 <= ns < 4_000_000_000_000_000_000:
        if 0 <= ns < 100_000 and ns % 1000 != 500:
            # Loopback's idle times and TTFBs: a few microseconds (most of a load test's).
            n = ns
            return _MICROS[(n + 500) // 1000]
        return repr(round(ns / 1e9, 6))
    n = ns  # compiled: a C integer from here (jsonrows.pxd)
    if n < SHORT_NS and n % 1000 != 500:
        us = (n + 500) // 1000
        whole, frac = us // 1_000_000, us % 1_000_000
        hi, lo = frac // 1000, frac % 1000
        return f"{whole}.{_TRIM3[hi]}" if lo == 0 else f"{whole}.{_PAD3[hi]}{_TRIM3[lo]}"
    text = ("%.6f" % (ns / 1e9)).rstrip("0")
    return text + "0" if text[-1] == "." else text


_BOOL = ("false", "true")
_EXCHANGE_BITS = tuple(f'"reused":{_BOOL[r]},"pipelined":{_BOOL[p]}' for r in (0, 1) for p in (0, 1))
_RESPONSE_BITS = {
    bits: f'"chunked":{_BOOL[bool(bits & CHUNKED)]},"response_complete":{_BOOL[bool(bits & COMPLETE)]}'
    for bits in (0, CHUNKED, COMPLETE, CHUNKED | COMPLETE)
}


def _opt(v) -> str:
    return "null" if v is None else (_str(v) if isinstance(v, str) else str(v))


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


_EXPLANATIONS: dict[str, str] = {}


def _explanation(text: str) -> str:
    """:func:`value` of a close's explanation, remembered (bounded: hostile captures may make
    every one different)."""
    out = _EXPLANATIONS.get(text)
    return remember(_EXPLANATIONS, text, value(text), MAX_CACHED) if out is None else out


def connection_head(a, c, role: dict | None) -> str:
    """A connection's object in the JSON schema without its requests and closing brace: the
    fields of ``jsonout._connection_fields`` (but ``tls`` and ``http2``) as its encoder writes
    them, written directly (a load test has tens of thousands of connections). Frame numbers
    and counts are ints (the model's annotations); the fields that may be None, bool or str go
    through :func:`value`. The close's frame and time are read from its C fields, its
    explanation (one of a few sentences a load test repeats) encoded once."""
    cl = c.close
    first_ns = a.first_ns
    frame, ts = cl._frame, cl._ts  # Close.frame, Close.ts_ns
    return (
        f'{{"stream":{c.stream},"client":{value(c.client)},"server":{value(c.server)},'
        f'"client_inferred":{value(c.client_inferred)},"first_frame":{c.first_frame},'
        f'"last_frame":{c.last_frame},"frame_count":{c.frame_count},'
        f'"frames_client":{c.frames_c2s},"frames_server":{c.frames_s2c},'
        f'"bytes_client":{c.bytes_c2s},"bytes_server":{c.bytes_s2c},'
        f'"start":{sec(c.start_ns - first_ns)},"start_time":{sec(c.start_ns)},'
        f'"duration":{sec(c.duration_ns)},"handshake_rtt":{sec(c.handshake_rtt_ns)},'
        f'"state":{value(c.state)},"http":{value(c.http)},'
        f'"close":{{"by":{value(cl.by)},"how":{value(cl.how)},'
        f'"frame":{"null" if frame == NO_FRAME else frame},'
        f'"time":{"null" if ts == NO_TS else sec(ts - first_ns)},'
        f'"idle_before":{sec(cl.idle_before_ns)},"reason":{value(cl.reason)},'
        f'"asked_by":{value(cl.asked_by)},"explanation":{_explanation(cl.explanation)},'
        f'"evidence":[{",".join([value(x) for x in cl.evidence])}],"wait":{sec(cl.wait_ns)},'
        f'"status":{value(cl.status)},"request":{value(cl.exchange)},'
        f'"rst_frames":[{",".join([value(x) for x in cl.rst_frames])}]}},'
        f'"tcp":{{"retransmissions":{c.retransmissions},"out_of_order":{c.out_of_order},'
        f'"lost_segments":{c.lost_segments},"truncated_frames":{c.truncated_frames}}},'
        f'"http_error":{value(c.http_error)},"proxy":{value(role)}'
    )


def _ttfb(e, small, num) -> str:
    """:func:`sec` of ``e.ttfb_ns`` (the same reading of the rows)."""
    req, resp = e.req, e.resp
    if req < 0 or resp < 0 or not small[req * SMALL + SM_FRAME]:
        return "null"  # no response, or the request never completed
    first = e.informational[0].index if e.informational else resp
    return sec(num[first * NUM + COL_START] - num[req * NUM + COL_END])


class RequestWriter:
    """Writes exchanges as the JSON of :func:`katui.report.jsonout._request_json` (the fields of
    the schema, compact, ASCII), caching the pieces of each shared head tuple and the JSON of
    each shared URI, by their index in the store's tables (an int key: a head tuple's hash is
    seven strings' hashes)."""

    __slots__ = ("first_ns", "_req", "_resp", "_uri", "_store", "_heads", "_head_ix", "_uris", "_uri_ix")

    def __init__(self, first_ns: int) -> None:
        self.first_ns = first_ns
        self._req: dict[int, tuple[str, str, str]] = {}
        self._resp: dict[int, tuple[int, str]] = {}
        self._uri: dict[int, str] = {}
        # The store's string tables and index columns (one store per capture): looked up once.
        self._store = self._heads = self._head_ix = self._uris = self._uri_ix = None

    def _use(self, store) -> None:
        """Read ``store``'s tables from now on (the cached pieces are by their indexes)."""
        self._store, self._heads, self._head_ix = store, store.head_table, store.head_ix
        self._uris, self._uri_ix = store.uri_table, store.uri_ix
        self._req, self._resp, self._uri = {}, {}, {}

    def _req_pieces(self, ix: int) -> tuple[str, str, str]:
        # What follows "request_first_frame":N, around the URI and the time.
        version, method, _reason, connection, _keep_alive, host, _software = self._heads[ix]
        pieces = (
            f',"method":{_str(method)},"uri":',
            f',"host":{_str(host)},"version":{_str(version)},"time":',
            f',"request_connection":{_opt(connection)},"request_complete":',
        )
        return remember(self._req, ix, pieces, MAX_CACHED)

    def _uri_json(self, ix: int) -> str:
        return remember(self._uri, ix, _str(self._uris[ix]), MAX_CACHED)

    def _resp_piece(self, status: int, ix: int) -> tuple[int, str]:
        # What follows "response_first_frame":N, up to the body size.
        version, _method, reason, connection, keep_alive, _host, _software = self._heads[ix]
        piece = (
            status,
            f',"status":{status},"reason":{_str(reason)},"response_version":{_str(version)},'
            f'"response_connection":{_opt(connection)},"keep_alive":{_opt(keep_alive)},"body_bytes":',
        )
        return remember(self._resp, ix, piece, MAX_CACHED)

    def plain(self, exchanges) -> str | None:
        """The items of a connection's ``"requests"`` array, comma-separated, when all its
        exchanges are plain HTTP/1 ones (written by :meth:`exchange` alone: most of a load
        test's); None when one is not (inferred, with a 1xx, an HTTP/2 stream)."""
        out = []
        for e in exchanges:
            if type(e) is not Exchange or e.informational:
                return None
            out.append(self.exchange(e))
        return "},".join(out) + "}" if out else ""

    def exchange(self, e) -> str:
        """One HTTP/1 or HTTP/2 exchange up to (not including) its closing brace and the fields
        that only some have (informational, stream, proxy legs)."""
        req, resp, store = e.req, e.resp, e.store
        small, num = store.small, store.num
        if store is not self._store:
            self._use(store)
        # Exchange.idle_before_ns and ttfb_ns read from the exchange's fields and the rows
        # (compiled: C fields, not a property call each).
        idle = e._idle
        out = (
            f'{{"n":{e.n},{_EXCHANGE_BITS[e.reused * 2 + e.pipelined]},'
            f'"idle_before":{"null" if idle == NO_IDLE else sec(idle)},"ttfb":{_ttfb(e, small, num)}'
        )
        if req >= 0:
            s, ix, u = req * SMALL, self._head_ix[req], self._uri_ix[req]
            pieces = self._req.get(ix) or self._req_pieces(ix)
            out += (
                f',"request_frame":{small[s + SM_FRAME] or "null"},"request_first_frame":'
                f"{small[s + SM_FIRST]}{pieces[0]}{self._uri.get(u) or self._uri_json(u)}{pieces[1]}"
                f"{sec(num[req * NUM + COL_START] - self.first_ns)}{pieces[2]}"
                f"{_BOOL[bool(small[s + SM_BITS] & COMPLETE)]}"
            )
        else:
            out += ',"request_frame":null,"method":null,"uri":null'
        if resp >= 0:
            s, ix = resp * SMALL, self._head_ix[resp]
            status = small[s + SM_STATUS]
            piece = self._resp.get(ix)
            if piece is None or piece[0] != status:
                piece = self._resp_piece(status, ix)
            out += (
                f',"response_frame":{small[s + SM_FRAME] or "null"},"response_first_frame":'
                f"{small[s + SM_FIRST]}{piece[1]}{num[resp * NUM + COL_BODY]},"
                f"{_RESPONSE_BITS[small[s + SM_BITS] & (CHUNKED | COMPLETE)]}"
            )
        else:
            out += ',"response_frame":null,"status":null'
        return out
