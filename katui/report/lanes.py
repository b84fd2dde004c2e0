"""A proxy's front connection drawn with a third lane: client | proxy | backend.

On a capture of both legs of a proxy (:mod:`katui.analysis.proxy`), the upstream connections
that carried a front connection's requests are drawn beside it, their frames interleaved with
the front frames in capture order, so an upstream keep-alive race (the proxy's request on a
connection the backend is closing, the RST) and what the client got (a 502, or its answer after
a retry) read as one picture. Only the upstream frames sent while the front connection was open
are drawn: an upstream connection outlives its front one, and may serve other front connections
(HAProxy ``http-reuse``), whose requests are named as such.
"""

from __future__ import annotations

from katui.analysis.gaps import NO_TRAFFIC
from katui.model import Connection
from katui.report.ladder import Backend, Note, http_labels, ladder_rows
from katui.report.ladder_text import drawn_rows
from katui.textsafe import safe_text
from katui.units import fmt_s


def upstream_streams(analysis, conn: Connection) -> tuple[int, ...]:
    """The upstream connections that carried requests of front connection ``conn`` (empty when
    ``conn`` is not a proxy's front connection)."""
    proxies = analysis.proxies
    if proxies.roles.get(conn.stream, ("",))[0] != "front":
        return ()
    return tuple(sorted({link.upstream_stream for link in proxies.links if link.front_stream == conn.stream}))


def backend_name(analysis, conn: Connection) -> str | None:
    """The backend lane's heading (its endpoints and streams), or None without a backend lane."""
    streams = upstream_streams(analysis, conn)
    if not streams:
        return None
    servers = sorted({analysis.connections[s].server for s in streams})
    which = "stream" if len(streams) == 1 else "streams"
    return f"{', '.join(servers)} ({which} {', '.join(map(str, streams))})"


def backend_labels(analysis, conn: Connection) -> dict[int, str]:
    """Frame -> label of the upstream frames drawn with ``conn``: the upstream stream, its HTTP
    label, and the front connection a request came from when it is another one."""
    out: dict[int, str] = {}
    for s in upstream_streams(analysis, conn):
        up = analysis.connections[s]
        for frame, text in http_labels(up).items():
            out[frame] = f"s{s}: {text}"
        for ex in up.exchanges:
            link = analysis.proxies.downstream_of(s, ex.n)
            req = ex.request
            if link is not None and req is not None and link.front_stream != conn.stream:
                out[req.frame] = f"{out.get(req.frame, f's{s}:')} (for front stream {link.front_stream})"
    return out


def with_backend(analysis, conn: Connection, rows: list) -> list:
    """``rows`` (from :func:`katui.report.ladder.ladder_rows`) with the frames of ``conn``'s
    upstream connections interleaved in capture order, a heading where each upstream connection
    enters the picture and a note on each upstream race; ``rows`` unchanged for a connection
    that is not a proxy's front one."""
    streams = upstream_streams(analysis, conn)
    if not streams or not conn.frames:
        return rows
    first, last = conn.frames[0], conn.frames[-1]
    keyed: list[tuple[int, int, int, object]] = []
    previous = first
    for i, row in enumerate(rows):
        if isinstance(row, Note):
            # A gap is on the front connection: it starts after the front frame before it, so
            # the backend frames sent meanwhile are drawn after it, not before.
            key = (previous, 2) if row.kind == "gap" else (row.frame, 0)
        else:
            key, previous = (row, 1), row
        keyed.append((*key, i, row))
    for s in streams:
        up = analysis.connections[s]
        shown = [f for f in up.frames if first <= f <= last]
        if shown:
            keyed.append((shown[0], 0, -1, Note("section", _entering(up, shown[0]), shown[0])))
        keyed += [(f, 1, 0, Backend(f, s)) for f in shown]
    for race in analysis.proxies.races:
        if race.front_stream == conn.stream and first <= race.request_frame <= last:
            keyed.append((race.request_frame, 0, 0, _race_note(race)))
    keyed.sort(key=lambda k: k[:3])
    out = [k[3] for k in keyed]
    for i, row in enumerate(out):  # a gap the backend lane fills was quiet on the front only
        if isinstance(row, Note) and row.kind == "gap" and (row.text == NO_TRAFFIC or row.waiting):
            after = next((r for r in out[i + 1 :] if not isinstance(r, Note)), None)
            if not isinstance(after, Backend):
                continue
            if row.waiting:  # what ends the wait comes after the backend's rows, not next
                waits = row.text.split(";")[0]
                out[i] = row._replace(text=f"{waits} on the front connection, while the proxy works upstream")
            else:
                out[i] = row._replace(text=f"{NO_TRAFFIC} on the front connection")
    return out


def drawn_with_backend(analysis, conn: Connection, gap_ns: int,
                       gaps: list | None = None) -> tuple[list, str | None]:  # fmt: skip
    """What the reports draw of ``conn`` (:func:`katui.report.ladder_text.drawn_rows`), a
    proxy's front connection with its backend lane, and that lane's name (None without one);
    ``gaps`` are its idle gaps when the caller has them."""
    rows = with_backend(analysis, conn, ladder_rows(analysis, conn, gap_ns, gaps))
    backend = backend_name(analysis, conn)
    labels = http_labels(conn) | backend_labels(analysis, conn) if backend else http_labels(conn)
    return drawn_rows(analysis, conn, rows, labels), backend


def _entering(up: Connection, frame: int) -> str:
    """The heading where an upstream connection's first drawn frame is."""
    where = "opens" if frame == up.frames[0] else "already open"
    return f"backend: upstream stream {up.stream} {up.client} → {up.server} {where}"


def _race_note(race) -> Note:
    """The row that says what an upstream keep-alive race did to the client."""
    before = race.close_frame is not None and race.close_frame < race.request_frame
    closed = "had closed" if before else "was closing"
    idle = f" after {fmt_s(race.idle_before_ns)} idle" if race.idle_before_ns is not None else ""
    what = (
        f"upstream keep-alive race: {safe_text(race.method)} reuses upstream stream {race.stream}"
        f"{idle}, which the backend {closed}"
    )
    if race.outcome == "absorbed":
        extra = f" (+{fmt_s(race.extra_latency_ns)})" if race.extra_latency_ns is not None else ""
        return Note("section", f"⚠ {what}; the proxy retries on stream {race.retry_stream}{extra}, "
                    "the client gets its answer", race.request_frame)  # fmt: skip
    got = f"{race.front_status}" if race.front_status else "no response"
    at = f" (frame {race.front_frame})" if race.front_frame else ""
    return Note("section", f"✖ PROBLEM {what}; the client gets {got}{at}", race.request_frame, True)
