"""Proxy links and the headers a proxy passes on or adds (X-Request-Id, traceparent,
X-Forwarded-For, X-Real-IP, Forwarded), on synthetic captures of the cases the real ones in
samples/real/ do not show: a load balancer on another host, spoofed or appended forwarded-for
lines, ids a proxy replaces, prefix rewrites with deep tails, proxy chains, hostile heads.
(The real nginx captures proxy-nginx-forwarded / -rewrite are checked in test_proxy.py.)"""

from __future__ import annotations

import pytest

from katui.analysis.pipeline import analyze
from katui.analysis.proxy import find_proxy_links
from katui.analysis.proxy_headers import agreeing_headers, request_id
from katui.analysis.proxy_match import MAX_PREFIX_SEGMENTS, path_suffixes, request_index
from katui.http.head import parse_head
from katui.http.trace import MAX_HOPS, MAX_TRACE_LINES, node_key
from katui.model.store import MessageStore
from tests.proxy_synth import conn, req, resp, write

C, C2, P, P2, B, L = "10.0.0.1", "10.0.0.2", "10.0.0.5", "10.0.0.6", "10.0.0.9", "10.0.0.50"


def _links(tmp_path, conns):
    a = analyze(write(tmp_path / "t.pcap", conns))
    report = find_proxy_links(a.connections)
    return (
        a,
        sorted((k.front_stream, k.front_n, k.upstream_stream, k.upstream_n) for k in report.links),
        report,
    )


def _c(client: str, port: int, server: str, *exchanges, close: float = 1.0, **kw):
    """A connection from ``client:port`` to ``server`` (``host:port``) carrying ``exchanges``:
    (request time, request head, response time[, response])."""
    host, sport = server.rsplit(":", 1)
    events = []
    for t, request, t2, *response in exchanges:
        events += [(t, "c", request), (t2, "s", response[0] if response else resp())]
    return conn(client, port, host, int(sport), 0.0, events, close, **kw)


def _id(value: str) -> bytes:
    return b"X-Request-Id: " + value.encode() + b"\r\n"


def _xff(*hops: str) -> bytes:
    return b"".join(b"X-Forwarded-For: " + h.encode() + b"\r\n" for h in hops)


# -- no proxy, no links ----------------------------------------------------------------------


def test_forwarded_for_alone_makes_no_proxy(tmp_path):
    """A host serving :80 directly and :8080 behind a load balancer on another host that adds
    X-Forwarded-For: a client probing both at once is no proxy's, whatever the header says (a
    client can write any address there, and no proxy connects into its own front host)."""
    direct = _c(C, 40001, f"{B}:80", (0.010, req("GET", "/health"), 0.300), close=1.0)
    via_lb = _c(L, 50001, f"{B}:8080", (0.02, req("GET", "/health", _xff(C)), 0.03), close=1.0)
    _, links, report = _links(tmp_path, [direct, via_lb])
    assert links == [] and report.proxies == ()


def test_a_shared_last_segment_across_hosts_is_no_link(tmp_path):
    direct = _c(C, 40001, "10.0.0.8:80", (0.01, req("GET", "/shop/img/logo.png"), 0.3), close=1.0)
    via_lb = _c(L, 50001, f"{B}:8080", (0.02, req("GET", "/static/logo.png", _xff(C)), 0.03), close=1.0)
    a, links, _ = _links(tmp_path, [direct, via_lb])
    assert links == [] and a.proxies.proxies == ()


# -- forwarded-for: agreement is named, disagreement rules nothing out ----------------------


def test_haproxy_appended_forwarded_for_line_after_a_spoofed_one(tmp_path):
    """HAProxy's 'option forwardfor' appends its own X-Forwarded-For line after the client's.
    C1 claims to be C2: the appended last hop is C1, and the links stay the ones timing gives."""
    f1 = _c(C, 40001, f"{P}:80", (0.010, req("GET", "/x", _xff(C2)), 0.021), close=1.0)
    f2 = _c(C2, 40002, f"{P}:80", (0.005, req("GET", "/x"), 0.041), close=1.0)
    f3 = _c(C2, 40003, f"{P}:80", (0.0115, req("GET", "/x"), 0.045), close=1.0)
    u1 = _c(P, 50001, f"{B}:8080", (0.011, req("GET", "/x", _xff(C2, C)), 0.02), close=1.0)
    u2 = _c(P, 50002, f"{B}:8080", (0.012, req("GET", "/x", _xff(C2)), 0.040), close=1.0)
    u3 = _c(P, 50003, f"{B}:8080", (0.013, req("GET", "/x", _xff(C2)), 0.044), close=1.0)
    _, links, report = _links(tmp_path, [f1, f2, f3, u1, u2, u3])
    assert links == [(0, 1, 3, 1), (1, 1, 4, 1), (2, 1, 5, 1)]
    assert all("+x-forwarded-for" in k.how for k in report.links)


def test_a_proxy_replacing_the_clients_id_rules_nothing_out(tmp_path):
    """nginx's 'proxy_set_header X-Request-Id $request_id' sends its own id: the client's other
    id is no evidence against the link (and none for it)."""
    f = _c(C, 40001, f"{P}:80", (0.01, req("GET", "/x", _id("client-1")), 0.02), close=1.0)
    u = _c(P, 50001, f"{B}:8080", (0.011, req("GET", "/x", _id("9f8e")), 0.019), close=1.0)
    _, links, report = _links(tmp_path, [f, u])
    assert links == [(0, 1, 1, 1)]
    assert report.links[0].how == "timing+method+path"


# -- request ids -------------------------------------------------------------------------------


def test_ids_tell_concurrent_identical_requests_apart(tmp_path):
    """Two identical requests whose upstream tries overlap so that timing cannot tell them
    apart: the ids the proxy passed on do."""
    f1 = _c(C, 40001, f"{P}:80", (0.01, req("GET", "/x", _id("a")), 0.05), close=1.0)
    f2 = _c(C2, 40002, f"{P}:80", (0.011, req("GET", "/x", _id("b")), 0.051), close=1.0)
    u1 = _c(P, 50001, f"{B}:8080", (0.012, req("GET", "/x", _id("b")), 0.03), close=1.0)
    u2 = _c(P, 50002, f"{B}:8080", (0.013, req("GET", "/x", _id("a")), 0.031), close=1.0)
    _, links, report = _links(tmp_path, [f1, f2, u1, u2])
    assert links == [(0, 1, 3, 1), (1, 1, 2, 1)]
    assert all("+x-request-id" in k.how for k in report.links)
    # without the ids: ambiguous, so no link at all
    g1 = _c(C, 40001, f"{P}:80", (0.010, req("GET", "/x"), 0.050), close=1.0)
    g2 = _c(C2, 40002, f"{P}:80", (0.011, req("GET", "/x"), 0.051), close=1.0)
    v1 = _c(P, 50001, f"{B}:8080", (0.012, req("GET", "/x"), 0.030), close=1.0)
    v2 = _c(P, 50002, f"{B}:8080", (0.013, req("GET", "/x"), 0.031), close=1.0)
    assert _links(tmp_path, [g1, g2, v1, v2])[1] == []


def test_an_id_ties_the_proxys_other_address(tmp_path):
    """A proxy connecting upstream from another address (10.0.0.7): an id the front request
    owns shows that host to be the proxy's, and its other upstream requests link by timing."""
    f = _c(
        C,
        40001,
        f"{P}:80",
        (0.010, req("GET", "/a", _id("r1")), 0.02),
        (0.100, req("GET", "/b"), 0.11),
        close=1.0,
    )
    u = _c(
        "10.0.0.7",
        50001,
        f"{B}:8080",
        (0.011, req("GET", "/a", _id("r1")), 0.019),
        (0.101, req("GET", "/b"), 0.109),
        close=1.0,
    )
    _, links, _ = _links(tmp_path, [f, u])
    assert links == [(0, 1, 1, 1), (0, 2, 1, 2)]
    # a repeated correlation id (the client reuses it later) owns nothing: no cross-host tie
    late = _c(C, 40009, f"{P}:80", (0.5, req("GET", "/c", _id("r1")), 0.51), close=1.0)
    assert _links(tmp_path, [f, u, late])[1] == []


# -- prefix rewrites ---------------------------------------------------------------------------


def _two_requests_each(tmp_path, front: tuple[str, str], upstream: tuple[str, str]):
    """A front connection with two GETs and an upstream one with two GETs 1 ms after each."""
    f = _c(C, 40001, f"{P}:80", (0.010, req("GET", front[0]), 0.03), (0.100, req("GET", front[1]), 0.13))
    u = _c(
        P, 50001, f"{B}:8080", (0.011, req("GET", upstream[0]), 0.02), (0.101, req("GET", upstream[1]), 0.12)
    )
    return _links(tmp_path, [f, u])


@pytest.mark.parametrize(
    ("front", "upstream", "rewrite"),
    [
        (("/api/users/42", "/api/users/7"), ("/v1/users/42", "/v1/users/7"), ("/api", "/v1")),
        (("/users/42", "/users/7"), ("/v1/users/42", "/v1/users/7"), ("", "/v1")),
    ],
)
def test_a_rewrite_with_a_deep_tail_links_once(tmp_path, front, upstream, rewrite):
    """One link per upstream request (its longest shared tail), the rewrite seen twice."""
    _, links, report = _two_requests_each(tmp_path, front, upstream)
    assert links == [(0, 1, 1, 1), (0, 2, 1, 2)]
    assert {(k.stripped_prefix, k.added_prefix) for k in report.links} == {rewrite}
    assert all(k.how.startswith("timing+method+path-tail") for k in report.links)


def test_one_coincidence_is_no_rewrite(tmp_path):
    """A front request the proxy answered itself, and an upstream request another (TLS) front
    caused, sharing only '/logo.png': one replacement seen once is no configuration."""
    a = _c(C, 40001, f"{P}:80", (0.005, req("GET", "/static/logo.png"), 0.030), close=1.0)
    u = _c(P, 50001, f"{B}:8080", (0.010, req("GET", "/img/logo.png"), 0.020), close=1.0)
    assert _links(tmp_path, [a, u])[1] == []


def test_a_query_alone_is_no_tail(tmp_path):
    front, upstream = ("/search/?page=2", "/search/?page=3"), ("/reports/?page=2", "/reports/?page=3")
    assert _two_requests_each(tmp_path, front, upstream)[1] == []


def test_a_same_path_link_is_not_lost_to_a_tail(tmp_path):
    """/static/app.js (answered by the proxy itself) shares a tail with /assets/app.js: the
    upstream request is the same-path candidate of the other front request, and stays its."""
    a = _c(C, 40001, f"{P}:80", (0.005, req("GET", "/static/app.js"), 0.030), close=1.0)
    b = _c(C2, 40002, f"{P}:80", (0.008, req("GET", "/assets/app.js"), 0.025), close=1.0)
    u = _c(P, 50001, f"{B}:8080", (0.010, req("GET", "/assets/app.js"), 0.020), close=1.0)
    assert _links(tmp_path, [a, b, u])[1] == [(1, 1, 2, 1)]


# -- advice ------------------------------------------------------------------------------------


def test_chain_advice_names_the_proxy_whose_upstream_it_is(tmp_path):
    """C -> P1 -> P2 -> B, and P2 closes the idle P1 -> P2 connection: the timeout advice is
    about P1's upstream keep-alive (P2 is the server there)."""
    f = _c(C, 40001, f"{P}:80", (0.010, req("GET", "/x"), 0.015), close=9.0)
    m = _c(P, 50001, f"{P2}:81", (0.011, req("GET", "/x"), 0.014), close=5.014, server_close=True)
    u = _c(P2, 60001, f"{B}:8080", (0.012, req("GET", "/x"), 0.013), close=9.0)
    a, _, _ = _links(tmp_path, [f, m, u])
    (timeout,) = [x for x in a.findings if x.kind == "server-idle-timeout" and x.server == f"{P2}:81"]
    assert f"proxy {P}:80's upstream connections" in timeout.advice


def test_a_proxys_upstream_idle_close_is_not_its_clients_program(tmp_path):
    """nginx passes the client's User-Agent upstream: its own idle close of the upstream
    connection is the proxy's, not 'requests has no pool idle timeout'."""
    ua = b"User-Agent: python-requests/2.31.0\r\n"
    f = _c(
        C,
        40001,
        f"{P}:80",
        (0.01, req("GET", "/x", ua), 0.015, resp(200, b"Server: nginx/1.22.1\r\n")),
        close=0.5,
    )
    u = _c(P, 50001, f"{B}:8080", (0.011, req("GET", "/x", ua), 0.014), close=3.014)
    a, _, _ = _links(tmp_path, [f, u])
    (g,) = [x for x in a.findings if x.kind == "client-idle-timeout"]
    assert f"proxy {P}:80's upstream leg" in g.text and "requests" not in g.text


# -- parsing and bounds ------------------------------------------------------------------------


def _msg(headers: bytes):
    store = MessageStore()
    head = parse_head(b"GET /x HTTP/1.1\r\nHost: h\r\n" + headers + b"\r\n", True)
    return store.view(store.add(True, 1, 0, head, 40))


@pytest.mark.parametrize(
    ("node", "key"),
    [
        ("10.0.0.5", "10.0.0.5"),
        ("10.0.0.5:5678", "10.0.0.5"),
        ('"[2001:db8::1]:4711"', "2001:db8::1"),
        ("fe80::1%eth0", "fe80::1"),
        ("::ffff:10.0.0.5", "10.0.0.5"),
        ("::1", "loopback"),
        ("unknown", None),
        ("_hidden", None),
        ("\x1b]0;x\x07", None),
    ],
)
def test_forwarded_nodes(node, key):
    assert node_key(node) == key


def test_forwarded_for_agreement_is_exact():
    """The upstream X-Forwarded-For must be the front's (or nothing) plus the front client."""
    front = _msg(_xff("203.0.113.7"))
    assert agreeing_headers(front, "10.0.0.1", _msg(_xff("203.0.113.7, 10.0.0.1"))) == ("x-forwarded-for",)
    assert agreeing_headers(front, "10.0.0.1", _msg(_xff("203.0.113.7", "10.0.0.1"))) == ("x-forwarded-for",)
    assert agreeing_headers(front, "10.0.0.1", _msg(_xff("10.0.0.1"))) == ()  # the client's hop is lost
    assert agreeing_headers(_msg(b""), "10.0.0.1", _msg(_xff("10.0.0.1"))) == ("x-forwarded-for",)
    assert agreeing_headers(_msg(b""), "10.0.0.1", _msg(b"X-Real-IP: 10.0.0.1\r\n")) == ("x-real-ip",)
    fwd = b'Forwarded: for="[2001:db8::1]:4711";proto=http, for=10.0.0.1\r\n'
    assert agreeing_headers(_msg(b""), "10.0.0.1", _msg(fwd)) == ("forwarded",)
    # an unparsable last hop falls back to X-Real-IP
    assert agreeing_headers(_msg(b""), "10.0.0.1", _msg(_xff("unknown") + b"X-Real-IP: 10.0.0.1\r\n")) == (
        "x-real-ip",
    )


def test_ids_compare_by_value_and_traceparent_by_trace_id():
    assert request_id(_msg(b"X-Request-Id: r-1\r\n")) == request_id(_msg(b"X-Request-Id:  r-1 \r\n"))
    assert request_id(_msg(b"X-Request-Id:\r\n")) is None  # an empty id is none
    t1 = _msg(b"traceparent: 00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01\r\n")
    t2 = _msg(b"traceparent: 00-4bf92f3577b34da6a3ce929d0e0e4736-b7ad6b7169203331-01\r\n")
    assert request_id(t1) == request_id(t2) == ("traceparent", hash("4bf92f3577b34da6a3ce929d0e0e4736"))


def test_hostile_tracing_headers_are_bounded():
    """Thousands of tracing lines and huge values: the stored trace stays a fixed handful of
    numbers and host keys (no values are kept), and only the first lines are read."""
    flood = b"".join(b"X-Request-Id: " + b"a" * 5000 + b"\r\n" for _ in range(500))
    hops = (
        b"X-Forwarded-For: " + b", ".join(b"10.0.%d.%d" % (i // 250, i % 250) for i in range(1000)) + b"\r\n"
    )
    head = parse_head(b"GET / HTTP/1.1\r\n" + hops + flood + b"\r\n", True)
    t = head.trace
    assert all(isinstance(v, int | str | None) and (not isinstance(v, str) or len(v) <= 40) for v in t)
    assert t.xff_last == "10.0.3.249"  # the last of its hops, however many
    assert MAX_HOPS < 1000 and MAX_TRACE_LINES < 500
    assert parse_head(b"HTTP/1.1 200 OK\r\nX-Request-Id: r\r\n\r\n", False).trace is None


def test_hostile_paths_keep_the_index_small(tmp_path):
    """A path of 1000 segments: the prefixes tried and the tails indexed stay bounded."""
    uri = "/a" * 1000 + "/x"
    assert len(path_suffixes(uri)) == MAX_PREFIX_SEGMENTS + 1
    f = _c(C, 40001, f"{P}:80", (0.005, req("GET", "/x"), 0.006), close=9.0)
    events = []
    for i in range(50):
        events += [(0.01 + i * 0.003, "c", req("GET", uri + str(i))), (0.011 + i * 0.003, "s", resp())]
    u = conn(P, 50001, B, 8080, 0.0, events, 9.0)
    a = analyze(write(tmp_path / "t.pcap", [f, u]))
    index = request_index([c for c in a.connections if c.http])
    assert len(index) <= 4 * 51
