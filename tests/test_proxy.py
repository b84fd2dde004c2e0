"""Proxy links and upstream races on real captures of both legs, checked against the proxies'
and the backends' own logs (samples/real/logs/, written by samples/real/make_proxy.sh)."""

from __future__ import annotations

import dataclasses
import json
import re
import shutil
import subprocess

import pytest

from katui.analysis.pipeline import analyze
from katui.analysis.proxy import find_proxy_links
from katui.analysis.proxy_match import path_suffixes, same_host
from katui.tls.keylog import KeyLog
from tests.conftest import EXPECTED, SAMPLES, analysed

REAL = SAMPLES / "real"
LOGS = REAL / "logs"
NGINX = [
    "proxy-nginx-natural",
    "proxy-nginx-race",
    "proxy-nginx-concurrent",
    "proxy-nginx-two-backends",
    "proxy-nginx-forwarded",
    "proxy-nginx-rewrite",
    "proxy-nginx-tls",  # TLS front (decrypted with the client's key log), plain HTTP upstream
]
# proxy-nginx-rewrite's locations: /api/ -> http://node/v1/, /old/ -> http://node/new/, / -> as is
REWRITES = {"/api": ("/api", "/v1"), "/old": ("/old", "/new")}

# nginx: '$msec $remote_addr:$remote_port conn=$connection req=$connection_requests "$request"
# $status up=$upstream_addr upstatus=$upstream_status uptime=...'
NGINX_PROXY = re.compile(
    r'^\S+ (?P<client>\S+) conn=\d+ req=(?P<n>\d+) "(?P<method>\S+) (?P<uri>\S+) [^"]*" (?P<status>\d+) '
    r"up=(?P<up>.*) upstatus=(?P<upstatus>.*) uptime="
)
# Node backend: '<s> conn=N peer=PORT req=N "METHOD URI" 200 body=N'
NODE = re.compile(
    r'^\S+ conn=\d+ peer=(?P<port>\d+) req=(?P<n>\d+) "(?P<method>\S+) (?P<uri>\S+)" (?P<what>200|reset)'
)
NODE_RID = re.compile(
    r'^\S+ conn=\d+ peer=(?P<port>\d+) req=(?P<n>\d+) "(?P<method>\S+) (?P<uri>\S+)" 200 body=\d+ '
    r"rid=(?P<rid>\S+)"
)
NGINX_RID = re.compile(r"^\S+ (?P<client>\S+) conn=\d+ req=(?P<n>\d+) .* rid=(?P<rid>\S+)$")
# HAProxy: option httplog's format + ' upstream_src=%bi:%bp'
HAPROXY = re.compile(
    r"^(?P<client>\S+) \[.*\] fe be/\S+ \S+ (?P<status>\d+) .* \d+/\d+/\d+/\d+/(?P<retries>\d+) "
    r'\S+ "(?P<method>\S+) (?P<uri>\S+) .*" '
    r"upstream_src=(?P<src>\S+)$"
)
# nginx backend: '$msec $remote_addr:$remote_port conn=$connection req=$connection_requests
# "$request" $status'
NGINX_BACKEND = re.compile(
    r'^\S+ (?P<client>\S+) conn=\d+ req=(?P<n>\d+) "(?P<method>\S+) (?P<uri>\S+) [^"]*" 200$'
)


def _report(name: str, keys: bool = True):
    """The analysis of a proxy capture and its links; with the client's key log when the
    capture has one (``NAME.keys``) and ``keys``."""
    keylog = REAL / f"{name}.keys"
    if keys and keylog.exists():
        a = analyze(str(REAL / f"{name}.pcap"), keylog=KeyLog.read(str(keylog)))
    else:
        a = analysed(str(REAL / f"{name}.pcap"))
    return a, find_proxy_links(a.connections)


def _lines(name: str, pattern: re.Pattern) -> list[re.Match]:
    text = (LOGS / name).read_text().splitlines()
    return [m for m in map(pattern.match, text) if m]


def _port(endpoint: str) -> int:
    return int(endpoint.rsplit(":", 1)[1])


def _front_requests(a, report):
    """(connection, exchange) of every request on a front connection, in time order."""
    out = [
        (c, e)
        for c in a.connections
        if report.roles.get(c.stream, ("",))[0] == "front"
        for e in c.exchanges
        if e.request is not None
    ]
    return sorted(out, key=lambda ce: ce[1].request.start_ns)


def _conn(a, stream):
    return a.connections[stream]


@pytest.mark.parametrize("name", NGINX)
def test_nginx_links_match_the_access_log(name):
    """Every front request nginx logged is linked to as many upstream requests as nginx tried
    ($upstream_status lists one status per try, 502 for a try that got no response)."""
    a, report = _report(name)
    # nginx logs a request when it completes: key the lines by client port and position
    log = {(_port(m["client"]), int(m["n"])): m for m in _lines(f"{name}.nginx-access.log", NGINX_PROXY)}
    fronts = _front_requests(a, report)
    assert len(fronts) == len(log) > 0
    for c, e in fronts:
        m = log[_port(c.client), e.n]
        assert (e.request.method, e.request.uri, e.response.status) == (
            m["method"],
            m["uri"],
            int(m["status"]),
        )
        tries = m["upstatus"].split(", ")
        links = report.upstream_of(c.stream, e.n)
        assert [k.attempt for k in links] == list(range(1, len(tries) + 1))
        assert [k.answered for k in links] == [t != "502" for t in tries]
        prefix = "/" + m["uri"].split("/")[1]  # /api/ or /py/, cut by proxy_pass http://backend/
        rewrite = REWRITES.get(prefix, ("", "")) if name == "proxy-nginx-rewrite" else (prefix, "")
        assert all((k.stripped_prefix, k.added_prefix) == rewrite for k in links)
        base = "timing+method+path-tail" if rewrite[1] else "timing+method+path"
        assert all(k.how.split(",")[0].split("+")[:3] == base.split("+") for k in links)
        assert {k.upstream_server for k in links} == set(m["up"].split(", "))
        for k in links:
            assert report.downstream_of(k.upstream_stream, k.upstream_n) == k
    assert report.proxies == (fronts[0][0].server,)


@pytest.mark.parametrize("name", [*NGINX, "proxy-haproxy-race", "proxy-haproxy-retry"])
def test_upstream_requests_match_the_node_log(name):
    """Node logged each request it answered, and each it reset unanswered (the emulated race),
    with the proxy's source port and the request's position on that connection: exactly the
    answered and the unanswered upstream requests katui linked. (A request that met Node's own
    idle close is in no Node log line: Node had closed the socket.)"""
    a, report = _report(name)
    node = {
        (m["what"] == "200", int(m["port"]), int(m["n"]), m["method"], m["uri"])
        for m in _lines(f"{name}.node.log", NODE)
    }
    node_server = re.search(r"listening on (\S+)", (LOGS / f"{name}.node.log").read_text())[1]
    linked = set()
    for k in (k for k in report.links if k.upstream_server == node_server):
        c = _conn(a, k.upstream_stream)
        r = c.exchanges[k.upstream_n - 1].request
        linked.add((k.answered, _port(c.client), k.upstream_n, r.method, r.uri))
    closed_by_node = {r for r in linked if not r[0] and r not in node}
    assert linked - closed_by_node == node
    races = {
        "proxy-nginx-natural": 1,
        "proxy-nginx-race": 2,
        "proxy-nginx-two-backends": 1,
        "proxy-nginx-forwarded": 2,
        "proxy-nginx-rewrite": 1,
        "proxy-nginx-tls": 2,
    }
    assert len(closed_by_node) == races.get(name, 0)


@pytest.mark.parametrize("name", NGINX)
def test_nginx_races_match_the_access_log(name):
    """A try that got no response is a 502 in $upstream_status: each one is an upstream race,
    absorbed when nginx's answer to the client was not a 502, else reached the client."""
    a, report = _report(name)
    log = _lines(f"{name}.nginx-access.log", NGINX_PROXY)
    expected = sorted(
        (int(m["n"]), "reached-client" if m["status"] == "502" else "absorbed")
        for m in log
        for t in m["upstatus"].split(", ")
        if t == "502"
    )
    assert sorted((r.front_n, r.outcome) for r in report.races) == expected
    errors = (LOGS / f"{name}.nginx-error.log").read_text()
    assert errors.count("upstream prematurely closed connection") == len(expected)


def test_natural_race_reached_the_client():
    """Of 15 tries with idle gaps of 2.950..3.050 s against Node's 3.0 s close, one POST was
    sent 0.5 ms after Node's FIN: reset, not retried (non-idempotent), 502 to the client."""
    a, report = _report("proxy-nginx-natural")
    (race,) = report.races
    front = _conn(a, race.front_stream).exchanges[race.front_n - 1]
    assert (front.request.method, front.request.uri) == ("POST", "/api/try8")
    assert (race.outcome, race.front_status, race.front_frame) == (
        "reached-client",
        502,
        front.response.frame,
    )
    assert race.close_how == "fin" and race.close_frame < race.request_frame
    assert 2_950_000_000 < race.idle_before_ns < 3_100_000_000
    assert len(report.links) == 16
    # nginx reused upstream connections after up to ~3.0 s idle and raced Node's 3.0 s close
    (backend,) = report.backends
    assert (backend.server, backend.requests, backend.races) == ("127.0.0.1:9441", 16, 1)
    assert 2_950_000_000 < backend.longest_reused_idle_ns < backend.shortest_raced_idle_ns
    assert backend.shortest_raced_idle_ns == race.idle_before_ns


@pytest.mark.parametrize("name", ["proxy-nginx-race", "proxy-nginx-tls"])
def test_race_outcomes_match_the_nginx_logs(name):
    """The GET nginx retried (upstatus '502, 200', client 200) is absorbed; the POST it did
    not retry (non-idempotent: upstatus 502, client 502) reached the client."""
    a, report = _report(name)
    log = {m["uri"]: m for m in _lines(f"{name}.nginx-access.log", NGINX_PROXY)}
    assert log["/api/race-get"]["upstatus"] == "502, 200" and log["/api/race-get"]["status"] == "200"
    assert log["/api/race-post"]["upstatus"] == "502" and log["/api/race-post"]["status"] == "502"
    by_method = {r.method: r for r in report.races}
    assert set(by_method) == {"GET", "POST"} and len(report.races) == 2
    get, post = by_method["GET"], by_method["POST"]
    front = _conn(a, get.front_stream)
    assert front.exchanges[get.front_n - 1].request.uri == "/api/race-get"
    assert (get.outcome, get.front_status, get.close_how) == ("absorbed", 200, "fin")
    assert get.retry_stream != get.stream and get.retry_n == 1  # a new upstream connection
    assert 0 < get.extra_latency_ns < 50_000_000
    assert get.front_frame == front.exchanges[get.front_n - 1].response.frame
    assert front.exchanges[post.front_n - 1].request.uri == "/api/race-post"
    assert (post.outcome, post.front_status, post.retry_stream) == ("reached-client", 502, None)
    assert post.front_frame == front.exchanges[post.front_n - 1].response.frame
    for race in report.races:
        up = _conn(a, race.stream)
        assert up.close.reason == "stale-reuse" and race.close_frame < race.request_frame
        assert race.idle_before_ns > 2_000_000_000  # past Node's 2.0 s close
    groups = {(g.outcome, g.method): g for g in report.race_groups()}
    assert set(groups) == {("absorbed", "GET"), ("reached-client", "POST")}
    assert groups["absorbed", "GET"].streams == tuple(
        sorted({get.stream, get.front_stream, get.retry_stream})
    )


def test_race_capture_has_an_ipv6_front_and_an_ipv4_upstream():
    _, report = _report("proxy-nginx-race")
    assert report.proxies == ("[::1]:9444",)
    assert {k.upstream_server for k in report.links} == {"127.0.0.1:9443"}


def test_concurrent_identical_requests_are_told_apart_by_elimination():
    """Three identical GETs 50 ms apart, answered by Node after 400, 100 and 200 ms: nginx
    passed its $request_id upstream (X-Request-Id) and both logged it, which pairs each front
    connection with its upstream one; katui finds the same pairs without the header."""
    a, report = _report("proxy-nginx-concurrent")
    rid = re.compile(r" rid=(\w+)$")
    front = {
        _port(m["client"]): rid.search(m.string)[1]
        for m in _lines("proxy-nginx-concurrent.nginx-access.log", NGINX_PROXY)
    }
    node = {
        rid.search(m.string)[1]: (int(m["port"]), int(m["n"]))
        for m in _lines("proxy-nginx-concurrent.node.log", NODE)
    }
    assert len(front) == len(node) == 3
    for c, e in _front_requests(a, report):
        (link,) = report.upstream_of(c.stream, e.n)
        up = _conn(a, link.upstream_stream)
        assert (_port(up.client), link.upstream_n) == node[front[_port(c.client)]]
        assert link.how == "timing+method+path, by elimination"


def test_two_backends_behind_one_proxy():
    """/api/ goes to Node, /py/ to uvicorn: uvicorn's access log (source port, request) lists
    exactly the answered upstream requests katui linked to it; the races are told apart per
    backend (a POST at uvicorn reached the client as a 502, a GET at Node was retried)."""
    a, report = _report("proxy-nginx-two-backends")
    uvicorn = re.compile(r'^INFO: +\S+:(?P<port>\d+) - "(?P<method>\S+) (?P<uri>\S+) HTTP/1.1" 200')
    logged = {
        (int(m["port"]), m["method"], m["uri"])
        for m in _lines("proxy-nginx-two-backends.uvicorn.log", uvicorn)
    }
    linked = set()
    for k in report.links:
        if k.upstream_server == "127.0.0.1:9454" and k.answered:
            r = _conn(a, k.upstream_stream).exchanges[k.upstream_n - 1].request
            linked.add((_port(_conn(a, k.upstream_stream).client), r.method, r.uri))
    assert linked == logged and len(logged) == 3
    groups = [(g.upstream_server, g.outcome, g.method, g.count) for g in report.race_groups()]
    assert groups == [
        ("127.0.0.1:9453", "absorbed", "GET", 1),
        ("127.0.0.1:9454", "reached-client", "POST", 1),
    ]
    assert report.proxies == ("127.0.0.1:9455",)


def _check_haproxy_log(name: str):
    """Every request HAProxy logged is linked to 1 + %rc (its retries) upstream requests, the
    last on the upstream connection whose source port HAProxy logged (%bp); every front request
    HAProxy did not log got no response. Returns the report and the logged front requests."""
    a, report = _report(name)
    logged = {(_port(m["client"]), m["uri"]): m for m in _lines(f"{name}.haproxy.log", HAPROXY)}
    seen = []
    for c, e in _front_requests(a, report):
        m = logged.get((_port(c.client), e.request.uri))
        links = report.upstream_of(c.stream, e.n)
        if m is None:
            assert e.response is None and links and not links[-1].answered
            continue
        seen.append(((c, e), m))
        assert e.response.status == int(m["status"]) == 200
        assert [k.answered for k in links] == [False] * int(m["retries"]) + [True]
        assert _port(_conn(a, links[-1].upstream_stream).client) == _port(m["src"])
        assert all(k.stripped_prefix == "" for k in links)
    assert len(seen) == len(logged)
    return a, report, seen


def test_haproxy_links_match_its_log_and_the_backend_log():
    """nginx, the backend, logged the source port and each request's position on its
    connection. One upstream connection carries requests of both front connections
    (http-reuse safe)."""
    a, report, seen = _check_haproxy_log("proxy-haproxy-reuse")
    backend = _lines("proxy-haproxy-reuse.nginx-access.log", NGINX_BACKEND)
    assert len(seen) == len(backend) == 10
    for ((c, e), _), b in zip(seen, backend, strict=True):
        (link,) = report.upstream_of(c.stream, e.n)
        assert _port(_conn(a, link.upstream_stream).client) == _port(b["client"])
        assert (link.upstream_n, b["uri"]) == (int(b["n"]), e.request.uri)
    shared = {}
    for k in report.links:
        shared.setdefault(k.upstream_stream, set()).add(k.front_stream)
    assert any(len(fronts) == 2 for fronts in shared.values())
    assert report.races == ()


def test_haproxy_default_closes_the_client_connection_on_a_race():
    """HAProxy 2.6 with the default retry-on (conn-failure) does not retry a request the backend
    reset on a reused connection: it closes the client connection without a response (and logs
    no line for it), GET and POST alike."""
    a, report, seen = _check_haproxy_log("proxy-haproxy-race")
    assert len(seen) == 3
    assert sorted(r.method for r in report.races) == ["GET", "POST"]
    for r in report.races:
        front = _conn(a, r.front_stream)
        assert (r.outcome, r.front_status, r.retry_stream) == ("reached-client", None, None)
        assert r.front_frame == front.close.frame and front.close.by == "server"
        assert r.close_how == "rst" and r.close_frame > r.request_frame
    client = (LOGS / "proxy-haproxy-race.client.log").read_text()
    assert client.count("Remote end closed connection without response") == 2


def test_haproxy_retry_on_empty_response_absorbs_get_and_post():
    """With 'retry-on conn-failure empty-response' HAProxy retries the reset request on a new
    upstream connection, the POST too (%rc = 1 on both lines): both races absorbed."""
    a, report, seen = _check_haproxy_log("proxy-haproxy-retry")
    assert len(seen) == 5
    assert sorted(r.method for r in report.races) == ["GET", "POST"]
    for r in report.races:
        assert (r.outcome, r.front_status) == ("absorbed", 200)
        assert r.retry_stream != r.stream and r.retry_n == 1 and 0 < r.extra_latency_ns < 50_000_000
        front = _conn(a, r.front_stream).exchanges[r.front_n - 1]
        assert r.front_frame == front.response.frame
        assert front.request.uri == f"/api/race-{r.method.lower()}"


def test_no_proxy_no_links():
    """The single-server samples hold no proxy."""
    for path in sorted(SAMPLES.glob("*.pcap")):
        report = find_proxy_links(analysed(str(path)).connections)
        assert (report.proxies, report.links, report.races, report.roles) == ((), (), (), {}), path.name


def test_ambiguous_candidates_are_not_linked():
    """The same two legs twice over (renumbered streams): every front request then has two
    equally good upstream requests, so nothing is linked."""
    a, _ = _report("proxy-haproxy-reuse")
    twins = [dataclasses.replace(c, stream=c.stream + 1000) for c in a.connections]
    report = find_proxy_links([*a.connections, *twins])
    assert report.links == () and report.proxies == ()


def test_path_suffixes_and_hosts():
    assert path_suffixes("/api/v1/x?q=1") == [
        ("/api/v1/x?q=1", ""),
        ("/v1/x?q=1", "/api"),
        ("/x?q=1", "/api/v1"),
    ]
    assert path_suffixes("http://h:8080/a/b")[:2] == [("/a/b", ""), ("/b", "/a")]
    assert same_host("::1", "127.0.0.1") and same_host("::ffff:10.0.0.1", "10.0.0.1")
    assert not same_host("10.0.0.1", "10.0.0.2")


@pytest.mark.parametrize("name", sorted(p.stem for p in REAL.glob("proxy-*.pcap")))
def test_frames_agree_with_tshark(name):
    """The frames the links point at are Wireshark's (tests/expected/, made by
    tests/oracle/make_expected.py; test_oracle.py only reads samples/*.pcap so far)."""
    exp = json.loads((EXPECTED / f"{name}.pcap.json").read_text())
    a, _ = _report(name, keys=False)  # the oracle has no keys: a TLS front is records only
    assert {i + 1: s for i, s in enumerate(a.table.stream) if s >= 0} == {
        int(f): s for f, s in exp["stream_of_frame"].items()
    }
    ex = [e for c in a.connections for e in c.exchanges if not e.inferred]
    assert sorted(e.request.frame for e in ex if e.request) == exp["http_request_frames"]
    assert sorted(e.response.frame for e in ex if e.response) == exp["http_response_frames"]
    for sid, st in exp["streams"].items():
        assert list(a.connections[int(sid)].close.rst_frames) == st["rst_frames"]


# -- tracing headers: X-Forwarded-For, X-Real-IP, Forwarded, X-Request-Id, traceparent --------

NODE_TRACE = re.compile(
    r'^\S+ conn=\d+ peer=(?P<port>\d+) req=(?P<n>\d+) "[^"]*" 200 body=\d+ '
    r"xff=(?P<xff>\S+)(?: rid=(?P<rid>\S+))?"
)


def test_forwarded_links_rest_on_the_headers_nginx_added():
    """proxy-nginx-forwarded: the proxy's front address (10.77.0.1) is not its upstream address
    (10.77.0.2, proxy_bind), so only the headers tie the legs. Every upstream request Node logged
    names the client nginx forwarded it for (X-Forwarded-For) and, when the client sent one, its
    X-Request-Id: the front request katui linked it to is that client's, with that id."""
    a, report = _report("proxy-nginx-forwarded")
    node = {(int(m["port"]), int(m["n"])): m for m in _lines("proxy-nginx-forwarded.node.log", NODE_TRACE)}
    answered = [k for k in report.links if k.answered]
    assert len(answered) == len(node) == 6
    for k in answered:
        up = _conn(a, k.upstream_stream)
        m = node[_port(up.client), k.upstream_n]
        front = _conn(a, k.front_stream)
        assert front.client.rsplit(":", 1)[0] == m["xff"]
        assert "x-forwarded-for" in k.how.split("+")
        front_req = front.exchanges[k.front_n - 1].request
        rid = m["rid"]  # the id Node received, which the client sent
        assert (front_req.trace.id_hash if front_req.trace else None) == (hash(rid) if rid else None)
        assert ("x-request-id" in k.how.split("+")) == (rid is not None)
    assert report.proxies == ("10.77.0.1:9456",)


def test_without_the_headers_no_link_crosses_hosts():
    """The same capture with the tracing headers dropped: the proxy's two addresses differ, so
    timing, method and path alone link nothing (no guessing across hosts). With them, the
    clients' X-Request-Id (a-1, b-1, a-2) shows 10.77.0.2 to be the proxy's other address."""
    a = analyze(str(REAL / "proxy-nginx-forwarded.pcap"))  # not the shared cached analysis
    for c in a.connections:
        for e in c.exchanges:
            e.store.traces.clear()
    assert find_proxy_links(a.connections).links == ()


def test_forwarded_findings_name_the_proxy_setting():
    """nginx replaced the backend's (absent) Server header with its own: the advice names
    nginx's upstream keepalive_timeout, and the backend's timeout finding points at the proxy."""
    a = analysed(str(REAL / "proxy-nginx-forwarded.pcap"))
    by_kind = {f.kind: f for f in a.findings}
    assert "keepalive_timeout inside the upstream block" in by_kind["upstream-race"].advice
    assert "pool-purge-delay" not in by_kind["upstream-race"].advice
    timeout = by_kind["server-idle-timeout"]
    assert timeout.server == "10.77.0.3:9457"
    assert "proxy 10.77.0.1:9456's upstream connections" in timeout.advice


def test_haproxy_passing_the_backend_server_header_is_not_named_nginx():
    """HAProxy passes the backend's 'Server: nginx' on to the client: that names the backend,
    not the proxy, so the advice lists both proxies' settings instead of guessing nginx."""
    a = analysed(str(REAL / "proxy-haproxy-reuse.pcap"))
    advice = next(f.advice for f in a.findings if f.kind == "server-idle-timeout")
    assert "HAProxy has none per connection" in advice and "nginx: keepalive_timeout" in advice


@pytest.mark.parametrize("name", NGINX)
def test_race_summary_line_counts_what_nginx_logged(name):
    """The report's 'upstream races' line per backend: as many reached the client as nginx
    logged a 502 whose only try failed, as many retried as nginx logged a failed try followed
    by another, with the methods of those requests."""
    from katui.report.common import summary_pairs

    a, _ = _report(name)  # with the key log of a TLS front
    lines = [v for k, v in summary_pairs(a) if k == "upstream races"]
    log = _lines(f"{name}.nginx-access.log", NGINX_PROXY)
    for backend in sorted({u for m in log for u in m["up"].split(", ")}):
        tries = [
            (m["method"], m["status"], t)
            for m in log
            for u, t in zip(m["up"].split(", "), m["upstatus"].split(", "), strict=True)
            if u == backend and t == "502"
        ]
        line = next((v for v in lines if v.startswith(f"{len(tries)} at {backend}:")), None)
        if not tries:
            assert not any(f" at {backend}:" in v for v in lines)
            continue
        assert line is not None, lines
        reached = sorted({m for m, status, _ in tries if status == "502"})
        retried = sorted({m for m, status, _ in tries if status != "502"})
        if reached:
            n = sum(1 for _, status, _ in tries if status == "502")
            assert f"{n} reached the client as 502 ({', '.join(reached)}, not retried)" in line
        if retried:
            n = sum(1 for _, status, _ in tries if status != "502")
            assert f"{n} retried on a new upstream connection ({', '.join(retried)})" in line


def test_rewritten_paths_match_the_node_log():
    """proxy-nginx-rewrite: the upstream path katui linked each front request to is the one Node
    logged for that upstream request, and equals the front path with the removed prefix
    replaced by the added one."""
    a, report = _report("proxy-nginx-rewrite")
    node = {(int(m["port"]), int(m["n"])): m["uri"] for m in _lines("proxy-nginx-rewrite.node.log", NODE)}
    answered = [k for k in report.links if k.answered]
    assert len(answered) == len(node) == 6
    for k in answered:
        up = _conn(a, k.upstream_stream).exchanges[k.upstream_n - 1].request
        front = _conn(a, k.front_stream).exchanges[k.front_n - 1].request
        assert up.uri == node[_port(_conn(a, k.upstream_stream).client), k.upstream_n]
        assert front.uri.startswith(k.stripped_prefix)
        assert up.uri == k.added_prefix + front.uri[len(k.stripped_prefix) :]
    assert {(k.stripped_prefix, k.added_prefix) for k in answered} == {*REWRITES.values(), ("", "")}


def _tshark_http_frames(name: str, field: str) -> list[int]:
    """Frames of every HTTP request or response tshark finds with the key log (both legs)."""
    out = subprocess.run(
        ["tshark", "-2", "-n", "-r", str(REAL / f"{name}.pcap"), "-o", f"tls.keylog_file:{REAL / name}.keys"]
        + ["-d", "tcp.port==9761,tls", "-d", "tcp.port==9760,http", "-Y", field, "-T", "fields"]
        + ["-e", "frame.number"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return [int(f) for f in out.split()]


@pytest.mark.skipif(shutil.which("tshark") is None, reason="tshark not installed")
def test_tls_front_decrypted_frames_are_tsharks():
    """With the key log, the decrypted front requests and responses and the plain upstream ones
    are at tshark's frames (tshark -2 -o tls.keylog_file:proxy-nginx-tls.keys)."""
    a, _ = _report("proxy-nginx-tls")
    ex = [e for c in a.connections for e in c.exchanges]
    assert sorted(e.request.frame for e in ex if e.request) == _tshark_http_frames(
        "proxy-nginx-tls", "http.request"
    )
    assert sorted(e.response.frame for e in ex if e.response) == _tshark_http_frames(
        "proxy-nginx-tls", "http.response"
    )
    front = a.connections[0]
    assert front.tls.decrypted and front.tls.version == "TLS 1.3" and front.tls.sni == "localhost"
    assert all(c.tls is None for c in a.connections[1:])


def test_tls_front_findings_with_keys_tie_the_502_to_the_race():
    """nginx logged the POST's 502 and the GET's '502, 200': with the key log the findings are
    the proxy's (upstream-race for the POST that reached the client as a 502, absorbed for the
    GET), the 502 finding names the race, and no finding blames a client pool."""
    a, report = _report("proxy-nginx-tls")
    kinds = {f.kind: f for f in a.findings}
    assert "stale-reuse" not in kinds and "stale-reuse-retried" not in kinds
    post, get = kinds["upstream-race"], kinds["upstream-race-absorbed"]
    (raced_post,) = [r for r in report.races if r.method == "POST"]
    (raced_get,) = [r for r in report.races if r.method == "GET"]
    assert post.severity == "problem" and post.streams == (0, raced_post.stream)
    assert f"client got 502 on stream 0 frame {raced_post.front_frame}" in post.text
    assert "nginx only with proxy_next_upstream non_idempotent" in post.text
    assert "proxy 127.0.0.1:9761" in post.advice and "upstream block" in post.advice
    assert get.severity == "warning"
    assert get.streams == tuple(sorted({0, raced_get.stream, raced_get.retry_stream}))
    (gateway,) = [f for f in a.findings if "502 Bad Gateway" in f.text]
    assert "1 of them from an upstream keep-alive race" in gateway.text
    assert report.roles == {
        0: ("front", "127.0.0.1:9761"),
        **{s: ("upstream", "127.0.0.1:9761") for s in (1, 2, 3)},
    }


def test_tls_front_without_keys_links_nothing_and_says_what_cannot_be_known():
    """Without the key log the front requests are inferred from records: no method, no path,
    so no link (timing alone cannot tell a proxied request from the host's own traffic). The
    upstream races are plain races of the client 127.0.0.1; their findings say that host also
    serves TLS with an exchange open at that moment, and what that leaves unknown."""
    a, report = _report("proxy-nginx-tls", keys=False)
    assert report.links == () and report.roles == {} and report.proxies == ()
    front = a.connections[0]
    assert front.tls is not None and not front.tls.decrypted
    assert front.requests == 5 and all(e.inferred for e in front.exchanges)
    kinds = {f.kind: f for f in a.findings}
    assert "upstream-race" not in kinds and "upstream-race-absorbed" not in kinds
    lost, retried = kinds["stale-reuse"], kinds["stale-reuse-retried"]
    assert lost.streams == (0, 2) and retried.streams == (0, 1)
    for f in (lost, retried):
        assert "also serves TLS at 127.0.0.1:9761 (stream 0, not decrypted)" in f.text
        assert "cannot be known without the key log" in f.text
    assert "whether its own client got a 502" in lost.text


def test_encrypted_connections_elsewhere_or_idle_at_the_race_are_not_named():
    """The note needs the same host and an encrypted exchange open when the raced request left:
    a TLS server on another host, or one whose only exchange ended before, is not named."""
    from katui.analysis.findings import findings

    a, _ = _report("proxy-nginx-tls", keys=False)
    front, *upstream = a.connections
    named = findings(a.connections, [])
    assert [f.kind for f in named if "also serves TLS" in f.text] == ["stale-reuse", "stale-reuse-retried"]
    elsewhere = dataclasses.replace(front, server="10.0.0.9:443")
    done_before = dataclasses.replace(front, exchanges=front.exchanges[:1])
    for f in (elsewhere, done_before):
        out = findings([f, *upstream], [])
        stale = [x for x in out if x.kind.startswith("stale-reuse")]
        assert len(stale) == 2 and not any("also serves TLS" in x.text or 0 in x.streams for x in stale)


def test_a_chain_of_two_proxies_is_linked_leg_by_leg():
    """proxy-chain: client -> nginx (9462) -> HAProxy (9463) -> Node (9464). Each proxy's links
    match its own log (nginx's upstream tries; HAProxy's upstream source port per request), the
    id nginx set ($request_id) reaches Node along the linked legs, and the races on the middle
    leg (HAProxy closing nginx's idle upstream connections) are nginx's upstream races: the GET
    retried, the POST a 502, as nginx logged."""
    a, report = _report("proxy-chain")
    assert report.proxies == ("127.0.0.1:9462", "127.0.0.1:9463")
    nginx = {
        (_port(m["client"]), int(m["n"])): m for m in _lines("proxy-chain.nginx-access.log", NGINX_PROXY)
    }
    rid = {(_port(m["client"]), int(m["n"])): m for m in _lines("proxy-chain.nginx-access.log", NGINX_RID)}
    haproxy = _lines("proxy-chain.haproxy.log", HAPROXY)
    node = {(int(m["port"]), int(m["n"])): m for m in _lines("proxy-chain.node.log", NODE_RID)}
    fronts = [(c, e) for c, e in _front_requests(a, report) if c.server == "127.0.0.1:9462"]
    assert len(fronts) == len(nginx) == 5
    for c, e in fronts:
        m = nginx[_port(c.client), e.n]
        links = report.upstream_of(c.stream, e.n)
        assert [k.answered for k in links] == [t != "502" for t in m["upstatus"].split(", ")]
        answered = [k for k in links if k.answered]
        if not answered:
            continue
        # the middle request, then what HAProxy sent on for it, then Node's log line
        (middle,) = answered
        (down,) = report.upstream_of(middle.upstream_stream, middle.upstream_n)
        backend = a.connections[down.upstream_stream]
        logged = node[_port(backend.client), down.upstream_n]
        assert logged["rid"] == rid[_port(c.client), e.n]["rid"]
        hap = next(h for h in haproxy if (h["method"], h["uri"]) == (logged["method"], logged["uri"]))
        assert _port(hap["src"]) == _port(backend.client)
    races = sorted((r.method, r.outcome) for r in report.races)
    assert races == [("GET", "absorbed"), ("POST", "reached-client")]
    assert all(r.proxy == "127.0.0.1:9462" and r.upstream_server == "127.0.0.1:9463" for r in report.races)
    kinds = {f.kind for f in a.findings}
    assert {"upstream-race", "upstream-race-absorbed"} <= kinds and "stale-reuse" not in kinds
