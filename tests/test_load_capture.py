"""Verdicts on a generated load-test capture match the generator's ground truth.

benchmarks/make_capture.py knows how it ended every connection (short Connection: close,
client close, server idle timeout, nginx keepalive_requests limit, stale reuse answered by RST,
client abort). katui must find exactly those counts, with ports reused across streams.
"""

from __future__ import annotations

import collections
import json
import subprocess
import sys

from katui.analysis.pipeline import analyze
from tests.conftest import REPO

EXPECTED = {  # generator ending -> (katui close reason, closed by)
    "short": ("connection-close", "server"),
    "client_close": ("client-done", "client"),
    "idle_timeout": ("idle-timeout", "server"),
    "server_limit": ("request-limit", "server"),
    "stale_reuse_rst": ("stale-reuse", "server"),
    "client_rst": ("reset", "client"),
}


def test_generated_capture_verdicts_match_ground_truth(tmp_path):
    cap, summary = tmp_path / "load.pcap", tmp_path / "load.json"
    subprocess.run(
        [
            sys.executable,
            str(REPO / "benchmarks/make_capture.py"),
            str(cap),
            "--packets",
            "20000",
            "--seed",
            "7",
            "--summary-json",
            str(summary),
        ],
        check=True,
        capture_output=True,
    )
    truth = json.loads(summary.read_text())
    a = analyze(str(cap))
    assert len(a.connections) == truth["connections"]
    assert a.requests == truth["requests"]
    got = collections.Counter((c.close.reason, c.close.by) for c in a.connections)
    want = collections.Counter()
    for ending, n in truth["endings"].items():
        want[EXPECTED[ending]] += n
    assert got == want
    limited = [c for c in a.connections if c.close.reason == "request-limit"]
    assert limited and all(c.requests == truth["keepalive_requests"] for c in limited)
    assert a.timeout.estimate_ns == 5_000_000_000
    assert {f.kind for f in a.findings} >= {"stale-reuse", "server-idle-timeout", "request-limit"}
