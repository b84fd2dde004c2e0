"""katui against Wireshark: stream numbers, frames, request/response frames, closers.

Expected values come from `tshark -2` (tests/expected/*.json, made by
tests/oracle/make_expected.py with tshark 4.0.17). Streams and frames must agree exactly.
Request/response frames must agree except for these documented, legitimate differences:

A. tshark-only frames that katui marks as TCP retransmissions: Wireshark dissects a
   retransmitted segment that holds a whole HTTP message a second time; katui counts the
   message once, at the original frame.
B. katui-only frames of messages katui marks incomplete (bytes missing from the capture):
   tshark's reassembly never completes such a message, katui reports it with complete=False.
C. katui-only frames on connections with out-of-order or retransmitted segments: tshark's
   default (tcp.reassemble_out_of_order: FALSE) gives up on out-of-order data, and its
   sequence analysis can take a first transmission for a retransmission after a confusing
   handshake (suricata__tls-subjectaltname stream 35, frame 2005); katui reassembles by
   sequence number. With -o tcp.reassemble_out_of_order:TRUE tshark agrees on e.g.
   zeek__http_206_example_b frame 953.
D. katui-only frames on streams where tshark recognised no HTTP at all: katui detects
   HTTP/1.x by content on any port.
F. tshark-only frames of messages whose segment was cut by the snap length and whose body
   never arrived (stalled or cut captures): tshark dissects what it has at that frame; katui
   keeps the message as incomplete (no completion frame), starting at that frame.
E. katui-only requests whose method is a UPnP GENA one (NOTIFY, SUBSCRIBE, UNSUBSCRIBE):
   Wireshark flags those as ``http.notification``, not ``http.request``; for keep-alive they
   are requests like any other.
G. katui-only HTTP/2 messages after an h2c Upgrade (samples/real/apache-h2c-*.pcap): Wireshark
   decodes them (``http2`` HEADERS, checked in tests/test_h2c_upgrade.py) but ``http.request`` /
   ``http.response`` are its HTTP/1.x fields. The upgraded request and its 101 are in both;
   Wireshark pairs the 101 with the request (``http.response_in``), katui too, as the request's
   interim response: its final response is the HEADERS on stream 1 (RFC 7540 3.2).
"""

from __future__ import annotations

import json

import pytest

from katui.model import NOTE_RETRANSMISSION, NOTE_TRUNCATED
from tests.conftest import CORPUS, EXPECTED, SAMPLES, analysed

GENA = {"NOTIFY", "SUBSCRIBE", "UNSUBSCRIBE"}
CASES = sorted(p.name for p in EXPECTED.glob("*.json"))


def _load(name: str):
    exp = json.loads((EXPECTED / name).read_text())
    path = SAMPLES / exp["file"]
    if not path.exists():
        path = SAMPLES / "real" / exp["file"]
    if not path.exists():
        path = CORPUS / exp["file"]
    if not path.exists():
        pytest.skip(f"{exp['file']} not available")
    return exp, analysed(str(path))


def _messages(a, want_request: bool):
    out = {}
    for c in a.connections:
        for e in c.exchanges:
            msgs = [e.request] if want_request else [*e.informational, e.response]
            for m in msgs:
                if m is not None and m.frame is not None:
                    out.setdefault(m.frame, (c, m))
    return out


def _incomplete_starts(a, want_request: bool) -> set[int]:
    """First frames of messages that never completed, in frames the snap length cut (F)."""
    out = set()
    for c in a.connections:
        for e in c.exchanges:
            m = e.request if want_request else e.response
            if m is not None and not m.complete and a.table.notes[m.first_frame - 1] & NOTE_TRUNCATED:
                out.add(m.first_frame)
    return out


@pytest.mark.parametrize("name", CASES)
def test_frames_and_streams_match_tshark(name):
    exp, a = _load(name)
    assert a.frames == exp["frames"]
    mine = {i + 1: s for i, s in enumerate(a.table.stream) if s >= 0}
    theirs = {int(f): s for f, s in exp["stream_of_frame"].items()}
    assert mine == theirs
    assert len(a.connections) == len(exp["streams"])
    for sid, st in exp["streams"].items():
        c = a.connections[int(sid)]
        assert (c.first_frame, c.last_frame, c.frame_count) == (
            st["first_frame"],
            st["last_frame"],
            st["frame_count"],
        ), f"stream {sid}"
        assert list(c.close.rst_frames) == st["rst_frames"], f"stream {sid}"
        closing = sorted(st["fin_frames"] + st["rst_frames"])
        # Deliberate difference: a connection that survives an RST (the client sends its SYN
        # again, same ISN, and tshark keeps the tcp.stream) was not ended by that RST; katui's
        # close is the first FIN/RST after the last SYN (the RST stays in rst_frames).
        last_syn = max(st["syn_frames"], default=0)
        if any(f < last_syn for f in st["rst_frames"]):
            closing = [f for f in closing if f > last_syn]
        assert c.close.frame == (closing[0] if closing else None), f"stream {sid}"


@pytest.mark.parametrize("name", CASES)
@pytest.mark.parametrize("kind", ["request", "response"])
def test_http_frames_match_tshark(name, kind):
    exp, a = _load(name)
    theirs = set(exp[f"http_{kind}_frames"])
    mine_map = _messages(a, kind == "request")
    mine = set(mine_map)
    http_streams = {
        exp["stream_of_frame"][str(f)] for f in exp["http_request_frames"] + exp["http_response_frames"]
    }
    started = _incomplete_starts(a, kind == "request")
    only_tshark = {
        f for f in theirs - mine if not a.table.notes[f - 1] & NOTE_RETRANSMISSION and f not in started
    }
    only_katui = set()
    for f in mine - theirs:
        c, m = mine_map[f]
        if m.method in GENA or (c.http2 is not None and c.http2.upgrade_frame and m.version == "HTTP/2"):
            continue
        if m.complete and not (c.out_of_order or c.retransmissions) and c.stream in http_streams:
            only_katui.add(f)
    assert not only_tshark, f"tshark shows HTTP {kind}s katui misses: {sorted(only_tshark)}"
    assert not only_katui, f"katui shows HTTP {kind}s tshark does not: {sorted(only_katui)}"


@pytest.mark.parametrize("name", CASES)
def test_responses_paired_like_tshark(name):
    exp, a = _load(name)
    pairs = {}
    for c in a.connections:
        for e in c.exchanges:
            if e.response is not None and e.request is not None and e.response.frame:
                pairs[e.response.frame] = e.request.frame
            if c.http2 is not None and c.http2.upgrade_frame and e.request is not None:  # (G)
                for i in e.informational:
                    pairs[i.frame] = e.request.frame
    checked = 0
    for resp, req in exp["response_request_in"].items():
        if int(resp) in pairs:
            assert pairs[int(resp)] == req, f"response frame {resp}"
            checked += 1
    answered = {int(r) for r in exp["response_request_in"]}
    if answered and not answered <= _incomplete_starts(a, False):  # all cut (F): nothing to pair
        assert checked > 0
