"""Plain-text report for terminals and pipes (``katui report``, the default format)."""

from __future__ import annotations

from katui.analysis.pipeline import Analysis
from katui.model import Connection
from katui.report.common import closed_by, summary_pairs, tls_summary
from katui.report.ladder import ladder_lines
from katui.textsafe import escape
from katui.units import fmt_s


def render(a: Analysis, streams: list[int] | None = None, ladder: bool = False) -> str:
    """Summary, connections, findings; with ``ladder`` each connection's ladder too."""
    conns = a.connections if streams is None else [a.connections[s] for s in streams]
    out = [f"{label + ':':<21}{escape(value)}" for label, value in summary_pairs(a)]
    out += [f"{'warning:':<21}{escape(w)}" for w in a.warnings]
    out += ["", _head()]
    out += [_row(a, c) for c in conns]
    if a.findings:
        out += ["", "Findings:"]
        for f in a.findings:
            where = f" [stream {f.stream} frame {f.frame}]" if f.stream is not None else ""
            out.append(f"  {f.severity.upper():<8}{escape(f.text)}{where}")
            if f.advice:
                out.append(f"  {'':<8}-> {escape(f.advice)}")
    for c in conns:
        if c.exchanges or c.tls is not None or ladder:
            out += ["", *_detail(a, c, ladder)]
    return "\n".join(out) + "\n"


_COLS = (
    f"{'stream':>6} {'client':<22} {'server':<22} {'start':>9} {'duration':>9} {'req':>4} "
    f"{'reuse':<5} {'closed by':<10} {'idle':>9}  reason"
)


def _head() -> str:
    return _COLS


def _row(a: Analysis, c: Connection) -> str:
    return (
        f"{c.stream:>6} {escape(c.client):<22} {escape(c.server):<22} "
        f"{a.rel(c.start_ns) / 1e9:>9.3f} {fmt_s(c.duration_ns):>9} {c.requests:>4} "
        f"{'↻' if c.reused else '':<5} {closed_by(c):<10} {fmt_s(c.close.idle_before_ns):>9}  "
        f"{c.close.reason}"
    )


def _detail(a: Analysis, c: Connection, ladder: bool) -> list[str]:
    out = [
        f"stream {c.stream}  {escape(c.client)} -> {escape(c.server)}  "
        f"frames {c.first_frame}-{c.last_frame} ({c.frame_count})  {escape(c.close.explanation)}"
    ]
    if c.tls is not None:
        out.append(f"  {escape(tls_summary(c.tls))}")
    for e in c.exchanges:
        req, resp = e.request, e.response
        reuse = f"  reused after {fmt_s(e.idle_before_ns)} idle" if e.reused else ""
        out.append(
            f"  #{e.n:<4} req frame {str(req.frame if req else '-'):>7}  "
            f"resp frame {str(resp.frame if resp else '-'):>7}  "
            f"{escape(req.label) if req else '(request not captured)'}  ->  "
            f"{escape(resp.label) if resp else 'no response'}{reuse}"
        )
    if ladder:
        out += ["", *ladder_lines(a, c, gap_ns=a.idle_threshold_ns, width=120)]
    return out
