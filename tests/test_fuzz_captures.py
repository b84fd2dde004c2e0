"""Corrupted real captures: katui reads what it can, warns about the rest, never raises.

Mutations are made in Python with a seeded RNG (same cases on every run, no editcap needed):
byte corruption (like ``editcap -E 0.02``), truncation at random offsets, zeroed / huge record
lengths, spliced-out and inserted bytes, bogus IP/TCP header length nibbles.
"""

from __future__ import annotations

import random
import subprocess
import sys
from pathlib import Path

import pytest
from hostile_pcap import shb, write
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from katui.analysis.pipeline import analyze
from katui.capture.errors import CaptureError
from katui.cli import main
from katui.report import jsonout, markdown, text
from tests.conftest import CORPUS, REPO

CASES_PER_FILE = 40


def _sources() -> list[Path]:
    found = sorted((REPO / "samples").glob("*.pcap"))
    if CORPUS.is_dir():
        found += [
            p
            for p in sorted(CORPUS.iterdir())
            if p.suffix in (".pcap", ".pcapng") and p.stat().st_size < 150_000
        ]
    return found


def _mutate(data: bytes, rng: random.Random) -> bytes:
    d = bytearray(data)
    kind = rng.randrange(7)
    if kind == 0:  # editcap -E 0.02
        for i in range(len(d)):
            if rng.random() < 0.02:
                d[i] = rng.randrange(256)
    elif kind == 1:
        del d[rng.randrange(len(d)) :]
    elif kind == 2:  # record / block length fields zeroed or huge
        for _ in range(rng.randrange(1, 8)):
            i = rng.randrange(24, len(d) - 4)
            d[i : i + 4] = rng.choice([b"\0\0\0\0", b"\xff\xff\xff\x7f", b"\x0c\0\0\0", b"\0\0\0\x40"])
    elif kind == 3:  # header length nibbles (IPv4 IHL, TCP data offset) and protocol bytes
        for _ in range(rng.randrange(1, 40)):
            d[rng.randrange(len(d))] = rng.choice([0x40, 0x41, 0x4F, 0x00, 0x10, 0xF0, 0x06, 0x2C, 0x60])
    elif kind == 4:
        i, j = sorted(rng.randrange(len(d)) for _ in range(2))
        del d[i:j]
    elif kind == 5:
        i = rng.randrange(len(d))
        d[i:i] = rng.randbytes(rng.randrange(1, 200))
    else:
        d[24:] = rng.randbytes(len(d) - 24)
    return bytes(d)


def _check(path: str) -> None:
    try:
        a = analyze(path)
    except CaptureError as exc:
        assert "\n" not in str(exc)
        return
    try:
        text.render(a, ladder=True)
        markdown.render(a)
        jsonout.render(a)
        assert len(a.warnings) <= 40
        assert all(c.first_frame >= 1 for c in a.connections)
    finally:
        a.close()


@pytest.mark.parametrize("source", _sources(), ids=lambda p: p.name)
def test_corrupted_capture(tmp_path, source):
    rng = random.Random(source.name)
    data = source.read_bytes()
    for i in range(CASES_PER_FILE):
        _check(write(tmp_path, f"{i}{source.suffix}", _mutate(data, rng)))


def test_gzip_truncated_and_bomb_guard(tmp_path, capsys):
    import gzip

    packed = gzip.compress((REPO / "samples" / "httptest.pcap").read_bytes())
    path = write(tmp_path, "cut.pcap.gz", packed[: len(packed) // 2])
    assert main(["report", path]) == 0  # what was decompressed is analysed...
    assert "truncated" in capsys.readouterr().err  # ...and the cut is reported


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=st.binary(max_size=600), fmt=st.sampled_from(["pcap", "pcapng"]))
def test_random_bytes_after_a_valid_header(tmp_path, body, fmt):
    head = (
        (b"\xd4\xc3\xb2\xa1\x02\x00\x04\x00" + b"\0" * 8 + b"\xff\xff\0\0\x01\0\0\0")
        if fmt == "pcap"
        else shb()
    )
    _check(write(tmp_path, "r." + fmt, head + body))


def test_cli_on_corrupted_files_subprocess(tmp_path):
    rng = random.Random(5)
    data = (REPO / "samples" / "pipelining.pcap").read_bytes()
    for i in range(3):
        path = write(tmp_path, f"{i}.pcap", _mutate(data, rng))
        r = subprocess.run(
            [sys.executable, "-m", "katui", "report", path, "-f", "md"], capture_output=True, timeout=60
        )
        assert r.returncode in (0, 2) and b"Traceback" not in r.stderr
