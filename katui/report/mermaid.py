"""A connection's ladder as a Mermaid sequence diagram (GitHub and GitLab render it in Markdown).

The diagram keeps what a reader shares a ladder for: the handshake, every HTTP message, the
closing FINs and RSTs (RST as a crossed arrow), and idle gaps and problems as notes. Bare ACKs
and body segments are left out; the text ladder next to it has every frame.
"""

from __future__ import annotations

import re

from katui.model import Connection
from katui.report.ladder import Note, http_labels, ladder_rows
from katui.report.ladder_text import drawn_rows
from katui.units import fmt_s

MAX_MESSAGES = 400
"""Above this many arrows the diagram is left out (renderers give up on huge diagrams)."""
_ENTITY = re.compile(r"[#;<>`\"{}|%]")


def mermaid_text(text: str) -> str:
    """Text safe inside a Mermaid message or note: characters Mermaid reads as syntax become
    its ``#NN;`` entity codes (the text is already free of control characters)."""
    if _ENTITY.search(text) is None:  # most notes: one search, no substitution call per note
        return text
    return _ENTITY.sub(lambda m: f"#{ord(m.group())};", text)


def _message(line, frame: int) -> str | None:
    flags = line.flags
    if not (line.label or "SYN" in flags or "FIN" in flags or "RST" in flags):
        return None
    sender, receiver = ("S", "B") if line.leg else ("C", "S")  # leg 1: proxy -> backend
    if not line.c2s:
        sender, receiver = receiver, sender
    arrow = "-x" if "RST" in line.flags else ("->>" if line.c2s else "-->>")
    size = f" {line.length}" if line.length else ""
    # Flags, numbers and ': ' hold nothing Mermaid reads: only the label needs its entities.
    label = f": {mermaid_text(line.label)}" if line.label else ""
    return f"    {sender}{arrow}{receiver}: {line.flags}{size}{label} (frame {frame})"


def _note(row: Note, over: str = "C,S") -> str:
    word = "wait" if row.kind == "gap" and row.waiting else "idle"
    text = f"{fmt_s(row.duration_ns)} {word}: {row.text}" if row.kind == "gap" else row.text
    mark = "✖ " if row.problem and "✖" not in text else ""
    return f"    Note over {over}: {mermaid_text(mark + text)}"


def sequence_diagram(analysis, conn: Connection, gap_ns: int = 1_000_000_000,
                     drawn: list | None = None, backend: str | None = None) -> list[str]:  # fmt: skip
    """The ``mermaid`` fenced block for ``conn``, or [] when it would be too big to render;
    ``drawn`` is ``drawn_rows`` of the ladder when the caller has it, ``backend`` the backend
    participant's name when ``drawn`` has a proxy's upstream frames (a third participant)."""
    if drawn is None:
        drawn = drawn_rows(analysis, conn, ladder_rows(analysis, conn, gap_ns), http_labels(conn))
    body = []
    messages = 0
    for row in drawn:
        if isinstance(row, Note):
            body.append(_note(row, "C,S" if backend is None else "C,B"))
            continue
        line = _message(row, row.frame)
        if line is not None:
            messages += 1
            body.append(line)
        if messages > MAX_MESSAGES:
            return []
    return diagram_block(conn, body, backend)


def diagram_block(conn: Connection, body: list[str], backend: str | None = None) -> list[str]:
    """The ``mermaid`` fenced block around a diagram's ``body`` (its arrow and note lines)."""
    return [
        "```mermaid",
        "sequenceDiagram",
        f"    participant C as client {mermaid_text(conn.client)}",
        f"    participant S as {'server' if backend is None else 'proxy'} {mermaid_text(conn.server)}",
        *([] if backend is None else [f"    participant B as backend {mermaid_text(backend)}"]),
        *body,
        "```",
    ]
