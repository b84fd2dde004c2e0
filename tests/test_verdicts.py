"""Keep-alive verdicts on the real loopback scenarios in samples/ (see samples/README.md)."""

from __future__ import annotations

import pytest

from tests.conftest import SAMPLES, analysed


def conns(name):
    return analysed(str(SAMPLES / name)).connections


def test_seed_experiment_httptest():
    """The blog post's capture: reuse after 2 s, server FIN 5 s after the last response."""
    a = analysed(str(SAMPLES / "httptest.pcap"))
    c0, c1 = a.connections
    assert [e.request.frame for e in c0.exchanges] == [4, 8]
    assert [e.response.frame for e in c0.exchanges] == [6, 9]
    assert [e.reused for e in c0.exchanges] == [False, True]
    assert c0.exchanges[1].idle_before_ns == pytest.approx(2.0e9, rel=0.01)
    assert (c0.close.by, c0.close.how, c0.close.frame, c0.close.reason) == (
        "server",
        "fin",
        11,
        "idle-timeout",
    )
    assert c0.close.idle_before_ns == pytest.approx(5.0e9, rel=0.01)
    assert c1.first_frame == 15 and c1.requests == 1 and c1.close.frame == 22
    assert c1.close.reason == "idle-timeout" and c1.close.by == "server"
    assert a.timeout.estimate_ns == 5_000_000_000
    assert 2.0e9 <= a.timeout.low_ns < a.timeout.high_ns <= 5.1e9
    kinds = [f.kind for f in a.findings]
    assert "server-idle-timeout" in kinds
    advice = next(f for f in a.findings if f.kind == "server-idle-timeout").advice
    # The safe bound: below the shortest idle close (5.005 s) minus a margin.
    assert "below 4.5 s" in advice


@pytest.mark.parametrize(
    "name, reasons, asked",
    [
        ("close-client.pcap", ["connection-close", "connection-close"], "client"),
        ("close-server.pcap", ["connection-close", "connection-close"], "server"),
        ("http10.pcap", ["http10", "http10"], "client"),
    ],
)
def test_one_request_per_connection_scenarios(name, reasons, asked):
    cs = conns(name)
    assert [c.close.reason for c in cs] == reasons
    assert all(c.requests == 1 and c.close.by == "server" for c in cs)
    assert all(c.close.asked_by == asked for c in cs)


def test_request_limit():
    c0, c1 = conns("request-limit.pcap")
    assert c0.requests == 3 and c0.close.reason == "request-limit" and c0.close.by == "server"
    assert c0.exchanges[-1].response.connection == "close"
    assert c1.requests == 2 and c1.close.by == "client"
    kinds = [f.kind for f in analysed(str(SAMPLES / "request-limit.pcap")).findings]
    assert "request-limit" in kinds


def test_stale_reuse_answered_by_rst():
    a = analysed(str(SAMPLES / "stale-reuse.pcap"))
    c0, c1 = a.connections
    assert c0.close.reason == "stale-reuse"
    assert c0.close.by == "server" and c0.close.how == "fin" and c0.close.frame == 8
    assert c0.close.rst_frames == (11,)
    stale = c0.exchanges[1]
    assert stale.reused and stale.response is None and stale.request.frame == 10
    assert c1.requests == 1 and c1.close.reason == "client-done"
    # The raw-socket client saw EOF and sent /second again on stream 1, which got its 200: the
    # race cost a retry, not an error (no 'problem' finding, no 'Connection reset by peer').
    assert not [f for f in a.findings if f.severity == "problem"]
    (retried,) = [f for f in a.findings if f.kind == "stale-reuse-retried"]
    assert retried.streams == (0,) and "retried on stream 1" in retried.text
    assert a.timeout.estimate_ns == 1_000_000_000


def test_client_idle_close():
    (c,) = conns("client-idle.pcap")
    assert c.requests == 2 and c.close.by == "client" and c.close.reason == "idle-timeout"
    assert c.close.idle_before_ns == pytest.approx(2.0e9, rel=0.02)


def test_pipelining_pairs_in_order():
    (c,) = conns("pipelining.pcap")
    assert [e.request.uri for e in c.exchanges] == ["/a", "/b", "/c", "/d"]
    assert [e.request.frame for e in c.exchanges] == [4, 4, 4, 14]
    assert [e.response.frame for e in c.exchanges] == [6, 10, 12, 15]
    assert c.exchanges[1].response.body_bytes == c.exchanges[1].response.content_length == 8000
    assert c.exchanges[1].response.first_frame == 8  # head in frame 8, body completes in 10


def test_open_connection_at_capture_end(tmp_path):
    from katui.analysis.pipeline import analyze
    from tests.builders import conversation, write_pcap

    p = tmp_path / "open.pcap"
    req = b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"
    write_pcap(p, conversation([req], [b"HTTP/1.1 204 No Content\r\n\r\n"], close="none"))
    (c,) = analyze(str(p)).connections
    assert c.close.reason == "open" and c.close.by is None and c.state == "open-at-end"
    assert c.exchanges[0].response.status == 204


def test_started_before_capture_infers_client():
    from tests.conftest import capture_path

    a = analysed(str(capture_path("zeek__http_get_nosyn.pcap")))
    (c,) = a.connections
    assert c.state == "started-before-capture"
    assert c.client_inferred in ("http", "port") and c.server.endswith(":80")
    assert c.requests == 1


def test_thousand_requests_on_one_connection():
    from tests.conftest import capture_path

    (c,) = analysed(str(capture_path("zeek__http_1000-requests-one-dropped-response.pcap"))).connections
    assert c.requests == 1000
    assert sum(1 for e in c.exchanges if e.response is None) == 1
    assert sum(e.reused for e in c.exchanges) == 999


def test_preview_lists_connections_while_reading(monkeypatch):
    """The reading loop reports connections as first seen, in stream order, before the end."""
    import katui.analysis.pipeline as pipeline
    from tests.conftest import capture_path

    monkeypatch.setattr(pipeline, "PROGRESS_EVERY", 64)
    seen, frames_at = [], []
    a = pipeline.analyze(
        str(capture_path("pcapplusplus__example.pcap")),
        progress=lambda n, done, total: frames_at.append(n),
        preview=lambda rows: seen.extend(rows),
    )
    assert [p.stream for p in seen] == list(range(len(seen)))
    assert 0 < len(seen) <= len(a.connections)
    assert frames_at and frames_at[0] < a.frames
    for p in seen:
        c = a.connections[p.stream]
        assert p.start_ns == c.start_ns
        if c.client_inferred == "syn":
            assert (p.client, p.server) == (c.client, c.server)


def test_first_progress_comes_early_then_every_n_frames(monkeypatch):
    """A screen gets its first rows after FIRST_PROGRESS frames, not after a big capture's first
    PROGRESS_EVERY; then progress comes every PROGRESS_EVERY frames, and the last at the end."""
    import katui.analysis.pipeline as pipeline
    from tests.conftest import capture_path

    monkeypatch.setattr(pipeline, "PROGRESS_EVERY", 200)
    monkeypatch.setattr(pipeline, "FIRST_PROGRESS", 7)
    frames_at, seen = [], []
    a = pipeline.analyze(
        str(capture_path("pcapplusplus__example.pcap")),
        progress=lambda n, done, total: frames_at.append(n),
        preview=lambda rows: seen.append(len(rows)),
    )
    assert a.frames > 600
    # ... and once when the reading ends (the file read), once when the analysis does.
    assert frames_at == [7, *range(200, a.frames + 1, 200), a.frames, a.frames]
    assert seen and seen[0] >= 1  # the first preview came with the first progress


def test_real_port_reuse_gives_one_stream_per_connection():
    """samples/port-reuse.pcap: one client port, three connections, as tshark counts them."""
    from katui.analysis.gaps import previous_on_path

    a = analysed(str(SAMPLES / "port-reuse.pcap"))
    assert len(a.connections) == 3
    assert len({(c.client, c.server) for c in a.connections}) == 1
    for prev, c in zip(a.connections, a.connections[1:], strict=False):
        assert c.first_frame == prev.last_frame + 1
        assert previous_on_path(a, c) is prev
    assert [c.close.reason for c in a.connections] == ["connection-close"] * 3
    assert all(c.close.asked_by == "client" and c.close.by == "server" for c in a.connections)


def test_the_connection_replaced_is_the_latest_closed_one_on_its_path_first_in_capture_order():
    # previous_on_path searches each path's close times (sorted): the connection a scan of all
    # the others picks, on every sample and on a path whose close times tie.
    from katui.analysis.gaps import previous_on_path

    def scanned(a, conn):
        host = conn.client.rsplit(":", 1)[0]
        closed = [c for c in a.connections if c is not conn and c.close.ts_ns is not None
                  and c.client.rsplit(":", 1)[0] == host and c.server == conn.server
                  and c.close.ts_ns <= conn.start_ns]  # fmt: skip
        latest = max((c.close.ts_ns for c in closed), default=None)
        return next((c for c in closed if c.close.ts_ns == latest), None)

    from types import SimpleNamespace as Fake

    def conn(port, start, closed):
        return Fake(client=f"10.0.0.1:{port}", server="10.0.0.2:80", start_ns=start, close=Fake(ts_ns=closed))

    path = [conn(p, start, closed) for p, (start, closed) in
            enumerate([(0, 20), (1, 10), (2, 20), (3, None), (19, 30), (20, 20), (5, 20)])]  # fmt: skip
    a = Fake(cache={}, connections=path)
    for start in (0, 5, 10, 19, 20, 25, 30, 40):
        for c in path:
            c.start_ns = start
            assert previous_on_path(a, c) is scanned(a, c), (start, c.client)
    named = 0
    for path in sorted(SAMPLES.rglob("*.pcap")):
        a = analysed(str(path))
        for c in a.connections:
            assert previous_on_path(a, c) is scanned(a, c), (path.name, c.stream)
            named += previous_on_path(a, c) is not None
    assert named > 8


def test_the_closed_connections_index_keeps_close_times_as_8_byte_numbers():
    """The index previous_on_path searches (built once per analysis) keeps each path's close
    times as an array of 64-bit numbers beside its connections in the same order, not a list
    of int objects (a load test has tens of thousands on one path)."""
    from array import array

    from katui.analysis.gaps import previous_on_path

    a = analysed(str(SAMPLES / "port-reuse.pcap"))
    previous_on_path(a, a.connections[-1])
    ((times, conns),) = a.cache["closed_paths"].values()
    assert isinstance(times, array) and times.typecode == "q"
    assert list(times) == sorted(times) == [c.close.ts_ns for c in conns]
    assert conns == a.connections  # closed in capture order


def test_the_closed_connections_index_tells_interleaved_paths_apart():
    """The index recognises a run of connections on the previous one's path without slicing
    each host out: hosts that are prefixes of one another (10.0.0.1, 10.0.0.11), an IPv6 host,
    a second server of the same host, and a path that comes back after others, each get the
    latest connection closed on their own path."""
    from types import SimpleNamespace as Fake

    from katui.analysis.gaps import previous_on_path

    def conn(client, server, start, closed=None):
        return Fake(client=client, server=server, start_ns=start, close=Fake(ts_ns=closed))

    s1, s2 = "10.0.0.2:80", "10.0.0.2:8080"
    older = [conn("10.0.0.1:5000", s1, 0, 10), conn("10.0.0.11:5000", s1, 1, 11),
             conn("10.0.0.1:5001", s2, 2, 12), conn("[::1]:6000", s1, 3, 13),
             conn("10.0.0.1:5004", s1, 5, 15)]  # fmt: skip
    later = [conn("10.0.0.1:5002", s1, 14), conn("10.0.0.11:5001", s1, 20),
             conn("10.0.0.1:5003", s2, 20), conn("[::1]:6001", s1, 20), conn("10.0.0.1:5005", s1, 30),
             conn("10.0.0.12:5000", s1, 30)]  # fmt: skip
    a = Fake(cache={}, connections=older + later)
    got = [previous_on_path(a, c) for c in later]
    assert got == [older[0], older[1], older[2], older[3], older[4], None]


def test_findings_are_made_when_first_asked_for():
    """analyze() leaves the findings to their first reader (the TUI lists the connections
    without them); once made they are kept, and they are what findings() makes of the analysis."""
    from katui.analysis.findings import findings
    from katui.analysis.pipeline import analyze

    a = analyze(str(SAMPLES / "httptest.pcap"))
    try:
        assert "findings" not in a.cache
        got = a.findings
        assert got and got is a.findings is a.cache["findings"]
        assert got == findings(a.connections, a.timeouts, a.proxies)
    finally:
        a.close()


def test_a_wait_for_the_response_is_not_an_idle_gap():
    """proxy-nginx-race.pcap, the front connection: GET /api/race-get and POST /api/race-post
    each waited ~2.5 s for the proxy's answer. The ladder called those stretches 'idle' with
    'no traffic'; they are waits for a response, and say which request waited and how it ended."""
    from katui.analysis.gaps import idle_gaps
    from katui.report.ladder import Note, ladder_rows
    from katui.report.ladder_text import gap_head

    a = analysed(str(SAMPLES / "real" / "proxy-nginx-race.pcap"))
    gaps = idle_gaps(a, a.connections[0])
    assert [(g.after_frame, g.before_frame, g.waiting, g.ends_in) for g in gaps] == [
        (16, 28, 2, "response"),
        (42, 47, 4, "response"),
    ]
    assert gaps[1].explanation == "request 4 waits for its response; then response 4 (502 Bad Gateway)"
    notes = [r for r in ladder_rows(a, a.connections[0]) if isinstance(r, Note) and r.kind == "gap"]
    assert [gap_head(n).strip() for n in notes] == ["⋯ 2.460 s wait", "⋯ 2.484 s wait"]
    # An idle connection between a response and the next request is still idle.
    seed = analysed(str(SAMPLES / "httptest.pcap"))
    (first, *_) = idle_gaps(seed, seed.connections[0])
    assert first.waiting == 0 and first.ends_in == "request"
    notes = [r for r in ladder_rows(seed, seed.connections[0]) if isinstance(r, Note) and r.kind == "gap"]
    assert gap_head(notes[0]).strip() == "⋯ 2.002 s idle"


def test_a_stalled_reader_is_marked_as_tshark_marks_it():
    """nginx-stalled-reader.pcap: tshark's expert info says 'TCP Zero Window segment' for the
    client's frames 9, 11, 14, 16 and 'TCP keep-alive segment' for nginx's probes 10, 12, 13,
    15. The ladder showed them as plain ACKs and the stalls as idle; the frame notes now carry
    both, and the stretches inside the stalled response are waits."""
    from katui.analysis.gaps import idle_gaps
    from katui.model import NOTE_KEEPALIVE, NOTE_ZERO_WINDOW

    a = analysed(str(SAMPLES / "real" / "nginx-stalled-reader.pcap"))
    notes = a.table.notes
    assert [n for n in range(1, a.frames + 1) if notes[n - 1] & NOTE_ZERO_WINDOW] == [9, 11, 14, 16]
    assert [n for n in range(1, a.frames + 1) if notes[n - 1] & NOTE_KEEPALIVE] == [10, 12, 13, 15]
    gaps = idle_gaps(a, a.connections[0])
    assert gaps and all(g.waiting == 1 for g in gaps)
    assert gaps[0].explanation == (
        "response 1 is still arriving, paused mid-transfer (a stream, a long poll or a stall), not idle"
    )


def test_an_idle_gap_finds_the_first_request_of_a_frame_from_the_columns():
    """gaps._first_requests reads a connection's exchange columns (no object per exchange) and
    gives, for each frame a request starts in, the index of the first such exchange: what
    requests_by_frame's first one is (pipelining.pcap: /a, /b and /c start in frame 4)."""
    from katui.analysis.gaps import _first_requests, requests_by_frame
    from katui.model.exchange import columns

    (c,) = conns("pipelining.pcap")
    firsts = _first_requests(columns(c.exchanges))
    assert firsts == {4: 0, 14: 3}
    for name in ("pipelining.pcap", "httptest.pcap"):
        for c in conns(name):
            firsts = {f: exs[0].n for f, exs in requests_by_frame(c).items()}
            got = _first_requests(columns(c.exchanges))
            assert {f: c.exchanges[k].n for f, k in got.items()} == firsts
