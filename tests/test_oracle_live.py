"""Re-derive the Wireshark oracle live when tshark is installed (CI installs it).

The stored expectations in tests/expected/ were made by tests/oracle/make_expected.py with
tshark 4.0.17; this checks they are still what tshark says for the committed samples.
"""

from __future__ import annotations

import shutil
import subprocess
import sys

import pytest

from tests.conftest import REPO


@pytest.mark.skipif(shutil.which("tshark") is None, reason="tshark not installed")
def test_stored_expectations_match_live_tshark():
    version = subprocess.run(["tshark", "--version"], capture_output=True, text=True).stdout
    if "4.0." not in version.splitlines()[0]:
        pytest.skip(f"expectations were made with tshark 4.0.x, this is {version.splitlines()[0]}")
    samples = sorted(str(p) for p in (REPO / "samples").glob("*.pcap"))
    r = subprocess.run(
        [sys.executable, str(REPO / "tests/oracle/make_expected.py"), "--check", *samples],
        capture_output=True,
        text=True,
        cwd=REPO,
    )
    assert r.returncode == 0, r.stdout + r.stderr
