"""Damaged TLS captures, with and without their key logs: katui never raises, every report
renders. Payload bytes are corrupted where the TLS records are (not the pcap framing, which
test_fuzz_captures covers), so record headers, hellos and ciphertext all get hit."""

from __future__ import annotations

import random

import pytest

from katui.analysis.pipeline import analyze
from katui.report import jsonout, markdown, text
from katui.tls.keylog import KeyLog
from tests.conftest import SAMPLES

REAL = sorted((SAMPLES / "real").glob("tls-*.pcap"))


def _payload_spans(path) -> list[tuple[int, int]]:
    a = analyze(str(path))
    t = a.table
    return [(t.poff[i], t.pcap[i]) for i in range(a.frames) if t.pcap[i]]


@pytest.mark.parametrize("path", REAL, ids=lambda p: p.stem)
def test_damaged_tls_payloads_never_raise(path, tmp_path):
    rng = random.Random(path.stem)
    data = path.read_bytes()
    spans = _payload_spans(path)
    keys = KeyLog.read(str(path.with_suffix(".keys")))
    for case in range(12):
        d = bytearray(data)
        for _ in range(rng.randrange(1, 6)):
            off, n = rng.choice(spans)
            at = off + rng.randrange(n)
            if rng.random() < 0.3:  # a record header byte: type, version, or length
                at = off + min(n - 1, rng.randrange(5))
            d[at] = rng.randrange(256)
        out = tmp_path / f"{case}.pcap"
        out.write_bytes(bytes(d))
        for keylog in (None, keys):
            a = analyze(str(out), keylog=keylog)
            text.render(a, ladder=True)
            markdown.render(a)
            jsonout.render(a)
            # a connection whose first record header was hit is not TLS any more: fine
            assert len(a.connections) >= 1
