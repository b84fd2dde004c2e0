"""HTTP/2 close verdicts, idle times and bounds on hand-made h2c captures (tests/h2_synth.py):
the cases a review found wrong (each test failed before its fix). Real nginx captures are in
test_http2_captures.py; these are the shapes nginx does not make on demand (a double GOAWAY
without responses in between, a GOAWAY flood, thousands of streams never answered)."""

from __future__ import annotations

import json
import shutil
import subprocess

import pytest
from hpack import Encoder

from katui.analysis.h2close import SHUTDOWN_LAST
from katui.analysis.pipeline import analyze
from katui.http2.conversation import H2Conversation
from katui.http2.frames import END_HEADERS, HEADERS, PING, SETTINGS
from katui.http2.state import MAX_EVENTS
from katui.model import MessageStore
from katui.report import jsonout, text
from katui.report.ladder import Note, ladder_rows
from tests.h2_synth import frame, goaway, h2c_capture, req, resp, rst, start

REFUSED, INTERNAL = 7, 2
LAST = SHUTDOWN_LAST


def _conn(tmp_path, steps, close="client", close_t=None, name="c.pcap", **kw):
    """Analyse a capture of one h2c connection; ``steps`` are (time, side, f(client encoder,
    server encoder) -> bytes) after the preface and SETTINGS of both sides."""
    ce, se = Encoder(), Encoder()
    events = [(0.01, "c", start()), (0.0105, "s", frame(SETTINGS, 0, 0))]
    events += [(t, d, f(ce, se)) for t, d, f in steps]
    a = analyze(h2c_capture(tmp_path / name, events, close=close, close_t=close_t, **kw))
    return a, a.connections[0]


def _answered(t: float, sid: int, path: str = "/a"):
    return [(t, "c", lambda c, s: req(c, sid, path)), (t + 0.001, "s", lambda c, s: resp(s, sid))]


def test_open_streams_cost_linear_time(tmp_path, monkeypatch):
    # 3000 streams never answered: each new stream used to rescan every open one.
    calls = []
    real = H2Conversation._is_open
    monkeypatch.setattr(H2Conversation, "_is_open", lambda self, ex: calls.append(1) or real(self, ex))
    n = 3000
    enc = Encoder()
    requests = b"".join(req(enc, 1 + 2 * i, "/x", end=False) for i in range(n))
    events = [(0.01, "c", start()), (0.02, "c", requests)]
    a = analyze(h2c_capture(tmp_path / "open.pcap", events, mss=1400))
    conn = a.connections[0]
    assert len(conn.exchanges) == n
    assert not conn.exchanges[0].concurrent and all(ex.concurrent for ex in conn.exchanges[1:])
    assert len(calls) <= 2 * n


def test_goaway_flood_is_counted_and_the_last_word_still_decides(tmp_path):
    # 300 graceful GOAWAYs, then the one that names stream 1, then a request above it: the
    # decisive GOAWAY is past the listed ones but still judges the stale request.
    flood = goaway(LAST) * 300
    steps = [*_answered(0.02, 1), (0.03, "s", lambda c, s: flood), (0.04, "s", lambda c, s: goaway(1)),
             (0.05, "c", lambda c, s: req(c, 3, "/late"))]  # fmt: skip
    a, conn = _conn(tmp_path, steps, close="server", close_t=0.06)
    h = conn.http2
    assert len(h.goaway) == MAX_EVENTS and h.goaway_count == 301
    assert h.server_goaway[3] == 1
    assert conn.close.reason == "stale-reuse" and conn.close.exchange == 2
    summary = next(line for line in text.render(a).splitlines() if line.startswith("  HTTP/2"))
    assert len(summary) < 400 and "301 GOAWAY in all" in summary
    js = json.loads(jsonout.render(a))["connections"][0]["http2"]
    assert len(js["goaway"]) == MAX_EVENTS and js["goaway_count"] == 301


def test_rst_stream_flood_is_counted(tmp_path):
    resets = b"".join(rst(1 + 2 * i, INTERNAL) for i in range(200))
    a, conn = _conn(tmp_path, [(0.02, "s", lambda c, s: resets)])
    h = conn.http2
    assert len(h.rst_streams) == MAX_EVENTS and h.rst_stream_count == 200
    js = json.loads(jsonout.render(a))["connections"][0]["http2"]
    assert js["rst_stream_count"] == 200 and len(js["rst_streams"]) == MAX_EVENTS


def test_goaway_side_decides_but_the_evidence_names_the_fin_sender(tmp_path):
    # The server's GOAWAY after 5 s idle, the client's FIN first: the FIN is the client's.
    steps = [*_answered(0.02, 1), (5.02, "s", lambda c, s: goaway(1))]
    _, conn = _conn(tmp_path, steps, close="client", close_t=5.021)
    close = conn.close
    assert (close.by, close.reason, close.asked_by) == ("client", "idle-timeout", "server")
    assert f"client FIN frame {close.frame}" in close.evidence
    assert not any("server FIN" in e for e in close.evidence)


def test_error_goaway_after_a_client_goaway(tmp_path):
    steps = [
        *_answered(0.02, 1),
        (0.03, "c", lambda c, s: goaway(0)),
        (0.031, "s", lambda c, s: goaway(1, INTERNAL)),
    ]
    _, conn = _conn(tmp_path, steps, close="server", close_t=0.032)
    close = conn.close
    assert (close.by, close.reason, close.asked_by) == ("server", "error-close", "server")
    assert f"server FIN frame {close.frame}" in close.evidence
    assert "INTERNAL_ERROR" in close.explanation


def test_concurrent_request_is_not_idle(tmp_path):
    # Stream 1 never ends (a long poll); 30 s later stream 3 is sent and answered.
    steps = [(0.02, "c", lambda c, s: req(c, 1, "/events")), (30.0, "c", lambda c, s: req(c, 3, "/b")),
             (30.001, "s", lambda c, s: resp(s, 3))]  # fmt: skip
    a, conn = _conn(tmp_path, steps, close="none")
    second = conn.exchanges[1]
    assert second.concurrent and second.idle_before_ns == 0
    assert json.loads(jsonout.render(a))["connections"][0]["requests"][1]["idle_before"] == 0
    assert not any("30.0 s" in f.text for f in a.findings)


def test_idle_after_a_reset_stream_runs_from_the_reset(tmp_path):
    # Stream 1 is cancelled by the client at 1 s: the connection is idle from then, not from
    # the request's end at 20 ms, and not open forever.
    steps = [(0.02, "c", lambda c, s: req(c, 1, "/slow")), (1.0, "c", lambda c, s: rst(1, 8)),
             *_answered(3.0, 3, "/b")]  # fmt: skip
    _, conn = _conn(tmp_path, steps)
    second = conn.exchanges[1]
    assert not second.concurrent
    assert second.idle_before_ns == pytest.approx(2.0e9, abs=1e6)


def test_prompt_close_after_goaway_was_announced(tmp_path):
    steps = [*_answered(0.02, 1), (0.022, "s", lambda c, s: goaway(1))]
    _, conn = _conn(tmp_path, steps, close="server", close_t=0.023)
    close = conn.close
    assert (close.reason, close.asked_by) == ("connection-close", "server")
    assert "GOAWAY" in close.explanation and "without" not in close.explanation
    goaway_frame = conn.http2.goaway[0][1]
    assert f"frame {goaway_frame}" in close.explanation


def test_double_goaway_graceful_shutdown_is_announced_not_a_request_limit(tmp_path):
    # GOAWAY 2^31-1, PING, PING ack, then GOAWAY naming the last stream (RFC 9113, 6.8): a
    # graceful shutdown (a request limit would feed the 'fixed number of requests' finding).
    steps = [*_answered(0.02, 1), *_answered(0.03, 3, "/b"),
             (0.032, "s", lambda c, s: goaway(LAST) + frame(PING, 0, 0, bytes(8))),
             (0.033, "c", lambda c, s: frame(PING, 1, 0, bytes(8))),
             (0.034, "s", lambda c, s: goaway(3))]  # fmt: skip
    _, conn = _conn(tmp_path, steps, close="server", close_t=0.035)
    close = conn.close
    assert (close.reason, close.asked_by) == ("connection-close", "server")
    assert "gracefully" in close.explanation and "last stream 3" in close.explanation


def test_stream_above_goaway_sent_before_it_was_refused(tmp_path):
    # Streams 1, 3, 5 in one flight; the server answers 1 and 3 with GOAWAY last=3: stream 5 was
    # never processed (safe to retry), not a request timeout; and not a keep-alive race either
    # (nothing idled): a request limit (or shutdown) met with a stream in flight.
    steps = [(0.02, "c", lambda c, s: req(c, 1, "/a") + req(c, 3, "/b") + req(c, 5, "/c")),
             (0.021, "s", lambda c, s: resp(s, 1) + resp(s, 3) + goaway(3))]  # fmt: skip
    a, conn = _conn(tmp_path, steps, close="server", close_t=0.03)
    close = conn.close
    assert (close.reason, close.exchange) == ("request-limit", 2)
    assert (
        "request 3 (stream 5), already sent, was above its last stream: never processed" in close.explanation
    )
    assert "1 request (3) on stream 5 from frame" in close.evidence[2] and "sent before" in close.evidence[2]
    finding = next(f for f in a.findings if f.kind == "refused-at-limit")
    assert finding.count == 1 and "never processed" in finding.text


def test_a_stream_sent_after_the_limits_goaway_is_still_the_race(tmp_path):
    # The same limit, but stream 5 sent after the GOAWAY had come: the client reused a
    # connection the server had closed (the keep-alive race over HTTP/2).
    steps = [(0.02, "c", lambda c, s: req(c, 1, "/a") + req(c, 3, "/b")),
             (0.021, "s", lambda c, s: resp(s, 1) + resp(s, 3) + goaway(3)),
             (0.025, "c", lambda c, s: req(c, 5, "/c"))]  # fmt: skip
    a, conn = _conn(tmp_path, steps, close="server", close_t=0.03)
    assert (conn.close.reason, conn.close.exchange) == ("stale-reuse", 3)
    assert not [f for f in a.findings if f.kind == "refused-at-limit"]


def test_refused_stream_is_not_a_request_left_waiting(tmp_path):
    steps = [*_answered(0.02, 1), (0.03, "c", lambda c, s: req(c, 3, "/b")),
             (0.031, "s", lambda c, s: rst(3, REFUSED))]  # fmt: skip
    _, conn = _conn(tmp_path, steps, close="client", close_t=0.04)
    close = conn.close
    assert close.reason == "client-done"
    assert any("RST_STREAM REFUSED_STREAM" in e and "request 2" in e for e in close.evidence)


def test_stale_request_refused_by_reset_is_said_so(tmp_path):
    steps = [*_answered(0.02, 1), (1.02, "s", lambda c, s: goaway(1)),
             (1.03, "c", lambda c, s: req(c, 3, "/b")),
             (1.031, "s", lambda c, s: rst(3, REFUSED))]  # fmt: skip
    a, conn = _conn(tmp_path, steps, close="server", close_t=1.04)
    ev = " ".join(conn.close.evidence)
    assert conn.close.reason == "stale-reuse"
    assert "RST_STREAM REFUSED_STREAM" in ev and "no reset" not in ev and "nginx" not in ev
    finding = next(f for f in a.findings if f.kind == "stale-reuse")
    assert "refused with an RST_STREAM" in finding.text and "no reset" not in finding.text


def test_ladder_marks_only_the_streams_above_the_goaway(tmp_path):
    # Stream 1 is slow (unanswered but below GOAWAY last=1); stream 3 comes after the GOAWAY.
    steps = [(0.02, "c", lambda c, s: req(c, 1, "/slow")), (0.5, "s", lambda c, s: goaway(1)),
             (0.6, "c", lambda c, s: req(c, 3, "/late"))]  # fmt: skip
    a, conn = _conn(tmp_path, steps, close="server", close_t=0.7)
    assert (conn.close.reason, conn.close.exchange) == ("stale-reuse", 2)
    # Stream 1 was in flight: the server did not close an idle connection, no timeout is inferred.
    assert not a.timeouts
    notes = [r for r in ladder_rows(a, conn) if isinstance(r, Note)]
    problems = [n.text for n in notes if n.problem]
    assert len(problems) == 1 and "request 2 (stream 3)" in problems[0] and "GOAWAY" in problems[0]
    teardown = next(n.text for n in notes if n.text.startswith("teardown"))
    assert "still sent after" not in teardown and "request 2 was never processed" in teardown


@pytest.mark.parametrize("mss", [1, 2, 3])
def test_preface_split_in_tiny_segments_is_h2c(tmp_path, mss):
    # tshark decodes these; the sniffer used to need 4 bytes in the first segment.
    ce, se = Encoder(), Encoder()
    events = [(0.01, "c", start() + req(ce, 1, "/a")), (0.011, "s", frame(SETTINGS, 0, 0) + resp(se, 1))]
    a = analyze(h2c_capture(tmp_path / "split.pcap", events, mss=mss))
    conn = a.connections[0]
    assert conn.http2 is not None and conn.close.reason == "client-done"
    assert [ex.request.uri for ex in conn.exchanges] == ["/a"] and conn.exchanges[0].response.status == 200


@pytest.mark.skipif(shutil.which("tshark") is None, reason="needs tshark")
def test_split_preface_against_tshark(tmp_path):
    # Documented differences, both from the 1-byte segments: Wireshark (decode-as http2; its
    # heuristic finds nothing) decodes no client frame when the preface is split this finely,
    # and names the segment that completes a HEADERS frame, where katui's *_first_frame is the
    # segment it begins in (the same frame when a HEADERS frame fits one segment: every real
    # sample). The segment that completes the END_STREAM DATA frame agrees.
    ce, se = Encoder(), Encoder()
    events = [(0.01, "c", start() + req(ce, 1, "/a")), (0.011, "s", frame(SETTINGS, 0, 0) + resp(se, 1))]
    path = h2c_capture(tmp_path / "split.pcap", events, mss=1)
    out = subprocess.run(
        ["tshark", "-2", "-r", path, "-d", "tcp.port==80,http2", "-Y", "http2.streamid==1",
         "-T", "fields", "-e", "frame.number", "-e", "http2.type"],
        capture_output=True, text=True, check=True,
    ).stdout.split()  # fmt: skip
    seen = dict(zip(map(int, out[1::2]), map(int, out[::2]), strict=True))  # type -> frame
    ex = analyze(path).connections[0].exchanges[0]
    assert seen[0] == ex.response.frame  # DATA with END_STREAM
    assert ex.response.first_frame < seen[1] < ex.response.frame  # HEADERS: begun, then completed


def test_incomplete_response_names_its_first_frame(tmp_path):
    # The server's HEADERS without END_STREAM, and no DATA: the response never completes.
    steps = [
        (0.02, "c", lambda c, s: req(c, 1, "/a")),
        (0.021, "s", lambda c, s: frame(HEADERS, END_HEADERS, 1, s.encode([(":status", "204")]))),
    ]
    a, conn = _conn(tmp_path, steps)
    assert conn.exchanges[0].response.frame is None
    line = next(line for line in text.render(a).splitlines() if line.lstrip().startswith("#1"))
    assert "None" not in line and f"resp frame {conn.exchanges[0].response.first_frame:>7}" in line


def test_streams_count_a_response_whose_request_was_not_captured(tmp_path):
    _, conn = _conn(tmp_path, [(0.02, "s", lambda c, s: resp(s, 1))])
    assert conn.http2.streams == 1 and conn.exchanges[0].request is None


def test_working_state_is_freed():
    conv = H2Conversation(MessageStore(), cleartext=True)
    data = start() + req(Encoder(), 1, "/")
    conv.data(0, data, 0, len(data), 4, 1000)
    assert conv.decoders[0] is not None and conv.decoders[1] is None  # made when first needed
    conv.close(0, 5, 2000)
    assert conv.readers[0] is None and conv.decoders[0] is None
    conv.data(0, data, 0, len(data), 6, 3000)  # bytes after the FIN are ignored, not an error
    conv.release()
    assert conv.readers == [None, None] and conv.decoders == [None, None] and not conv.exchanges
    assert len(conv.facts.activity) == 0


def test_goaway_close_finding_names_goaway_not_a_header(tmp_path):
    a, conn = _conn(tmp_path, [*_answered(0.02, 1), (0.022, "s", lambda c, s: goaway(1))], close="server",
                    close_t=0.023)  # fmt: skip
    finding = next(f for f in a.findings if f.kind == "connection-close")
    assert "sent GOAWAY" in finding.text and "Connection: close" not in finding.text + finding.advice


# -- a second review: regressions of the first fixes ----------------------------------------


@pytest.mark.parametrize(("last", "code"), [(0, 1), (1, 0xB)])
def test_an_error_goaway_is_an_error_close_not_a_stale_reuse(tmp_path, last, code):
    """GOAWAY PROTOCOL_ERROR / ENHANCE_YOUR_CALM with a request above its last stream: the
    connection error decides (the request was not refused for being late), with its code."""
    steps = [(0.1, "c", lambda c, s: req(c, 1))]
    if last:
        steps = [*_answered(0.1, 1), (0.2, "c", lambda c, s: req(c, 3))]
    steps.append((0.3, "s", lambda c, s: goaway(last, code)))
    a, conn = _conn(tmp_path, steps, close="server", close_t=0.301)
    assert conn.close.reason == "error-close"
    assert any(
        "GOAWAY" in e and ("PROTOCOL_ERROR" in e or "ENHANCE_YOUR_CALM" in e) for e in conn.close.evidence
    )
    assert not [f for f in a.findings if f.kind == "stale-reuse"]


def test_a_goaway_after_the_peers_fin_did_not_decide_the_close(tmp_path):
    """The client is done (FIN) and the server answers with GOAWAY then its own FIN: the
    client closed, nothing announced it (the GOAWAY came after)."""
    from tests.builders import CLIENT, SERVER, tcp_packet, write_pcap
    from tests.h2_synth import FIN, PUSH

    ce, se = Encoder(), Encoder()
    c, s, port = 1001, 5001, 40000
    out = [(0.0, tcp_packet(seq=1000, sport=port, flags=0x02)),
           (0.0001, tcp_packet(SERVER, CLIENT, 80, port, 5000, 1001, 0x12)),
           (0.0002, tcp_packet(seq=1001, ack=5001, sport=port))]  # fmt: skip
    a_ = start() + req(ce, 1)
    out.append((0.1, tcp_packet(seq=c, ack=s, sport=port, flags=PUSH, payload=a_)))
    c += len(a_)
    b = frame(SETTINGS, 0, 0) + resp(se, 1)
    out.append((0.101, tcp_packet(SERVER, CLIENT, 80, port, s, c, PUSH, b)))
    s += len(b)
    out.append((0.102, tcp_packet(seq=c, ack=s, sport=port, flags=FIN)))
    b = goaway(1)
    out.append((0.1021, tcp_packet(SERVER, CLIENT, 80, port, s, c + 1, PUSH, b)))
    out.append((0.1022, tcp_packet(SERVER, CLIENT, 80, port, s + len(b), c + 1, FIN)))
    write_pcap(str(tmp_path / "late.pcap"), out)
    conn = analyze(str(tmp_path / "late.pcap")).connections[0]
    assert (conn.close.reason, conn.close.by, conn.close.asked_by) == ("client-done", "client", None)
    assert not any("GOAWAY" in e for e in conn.close.evidence)


def test_a_server_reset_other_than_refused_leaves_the_request_judged(tmp_path):
    """RST_STREAM INTERNAL_ERROR after 5 s: the request waited and failed (named in the
    evidence); only REFUSED_STREAM means never processed."""
    steps = [
        *_answered(0.1, 1),
        (0.2, "c", lambda c, s: req(c, 3)),
        (5.2, "s", lambda c, s: rst(3, INTERNAL)),
    ]
    _, conn = _conn(tmp_path, steps, close="server", close_t=5.201)
    assert conn.close.reason == "request-timeout"
    assert any("RST_STREAM INTERNAL_ERROR" in e for e in conn.close.evidence)


def test_a_stale_reuse_without_a_goaway_is_marked_in_the_ladder(tmp_path):
    """Request 2 after 10 s idle answered by a TCP reset (no GOAWAY): the verdict is the TCP
    stale reuse, and the ladder marks the request and the reset as the problem (not 'above the
    GOAWAY's last stream', which nothing showed)."""
    from tests.builders import CLIENT, SERVER, tcp_packet, write_pcap
    from tests.h2_synth import PUSH

    ce, se = Encoder(), Encoder()
    c, s, port = 1001, 5001, 40000
    out = [(0.0, tcp_packet(seq=1000, sport=port, flags=0x02)),
           (0.0001, tcp_packet(SERVER, CLIENT, 80, port, 5000, 1001, 0x12)),
           (0.0002, tcp_packet(seq=1001, ack=5001, sport=port))]  # fmt: skip
    for t, side, data in ((0.1, "c", start() + req(ce, 1)), (0.101, "s", frame(SETTINGS, 0, 0) + resp(se, 1)),
                          (10.1, "c", req(ce, 3))):  # fmt: skip
        if side == "c":
            out.append((t, tcp_packet(seq=c, ack=s, sport=port, flags=PUSH, payload=data)))
            c += len(data)
        else:
            out.append((t, tcp_packet(SERVER, CLIENT, 80, port, s, c, PUSH, data)))
            s += len(data)
    out.append((10.1001, tcp_packet(SERVER, CLIENT, 80, port, s, 0, 0x04)))  # RST
    write_pcap(str(tmp_path / "rst.pcap"), out)
    a = analyze(str(tmp_path / "rst.pcap"))
    conn = a.connections[0]
    assert conn.close.reason == "stale-reuse"
    notes = [r.text for r in ladder_rows(a, conn) if isinstance(r, Note) and r.problem]
    assert any("stale reuse: request 2" in n for n in notes) and any("RST" in n for n in notes)
    assert not any("GOAWAY" in n for n in notes)


@pytest.mark.parametrize("wait", [0.002, 5.0])
def test_a_graceful_shutdown_is_an_announced_close(tmp_path, wait):
    """GOAWAY 2^31-1, one more stream answered, then (at once, or 5 s later as Envoy drains)
    GOAWAY naming it and FIN: a graceful shutdown, not a request limit nor an idle timeout
    (which would feed the timeout estimate)."""
    steps = [*_answered(0.1, 1), (1.0, "s", lambda c, s: goaway(LAST)), *_answered(1.0005, 3)]
    steps.append((1.0 + wait, "s", lambda c, s: goaway(3)))
    a, conn = _conn(tmp_path, steps, close="server", close_t=1.001 + wait)
    assert (conn.close.reason, conn.close.asked_by) == ("connection-close", "server")
    assert "shut the connection down gracefully" in conn.close.explanation
    assert not [t for t in a.timeouts if t.estimate_ns is not None]


def test_a_stream_the_client_cancelled_is_not_left_waiting(tmp_path):
    """The client resets stream 3 (CANCEL) after 0.1 s; 10 s later the server closes: an idle
    timeout, not a request that waited 10 s."""
    steps = [*_answered(0.1, 1), (0.2, "c", lambda c, s: req(c, 3)), (0.3, "c", lambda c, s: rst(3, 8))]
    _, conn = _conn(tmp_path, steps, close="server", close_t=10.3)
    assert conn.close.reason == "idle-timeout"


def test_a_goaway_before_anything_was_answered_turns_the_connection_away(tmp_path):
    """GOAWAY last stream 0 right after the first request, then FIN: nothing was reused, so no
    keep-alive race; the server turned the connection away (never processed, safe to retry)."""
    a, conn = _conn(tmp_path, [(0.1, "c", lambda c, s: req(c, 1)), (0.1001, "s", lambda c, s: goaway(0))],
                    close="server", close_t=0.101)  # fmt: skip
    assert (conn.close.reason, conn.close.asked_by) == ("connection-close", "server")
    assert "turned the connection away" in conn.close.explanation
    kinds = {f.kind for f in a.findings}
    assert "stale-reuse" not in kinds and "unanswered" not in kinds


def test_every_stream_refused_is_said_so_not_a_client_giving_up(tmp_path):
    """The server refuses the only stream (RST_STREAM REFUSED_STREAM, no GOAWAY), the client
    closes: the refusal is the answer, not a request the client gave up waiting for."""
    steps = [(0.1, "c", lambda c, s: req(c, 1)), (0.1001, "s", lambda c, s: rst(1, REFUSED))]
    a, conn = _conn(tmp_path, steps, close="client", close_t=0.101)
    assert conn.close.reason == "client-done"
    assert "refused every stream" in conn.close.explanation
    assert not [f for f in a.findings if f.kind in ("unanswered", "client-gave-up")]


def test_a_split_preface_with_the_servers_settings_first_is_http2(tmp_path):
    """The client's first byte 'P' is held (too short to tell), then the server's SETTINGS
    arrive and decide HTTP/2: the held 'P' is replayed to the HTTP/2 reader too."""
    ce, se = Encoder(), Encoder()
    body = start() + req(ce, 1)
    events = [(0.01, "c", body[:1]), (0.011, "s", frame(SETTINGS, 0, 0)), (0.012, "c", body[1:]),
              (0.013, "s", resp(se, 1))]  # fmt: skip
    conn = analyze(h2c_capture(tmp_path / "srvfirst.pcap", events)).connections[0]
    assert conn.http2 is not None and conn.requests == 1
    assert conn.exchanges[0].response is not None and conn.exchanges[0].response.status == 200
