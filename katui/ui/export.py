"""Delivering the Markdown report: a file written atomically, or the clipboard."""

from __future__ import annotations

from pathlib import Path


def render_markdown(analysis, streams: list[int] | None, idle_threshold_ns: int | None,
                    progress=None):  # fmt: skip
    """The same Markdown as ``katui report --format md`` for ``streams`` (None = all), as
    pieces rendered while they are written (a load test's export never sits in memory)."""
    from katui.report.markdown import chunks

    return chunks(analysis, streams, idle_threshold_ns, progress)


def render_csv(analysis, streams: list[int] | None, requests: bool, progress=None):
    """The same CSV as ``katui report --format csv`` (or ``csv-requests``) for ``streams``, as
    pieces rendered while they are written."""
    from katui.report import csvout

    render = csvout.request_chunks if requests else csvout.chunks
    return render(analysis, streams, progress)


def default_name(capture_path: str, what: str = "md") -> str:
    """``httptest-katui.md`` (or ``httptest-katui-connections.csv``...) for
    ``/x/httptest.pcap``, in the current directory."""
    stem = Path(capture_path).stem
    return f"{stem}-katui.md" if what == "md" else f"{stem}-katui-{what}"


def write_export(path: str, text, overwrite: bool) -> str:
    """Write ``text`` (a string or its pieces) to ``path`` atomically (the CLI's writer);
    returns the absolute path."""
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
