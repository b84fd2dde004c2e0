"""The katui command line: reports, formats, exit statuses, output files."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from katui.cli import main
from katui.tcp.frames import LADDER_COLUMNS
from tests.conftest import SAMPLES

SEED = str(SAMPLES / "httptest.pcap")


def test_json_report_has_the_documented_shape(capsys):
    assert main(["report", SEED, "--format", "json"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert d["frames"] == 25
    c0 = d["connections"][0]
    for key in (
        "stream",
        "client",
        "server",
        "first_frame",
        "last_frame",
        "frame_count",
        "start",
        "duration",
        "requests",
        "close",
    ):
        assert key in c0
    assert (c0["stream"], c0["first_frame"], c0["last_frame"], c0["frame_count"]) == (0, 1, 14, 14)
    assert c0["server"] == "127.0.0.1:8081" and c0["start"] == 0.0
    r1, r2 = c0["requests"]
    assert (
        r1["n"],
        r1["request_frame"],
        r1["response_frame"],
        r1["method"],
        r1["uri"],
        r1["status"],
        r1["reused"],
        r1["idle_before"],
    ) == (1, 4, 6, "GET", "/httptest", 200, False, None)
    assert r2["reused"] is True and r2["idle_before"] == pytest.approx(2.0, abs=0.05)
    assert c0["close"]["by"] == "server" and c0["close"]["how"] == "fin"
    assert c0["close"]["frame"] == 11 and c0["close"]["reason"] == "idle-timeout"
    assert c0["close"]["idle_before"] == pytest.approx(5.0, abs=0.05)
    t = d["server_idle_timeout"]
    assert t["estimate"] == 5.0 and t["advertised"] is None and t["low"] < t["high"]
    assert {"kind", "stream", "frame", "text"} <= set(d["findings"][0])


def test_ipv6_endpoint_format(capsys):
    from tests.conftest import capture_path

    assert main(["report", str(capture_path("arkime__v6-http.pcap")), "-f", "json"]) == 0
    c = json.loads(capsys.readouterr().out)["connections"][0]
    assert c["client"].startswith("[") and c["server"].endswith("]:80")


def test_text_and_markdown_reports(capsys):
    assert main(["report", SEED]) == 0
    out = capsys.readouterr().out
    assert "idle-timeout" in out and "~5 s" in out
    assert main(["report", SEED, "--format", "md", "--stream", "0"]) == 0
    md = capsys.readouterr().out
    assert md.startswith("# katui:") and "| 0 | 127.0.0.1:" in md and "```text" in md
    assert "## Stream 1" not in md


@pytest.mark.parametrize(
    "args, message",
    [
        (["report", "/no/such/file.pcap"], "no such file"),
        (["report", "/"], "is a directory"),
        (["report", SEED, "--stream", "7"], "no tcp.stream 7"),
        (["/no/such/file.pcap"], "no such file"),
    ],
)
def test_errors_are_one_line_and_exit_2(capsys, args, message):
    assert main(args) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1 and "Traceback" not in err


def test_not_a_capture_exits_2_without_traceback(tmp_path):
    p = tmp_path / "x.pcap"
    p.write_text("this is text\n")
    r = subprocess.run([sys.executable, "-m", "katui", "report", str(p)], capture_output=True, text=True)
    assert r.returncode == 2
    assert r.stderr.startswith("katui: ") and "Traceback" not in r.stderr


def test_the_viewer_refuses_a_file_that_is_not_a_capture_before_the_screen_opens(tmp_path, capsys):
    p = tmp_path / "notes.txt"
    p.write_text("this is text\n")
    assert main([str(p)]) == 2  # as `katui report` does: no error screen waiting for q
    err = capsys.readouterr().err
    assert "not a pcap or pcapng capture" in err and err.count("\n") == 1


def test_a_pcapng_whose_first_section_header_is_bad_is_not_a_capture(tmp_path, capsys):
    p = tmp_path / "bad.pcapng"
    p.write_bytes(b"\x0a\x0d\x0d\x0a" + bytes(range(200)))  # the magic, then no byte-order magic
    assert main(["report", str(p)]) == 2
    assert "byte-order magic is wrong" in capsys.readouterr().err


def test_control_characters_in_error_lines_are_shown_escaped(tmp_path, capsys):
    name = str(tmp_path / "\x1b]0;pwned\x07\x1b[31mred.pcap")
    assert main(["report", name]) == 2
    err = capsys.readouterr().err
    assert "\x1b" not in err and "\x07" not in err
    assert "\\x1b]0;pwned\\x07\\x1b[31mred.pcap: no such file" in err


def test_a_key_log_option_naming_another_kind_of_file_is_an_error(tmp_path, capsys):
    assert main(["report", SEED, "--keylog", "README.md"]) == 2
    assert "README.md: not a TLS key log" in capsys.readouterr().err
    empty = tmp_path / "empty.keys"  # a key log the client has not written to yet: fine
    empty.write_text("# SSL/TLS secrets log file\n\n")
    assert main(["report", SEED, "--keylog", str(empty), "-o", os.devnull]) == 0


def test_output_file_is_not_overwritten_without_force(tmp_path, capsys):
    out = tmp_path / "r.md"
    assert main(["report", SEED, "-f", "md", "-o", str(out)]) == 0
    first = out.read_text()
    out.write_text("keep me")
    assert main(["report", SEED, "-f", "md", "-o", str(out)]) == 2
    assert "exists" in capsys.readouterr().err and out.read_text() == "keep me"
    assert main(["report", SEED, "-f", "md", "-o", str(out), "--force"]) == 0
    assert out.read_text() == first
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".katui-")]


def test_output_dash_is_stdout_and_a_directory_is_refused(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["report", SEED, "-o", "-"]) == 0
    assert "idle-timeout" in capsys.readouterr().out and not list(tmp_path.iterdir())
    for force in ([], ["--force"]):  # was 'exists; use --force', then 'Is a directory'
        assert main(["report", SEED, "-o", str(tmp_path), *force]) == 2
        assert capsys.readouterr().err.strip() == f"katui: {tmp_path} is a directory; give a file name"


@pytest.mark.parametrize(
    "args, error",
    [
        (["--hex"], "katui: --hex is for --view follow"),
        (["--ladder", "-f", "json"], "katui: --ladder is for the text format (json has none)"),
        (["--ladder", "-f", "md"], "katui: --ladder is for the text format (Markdown always draws them)"),
    ],
)
def test_options_that_would_do_nothing_are_refused(args, error, capsys):
    assert main(["report", SEED, *args]) == 2
    assert capsys.readouterr().err.strip() == error


def test_report_into_a_pipe_that_closes_early():
    r = subprocess.run(
        f"{sys.executable} -m katui report {SEED} --ladder | head -1",
        shell=True,
        capture_output=True,
        text=True,
    )
    assert r.stdout.startswith("file:") and "Traceback" not in r.stderr


def test_streamed_json_equals_the_plain_data_model():
    """The fast JSON writer says exactly what to_dict() says, on every sample."""
    from katui.report import jsonout
    from tests.conftest import analysed

    for path in sorted(SAMPLES.glob("*.pcap")):
        a = analysed(str(path))
        assert json.loads(jsonout.render(a)) == jsonout.to_dict(a), path.name


def test_report_reads_a_capture_from_standard_input():
    raw = (SAMPLES / "httptest.pcap").read_bytes()
    r = subprocess.run(
        [sys.executable, "-m", "katui", "report", "-", "-f", "json"], input=raw, capture_output=True
    )
    assert r.returncode == 0, r.stderr
    d = json.loads(r.stdout)
    assert d["file"] == "-" and d["frames"] == 25 and len(d["connections"]) == 2
    r = subprocess.run(
        [sys.executable, "-m", "katui", "report", "-"], input=b"", capture_output=True, text=False
    )
    assert r.returncode == 2 and r.stderr.decode().count("\n") == 1


def test_viewer_refuses_standard_input(capsys):
    assert main(["-"]) == 2
    assert "cannot read the capture from it" in capsys.readouterr().err


def test_an_internal_error_is_one_line_not_a_traceback(capsys, monkeypatch):
    import katui.analysis.pipeline as pipeline

    def broken(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(pipeline, "analyze", broken)
    assert main(["report", SEED]) == 2
    err = capsys.readouterr().err
    assert err.startswith("katui: internal error: RuntimeError: boom") and err.count("\n") == 1


def test_reports_without_frame_columns_say_the_same(tmp_path):
    """JSON and ladder-less text reports skip the per-frame columns; nothing they print changes."""
    from katui.analysis.pipeline import analyze
    from katui.report import jsonout, text
    from tests.conftest import CORPUS

    paths = sorted(SAMPLES.glob("*.pcap")) + sorted(CORPUS.glob("*.pcap*"))
    for path in paths:
        full, lean = analyze(str(path)), analyze(str(path), frames=False)
        assert len(full.table) == full.frames and len(lean.table) == 0 and not lean.table.kept
        assert jsonout.render(lean) == jsonout.render(full), path.name
        assert text.render(lean) == text.render(full), path.name
        full.close()
        lean.close()


def test_cli_keeps_frames_only_for_reports_that_draw_them(monkeypatch, capsys):
    import katui.analysis.pipeline as pipeline

    seen = []
    real = pipeline.analyze
    monkeypatch.setattr(pipeline, "analyze", lambda *a, **k: seen.append(k["frames"]) or real(*a, **k))
    for args in (["-f", "json"], ["-f", "text"], ["-f", "text", "--ladder"], ["-f", "md"]):
        assert main(["report", SEED, *args]) == 0
    capsys.readouterr()
    assert seen == [False, False, True, LADDER_COLUMNS]  # Markdown: the columns its ladders read


def test_markdown_from_the_ladder_columns_is_the_report_from_all_of_them():
    # The Markdown report keeps five of the frame table's ten columns; drawn from them, every
    # sample's report (ladders, proxies' three lanes, TLS, HTTP/2) is the one drawn from all.
    from katui.analysis.pipeline import analyze
    from katui.report.markdown import render

    drawn = 0
    for path in sorted(map(str, [*SAMPLES.rglob("*.pcap"), *SAMPLES.rglob("*.pcapng")])):
        full, few = analyze(path), analyze(path, frames=LADDER_COLUMNS)
        try:
            assert few.table.held == LADDER_COLUMNS and len(few.table.toff) == len(few.table.stream) == 0
            assert len(few.table.ts) == len(full.table.ts) == full.frames
            text = render(full)
            assert render(few) == text, path
            drawn += text.count("```text")
        finally:
            full.close()
            few.close()
    assert drawn > 100


def test_ladder_heading_keeps_the_lane_names_apart():
    """A client name wider than its lane ('client 10.41.52.113:41070') still ends before 'server'."""
    from types import SimpleNamespace

    from katui.report.ladder import ARROW_WIDTH
    from katui.report.ladder_text import header_line

    for client in ("127.0.0.1:43070", "10.41.52.113:41070", "[2001:db8::1]:51234"):
        head = header_line(SimpleNamespace(client=client, server="10.0.0.1:80"))
        assert f"client {client} " in head and head.endswith(" server 10.0.0.1:80")
        if len(f"client {client}") < ARROW_WIDTH:  # short names: the server lane stays put
            assert head.index("server") == 6 + 1 + 11 + 1 + ARROW_WIDTH + 1
