"""CSV of the connection list and of the requests: one row per connection or per request.

Shared by ``katui report --format csv`` / ``--format csv-requests`` and the TUI's ``c``. Times
are plain seconds (numbers a spreadsheet can sort); capture text is escaped like everywhere
else, and a cell a spreadsheet would run as a formula (``=``, ``+``, ``-``, ``@``) is quoted
with a leading ``'``.
"""

from __future__ import annotations

import csv
import io

from katui.model import Connection
from katui.textsafe import safe_text

CONNECTION_COLUMNS = ("stream", "client", "server", "start_s", "duration_s", "requests",
                      "reused", "closed_by", "close_how", "idle_before_close_s", "reason",
                      "asked_by", "close_frame", "first_frame", "last_frame", "frames",
                      "bytes_c2s", "bytes_s2c", "explanation")  # fmt: skip
REQUEST_COLUMNS = ("stream", "n", "request_frame", "response_frame", "method", "uri", "host",
                   "status", "reused", "pipelined", "idle_before_s", "ttfb_s",
                   "request_first_frame")  # fmt: skip
"""(``request_frame`` is the frame a request ended in, empty for one that never ended;
``request_first_frame`` the one it began in, as in the JSON.)"""


def cell(value) -> str:
    """One CSV cell: '' for None, seconds as plain numbers, text escaped and never a formula."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int | float):
        return str(value)
    text = safe_text(str(value))
    return f"'{text}" if text[:1] in ("=", "+", "-", "@") else text


def _s(ns: int | None) -> str | None:
    """Seconds with microseconds, never in exponent notation (``0.000054``)."""
    return None if ns is None else f"{ns / 1e9:.6f}"


def connection_row(a, c: Connection) -> list:
    """The cells of one connection (see :data:`CONNECTION_COLUMNS`)."""
    k = c.close
    return [c.stream, c.client, c.server, _s(a.rel(c.start_ns)), _s(c.duration_ns), c.requests,
            c.reused, k.by or "open", k.how, _s(k.idle_before_ns), k.reason, k.asked_by, k.frame,
            c.first_frame, c.last_frame, c.frame_count, c.bytes_c2s, c.bytes_s2c,
            k.explanation]  # fmt: skip


def request_rows(c: Connection):
    """The cells of each request of ``c`` (see :data:`REQUEST_COLUMNS`)."""
    for e in c.exchanges:
        req, resp = e.request, e.response
        yield [c.stream, e.n, req.frame if req else None, resp.frame if resp else None,
               req.method if req else None, req.uri if req else None, req.host if req else None,
               resp.status if resp else None, bool(e.reused), bool(e.pipelined), _s(e.idle_before_ns),
               _s(e.ttfb_ns), req.first_frame if req else None]  # fmt: skip


BATCH = 500
"""Rows per piece: large enough that the csv module's C writer does the work, small enough that a
load test's CSV never sits in memory whole."""


def _pieces(head, rows, progress=None, total: int = 0):
    """The CSV text of ``head`` and ``rows`` in pieces of :data:`BATCH` rows (see :func:`chunks`)."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(head)
    for i, row in enumerate(rows):
        if i % BATCH == 0:
            if progress is not None:
                progress(i, total)
            if i:
                yield buf.getvalue()
                buf.seek(0)
                buf.truncate()
        writer.writerow([cell(v) for v in row])
    yield buf.getvalue()


def chunks(a, streams: list[int] | None = None, progress=None):
    """The connection list (``streams`` in that order, or all) as CSV, in pieces written as they
    are made, as the JSON is: memory stays flat however many connections there are.

    ``progress(done, total)`` is called every :data:`BATCH` connections (it may raise to cancel)."""
    conns = a.connections if streams is None else [a.connections[s] for s in streams]
    return _pieces(CONNECTION_COLUMNS, (connection_row(a, c) for c in conns), progress, len(conns))


def request_chunks(a, streams: list[int] | None = None, progress=None):
    """Every request of the connections (``streams`` or all) as CSV, in pieces (see :func:`chunks`;
    progress counts connections)."""
    conns = a.connections if streams is None else [a.connections[s] for s in streams]

    def rows():
        for i, c in enumerate(conns):
            if progress is not None and i % BATCH == 0:
                progress(i, len(conns))
            yield from request_rows(c)

    return _pieces(REQUEST_COLUMNS, rows())


def render(a, streams: list[int] | None = None, progress=None) -> str:
    """The connection list (``streams`` in that order, or all) as one CSV string."""
    return "".join(chunks(a, streams, progress))


def render_requests(a, streams: list[int] | None = None, progress=None) -> str:
    """Every request of the connections (``streams`` or all) as one CSV string."""
    return "".join(request_chunks(a, streams, progress))
