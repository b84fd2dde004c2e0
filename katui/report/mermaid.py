"""A connection's ladder as a Mermaid sequence diagram (GitHub and GitLab render it in Markdown).

The diagram keeps what a reader shares a ladder for: the handshake, every HTTP message, the
closing FINs and RSTs (RST as a crossed arrow), and idle gaps and problems as notes. Bare ACKs
and body segments are left out; the text ladder next to it has every frame.
"""

from __future__ import annotations

import re

from katui.model import Connection
from katui.report.ladder import Note, frame_line, http_labels, ladder_rows
from katui.units import fmt_s

MAX_MESSAGES = 400
"""Above this many arrows the diagram is left out (renderers give up on huge diagrams)."""
_ENTITY = re.compile(r"[#;<>`\"{}|%]")


def mermaid_text(text: str) -> str:
    """Text safe inside a Mermaid message or note: characters Mermaid reads as syntax become
    its ``#NN;`` entity codes (the text is already free of control characters)."""
    return _ENTITY.sub(lambda m: f"#{ord(m.group())};", text)


def _message(line, frame: int) -> str | None:
    important = any(f in line.flags for f in ("SYN", "FIN", "RST"))
    if not (important or line.label):
        return None
    sender, receiver = ("C", "S") if line.c2s else ("S", "C")
    arrow = "-x" if "RST" in line.flags else ("->>" if line.c2s else "-->>")
    size = f" {line.length}" if line.length else ""
    label = f": {line.label}" if line.label else ""
    return f"    {sender}{arrow}{receiver}: {mermaid_text(f'{line.flags}{size}{label} (frame {frame})')}"


def _note(row: Note) -> str:
    text = f"{fmt_s(row.duration_ns)} idle: {row.text}" if row.kind == "gap" else row.text
    mark = "✖ " if row.problem and "✖" not in text else ""
    return f"    Note over C,S: {mermaid_text(mark + text)}"


def sequence_diagram(
    analysis,
    conn: Connection,
    gap_ns: int = 1_000_000_000,
    rows: list | None = None,
    labels: dict[int, str] | None = None,
) -> list[str]:
    """The ``mermaid`` fenced block for ``conn``, or [] when it would be too big to render;
    ``rows`` and ``labels`` are ``ladder_rows`` and ``http_labels`` when the caller has them."""
    labels = http_labels(conn) if labels is None else labels
    body = []
    messages = 0
    for row in ladder_rows(analysis, conn, gap_ns) if rows is None else rows:
        if isinstance(row, Note):
            body.append(_note(row))
            continue
        line = _message(frame_line(analysis, conn, row, "rel", None, labels), row)
        if line is not None:
            messages += 1
            body.append(line)
        if messages > MAX_MESSAGES:
            return []
    return [
        "```mermaid",
        "sequenceDiagram",
        f"    participant C as client {mermaid_text(conn.client)}",
        f"    participant S as server {mermaid_text(conn.server)}",
        *body,
        "```",
    ]
