"""Verdicts on captures of real servers and clients (samples/real, made by samples/real/make_*.sh).

Each expectation is what the capture shows and what the software itself logged (quoted in
samples/real/*.md): the close reason per stream, who closed and how, the evidence frames, the
server's idle timeout, and which findings are true -- and which tempting ones would be false.
"""

from __future__ import annotations

import pytest

from katui.analysis.pipeline import analyze
from katui.report import jsonout, markdown, text
from tests.conftest import SAMPLES, analysed, capture_path

REAL = SAMPLES / "real"

# file -> one (reason, closed by, how) per stream
VERDICTS = {
    # nginx 1.22
    "nginx-partial-head.pcap": [("incomplete-request", "server", "fin")],
    "nginx-partial-head-rst.pcap": [("incomplete-request", "server", "rst")],
    "nginx-partial-body.pcap": [("incomplete-request", "server", "fin")],
    "nginx-reused-then-partial.pcap": [("incomplete-request", "server", "fin")],
    "nginx-413-expect.pcap": [("error-close", "client", "fin")],
    "nginx-limit-curl.pcap": [("request-limit", "server", "fin"), ("client-done", "client", "fin")],
    "nginx-limit-requests.pcap": [("request-limit", "server", "fin"), ("client-done", "client", "fin")],
    "nginx-stalled-reader.pcap": [("stalled-reader", "client", "rst")],
    "nginx-stalled-reader-rst.pcap": [("stalled-reader", "server", "rst")],
    "nginx-stalled-drain.pcap": [("stalled-reader", "server", "fin")],
    "nginx-limit-curl-clientfin.pcap": [("request-limit", "client", "fin"), ("client-done", "client", "fin")],
    "nginx-5xx.pcap": [("error-close", "server", "fin"), ("client-done", "client", "fin")],
    "nginx-idle-rst.pcap": [("idle-timeout", "server", "fin")],  # reset_timedout_connection: not idle
    "nginx-preconnect.pcap": [("unused", "server", "fin")],
    "nginx-unused.pcap": [("unused", "client", "fin")],
    "nginx-snaplen.pcap": [("idle-timeout", "server", "fin")],  # -s 70: heads cut, silence seen
    "nginx-snaplen-limit.pcap": [("unknown", "server", "fin"), ("unknown", "client", "fin")],
    # Apache httpd 2.4 (mpm_event)
    "apache-idle.pcap": [("idle-timeout", "server", "fin"), ("client-done", "client", "fin")],
    "apache-maxreq.pcap": [("request-limit", "server", "fin"), ("client-done", "client", "fin")],
    "apache-limit-curl.pcap": [("request-limit", "server", "fin"), ("client-done", "client", "fin")],
    "apache-limit-curl-clientfin.pcap": [
        ("request-limit", "client", "fin"),
        ("client-done", "client", "fin"),
    ],
    "apache-partial-head.pcap": [("incomplete-request", "server", "fin")],
    "apache-partial-body.pcap": [("incomplete-request", "server", "fin")],
    "apache-preconnect.pcap": [("unused", "client", "fin")],
    "apache-preconnect-nodefer.pcap": [("unused", "server", "fin")],
    "apache-preconnect-long.pcap": [("unused", "server", "fin")],
    "apache-5xx.pcap": [("error-close", "server", "fin")] * 2 + [("client-done", "client", "fin")],
    # h2c by Upgrade (mod_http2): GOAWAY last stream 1 right after response 1, the request on
    # stream 3 never processed; curl's FIN came first, the request after 0.7 s idle a stale reuse
    "apache-h2c-curl.pcap": [("connection-close", "client", "fin")] * 2,  # GOAWAY with answer 1
    "apache-h2c-refused.pcap": [("stale-reuse", "server", "fin")],
    "apache-h2c-idle.pcap": [("idle-timeout", "server", "fin")],  # after Timeout 4, not KeepAliveTimeout 2
    # Node 20 http server
    "node-ka-default.pcap": [("idle-timeout", "server", "fin")],
    "node-ka-2s.pcap": [("idle-timeout", "server", "fin")],
    "node-headers-timeout.pcap": [("incomplete-request", "server", "fin")],
    "node-bad-request.pcap": [("error-close", "server", "fin"), ("error-close", "server", "fin")],
    "node-503-close.pcap": [("error-close", "client", "fin")],
    "node-upgrade.pcap": [("upgrade", "server", "fin")],
    "node-partial-body.pcap": [("incomplete-request", "server", "fin")],
    "node-silent.pcap": [("error-close", "server", "fin")],  # 408 to a connection that sent nothing
    "node-stalled-reader.pcap": [("stalled-reader", "server", "rst")],
    "node-stalled-default.pcap": [("stalled-reader", "client", "rst")],  # no server packet at all
    "node-client-rst.pcap": [("reset", "client", "rst")],
    "node-max-requests.pcap": [("request-limit", "client", "fin")] * 2,
    "node-sse.pcap": [("client-gave-up", "client", "fin")] * 2,  # left an event stream
    # uvicorn, gunicorn
    "uvicorn-ka2.pcap": [("idle-timeout", "server", "fin"), ("client-done", "client", "fin")],
    "uvicorn-default.pcap": [("idle-timeout", "server", "fin")],
    "gunicorn-gthread.pcap": [("idle-timeout", "server", "fin"), ("client-done", "client", "fin")],
    "gunicorn-sync.pcap": [
        ("connection-close", "client", "fin"),
        ("connection-close", "server", "fin"),
        ("connection-close", "server", "fin"),
    ],
    "uvicorn-partial.pcap": [("incomplete-request", "client", "fin")],  # no header timeout
    "gunicorn-gthread-partial.pcap": [("incomplete-request", "client", "fin")],
    "uvicorn-silent.pcap": [("unused", "client", "fin")],
    # HAProxy 2.6
    "haproxy-ka.pcap": [("idle-timeout", "server", "fin"), ("client-done", "client", "fin")],
    "haproxy-tcpcheck.pcap": [("unused", "client", "rst")] * 6,
    "haproxy-httpchk.pcap": [("connection-close", "client", "rst")] * 6,
    "haproxy-timeout-client.pcap": [("incomplete-request", "server", "fin")],
    "haproxy-http-request-timeout.pcap": [("incomplete-request", "server", "fin")],
    "haproxy-silent.pcap": [("error-close", "server", "fin")],
    "haproxy-silent-ignore-probes.pcap": [("unused", "server", "fin")],
    "haproxy-503.pcap": [("client-done", "client", "fin")],  # two 503s, the connection stayed open
    # 30 pre-connected sockets silent until HAProxy's 'timeout http-request 2s': the ten answered
    # 200 closed by the client; the twenty whose request met the 408 (logs/haproxy-preconnect-
    # race.log: '<BADREQ>' 408 for each) crossed it
    "haproxy-preconnect-race.pcap": [
        ("client-done", "client", "fin")
        if s in (0, 1, 2, 4, 5, 11, 16, 17, 22, 29)
        else ("stale-reuse", "server", "fin")
        for s in range(30)
    ],
    # clients against nginx
    "clients-ab.pcap": [("http10", "server", "fin")] * 10,
    "clients-ab-k.pcap": [("client-done", "client", "fin")] * 2,
    "clients-curl-multi.pcap": [("client-done", "client", "fin")],
    "clients-curl-separate.pcap": [("client-done", "client", "fin")] * 3,
    # s1: Client.close() 1.001 s after its response; s0 reused after 1.002 s: not a pool timeout
    "clients-httpx-expiry.pcap": [("idle-timeout", "client", "fin"), ("client-done", "client", "fin")],
    "clients-aiohttp-timer.pcap": [("idle-timeout", "client", "fin"), ("client-done", "client", "fin")],
    "clients-requests-server-idle.pcap": [
        ("idle-timeout", "server", "fin"),
        ("client-done", "client", "fin"),
    ],
    "clients-single-idle.pcap": [("idle-timeout", "server", "fin")],
    "clients-stale-requests.pcap": [("stale-reuse", "server", "fin"), ("client-done", "client", "fin")],
    "clients-stale-httpx.pcap": [("stale-reuse", "server", "fin"), ("client-done", "client", "fin")],
    "clients-race-httpx.pcap": [("stale-reuse", "server", "fin")]
    + [("idle-timeout", "server", "fin")] * 4
    + [("client-done", "client", "fin")],
    # Go 1.19 net/http server and client (make_go.sh; logs/go-*.log)
    "go-idle.pcap": [("idle-timeout", "server", "fin")] * 2,
    "go-client-idle.pcap": [("idle-timeout", "client", "fin"), ("client-done", "client", "fin")],
    "go-race.pcap": [("idle-timeout", "server", "fin")] * 11 + [("client-done", "client", "fin")],
    "go-race-fine.pcap": [("idle-timeout", "server", "fin")] * 5
    + [("stale-reuse", "server", "rst")]
    + [("idle-timeout", "server", "fin")] * 4
    + [("stale-reuse", "server", "rst")]
    + [("idle-timeout", "server", "fin")] * 2
    + [("client-done", "client", "fin")],
    # Node 20 clients (make_node.sh; logs/node-*.log): http.globalAgent and fetch() (undici)
    "node-agent-idle.pcap": [("idle-timeout", "client", "fin"), ("client-done", "client", "fin")],
    "node-agent-hint.pcap": [("idle-timeout", "client", "fin")] * 3,
    "node-fetch-idle.pcap": [("idle-timeout", "client", "fin"), ("client-done", "client", "fin")],
    # stale-reuse: nginx's FIN came first, then its RST answered the request
    "node-agent-race.pcap": [("stale-reuse", "server", "fin")]
    + [("idle-timeout", "server", "fin")] * 9
    + [("stale-reuse", "server", "fin")],
    "node-fetch-race.pcap": [("idle-timeout", "server", "fin")] * 2
    + [("stale-reuse", "server", "fin")] * 2
    + [("idle-timeout", "server", "fin")]
    + [("stale-reuse", "server", "fin")]
    + [("idle-timeout", "server", "fin")] * 3
    + [("stale-reuse", "server", "fin")]
    + [("idle-timeout", "server", "fin")]
    + [("stale-reuse", "server", "fin")] * 2
    + [("idle-timeout", "server", "fin"), ("client-done", "client", "fin")],
}


def _a(name):
    path = REAL / name
    if not path.exists():
        pytest.fail(f"{path} is missing: samples/real/make_*.sh make it")
    return analysed(str(path))


def _kinds(a):
    return [f.kind for f in a.findings]


@pytest.mark.parametrize("name", sorted(VERDICTS))
def test_close_reason_per_stream(name):
    a = _a(name)
    got = [(c.close.reason, c.close.by, c.close.how) for c in a.connections]
    assert got == VERDICTS[name]
    for c in a.connections:
        # Every close rests on named frames.
        assert c.close.evidence and any("frame" in e for e in c.close.evidence), c.stream


def test_partial_head_is_listed_with_its_wait_and_never_feeds_the_timeout():
    a = _a("nginx-reused-then-partial.pcap")
    (c,) = a.connections
    assert c.requests == 3 and c.close.exchange == 3
    assert "GET /three" in c.close.explanation and "no blank line" in c.close.explanation
    assert c.close.wait_ns == pytest.approx(2.0e9, rel=0.01)  # nginx client_header_timeout 2s
    assert not a.timeouts or all(t.samples == 0 for t in a.timeouts)
    assert "server-idle-timeout" not in _kinds(a)


def test_partial_body_names_how_much_was_sent():
    (c,) = _a("nginx-partial-body.pcap").connections
    assert "10 of its 100 body bytes" in c.close.explanation


@pytest.mark.parametrize(
    ("name", "first", "answer"),
    [("node-headers-timeout.pcap", 4, 8), ("apache-partial-head.pcap", 4, 6),
     ("haproxy-http-request-timeout.pcap", 4, 6), ("haproxy-timeout-client.pcap", 4, 6)],
)  # fmt: skip
def test_408_answer_to_a_partial_head_is_an_incomplete_request(name, first, answer):
    # The 408 came before the head that never ended was known (it is parsed, unfinished, only
    # at the close): it is still that request's answer, one exchange numbered 1, as each server
    # logged it (a 408 for the unfinished request: samples/real/*.md), not a response "without a
    # request" beside a second request 1. tshark -2 pairs neither (it never parses the head).
    a = _a(name)
    (c,) = a.connections
    (ex,) = c.exchanges
    assert ex.n == 1 and ex.request.first_frame == first and ex.request.frame is None
    assert ex.response.status == 408 and ex.response.frame == answer
    assert c.requests == 1 and c.close.reason == "incomplete-request" and c.close.exchange == 1
    assert "408" in " ".join(c.close.evidence) and "408" in c.close.explanation
    assert "unanswered" not in _kinds(a)
    # The text report marks where the unfinished request started, never "None".
    out = text.render(a)
    assert f"req frame {f'{first}…':>7}  resp frame {answer:>7}" in out and "None" not in out
    assert f"| 1 | {first}… | {answer} | GET " in markdown.render(a)  # the same in Markdown


def test_an_answer_before_the_head_ended_is_that_requests_answer():
    """nginx-414-early: nginx answered 414 (frame 6) 2 ms into a request line longer than its
    header buffer, before the client sent the rest of the head (frame 10); nginx logged one
    request, 414. One exchange (request ending at frame 10, response frame 6), an error close
    asked by the server; before, the 414 stood alone and the request had 'waited -498167 µs
    for a response' in a WARNING request-timeout."""
    a = _a("nginx-414-early.pcap")
    (c,) = a.connections
    (ex,) = c.exchanges
    assert ex.n == 1 and ex.request.frame == 10 and ex.request.first_frame == 4
    assert ex.response.status == 414 and ex.response.frame == 6
    # answered before it ended: no time to first byte (it was -498 ms), in JSON either
    assert ex.ttfb_ns is None and jsonout.to_dict(a)["connections"][0]["requests"][0]["ttfb"] is None
    assert '"ttfb":null' in jsonout.render(a)
    assert c.close.reason == "error-close" and c.close.status == 414 and c.close.by == "server"
    assert [f.severity for f in a.findings] == ["info"] and "414" in a.findings[0].text
    assert "414" in c.close.explanation and "waited" not in c.close.explanation


def test_error_close_names_the_status_and_never_blames_keep_alive():
    a = _a("nginx-413-expect.pcap")
    (c,) = a.connections
    assert c.close.status == 413
    assert "refuses keep-alive" not in " ".join(f.text + f.advice for f in a.findings)
    (err,) = [f for f in a.findings if f.kind == "http-error"]
    assert err.severity == "info" and "413" in err.text and "client_max_body_size" in err.advice
    node = _a("node-503-close.pcap")
    assert node.connections[0].close.status == 503
    (bad,) = [f for f in node.findings if f.kind == "http-error"]
    assert bad.severity == "problem" and bad.frame == node.connections[0].exchanges[-1].response.frame


def test_request_limit_whoever_fins_first():
    # nginx keepalive_requests 2: curl's FIN came first in one, nginx's in the other; Node's
    # maxRequestsPerSocket: the client's. The response that said Connection: close decides.
    for name in ("nginx-limit-curl.pcap", "nginx-limit-requests.pcap", "node-max-requests.pcap"):
        a = _a(name)
        c = a.connections[0]
        assert c.close.reason == "request-limit" and c.close.asked_by == "server"
        assert "Connection: close" in c.close.evidence[0]
    wrk = _a("clients-wrk.pcap")
    limited = [c for c in wrk.connections if c.close.reason == "request-limit"]
    assert len(limited) == 4 and all(c.requests == 5 for c in limited)
    (f,) = [f for f in wrk.findings if f.kind == "request-limit"]
    assert "nginx keepalive_requests 5" in f.text and f.count == 4


def test_stalled_reader_says_how_much_got_through():
    (c,) = _a("nginx-stalled-reader-rst.pcap").connections
    assert "window was zero from frame 9" in c.close.explanation
    assert "4096 bytes of a 2097152-byte body got through" in c.close.explanation
    assert c.close.wait_ns == pytest.approx(1.96e9, rel=0.02)


def test_upgrade_and_unused_raise_no_keep_alive_warning():
    for name in ("node-upgrade.pcap", "haproxy-tcpcheck.pcap"):
        a = _a(name)
        assert all(f.severity == "info" for f in a.findings), _kinds(a)
        assert not a.timeouts or a.timeouts[0].samples == 0
    (f,) = _a("haproxy-tcpcheck.pcap").findings
    assert f.kind == "unused" and f.count == 6 and f.streams == (0, 1, 2, 3, 4, 5)


def test_browser_like_abortive_close_is_info():
    a = _a("node-client-rst.pcap")
    (f,) = [f for f in a.findings if f.kind == "abortive-close"]
    assert f.severity == "info"
    assert not [f for f in a.findings if f.severity != "info"]


@pytest.mark.parametrize(
    "name, server, software, setting, high_s",
    [
        ("clients-requests-server-idle.pcap", "127.0.0.1:9303", "nginx", "keepalive_timeout", 2.0),
        ("uvicorn-ka2.pcap", "127.0.0.1:9211", "uvicorn", "--timeout-keep-alive", 2.0),
        ("uvicorn-default.pcap", "127.0.0.1:9212", "uvicorn", "--timeout-keep-alive", 5.0),
        ("gunicorn-gthread.pcap", "127.0.0.1:9213", "gunicorn", "--keep-alive", 2.0),
        ("node-ka-default.pcap", "127.0.0.1:9201", "likely Node.js", "server.keepAliveTimeout", 6.0),
        ("haproxy-ka.pcap", "127.0.0.1:9221", None, None, 2.0),
        ("apache-idle.pcap", "127.0.0.1:9121", "Apache httpd", "KeepAliveTimeout", 2.0),
    ],
)
def test_server_timeout_names_the_software_and_is_a_safe_bound(name, server, software, setting, high_s):
    a = _a(name)
    (t,) = [t for t in a.timeouts if t.server == server]
    assert (t.software, t.setting) == (software, setting)
    assert t.high_ns == pytest.approx(high_s * 1e9, rel=0.01)
    assert t.estimate_ns <= t.high_ns  # never above a close that was seen
    assert t.low_ns is None or t.low_ns < t.high_ns
    (f,) = [f for f in a.findings if f.kind == "server-idle-timeout"]
    safe = float(f.advice.split("below ")[1].split(" s")[0])
    assert safe < high_s  # the advice itself never causes the race
    if software is None:
        assert "nginx" not in f.text + f.advice  # never name nginx for another server


def test_node_closing_later_than_advertised_is_safe_not_a_mismatch():
    a = _a("node-ka-default.pcap")  # advertises timeout=5, closes after 6 s on purpose
    kinds = _kinds(a)
    assert "timeout-mismatch" not in kinds
    (f,) = [f for f in a.findings if f.kind == "timeout-advertised"]
    assert f.severity == "info" and "safe" in f.text


def test_client_pool_timeouts_are_upper_bounds_and_healthy():
    a = _a("clients-httpx-expiry.pcap")
    (f,) = [f for f in a.findings if f.kind == "client-idle-timeout"]
    assert "httpx" in f.text and "at most 3.001 s" in f.text and "next request" in f.text
    # Stream 1 (Client.close() 1.001 s after its response) is not counted: httpx reused stream 0
    # after 1.002 s idle, so its pool does not time out at 1.001 s.
    assert f.streams == (0,) and f.count == 1
    closed = a.connections[1].close
    assert closed.reason == "client-done" and "not by its pool idle timeout" in closed.explanation
    assert "reused a connection to this server after 1.002 s idle (stream 0, request 2, frame 8)" in (
        closed.explanation
    )
    b = _a("clients-aiohttp-timer.pcap")
    (g,) = [f for f in b.findings if f.kind == "client-idle-timeout"]
    assert "aiohttp" in g.text and g.severity == "info"


def test_a_client_without_a_pool_timer_is_not_said_to_have_one():
    """requests (urllib3) keeps idle connections until the program lets go: its close after
    2.9 s idle (the script closing its session, as make_proxy.sh's client does) is the
    program's doing, not a pool idle timeout of at most 2.9 s."""
    a = _a("proxy-nginx-forwarded.pcap")
    (f,) = [f for f in a.findings if f.kind == "client-idle-timeout"]
    assert "requests (urllib3) has no pool idle timeout" in f.text
    assert "pool idle timeout is at most" not in f.text
    assert a.connections[0].close.explanation.endswith("its pool idle timeout or the program closing it")


@pytest.mark.parametrize(
    "name, claimed",
    [
        ("clients-curl-multi.pcap", False),
        ("clients-curl-separate.pcap", False),  # each curl closed before the next started
        ("clients-ab.pcap", False),  # every connection announced its close (HTTP/1.0)
        ("clients-single-idle.pcap", False),
        ("clients-race-requests.pcap", False),  # new connections after nginx's idle closes
        ("clients-race-httpx.pcap", False),
        ("clients-httpx-no-keepalive.pcap", False),
        ("clients-new-session-per-request.pcap", True),  # idle sessions left open
    ],
)
def test_not_reusing_is_claimed_only_with_an_idle_connection_open(name, claimed):
    assert ("no-reuse" in _kinds(_a(name))) is claimed


def test_no_reuse_advice_names_the_clients_own_pool():
    (f,) = [f for f in _a("clients-new-session-per-request.pcap").findings if f.kind == "no-reuse"]
    assert f.advice == "Use one requests.Session for all requests to a server."
    assert "to 127.0.0.1:9314 while" in f.text  # the Host is the address: not said twice


@pytest.mark.parametrize(
    "name, stream, names",
    [
        # bro.org and www.bro.org on one address: two names, two pools in any client
        ("zeek__http_bro.org.pcap", 7, ("bro.org", "www.bro.org")),
        # a.visualrevenue.com and go.xnet.co.il on one address
        ("pcapplusplus__example.pcap", 25, ("go.xnet.co.il", "a.visualrevenue.com")),
    ],
)
def test_no_reuse_is_per_name_not_per_address(name, stream, names):
    """A client's pool keys connections by scheme, host name and port: a new connection to
    another name on the same address is no missed reuse. Both captures had a no-reuse warning
    (with requests/httpx advice given to a browser) for exactly that."""
    a = analysed(str(capture_path(name)))
    c = a.connections[stream]
    hosts = {e.request.host for x in a.connections if x.server == c.server for e in x.exchanges if e.req >= 0}
    assert set(names) <= hosts  # the capture does have both names on that address
    assert not [f for f in a.findings if f.kind == "no-reuse" and stream in f.streams]


def test_websocket_connections_are_not_idle_pool_members():
    """ndpi 1kxun: OkHttp opens three WebSockets (101 Switching Protocols) one after another;
    an upgraded connection is not an idle HTTP connection the next one could have reused."""
    a = analysed(str(capture_path("ndpi__1kxun.pcap")))
    ws = [c for c in a.connections if c.exchanges and c.exchanges[-1].response is not None
          and c.exchanges[-1].response.status == 101]  # fmt: skip
    assert [c.stream for c in ws] == [30, 31, 32]
    assert not [f for f in a.findings if f.kind == "no-reuse" and set(f.streams) & {30, 31, 32}]
    # the other OkHttp habit in the capture still is one (3 new connections to pic.1kxun.com)
    (f,) = [f for f in a.findings if f.kind == "no-reuse" and "OkHttp" in f.text]
    assert (
        "(pic.1kxun.com)" in f.text
        and f.advice == "Use one shared OkHttpClient for all requests to a server."
    )


def test_a_browser_opening_connections_beside_idle_ones_is_no_pool_to_fix():
    a = analysed(str(capture_path("ndpi__1kxun.pcap")))
    browser = [f for f in a.findings if f.kind == "no-reuse" and "(web browser)" in f.text]
    assert browser and all(f.severity == "info" and "requests.Session" not in f.advice for f in browser)
    assert all("separate pools per top-level site" in f.text for f in browser)


def test_the_gap_threshold_does_not_change_verdicts():
    """--idle only says which gaps are shown: go-client-idle's pool close after 1.003 s stayed
    an idle timeout only while the threshold was at most 1 s (--idle 2 made it 'client-done'
    and dropped the client-timeout finding; the TUI's '+' did not, as it does not analyse
    again)."""
    path = str(REAL / "go-client-idle.pcap")
    base, wide = analyze(path), analyze(path, idle_threshold_ns=2_000_000_000)
    assert [c.close.reason for c in base.connections] == [c.close.reason for c in wide.connections]
    assert base.connections[0].close.reason == "idle-timeout"
    assert _kinds(base) == _kinds(wide) and "client-idle-timeout" in _kinds(base)
    assert wide.idle_threshold_ns == 2_000_000_000  # still the gaps' threshold


def test_race_that_reached_the_client_vs_one_that_was_retried():
    # httpx raised RemoteProtocolError and did not retry (clients.md): a problem.
    a = _a("clients-race-httpx.pcap")
    (f,) = [f for f in a.findings if f.kind == "stale-reuse"]
    assert f.severity == "problem" and f.stream == 0 and f.frame == 25
    assert "below 0.9 s" in f.advice and "nginx keepalive_timeout" in f.advice
    # wrk's end of run: requests in flight when the client stopped: info, not a timeout warning.
    wrk = _a("clients-wrk.pcap")
    (g,) = [f for f in wrk.findings if f.kind == "client-gave-up"]
    assert g.severity == "info" and g.count == 2
    assert "request-timeout" not in _kinds(wrk)
    # The connection list says the same as the finding: the client closed with a request in
    # flight (waits of 2.0 and 52.3 ms, no timeout shown), not a request timeout.
    gave_up = [c for c in wrk.connections if c.close.wait_ns is not None]
    assert [(c.stream, c.close.reason, c.close.by) for c in gave_up] == [
        (5, "client-gave-up", "client"),
        (6, "client-gave-up", "client"),
    ]


def test_proxy_races_are_told_from_both_legs():
    # nginx (upstream keepalive) in front of Node: a POST raced on the upstream and nginx gave
    # the client a 502 (not retried: non-idempotent); a GET raced and nginx retried it (proxy.md).
    a = _a("proxy-nginx-race.pcap")
    kinds = {f.kind: f for f in a.findings}
    lost, absorbed = kinds["upstream-race"], kinds["upstream-race-absorbed"]
    assert lost.severity == "problem" and "502" in lost.text
    assert absorbed.severity == "warning" and "retried" in absorbed.text
    for f in (lost, absorbed):
        # The reusing side is the proxy: the advice is about its upstream keep-alive.
        assert "proxy [::1]:9444" in f.advice and "upstream block" in f.advice
        assert "client's pool" not in f.advice
    assert "stale-reuse" not in kinds  # not told a second time as a client-side race


def test_a_server_that_never_timed_out_a_partial_request_is_not_said_to_have():
    # uvicorn and gunicorn gthread have no header timeout: the client gave up after 6 s.
    for name in ("uvicorn-partial.pcap", "gunicorn-gthread-partial.pcap"):
        (f,) = [f for f in _a(name).findings if f.kind == "incomplete-request"]
        assert "never timed it out" in f.text and "until the server's request timeout" not in f.text


def test_stalled_reader_blames_only_the_side_that_closed():
    # Node without a send timeout never gave up; nginx's send_timeout fired at 2 s but its FIN
    # queued behind the unsent body (nginx.md): from the wire alike, so neither is claimed.
    for name in ("node-stalled-default.pcap", "nginx-stalled-reader.pcap"):
        (f,) = [f for f in _a(name).findings if f.kind == "stalled-reader"]
        assert "closed the connection itself; no close from the server was seen" in f.text
        assert "gave up" not in f.text and "only its log can tell" in f.advice
    (g,) = [f for f in _a("node-stalled-reader.pcap").findings if f.kind == "stalled-reader"]
    assert "the server gave up" in g.text


def test_error_statuses_are_grouped_and_worded_without_invented_requests_or_races():
    a = _a("haproxy-503.pcap")
    (f,) = [f for f in a.findings if f.kind == "http-error"]
    assert f.severity == "problem" and f.count == 2 and "2 responses 503" in f.text
    assert "race" not in f.advice
    (g,) = [f for f in _a("node-silent.pcap").findings if f.kind == "http-error"]
    assert "1 response 408" in g.text and "request" not in g.text.split("408")[0]


def _haproxy_log(name: str) -> dict[int, tuple[int, str]]:
    """Client port -> (status, request) from an HAProxy access log in samples/real/logs."""
    out = {}
    for line in (REAL / "logs" / name).read_text().splitlines():
        fields = line.split()
        port = int(fields[0].rsplit(":", 1)[1])
        out[port] = (int(fields[5]), line.rsplit('"', 2)[1])
    return out


def test_requests_that_crossed_the_408_of_a_silent_connection_match_haproxys_log():
    # HAProxy ('timeout http-request 2s') answered 408 to pre-connected sockets silent for 2 s;
    # the requests sent around then either got a 200 or met the 408: HAProxy logged '<BADREQ>'
    # (it never read them), each verdict is stale-reuse with the 408 and the 2 s the server waited.
    a = _a("haproxy-preconnect-race.pcap")
    log = _haproxy_log("haproxy-preconnect-race.log")
    assert len(log) == len(a.connections) == 30
    crossed = 0
    for c in a.connections:
        status, request = log[int(c.client.rsplit(":", 1)[1])]
        if status == 200:
            assert c.close.reason == "client-done" and request.startswith("GET /pre")
            continue
        crossed += 1
        assert (status, request) == (408, "<BADREQ>")
        assert (c.close.reason, c.close.status, c.close.exchange) == ("stale-reuse", 408, 1)
        assert 1.99e9 < c.close.wait_ns < 2.01e9  # the server's request timeout, not idle
    assert crossed == 20
    # Stream 21: the request (frame 194) came 21 µs before the 408 (frame 196): tshark pairs them
    # too, but the 408 is not its answer; stream 10: the request 6 µs after the 408.
    s21, s10 = a.connections[21], a.connections[10]
    (ex,) = s21.exchanges
    assert (ex.request.frame, ex.response.frame, ex.response.status) == (194, 196, 408)
    assert "crossed the server's 408" in s21.close.explanation
    assert "too soon to be its answer" in s21.close.explanation
    assert "6 µs after the server's 408" in s10.close.explanation
    assert "answered by a reset" in s10.close.explanation


def test_requests_that_crossed_nodes_408_match_its_client_errors():
    # Node 20 (headersTimeout 2000, checked every 500 ms): 408 at the first check after 2 s
    # (2.35 s here) to each still-silent socket, logged as clientError ERR_HTTP_REQUEST_TIMEOUT;
    # the sockets whose request came before it were served (logged 'request 1')
    a = _a("node-preconnect-race.pcap")
    port_of, timed_out = {}, set()
    for line in (REAL / "logs" / "node-preconnect-race.log").read_text().splitlines():
        words = line.split()
        if words[2:4] == ["open", "from"]:
            port_of[words[1]] = int(words[4].rsplit(":", 1)[1])
        elif words[2:4] == ["clientError", "ERR_HTTP_REQUEST_TIMEOUT:"]:
            timed_out.add(port_of[words[1]])
    assert len(port_of) == len(a.connections) == 40 and len(timed_out) == 11
    for c in a.connections:
        if int(c.client.rsplit(":", 1)[1]) in timed_out:
            assert (c.close.reason, c.close.status, c.close.by) == ("stale-reuse", 408, "server")
            assert 2.3e9 < c.close.wait_ns < 2.5e9 and "answered by a reset" in c.close.explanation
        else:
            assert c.close.reason == "client-done" and c.exchanges[0].response.status == 200
    (race,) = [f for f in a.findings if f.kind == "stale-reuse"]
    assert "server.headersTimeout" in race.advice and "keep-alive" not in race.advice


def test_a_client_leaving_an_event_stream_left_mid_response_as_node_logged():
    # Node: 'event stream closed after 3 events; finished=false' (curl --max-time 3.5) and after
    # 2 (requests closing its streamed response): the client left response 1, it was not done
    a = _a("node-sse.pcap")
    lines = (REAL / "logs" / "node-sse.log").read_text().splitlines()
    logged = [int(line.split(" after ")[1].split()[0]) for line in lines if "event stream closed" in line]
    assert logged == [3, 2]
    for c, events in zip(a.connections, logged, strict=True):
        (ex,) = c.exchanges
        assert (ex.response.status, ex.response.complete) == (200, False)
        assert (c.close.reason, c.close.exchange) == ("client-gave-up", 1)
        assert "in the middle of response 1" in c.close.explanation
        assert f"{ex.response.body_bytes} body bytes" in c.close.explanation
        # the wait runs from the response's head: about a second an event
        assert events - 1 < c.close.wait_ns / 1e9 < events + 1
    (f,) = [f for f in a.findings if f.kind == "client-gave-up"]
    assert "in the middle of a response" in f.text and "keep-alive" in f.advice


def test_a_proxy_that_passes_the_origins_server_header_is_named_by_its_via():
    # Varnish (timeout_idle 2 s) passes nginx's 'Server: nginx/1.22.1' on and adds 'Via: 1.1
    # varnish (Varnish/7.1)'; its log says RX_CLOSE_IDLE for session 1: the 2 s close is
    # Varnish's, and nginx's keepalive_timeout (10 s) must not be named for it
    a = _a("proxy-varnish-idle.pcap")
    log = (REAL / "logs" / "proxy-varnish-idle.varnishlog.log").read_text()
    assert "SessClose      c RX_CLOSE_IDLE" in log
    (t,) = [t for t in a.timeouts if t.server == "127.0.0.1:9465"]
    assert (t.software, t.setting) == ("likely Varnish", "timeout_idle")
    assert t.identified_by == "Via: 1.1 varnish (Varnish/7.1)"
    assert [c.close.reason for c in a.connections] == ["idle-timeout", "open", "client-done"]
    words = " ".join(f.text + f.advice for f in a.findings)
    assert "keepalive_timeout" not in words and "timeout_idle" in words


@pytest.mark.parametrize(
    "via, name, setting",
    [
        ("1.1 varnish (Varnish/7.1)", "likely Varnish", "timeout_idle"),
        ("1.1 proxy.example (squid/5.7)", "likely Squid", "client_idle_pconn_timeout"),
        ("1.0 fred, 1.1 d123.cloudfront.net (CloudFront)", "likely Amazon CloudFront", None),
        ("1.1 hop", "a proxy (1.1 hop)", None),
    ],
)
def test_via_names_the_nearest_proxy_never_the_origins_server(via, name, setting):
    from katui.analysis.software import via_software

    sw = via_software(via)
    assert (sw.name, sw.idle_setting) == (name, setting)
    assert sw.header == "Via: " + via.rsplit(",", 1)[-1].strip()


def test_a_proxy_passing_its_backends_server_header_is_not_named_by_it():
    # HAProxy (timeout http-keep-alive 2s) in front of nginx (10 s) answers with nginx's Server
    # header and no Via: the 2 s close is HAProxy's, nginx's keepalive_timeout must not be named;
    # the new upstream connection is HAProxy's (http-reuse safe), not the forwarded User-Agent's
    a = _a("proxy-haproxy-idle.pcap")
    (t,) = [t for t in a.timeouts if t.server == "127.0.0.1:9467"]
    assert (t.software, t.setting) == ("a proxy", None) and "passed on by the proxy" in t.identified_by
    assert a.connections[0].close.reason == "idle-timeout"
    words = " ".join(f.text + f.advice for f in a.findings)
    assert "keepalive_timeout" not in words.replace("keepalive in the upstream block", "")
    (miss,) = [f for f in a.findings if f.kind == "no-reuse"]
    assert "the proxy 127.0.0.1:9467" in miss.text and "(requests" not in miss.text
    assert "Session" not in miss.advice


def test_a_crossed_408_is_drawn_as_crossed_in_the_ladder():
    from katui.report.ladder_text import ladder_lines

    a = _a("haproxy-preconnect-race.pcap")
    lines = "\n".join(ladder_lines(a, a.connections[21]))
    assert "request 1 crossed the server's 408" in lines
    assert "sends FIN after its 408; request 1 had crossed the 408" in lines
    assert "sent on a connection the server had closed" not in lines


def test_a_crossed_408_gets_request_timeout_advice_not_keep_alive_advice():
    a = _a("haproxy-preconnect-race.pcap")
    (race,) = [f for f in a.findings if f.kind == "stale-reuse"]
    assert race.severity == "problem" and race.count == 20
    assert "crossed the server's 408" in race.text and "first request" in race.text
    assert "request timeout" in race.advice and "keep-alive timeout" not in race.advice
    assert "pool idle timeout" not in race.advice
    (err,) = [f for f in a.findings if f.kind == "http-error"]
    assert "carried no request" in err.advice and "finished a request" not in err.advice
    # the partial heads HAProxy timed out keep the slow-request advice
    (slow,) = [f for f in _a("haproxy-http-request-timeout.pcap").findings if f.kind == "http-error"]
    assert "finished a request" in slow.advice


def test_the_silence_before_a_408_is_the_servers_request_timeout_not_no_traffic():
    from katui.analysis.gaps import idle_gaps

    for name, gap_s in (("haproxy-silent.pcap", 2.001), ("node-silent.pcap", 2.315)):
        a = _a(name)
        (gap,) = idle_gaps(a, a.connections[0])
        assert gap.ends_in == "response" and round(gap.duration_ns / 1e9, 3) == gap_s
        assert "408" in gap.explanation and "request timeout" in gap.explanation
    # a gap that ends in a request that crossed the 408 stays the request's
    a = _a("haproxy-preconnect-race.pcap")
    (gap,) = idle_gaps(a, a.connections[21])
    assert gap.ends_in == "request"


def test_a_408_without_a_request_is_labelled_no_request_only_when_none_was_sent():
    out = text.render(_a("haproxy-preconnect-race.pcap"))
    assert "(no request)  ->  408 Request Time-out" in out
    assert "(request not captured)" not in out
    assert "(no request)  ->  408" in text.render(_a("haproxy-silent.pcap"))


def test_apache_request_limit_is_max_keepalive_requests_plus_one():
    # MaxKeepAliveRequests 3: Keep-Alive max=3,2,1, then 'Connection: close' on response 4.
    a = _a("apache-maxreq.pcap")
    c = a.connections[0]
    assert c.requests == 4 and c.close.reason == "request-limit"
    assert any("max=1" in e for e in c.close.evidence)
    (f,) = [f for f in a.findings if f.kind == "request-limit"]
    assert "Apache httpd MaxKeepAliveRequests 3" in f.text and "nginx" not in f.text


def test_headers_cut_by_the_snap_length_give_unknown_never_a_header_verdict():
    a = _a("nginx-snaplen-limit.pcap")  # tcpdump -s 70: request and status lines cut
    for c in a.connections:
        assert c.close.reason == "unknown" and "snap length" in c.close.explanation
        assert c.close.by in ("client", "server")  # the closer is still given
    assert not {"http10", "connection-close", "request-limit"} & {f.kind for f in a.findings}
    # A long silence before the close is seen whatever the headers said.
    b = _a("nginx-snaplen.pcap")
    assert b.connections[0].close.reason == "idle-timeout"
    assert any("snap length" in e for e in b.connections[0].close.evidence)


def test_preconnect_closed_by_the_server_is_not_an_idle_sample():
    for name in ("nginx-preconnect.pcap", "apache-preconnect-nodefer.pcap", "apache-preconnect-long.pcap"):
        a = _a(name)
        assert not a.timeouts or all(t.samples == 0 for t in a.timeouts)
        assert all(f.severity == "info" for f in a.findings)


def test_a_proxy_closing_the_client_after_an_upstream_race_is_not_a_request_timeout():
    # HAProxy 2.6 with default settings closes the client's connection without any response when
    # the backend resets a reused upstream connection (proxy.md): an upstream failure.
    a = _a("proxy-haproxy-race.pcap")
    fronts = [c for c in a.connections if c.close.reason == "upstream-failure"]
    assert [c.stream for c in fronts] == [0, 2]
    assert "upstream stream 1 (frame 15)" in fronts[0].close.explanation
    assert "request-timeout" not in {f.kind for f in a.findings}
    assert "unanswered" not in {f.kind for f in a.findings}


def test_json_lists_proxy_links_and_races():
    import json
    import subprocess
    import sys

    out = subprocess.run(
        [sys.executable, "-m", "katui", "report", str(REAL / "proxy-nginx-race.pcap"), "--format", "json"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    px = json.loads(out)["proxies"]
    assert px["proxies"] == ["[::1]:9444"]
    retried = [k for k in px["links"] if k["front"] == {"stream": 0, "request": 2, "frame": 15}]
    assert [(k["attempt"], k["answered"]) for k in retried] == [(1, False), (2, True)]
    assert {r["outcome"] for r in px["races"]} == {"absorbed", "reached-client"}
    lost = next(r for r in px["races"] if r["outcome"] == "reached-client")
    assert (lost["front_status"], lost["front_frame"], lost["method"]) == (502, 47, "POST")


def test_a_race_over_tls_is_not_called_lost_or_retried_without_keys():
    import json
    import subprocess
    import sys

    def findings(*extra):
        out = subprocess.run(
            [sys.executable, "-m", "katui", "report", str(REAL / "tls-tls13-curl.pcap"), "--format", "json",
             *extra], capture_output=True, text=True, check=True,
        ).stdout  # fmt: skip
        return {f["kind"]: f for f in json.loads(out)["findings"]}

    sealed = findings()
    assert sealed["stale-reuse"]["severity"] == "warning"
    assert "cannot be told from encrypted records" in sealed["stale-reuse"]["text"]
    assert "key log" in sealed["unknown"]["advice"] and "snap length" not in sealed["unknown"]["advice"]
    # With the key log the retry is seen (nginx logged it: tls.md): curl sent /f again on stream 2.
    keyed = findings("--keylog", str(REAL / "tls-tls13-curl.keys"))
    assert "stale-reuse" not in keyed and "retried on stream 2" in keyed["stale-reuse-retried"]["text"]


def test_the_detail_pane_shows_both_legs_of_a_proxied_request():
    from katui.ui.detail import connection_text

    a = _a("proxy-nginx-race.pcap")
    front = connection_text(a, a.connections[0]).plain
    assert "front leg of the proxy [::1]:9444" in front
    assert "request 2: upstream stream 1 request 2 (frame 19, no answer), then stream 2 request 1" in front
    assert "request 2: front stream 0 request 2 (frame 15)" in connection_text(a, a.connections[1]).plain
    assert "proxy" not in connection_text(_a("haproxy-ka.pcap"), _a("haproxy-ka.pcap").connections[0]).plain


def test_json_of_a_tls_terminating_proxy_with_and_without_the_key_log():
    """proxy-nginx-tls (proxy.md): with the client's key log the JSON has the proxy roles, the
    front -> upstream links and the two race outcomes nginx logged ('502, 200' for the GET, 502
    for the POST); without it, no proxy section entries and inferred front requests."""
    import json
    import subprocess
    import sys

    def report(*extra):
        out = subprocess.run(
            [sys.executable, "-m", "katui", "report", str(REAL / "proxy-nginx-tls.pcap"), "--format", "json",
             *extra], capture_output=True, text=True, check=True,
        ).stdout  # fmt: skip
        return json.loads(out)

    keyed = report("--keylog", str(REAL / "proxy-nginx-tls.keys"))
    conns = keyed["connections"]
    assert conns[0]["proxy"] == {"role": "front", "proxy": "127.0.0.1:9761"}
    assert all(c["proxy"] == {"role": "upstream", "proxy": "127.0.0.1:9761"} for c in conns[1:])
    front = conns[0]["requests"]
    assert [(r["method"], r["uri"], r["status"]) for r in front] == [
        ("GET", "/api/warm", 200),
        ("GET", "/api/race-get", 200),
        ("POST", "/api/post-ok", 200),
        ("POST", "/api/race-post", 502),
        ("GET", "/api/after", 200),
    ]
    assert [len(r["upstream"]) for r in front] == [1, 2, 1, 1, 1]  # nginx's $upstream_status tries
    px = keyed["proxies"]
    assert sorted((r["method"], r["outcome"], r["front_status"]) for r in px["races"]) == [
        ("GET", "absorbed", 200),
        ("POST", "reached-client", 502),
    ]
    kinds = {f["kind"] for f in keyed["findings"]}
    assert {"upstream-race", "upstream-race-absorbed"} <= kinds
    sealed = report()
    assert sealed["proxies"]["links"] == [] and sealed["proxies"]["races"] == []  # no upstream role known
    assert all(c.get("proxy") is None for c in sealed["connections"])
    assert all(r["inferred"] and r["method"] is None for r in sealed["connections"][0]["requests"])


def test_a_reuse_past_the_shortest_idle_close_is_said_to_be_one():
    """clients-race-requests.pcap: a reuse survived 1.0015 s idle while nginx's idle closes came
    at 1.0011 s (clients.md, surprise 1). The timeout said 'above 999.9 ms' (the longest reuse
    below the shortest close) and the reuse finding '1.002 s' without a word: now the finding
    says its longest reuse is past that close, and what that means."""
    a = _a("clients-race-requests.pcap")
    (f,) = [f for f in a.findings if f.kind == "reuse"]
    assert "longest idle before a reuse 1.002 s" in f.text
    assert "longer than the shortest idle after which 127.0.0.1:9305 closed a connection (1.001 s)" in f.text
    assert a.timeout.low_ns < a.timeout.high_ns  # the bound itself stays a bracket
    # The seed capture's reuse after 2.0 s, well below nginx's 5 s: nothing more said.
    seed = analysed(str(SAMPLES / "httptest.pcap"))
    (g,) = [f for f in seed.findings if f.kind == "reuse"]
    assert "longest idle before a reuse 2.002 s" in g.text and "longer than" not in g.text


def _log(name: str) -> list[str]:
    """The lines of samples/real/logs/NAME.log (what the programs of a capture logged)."""
    return (REAL / "logs" / f"{name}.log").read_text().splitlines()


def test_go_server_idle_timeout_and_client_pool_match_their_logs():
    """Go's http.Server (IdleTimeout 1s) and http.Client (Transport.IdleConnTimeout): the
    client's httptrace says which requests reused a connection, the server's ConnState hook
    when it closed an idle one. katui's reuse, idle closes and advice follow them."""
    a = _a("go-idle.pcap")
    log = _log("go-idle")
    reused = [line.split()[1] for line in log if "got conn" in line and "reused=true" in line]
    assert reused == ["/go2"]
    assert [e.request.uri for c in a.connections for e in c.exchanges if e.reused] == reused
    (t,) = a.timeouts
    assert 1.0 <= t.high_ns / 1e9 < 1.01 and t.software is None  # Go sends no Server header
    (f,) = [f for f in a.findings if f.kind == "server-idle-timeout"]
    assert "(Go net/http Transport.IdleConnTimeout) below 0.9 s" in f.advice
    b = _a("go-client-idle.pcap")  # IdleConnTimeout 1s; the server's IdleTimeout is 10 s
    (g,) = [f for f in b.findings if f.kind == "client-idle-timeout"]
    assert "Go net/http" in g.text and "at most 1.003 s" in g.text
    assert not b.timeouts  # the server never closed an idle connection


def test_go_client_racing_the_server_idle_timeout_saw_every_close_first():
    """21 reuses after 0.990-1.010 s idle against a 1 s IdleTimeout: the client log shows no
    error and a new connection (reused=false) exactly when the server had closed the idle one
    first (its FIN came before the request: Go's transport drops a connection whose FIN it
    read); katui says idle-timeout for each, no stale reuse, and the longest reuse that got an
    answer stays below the shortest idle close."""
    a = _a("go-race.pcap")
    log = _log("go-race")
    assert not [line for line in log if "error" in line]
    fresh = [line.split()[1] for line in log if "got conn" in line and "reused=false" in line]
    assert [c.exchanges[0].request.uri for c in a.connections] == fresh
    assert not [f for f in a.findings if f.kind.startswith("stale-reuse")]
    (t,) = a.timeouts
    assert t.low_ns < t.high_ns and t.high_ns / 1e9 >= 1.0


def test_go_client_natural_race_is_retried_as_its_log_says():
    """The natural keep-alive race, twice (0.1 ms steps around the 1 s IdleTimeout): /go10 and
    /go18 each got a reused connection (httptrace: reused=true, idle 1.000 s / 1.001 s) that the
    server closed as the request arrived (its log: 'closed' that port, then the request from a
    new port), answered by an RST; Go's transport sent each again on a new connection by itself
    (a second 'got conn', reused=false) and got 200. katui: stale-reuse on the raced streams,
    the retry found on the next stream (no error claimed), advice naming Go's pool setting and
    not asking for a retry Go already does."""
    a = _a("go-race-fine.pcap")
    log = _log("go-race-fine")
    got = [line.split()[1] for line in log if "got conn" in line]
    twice = sorted({p for p in got if got.count(p) == 2})
    assert twice == ["/go10", "/go18", "/go5"] and not [line for line in log if "error" in line]
    raced = [c for c in a.connections if c.close.reason == "stale-reuse"]
    assert sorted(c.exchanges[-1].request.uri for c in raced) == ["/go10", "/go18"]
    # /go5 also got the pooled connection (stream 3) twice over, but the server's FIN (frame
    # 38) reached Go before it wrote the request: nothing of /go5 went out on stream 3, so on the
    # wire that close is a plain idle timeout, and /go5 is stream 4's first request.
    assert a.connections[3].close.reason == "idle-timeout"
    assert [e.request.uri for e in a.connections[3].exchanges] == ["/go4"]
    assert a.connections[4].exchanges[0].request.uri == "/go5"
    (f,) = [f for f in a.findings if f.kind.startswith("stale-reuse")]
    assert f.kind == "stale-reuse-retried" and f.severity == "warning" and f.count == 2
    for c in raced:  # the retry: the next connection's first request, answered 200
        nxt = a.connections[c.stream + 1].exchanges[0]
        assert nxt.request.uri == c.exchanges[-1].request.uri and nxt.response.status == 200
        assert f"stream {c.stream} retried on stream {c.stream + 1}" in f.text
    assert "(Go net/http Transport.IdleConnTimeout) below 0.9 s" in f.advice
    assert "keep the client's retry" in f.advice and "retry idempotent requests once" not in f.advice


def test_node_agent_races_nginx_and_the_client_sees_socket_hang_up():
    """Node 20's http.globalAgent against nginx keepalive_timeout 1s, idle gaps of 0.9990 ..
    1.0010 s: the natural race, twice in the kept run. The client log shows /node3 and /node22
    failing with ECONNRESET 'socket hang up' on a reused socket (Node's agent does not retry);
    nginx's access log has neither. katui: stale-reuse on exactly those two requests, a PROBLEM
    naming Node's error, no retry claimed, no client setting named (http.request sends no
    User-Agent)."""
    a = _a("node-agent-race.pcap")
    log = _log("node-agent-race")
    failed = [line.split()[1].rstrip(":") for line in log if "ECONNRESET" in line]
    assert failed == ["/node3", "/node22"] and all("reused=true" in x for x in log if "ECONNRESET" in x)
    served = {line.split('"')[1].split()[1] for line in log if "conn_reqs=" in line}
    assert not served & set(failed)
    raced = [c for c in a.connections if c.close.reason == "stale-reuse"]
    assert [c.exchanges[-1].request.uri for c in raced] == failed
    assert all(c.exchanges[-1].resp < 0 and c.exchanges[-1].reused for c in raced)
    (f,) = [f for f in a.findings if f.kind.startswith("stale-reuse")]
    assert f.kind == "stale-reuse" and f.severity == "problem" and f.count == 2
    assert "Node.js http: 'socket hang up' or 'read ECONNRESET'" in f.text
    assert "retry idempotent requests once on a reset" in f.advice
    assert "(nginx keepalive_timeout)" in f.advice and "undici" not in f.advice


def test_node_clients_idle_timeouts_match_their_logs():
    """The agent's own idle timeout (5 s: Node 20's globalAgent) and fetch()'s (undici: 4 s)
    close pooled sockets against an nginx that keeps them 60 s; against Node's server
    advertising 'Keep-Alive: timeout=2' the agent closes after 1 s (the hint less a second).
    katui: client idle timeouts of those lengths, fetch named by its User-Agent 'node', no
    server timeout claimed."""
    for name, seconds, who in (
        ("node-agent-idle", 5.0, None),
        ("node-fetch-idle", 4.0, "Node.js fetch/undici"),
        ("node-agent-hint", 1.0, None),
    ):
        a = _a(f"{name}.pcap")
        log = _log(name)
        timed_out = [x for x in log if "idle timeout (agent)" in x]
        assert (name == "node-fetch-idle") or timed_out  # the agent logs its own timer
        (g,) = [f for f in a.findings if f.kind == "client-idle-timeout"]
        idle = a.connections[0].close.idle_before_ns / 1e9
        assert seconds <= idle < seconds + 0.01, (name, idle)
        assert (f"({who})" in g.text) if who else ("Node" not in g.text)
        # no server closed an idle connection (Node's server only advertised its timeout)
        assert all(t.samples == 0 and t.estimate_ns is None for t in a.timeouts)
    hint = _a("node-agent-hint.pcap")
    assert all(c.close.reason == "idle-timeout" and c.close.by == "client" for c in hint.connections)
    assert "advertises timeout=2" in text.render(hint)


def test_node_fetch_races_nginx_and_only_its_error_is_named():
    """fetch() (undici) against nginx keepalive_timeout 1s, the same 0.1 ms steps: six of the 21
    requests sent after a gap met nginx's close (one run; the agent's run had 2).
    The client log: 'fetch failed', cause UND_ERR_SOCKET 'other side closed', no retry; nginx
    logged none of them. katui: stale-reuse on exactly those six, the client named by its
    User-Agent 'node', so the finding names undici's error alone and its pool setting."""
    a = _a("node-fetch-race.pcap")
    log = _log("node-fetch-race")
    failed = [line.split()[1].rstrip(":") for line in log if "other side closed" in line]
    assert len(failed) == 6 and all("UND_ERR_SOCKET" in x for x in log if "other side closed" in x)
    served = {line.split('"')[1].split()[1] for line in log if "conn_reqs=" in line}
    assert not served & set(failed) and len(served) == 22 - 6  # a first request, then 21 after gaps
    raced = [c for c in a.connections if c.close.reason == "stale-reuse"]
    assert [c.exchanges[-1].request.uri for c in raced] == failed
    (f,) = [f for f in a.findings if f.kind.startswith("stale-reuse")]
    assert f.kind == "stale-reuse" and f.count == 6
    words = "(Node.js fetch/undici: 'fetch failed', cause 'other side closed' (UND_ERR_SOCKET) or ECONNRESET;"
    assert words in f.text and "urllib3" not in f.text and "socket hang up" not in f.text
    assert "(Node.js fetch/undici Agent keepAliveTimeout) below 0.9 s" in f.advice


def test_a_forwarded_user_agent_does_not_name_the_connections_client():
    """A proxy passes its client's User-Agent on: nginx's upstream requests in
    proxy-nginx-forwarded say python-requests, but carry X-Forwarded-For / X-Real-IP, so the
    program on those connections is the proxy, not requests. In proxy-nginx-tls the upstream
    requests carry no such header, but the same host serves an encrypted front with an exchange
    open as the raced request left: the race finding does not name requests' error alone there."""
    from katui.analysis.software import client_software

    a = _a("proxy-nginx-forwarded.pcap")
    roles = a.proxies.roles
    fronts = [c for c in a.connections if roles[c.stream][0] == "front"]
    upstreams = [c for c in a.connections if roles[c.stream][0] == "upstream"]
    assert client_software(fronts).name == "requests (urllib3)"
    assert client_software(upstreams) is None
    (f,) = [f for f in _a("proxy-nginx-tls.pcap").findings if f.kind == "stale-reuse"]
    assert "(requests (urllib3): 'Connection aborted', httpx:" in f.text  # the whole list
    assert "if it is a proxy" in f.text


@pytest.mark.parametrize(
    ("agent", "name", "setting"),
    [
        ("node", "Node.js fetch/undici", "Agent keepAliveTimeout"),  # Node 20's fetch, exactly
        ("undici", "undici", "Agent keepAliveTimeout"),
        ("node-fetch/1.0 (+https://github.com/bitinn/node-fetch)", "node-fetch", "http.Agent"),
        # merely containing 'node': named as they name themselves, no setting guessed
        ("npm/10.2.4 node/v20.11.0 linux x64", "npm", None),
        ("aws-sdk-nodejs/2.1550.0 linux/v20.11.0", "aws-sdk-nodejs", None),
        ("node-superagent/3.8.3", "node-superagent", None),
        ("NodePing/1.0", "NodePing", None),
        ("node/v20.11.0", "node", None),
    ],
)
def test_node_user_agents_are_told_apart(tmp_path, agent, name, setting):
    """Only the User-Agent fetch() sends ('node', exactly) is Node's fetch; agents that merely
    contain 'node' keep their own names, so no undici error or setting is named for them."""
    from hostile_pcap import conversation, pcap, write

    from katui.analysis.software import client_software

    req = f"GET / HTTP/1.1\r\nHost: a\r\nUser-Agent: {agent}\r\n\r\n".encode()
    resp = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
    a = analyze(write(tmp_path, "ua.pcap", pcap(conversation(req, resp))))
    sw = client_software(a.connections)
    assert sw.name == name
    assert (setting in sw.idle_setting) if setting else sw.idle_setting is None


def test_a_race_on_a_proxys_upstream_leg_names_no_client_program():
    """clients-stale-httpx names httpx (its User-Agent) in the race's error text and advice. Were
    the raced connection a proxy's upstream leg (a link katui made elsewhere in the capture),
    that User-Agent would be the proxy's client's: neither httpx's error nor its setting."""
    from katui.analysis.findings.races import _stale

    a = _a("clients-stale-httpx.pcap")
    by_server = {t.server: t for t in a.timeouts}
    (own,) = _stale(a.connections, by_server)
    assert "(httpx: 'Server disconnected" in own.text and "httpx Limits" in own.advice
    raced = next(c.stream for c in a.connections if c.close.reason == "stale-reuse")
    (leg,) = _stale(a.connections, by_server, {raced: "127.0.0.1:8080"})
    assert "(requests (urllib3): 'Connection aborted', httpx:" in leg.text
    assert "httpx Limits" not in leg.advice and "Set the client's pool idle timeout below" in leg.advice


def test_the_exchange_a_close_is_about_is_found_by_its_number():
    """A response without its request (a server speaking first, a request before the capture)
    shares number 1 with the first request: request n is then not the n-th exchange."""
    from types import SimpleNamespace as NS

    from katui.analysis.findings.races import _stale_exchange

    orphan, first, second = NS(n=1, req=-1), NS(n=1, req=0), NS(n=2, req=2)
    conn = NS(close=NS(exchange=2), exchanges=(orphan, first, second))
    assert _stale_exchange(conn) is second
    assert _stale_exchange(NS(close=NS(exchange=2), exchanges=(first, second))) is second
    assert _stale_exchange(NS(close=NS(exchange=None), exchanges=(first,))) is None
