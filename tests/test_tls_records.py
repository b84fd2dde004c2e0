"""The TLS record sink: records across segments, TLS 1.3's traps, inferred exchanges, and
hostile streams that must neither crash it nor make it grow without bound."""

from __future__ import annotations

import random

from hypothesis import given, settings
from hypothesis import strategies as st

from katui import tls
from katui.model import MessageStore
from katui.tls import records
from katui.tls.exchanges import before_close, info
from katui.tls.records import ALERT, DATA, HS, KIND, TICKET
from tests.tls_helpers import Feeder, app, client_hello, record, server_hello, tls13_handshake


def _kinds(conv) -> list[tuple[int, int, int]]:
    return [(r[KIND], r[1], r[7]) for r in conv.runs]


def test_tls13_handshake_tickets_requests_and_close_notify():
    f = Feeder()
    tls13_handshake(f)
    f.send(1, app(250) + app(250), 4)  # two NewSessionTickets: not a response
    f.send(0, app(100), 10)
    f.send(1, app(300), 11)
    f.send(0, app(100), 2000)  # reused after ~2 s
    f.send(1, app(5000), 2001)
    f.send(1, app(19), 4001)  # close_notify: 19 bytes
    conv = f.done()
    assert _kinds(conv) == [
        (HS, 0, 1),
        (HS, 1, 3),
        (HS, 0, 2),
        (TICKET, 1, 2),
        (DATA, 0, 1),
        (DATA, 1, 1),
        (DATA, 0, 1),
        (DATA, 1, 1),
        (ALERT, 1, 1),
    ]
    assert len(conv.exchanges) == 2
    assert all(e.inferred for e in conv.exchanges)
    second = conv.exchanges[1]
    assert second.request.frame == 7 and second.response.body_bytes == 5005
    t = info(conv)
    assert (t.version, t.sni, t.alpn_offered, t.alpn) == ("TLS 1.3", "api.example", ("h2", "http/1.1"), None)
    assert (t.cipher, t.resumed, t.full_handshake, t.handshake_round_trips) == (
        "TLS_AES_128_GCM_SHA256",
        False,
        True,
        1,
    )
    assert t.handshake_ns == 2_000_000 and t.close_notify == ("server",)
    assert t.multiplexed is False  # h2 offered, not known to be chosen (TLS 1.3 hides ALPN)
    # The idle before the FIN is counted up to the last response, not the close_notify.
    assert before_close(conv, 4_001_100_000) == (2_001_000_000, "server")


def test_tls13_tickets_after_the_first_request_are_not_its_response():
    """nginx's tickets can arrive after the client's Finished + first request: the leading
    records of one size in the server's first data run are tickets, the rest the response."""
    f = Feeder()
    f.send(0, record(22, client_hello(), 0x0301))
    f.send(1, record(22, server_hello()) + app(1200))
    f.send(0, app(53) + app(100))  # Finished and the request in one segment
    f.send(1, app(250))  # ticket
    f.send(1, app(250))  # ticket
    f.send(1, app(300))  # the response
    conv = f.done()
    assert len(conv.exchanges) == 1
    ex = conv.exchanges[0]
    assert (ex.request.frame, ex.response.first_frame, ex.response.body_bytes) == (3, 6, 305)
    assert [k for k, *_ in conv.runs][-2:] == [TICKET, DATA]


def test_a_response_of_ticket_sized_records_is_not_taken_for_tickets():
    answers = (
        [app(250), app(250)],
        [app(16384), app(16384), app(16384)],
        [app(250)],
        [app(240), app(5000)],
        [app(240), app(300), app(300)],
    )
    for answer in answers:
        f = Feeder()
        f.send(0, record(22, client_hello(), 0x0301))
        f.send(1, record(22, server_hello()) + app(1200))
        f.send(0, app(53) + app(100))
        for rec in answer:
            f.send(1, rec)
        conv = f.done()
        assert conv.exchanges[0].response.body_bytes == sum(len(r) for r in answer), answer
    # Tickets that came before the request: the response's equal-sized records are its own.
    f = Feeder()
    tls13_handshake(f)
    f.send(1, app(250) + app(250))
    f.send(0, app(100))
    for rec in (app(250), app(250), app(300)):
        f.send(1, rec)
    assert f.done().exchanges[0].response.body_bytes == 255 + 255 + 305


def test_tls12_resumed_by_session_id_and_alert_records():
    f = Feeder()
    sid = bytes(range(32))
    f.send(0, record(22, client_hello(session_id=sid, tls13=False), 0x0301))
    sh = server_hello(0x0303, sid, 0xC02F, "http/1.1")
    f.send(1, record(22, sh) + record(20, b"\x01") + record(22, bytes(40)))  # abbreviated
    f.send(0, record(20, b"\x01") + record(22, bytes(40)) + app(120))
    f.send(1, app(400))
    f.send(0, record(21, bytes(26)))  # an encrypted alert: the client's close_notify
    conv = f.done()
    t = info(conv)
    assert (t.version, t.resumed, t.full_handshake, t.handshake_round_trips, t.alpn) == (
        "TLS 1.2",
        True,
        False,
        1,
        "http/1.1",
    )
    assert t.cipher == "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256" and t.close_notify == ("client",)
    assert len(conv.exchanges) == 1


def test_alpn_h2_marks_the_connection_multiplexed():
    f = Feeder()
    f.send(0, record(22, client_hello(tls13=False), 0x0301))
    f.send(1, record(22, server_hello(0x0303, alpn="h2", cipher=0xC02F)))
    assert info(f.done()).multiplexed


def test_many_records_per_segment_and_records_across_segments_agree():
    stream = record(22, client_hello()) + b"".join(app(n) for n in (0, 1, 300, 16384, 7))
    whole = Feeder()
    whole.send(0, stream)
    bytewise = Feeder()
    for i in range(len(stream)):
        bytewise.conv.data(0, stream, i, i + 1, 1, 1)
    assert whole.conv.dirs[0].rtype == bytewise.conv.dirs[0].rtype == -1
    assert whole.conv.client_hello == bytewise.conv.client_hello
    assert whole.conv.client_hello.sni == "api.example"
    assert _kinds(whole.done()) == _kinds(bytewise.done()) == [(HS, 0, 1), (DATA, 0, 5)]


@settings(max_examples=100, deadline=None)
@given(cuts=st.lists(st.integers(min_value=0, max_value=3000), max_size=30))
def test_any_split_of_a_connection_gives_the_same_runs(cuts):
    hello = record(22, client_hello(), 0x0301)
    server = record(22, server_hello()) + app(1200) + app(250) + app(700) + app(19)
    client = app(53) + app(100) + app(90)

    def feed(split: bool):
        f = Feeder()
        for d, data in ((0, hello), (1, server), (0, client)):
            bounds = (
                sorted({0, len(data), *((c % (len(data) + 1)) for c in cuts)}) if split else [0, len(data)]
            )
            for a, b in zip(bounds, bounds[1:], strict=False):
                f.frame += 1
                f.conv.data(d, data, a, b, f.frame, 7)
        conv = f.done()
        return [(r[0], r[1], r[6], r[7]) for r in conv.runs], info(conv).sni

    assert feed(True) == feed(False)


def test_sniffing_accepts_records_and_refuses_other_bytes():
    store = MessageStore()
    assert tls.sniff(store, None, None, record(22, client_hello(), 0x0301)[:32], False) is not None
    for head in (b"GET / HTTP/1.1\r\n", b"\x16\x03\x01", b"\x16\x03\x05\x00\x10", b"\x16\x02\x00\x00\x10",
                 b"\x18\x03\x03\x00\x10", b"\x16\x03\x03\x50\x00", b"\x16\x03\x03\x00\x00"):  # fmt: skip
        assert tls.sniff(store, None, None, head, False) is None, head


def test_bytes_that_are_not_records_stop_the_direction_until_a_record_starts_a_segment():
    f = Feeder()
    f.send(0, record(22, client_hello(), 0x0301))
    f.send(0, b"\x99garbage that is not TLS")
    f.send(0, app(100))  # a record at a segment start: back in step
    conv = f.conv
    assert conv.note.startswith("bytes that are not a TLS record in frame 2")
    assert len(conv.flat) == 8 and conv.flat[KIND] == HS and conv.cur[KIND] == DATA


def test_a_hole_inside_a_record_keeps_the_framing_and_outside_loses_it():
    f = Feeder()
    data = app(1000)
    f.conv.data(0, data, 0, 500, 1, 1)
    f.conv.gap(0, 400, 2, 2)  # inside the record
    f.conv.data(0, data, 900, 1005, 3, 3)
    assert f.conv.dirs[0].rtype == -1 and f.conv.cur[7] == 1
    f.conv.gap(0, 50, 4, 4)  # past a record boundary: lost
    assert f.conv.dirs[0].lost
    f.conv.data(0, b"\x00" * 20, 0, 20, 5, 5)
    assert f.conv.dirs[0].lost


def test_a_huge_handshake_message_is_not_buffered():
    f = Feeder()
    hs = b"\x0b" + (1 << 20).to_bytes(3, "big")  # a 1 MiB Certificate, announced
    f.send(1, record(22, hs + bytes(16000)))
    for _ in range(70):
        f.send(1, record(22, bytes(16000)))
    assert f.conv.dirs[1].hs is None


def test_runs_are_bounded(monkeypatch):
    monkeypatch.setattr(records, "MAX_RUNS", 50)
    f = Feeder()
    tiny = (record(21, b"\x01\x00") + app(0)) * 1000  # alternating kinds: a run per record
    f.send(0, tiny)
    assert len(f.done().runs) <= 50 and "record runs" in f.conv.note


def test_random_bytes_never_raise():
    rng = random.Random(14)
    for _ in range(300):
        f = Feeder(midstream=rng.random() < 0.5)
        start = record(22, client_hello(), 0x0301) if rng.random() < 0.5 else b""
        for _ in range(rng.randrange(1, 12)):
            junk = bytes(rng.randrange(256) for _ in range(rng.randrange(0, 300)))
            if rng.random() < 0.5:
                junk = bytes([rng.choice((20, 21, 22, 23)), 3, rng.randrange(5)]) + junk
            d = rng.randrange(2)
            f.send(d, start + junk)
            start = b""
            if rng.random() < 0.2:
                f.conv.gap(d, rng.randrange(1, 5000), f.frame, f.frame)
        conv = f.done(rng.randrange(2))
        info(conv)
        before_close(conv, 10**12)


def test_tls_knows_nothing_above_it():
    """tls/ is a protocol sink like http/: it imports neither http/ nor analysis/ nor a report."""
    from tests.test_import_hygiene import _imported_by

    for module in ("katui.tls", "katui.tls.exchanges", "katui.tls.verdicts"):
        above = sorted(
            m
            for m in _imported_by(module)
            if m.split(".")[1:2] in (["http"], ["analysis"], ["report"], ["ui"])
        )
        assert above == [], (module, above)


def test_picked_up_mid_stream_a_19_byte_record_is_still_an_alert():
    f = Feeder(midstream=True)
    f.send(0, app(100), 1)
    f.send(1, app(300), 2)
    f.send(0, app(100), 1000)
    f.send(1, app(300), 1001)
    f.send(1, app(19), 3001)
    conv = f.done()
    assert len(conv.exchanges) == 2
    assert before_close(conv, 3_001_100_000) == (1_001_000_000, "server")
    assert info(conv).version is None and info(conv).close_notify == ("server",)


def test_a_hostile_stream_of_tiny_records_costs_little_memory(monkeypatch):
    """The worst case for the run list: records of alternating kinds, 5 or 7 bytes each. The
    runs are bounded (MAX_RUNS, made smaller here) and cost 64 bytes each while read."""
    import tracemalloc

    monkeypatch.setattr(records, "MAX_RUNS", 4096)
    tiny = (record(21, b"\x01\x00") + app(0)) * 5000  # 60 kB: 10 000 records
    f = Feeder()
    tracemalloc.start()
    f.send(0, tiny)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert len(f.conv.flat) == 8 * records.MAX_RUNS
    assert peak < 8 * records.MAX_RUNS * 8 * 1.5


def test_facts_are_in_client_server_terms_whichever_side_tcp_saw_first():
    """The tracker's direction 0 is the side of the first frame: here the server's. An
    abbreviated TLS 1.2 handshake is still told by the server's ChangeCipherSpec coming first."""
    f = Feeder()
    sid = bytes(range(32))
    f.send(1, record(22, client_hello(session_id=sid, tls13=False), 0x0301))
    f.send(
        0,
        record(22, server_hello(0x0303, b"\x01" * 32, 0xC02F)) + record(20, b"\x01") + record(22, bytes(40)),
    )
    f.send(1, record(20, b"\x01") + record(22, bytes(40)) + app(120))
    f.send(0, app(400))
    conv = f.done(client=1)
    t = info(conv)
    assert (t.resumed, t.full_handshake, t.handshake_round_trips) == (True, False, 1)
    assert conv.exchanges[0].request.frame == 3 and conv.exchanges[0].response.frame == 4


def test_a_request_after_the_servers_close_is_stale_even_without_a_reset():
    """HTTP/2 over nginx: after GOAWAY, close_notify and FIN nginx reads on (lingering close),
    so a request sent then gets neither an answer nor a reset; it is still a stale reuse."""
    from katui.tls.verdicts import tls_close

    f = Feeder()
    tls13_handshake(f)
    f.send(1, app(250) + app(250), 4)
    f.send(0, app(100), 10)
    f.send(1, app(300), 11)
    f.send(1, app(19), 2011)  # close_notify, then (TCP) the FIN at 2011.1 ms
    f.send(0, app(100), 3000)  # the stale request
    conv = f.done()
    ex = tuple(conv.exchanges)
    for n, e in enumerate(ex, 1):
        e.n, e.reused = n, n > 1
    last, notified = before_close(conv, 2_011_100_000)
    close = tls_close("server", "fin", 20, 2_011_100_000, last, notified, ex, 2_011_100_000, (), False,
                      10**9, 10**8)  # fmt: skip
    assert close.reason == "stale-reuse" and close.explanation.endswith("it got no answer")


def test_alerts_in_the_clear_are_read_and_encrypted_ones_stay_guesses():
    """A server refusing a ClientHello answers with a 2-byte alert in the clear (TLS 1.3 too:
    no keys exist yet); after a ChangeCipherSpec an alert record is encrypted (a 2-byte one
    would be a NULL cipher: not read either), and TLS 1.3's encrypted alerts are application
    data. Only the clear ones are named; they are not close_notify guesses."""
    f = Feeder()
    f.send(1, record(22, client_hello(), 0x0301))  # TCP saw the server first: the client is 1
    f.send(0, record(21, b"\x02\x46"))  # fatal protocol_version
    conv = f.done(client=1)
    assert conv.alerts == [(1, 2, 70, 2)]  # the server's, renumbered with the runs (client 0)
    t = info(conv)
    assert t.alerts == (("server", 2, 70, 2),) and t.close_notify == ()
    assert (2, "alert fatal protocol_version") in t.labels

    f = Feeder()
    sid = bytes(range(32))
    f.send(0, record(22, client_hello(session_id=sid, tls13=False), 0x0301))
    f.send(
        1,
        record(22, server_hello(0x0303, sid, 0xC02F, "http/1.1"))
        + record(20, b"\x01")
        + record(22, bytes(40)),
    )
    f.send(0, record(20, b"\x01") + record(22, bytes(40)) + app(120))
    f.send(1, app(400))
    f.send(0, record(21, b"\x01\x00"))  # after its CCS: encrypted (NULL cipher), not read
    f.send(1, record(21, bytes(26)))  # an encrypted alert
    t = info(f.done())
    assert t.alerts == () and t.close_notify == ("client", "server")


def test_clear_alerts_kept_are_bounded():
    f = Feeder()
    f.send(0, record(22, client_hello(), 0x0301))
    f.send(1, record(21, b"\x01\x00") * (records.CLEAR_ALERTS + 50))
    assert len(f.done().alerts) == records.CLEAR_ALERTS
