"""Capture text never drives the terminal or breaks a report; the CLI fails in one line, exit 2."""

from __future__ import annotations

import hashlib
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from hostile_pcap import GET, OK, conversation, pcap, write

from katui.cli import main

REPO = Path(__file__).resolve().parents[1]
HOSTILE = REPO / "samples" / "hostile.pcap"
RAW_CONTROLS = ("\x1b", "\x07", "\x9b", "\u202e", "\u202c")


def _run(capsys, *args: str) -> tuple[int, str, str]:
    code = main(["report", *args])
    out, err = capsys.readouterr()
    return code, out, err


def _cells(row: str) -> int:
    """Table cells in a Markdown row: pipes not escaped by an odd run of backslashes."""
    return len(re.findall(r"(?<!\\)(?:\\\\)*\|", row)) - 1


@pytest.mark.parametrize("fmt", ["text", "md", "json"])
def test_hostile_capture_is_inert(capsys, fmt):
    extra = ["--ladder"] if fmt == "text" else []
    code, out, err = _run(capsys, str(HOSTILE), "--format", fmt, *extra)
    assert code == 0, err
    for ch in RAW_CONTROLS:
        assert ch not in out, (fmt, repr(ch))
    assert "evil.exe" in out and ("\\u001b" if fmt == "json" else "\\x1b") in out  # visible escapes
    if fmt == "md":
        rows = [ln for ln in out.splitlines() if ln.startswith("| 1 |")]
        assert len(rows) == 1 and _cells(rows[0]) == 7
        assert "\\[bold red\\]" in rows[0] and "\\|a\\|b\\|\\`code\\`" in rows[0]


def test_hostile_capture_via_subprocess(tmp_path):
    for fmt in ("text", "md"):
        r = subprocess.run(
            [sys.executable, "-m", "katui", "report", str(HOSTILE), "-f", fmt],
            capture_output=True,
            timeout=60,
        )
        assert r.returncode == 0 and r.stderr == b""
        for raw in (b"\x1b", b"\x07", b"\x9b", "\u202e".encode()):
            assert raw not in r.stdout


def test_hostile_sample_matches_its_script(tmp_path):
    sys.path.insert(0, str(REPO / "samples" / "scripts"))
    try:
        import make_hostile
    finally:
        sys.path.pop(0)
    make_hostile.main(str(tmp_path / "h.pcap"))
    assert (tmp_path / "h.pcap").read_bytes() == HOSTILE.read_bytes()


def _unreadable(tmp_path: Path) -> dict[str, str]:
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    (tmp_path / "dir").mkdir()
    return {
        "empty": write(tmp_path, "empty.pcap", b""),
        "random": write(tmp_path, "random.pcap", bytes(range(256)) * 4),
        "short-header": write(tmp_path, "short.pcap", b"\xd4\xc3\xb2\xa1\x02\x00"),
        "bad-gzip": write(tmp_path, "bad.pcap.gz", b"\x1f\x8b\x08\x00garbage"),
        "directory": str(tmp_path / "dir"),
        "fifo": str(fifo),
        "missing": str(tmp_path / "nope.pcap"),
    }


def test_unreadable_files_one_line_exit_2(tmp_path, capsys):
    for name, path in _unreadable(tmp_path).items():
        code, out, err = _run(capsys, path)
        assert code == 2, name
        assert out == "" and err.count("\n") == 1 and err.startswith("katui: "), (name, err)
        assert "Traceback" not in err


def test_unreadable_file_subprocess(tmp_path):
    r = subprocess.run(
        [sys.executable, "-m", "katui", "report", str(tmp_path)], capture_output=True, timeout=60
    )
    assert r.returncode == 2 and r.stderr.count(b"\n") == 1 and b"directory" in r.stderr


def test_damage_is_warned_on_stderr_and_in_reports(tmp_path, capsys):
    data = pcap(conversation(GET, OK))
    path = write(tmp_path, "cut.pcap", data[:-7])
    for fmt in ("text", "md", "json"):
        code, out, err = _run(capsys, path, "-f", fmt)
        assert code == 0
        assert "katui: warning: capture truncated" in err
        assert "capture truncated" in out and "analysed the 7 complete records" in out


def _digest(path: Path) -> tuple[str, int]:
    return hashlib.sha256(path.read_bytes()).hexdigest(), path.stat().st_mtime_ns


_OPENS: list[tuple] = []
_WATCHED: set[str] = set()


def _audit(event: str, args: tuple) -> None:
    if event == "open" and str(args[0]) in _WATCHED:
        _OPENS.append(args)


# The "open" audit event sees every open, also from the compiled reader (which calls the
# builtin directly, so a monkeypatched builtins.open would not see it). Hooks stay for good.
sys.addaudithook(_audit)


def test_capture_is_never_written(tmp_path, capsys):
    cap = tmp_path / "c.pcap"
    cap.write_bytes(pcap(conversation(GET, OK)))
    before = _digest(cap)
    cap.chmod(0o444)
    _WATCHED.add(str(cap))
    try:
        for fmt in ("text", "md", "json"):
            assert _run(capsys, str(cap), "-f", fmt)[0] == 0
    finally:
        _WATCHED.discard(str(cap))
    write = os.O_WRONLY | os.O_RDWR | os.O_APPEND | os.O_CREAT | os.O_TRUNC
    assert _OPENS and all(not set(mode) & set("wax+") and not flags & write for _p, mode, flags in _OPENS)
    assert _digest(cap) == before


def test_export_never_overwrites_without_force(tmp_path, capsys):
    out = tmp_path / "r.md"
    out.write_text("keep me")
    code, _, err = _run(capsys, str(HOSTILE), "-f", "md", "-o", str(out))
    assert code == 2 and "--force" in err and out.read_text() == "keep me"
    code, _, _ = _run(capsys, str(HOSTILE), "-f", "md", "-o", str(out), "--force")
    assert code == 0 and out.read_text().startswith("# katui")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.md"]  # no temp file left behind


def test_export_is_atomic(tmp_path, capsys, monkeypatch):
    out = tmp_path / "r.json"
    out.write_text("old")
    renames = []
    real = os.replace
    monkeypatch.setattr(os, "replace", lambda a, b: (renames.append((a, b)), real(a, b)))
    assert _run(capsys, str(HOSTILE), "-f", "json", "-o", str(out), "--force")[0] == 0
    assert len(renames) == 1 and Path(renames[0][1]) == out and Path(renames[0][0]).parent == tmp_path
    assert out.read_text().startswith("{")
    # An unwritable folder: one line, exit 2, nothing created.
    code, _, err = _run(capsys, str(HOSTILE), "-o", str(tmp_path / "no" / "such" / "r.txt"))
    assert code == 2 and err.count("\n") == 1


def test_a_hostile_alpn_reaches_the_tui_escaped(tmp_path):
    """The ClientHello offers one ALPN name made of terminal controls: without keys katui shows
    the offered name as the connection's protocol (list cell, detail pane, filter), escaped;
    before, the raw ESC sequences reached the TUI (the reports were already clean)."""
    from tls_helpers import client_hello, record, server_hello

    from katui.analysis.payload import protocol, short_protocol
    from katui.analysis.pipeline import analyze
    from katui.ui.detail import connection_text

    evil = "\x1b]0;pwn\x07\x1b[31mRED\u202e"
    hello = record(22, client_hello(alpn=(evil,)))
    path = write(tmp_path, "alpn.pcap", pcap(conversation(hello, record(22, server_hello()))))
    a = analyze(path)
    (conn,) = a.connections
    shown = (protocol(conn), short_protocol(protocol(conn)), connection_text(a, conn).plain)
    assert "RED" in shown[0] and "\\x1b" in shown[0]
    for text in shown:
        for ch in RAW_CONTROLS:
            assert ch not in text, (text, repr(ch))
