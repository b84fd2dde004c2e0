"""TLS with a key log: decrypted connections get the HTTP analysis, and their request frames
agree with tshark's (tshark -2 -o tls.keylog_file:F.keys, quoted in samples/real/tls.md);
missing, wrong or damaged keys leave connections in the without-keys view with a note."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from katui import cli
from katui.analysis.pipeline import analyze
from katui.tls.decrypt import SUITES, tls12_directions, tls13_directions
from katui.tls.keylog import KeyLog
from tests.conftest import SAMPLES

REAL = SAMPLES / "real"
NAMES = sorted(p.stem for p in REAL.glob("tls-*.pcap") if not p.stem.startswith("tls-h2"))


def _decrypted(name: str, keys: str | None = None):
    return analyze(str(REAL / f"{name}.pcap"), keylog=KeyLog.read(str(REAL / f"{keys or name}.keys")))


def _truth(name: str) -> list[tuple[int, int, str]]:
    """(tcp.stream, request frame, URI) of every request tshark decrypts."""
    block = (REAL / "tls.md").read_text().split(f"## {name}.pcap")[1].split("## ")[0]
    block = block.split("tshark with the key log:")[1]
    return [(int(s), int(f), u) for s, f, u in re.findall(r"^(\d+)\t(\d+)\tGET\t(\S+)", block, re.M)]


FAILED_NOTE = "nothing to decrypt (no application keys were made)"


@pytest.mark.parametrize("name", NAMES)
def test_decrypted_requests_are_tsharks(name):
    a = _decrypted(name)
    mine = [
        (c.stream, e.request.frame, e.request.uri) for c in a.connections for e in c.exchanges if e.request
    ]
    assert sorted(mine) == _truth(name)
    for c in a.connections:
        if not c.exchanges:  # a handshake-only connection (a pre-connect, or one that failed)
            # has nothing to decrypt; a fatal alert in the clear says that it failed
            failed = any(level == 2 for _, level, _, _ in c.tls.alerts)
            assert c.close.reason == ("tls-failed" if failed else "unused")
            # (curl refusing a TLS 1.2 certificate never made a master secret, over TLS 1.3 it
            # logged only the server's handshake secret: the key log is not to blame)
            no_keys = failed and c.tls.note == FAILED_NOTE
            assert not c.tls.decrypted and (c.tls.note is None or no_keys)
            continue
        assert c.tls.decrypted and c.http and c.tls.note is None
        assert not any(e.inferred for e in c.exchanges)
        assert all(e.response is None or e.response.status == 200 for e in c.exchanges)


def test_every_supported_cipher_family_decrypts():
    a = _decrypted("tls-ciphers-curl")
    assert [(c.tls.version, c.tls.cipher) for c in a.connections] == [
        ("TLS 1.3", "TLS_CHACHA20_POLY1305_SHA256"),
        ("TLS 1.3", "TLS_AES_128_GCM_SHA256"),
        ("TLS 1.2", "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256"),
        ("TLS 1.2", "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"),
    ]
    assert all(c.requests == 1 for c in a.connections)
    cbc = _decrypted("tls-cbc")
    assert [c.tls.cipher for c in cbc.connections] == [
        "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA",  # encrypt-then-MAC (curl)
        "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384",  # encrypt-then-MAC (curl)
        "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256",  # MAC-then-encrypt (Python, EtM off)
    ]
    assert [c.exchanges[0].request.uri for c in cbc.connections] == [
        "/ECDHE-RSA-AES128-SHA",
        "/ECDHE-RSA-AES256-SHA384",
        "/no-etm",
    ]


def test_decrypted_verdicts_read_the_headers():
    """With keys, the header reasons are read: curl's 'Connection: close', nginx's request limit."""
    curl = _decrypted("tls-tls12-curl")
    assert [c.close.reason for c in curl.connections] == [
        "client-done",
        "connection-close",
        "connection-close",
        "stale-reuse",
        "client-done",
    ]
    assert [c.close.asked_by for c in curl.connections][1:3] == ["client", "client"]
    limit = _decrypted("tls-tls13-limit")
    assert [c.close.reason for c in limit.connections] == ["request-limit", "request-limit", "client-done"]
    seed = _decrypted("tls-tls13-requests")
    assert seed.connections[0].close.reason == "idle-timeout"
    assert 2.0e9 <= seed.connections[0].close.idle_before_ns < 2.1e9  # not the close_notify's 0


def test_keys_of_another_capture_leave_the_inferred_view():
    a = _decrypted("tls-tls13-requests", keys="tls-tls12-curl")
    without = analyze(str(REAL / "tls-tls13-requests.pcap"))
    for c, w in zip(a.connections, without.connections, strict=True):
        assert not c.tls.decrypted and c.tls.note == "no keys for this connection in the key log"
        assert (c.requests, c.close.reason) == (w.requests, w.close.reason)
        assert all(e.inferred for e in c.exchanges)


def test_wrong_secrets_leave_the_inferred_view_with_a_note(tmp_path):
    lines = (REAL / "tls-tls12-curl.keys").read_text().splitlines()
    bad = [" ".join([*ln.split()[:2], ln.split()[2][:-2] + "00"]) for ln in lines]
    (tmp_path / "bad.keys").write_text("\n".join(bad) + "\n")
    a = analyze(str(REAL / "tls-tls12-curl.pcap"), keylog=KeyLog.read(str(tmp_path / "bad.keys")))
    for c in a.connections:
        assert not c.tls.decrypted and "did not decrypt (wrong key log?)" in c.tls.note
        assert c.requests >= 1 and all(e.inferred for e in c.exchanges)


def test_a_damaged_record_stops_decryption_of_its_direction_only(tmp_path):
    """A byte flipped inside the second request's ciphertext: the first exchange stays
    decrypted, the note names the frame, nothing fails."""
    data = bytearray((REAL / "tls-tls13-requests.pcap").read_bytes())
    a = analyze(str(REAL / "tls-tls13-requests.pcap"))
    frame = a.connections[0].exchanges[1].request.frame
    off = a.table.poff[frame - 1] + 20  # inside the record body
    data[off] ^= 0xFF
    (tmp_path / "x.pcap").write_bytes(bytes(data))
    b = analyze(str(tmp_path / "x.pcap"), keylog=KeyLog.read(str(REAL / "tls-tls13-requests.keys")))
    c = b.connections[0]
    assert c.tls.decrypted and f"frame {frame} did not decrypt" in c.tls.note
    assert c.exchanges[0].request.uri == "/after-0s" and c.exchanges[0].response.status == 200
    assert b.connections[1].requests == 1 and b.connections[1].tls.note is None


def test_key_log_lines_that_are_not_secrets_are_skipped(tmp_path):
    good = "CLIENT_RANDOM " + "ab" * 32 + " " + "cd" * 48
    text = "\n".join(
        ["# comment", "", "CLIENT_RANDOM zz 00", "CLIENT_RANDOM " + "ab" * 31 + " 00", "ONE TWO", good,
         "SERVER_TRAFFIC_SECRET_0 " + "ab" * 32 + " " + "ee" * 200, "\x00\xff garbage \x1b[2J"]
    )  # fmt: skip
    (tmp_path / "k").write_text(text)
    keys = KeyLog.read(str(tmp_path / "k"))
    assert len(keys) == 1 and keys.secrets[bytes.fromhex("ab" * 32)] == {
        "CLIENT_RANDOM": bytes.fromhex("cd" * 48)
    }


def test_cli_keylog_and_the_environment_variable(tmp_path, monkeypatch, capsys):
    pcap, keys = str(REAL / "tls-tls13-curl.pcap"), str(REAL / "tls-tls13-curl.keys")
    assert cli.main(["report", pcap, "--format", "json", "--keylog", keys]) == 0
    d = json.loads(capsys.readouterr().out)
    assert [c["tls"]["decrypted"] for c in d["connections"]] == [True, True, True]
    assert (
        d["connections"][0]["requests"][0]["uri"] == "/a"
        and "inferred" not in d["connections"][0]["requests"][0]
    )
    monkeypatch.setenv("SSLKEYLOGFILE", keys)
    assert cli.main(["report", pcap, "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["connections"][0]["tls"]["decrypted"] is True
    monkeypatch.setenv("SSLKEYLOGFILE", str(tmp_path / "absent"))  # not a file: ignored
    assert cli.main(["report", pcap, "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["connections"][0]["tls"]["decrypted"] is False
    assert cli.main(["report", pcap, "--keylog", str(tmp_path / "absent")]) == 2
    assert "cannot read the key log" in capsys.readouterr().err


def test_hostile_capture_with_a_key_log_does_not_fail():
    a = analyze(str(SAMPLES / "hostile.pcap"), keylog=KeyLog.read(str(REAL / "tls-tls13-curl.keys")))
    assert a.connections


@settings(max_examples=300, deadline=None)
@given(
    body=st.binary(max_size=120),
    header=st.binary(min_size=5, max_size=5),
    suite=st.sampled_from(sorted(SUITES)),
    tls13=st.booleans(),
)
def test_record_protection_never_raises_on_any_bytes(body, header, suite, tls13):
    s = SUITES[suite]
    secrets = {f"{w}_{k}": bytes(48) for w in ("CLIENT", "SERVER") for k in
               ("HANDSHAKE_TRAFFIC_SECRET", "TRAFFIC_SECRET_0")}  # fmt: skip
    if tls13 and s.aead is not None:
        dirs = tls13_directions(s, secrets)
    else:
        dirs = tls12_directions(s, bytes(48), bytes(32), bytes(32), etm=tls13)
    for d in dirs:
        assert d.decrypt(header, body) is None


def test_http2_is_decrypted_and_its_frames_are_read():
    a = _decrypted("tls-h2-curl")
    for c in a.connections:
        t = c.tls
        assert t.decrypted and t.multiplexed and t.alpn == "h2" and t.note is None
        assert not any(e.inferred for e in c.exchanges) and c.http and c.http2 is not None
    assert [[e.request.uri for e in c.exchanges] for c in a.connections] == [
        ["/a", "/b", "/c"],
        ["/d"],
        ["/e"],
    ]


@pytest.mark.skipif(shutil.which("editcap") is None, reason="editcap not installed")
def test_keys_embedded_in_a_pcapng_decrypt_it(tmp_path):
    """editcap --inject-secrets writes the key log into a Decryption Secrets Block."""
    out = tmp_path / "with-keys.pcapng"
    keys, pcap = REAL / "tls-tls13-curl.keys", REAL / "tls-tls13-curl.pcap"
    subprocess.run(["editcap", "--inject-secrets", f"tls,{keys}", str(pcap), str(out)], check=True)
    a = analyze(str(out))
    assert all(c.tls.decrypted for c in a.connections)
    assert [e.request.uri for e in a.connections[0].exchanges] == ["/a", "/b", "/c"]


def test_holding_a_key_log_does_not_import_cryptography():
    code = "import sys, katui.analysis.pipeline, katui.tls.keylog; print('cryptography' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_a_report_without_tls_does_not_import_cryptography():
    """The freeze reads the key-log notes (katui.tls.exchanges): ``cryptography`` (~9 MB of
    mapped pages) stays unimported for a capture that decrypts nothing."""
    code = (
        "import sys\n"
        "from katui.analysis.pipeline import analyze\n"
        "from katui.report.jsonout import render\n"
        f"render(analyze({str(SAMPLES / 'close-server.pcap')!r}))\n"
        "print('cryptography' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_a_lost_segment_stops_that_directions_decryption_with_a_note(tmp_path):
    """The second request's segment is cut out: the client's record framing is lost, its
    decryption stops there; the server's side still decrypts (its response is shown alone)."""
    data = (REAL / "tls-tls13-requests.pcap").read_bytes()
    a = analyze(str(REAL / "tls-tls13-requests.pcap"))
    lost = a.connections[0].exchanges[1].request.frame
    out = tmp_path / "hole.pcap"
    out.write_bytes(_without_frame(data, lost))
    b = analyze(str(out), keylog=KeyLog.read(str(REAL / "tls-tls13-requests.keys")))
    c = b.connections[0]
    assert c.tls.decrypted and "a hole in the stream" in c.tls.note
    assert [(e.request and e.request.uri, e.response and e.response.status) for e in c.exchanges] == [
        ("/after-0s", 200),
        (None, 200),
    ]


def _without_frame(pcap: bytes, frame: int) -> bytes:
    """A classic little-endian pcap without record ``frame`` (1-based)."""
    out, pos, n = bytearray(pcap[:24]), 24, 0
    while pos + 16 <= len(pcap):
        incl = int.from_bytes(pcap[pos + 8 : pos + 12], "little")
        n += 1
        if n != frame:
            out += pcap[pos : pos + 16 + incl]
        pos += 16 + incl
    return bytes(out)


def test_tls13_alpn_choice_is_read_from_the_encrypted_extensions():
    assert [c.tls.alpn for c in _decrypted("tls-tls13-curl").connections] == ["http/1.1"] * 3
    assert [c.tls.alpn for c in analyze(str(REAL / "tls-tls13-curl.pcap")).connections] == [None] * 3


def test_key_updates_are_followed_with_and_without_keys():
    """openssl s_client sent a KeyUpdate asking nginx to update too ('K': nginx's own KeyUpdate
    comes before its next response) and one that did not ('k'); tshark decrypts all three
    requests (tls.md). With the key log each KeyUpdate moves its side to the next traffic
    secret (RFC 8446 7.2), so requests 2 and 3 decrypt; without keys the 22-byte records are
    told from data, so the inferred requests start at tshark's frames, not at the KeyUpdates."""
    name = "tls-tls13-keyupdate"
    exchanges = _decrypted(name).connections[0].exchanges
    frames = [(e.request.first_frame, e.response.first_frame) for e in exchanges]
    assert frames == [(12, 13), (17, 21), (25, 27)]
    assert [f for _, f, _ in _truth(name)] == [12, 17, 25]
    plain = analyze(str(REAL / f"{name}.pcap"))
    c = plain.connections[0]
    assert [(e.request.first_frame, e.response.first_frame) for e in c.exchanges] == frames
    assert [f for f, text in c.tls.labels if text.startswith("KeyUpdate?")] == [15, 19, 23]


def test_zero_rtt_request_is_the_first_request_with_and_without_keys():
    """openssl s_client resumed its session and sent GET /early as 0-RTT data with its
    ClientHello (frame 22, before the ServerHello); nginx accepted it (access log: 'r', two
    requests on connection 2) and answered at frame 26, before the client's EndOfEarlyData and
    Finished (frame 28; 0.5-RTT), then sent its ticket (frame 29). tshark: requests at 22 and
    31. With the key log the early data opens with the early traffic secret and nginx's
    EncryptedExtensions say it was accepted; without keys the records before the ServerHello
    are the first request, the answer before the client's Finished its response, and the small
    record after that Finished a ticket, not more of the response."""
    name = "tls-tls13-early-data"
    want = [(22, 26), (31, 32)]
    c = _decrypted(name).connections[1]
    assert [(e.request.frame, e.response.frame) for e in c.exchanges] == want
    assert [e.request.uri for e in c.exchanges] == ["/early", "/after-early"]
    assert c.tls.zero_rtt == "accepted" and c.tls.note is None
    assert [f for s, f, _ in _truth(name) if s == 1] == [22, 31]
    plain = analyze(str(REAL / f"{name}.pcap")).connections[1]
    assert [(e.request.frame, e.response.frame) for e in plain.exchanges] == want
    assert plain.tls.zero_rtt == "sent" and plain.tls.resumed
    assert plain.tls.handshake_ns > 0  # the early request is not the end of the handshake
    assert _decrypted(name).connections[0].tls.zero_rtt is None  # the first, full handshake


def test_encrypted_extensions_say_whether_early_data_was_accepted():
    from katui.tls.hello import encrypted_extensions

    def ee(*exts: bytes) -> bytes:
        body = b"".join(exts)
        body = len(body).to_bytes(2, "big") + body
        return b"\x08" + len(body).to_bytes(3, "big") + body

    alpn = b"\x00\x10\x00\x05\x00\x03\x02h2"
    assert encrypted_extensions(ee(alpn, b"\x00\x2a\x00\x00")) == ("h2", True)
    assert encrypted_extensions(ee(alpn)) == ("h2", False)
    assert encrypted_extensions(b"\x0b" + bytes(8)) is None  # not an EncryptedExtensions


@pytest.mark.parametrize("name", ["tls-tls13-httpx", "tls-seed-tls13", "tls-tls13-early-request"])
@pytest.mark.parametrize("drop", ["SERVER_TRAFFIC_SECRET_0", "CLIENT_TRAFFIC_SECRET_0"])
def test_one_sides_traffic_secret_missing_decrypts_neither_side(tmp_path, name, drop):
    """With one side's application secret missing, the other side's application data alone
    made every request look unanswered (a false request-timeout warning on tls-tls13-httpx):
    neither side's is decrypted, the exchanges and verdicts are those without keys, and the
    note names the missing secret."""
    keys = tmp_path / "part.keys"
    lines = (REAL / f"{name}.keys").read_text().splitlines()
    keys.write_text("\n".join(x for x in lines if not x.startswith(drop)))
    a = analyze(str(REAL / f"{name}.pcap"), keylog=KeyLog.read(str(keys)))
    bare = analyze(str(REAL / f"{name}.pcap"))
    assert [(c.close.reason, c.requests) for c in a.connections] == [
        (c.close.reason, c.requests) for c in bare.connections
    ]
    assert [f.kind for f in a.findings] == [f.kind for f in bare.findings]
    for c in a.connections:
        assert not c.tls.decrypted and c.tls.note.endswith(drop) and not c.http


def test_a_key_log_without_the_traffic_secrets_opens_the_handshake_and_says_what_it_lacks(tmp_path):
    """A key log with only the handshake secrets (a client logs each as it derives it; one cut
    short, or one from a handshake that failed): the handshake records still open (the server's
    EncryptedExtensions name its ALPN), and the first application record that needs the missing
    secret stops that direction with a note naming it, not 'wrong key log?'."""
    lines = (REAL / "tls-tls13-curl.keys").read_text().splitlines()
    cut = tmp_path / "cut.keys"
    cut.write_text(
        "\n".join(x for x in lines if not x.startswith(("CLIENT_TRAFFIC_SECRET_0", "SERVER_TRAFFIC")))
    )
    a = analyze(str(REAL / "tls-tls13-curl.pcap"), keylog=KeyLog.read(str(cut)))
    full = _decrypted("tls-tls13-curl")
    for c, whole in zip(a.connections, full.connections, strict=True):
        assert not c.tls.decrypted and c.tls.alpn == whole.tls.alpn == "http/1.1"
        # (the server's tickets are its first records under its traffic secret: its side first)
        assert c.tls.note == "decryption stopped: the key log lacks this connection's SERVER_TRAFFIC_SECRET_0"
        assert c.requests == whole.requests  # inferred from the records, as without keys
