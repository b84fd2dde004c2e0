"""Plain-text report for terminals and pipes (``katui report``, the default format)."""

from __future__ import annotations

import re
import textwrap

from katui.analysis.pipeline import Analysis
from katui.model import Connection
from katui.report.common import closed_by, covers, http2_summary, proxy_leg, summary_pairs, tls_summary
from katui.report.ladder_text import ladder_lines
from katui.report.lanes import drawn_with_backend
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
    for c in conns:
        yield _row(a, c) + "\n"
    if a.findings:
        yield "\n".join(_findings(a)) + "\n"
    for c in conns:
        if c.exchanges or c.tls is not None or ladder or c.close.evidence:
            yield "\n" + "\n".join(_detail(a, c, ladder)) + "\n"


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
    return (
        f"{c.stream:>6} {safe_text(c.client):<22} {safe_text(c.server):<22} "
        f"{a.rel(c.start_ns) / 1e9:>9.3f} {fmt_s(c.duration_ns):>9} {c.requests:>4} "
        f"{'↻' if c.reused else '':<5} {closed_by(c):<10} {fmt_s(c.close.idle_before_ns):>9}  "
        f"{c.close.reason}"
    )


def _detail(a: Analysis, c: Connection, ladder: bool) -> list[str]:
    out = [
        f"stream {c.stream}  {safe_text(c.client)} -> {safe_text(c.server)}  "
        f"frames {c.first_frame}-{c.last_frame} ({c.frame_count})  started {fmt_iso(c.start_ns)}  "
        f"{safe_text(c.close.explanation)}"
    ]
    if c.close.evidence:
        out.append(f"  evidence: {safe_text('; '.join(c.close.evidence))}")
    if c.tls is not None:
        out.append(f"  {safe_text(tls_summary(c.tls))}")
    if c.http2 is not None:
        out.append(f"  {safe_text(http2_summary(c.http2))}")
    for e in c.exchanges:
        req, resp = e.request, e.response
        reuse = f"  reused after {fmt_s(e.idle_before_ns)} idle" if e.reused else ""
        sid = getattr(e, "stream_id", None)
        if sid is not None:  # HTTP/2: the stream, and whether others were open
            reuse = (
                f"  (stream {sid}{', concurrent' if e.concurrent else ''}){reuse if not e.concurrent else ''}"
            )
        out.append(
            f"  #{e.n:<4} req frame {str(req.frame if req else '-'):>7}  "
            f"resp frame {str((resp.frame or resp.first_frame) if resp else '-'):>7}  "
            f"{safe_text(req.label) if req else '(request not captured)'}  ->  "
            f"{safe_text(resp.label) if resp else 'no response'}{reuse}"
        )
        leg = proxy_leg(a, c.stream, e.n)
        if leg:
            out.append(f"  {'':<5} via proxy: {leg}")
    if ladder:
        drawn, backend = drawn_with_backend(a, c, a.idle_threshold_ns)
        out += ["", *ladder_lines(a, c, width=120, drawn=drawn, backend=backend)]
    return out
