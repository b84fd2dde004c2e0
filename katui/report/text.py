"""Plain-text report for terminals and pipes (``katui report``, the default format)."""

from __future__ import annotations

import re
import textwrap

from katui.analysis.pipeline import Analysis
from katui.analysis.requests import missing_request
from katui.memo import remember
from katui.model import SM_FIRST, SM_FRAME, SMALL, Connection
from katui.report.common import closed_by, covers, http2_summary, proxy_leg, summary_pairs, tls_summary
from katui.report.ladder_text import ladder_lines
from katui.report.lanes import drawn_with_backend
from katui.report.markdown import Cells
from katui.textsafe import safe_text
from katui.units import fmt_iso, fmt_s


def render(a: Analysis, streams: list[int] | None = None, ladder: bool = False) -> str:
    """Summary, connections, findings; with ``ladder`` each connection's ladder too."""
    return "".join(chunks(a, streams, ladder))


def chunks(a: Analysis, streams: list[int] | None = None, ladder: bool = False):
    """The text of :func:`render` in pieces, one connection at a time, so memory stays flat."""
    conns = a.connections if streams is None else [a.connections[s] for s in streams]
    out = [f"{label + ':':<21}{safe_text(value)}" for label, value in summary_pairs(a)]
    out += [f"{'warning:':<21}{safe_text(w)}" for w in a.warnings]
    out += ["", _head()]
    yield "\n".join(out) + "\n"
    # A few hundred connections a piece: memory stays flat, and a load test's 60k rows are not
    # 60k writes.
    rows: list[str] = []
    for c in conns:
        rows.append(_row(a, c))
        if len(rows) == PIECE:
            yield "\n".join(rows) + "\n"
            rows = []
    if rows:
        yield "\n".join(rows) + "\n"
    if a.findings:
        yield "\n".join(_findings(a)) + "\n"
    parts: list[str] = []
    cells = Cells()  # the exchanges' labels, made safe once per head and URI or status
    for c in conns:
        if c.exchanges or c.tls is not None or ladder or c.close.evidence:
            parts.append("")
            parts += _detail(a, c, ladder, cells)
            if len(parts) >= PIECE * 4:
                yield "\n".join(parts) + "\n"
                parts = []
    if parts:
        yield "\n".join(parts) + "\n"


PIECE = 256
"""Connection rows joined into one piece of the report."""


def _findings(a: Analysis) -> list[str]:
    out = ["", "Findings:"]
    for f in a.findings:
        where = f" [stream {f.stream} frame {f.frame}]" if f.stream is not None else ""
        out += _wrapped(f"{f.severity.upper():<8}", safe_text(f.text) + where)
        if covers(f):
            out += _wrapped("", covers(f))
        if f.advice:
            out += _wrapped("-> ", safe_text(f.advice))
    return out


WIDTH = 100
"""Findings are wrapped to this width (tables are not: they are read with less -S)."""


def _wrapped(lead: str, text: str) -> list[str]:
    """``text`` wrapped under a 10-column gutter, ``lead`` (severity or arrow) in front."""
    glued = _UNIT.sub("\\1\0\\2", text)  # never '1.8' at a line's end and 's' on the next
    lines = textwrap.wrap(
        glued, WIDTH, initial_indent=f"  {lead:<8}" if len(lead) > 3 else f"  {'':<8}{lead}",
        subsequent_indent=" " * 13 if lead == "-> " else " " * 10,
        break_on_hyphens=False, break_long_words=False,
    )  # fmt: skip
    return [line.replace("\0", " ") for line in lines]


_UNIT = re.compile(r"(\d) (s|ms|µs|B|KB|MB|GB)\b")


_COLS = (
    f"{'stream':>6} {'client':<22} {'server':<22} {'start':>9} {'duration':>9} {'req':>4} "
    f"{'reuse':<5} {'closed by':<10} {'idle':>9}  reason"
)


def _head() -> str:
    return _COLS


def _row(a: Analysis, c: Connection) -> str:
    cl = c.close
    how = (cl.by, cl.how)
    closer = _CLOSED_BY.get(how)
    if closer is None:
        closer = _CLOSED_BY[how] = closed_by(c)
    return (
        f"{c.stream:>6} {_safe(c.client):<22} {_safe(c.server):<22} "
        f"{a.rel(c.start_ns) / 1e9:>9.3f} {fmt_s(c.duration_ns):>9} {c.requests:>4} "
        f"{'↻' if c.reused else '':<5} {closer:<10} {fmt_s(cl.idle_before_ns):>9}  "
        f"{cl.reason}"
    )


_CLOSED_BY: dict[tuple, str] = {}
"""(who closed, how) -> :func:`~katui.report.common.closed_by` of it: a handful of texts."""


def _safe(text: str) -> str:
    """:func:`safe_text`, once per distinct text (labels, endpoints and close explanations
    repeat across a load test's connections)."""
    # Printable ASCII without a backslash is left as it is (a connection's unique endpoint:
    # three C scans, no regular expression, nothing kept).
    if text.isascii() and text.isprintable() and "\\" not in text:
        return text
    got = _SAFE.get(text)
    if got is None:
        got = remember(_SAFE, text, safe_text(text), MAX_SAFE)
    return got


_SAFE: dict[str, str] = {}
MAX_SAFE = 1 << 15
"""Texts remembered at most (a hostile capture may make every one distinct)."""


def _detail(a: Analysis, c: Connection, ladder: bool, cells: Cells) -> list[str]:
    out = [
        f"stream {c.stream}  {_safe(c.client)} -> {_safe(c.server)}  "
        f"frames {c.first_frame}-{c.last_frame} ({c.frame_count})  started {fmt_iso(c.start_ns)}  "
        f"{_safe(c.close.explanation)}"
    ]
    evidence = c.close.evidence  # (a property: made once)
    if evidence:
        out.append(f"  evidence: {_safe('; '.join(evidence))}")
    if c.tls is not None:
        out.append(f"  {safe_text(tls_summary(c.tls))}")
    if c.http2 is not None:
        out.append(f"  {safe_text(http2_summary(c.http2))}")
    # A load test has hundreds of thousands of exchanges: their rows are read from the store's
    # columns (no message object each) and their labels made safe once per distinct label.
    linked = c.stream in a.proxies.roles
    h2 = c.http2 is not None  # (a getattr with a default raises inside for every HTTP/1 exchange)
    for e in c.exchanges:
        req, resp = e.req, e.resp
        store = e.store
        small = store.small
        reuse = f"  reused after {fmt_s(e.idle_before_ns)} idle" if e.reused else ""
        sid = getattr(e, "stream_id", None) if h2 else None
        if sid is not None:  # HTTP/2: the stream, and whether others were open
            reuse = (
                f"  (stream {sid}{', concurrent' if e.concurrent else ''}){reuse if not e.concurrent else ''}"
            )
        if req >= 0:
            # A request that never ended: the frame it started in, marked unfinished.
            req_frame = str(small[req * SMALL + SM_FRAME] or f"{small[req * SMALL + SM_FIRST]}…")
            req_text = cells.of(store, req)[0]  # safe_text(store.label(req))
        else:
            req_frame, req_text = "-", missing_request(c, e)
        if resp >= 0:
            s = resp * SMALL
            resp_frame = str(small[s + SM_FRAME] or small[s + SM_FIRST])
            resp_text = cells.of(store, resp)[0]
        else:
            resp_frame, resp_text = "-", "no response"
        frames = f"  #{e.n:<4} req frame {req_frame:>7}  resp frame {resp_frame:>7}  "
        out.append(f"{frames}{req_text}  ->  {resp_text}{reuse}")
        if linked:
            leg = proxy_leg(a, c.stream, e.n)
            if leg:
                out.append(f"  {'':<5} via proxy: {leg}")
    if ladder:
        drawn, backend = drawn_with_backend(a, c, a.idle_threshold_ns)
        out += ["", *ladder_lines(a, c, width=120, drawn=drawn, backend=backend)]
    return out
