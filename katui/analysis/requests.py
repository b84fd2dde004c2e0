"""Every request of a capture in one list (as mitmproxy's flow list): order, filter, cells.

Pure Python (no Textual). A load test has hundreds of thousands of requests, so a row is a
``(connection, exchange)`` pair made once per capture (:func:`all_requests`, cached in the
analysis); cells are computed only for the rows on screen (:func:`request_cells`).

The filter is the connection list's language (:mod:`katui.analysis.query`), read per request
where a word is about a request: ``status``, ``uri``, ``host``, ``method``, ``idle`` (idle before
this request), ``reused`` and ``pipelined`` (this request), ``problem`` (the request the close
verdict is about is a problem), a free number (the stream, a port or this status) and free text
(addresses, this URI and Host, the close reason). Every other word tests the request's connection.
"""

from __future__ import annotations

from katui.analysis.h2close import never_processed
from katui.analysis.query import (
    Query,
    Term,
    compare,
    endpoint_matches,
    port_of,
    term_matches,
)
from katui.model import PROBLEM_REASONS, Connection, Exchange, reason_label
from katui.units import fmt_bytes, fmt_s

Row = tuple[Connection, Exchange]
"""One request: its connection and its exchange."""

SORT_KEYS = ("time", "stream", "status", "ttfb", "idle", "size", "method", "uri")
"""Orders of the request list (``o`` cycles them)."""

COLUMNS = ("time", "stream", "#", "method", "status", "uri", "verdict", "ttfb", "reuse", "idle",
           "sent", "received")  # fmt: skip
"""What identifies a request first: at 80 columns the URI (cut) and the verdict stay visible."""


NOT_CAPTURED, NO_REQUEST = "(request not captured)", "(no request)"
"""What stands for the request of a response without one: the capture missed it, or (the
connection seen whole from its handshake, no request before) the client sent none, as when a
server answers a silent connection with 408 at its request timeout."""


def missing_request(conn: Connection, ex: Exchange) -> str:
    """:data:`NO_REQUEST` or :data:`NOT_CAPTURED` for ``ex``, an exchange without a request."""
    if conn.handshake_rtt_ns is None or conn.lost_segments or conn.truncated_frames:
        return NOT_CAPTURED
    if ex.resp >= 0 and ex.store.status(ex.resp) == 408:
        return NO_REQUEST  # a server's request timeout, answering silence (a first or a later one)
    for e in conn.exchanges:  # (rare rows: a scan of the connection's exchanges is fine)
        if e.req >= 0:
            return NOT_CAPTURED  # a request came before it: the one it answers was missed
        if e.resp == ex.resp:
            return NO_REQUEST
    return NOT_CAPTURED


def request_time(ex: Exchange) -> int:
    """When the request started (its first byte), else when the response did (ns)."""
    return ex.store.start_ns(ex.req if ex.req >= 0 else ex.resp)


def all_requests(analysis) -> list[Row]:
    """Every exchange of the capture in the order the requests were sent (cached)."""
    rows = analysis.cache.get("requests")
    if rows is None:
        rows = [(c, e) for c in analysis.connections for e in c.exchanges]
        rows.sort(key=lambda r: request_time(r[1]))
        analysis.cache["requests"] = rows
    return rows


NEVER_PROCESSED = "never processed"
"""The verdict of an HTTP/2 request its server refused or left above its GOAWAY's last stream."""


def verdict(conn: Connection, ex: Exchange) -> str:
    """The close reason when it is about this request (``Close.exchange``), ``never processed``
    for an HTTP/2 request the server refused or never took up, else ''."""
    if conn.close.exchange == ex.n:
        return reason_label(conn.close.reason)
    if conn.http2 is not None and ex.req >= 0 and never_processed(conn, ex):
        return NEVER_PROCESSED
    return ""


def widths(rows: list[Row]) -> dict[str, int]:
    """Widths of the columns whose cells vary in length: stream, request number, verdict."""
    verdicts = {c.close.reason for c, e in rows if c.close.exchange == e.n}
    refused = any(c.http2 is not None and verdict(c, e) == NEVER_PROCESSED for c, e in rows)
    return {
        "stream": len(str(max((c.stream for c, _ in rows), default=0))),
        "#": len(str(max((e.n for _, e in rows), default=0))),
        "verdict": max(
            [len(reason_label(r)) for r in verdicts] + [len(NEVER_PROCESSED)] * refused, default=0
        ),
    }


def _status(ex: Exchange) -> int | None:
    return ex.store.status(ex.resp) if ex.resp >= 0 else None


def _size(ex: Exchange) -> int:
    return ex.store.row(ex.resp)[5] if ex.resp >= 0 else -1


def sort_key(name: str):
    """Key function over :data:`Row` for one of :data:`SORT_KEYS`."""
    return {
        "time": lambda r: request_time(r[1]),
        "stream": lambda r: (r[0].stream, r[1].n),
        "status": lambda r: _status(r[1]) or 0,
        "ttfb": lambda r: r[1].ttfb_ns if r[1].ttfb_ns is not None else -1,
        "idle": lambda r: r[1].idle_before_ns if r[1].idle_before_ns is not None else -1,
        "size": lambda r: _size(r[1]),
        "method": lambda r: r[1].store.method(r[1].req) if r[1].req >= 0 else "",
        "uri": lambda r: r[1].store.row(r[1].req)[6] if r[1].req >= 0 else "",
    }[name]


def select(rows: list[Row], q: Query, sort: str = "time", reverse: bool = False) -> list[Row]:
    """The requests matching ``q``, in the order ``sort``."""
    out = [r for r in rows if request_matches(r[0], r[1], q)] if q.active else list(rows)
    if sort != "time" or reverse:
        out.sort(key=sort_key(sort), reverse=reverse)
    return out


def request_matches(conn: Connection, ex: Exchange, q: Query) -> bool:
    """True when the request passes every word of ``q`` (see the module docstring)."""
    return all(_term(conn, ex, t) != t.negate for t in q.terms)


def _term(conn: Connection, ex: Exchange, t: Term) -> bool:
    f, v = t.field, t.value
    req = ex.request
    if f == "status":
        status = _status(ex)
        if isinstance(v, str):
            return status is not None and all(p in ("x", c) for p, c in zip(v, str(status), strict=False))
        return compare(status, t.op, v)
    if f in ("uri", "host", "method"):
        have = "" if req is None else getattr(req, f).lower()
        return have == v if f == "method" else v in have
    if f == "idle":
        return compare(ex.idle_before_ns, t.op, v)
    if f == "reused":
        return bool(ex.reused)
    if f == "pipelined":
        return bool(ex.pipelined)
    if f == "problem":
        said = verdict(conn, ex)
        refused = said == NEVER_PROCESSED
        return (bool(said) and conn.close.reason in PROBLEM_REASONS) or refused or ex.gateway_error
    if f == "word":
        return _word(conn, ex, v)
    return term_matches(conn, t)


def _word(conn: Connection, ex: Exchange, word: str) -> bool:
    if word.isdigit():
        n = int(word)
        return n in (conn.stream, port_of(conn.client), port_of(conn.server), _status(ex))
    if any(endpoint_matches(e, word) for e in (conn.client, conn.server)) or word in conn.close.reason:
        return True
    req = ex.request
    return req is not None and (word in req.uri.lower() or word in req.host.lower())


def request_cells(analysis, conn: Connection, ex: Exchange, time: str) -> tuple[str, ...]:
    """The cells of one request row (``time`` already formatted by the caller's time mode)."""
    req, resp = ex.request, ex.response
    return (
        time,
        str(conn.stream),
        str(ex.n),
        req.method if req else "-",
        str(resp.status) if resp else "-",
        req.uri if req else missing_request(conn, ex),
        verdict(conn, ex),
        fmt_s(ex.ttfb_ns),
        "↻" if ex.reused else "",
        fmt_s(ex.idle_before_ns) if ex.reused else "",
        fmt_bytes(req.head_bytes + req.body_bytes) if req else "-",
        fmt_bytes(resp.head_bytes + resp.body_bytes) if resp else "-",
    )
