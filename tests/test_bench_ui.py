"""benchmarks/ui_load.py (run.py's ``ui`` item) measures what it says: the list it waited for
is the capture's whole list. No timing is asserted (timings are the benchmark's business)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def _ui_load(capture: Path) -> dict:
    out = subprocess.run(
        [sys.executable, str(REPO / "benchmarks" / "ui_load.py"), str(capture), "--timeout", "120"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_ui_load_waits_for_the_whole_list():
    got = _ui_load(REPO / "samples" / "httptest.pcap")
    assert got["failed"] is False
    assert got["rows"] == got["connections"] == 2  # tshark: tcp.stream 0 and 1
    assert 0 < got["first_rows_s"] <= got["loaded_s"]


def test_ui_load_reports_a_capture_that_fails(tmp_path):
    bad = tmp_path / "bad.pcap"
    bad.write_bytes(b"not a capture at all")
    got = _ui_load(bad)
    assert got["failed"] is True
    assert got["rows"] == 0 and got["connections"] is None
