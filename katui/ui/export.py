"""Delivering the Markdown report (and the views' Markdown): a file written atomically, or the
clipboard."""

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


def may_write(screen, path: str, overwrite: bool, again) -> bool:
    """True when ``path`` may be written now; else says why (no name) or asks before replacing
    a file and calls ``again()`` on yes."""
    from katui.ui.modals import ConfirmScreen

    if not path:
        screen.notify("No file name given; nothing written.", severity="warning")
        return False
    if not Path(path).expanduser().exists() or overwrite:
        return True

    def answer(yes: bool) -> None:
        if yes:
            again()
        else:
            screen.notify("Not overwritten; nothing written.")

    screen.app.push_screen(ConfirmScreen(f"{path} exists. Overwrite it?"), answer)
    return False


def export_view(screen, what: str, render) -> None:
    """``e`` in a view (timeline, requests, servers, follow stream): ask for the file
    (``httptest-katui-timeline.md``), then :func:`write_view`. ``render()`` makes the Markdown
    from values the caller took from its widgets (it runs in a thread worker)."""
    from katui.ui.modals import ScopeScreen

    def chosen(result) -> None:
        if result is not None:
            write_view(screen, result[1], render)

    path = default_name(screen.analysis.path, f"{what}.md")
    screen.app.push_screen(ScopeScreen("Export", [("view", f"this view: {what}")], path), chosen)


def write_view(screen, path: str, render, overwrite: bool = False) -> None:
    """Write ``render()`` to ``path`` off the UI thread (a load test's timeline or request list
    is megabytes), asking before replacing a file; the outcome is a notification."""
    from katui.report.output import OutputError

    if not may_write(screen, path, overwrite, lambda: write_view(screen, path, render, overwrite=True)):
        return

    def work() -> None:
        try:
            message, severity = f"Wrote {write_export(path, render(), overwrite)}", "information"
        except OutputError as exc:
            message, severity = f"Export failed: {exc}", "error"
        screen.app.call_from_thread(screen.notify, message, severity=severity)

    screen.run_worker(work, thread=True, group="view-export")
