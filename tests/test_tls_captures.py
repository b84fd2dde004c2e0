"""TLS without keys on real captures (samples/real/tls-*.pcap, made by make_tls.sh with nginx
1.22 and curl, requests, httpx, aiohttp): the exchanges inferred from records against the
decrypted truth (tshark with the key log, quoted in samples/real/tls.md) and nginx's access log."""

from __future__ import annotations

import re
import shutil
import subprocess
from collections import Counter

import pytest

from katui.report import jsonout, text
from tests.conftest import SAMPLES, analysed

REAL = SAMPLES / "real"


def _a(name: str):
    return analysed(str(REAL / f"tls-{name}.pcap"))


def _truth(name: str) -> Counter:
    """Requests per tcp.stream as tshark decrypted them (from the manifest)."""
    md = (REAL / "tls.md").read_text()
    section = md.split(f"## tls-{name}.pcap")[1].split("## ")[0]
    block = section.split("tshark with the key log:")[1]
    return Counter(int(m.group(1)) for m in re.finditer(r"^(\d+)\t\d+\tGET", block, re.M))


CASES = {  # name -> per stream: (close reason, the side that decided to close)
    "tls13-requests": [("idle-timeout", "server"), ("unknown", "client")],
    "tls13-httpx": [("idle-timeout", "server"), ("unknown", "client")],
    "tls12-aiohttp": [("idle-timeout", "server"), ("unknown", "client")],
    "tls13-stale": [("stale-reuse", "server")],
    "tls12-curl": [
        ("unknown", "client"),
        ("unknown", "server"),
        ("unknown", "server"),
        ("stale-reuse", "server"),
        ("unknown", "client"),
    ],  # fmt: skip
    "tls13-curl": [("unknown", "client"), ("stale-reuse", "server"), ("unknown", "client")],
    "tls13-limit": [("request-limit", "server"), ("request-limit", "server"), ("unknown", "client")],
    "tls13-early-request": [("unknown", "client")],
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_inferred_exchanges_match_the_decrypted_requests(name):
    a = _a(name)
    truth = _truth(name)
    assert {c.stream: c.requests for c in a.connections} == {s: truth[s] for s in range(len(a.connections))}
    for c in a.connections:
        assert c.tls is not None and not c.tls.decrypted and not c.http
        assert all(e.inferred for e in c.exchanges)


@pytest.mark.parametrize("name", sorted(CASES))
def test_close_verdicts(name):
    a = _a(name)
    assert [(c.close.reason, c.close.closer) for c in a.connections] == CASES[name]
    # Python clients answer nginx's close_notify + FIN with a RST: the normal ending, no warning;
    # the only warnings about races are the stale reuses, and without keys they are not
    # problems: whether the client retried or failed is encrypted.
    assert not [f for f in a.findings if f.kind == "reset"]
    stale = {c.stream for c in a.connections if c.close.reason == "stale-reuse"}
    raced = {s for f in a.findings if f.kind == "stale-reuse" for s in f.streams}
    assert raced == stale and not [f for f in a.findings if f.severity == "problem"]


def test_idle_timeout_is_measured_to_the_last_response_not_the_close_notify():
    a = _a("tls13-requests")
    c = a.connections[0]
    assert c.tls.close_notify[0] == "server"
    assert 2.0e9 <= c.close.idle_before_ns < 2.1e9
    assert c.close.explanation.startswith("server closed after 2.00")
    assert "(close_notify, then FIN): keep-alive timeout" in c.close.explanation
    t = a.timeout
    assert t.server == "127.0.0.1:9501 (localhost)" and t.estimate_ns == 2_000_000_000
    assert 1.0e9 < t.low_ns < t.high_ns < 2.1e9


def test_python_clients_reset_after_the_servers_close_notify():
    for name in ("tls13-requests", "tls13-httpx"):
        c = _a(name).connections[0]
        assert c.close.by == "server" and c.close.how == "fin" and c.close.rst_frames, name


def test_curl_tls12_session_resumption_matches_nginx():
    """nginx logged $ssl_session_reused '.', '.', 'r', '.', 'r' for these connections."""
    a = _a("tls12-curl")
    assert [c.tls.resumed for c in a.connections] == [False, False, True, False, True]
    assert [c.tls.handshake_round_trips for c in a.connections] == [2, 2, 1, 2, 1]
    t = a.connections[0].tls
    assert (t.version, t.sni, t.alpn_offered, t.alpn) == (
        "TLS 1.2",
        "localhost",
        ("h2", "http/1.1"),
        "http/1.1",
    )
    assert t.cipher == "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384"


def test_curl_tls13_resumption_with_a_pre_shared_key():
    a = _a("tls13-curl")
    assert [c.tls.resumed for c in a.connections] == [False, False, True]
    assert all(c.tls.version == "TLS 1.3" and c.tls.alpn is None for c in a.connections)
    # nginx's two tickets after the handshake are not a response
    assert a.connections[0].exchanges[0].response.body_bytes < 250


def test_stale_reuse_is_the_request_after_the_servers_close():
    a = _a("tls13-stale")
    c = a.connections[0]
    last = c.exchanges[-1]
    assert last.failed and last.reused and last.request.first_frame == 18
    assert "was sent after the server had closed the connection" in c.close.explanation


def test_reports_mark_inferred_exchanges_and_show_the_handshake():
    a = _a("tls12-curl")
    out = text.render(a)
    assert "request? 108 B (inferred)" in out
    assert "TLS 1.2 · sni localhost · alpn h2,http/1.1 -> http/1.1" in out
    assert "resumed, 1 round trip" in out
    d = jsonout.to_dict(a)
    c = d["connections"][2]
    assert c["tls"]["resumed"] is True and c["tls"]["version"] == "TLS 1.2"
    assert c["requests"][0]["inferred"] is True and c["requests"][0]["method"] is None
    assert jsonout.render(a) == __import__("json").dumps(d, separators=(",", ":")) + "\n"


@pytest.mark.skipif(shutil.which("tshark") is None, reason="tshark not installed")
@pytest.mark.parametrize("name", sorted(CASES))
def test_the_manifest_still_matches_tshark(name):
    """The quoted truth is what tshark decrypts today with the key log next to the capture."""
    port = _a(name).connections[0].server.rsplit(":", 1)[1]
    keys = f"tls.keylog_file:{REAL}/tls-{name}.keys"
    out = subprocess.run(
        ["tshark", "-2", "-n", "-r", str(REAL / f"tls-{name}.pcap"), "-o", keys,
         "-d", f"tcp.port=={port},tls", "-Y", "http.request", "-T", "fields", "-e", "tcp.stream"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert Counter(int(s) for s in out.stdout.split()) == _truth(name)


def test_markdown_shows_the_handshake_and_inferred_exchanges():
    from katui.report import markdown

    out = markdown.render(_a("tls13-curl"))
    assert "- TLS: TLS 1.3 · sni localhost" in out and "(inferred)" in out


def test_curl_closes_with_close_notify_and_nginxs_fin_comes_first():
    """The first FIN is the server's, but the client's close_notify came before it."""
    c = _a("tls13-curl").connections[0]
    assert (c.close.by, c.close.how, c.close.asked_by, c.close.closer) == (
        "server",
        "fin",
        "client",
        "client",
    )
    assert c.close.explanation.startswith("client sent close_notify after")


def test_http2_bursts_are_not_requests_but_the_idle_timeout_holds():
    """nginx's HTTP/2 idle timeout (keepalive_timeout) sends GOAWAY, close_notify and FIN: the
    GOAWAY is the close, not a response, so the idle before it is the timeout."""
    a = _a("h2-curl")
    assert all(c.tls.multiplexed and c.tls.alpn == "h2" for c in a.connections)
    assert "h2: bursts, not requests" in text.render(a)
    c = a.connections[1]
    assert (c.close.reason, c.close.closer) == ("idle-timeout", "server")
    assert 2.0e9 <= c.close.idle_before_ns < 2.1e9
    assert not [x for x in a.connections if x.close.reason == "request-timeout"]


def test_tls13_tickets_after_the_first_request_are_told_from_its_response():
    """The client's Finished and first request left in one segment: nginx's two tickets came
    before the response (frames 9 and 10, the response in frame 12, as tshark decrypts it)."""
    c = _a("tls13-early-request").connections[0]
    first = c.exchanges[0]
    assert (first.request.frame, first.response.first_frame, first.response.body_bytes) == (8, 12, 197)
    assert 390_000 < first.ttfb_ns < 410_000
    assert (10, "NewSessionTicket? ×2 (encrypted)") in c.tls.labels
