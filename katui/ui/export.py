"""Delivering the Markdown report: a file written atomically, or the clipboard."""

from __future__ import annotations

from pathlib import Path


def render_markdown(analysis, streams: list[int] | None, idle_threshold_ns: int | None) -> str:
    """The same Markdown as ``katui report --format md`` for ``streams`` (None = all)."""
    from katui.report.markdown import render

    return render(analysis, streams=streams, idle_threshold_ns=idle_threshold_ns)


def default_name(capture_path: str) -> str:
    """``httptest-katui.md`` for ``/x/httptest.pcap``, in the current directory."""
    return f"{Path(capture_path).stem}-katui.md"


def write_export(path: str, text: str, overwrite: bool) -> str:
    """Write ``text`` to ``path`` atomically (the CLI's writer); returns the absolute path."""
    from katui.report.output import write_atomic

    return write_atomic(str(Path(path).expanduser()), text, force=overwrite)


def system_copy(text: str) -> str | None:
    """Copy with pyperclip; returns None on success or why it failed."""
    try:
        import pyperclip

        pyperclip.copy(text)
    except Exception as exc:  # pyperclip raises its own error types, or none exist
        return str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return None
