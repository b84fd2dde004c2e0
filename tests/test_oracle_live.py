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


def _tshark_frames(path: str, *fields: str) -> list[set[int]]:
    out = subprocess.run(
        ["tshark", "-r", path, "-T", "fields", "-e", "frame.number", *(f"-e{f}" for f in fields)],
        capture_output=True,
        text=True,
    ).stdout
    rows = [line.split("\t") for line in out.splitlines()]
    return [{int(r[0]) for r in rows if len(r) > k + 1 and r[k + 1]} for k in range(len(fields))]


@pytest.mark.skipif(shutil.which("tshark") is None, reason="tshark not installed")
@pytest.mark.parametrize("name", sorted(p.name for p in (REPO / "samples" / "real").glob("*stalled*.pcap"))
                         + ["arkime__wireshark-retrans.pcap", "pcapplusplus__example.pcap",
                            "zeek__http_206_example_b.pcap"])  # fmt: skip
def test_zero_window_and_keep_alive_frames_are_tsharks(name):
    """The ladder's [zero window] and [tcp keep-alive] marks are on the frames Wireshark's
    tcp.analysis.zero_window and tcp.analysis.keep_alive flag (checked on all 147 samples and
    corpus captures when written; these are the ones that have any)."""
    from katui.analysis.pipeline import analyze
    from katui.model import NOTE_KEEPALIVE, NOTE_ZERO_WINDOW
    from tests.conftest import capture_path

    path = str(capture_path(name) if "__" in name else REPO / "samples" / "real" / name)
    zero, alive = _tshark_frames(path, "tcp.analysis.zero_window", "tcp.analysis.keep_alive")
    a = analyze(path)
    notes = a.table.notes
    assert zero or alive
    assert {i + 1 for i in range(a.frames) if notes[i] & NOTE_ZERO_WINDOW} == zero
    assert {i + 1 for i in range(a.frames) if notes[i] & NOTE_KEEPALIVE} == alive
    a.close()
