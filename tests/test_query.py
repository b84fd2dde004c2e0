"""The filter language (katui.analysis.query): parsing, errors and matching on real captures."""

from __future__ import annotations

import pytest
from conftest import SAMPLES, analysed, capture_path

from katui.analysis.payload import payload_kind
from katui.analysis.query import QueryError, Term, matches, parse


def _streams(name: str, text: str) -> list[int]:
    a = analysed(str(capture_path(name)))
    q = parse(text)
    return [c.stream for c in a.connections if matches(c, q, lambda c: payload_kind(a, c))]


@pytest.mark.parametrize(
    ("text", "terms"),
    [
        ("", ()),
        ("status:502", (Term("status", ":", 502),)),
        ("status:5xx", (Term("status", ":", "5xx"),)),
        ("status>=500", (Term("status", ">=", 500),)),
        ("reason:reset", (Term("reason", ":", "reset"),)),
        ("closed:client", (Term("closed", ":", "client"),)),
        ("idle>4s", (Term("idle", ">", 4_000_000_000),)),
        ("idle<=500ms", (Term("idle", "<=", 500_000_000),)),
        ("server:9401", (Term("server", ":", "9401"),)),
        ("uri:/API", (Term("uri", ":", "/api"),)),
        ("req>=2", (Term("req", ">=", 2),)),
        ("req=1", (Term("req", ":", 1),)),
        ("tls", (Term("tls", "", True),)),
        ("!tls", (Term("tls", "", True, negate=True),)),
        ("localhost:8081", (Term("word", "", "localhost:8081"),)),
        ("reused  !status:200", (Term("reused", "", True), Term("status", ":", 200, negate=True))),
    ],
)
def test_parse(text, terms):
    assert parse(text).terms == terms


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("colour:red", "unknown field 'colour'"),
        ("status:abc", "status wants a whole number"),
        ("reason:nope", "no close reason starts with 'nope'"),
        ("closed:maybe", "closed wants client, server"),
        ("idle>4sec", "idle wants a duration"),
        ("idle:4s", "idle wants a comparison"),
        ("uri>3", "uri takes ':'"),
        ("uri:", "wants something after the colon"),
        ("!", "! must be followed by a word"),
        ("req>=two", "req wants a whole number"),
        ("size>3", "unknown field 'size'"),
    ],
)
def test_errors_are_one_line_and_say_what_is_wrong(text, says):
    with pytest.raises(QueryError) as err:
        parse(text)
    assert says in str(err.value) and "\n" not in str(err.value)


@pytest.mark.parametrize(
    ("name", "text", "streams"),
    [
        ("httptest.pcap", "req>=2", [0]),
        ("httptest.pcap", "reused", [0]),
        ("httptest.pcap", "!reused", [1]),
        ("httptest.pcap", "idle>4s closed:server", [0, 1]),
        ("httptest.pcap", "idle>6s", []),
        ("httptest.pcap", "server:8081 reason:idle", [0, 1]),
        ("httptest.pcap", "client:35466", [1]),
        ("httptest.pcap", "uri:/httptest status:200", [0, 1]),
        ("httptest.pcap", "status:2xx !status:404", [0, 1]),
        ("httptest.pcap", "1", [1]),  # a bare number: the stream (or a port or status)
        ("httptest.pcap", "808", []),  # never a substring of port 8081
        ("httptest.pcap", "8081", [0, 1]),
        ("httptest.pcap", "idle-timeout", [0, 1]),  # the reason column is searched
        ("stale-reuse.pcap", "reason:stale", [0]),
        ("stale-reuse.pcap", "problem", [0]),
        # nginx answered 503 and 502 on stream 0 (findings: two problems) without a reset.
        ("real/nginx-5xx.pcap", "problem", [0]),
        # The front connection got the 502 of an upstream keep-alive race (1, 2: the upstream
        # connections that were reused stale).
        ("real/proxy-nginx-race.pcap", "problem", [0, 1, 2]),
        ("stale-reuse.pcap", "closed:rst", [0]),
        # Stream 1: the client's FIN 200 ms after its response (the raw-socket client was done).
        ("stale-reuse.pcap", "reason:client-done", [1]),
        ("stale-reuse.pcap", "reason:closed", [1]),  # the name before JSON schema 3
        ("stale-reuse.pcap", "reason:close", [1]),  # a prefix of it, as before
        ("stale-reuse.pcap", "closed", [1]),  # and as a bare word
        ("stale-reuse.pcap", "reason:unannounced", []),
        ("httptest.pcap", "proto:http/1.1", [0, 1]),
        ("httptest.pcap", "proto:h2", []),
        ("close-client.pcap", "closed:client", []),
        ("pipelining.pcap", "pipelined", [0]),
        ("suricata__tls-subjectaltname.pcap", "tls !http", None),
    ],
)
def test_matches(name, text, streams):
    got = _streams(name, text)
    if streams is None:  # a corpus capture: every TLS match is a non-HTTP connection
        a = analysed(str(capture_path(name)))
        assert got and all(not a.connections[s].http for s in got)
        assert set(got).isdisjoint(_streams(name, "http"))
    else:
        assert got == streams


def test_tls_is_told_from_the_payload_not_the_port():
    a = analysed(str(capture_path("suricata__tls-subjectaltname.pcap")))
    kinds = {payload_kind(a, c) for c in a.connections}
    assert "TLS" in kinds
    assert all(payload_kind(a, c) is None for c in a.connections if c.http)


def test_samples_exist():
    assert (SAMPLES / "httptest.pcap").exists()
