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
