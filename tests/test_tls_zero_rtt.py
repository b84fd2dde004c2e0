"""TLS 1.3 0-RTT and key updates at their edges: hostile floods stay bounded, a key log without
the early secret, 0-RTT data that reaches the capture after the ServerHello, a HelloRetryRequest
(which rejects early data), an overlong handshake message after the handshake. The real captures
(samples/real/tls-tls13-early-data, tls-tls13-keyupdate) are checked against tshark in
test_tls_decrypt.py."""

from __future__ import annotations

import struct

from tls_helpers import Feeder, app, client_hello, ext, handshake, record, server_hello, vec

from katui.analysis.pipeline import analyze
from katui.model import MessageStore
from katui.tls import decrypt
from katui.tls.exchanges import info
from katui.tls.hello import HELLO_RETRY_RANDOM
from katui.tls.keylog import KeyLog
from katui.tls.records import MAX_ZERO_RTT_RECORDS, TlsConversation
from tests.conftest import SAMPLES

REAL = SAMPLES / "real"
EARLY = REAL / "tls-tls13-early-data"


def _early_hello() -> bytes:
    """A TLS 1.3 ClientHello offering a PSK and announcing early data (random: 32 zero bytes)."""
    exts = ext(0, vec(b"\x00" + vec(b"a.example", 2), 2)) + ext(43, vec(b"\x03\x04", 1))
    exts += ext(42, b"") + ext(41, b"\x00\x00")
    body = b"\x03\x03" + bytes(32) + vec(b"", 1) + vec(b"\x13\x01", 2) + vec(b"\x00", 1) + vec(exts, 2)
    return record(22, handshake(1, body), 0x0301)


def test_a_flood_of_empty_0rtt_records_is_not_held():
    """Empty application-data records after a ClientHello announcing early data, with a key log
    holding an early secret: holding stops at MAX_ZERO_RTT_RECORDS (before: every record was
    held, and the list copied for each one)."""
    keys = KeyLog({bytes(32): {"CLIENT_EARLY_TRAFFIC_SECRET": bytes(32)}})
    conv = TlsConversation(MessageStore(), False, keys)
    hello = _early_hello()
    conv.data(0, hello, 0, len(hello), 1, 1000)
    blob = record(23, b"") * (4 * MAX_ZERO_RTT_RECORDS)
    for i in range(0, len(blob), 1400):
        conv.data(0, blob, i, min(len(blob), i + 1400), 2 + i // 1400, 2000 + i)
    assert conv.zero_rtt is None and conv.zero_rtt_bytes == -1
    assert "0-RTT" in conv.note


def test_an_overlong_handshake_message_is_skipped_by_count():
    """After the handshake, a message announcing 8 MB: its body is passed over by count (nothing
    held), so bytes inside it that look like a KeyUpdate switch no keys."""
    suite = decrypt.SUITES[0x1301]

    def keys(secret: bytes):
        key = decrypt.hkdf_expand_label(suite, secret, b"key", 16)
        return suite.aead(key), decrypt.hkdf_expand_label(suite, secret, b"iv", 12)

    secret = bytes(range(32))
    (aead, iv), seq = keys(secret), 0

    def sealed(ctype: int, plain: bytes):
        nonlocal seq
        head = bytes([23, 3, 3]) + (len(plain) + 17).to_bytes(2, "big")
        nonce = bytes(a ^ b for a, b in zip(iv, seq.to_bytes(12, "big"), strict=True))
        seq += 1
        return head, aead.encrypt(nonce, plain + bytes([ctype]), head)

    d = decrypt.Direction(True, [keys(bytes(32)), keys(secret)], False, suite, secret)
    d.stage = 1
    d.decrypt(*sealed(22, bytes([15, 0x7F, 0xFF, 0xFF]) + bytes(16000)))
    for _ in range(4):
        d.decrypt(*sealed(22, bytes(16000)))
    d.decrypt(*sealed(22, bytes(100) + bytes([24, 0, 0, 1, 0])))  # inside the 8 MB message
    assert d.updates == 0 and d.carry == b"" and d.skip > 0
    assert d.decrypt(*sealed(23, b"GET /")) == (23, b"GET /")


def test_a_key_log_without_the_early_secret_leaves_the_connection_inferred():
    """The 0-RTT request and the EndOfEarlyData are protected by CLIENT_EARLY_TRAFFIC_SECRET
    alone: without it the connection is read without keys (the 0-RTT inference), with a note
    saying why, not 'did not decrypt (wrong key log?)'."""
    lines = [line for line in EARLY.with_suffix(".keys").read_text().splitlines() if "EARLY" not in line]
    keys = KeyLog()
    keys.add("\n".join(lines).encode())
    c = analyze(str(EARLY.with_suffix(".pcap")), keylog=keys).connections[1]
    assert not c.tls.decrypted and "CLIENT_EARLY_TRAFFIC_SECRET" in c.tls.note
    assert [(e.request.frame, e.response.frame) for e in c.exchanges] == [(22, 26), (31, 32)]
    assert c.tls.zero_rtt == "sent"


def _split_late(path, out) -> None:
    """The early-data capture with frame 22 (ClientHello, CCS, 0-RTT record) cut in two: the
    0-RTT record comes after the server's flight (frames 23-24), as a capture may see it."""
    data = path.read_bytes()
    head, off, frames = data[:24], 24, []
    while off < len(data):
        ts1, ts2, incl, _orig = struct.unpack("<IIII", data[off : off + 16])
        frames.append([ts1, ts2, bytearray(data[off + 16 : off + 16 + incl])])
        off += 16 + incl
    pkt = frames[21][2]
    ihl = (pkt[14] & 15) * 4
    tcp = 14 + ihl
    thl = (pkt[tcp + 12] >> 4) * 4
    keep = 550 + 6  # the ClientHello record (5 + 545) and the CCS (5 + 1)
    a, b = pkt[: tcp + thl] + pkt[tcp + thl :][:keep], pkt[: tcp + thl] + pkt[tcp + thl + keep :]
    for p, n in ((a, keep), (b, len(pkt) - tcp - thl - keep)):
        struct.pack_into("!H", p, 16, ihl + thl + n)
    seq = struct.unpack_from("!I", pkt, tcp + 4)[0]
    struct.pack_into("!I", b, tcp + 4, (seq + keep) & 0xFFFFFFFF)
    late = len(pkt) - tcp - thl - keep
    for fr in frames[22:24]:  # the server's packets acknowledge only what it has seen
        p = fr[2]
        t = 14 + (p[14] & 15) * 4
        struct.pack_into("!I", p, t + 8, (struct.unpack_from("!I", p, t + 8)[0] - late) & 0xFFFFFFFF)
    moved = [frames[23][0], frames[23][1] + 1, b]
    rows = [*frames[:21], [frames[21][0], frames[21][1], a], *frames[22:24], moved, *frames[24:]]
    out.write_bytes(head + b"".join(struct.pack("<IIII", t1, t2, len(p), len(p)) + p for t1, t2, p in rows))


def test_0rtt_data_captured_after_the_server_hello(tmp_path):
    """Without keys the late 0-RTT record is the first request, not the client's Finished; with
    keys it is held until the server's EncryptedExtensions accept it, then decrypted."""
    late = tmp_path / "late.pcap"
    _split_late(EARLY.with_suffix(".pcap"), late)
    plain = analyze(str(late)).connections[1]
    assert [(e.request.frame, e.response.frame) for e in plain.exchanges] == [(25, 27), (32, 33)]
    assert plain.tls.zero_rtt == "sent"
    keys = KeyLog.read(str(EARLY.with_suffix(".keys")))
    c = analyze(str(late), keylog=keys).connections[1]
    assert [(e.request.frame, e.request.uri) for e in c.exchanges] == [(25, "/early"), (32, "/after-early")]
    assert c.tls.zero_rtt == "accepted" and c.tls.note is None


def test_a_hello_retry_request_rejects_0rtt_and_its_ccs_hides_no_server_hello():
    """RFC 8446 4.2.10: after a HelloRetryRequest the early data is rejected. A server in
    compatibility mode sends CCS right after it; the real ServerHello that follows is still
    read (before, the CCS stopped the reading of hellos)."""
    hrr = bytearray(server_hello())
    hrr[6:38] = HELLO_RETRY_RANDOM
    f = Feeder()
    f.send(0, _early_hello() + app(100))
    f.send(1, record(22, bytes(hrr)) + record(20, b"\x01"))
    f.send(0, record(22, client_hello()))
    f.send(1, record(22, server_hello()) + app(1200))
    f.send(0, app(53) + app(100))
    f.send(1, app(250))
    c = f.done()
    assert c.server_hello is not None and c.retry and c.tls13
    assert info(c).zero_rtt == "rejected"
