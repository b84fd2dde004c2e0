"""Follow stream of TLS connections: records (type, version, length, what the hellos say), and
with a key log their plaintext; the records are tshark's."""

from __future__ import annotations

import shutil
import subprocess
from collections import defaultdict

import pytest
from tls_helpers import client_hello, record
from ui_helpers import SAMPLES, settle

from katui.analysis.pipeline import analyze
from katui.report.follow import follow_view, segments
from katui.report.tls_follow import RecordReader, wire_records
from katui.tls.keylog import KeyLog
from katui.ui.app import KatuiApp
from katui.ui.follow import FollowScreen, FollowView

REAL = SAMPLES / "real"
CAPTURES = sorted(p.stem for p in REAL.glob("tls-*.pcap"))


def _analysis(name: str, keys: bool):
    keylog = KeyLog.read(str(REAL / f"{name}.keys")) if keys else None
    return analyze(str(REAL / f"{name}.pcap"), keylog=keylog)


def _tshark(name: str, keys: bool) -> dict[int, list[tuple[int, int]]]:
    """frame -> [(content type, length)] of the TLS records tshark dissects in it."""
    args = ["tshark", "-2", "-n", "-r", str(REAL / f"{name}.pcap"), "-Y", "tls", "-T", "fields",
            "-E", "occurrence=a", "-E", "aggregator=,", "-e", "frame.number",
            "-e", "tls.record.content_type", "-e", "tls.record.opaque_type",
            "-e", "tls.record.length"]  # fmt: skip
    if keys:
        args[2:2] = ["-o", f"tls.keylog_file:{REAL / f'{name}.keys'}"]
    out = subprocess.run(args, capture_output=True, text=True, check=True).stdout
    found = {}
    for line in out.splitlines():
        # Without keys tshark gives an encrypted TLS 1.3 record's type (23) as opaque_type, a
        # field of its own; in one frame (one direction) the clear records (hellos, CCS) come
        # before the encrypted ones, so the clear types first, then the opaque ones.
        frame, clear, opaque, lengths = line.split("\t")
        types = [int(t) for t in (clear.split(",") if clear else [])]
        types += [23] * (len(lengths.split(",")) - len(types)) if not keys else []
        found[int(frame)] = list(zip(types, map(int, lengths.split(",")), strict=True))
    return found


@pytest.mark.skipif(shutil.which("tshark") is None, reason="tshark not installed")
@pytest.mark.parametrize("keys", [False, True], ids=["no-keys", "keys"])
@pytest.mark.parametrize("name", CAPTURES)
def test_records_are_tsharks(name, keys):
    """Every record in the frame that completes it, its length, and its content type: the
    inner type when decrypted (tshark's tls.record.content_type with the keys)."""
    a = _analysis(name, keys)
    ours: dict[int, list[tuple[int, int]]] = defaultdict(list)
    for c in a.connections:
        for frame, rtype, length in wire_records(a, segments(a, c)):
            ours[frame].append((rtype, length))
    assert dict(ours) == _tshark(name, keys)


def test_records_in_words_without_and_with_the_key_log():
    a = _analysis("tls-tls12-curl", False)
    lines, mode = follow_view(a, a.connections[0])
    text = [t for _, _, t in lines]
    assert mode == "TLS records (no key log: records are shown, not decrypted)"
    assert text[0] == "[TLS 1.0] handshake 215 B: ClientHello sni=localhost alpn=h2,http/1.1"
    assert text[1].startswith("[TLS 1.2] handshake 112 B: ServerHello TLS 1.2 TLS_ECDHE_RSA_WITH_AES_256_GCM")
    assert "[TLS 1.2] app data 103 B" in text and text[-1] == "[TLS 1.2] alert 26 B (encrypted)"
    k = _analysis("tls-tls12-curl", True)
    lines, mode = follow_view(k, k.connections[0])
    text = [t for _, _, t in lines]
    assert mode == "TLS records, decrypted"
    assert "[TLS 1.2] app data 103 B, decrypted app data 79 B:" in text and "  GET /a HTTP/1.1" in text
    assert text[-1] == "[TLS 1.2] alert 26 B, decrypted: alert: warning close_notify"
    # The request's lines carry the frame of its record; hex stays the bytes on the wire.
    frame = next(f for f, _, t in lines if t == "  GET /a HTTP/1.1")
    assert k.connections[0].exchanges[0].request.first_frame == frame
    hexed, mode = follow_view(k, k.connections[0], hex_mode=True)
    assert mode == "hex" and hexed[0][2].startswith("00000000  16 03 01 00 d7")


def test_tls13_handshake_messages_decrypted_and_tickets_named():
    a = _analysis("tls-tls13-curl", True)
    text = [t for _, _, t in follow_view(a, a.connections[0])[0]]
    assert "[TLS 1.2] app data 833 B, decrypted: handshake: Certificate" in text
    assert "[TLS 1.2] app data 282 B, decrypted: handshake: NewSessionTicket" in text
    assert "[TLS 1.2] app data 19 B, decrypted: alert: warning close_notify" in text


def test_wrong_keys_say_so_and_leave_records_encrypted(tmp_path):
    lines = (REAL / "tls-tls12-curl.keys").read_text().splitlines()
    bad = [" ".join([*ln.split()[:2], ln.split()[2][:-2] + "00"]) for ln in lines]
    (tmp_path / "bad.keys").write_text("\n".join(bad) + "\n")
    a = analyze(str(REAL / "tls-tls12-curl.pcap"), keylog=KeyLog.read(str(tmp_path / "bad.keys")))
    lines, mode = follow_view(a, a.connections[0])
    assert mode == "TLS records (a record did not decrypt (wrong key log?); the rest stays encrypted)"
    assert "[TLS 1.2] handshake 40 B (did not decrypt)" in [t for _, _, t in lines]
    assert not any("GET" in t for _, _, t in lines)


def test_hostile_names_are_escaped_and_bytes_that_are_not_tls_say_so():
    reader = RecordReader(None)
    (line,) = reader.feed(True, record(22, client_hello(sni="\x1b]0;pwn\x07[b]x"), 0x0301))
    assert line.startswith("[TLS 1.0] handshake") and "sni=\\x1b]0;pwn\\x07[b]x" in line
    assert "\x1b" not in line and "\x07" not in line
    assert reader.feed(False, record(23, bytes(100))[:50]) == []  # not whole yet
    assert reader.left() == [(False, "50 B of a record cut off (the capture or the read limit ends)")]
    (lost,) = reader.feed(True, b"\x1b[2J not tls")
    assert lost == "12 B that are not a TLS record: the framing is lost here"
    assert reader.feed(True, b"more") == ["4 B not read as TLS records (the framing was lost)"]


async def test_f_on_a_tls_connection_shows_its_records_and_x_the_wire_bytes():
    app = KatuiApp(str(REAL / "tls-tls13-curl.pcap"), keylog=KeyLog.read(str(REAL / "tls-tls13-curl.keys")))
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        await pilot.press("F")
        assert isinstance(app.screen, FollowScreen)
        view = app.screen.query_one(FollowView)
        assert "ClientHello sni=localhost" in view.row_text(0)
        assert any(view.row_text(y).endswith("  GET /a HTTP/1.1") for y in range(view.row_total))
        assert "TLS records, decrypted" in str(app.screen.query_one("#follow-title").render())
        await pilot.press("x")
        assert "hex" in str(app.screen.query_one("#follow-title").render())
        assert "16 03 01 02 00" in view.row_text(0)
