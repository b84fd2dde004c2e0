"""Capture reading: formats, link types, timestamps, truncation, errors."""

from __future__ import annotations

import gzip
import shutil
import socket
import struct
from dataclasses import replace

import pytest

from katui.analysis.pipeline import analyze
from katui.capture.decode import endpoint_number
from katui.capture.errors import CaptureError
from katui.capture.reader import open_capture
from katui.model.connection import FIELDS
from katui.tcp import facts as tcp_facts
from tests.builders import conversation, epb, idb, shb, tcp_packet, write_pcap
from tests.conftest import SAMPLES, capture_path

REQ = b"GET /x HTTP/1.1\r\nHost: a\r\n\r\n"
RESP = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"


def _pkts():
    return conversation([REQ, REQ], [RESP, RESP])


@pytest.mark.parametrize("nano", [False, True])
def test_pcap_micro_and_nano_timestamps_are_integer_ns(tmp_path, nano):
    p = tmp_path / "c.pcap"
    write_pcap(p, _pkts(), nano=nano)
    a = analyze(str(p))
    assert a.frames == len(_pkts())
    assert all(isinstance(t, int) for t in a.table.ts)
    # Handshake + first exchange take 5 ms, then 0.5 s idle before the second request (frame 7).
    assert a.table.ts[6] - a.table.ts[0] == pytest.approx(0.505e9, abs=1500)
    assert a.connections[0].requests == 2


def test_big_endian_pcap_is_read(tmp_path):
    little = tmp_path / "le.pcap"
    write_pcap(little, _pkts())
    raw = little.read_bytes()
    # Rewrite every header field big-endian: file header, then each record header.
    out = bytearray(struct.pack(">IHHiIII", *struct.unpack("<IHHiIII", raw[:24])))
    pos = 24
    while pos < len(raw):
        sec, frac, cap, wire = struct.unpack_from("<IIII", raw, pos)
        out += struct.pack(">IIII", sec, frac, cap, wire) + raw[pos + 16 : pos + 16 + cap]
        pos += 16 + cap
    big = tmp_path / "be.pcap"
    big.write_bytes(bytes(out))
    a, b = analyze(str(little)), analyze(str(big))
    assert list(a.table.ts) == list(b.table.ts)
    assert [c.requests for c in a.connections] == [c.requests for c in b.connections] == [2]


def test_corpus_nanosecond_big_endian():
    a = analyze(str(capture_path("pcapplusplus__nanosecs_big_endian.pcap")))
    assert a.frames == 10 and a.requests == 1
    assert any(t % 1000 for t in a.table.ts), "nanosecond digits must survive"


def test_pcapng_interfaces_with_different_link_types_and_resolutions(tmp_path):
    """dpkt's pcapng reader honours only the first IDB (dpkt #681); katui reads each one."""
    pkts = _pkts()
    eth = b"\x00" * 12 + b"\x08\x00"
    blocks = shb() + idb(1) + idb(101, tsresol=9)  # if0 Ethernet µs, if1 raw IP ns
    for i, (t, ip) in enumerate(pkts):
        if i % 2:
            blocks += epb(1, int(t * 1e9) + 1_000_000_000, ip)
        else:
            blocks += epb(0, int(t * 1e6) + 1_000_000, eth + ip)
    p = tmp_path / "multi.pcapng"
    p.write_bytes(blocks)
    a = analyze(str(p))
    assert a.frames == len(pkts)
    assert a.link_types == ["ether", "rawip"]
    for i, (t, _) in enumerate(pkts):
        assert a.table.ts[i] == pytest.approx(int(t * 1e9) + 1_000_000_000, abs=1000)
    assert a.connections[0].requests == 2
    assert a.connections[0].close.reason == "idle-timeout"


def test_pcapng_second_section_big_endian(tmp_path):
    pkts = _pkts()
    first = shb() + idb(101) + b"".join(epb(0, int(t * 1e6), ip) for t, ip in pkts[:4])
    second = shb(">") + idb(228, endian=">") + b"".join(epb(0, int(t * 1e6), ip, ">") for t, ip in pkts[4:])
    p = tmp_path / "two.pcapng"
    p.write_bytes(first + second)
    a = analyze(str(p))
    assert a.frames == len(pkts)
    assert a.connections[0].requests == 2


def test_gzip_capture_is_read_transparently(tmp_path):
    src = SAMPLES / "httptest.pcap"
    gz = tmp_path / "httptest.pcap.gz"
    with open(src, "rb") as fh, gzip.open(gz, "wb") as out:
        shutil.copyfileobj(fh, out)
    a, b = analyze(str(src)), analyze(str(gz))
    assert a.frames == b.frames == 25
    assert a.capture.compressed is False and b.capture.compressed is True
    assert [c.close.reason for c in a.connections] == [c.close.reason for c in b.connections]
    assert b.payload(4).startswith(b"GET /httptest")


def test_truncated_capture_keeps_what_was_read_and_warns(tmp_path):
    raw = (SAMPLES / "httptest.pcap").read_bytes()
    p = tmp_path / "cut.pcap"
    p.write_bytes(raw[: len(raw) - 30])
    a = analyze(str(p))
    assert a.frames == 24
    assert any("truncated" in w for w in a.warnings)
    assert a.connections[0].requests == 2


@pytest.mark.parametrize(
    "name, linktype",
    [
        ("lwerdna__simple_http_sll2.pcap", "linux-sll2"),
        ("pcapplusplus__sll.pcap", "linux-sll"),
        ("suricata__http-ipv6.pcap", "null"),
        ("zeek__spicy_gap-recovery.pcap", "null"),
        ("zeek__nflog-http.pcap", "nflog"),
        ("arkime__80211http.pcap", "ieee-802-11-radiotap"),
        ("pcapplusplus__four_ipv6_http_streams.pcap", "rawip"),
        ("pcapplusplus__raw_ip.pcap", "rawip"),
        ("zeek__http-qinq-0.pcap", "ether"),
        ("pcapplusplus__one_http_stream_rst.pcap", "ether"),
    ],
)
def test_link_types_from_real_captures(name, linktype):
    a = analyze(str(capture_path(name)))
    assert a.link_types == [linktype]
    assert a.requests >= 1


@pytest.mark.parametrize("linktype", [12, 14, 101, 228])
def test_raw_ip_linktype_values(tmp_path, linktype):
    """Raw IP appears as 101 in files, 12/14 on old BSDs, 228 for IPv4-only (dpkt maps 101->12)."""
    p = tmp_path / "raw.pcap"
    write_pcap(p, _pkts(), linktype=linktype, wrap=None)
    assert analyze(str(p)).connections[0].requests == 2


@pytest.mark.parametrize(
    "linktype, header", [(0, struct.pack("<I", 2)), (0, struct.pack(">I", 2)), (108, struct.pack(">I", 2))]
)
def test_bsd_null_and_loop(tmp_path, linktype, header):
    p = tmp_path / "null.pcap"
    write_pcap(p, _pkts(), linktype=linktype, wrap=lambda ip: header + ip)
    assert analyze(str(p)).connections[0].requests == 2


def test_ipv6_endpoints_are_bracketed():
    a = analyze(str(capture_path("pcapplusplus__four_ipv6_http_streams.pcap")))
    assert all(c.client.startswith("[") and "]:" in c.server for c in a.connections)


@pytest.mark.parametrize(
    "content, message",
    [
        (b"", "empty file"),
        (b"hello world, not a capture", "not a pcap or pcapng"),
        (b"\xd4\xc3\xb2\xa1\x02\x00", "header is cut short"),
    ],
)
def test_unreadable_files_raise_one_line_errors(tmp_path, content, message):
    p = tmp_path / "bad.pcap"
    p.write_bytes(content)
    with pytest.raises(CaptureError, match=message) as exc:
        open_capture(str(p))
    assert "\n" not in str(exc.value)


def test_unsupported_link_type(tmp_path):
    p = tmp_path / "usb.pcap"
    write_pcap(p, [(0.0, tcp_packet())], linktype=189, wrap=None)
    with pytest.raises(CaptureError, match="unsupported link type 189"):
        open_capture(str(p))


def test_missing_file_and_directory(tmp_path):
    with pytest.raises(CaptureError, match="no such file"):
        open_capture(str(tmp_path / "nope.pcap"))
    with pytest.raises(CaptureError, match="directory"):
        open_capture(str(tmp_path))


@pytest.mark.parametrize(
    "ip", [bytes(4), b"\xff\xff\xff\xff", bytes([10, 0, 9, 100]), bytes([192, 168, 1, 7]), bytes(16),
           bytes(15) + b"\x01", bytes([0x20, 0x01, 0x0D, 0xB8]) + bytes(11) + b"\x01"],
)  # fmt: skip
@pytest.mark.parametrize("port", [0, 80, 65535])
def test_an_endpoint_is_written_as_inet_ntop_writes_its_address(ip, port):
    family = socket.AF_INET if len(ip) == 4 else socket.AF_INET6
    address = socket.inet_ntop(family, ip)
    want = f"{address}:{port}" if len(ip) == 4 else f"[{address}]:{port}"
    assert tcp_facts.endpoint(ip, port) == want
    # ... and from its endpoint number (as the freeze writes a connection's ends)
    assert tcp_facts.endpoint_text(endpoint_number(ip, port)) == want


@pytest.mark.parametrize("name", ["request-limit.pcap", "stale-reuse.pcap", "hostile.pcap", "http10.pcap"])
def test_a_frozen_connection_is_the_one_its_constructor_makes(name):
    """The freeze sets a Connection's fields one by one (katui.tcp.facts): every one is set, as
    Connection() sets it from the same values."""
    for c in analyze(str(SAMPLES / name)).connections:
        made = replace(c)  # Connection(**fields) through its __init__
        assert [getattr(made, f) for f in FIELDS] == [getattr(c, f) for f in FIELDS]
        assert (made._rtt, made._rtt_known) == (c._rtt, c._rtt_known)
