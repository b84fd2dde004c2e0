"""HTTP/2 on real captures (samples/real/h2-*.pcap, made by make_h2.sh with nginx 1.22 and curl,
httpx and a raw client built on the ``h2`` package; tls-h2-curl.pcap by make_tls.sh): every
stream's request and response against tshark's decrypted HEADERS frames and nginx's access log
(both quoted in samples/real/h2.md and tls.md), and the close verdicts against what nginx did."""

from __future__ import annotations

import re
import shutil
import subprocess
from collections import Counter

import pytest

from katui.analysis import requests as rq
from katui.analysis.pipeline import analyze
from katui.analysis.query import matches, parse
from katui.report import jsonout, markdown, text
from katui.tls.keylog import KeyLog
from tests.conftest import SAMPLES

REAL = SAMPLES / "real"
H2 = ["curl-multi", "curl-parallel", "httpx-idle", "stale", "bad-frame", "h2c-httpx", "limit", "limit-burst"]


def _a(name: str):
    pcap, keys = REAL / f"{name}.pcap", REAL / f"{name}.keys"
    return analyze(str(pcap), keylog=KeyLog.read(str(keys)) if keys.exists() else None)


def _section(name: str) -> str:
    md = (REAL / ("tls.md" if name.startswith("tls-") else "h2.md")).read_text()
    return md.split(f"## {name}.pcap")[1].split("\n## ")[0]


def _tshark(name: str) -> tuple[list, list]:
    """(tcp.stream, frame, path) of each request HEADERS and (tcp.stream, frame, status) of each
    response HEADERS, as tshark decoded them with the key log (several HEADERS in one TCP frame
    come as comma-separated values)."""
    block = _section(name).split("tshark HEADERS frames:")[1].split("```")[1]
    reqs, resps = [], []
    for line in block.strip().splitlines():
        stream, frame, _ids, method, path, status = (line.split("\t") + [""] * 6)[:6]
        if method:
            reqs += [(int(stream), int(frame), p) for p in path.split(",")]
        if status:
            resps += [(int(stream), int(frame), int(s)) for s in status.split(",")]
    return reqs, resps


def _access(name: str) -> Counter:
    """Requests nginx logged per connection, in connection order."""
    block = _section(name).split("nginx access log:")[1].split("```")[1]
    per = Counter(int(line.split()[0]) for line in block.strip().splitlines())
    return [per[k] for k in sorted(per)]


@pytest.mark.parametrize("name", [f"h2-{n}" for n in H2])
def test_streams_match_tsharks_headers_frames(name):
    a = _a(name)
    reqs, resps = _tshark(name)
    mine_req = [(c.stream, e.request.first_frame, e.request.uri) for c in a.connections for e in c.exchanges]
    mine_resp = [(c.stream, e.response.first_frame, e.response.status) for c in a.connections
                 for e in c.exchanges if e.response is not None]  # fmt: skip
    assert sorted(mine_req) == sorted(reqs)
    assert sorted(mine_resp) == sorted(resps)
    for c in a.connections:
        assert c.http and c.http2 is not None and c.http2.note is None
        assert c.http2.cleartext == (c.tls is None)
        assert all(e.request.version == "HTTP/2" and not e.pipelined for e in c.exchanges)


@pytest.mark.parametrize("name", [f"h2-{n}" for n in H2])
def test_answered_requests_per_connection_match_nginxs_log(name):
    a = _a(name)
    answered = [sum(e.response is not None for e in c.exchanges) for c in a.connections]
    assert answered == _access(name)


CLOSES = {  # name -> per connection: (reason, the side that decided, first GOAWAY's sender)
    # curl sends no GOAWAY: it closes (close_notify, FIN) as it exits.
    "h2-curl-multi": [("client-done", "client", None), ("client-done", "client", None)],
    # httpx sent request 3 on stream 5 1 s after nginx's GOAWAY (last stream 3; nginx had closed
    # after keepalive_timeout 1s) and got a reset (nginx's lingering close was over), then
    # retried it on a new connection.
    "h2-httpx-idle": [("stale-reuse", "server", "server"), ("client-done", "client", None)],
    # the raw client's request on stream 3 after the GOAWAY (last stream 1): nginx, in lingering
    # close, neither answers nor resets it (no RST in the capture).
    "h2-stale": [("stale-reuse", "server", "server")],
    # a DATA frame on stream 0: nginx logged "client sent DATA frame with incorrect identifier"
    # and sent GOAWAY PROTOCOL_ERROR.
    "h2-bad-frame": [("error-close", "server", "server")],
    "h2-h2c-httpx": [("client-done", "client", None)],
    "h2-curl-parallel": [("client-done", "client", None)],
    # keepalive_requests 3: nginx's GOAWAY (last stream 5) came in the frame of response 3; curl
    # sent requests 4 and 5 on a new connection (nginx logged connection 1 with 3 requests).
    "h2-limit": [("request-limit", "server", "server"), ("client-done", "client", None)],
    # keepalive_requests 3 and five requests in one flight: nginx sent GOAWAY (last stream 5)
    # before response 3 and skipped the HEADERS of streams 7 and 9 (no response, no reset; its
    # access log has three requests): they crossed the GOAWAY, never processed. The request
    # limit closed it with streams in flight; nothing idled, so not a keep-alive race.
    "h2-limit-burst": [("request-limit", "server", "server")],
    "tls-h2-curl": [
        ("client-done", "client", None),
        ("idle-timeout", "server", "server"),
        ("client-done", "client", None),
    ],
}


@pytest.mark.parametrize("name", sorted(CLOSES))
def test_close_verdicts(name):
    a = _a(name)
    got = [(c.close.reason, c.close.closer, c.http2.goaway[0][0] if c.http2.goaway else None)
           for c in a.connections]  # fmt: skip
    assert got == CLOSES[name]


def test_nginx_h2_idle_timeout_is_keepalive_timeout():
    """nginx closes an idle h2 connection after keepalive_timeout (1 s here, 2 s in make_tls.sh):
    GOAWAY, close_notify, FIN; the idle runs to the last frame before the GOAWAY."""
    for name, timeout in (("h2-httpx-idle", 1.0), ("h2-stale", 1.0), ("tls-h2-curl", 2.0)):
        t = _a(name).timeout
        assert t.software == "nginx" and t.setting == "keepalive_timeout"
        assert timeout <= t.high_ns / 1e9 < timeout + 0.05


def test_stale_request_after_goaway_names_the_stream_and_the_goaway():
    c = _a("h2-stale").connections[0]
    assert c.close.exchange == 2 and not c.close.rst_frames
    assert any("no reset" in e for e in c.close.evidence)
    retried = _a("h2-httpx-idle").connections[0]  # 1 s after the GOAWAY: nginx's socket was gone
    assert retried.close.rst_frames and not any("no reset" in e for e in retried.close.evidence)
    assert "stream 3" in c.close.explanation and "GOAWAY (last stream 1)" in c.close.explanation
    stale = c.exchanges[1]
    assert stale.stream_id == 3 and stale.response is None and stale.request.uri == "/after-goaway"


def test_concurrent_streams_overlap_without_idle():
    c = _a("h2-bad-frame").connections[0]
    first, second = c.exchanges[:2]
    assert (first.stream_id, second.stream_id) == (1, 3)
    assert second.concurrent and second.idle_before_ns == 0
    assert [(r[0], r[2]) for r in c.http2.rst_streams][0] == ("client", 5)
    assert c.http2.pings == (1, 0) and c.http2.settings == (1, 1)


def test_parallel_streams_overlap_and_idle_counts_only_when_none_is_open():
    """curl --parallel, three 40 kB bodies at nginx's limit_rate: nginx logged 0.322 s for each,
    so all three streams were open together; their DATA frames interleave."""
    c = _a("h2-curl-parallel").connections[0]
    assert [(e.stream_id, e.concurrent, e.idle_before_ns) for e in c.exchanges] == [
        (1, False, None),
        (3, True, 0),
        (5, True, 0),
    ]
    assert [e.response.body_bytes for e in c.exchanges] == [40000] * 3
    first_end = c.exchanges[0].response.end_ns
    assert all(e.request.start_ns < first_end for e in c.exchanges[1:])  # sent before 1 finished


def test_reports_show_http2_frames():
    a = _a("h2-bad-frame")
    d = jsonout.render(a)
    assert '"stream_id":3' in d and '"last_stream_id":5' in d and '"error":"PROTOCOL_ERROR"' in d
    out = text.render(a)
    assert "GOAWAY" in out
    md = markdown.render(a)
    assert "HEADERS s=3 GET /ok-3" in md and "GOAWAY last=5 PROTOCOL_ERROR" in md


def test_without_keys_h2_stays_bursts():
    for name in ("h2-httpx-idle", "h2-stale", "tls-h2-curl"):
        a = analyze(str(REAL / f"{name}.pcap"))
        assert all(c.http2 is None and not c.tls.decrypted and not c.http for c in a.connections)
        assert all(e.inferred for c in a.connections for e in c.exchanges)
    assert "h2: bursts, not requests" in text.render(a)  # TLS 1.2: ALPN h2 is seen without keys


@pytest.mark.parametrize("name", [f"h2-{n}" for n in H2])
def test_damaged_h2_captures_never_raise(name, tmp_path):
    """Bytes of the real captures' payloads corrupted at random (decrypted and cleartext HTTP/2:
    frame headers, HPACK blocks, ciphertext): every report still renders."""
    import random

    pcap, keys = REAL / f"{name}.pcap", REAL / f"{name}.keys"
    rng = random.Random(name)
    data = pcap.read_bytes()
    a0 = _a(name)
    spans = [(a0.table.poff[i], a0.table.pcap[i]) for i in range(a0.frames) if a0.table.pcap[i]]
    for case in range(8):
        d = bytearray(data)
        for _ in range(rng.randrange(1, 4)):
            off, n = rng.choice(spans)
            d[off + rng.randrange(n)] = rng.randrange(256)
        out = tmp_path / f"{case}.pcap"
        out.write_bytes(bytes(d))
        a = analyze(str(out), keylog=KeyLog.read(str(keys)) if keys.exists() else None)
        jsonout.render(a), text.render(a), markdown.render(a)
        assert sum(c.requests for c in a.connections) <= sum(c.requests for c in a0.connections) + 2


@pytest.mark.skipif(shutil.which("tshark") is None, reason="tshark not installed")
@pytest.mark.parametrize("name", [f"h2-{n}" for n in H2])
def test_manifest_is_what_tshark_says(name):
    """The HEADERS frames quoted in h2.md (the expectations above) are tshark's, re-derived live."""
    port = re.search(rf"## {name}\.pcap \(port (\d+)\)", (REAL / "h2.md").read_text()).group(1)
    keys = REAL / f"{name}.keys"
    opts = ["-o", f"tls.keylog_file:{keys}", "-d", f"tcp.port=={port},tls"] if keys.exists() else \
        ["-d", f"tcp.port=={port},http2"]  # fmt: skip
    fields = ["tcp.stream", "frame.number", "http2.streamid", "http2.headers.method", "http2.headers.path",
              "http2.headers.status"]  # fmt: skip
    cmd = [
        "tshark",
        "-2",
        "-n",
        "-r",
        str(REAL / f"{name}.pcap"),
        *opts,
        "-Y",
        "http2.type==1",
        "-T",
        "fields",
    ]
    out = subprocess.run(cmd + [a for f in fields for a in ("-e", f)], capture_output=True, text=True).stdout
    block = _section(name).split("tshark HEADERS frames:")[1].split("```")[1]
    assert out.strip() == block.strip()


@pytest.mark.skipif(shutil.which("tshark") is None, reason="tshark not installed")
def test_response_frame_is_the_end_stream_data_frame():
    """A documented difference: tshark shows a response at its HEADERS frame (katui's
    ``response_first_frame``, checked above); katui's ``response_frame`` is where the response
    completed, the DATA frame with END_STREAM, as for HTTP/1 it is the frame of the last byte."""
    name = "h2-curl-parallel"
    keys = REAL / f"{name}.keys"
    cmd = ["tshark", "-2", "-n", "-r", str(REAL / f"{name}.pcap"), "-o", f"tls.keylog_file:{keys}",
           "-d", "tcp.port==9706,tls", "-Y", "http2.type==0 && http2.flags.end_stream==1",
           "-T", "fields", "-e", "frame.number", "-e", "http2.streamid"]  # fmt: skip
    out = subprocess.run(cmd, capture_output=True, text=True).stdout
    ends = sorted((int(f), int(s)) for f, s in (line.split("\t") for line in out.strip().splitlines()))
    c = _a(name).connections[0]
    assert sorted((e.response.frame, e.stream_id) for e in c.exchanges) == ends
    assert all(e.response.frame > e.response.first_frame for e in c.exchanges)


def test_filter_word_h2():
    from katui.analysis.query import matches, parse

    h2 = _a("h2-curl-multi")
    assert all(matches(c, parse("h2")) for c in h2.connections)
    plain = _a("tls-tls12-curl")
    assert not any(matches(c, parse("h2")) for c in plain.connections)
    assert all(matches(c, parse("!h2")) for c in plain.connections)


def test_idle_gap_ended_by_goaway_says_so():
    from katui.analysis.gaps import idle_gaps

    a = _a("tls-h2-curl")
    c = a.connections[1]  # nginx's keepalive_timeout 2s: GOAWAY after 2 s idle
    gaps = idle_gaps(a, c)
    assert [(g.ends_in, g.explanation) for g in gaps] == [
        ("close", "then the server sends GOAWAY (last stream 1): it closes the connection")
    ]
    assert c.close.reason == "idle-timeout" and 2.0 <= c.close.idle_before_ns / 1e9 < 2.01


def test_requests_that_crossed_nginxs_goaway_were_never_processed():
    """Not a request timeout (as it was called before 2026-12), nor a keep-alive race (as it was
    called next: nothing idled): nginx's keepalive_requests 3 let streams 1-5 through and named 5
    in its GOAWAY, sent with response 3; streams 7 and 9 went out with the others and were never
    processed. Both are counted (the race finding counted one), and the limit is 3, not 5."""
    a = _a("h2-limit-burst")
    c = a.connections[0]
    assert (c.close.reason, c.close.exchange) == ("request-limit", 3)
    assert [e.stream_id for e in c.exchanges if e.response is None] == [7, 9]
    assert c.http2.server_goaway[3] == 5
    assert "requests 4, 5 (streams 7, 9), already sent, were above its last stream: never processed" in (
        c.close.explanation
    )
    (refused,) = [f for f in a.findings if f.kind == "refused-at-limit"]
    assert refused.severity == "problem" and refused.count == 2 and "not sent again" in refused.text
    assert "nginx keepalive_requests" in refused.advice
    (limit,) = [f for f in a.findings if f.kind == "request-limit"]
    assert "most often 3" in limit.text and "(nginx keepalive_requests 3)" in limit.text
    assert not [f for f in a.findings if f.kind.startswith("stale-reuse")]
    assert not a.timeouts  # a request limit, not an idle close
    # The request list says it of each of the two, and the problem filter finds them.
    rows = rq.all_requests(a)
    assert [rq.verdict(c, e) for c, e in rows] == [
        "",
        "",
        "request-limit",
        "never processed",
        "never processed",
    ]
    assert [e.n for c, e in rq.select(rows, parse("problem"))] == [4, 5]
    # ... and the connection list's problem filter finds their connection (its close verdict,
    # a request limit, is not a problem by itself).
    assert not c.is_problem and matches(c, parse("problem"))
    assert not matches(_a("h2-curl-multi").connections[0], parse("problem"))


def test_a_lost_http2_request_is_not_described_in_http1_client_words():
    """The stale-reuse finding on HTTP/2 names what an HTTP/2 client reports, not requests'
    'Connection aborted' (requests speaks HTTP/1 only)."""
    a = _a("h2-stale")
    (f,) = [f for f in a.findings if f.kind == "stale-reuse"]
    assert "HTTP/2 client reports the stream refused" in f.text and "Connection aborted" not in f.text


def test_concurrent_streams_are_not_called_idle_reuse():
    """curl --parallel opened streams 3 and 5 while stream 1 was open: the reuse finding counts
    them as reuses of the connection but says they were concurrent (idle 0 is not a reuse of an
    idle connection); sequential streams keep the longest-idle wording."""
    (f,) = [f for f in _a("h2-curl-parallel").findings if f.kind == "reuse"]
    assert f.count == 2 and "all were concurrent HTTP/2 streams" in f.text
    assert "longest idle" not in f.text and f.frame == 15
    (f,) = [f for f in _a("h2-curl-multi").findings if f.kind == "reuse"]
    assert "concurrent" not in f.text and "longest idle before a reuse 253 µs" in f.text
