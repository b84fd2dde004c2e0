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

# Covered elsewhere: wrong and foreign key logs, a flipped ciphertext byte, a lost segment
# (tests/test_tls_decrypt.py); any bytes through the record protection (the same file, with
# hypothesis); random bytes and splits through the record parser (tests/test_tls_records.py).

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


def _frames(pcap: bytes) -> list[tuple[int, int]]:
    """(offset of the record header, captured length) of every frame of a little-endian pcap."""
    out, pos = [], 24
    while pos + 16 <= len(pcap):
        incl = int.from_bytes(pcap[pos + 8 : pos + 12], "little")
        out.append((pos, incl))
        pos += 16 + incl
    return out


def _damage(pcap: bytes, frame: int, payload_at: int, kind: str) -> bytes:
    """``pcap`` with the TLS record that starts the payload of ``frame`` damaged: ``truncated``
    (the frame cut by a snap length 9 bytes into the record), ``bad-length`` (its length field
    says 65535), ``garbage`` (its first bytes replaced by text that is no record)."""
    pos, incl = _frames(pcap)[frame - 1]
    rec = bytearray(pcap[pos : pos + 16 + incl])
    at = payload_at - pos  # the record's offset inside this pcap record
    if kind == "truncated":
        rec = rec[: at + 9]
        rec[8:12] = (len(rec) - 16).to_bytes(4, "little")  # orig_len stays: cut by the snap length
    elif kind == "bad-length":
        rec[at + 3 : at + 5] = b"\xff\xff"
    else:
        rec[at : at + 16] = b"GARBAGE\x1b[2J\r\nNOT"
    return pcap[:pos] + bytes(rec) + pcap[pos + 16 + incl :]


@pytest.mark.parametrize("name", ["tls-seed-tls13", "tls-seed-tls12"])
@pytest.mark.parametrize("kind", ["truncated", "bad-length", "garbage"])
def test_a_damaged_record_after_the_handshake_with_keys(name, kind, tmp_path):
    """The record of the second request on the first connection (after the handshake) is cut
    short, given a bad length, or replaced by garbage; with the right key log: nothing raises,
    the first exchange stays decrypted, that connection gets a note, the other connection is
    untouched, and the damaged bytes never reach a report as control sequences."""
    path = SAMPLES / "real" / f"{name}.pcap"
    keys = KeyLog.read(str(path.with_suffix(".keys")))
    a = analyze(str(path), keylog=keys)
    frame = a.connections[0].exchanges[1].request.frame
    out = tmp_path / f"{kind}.pcap"
    out.write_bytes(_damage(path.read_bytes(), frame, a.table.poff[frame - 1], kind))
    b = analyze(str(out), keylog=keys)
    first, second = b.connections
    assert first.tls.decrypted and f"in frame {frame}" in first.tls.note
    e = first.exchanges[0]
    assert (e.request.uri, e.response.status) == ("/httptest1", 200)
    assert not any(x.request and x.request.uri == "/httptest2" for x in first.exchanges)
    assert second.tls.decrypted and second.tls.note is None
    assert [x.request.uri for x in second.exchanges] == ["/httptest3"]
    for report in (text.render(b, ladder=True), markdown.render(b), jsonout.render(b)):
        assert "\x1b" not in report
