"""The analysis core and the reports never import Textual or Rich (STYLE.md, habit 1)."""

from __future__ import annotations

import subprocess
import sys


def test_core_and_reports_do_not_import_textual_or_rich():
    code = (
        "import sys\n"
        "import katui, katui.cli\n"
        "from katui.analysis.pipeline import analyze\n"
        "from katui.report import text, markdown, jsonout, csvout, mermaid\n"
        "from katui.analysis import query, payload, tcpopts\n"
        "a = analyze('samples/httptest.pcap')\n"
        "markdown.render(a); text.render(a, ladder=True); jsonout.render(a)\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('textual', 'rich'))\n"
        "print(','.join(bad))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def _imported_by(module: str) -> set[str]:
    """katui modules loaded by importing ``module`` alone, in a fresh interpreter."""
    code = f"import sys, {module}\nprint(','.join(m for m in sys.modules if m.startswith('katui')))\n"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return set(out.stdout.strip().split(","))


def test_tcp_knows_no_protocol_above_it():
    """tcp/ hands bytes to a sink; it never imports http/ (STYLE.md, layers)."""
    for module in (
        "katui.tcp.tracker",
        "katui.tcp.facts",
        "katui.tcp.state",
        "katui.tcp.frames",
        "katui.tcp.sink",
    ):
        above = sorted(
            m for m in _imported_by(module) if m.split(".")[:2] in (["katui", "http"], ["katui", "analysis"])
        )
        assert above == [], (module, above)


def test_a_json_report_imports_no_other_writer():
    """``katui report --format json`` loads the JSON writer only: the Markdown, text and CSV
    writers (and the ladders they draw) are modules a JSON report never runs."""
    code = (
        "import sys\n"
        "from katui import cli\n"
        "cli.main(['report', '--format', 'json', 'samples/httptest.pcap', '-o', '/dev/null'])\n"
        "print(','.join(m for m in sys.modules if m.startswith('katui.report')))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    loaded = set(out.stdout.strip().split(","))
    assert "katui.report.jsonout" in loaded
    for other in ("markdown", "text", "csvout", "ladder_md", "ladder_text", "mermaid"):
        assert f"katui.report.{other}" not in loaded, other


def _loaded_by_json_report(capture: str) -> set[str]:
    code = (
        "import sys\n"
        "from katui import cli\n"
        f"cli.main(['report', '--format', 'json', {capture!r}, '-o', '/dev/null'])\n"
        "print(','.join(sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return set(out.stdout.strip().split(","))


def test_http2_and_hpack_are_loaded_only_for_a_capture_that_speaks_http2():
    """The HTTP/2 sink and its HPACK decoder (about 1 MB once loaded) are imported only when a
    connection spoke HTTP/2: the analysis after the read does not pull them in."""
    plain = _loaded_by_json_report("samples/httptest.pcap")
    assert "katui.http2.conversation" not in plain and "hpack" not in plain
    h2c = _loaded_by_json_report("samples/real/h2-h2c-httpx.pcap")
    assert "katui.http2.conversation" in h2c and "hpack" in h2c
