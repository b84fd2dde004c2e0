"""The per-server summary as text lines (the TUI's server view; plain text, no markup)."""

from __future__ import annotations

import textwrap

from katui.analysis.servers import ServerSummary
from katui.model import reason_label
from katui.report.histogram import counts, durations
from katui.textsafe import safe_text
from katui.units import fmt_s, fmt_timeout, plural

INDENT = "              "
"""Under ``idle timeout: `` (what else is known about it, and wrapped text)."""


def timeout_text(s: ServerSummary, columns: int | None = None) -> list[str]:
    """``inferred ≈ 5 s (nginx keepalive_timeout) from 2 idle closes``, then what else is known
    (reuse seen after, advertised), a line each; wrapped to ``columns`` (the text's own width,
    its indent not counted) when given."""
    t = s.timeout
    if t is None:
        return ["idle timeout: no idle close seen"]
    parts = []
    if t.estimate_ns is not None:
        named = f" ({t.software} {t.setting})" if t.software and t.setting else ""
        parts.append(f"inferred ≈ {fmt_timeout(t.estimate_ns)}{named} from {plural(t.samples, 'idle close')}")
    if t.low_ns is not None:
        parts.append(f"reuse worked after {fmt_s(t.low_ns)}")
    if t.advertised_s is not None:
        parts.append(f"advertised Keep-Alive: timeout={t.advertised_s:g}")
    parts = parts or ["unknown"]
    if columns is not None:  # a software name and setting make the first one long
        parts = [line for p in parts for line in textwrap.wrap(p, max(columns - len(INDENT), 20))]
    return [f"idle timeout: {parts[0]}"] + [f"{INDENT}{p}" for p in parts[1:]]


def server_lines(s: ServerSummary, width: int = 40, columns: int | None = None) -> list[str]:
    """One server's section: counts, closes, errors, and the two histograms (bars ``width``
    cells); the timeout's sentences wrapped to ``columns`` when given."""
    out = [
        f"server {safe_text(s.server)}",
        f"  {plural(s.connections, 'connection')}, {plural(s.requests, 'request')}, "
        f"{s.requests / max(s.connections, 1):.1f} per connection",
        f"  reuse {100 * s.reuse_ratio:.0f}% ({s.reused} reused), {plural(s.resets, 'reset')}",
        *(f"  {line}" for line in timeout_text(s, columns and columns - 2)),
        "",
        "  requests per connection:",
    ]
    per = sorted(s.per_connection.items())
    if len(per) > 8:  # a long tail in one bucket
        per = per[:7] + [(f">{per[6][0]}", sum(n for _, n in per[7:]))]
    out += ["    " + line for line in counts([(str(k), n) for k, n in per], width)]
    out += ["", "  closes:"]
    closes = [("still open" if by == "open" else f"{by} {how.upper()} {reason_label(reason)}", n)
              for (by, how, reason), n in s.closes.most_common(8)]  # fmt: skip
    out += ["    " + line for line in counts(closes, width)]
    if s.errors:
        out.append("  error statuses: " + ", ".join(f"{k} ×{n}" for k, n in sorted(s.errors.items())))
    mark = s.timeout.estimate_ns if s.timeout else None
    label = f"inferred timeout {fmt_timeout(mark)}" if mark is not None else ""
    # One time axis for both, so the reuses and the closes can be compared bin by bin.
    top = max(s.idle_before_reuse_ns + s.idle_before_close_ns, default=0) + 1
    for name, values in (("idle before a reuse", s.idle_before_reuse_ns),
                         ("idle before an idle close", s.idle_before_close_ns)):  # fmt: skip
        if values:
            out += ["", f"  {name} ({len(values)}):"]
            out += ["    " + line for line in durations(values, mark, label, 10, width, top)]
    return out
