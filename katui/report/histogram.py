"""Small text histograms for terminals and Markdown code blocks (no plotting library needed).

A histogram is a few lines of ``label │█████▌  count``: it stays readable at 80 columns, over
ssh, without colour, and the same lines go into an export.
"""

from __future__ import annotations

_EIGHTHS = " ▏▎▍▌▋▊▉"
YEAR_NS = 31_536_000_000_000_000
"""365 days."""


def bar(n: int, most: int, width: int) -> str:
    """A horizontal bar of ``n`` out of ``most`` in ``width`` cells, in eighths of a cell."""
    if most <= 0 or n <= 0:
        return ""
    eighths = max(1, round(n * width * 8 / most))
    return "█" * (eighths // 8) + (_EIGHTHS[eighths % 8] if eighths % 8 else "")


def counts(pairs: list[tuple[str, int]], width: int = 40) -> list[str]:
    """``label │bar count`` lines for (label, count) pairs."""
    if not pairs:
        return []
    most = max(n for _, n in pairs)
    wide = max(len(label) for label, _ in pairs)
    return [f"{label:>{wide}} │{bar(n, most, width):<{width}} {n}" for label, n in pairs]


_STEPS_NS = [int(x * 1e6) for x in (1, 2, 5, 10, 20, 50, 100, 200, 500)] + [
    int(x * 1e9) for x in (1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 1800, 3600, 7200, 21600, 43200,
                           86400, 172800, 604800, 2592000)] + [
    y * YEAR_NS for y in (1, 2, 5, 10, 20, 50, 100)]  # fmt: skip
"""Round steps up to 100 years: a capture with a broken clock spans years (ndpi 1kxun)."""


def step_for(top_ns: int, bins: int) -> int:
    """A round bin width (1 ms ... 100 years) so that ``bins`` bins cover ``top_ns``."""
    for step in _STEPS_NS:
        if step * bins >= top_ns:
            return step
    return -(-top_ns // bins)


def edge(ns: int) -> str:
    """A bin edge: ``0``, ``500 ms``, ``5 s``, ``2 m``, ``6 h``, ``30 d``."""
    if ns == 0:
        return "0"
    if ns >= 2 * YEAR_NS:
        return f"{ns / YEAR_NS:g} y"
    if ns >= 2 * 86_400_000_000_000:
        return f"{ns / 86400e9:g} d"
    if ns >= 2 * 3_600_000_000_000:
        return f"{ns / 3600e9:g} h"
    if ns >= 120_000_000_000:
        return f"{ns / 60e9:g} m"
    return f"{ns / 1e9:g} s" if ns >= 1_000_000_000 else f"{ns / 1e6:g} ms"


def durations(values_ns: list[int], mark_ns: int | None = None, mark: str = "",
              bins: int = 10, width: int = 40, high_ns: int | None = None) -> list[str]:  # fmt: skip
    """A histogram of durations in at most ``bins`` round bins from 0; the bin holding ``mark_ns`` (the
    inferred timeout) says ``◀ mark``. Empty when there are no values."""
    if not values_ns:
        return []
    top = max(high_ns or 0, max(values_ns) + 1, (mark_ns or 0) + 1)
    step = step_for(top, bins)
    bins = -(-top // step)
    edges = [i * step for i in range(bins + 1)]
    hist = [0] * bins
    for v in values_ns:
        hist[min(v // step, bins - 1)] += 1
    most = max(hist)
    labels = [f"{edge(edges[i])}–{edge(edges[i + 1])}" for i in range(bins)]
    wide = max(len(x) for x in labels)
    out = []
    for i, n in enumerate(hist):
        line = f"{labels[i]:>{wide}} │{bar(n, most, width):<{width}} {n}"
        if mark_ns is not None and edges[i] <= mark_ns < edges[i + 1]:
            line += f"  ◀ {mark}"
        out.append(line)
    return out
