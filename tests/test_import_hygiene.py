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
