"""HTTP/2 over cleartext by Upgrade (h2c) on real captures: Apache httpd 2.4.71 with mod_http2
(``Protocols h2c http/1.1``), curl ``--http2`` and a client built on the ``h2`` package
(samples/real/apache-h2c-*.pcap, made by make_servers.sh; what Apache logged and tshark decoded is
quoted in samples/real/apache.md).

After a ``101 Switching Protocols`` with ``Upgrade: h2c`` the connection is read as HTTP/2: the
upgraded HTTP/1.1 request is stream 1 (the 101 its interim response, its answer the server's
HEADERS on stream 1), the client's connection preface follows its request. Wireshark pairs the
101 with the request and decodes the HEADERS as ``http2`` fields (tests/test_oracle.py, G)."""

from __future__ import annotations

import json

from katui.http.parser import upgrades_to_h2c
from katui.report import jsonout, text
from tests.conftest import SAMPLES, analysed

REAL = SAMPLES / "real"


def _a(name: str):
    return analysed(str(REAL / f"{name}.pcap"))


def _tshark_headers(name: str) -> tuple[list, list]:
    """(tcp.stream, frame, path) of the request HEADERS and (tcp.stream, frame, status) of the
    response HEADERS tshark decoded, as quoted in apache.md."""
    md = (REAL / "apache.md").read_text().split(f"## {name}.pcap")[1].split("\n## ")[0]
    block = md.split("HTTP/2 HEADERS frames")[1].split("```")[1]
    reqs, resps = [], []
    for line in block.strip().splitlines():
        stream, frame, _ids, method, path, status = (line.split("\t") + [""] * 6)[:6]
        if method:
            reqs.append((int(stream), int(frame), path))
        if status:
            resps.append((int(stream), int(frame), int(status)))
    return reqs, resps


# name -> per connection: (upgrade request frame, 101 frame, stream-1 HEADERS frame,
#                          HTTP/2 request frames, requests Apache logged as answered)
SHAPES = {
    "apache-h2c-curl": [(4, 6, 12, [14], 1), (22, 24, 30, [31], 1)],
    "apache-h2c-refused": [(4, 6, 13, [15], 1)],
    "apache-h2c-idle": [(4, 6, 13, [], 1)],
}


def test_the_upgraded_request_is_stream_1_and_the_rest_is_http2():
    for name, shapes in SHAPES.items():
        a = _a(name)
        assert len(a.connections) == len(shapes)
        for c, (req, switching, resp, h2_reqs, answered) in zip(a.connections, shapes, strict=True):
            assert c.http2 is not None and c.http2.cleartext and c.http2.upgrade_frame == switching
            first = c.exchanges[0]
            assert first.stream_id == 1 and first.request.frame == req
            assert first.request.version == "HTTP/1.1" and first.request.uri.startswith("/a.txt?")
            assert [i.status for i in first.informational] == [101]
            assert first.informational[0].frame == switching
            assert first.response.frame == resp and first.response.status == 200
            rest = c.exchanges[1:]
            assert [e.request.first_frame for e in rest] == h2_reqs
            assert all(e.request.version == "HTTP/2" and e.stream_id % 2 == 1 for e in rest)
            # Apache logged one HTTP/2.0 answer per connection (and the 101 of the same request)
            assert sum(e.response is not None for e in c.exchanges) == answered
            assert c.requests == 1 + len(h2_reqs)


def test_http2_frames_match_tsharks_headers():
    """Wireshark's HTTP/2 HEADERS after the upgrade are katui's HTTP/2 messages; stream 1's
    request is the HTTP/1.1 one (tshark: a request HEADERS never comes on stream 1)."""
    for name in SHAPES:
        a = _a(name)
        reqs, resps = _tshark_headers(name)
        mine_req = [(c.stream, e.request.first_frame, e.request.uri) for c in a.connections
                    for e in c.exchanges if e.request.version == "HTTP/2"]  # fmt: skip
        mine_resp = [(c.stream, e.response.first_frame, e.response.status) for c in a.connections
                     for e in c.exchanges if e.response is not None]  # fmt: skip
        assert mine_req == reqs
        assert mine_resp == resps


def test_close_verdicts_against_apaches_goaway():
    """Apache (mod_http2 2.0.42) ended each upgraded session with GOAWAY last_stream=1 (its log:
    reason 'timeout', at the first idle moment): the request on stream 3 was never processed
    (not in its access log), and neither client sent it again."""
    curl = _a("apache-h2c-curl")
    for c in curl.connections:
        # GOAWAY with the first answer: HTTP/2's 'Connection: close', not a proven limit
        assert (c.close.reason, c.close.closer, c.close.by) == ("connection-close", "server", "client")
        assert c.http2.server_goaway[3] == 1 and c.http2.server_goaway[0] == "server"
        assert "never processed" in c.close.explanation
    kinds = {f.kind: f for f in curl.findings}
    refused = kinds["refused-at-limit"]
    assert refused.severity == "problem" and refused.count == 2 and "not sent again" in refused.text
    # sent alone after response 1, not in one flight with others
    assert "went out before the server's GOAWAY" in refused.text and "at once" not in refused.text
    # A GOAWAY with the first answer proves no request limit (Apache logged 'timeout', its
    # MaxKeepAliveRequests is 100): no limit finding, no limit setting named, the close said
    # to be the server's GOAWAY after one request (what it cannot tell, said so).
    assert "request-limit" not in kinds
    closed = kinds["connection-close"]
    assert "server sent GOAWAY (2 after a single request)" in closed.text
    assert "MaxKeepAliveRequests" not in closed.text + closed.advice + refused.advice
    assert "request limit let through" not in refused.text
    assert all("after its first request" in c.close.explanation for c in curl.connections)

    refused = _a("apache-h2c-refused")
    (c,) = refused.connections
    assert (c.close.reason, c.close.closer) == ("stale-reuse", "server")
    assert c.close.exchange == 2 and "GOAWAY (last stream 1" in c.close.explanation
    assert [f.kind for f in refused.findings] == ["stale-reuse"]


def test_an_idle_upgraded_connection_closes_after_apaches_timeout_not_keepalivetimeout():
    """Timeout 4, KeepAliveTimeout 2: Apache kept the upgraded connection 4.0 s idle, then
    GOAWAY (its log: reason 'timeout') and FIN. Its prior-knowledge h2c closes after
    KeepAliveTimeout (apache.md), so the setting named is Timeout, for upgraded ones only."""
    a = _a("apache-h2c-idle")
    (c,) = a.connections
    assert (c.close.reason, c.close.closer, c.close.by) == ("idle-timeout", "server", "server")
    assert 4.0 <= c.close.idle_before_ns / 1e9 < 4.05 and c.http2.server_goaway[1] == 15
    t = a.timeout
    assert t.software == "Apache httpd" and t.setting.startswith("Timeout") and t.samples == 1
    assert 4.0 <= t.high_ns / 1e9 < 4.05
    plain = _a("apache-idle").timeout  # HTTP/1.1 to Apache: KeepAliveTimeout, as before
    assert plain.setting == "KeepAliveTimeout"


def test_reports_say_how_the_connection_became_http2():
    a = _a("apache-h2c-refused")
    assert "h2c, Upgrade: 101 in frame 6" in text.render(a)
    http2 = json.loads(jsonout.render(a))["connections"][0]["http2"]
    assert http2["upgrade_frame"] == 6 and http2["cleartext"] is True
    prior = json.loads(jsonout.render(analysed(str(REAL / "h2-h2c-httpx.pcap"))))
    assert "upgrade_frame" not in prior["connections"][0]["http2"]  # prior knowledge: absent


def test_only_an_upgrade_to_h2c_switches_to_http2():
    assert upgrades_to_h2c(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: h2c\r\nConnection: Upgrade\r\n\r\n")
    assert upgrades_to_h2c(b"HTTP/1.1 101 x\r\nconnection: upgrade\r\nUPGRADE:  H2C \r\n\r\n")
    assert not upgrades_to_h2c(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n")
    assert not upgrades_to_h2c(b"HTTP/1.1 101 Switching Protocols\r\nX-Upgrade: h2c\r\n\r\n")
    # a WebSocket upgrade stays an HTTP/1.x connection whose close is the application's
    (c,) = _a("node-upgrade").connections
    assert c.http2 is None and c.close.reason == "upgrade"


UPGRADE_REQ = (b"GET /up HTTP/1.1\r\nHost: h\r\nConnection: Upgrade, HTTP2-Settings\r\n"
               b"Upgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQCAAAAAAIAAAAA\r\n\r\n")  # fmt: skip
SWITCH = b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: h2c\r\nConnection: Upgrade\r\n\r\n"
SETTINGS = b"\x00\x00\x00\x04\x00\x00\x00\x00\x00"
PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"


def _headers_200() -> bytes:
    from hpack import Encoder

    block = Encoder().encode([(":status", "200")])
    return len(block).to_bytes(3, "big") + b"\x01\x05\x00\x00\x00\x01" + block  # END_STREAM|END_HEADERS


def test_the_101_and_the_first_frames_in_one_segment_and_a_preface_in_pieces(tmp_path):
    from tests.test_verdict_edges import FIN, PSH, script

    events = [
        (0.01, "c", PSH, UPGRADE_REQ),
        (0.02, "s", PSH, SWITCH + SETTINGS + _headers_200()),  # one segment: 101, SETTINGS, stream 1
        (0.03, "c", PSH, PREFACE[:1]),
        (0.031, "c", PSH, PREFACE[1:] + SETTINGS),
        (5.0, "s", FIN, b""),
        (5.001, "c", FIN, b""),
    ]
    (c,) = script(tmp_path, events).connections
    assert c.http2 is not None and c.http2.upgrade_frame == 5 and c.http2.note is None
    (e,) = c.exchanges
    assert e.stream_id == 1 and e.request.uri == "/up" and e.response.status == 200
    assert [i.status for i in e.informational] == [101] and e.response.frame == 5
    assert c.close.reason == "idle-timeout" and c.close.by == "server"


def test_garbage_after_an_h2c_101_stops_the_http2_reading_safely(tmp_path):
    from tests.test_verdict_edges import FIN, PSH, script

    bad_hpack = b"\x00\x00\x04\x01\x04\x00\x00\x00\x01" + b"\xff" * 4  # HEADERS on stream 1
    for server, client, note in (
        (SETTINGS + bad_hpack, PREFACE + SETTINGS, "undecodable HPACK"),
        (SETTINGS, b"PRX * garbage, not a preface", "a broken connection preface in frame 6"),
    ):
        events = [
            (0.01, "c", PSH, UPGRADE_REQ),
            (0.02, "s", PSH, SWITCH + server),
            (0.03, "c", PSH, client),
            (0.04, "s", FIN, b""),
            (0.041, "c", FIN, b""),
        ]
        (c,) = script(tmp_path, events).connections
        assert c.http2 is not None and c.http2.upgrade_frame == 5
        assert c.close.reason == "unknown" and note in c.http2.note  # not a request timeout
        (e,) = c.exchanges
        assert e.request.uri == "/up" and e.response is None
