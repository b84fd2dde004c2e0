"""Which connections the list shows and in what order: pure functions, no Textual."""

from __future__ import annotations

from katui.analysis.payload import protocol, short_protocol
from katui.analysis.query import PayloadKind, Query, matches
from katui.model import Connection, reason_label
from katui.units import fmt_s

SORT_KEYS = ("stream", "start", "duration", "requests", "idle", "reason", "proto")


def sort_key(name: str):
    """Key function for sorting connections by one of :data:`SORT_KEYS`."""
    return {
        "stream": lambda c: c.stream,
        "start": lambda c: c.start_ns,
        "duration": lambda c: c.duration_ns,
        "requests": lambda c: c.requests,
        "idle": lambda c: c.close.idle_before_ns if c.close.idle_before_ns is not None else -1,
        "reason": lambda c: c.close.reason,
        "closed": lambda c: (c.close.by or "", c.close.how or ""),
        "client": lambda c: c.client,
        "server": lambda c: c.server,
        "proto": protocol,
    }[name]


def select(conns: list[Connection], q: Query, sort: str = "stream", reverse=False,
           kind: PayloadKind | None = None) -> list[Connection]:  # fmt: skip
    """Connections matching the filter ``q``, sorted (``kind`` tells TLS from other payloads)."""
    out = [c for c in conns if matches(c, q, kind)] if q.active else list(conns)
    if sort != "stream" or reverse:
        out.sort(key=sort_key(sort), reverse=reverse)
    return out


COLUMNS = ("#", "reuse", "req", "closed by", "idle→close", "server", "reason", "proto", "client",
           "start", "duration")  # fmt: skip
"""The server comes before the client: at 80 columns it is the one that must stay visible; the
protocol, in its short form (``TLS1.3·h2``), comes right after the reason."""
COLUMN_SORT = {"#": "stream", "reuse": "requests", "req": "requests", "closed by": "closed",
               "idle→close": "idle", "reason": "reason", "proto": "proto", "client": "client",
               "server": "server", "start": "start", "duration": "duration"}  # fmt: skip
"""The sort key a click on a column heading chooses."""


def closed_by(conn: Connection) -> str:
    """The reports' ``server FIN`` / ``open``, with ``✖`` on resets and problems."""
    return closed_by_cell(conn.close.by, conn.close.how, conn.close.reason)


def closed_by_cell(by: str | None, how: str | None, reason: str) -> str:
    """:func:`closed_by` from the close's fields (the list measures its column with it).

    Only a reset is marked here: in a stale reuse the FIN was normal (the reason column marks
    the problem)."""
    mark = " ✖" if how == "rst" else ""
    return ("open" if by is None else f"{by} {(how or '').upper()}") + mark


def reason_cell(reason: str, asked_by: str | None) -> str:
    """The reason with its mark; a ``Connection: close`` says whose header asked for it."""
    label = reason_label(reason)
    return f"{label} ({asked_by})" if reason == "connection-close" and asked_by else label


def preview_cells(row, first_ns: int) -> tuple[str, ...]:
    """Cells of a connection seen while the capture is still loading (verdicts not known yet)."""
    return (
        str(row.stream),
        "…",
        "…",
        "loading…",
        "",
        row.server,
        "",
        "",
        row.client,
        f"{(row.start_ns - first_ns) / 1e9:.3f}",
        "",
    )


def row_cells(conn: Connection, first_ns: int) -> tuple[str, ...]:
    """The connection list cells of ``conn`` (plain strings, already safe)."""
    reason = reason_cell(conn.close.reason, conn.close.asked_by)
    return (
        str(conn.stream),
        "↻ yes" if conn.reused else "-",
        str(conn.requests),
        closed_by(conn),
        fmt_s(conn.close.idle_before_ns) if conn.close.by else "-",
        conn.server,
        reason,
        short_protocol(protocol(conn)),
        conn.client,
        f"{(conn.start_ns - first_ns) / 1e9:.3f}",
        fmt_s(conn.duration_ns),
    )
