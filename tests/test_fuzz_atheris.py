"""Bounded runs of the coverage-guided fuzz targets in fuzz/ (atheris, libFuzzer).

Each run has a fixed seed and a fixed number of inputs (libFuzzer's ``-seed`` and ``-runs``),
not a time limit, so a run is the same on a fast and a slow machine. Each target runs on
both builds: compiled (what users run) and ``KATUI_PURE=1`` (which atheris can instrument);
so does the HTTP target, since the HTTP parser is compiled too.
A failing input is written to pytest's temp dir; its path is in the failure message.
Skipped where atheris is not installed (it is in the ``test`` extra for Linux x86_64).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import pytest
from conftest import REPO, SAMPLES

from katui import speedups

pytest.importorskip("atheris", reason="atheris is not installed (pip install atheris; Linux x86_64 wheels)")

SEEDS = (
    b"\x01GET /a HTTP/1.1\r\nHost: x\r\n\r\nPOST /b HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello"
    b"PUT /c HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3;x=y\r\nabc\r\n0\r\nT: 1\r\n\r\n",
    b"\x00HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabc"
    b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\nHTTP/1.0 200 OK\r\n\r\nx",
)


def _fuzz(target: str, corpus, runs: int, tmp_path, pure: bool = False) -> None:
    env = dict(os.environ, KATUI_PURE="1" if pure else "")
    cmd = [sys.executable, str(REPO / "fuzz" / target), str(corpus), f"-runs={runs}", "-seed=1",
           f"-artifact_prefix={tmp_path}/", "-print_final_stats=1"]  # fmt: skip
    done = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=600)
    tail = "\n".join(done.stderr.splitlines()[-40:])
    assert done.returncode == 0, f"{target} found a failing input (saved in {tmp_path}):\n{tail}"
    assert f"Done {runs} runs" in done.stderr, tail


@pytest.mark.parametrize("pure", [False, True], ids=["compiled", "interpreted"])
def test_http_scanner_fuzz(tmp_path, pure):
    if not pure and not speedups.compiled():
        pytest.skip("the compiled core is not built (python setup.py build_ext --inplace)")
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for i, seed in enumerate(SEEDS):
        (corpus / f"seed{i}").write_bytes(seed)
    _fuzz("fuzz_http.py", corpus, 20_000, tmp_path, pure)


@pytest.mark.parametrize("pure", [False, True], ids=["compiled", "interpreted"])
def test_capture_reader_fuzz(tmp_path, pure):
    if not pure and not speedups.compiled():
        pytest.skip("the compiled core is not built (python setup.py build_ext --inplace)")
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for p in sorted(SAMPLES.glob("*.pcap")):
        if p.stat().st_size < 16_000:
            shutil.copy(p, corpus)
    _fuzz("fuzz_capture.py", corpus, 2_000, tmp_path, pure)
