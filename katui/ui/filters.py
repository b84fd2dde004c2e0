"""Which connections the list shows and in what order: pure functions, no Textual."""

from __future__ import annotations

from dataclasses import dataclass, replace

from katui.model import Connection, reason_label
from katui.textsafe import safe_text
from katui.units import fmt_s

PROBLEM_REASONS = {"stale-reuse", "reset"}
SORT_KEYS = ("stream", "start", "duration", "requests", "idle", "reason")


@dataclass(frozen=True)
class ConnFilter:
    """What the connection list is narrowed to."""

    reused: bool = False
    """Only connections that carried more than one request."""
    server_closed: bool = False
    """Only connections the server closed."""
    problems: bool = False
    """Only resets, stale reuse and damaged connections."""
    query: str = ""
    """Search words: address, port, URI, status; ``port:N`` matches either port exactly."""

    def toggled(self, name: str) -> ConnFilter:
        """A copy with the boolean filter ``name`` flipped."""
        return replace(self, **{name: not getattr(self, name)})

    def describe(self) -> str:
        """Short words for the active filters, or '' when none."""
        words = [w for on, w in ((self.reused, "reused"), (self.server_closed, "closed by server"),
                                 (self.problems, "problems")) if on]  # fmt: skip
        if self.query:
            words.append(f"/{safe_text(self.query)}")
        return ", ".join(words)

    @property
    def active(self) -> bool:
        """True when anything narrows the list."""
        return bool(self.reused or self.server_closed or self.problems or self.query)


def is_problem(conn: Connection) -> bool:
    """True for resets, stale reuse and connections with lost or broken data."""
    return (conn.close.reason in PROBLEM_REASONS or conn.close.how == "rst"
            or conn.lost_segments > 0 or conn.http_error is not None)  # fmt: skip


def _port(endpoint: str) -> str:
    return endpoint.rsplit(":", 1)[-1]


def _matches_word(conn: Connection, word: str) -> bool:
    if word.startswith("port:"):
        port = word[5:]
        return port in (_port(conn.client), _port(conn.server))
    if word in conn.client.lower() or word in conn.server.lower():
        return True
    for ex in conn.exchanges:
        if ex.request is not None and word in ex.request.uri.lower():
            return True
        if ex.request is not None and word in ex.request.host.lower():
            return True
        if ex.response is not None and word == str(ex.response.status):
            return True
    return False


def matches(conn: Connection, f: ConnFilter) -> bool:
    """True when ``conn`` passes every active filter."""
    if f.reused and not conn.reused:
        return False
    if f.server_closed and conn.close.by != "server":
        return False
    if f.problems and not is_problem(conn):
        return False
    return all(_matches_word(conn, w) for w in f.query.lower().split())


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
    }[name]


def select(conns: list[Connection], f: ConnFilter, sort: str = "stream", reverse=False):
    """Connections passing ``f``, sorted."""
    out = [c for c in conns if matches(c, f)]
    if sort != "stream" or reverse:
        out.sort(key=sort_key(sort), reverse=reverse)
    return out


COLUMNS = ("#", "reuse", "req", "closed by", "idle→close", "server", "reason", "client",
           "start", "duration")  # fmt: skip
"""The server comes before the client: at 80 columns it is the one that must stay visible."""
COLUMN_SORT = {"#": "stream", "reuse": "requests", "req": "requests", "closed by": "closed",
               "idle→close": "idle", "reason": "reason", "client": "client", "server": "server",
               "start": "start", "duration": "duration"}  # fmt: skip
"""The sort key a click on a column heading chooses."""


def closed_by(conn: Connection) -> str:
    """The reports' ``server FIN`` / ``open``, with ``✖`` on resets and problems."""
    return closed_by_cell(conn.close.by, conn.close.how, conn.close.reason)


def closed_by_cell(by: str | None, how: str | None, reason: str) -> str:
    """:func:`closed_by` from the close's fields (the list measures its column with it)."""
    mark = " ✖" if how == "rst" or reason in PROBLEM_REASONS else ""
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
        conn.client,
        f"{(conn.start_ns - first_ns) / 1e9:.3f}",
        fmt_s(conn.duration_ns),
    )
