"""ClientHello/ServerHello parsing: dpkt.ssl behind a wrapper, checked on real and mutated hellos.

dpkt raises on hostile hellos (NeedData, UnpackError, struct.error...) and reads extension blocks
without checking their lengths; the wrapper must turn all of that into "unreadable" (None),
and the extension contents katui reads itself must stay within bounds.
"""

from __future__ import annotations

import random
import time

import dpkt
import pytest
from dpkt import ssl

from katui.tls.hello import ClientHello, ServerHello, parse_client_hello, parse_server_hello
from tests.conftest import SAMPLES
from tests.tls_helpers import client_hello, server_hello

REAL = sorted((SAMPLES / "real").glob("tls-*.pcap"))


def _hellos_from(path) -> list[bytes]:
    """Handshake messages of type 1 or 2 that start a TCP payload (real captures' hellos)."""
    out = []
    with open(path, "rb") as fh:
        for _, raw in dpkt.pcap.Reader(fh):
            tcp = dpkt.ethernet.Ethernet(raw).data.data
            p = bytes(tcp.data)
            if len(p) > 9 and p[0] == 22 and p[5] in (1, 2):
                out.append(p[5:])
    return out


def _bodies() -> list[tuple[int, bytes]]:
    seeds = [client_hello(), client_hello(session_id=bytes(32), tls13=False), server_hello()]
    seeds += [server_hello(0x0303, bytes(32), 0xC02F, "http/1.1", True)]
    for path in REAL:
        seeds += _hellos_from(path)
    return [(m[0], m[4 : 4 + int.from_bytes(m[1:4], "big")]) for m in seeds]


def test_real_hellos_are_read():
    assert REAL, "samples/real/tls-*.pcap missing"
    hellos = _hellos_from(SAMPLES / "real" / "tls-tls13-curl.pcap")
    ch = parse_client_hello(hellos[0][4:])
    sh = parse_server_hello(hellos[1][4:])
    assert ch.sni == "localhost" and ch.alpn == ("h2", "http/1.1") and 0x0304 in ch.versions
    assert sh.version == 0x0304 and sh.cipher == 0x1302 and not sh.psk


def _mutate(rng: random.Random, body: bytes) -> bytes:
    b = bytearray(body)
    for _ in range(rng.randrange(1, 4)):
        op = rng.randrange(5)
        if op == 0 and b:  # flip a byte
            b[rng.randrange(len(b))] = rng.randrange(256)
        elif op == 1:  # cut it short
            del b[rng.randrange(len(b) + 1) :]
        elif op == 2:  # insert junk
            i = rng.randrange(len(b) + 1)
            b[i:i] = bytes(rng.randrange(256) for _ in range(rng.randrange(1, 20)))
        elif op == 3 and len(b) > 40:  # a length byte near the lengths that matter
            b[rng.choice((34, 35, 36, len(b) - rng.randrange(1, 40)))] = rng.choice((0, 1, 0x7F, 0xFF))
        elif op == 4:  # duplicate a slice
            i = rng.randrange(len(b) + 1)
            b[i:i] = b[i : i + rng.randrange(1, 64)]
    return bytes(b)


def test_thousands_of_mutated_hellos_never_raise_and_stay_fast():
    rng = random.Random(1414)
    bodies = _bodies()
    dpkt_failures: dict[str, int] = {}
    parsed = unreadable = 0
    t0 = time.perf_counter()
    for i in range(4000):
        mtype, body = bodies[i % len(bodies)]
        m = _mutate(rng, body)
        cls, ours = (
            (ssl.TLSClientHello, parse_client_hello)
            if mtype == 1
            else (ssl.TLSServerHello, parse_server_hello)
        )
        try:
            cls(m)
        except Exception as exc:  # what the wrapper has to absorb
            dpkt_failures[type(exc).__name__] = dpkt_failures.get(type(exc).__name__, 0) + 1
        got = ours(m)
        assert got is None or isinstance(got, ClientHello | ServerHello)
        if got is None:
            unreadable += 1
        else:
            parsed += 1
            if isinstance(got, ClientHello):
                assert len(got.alpn) <= 16 and (got.sni is None or len(got.sni) <= 255)
    assert time.perf_counter() - t0 < 20
    assert parsed > 1000 and unreadable > 100
    assert sum(dpkt_failures.values()) == unreadable  # every failure is dpkt's, and absorbed
    assert len(dpkt_failures) >= 2, dpkt_failures  # several kinds of exceptions, not one


@pytest.mark.parametrize("junk", [b"", b"\x03", b"\x03\x03" + bytes(31), bytes(200), b"\xff" * 300])
def test_junk_is_unreadable_not_an_error(junk):
    assert parse_client_hello(junk) is None or isinstance(parse_client_hello(junk), ClientHello)
    assert parse_server_hello(junk) is None or isinstance(parse_server_hello(junk), ServerHello)
