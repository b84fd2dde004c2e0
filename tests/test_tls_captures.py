"""TLS without keys on real captures (samples/real/tls-*.pcap, made by make_tls.sh with nginx
1.22 and curl, requests, httpx, aiohttp): the exchanges inferred from records against the
decrypted truth (tshark with the key log, quoted in samples/real/tls.md) and nginx's access log."""

from __future__ import annotations

import re
import shutil
import subprocess
from collections import Counter

import pytest

from katui.analysis.pipeline import analyze
from katui.report import jsonout, text
from katui.tls.keylog import KeyLog
from tests.conftest import SAMPLES, analysed

REAL = SAMPLES / "real"


def _a(name: str):
    return analysed(str(REAL / f"tls-{name}.pcap"))


def _section(name: str) -> str:
    """tls.md's section of capture ``tls-NAME.pcap`` (what nginx logged, tshark's requests)."""
    return (REAL / "tls.md").read_text().split(f"## tls-{name}.pcap")[1].split("## ")[0]


def _truth(name: str) -> Counter:
    """Requests per tcp.stream as tshark decrypted them (from the manifest)."""
    block = _section(name).split("tshark with the key log:")[1]
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
    # openssl s_client: KeyUpdates (22-byte records) between the requests, then its close_notify.
    "tls13-keyupdate": [("unknown", "client")],
    # openssl s_client, a resumed connection sending its first request as 0-RTT early data.
    "tls13-early-data": [("unknown", "client"), ("unknown", "client")],
    # openssl s_client: a pre-connect nginx closes at client_header_timeout 2s, and a used
    # connection it closes at keepalive_timeout 5s.
    "tls13-preconnect": [("unused", "server"), ("idle-timeout", "server")],
    # nginx allowing TLS 1.2 only: curl --tlsv1.3 refused by nginx's alert, curl refusing
    # nginx's self-signed certificate with its own alert (then nginx's FIN), curl -k's request.
    "tls12-refused": [("tls-failed", "server"), ("tls-failed", "client"), ("unknown", "client")],
    # TLS 1.3, nginx's default server with ssl_reject_handshake: an unknown SNI refused.
    "tls13-reject-sni": [("tls-failed", "server"), ("unknown", "client")],
    # TLS 1.3 only: curl and requests refusing nginx's self-signed certificate, curl -k's request.
    "tls13-cert-refused": [("tls-failed", "client"), ("tls-failed", "client"), ("unknown", "client")],
    "seed-tls13": [("idle-timeout", "server"), ("idle-timeout", "server")],
    "seed-tls12": [("idle-timeout", "server"), ("idle-timeout", "server")],
    "seed-resume-tls13": [("idle-timeout", "server"), ("idle-timeout", "server")],
    "seed-resume-tls12": [("idle-timeout", "server"), ("idle-timeout", "server")],
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
    assert raced == stale
    # the only problems: the handshakes that failed (an alert in the clear says so)
    failed = {c.stream for c in a.connections if c.close.reason == "tls-failed"}
    problems = [f for f in a.findings if f.severity == "problem"]
    assert all(f.kind == "tls-failed" for f in problems)
    assert {s for f in problems for s in f.streams} == failed


def test_idle_timeout_is_measured_to_the_last_response_not_the_close_notify():
    a = _a("tls13-requests")
    c = a.connections[0]
    assert c.tls.close_notify[0] == "server"
    assert 2.0e9 <= c.close.idle_before_ns < 2.1e9
    assert c.close.explanation.startswith("server closed after 2.00")
    assert "(close_notify, then FIN): keep-alive timeout" in c.close.explanation
    t = a.timeout
    assert t.server == "127.0.0.1:9501 (SNI localhost)" and t.estimate_ns == 2_000_000_000
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
    # the evidence names the frames as the plaintext verdict does, and the request it is about
    assert c.close.evidence == (
        "server FIN frame 16",
        "inferred request 2 frame 18 sent 498.0 ms after it",
        "server RST frame 19",
    )
    assert c.close.exchange == 2


@pytest.mark.parametrize("keys", [False, True])
def test_a_handshake_without_a_request_is_unused_and_no_timeout(keys):
    """nginx closes a TLS connection that never sent a request after client_header_timeout
    (2 s here), not keepalive_timeout (5 s): that close says nothing about keep-alive. It was
    read as a 2 s idle timeout, and the server's timeout as ~1.9 s instead of 5 s. With the key
    log nothing is decrypted either (no application data), and the verdict is the same."""
    path = str(REAL / "tls-tls13-preconnect.pcap")
    a = analyze(path, keylog=KeyLog.read(path[:-5] + ".keys")) if keys else _a("tls13-preconnect")
    unused, used = a.connections
    assert unused.requests == 0 and unused.close.reason == "unused"
    assert "no request was sent (TLS handshake records only)" in unused.close.explanation
    assert 1.9e9 < unused.close.idle_before_ns < 2.1e9
    assert used.close.reason == "idle-timeout" and 5.0e9 <= used.close.idle_before_ns < 5.1e9
    assert a.timeout.estimate_ns == 5_000_000_000 and a.timeout.samples == 1
    assert [f.streams for f in a.findings if f.kind == "unused"] == [(0,)]


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


# nginx's access log in tls.md: $connection $connection_requests $ssl_protocol
# $ssl_session_reused $status "$request" $msec
ACCESS = re.compile(r'^(\d+) (\d+) (TLSv1\.[23]) ([.r]) (\d{3}) "GET (\S+) HTTP/1\.1" (\d+\.\d+)$', re.M)


def _access(name: str) -> list[tuple[int, int, str, bool, int, str, float]]:
    block = _section(name).split("nginx access log:")[1].split("tshark with the key log:")[0]
    return [
        (int(c), int(n), proto, reused == "r", int(status), uri, float(msec))
        for c, n, proto, reused, status, uri, msec in ACCESS.findall(block)
    ]


SEEDS = ["seed-tls13", "seed-tls12", "seed-resume-tls13", "seed-resume-tls12"]


@pytest.mark.parametrize("name", SEEDS)
@pytest.mark.parametrize("keys", [False, True])
def test_seed_experiment_over_https_matches_nginx(name, keys):
    """The seed article over HTTPS (nginx keepalive_timeout 5s; a client sleeping 2 s, 6 s, 8 s
    after its requests), with and without the key log, against nginx's access log: requests 1
    and 2 on nginx's connection 1 (the second reused after 2 s, as $msec says), nginx closing it
    5 s later with close_notify then FIN, request 3 on a new connection, resumed exactly when
    nginx says so ($ssl_session_reused), closed the same way; the timeout inferred for the SNI
    is ~5 s. A client RST after nginx's close_notify + FIN (requests always; the resuming client
    after its last request, when it exits with the close_notify unread) is the normal ending:
    no finding, and the evidence says why."""
    pcap = str(REAL / f"tls-{name}.pcap")
    a = analyze(pcap, keylog=KeyLog.read(str(REAL / f"tls-{name}.keys"))) if keys else analysed(pcap)
    log = _access(name)
    version = "TLS 1.3" if name.endswith("13") else "TLS 1.2"
    proto = version.replace(" ", "v")  # nginx's $ssl_protocol: TLSv1.3
    assert [(c, n, p) for c, n, p, *_ in log] == [(1, 1, proto), (1, 2, proto), (2, 1, proto)]
    # nginx's connections are katui's streams, its $connection_requests the exchange numbers
    mine = [(c.stream + 1, e.n) for c in a.connections for e in c.exchanges]
    assert mine == [(c, n) for c, n, *_ in log]
    gap = log[1][6] - log[0][6]  # nginx's own clock between requests 1 and 2
    reused = a.connections[0].exchanges[1]
    assert reused.reused and abs(reused.idle_before_ns / 1e9 - gap) < 0.01
    if keys:
        assert [e.request.uri for c in a.connections for e in c.exchanges] == [u for *_, u, _ in log]
        assert all(e.response.status == 200 for c in a.connections for e in c.exchanges)
    resumed_by_nginx = {c: r for c, n, _, r, *_ in log if n == 1}
    for c in a.connections:
        t = c.tls
        assert (t.version, t.sni, t.decrypted) == (version, "localhost", keys)
        assert t.resumed == resumed_by_nginx[c.stream + 1] and t.full_handshake == (not t.resumed)
        assert t.close_notify == ("server",)
        cl = c.close
        assert (cl.reason, cl.by, cl.how, cl.closer) == ("idle-timeout", "server", "fin", "server")
        assert 5.0e9 <= cl.idle_before_ns < 5.1e9
        # with keys the close_notify is read, not guessed from a record's size: it says so
        assert ("server close_notify before the first FIN or RST" in cl.evidence) == keys
        # the resuming client reads the close_notify before its third request: then a FIN
        client_rst = not (name.startswith("seed-resume") and c.stream == 0)
        assert len(cl.rst_frames) == client_rst
        if client_rst:
            (rst,) = cl.rst_frames
            assert rst > cl.frame and rst == c.last_frame
            assert f"client RST frame {rst} after the server's close_notify and FIN" in cl.evidence[-1]
            assert "the normal ending, not an abort" in cl.evidence[-1]
    assert [c.tls.resumed for c in a.connections] == [False, name.startswith("seed-resume")]
    assert not [f for f in a.findings if f.severity != "info"]
    t = a.timeout
    assert t.server == f"127.0.0.1:{a.connections[0].server.rsplit(':', 1)[1]} (SNI localhost)"
    assert t.estimate_ns == 5_000_000_000 and 2.0e9 < t.low_ns < t.high_ns < 5.1e9


def test_the_ladder_does_not_mark_the_normal_ending_as_a_reset():
    """requests' RST after nginx's close_notify + FIN is labelled as the normal ending, with no
    ✖; the RST nginx sends for a request after its close (a stale reuse) keeps its ✖."""
    rows = [r for r in text.render(_a("seed-tls13"), ladder=True).splitlines() if "│" in r and " RST" in r]
    assert len(rows) == 2  # one per connection
    assert all("normal ending (close_notify unread)" in r and "✖" not in r for r in rows)
    stale = [r for r in text.render(_a("tls13-stale"), ladder=True).splitlines() if "│" in r and " RST" in r]
    assert stale and all("✖ reset" in r and "normal ending" not in r for r in stale)


NGINX_HANDSHAKE_ERROR = re.compile(
    r"\*(\d+) SSL_do_handshake\(\) failed \(SSL: error:\w+:SSL routines::([^:)]+)(?::SSL alert number (\d+))?"
)


def _handshake_errors(name: str) -> dict[int, tuple[str, str]]:
    """nginx's connection number -> (why, alert number) of each failed handshake it logged."""
    return {int(n): (why, code) for n, why, code in NGINX_HANDSHAKE_ERROR.findall(_section(name))}


def _with_or_without_keys(name: str, keys: bool):
    """tls-NAME.pcap analysed with its key log, or without."""
    path = str(REAL / f"tls-{name}.pcap")
    return analyze(path, keylog=KeyLog.read(path[:-5] + ".keys")) if keys else _a(name)


@pytest.mark.parametrize("keys", [False, True])
def test_failed_handshakes_are_named_by_their_alert_as_nginx_logged_them(keys):
    """tls12-refused (nginx with TLS 1.2 only, its error log at info): nginx logged connection
    *1 failing with 'unsupported protocol' and *2 with 'tlsv1 alert unknown ca ... SSL alert
    number 48' (the client's alert), and neither in its access log. katui reads the same from
    the alerts sent in the clear: stream 0 refused by the server (protocol_version), stream 1
    by the client (unknown_ca, code 48); before, both were 'unused' (a pre-connect, no
    problem) and the server's fatal alert was labelled 'close_notify?'. With the key log the
    same (nothing of a failed handshake is encrypted)."""
    logged = _handshake_errors("tls12-refused")
    assert logged == {1: ("unsupported protocol", ""), 2: ("tlsv1 alert unknown ca", "48")}
    assert [uri for *_, uri, _ in _access("tls12-refused")] == ["/ok"]
    a = _with_or_without_keys("tls12-refused", keys)
    refused, rejected, ok = a.connections
    assert refused.tls.alerts == (("server", 2, 70, 6),) and refused.tls.close_notify == ()
    assert rejected.tls.alerts == (("client", 2, int(logged[2][1]), 18),)
    assert refused.close.reason == rejected.close.reason == "tls-failed"
    assert refused.close.is_problem and refused.close.evidence == ("server alert protocol_version frame 6",)
    assert "no TLS version in common" in refused.close.explanation
    assert "issuer is not trusted" in rejected.close.explanation and rejected.close.closer == "client"
    assert ok.requests == 1 and ok.close.reason != "tls-failed"
    assert a.timeout.estimate_ns is None  # no keep-alive close in it
    found = {f.streams: f for f in a.findings if f.kind == "tls-failed"}
    assert set(found) == {(0,), (1,)} and all(f.severity == "problem" for f in found.values())
    assert found[(0,)].frame == 6 and "ssl_protocols" in found[(0,)].advice
    assert found[(1,)].frame == 18 and "trust store" in found[(1,)].advice
    assert "the server sent a fatal protocol_version alert" in found[(0,)].text
    assert (6, "alert fatal protocol_version") in refused.tls.labels
    line = text.render(a)  # the TLS line: the failure, not "exchanges inferred from encrypted records"
    assert (
        "TLS (no ServerHello seen) · sni localhost · alpn h2,http/1.1 · handshake failed: "
        "server alert protocol_version (frame 6)" in line
    )
    d = jsonout.to_dict(a)["connections"]
    assert d[0]["tls"]["alerts"] == [{"by": "server", "level": "fatal", "description": "protocol_version",
                                      "code": 70, "frame": 6}]  # fmt: skip
    assert d[2]["tls"]["alerts"] == []


def test_tls13_server_refusing_a_name_is_told_by_its_clear_alert():
    """tls13-reject-sni: nginx logged '*1 handshake rejected while SSL handshaking' (its default
    server, ssl_reject_handshake on) for curl asking for other.example. In TLS 1.3 every record
    before the ServerHello is in the clear, so the unrecognized_name alert is read, and the
    advice is about the name (SNI), not versions or certificates."""
    assert re.search(r"\*1 handshake rejected while SSL handshaking", _section("tls13-reject-sni"))
    a = _a("tls13-reject-sni")
    rejected, ok = a.connections
    assert rejected.tls.sni == "other.example" and rejected.tls.version is None
    assert [(side, level, code) for side, level, code, _ in rejected.tls.alerts] == [("server", 2, 112)]
    assert (
        rejected.close.reason == "tls-failed" and "server name asked for (SNI)" in rejected.close.explanation
    )
    (f,) = [f for f in a.findings if f.kind == "tls-failed"]
    assert f.streams == (0,) and "unrecognized_name" in f.text and "SNI" in f.advice
    assert ok.tls.sni == "localhost" and ok.tls.version == "TLS 1.3" and ok.requests == 1


@pytest.mark.parametrize("keys", [False, True])
def test_tls13_client_refusing_the_certificate_is_told_by_its_clear_alert(keys):
    """tls13-cert-refused: curl and requests, verifying nginx's self-signed certificate over
    TLS 1.3, refuse it; nginx logged '*1' and '*2 ... tlsv1 alert unknown ca:SSL alert number
    48'. The client's alert goes out before it switches its own writes to the handshake keys
    (OpenSSL sends it while reading the server's Certificate, before its own second flight), so
    it is in the clear: a 7-byte alert record, read without keys. The key log (curl and
    requests log what they derived: only the server's handshake secret here) opens the server's
    handshake records and nothing else."""
    logged = _handshake_errors("tls13-cert-refused")
    assert logged == {1: ("tlsv1 alert unknown ca", "48"), 2: ("tlsv1 alert unknown ca", "48")}
    assert [uri for *_, uri, _ in _access("tls13-cert-refused")] == ["/ok"]
    a = _with_or_without_keys("tls13-cert-refused", keys)
    curl, requests_, ok = a.connections
    for c, frame in ((curl, 8), (requests_, 18)):
        assert c.tls.version == "TLS 1.3" and c.tls.alerts == (("client", 2, 48, frame),)
        assert c.close.reason == "tls-failed" and c.close.is_problem and c.requests == 0
        assert "issuer is not trusted" in c.close.explanation
        # with the key log, the server's handshake records open with the only secret logged
        # (as tshark opens them): its EncryptedExtensions name the protocol it chose
        assert (c.tls.alpn, c.tls.note, c.tls.decrypted) == (("http/1.1" if keys else None), None, False)
    (f,) = [f for f in a.findings if f.kind == "tls-failed"]
    assert f.streams == (0, 1) and f.severity == "problem" and "trust store" in f.advice
    assert ok.requests == 1 and ok.close.reason != "tls-failed" and ok.tls.alerts == ()


def test_the_servers_http2_preface_is_not_a_response():
    """tls-h2-curl (ALPN h2, TLS 1.2, no keys): nginx sends its SETTINGS as soon as the
    handshake ends, before curl's first request. That record was an inferred exchange of its
    own, a 'response' numbered 1 beside request 1 (two exchanges #1 a connection, and 5
    exchanges counted where curl sent 4 bursts); it is labelled as the preface instead."""
    a = _a("h2-curl")
    assert [c.requests for c in a.connections] == [4, 3, 3]  # bursts, not requests (multiplexed)
    for c in a.connections:
        assert c.tls.multiplexed
        assert all(e.request is not None for e in c.exchanges)
        assert [e.n for e in c.exchanges] == list(range(1, c.requests + 1))
        preface = [f for f, text in c.tls.labels if text.startswith("SETTINGS? (the server's HTTP/2 preface")]
        assert len(preface) == 1 and preface[0] < c.exchanges[0].request.first_frame
