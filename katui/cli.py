"""Command line: ``katui FILE`` opens the TUI; ``katui report FILE`` prints the analysis.

Textual is imported only for the TUI, so reports start fast and work without a terminal.
Every failure the user can cause (missing file, not a capture, unwritable output) ends with
one line on stderr and exit status 2, never a traceback.
"""

from __future__ import annotations

import argparse
import os
import sys

from katui import __version__, speedups
from katui.capture.errors import CaptureError

FORMATS = ("text", "md", "json", "csv", "csv-requests")
VIEWS = ("timeline", "requests", "servers", "follow")
"""``--view`` choices (the same as :data:`katui.report.views.VIEWS`; not imported, so that
``katui --help`` stays fast)."""


IDLE_HELP = (
    "shortest silence shown as an idle gap in ladders and timelines (default 1 s); the close "
    "verdicts do not depend on it"
)


def _threshold(value: str) -> int:
    try:
        seconds = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {value!r}") from None
    if not 0 < seconds < 1e6:
        raise argparse.ArgumentTypeError("the idle threshold must be between 0 and 1e6 seconds")
    return int(seconds * 1e9)


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="katui",
        description="See what HTTP keep-alive really does inside a packet capture.",
        epilog="katui FILE opens the interactive viewer; katui report FILE prints a report.",
    )
    p.add_argument("--version", action="version", version=f"katui {__version__}")
    sub = p.add_subparsers(dest="command")
    view = sub.add_parser("view", help="open the interactive viewer (default)")
    view.add_argument("file", help="pcap / pcapng capture, optionally .gz")
    view.add_argument("--idle", type=_threshold, default=None, metavar="SECONDS", help=IDLE_HELP)
    _keylog_option(view)
    rep = sub.add_parser(
        "report", help="print the analysis (text, Markdown, JSON, or CSV of connections or requests)"
    )
    rep.add_argument("file", help="pcap / pcapng capture, optionally .gz; - reads standard input")
    rep.add_argument("--format", "-f", choices=FORMATS, default=None, help="default: text")
    rep.add_argument("-o", "--output", metavar="OUT", help="write to OUT instead of stdout (- is stdout)")
    rep.add_argument("--force", action="store_true", help="overwrite OUT if it exists")
    rep.add_argument(
        "--stream", type=int, action="append", metavar="N", help="only this tcp.stream (repeatable)"
    )
    rep.add_argument("--ladder", action="store_true", help="text format: include ladders")
    rep.add_argument(
        "--view",
        choices=VIEWS,
        help="Markdown of one of the TUI's views instead of the report: the timeline of the "
        "connections (--stream picks them), every request, the per-server summary, or follow "
        "stream (of the one --stream)",
    )
    rep.add_argument("--hex", action="store_true", help="--view follow: hex instead of text")
    rep.add_argument(
        "--idle",
        type=_threshold,
        default=None,
        metavar="SECONDS",
        help=IDLE_HELP,
    )
    _keylog_option(rep)
    return p


def _keylog_option(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--keylog",
        metavar="FILE",
        help="TLS key log (SSLKEYLOGFILE format) to decrypt TLS connections with "
        "(default: $SSLKEYLOGFILE if it names a file)",
    )


def _keylog(args):
    """The key log named by --keylog or $SSLKEYLOGFILE, or None."""
    path = args.keylog or os.environ.get("SSLKEYLOGFILE")
    if not path or (not args.keylog and not os.path.isfile(path)):
        return None
    from katui.tls.keylog import KeyLog

    try:
        keys = KeyLog.read(path)
    except OSError as exc:
        raise CaptureError(f"{path}: cannot read the key log ({exc.strerror or exc})") from None
    if not len(keys) and keys.malformed:
        raise CaptureError(
            f"{path}: not a TLS key log (none of its lines reads "
            "'CLIENT_RANDOM <client random> <secret>' or a TLS 1.3 secret label)"
        )
    return keys


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns the exit status."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] not in ("view", "report", "-h", "--help", "--version"):
        argv.insert(0, "view")
    args = _parser().parse_args(argv)
    speedups.warn_if_slow()
    if args.command is None:
        _parser().print_help()
        return 2
    try:
        if args.command == "report":
            return _report(args)
        return _view(args)
    except CaptureError as exc:
        _say(f"katui: {exc}")
        return 2
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # a bug: one line, not a traceback (KATUI_DEBUG=1 shows it)
        if os.environ.get("KATUI_DEBUG"):
            raise
        _say(
            f"katui: internal error: {type(exc).__name__}: {exc} (KATUI_DEBUG=1 shows the "
            "traceback; please report it)"
        )
        return 2


def _say(line: str) -> None:
    """One line on stderr, its control characters shown as escapes: a file name or an error
    text must not set the terminal's title or colours."""
    from katui.textsafe import safe_text

    print(safe_text(line), file=sys.stderr)


def _report(args) -> int:
    from katui.analysis.pipeline import analyze
    from katui.analysis.verdicts import DEFAULT_IDLE_NS
    from katui.report.output import OutputError, write_atomic

    if args.output == "-":  # as for the input: standard output
        args.output = None
    if args.output and os.path.isdir(args.output):
        _say(f"katui: {args.output} is a directory; give a file name")
        return 2
    if (
        args.output
        and os.path.exists(args.output)
        and not args.force
        and not os.path.samefile(args.output, os.devnull)
    ):
        _say(f"katui: {args.output} exists; use --force to overwrite")
        return 2
    if args.view and args.format not in (None, "md"):
        _say(f"katui: --view writes Markdown; leave out --format {args.format}")
        return 2
    if args.hex and args.view != "follow":
        _say("katui: --hex is for --view follow")
        return 2
    if args.ladder and (args.view or args.format not in (None, "text")):
        has = "Markdown always draws them" if args.view or args.format == "md" else f"{args.format} has none"
        _say(f"katui: --ladder is for the text format ({has})")
        return 2
    if args.view == "follow" and len(args.stream or ()) != 1:
        _say("katui: --view follow wants the connection: --stream N (one)")
        return 2
    args.format = args.format or "text"
    # JSON and text without ladders never look at single frames: don't keep them.
    frames = args.format == "md" or (args.format == "text" and args.ladder) or args.view == "follow"
    if args.format == "md" and not args.view:  # its ladders read five of the columns
        from katui.tcp.frames import LADDER_COLUMNS

        frames = LADDER_COLUMNS
    keylog = _keylog(args)
    a = analyze(args.file, idle_threshold_ns=args.idle or DEFAULT_IDLE_NS, frames=frames, keylog=keylog)
    try:
        streams = _streams(a, args.stream)
        # A file is written in UTF-8: the Markdown writer's pieces come encoded already.
        encoded = bool(args.output) and args.format == "md"
        out = _view_md(a, args.view, streams, args.hex) if args.view else _chunks(a, args, streams, encoded)
        for w in a.warnings:
            _say(f"katui: warning: {w}")
        if args.output:
            write_atomic(args.output, out, force=args.force)
        else:
            for piece in [out] if isinstance(out, str) else out:
                sys.stdout.write(piece)
            sys.stdout.flush()
    except OutputError as exc:
        _say(f"katui: {exc}")
        return 2
    except BrokenPipeError:  # `katui report x | head`
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    finally:
        a.close()
    return 0


def _chunks(a, args, streams: list[int] | None, encoded: bool = False):
    """The report's text in pieces, in ``args.format`` (Markdown's as UTF-8 bytes when
    ``encoded``). Only that format's writer is imported: a JSON report does not pay for the
    Markdown one's modules."""
    if args.format == "json":
        from katui.report import jsonout

        return jsonout.chunks(a, streams)
    if args.format == "md":
        from katui.report import markdown

        return (markdown.encoded_chunks if encoded else markdown.chunks)(a, streams)
    if args.format in ("csv", "csv-requests"):
        from katui.report import csvout

        return (csvout.chunks if args.format == "csv" else csvout.request_chunks)(a, streams)
    from katui.report import text

    return text.chunks(a, streams, ladder=args.ladder)


def _view_md(a, view: str, streams: list[int] | None, hex_mode: bool) -> str:
    """``--view``: the Markdown of one of the TUI's views."""
    from katui.analysis.requests import all_requests
    from katui.report import views

    conns = a.connections if streams is None else [a.connections[s] for s in streams]
    if view == "timeline":
        return views.timeline_md(a, conns)
    if view == "requests":
        picked = {c.stream for c in conns}
        return views.requests_md(a, [r for r in all_requests(a) if r[0].stream in picked])
    if view == "servers":
        return views.servers_md(a)
    return views.follow_md(a, conns[0], hex_mode)


def _streams(a, wanted: list[int] | None) -> list[int] | None:
    if not wanted:
        return None
    bad = [s for s in wanted if not 0 <= s < len(a.connections)]
    if bad:
        raise CaptureError(f"no tcp.stream {bad[0]} in {a.path} (it has {len(a.connections)})")
    return wanted


def _check_capture(path: str) -> None:
    """Raise CaptureError for a file that is not a capture at all, as ``katui report`` would,
    before the screen opens (a damaged capture still opens, with its warnings). A gzipped one
    is checked when it is read: unpacking it twice would cost seconds on a big one."""
    from katui.capture.reader import GZIP_MAGIC, open_capture

    if os.path.isfile(path) and os.access(path, os.R_OK):
        with open(path, "rb") as fh:
            if fh.read(2) == GZIP_MAGIC:
                return
    open_capture(path).close()


def _view(args) -> int:
    if args.file == "-":
        raise CaptureError(
            "the viewer reads keys from standard input, so it cannot read the "
            "capture from it; save it to a file, or use 'katui report -'"
        )
    _check_capture(args.file)
    if not sys.stdout.isatty():
        _say("katui: the viewer needs a terminal; use 'katui report FILE' in pipes")
        return 2
    keylog = _keylog(args)
    from katui.ui.app import run

    return run(args.file, idle_threshold_ns=args.idle, keylog=keylog)
