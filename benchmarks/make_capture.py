#!/usr/bin/env python3
"""Deterministic generator of a large, realistic HTTP/1.1 keep-alive pcap.

Simulates an open-loop load test (Poisson connection arrivals) from ~50 client
IPs (10.x.x.x) against nginx on 10.0.0.1:80, captured on the server side.

Everything is derived from ``--seed``: the same arguments always produce a
byte-identical file.  No network access, no third-party packages.

Traffic mix (per connection):

* short: one request carrying ``Connection: close``; server answers with
  ``Connection: close`` and closes first (FIN).
* keep-alive: 2..N requests (HTTP/1.1 default persistence), then one of
    - client close: the client sends FIN after its last request;
    - server request limit: nginx ``keepalive_requests`` (default 10): the
      10th response carries ``Connection: close`` followed by the server FIN;
    - idle timeout: nginx ``keepalive_timeout`` 5 s: server FIN ~5 s after
      the last response;
    - stale reuse: like idle timeout, but the client sends one more request
      right after the server FIN; the server answers with RST;
    - client abort: the client sends RST/ACK after its last response.

Full TCP: 3-way handshake (MSS/SACK/TS/WS options), exact seq/ack numbers,
TCP timestamps on every segment, responses split into MSS-sized (1448 byte)
segments with slow-start rounds, delayed/pure ACKs, FIN teardown.  IP and TCP
checksums are correct.  Ephemeral ports come from a small pool per client IP
and are reused once the previous connection on the 4-tuple has finished (after
a FIN exchange or RST), like a load generator with tcp_tw_reuse.

Usage: python benchmarks/make_capture.py OUT.pcap [--packets N] [--seed S]
"""

from __future__ import annotations

import argparse
import heapq
import json
import math
import random
import struct
import sys
import time
import zlib
from collections import Counter

# --- constants --------------------------------------------------------------

SERVER_IP = (10, 0, 0, 1)
SERVER_PORT = 80
SERVER_MAC = bytes.fromhex("525400a10001")
MSS = 1448  # 1460 - 12 bytes of TCP timestamp option
SNAPLEN = 262144
EPOCH_US = 1_700_470_800 * 1_000_000  # 2023-11-20 09:00:00 UTC
KEEPALIVE_TIMEOUT_US = 5_000_000  # nginx keepalive_timeout 5s
DELAYED_ACK_US = 40_000

FIN, SYN, RST, PSH, ACK = 0x01, 0x02, 0x04, 0x08, 0x10

_pack_rec = struct.Struct("<IIII").pack
_pack_ip = struct.Struct("!BBHHHBBH4s4s").pack
_pack_tcp = struct.Struct("!HHIIBBHHH").pack
_pack_ts = struct.Struct("!BBBBII").pack  # NOP NOP TS(8,10) tsval tsecr

USER_AGENTS = [
    b"wrk/4.2.0",
    b"k6/0.47.0 (https://k6.io/)",
    b"Go-http-client/1.1",
    b"hey/0.0.1",
    b"python-requests/2.31.0",
    b"curl/8.4.0",
    b"locust/2.18.0",
    b"Apache-HttpClient/4.5.14 (Java/17.0.9)",
    b"Mozilla/5.0 (X11; Linux x86_64; rv:120.0) Gecko/20100101 Firefox/120.0",
    b"okhttp/4.12.0",
]

NOT_FOUND_BODY = (
    b"<html>\r\n<head><title>404 Not Found</title></head>\r\n<body>\r\n"
    b"<center><h1>404 Not Found</h1></center>\r\n<hr><center>nginx/1.24.0</center>\r\n"
    b"</body>\r\n</html>\r\n"
)

WORDS = (
    b"alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu nu xi "
    b"omicron pi rho sigma tau upsilon phi chi psi omega keep alive connection "
    b"request response header body stream socket window segment nginx load test"
).split()


def png(n: int, idat: bytes) -> bytes:
    """A structurally valid PNG (chunks and CRCs) with an opaque IDAT payload."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack("!I", len(data)) + kind + data + struct.pack("!I", zlib.crc32(kind + data))

    w, h = 64 + n % 512, 48 + n % 384
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack("!IIBBBBB", w, h, 8, 6, 0, 0, 0))
        + chunk(b"IDAT", idat)
        + chunk(b"IEND", b"")
    )


def _ones_fold(s: int) -> int:
    s = (s & 0xFFFF) + (s >> 16)
    s = (s & 0xFFFF) + (s >> 16)
    return s


def _word_sum(b: bytes) -> int:
    return sum(struct.unpack(f"!{len(b) // 2}H", b))


def _tiered(rng: random.Random, common, uncommon, rare) -> int:
    """A duration in µs: 80 % from ``common``, 17 % ``uncommon``, 3 % ``rare`` (lo, hi) ranges."""
    p = rng.random()
    lo, hi = common if p < 0.80 else uncommon if p < 0.97 else rare
    return rng.randrange(lo, hi)


class Clock:
    """Caches HTTP Date strings per second."""

    def __init__(self) -> None:
        self.cache: dict[int, bytes] = {}

    def date(self, ts_us: int) -> bytes:
        sec = ts_us // 1_000_000
        d = self.cache.get(sec)
        if d is None:
            d = time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime(sec)).encode()
            if len(self.cache) > 4096:
                self.cache.clear()
            self.cache[sec] = d
        return d


class Client:
    __slots__ = (
        "ip",
        "ipb",
        "mac",
        "rtt",
        "ua",
        "host",
        "ka_header",
        "enc",
        "ports",
        "next_port",
        "weight",
        "ttl",
        "ncon",
    )


class Stats:
    def __init__(self) -> None:
        self.packets = 0
        self.bytes = 0  # bytes of frames (sum of orig_len)
        self.connections = 0
        self.requests = 0  # requests sent by clients
        self.responses = 0  # responses sent by the server
        self.endings: Counter[str] = Counter()
        self.status: Counter[int] = Counter()
        self.reused = 0  # connections started on a previously used 4-tuple
        self.first_us = None
        self.last_us = 0
        self.max_ports = 0


# --- payloads ----------------------------------------------------------------


class Payloads:
    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        words = [rng.choice(WORDS) for _ in range(120_000)]
        self.text = b" ".join(words)[: 1 << 19]
        self.binary = rng.randbytes(1 << 19)
        self.clock = Clock()

    def filler(self, n: int, binary: bool = False) -> bytes:
        buf = self.binary if binary else self.text
        off = self.rng.randrange(0, len(buf) - n - 1)
        return buf[off : off + n]

    def request(self, cl: Client, close: bool) -> tuple[bytes, tuple]:
        """Returns (request bytes, response plan)."""
        r = self.rng.random()
        rng = self.rng
        extra = b""
        body = b""
        method = b"GET"
        if r < 0.42:
            n = rng.randrange(1, 500_000)
            path = b"/api/items?id=%d" % n
            plan = ("json", rng.randrange(60, 1100), n)
        elif r < 0.50:
            path = b"/api/search?q=%s&page=%d" % (rng.choice(WORDS), rng.randrange(1, 20))
            plan = ("json", rng.randrange(600, 3000), 0)
        elif r < 0.57:
            h = rng.randrange(16**8)
            path = b"/static/app.%08x.js" % h
            if rng.random() < 0.6:
                extra = b'If-None-Match: "6559a3f0-%x"\r\n' % (h & 0xFFFFF)
                plan = ("304", 0, h)
            else:
                plan = ("static", rng.choice((1800, 3100, 5600, 9800, 24000)), h)
        elif r < 0.61:
            path = b"/static/style.css"
            if rng.random() < 0.6:
                extra = b'If-None-Match: "6559a3f0-2f1c"\r\n'
                plan = ("304", 0, 0x2F1C)
            else:
                plan = ("static_css", 6150, 0x2F1C)
        elif r < 0.70:
            n = rng.randrange(1, 5000)
            path = b"/img/%d.png" % n
            size = int(rng.lognormvariate(7.0, 0.8))
            plan = ("png", max(120, min(size, 60000)), n)
        elif r < 0.76:
            path = b"/"
            plan = ("html", 612, 0)
        elif r < 0.85:
            path = b"/health"
            plan = ("health", 2, 0)
        elif r < 0.90:
            method = b"POST"
            path = b"/api/events"
            n = rng.randrange(1, 10**9)
            body = b'{"event":"%s","ts":%d,"v":%d}' % (rng.choice(WORDS), n, rng.randrange(1000))
            extra = b"Content-Type: application/json\r\nContent-Length: %d\r\n" % len(body)
            plan = ("204", 0, 0)
        elif r < 0.95:
            path = b"/old/%s/%d" % (rng.choice(WORDS), rng.randrange(1000))
            plan = ("404", 0, 0)
        else:
            n = rng.randrange(1, 100_000)
            path = b"/api/stream?id=%d" % n
            plan = ("chunked", rng.randrange(1, 5), n)
        conn = b"Connection: close\r\n" if close else cl.ka_header
        req = (
            method
            + b" "
            + path
            + b" HTTP/1.1\r\nHost: "
            + cl.host
            + b"\r\nUser-Agent: "
            + cl.ua
            + b"\r\nAccept: */*\r\n"
            + cl.enc
            + extra
            + conn
            + b"\r\n"
            + body
        )
        return req, plan

    def response(self, plan: tuple, ts_us: int, close: bool) -> tuple[bytes, int]:
        kind, size, n = plan
        date = self.clock.date(ts_us)
        conn = b"Connection: close\r\n" if close else b"Connection: keep-alive\r\n"
        head = b"Server: nginx/1.24.0\r\nDate: " + date + b"\r\n"
        if kind == "json":
            pre = b'{"id":%d,"name":"item-%d","data":"' % (n, n)
            body = pre + self.filler(max(0, size - len(pre) - 2)) + b'"}'
            return (
                b"HTTP/1.1 200 OK\r\n" + head + b"Content-Type: application/json\r\n"
                b"Content-Length: %d\r\n" % len(body) + conn + b"\r\n" + body,
                200,
            )
        if kind in ("static", "static_css", "png", "html"):
            ctype = {
                "static": b"application/javascript",
                "static_css": b"text/css",
                "png": b"image/png",
                "html": b"text/html",
            }[kind]
            if kind == "png":
                body = png(n, self.filler(size - 57, binary=True))
            elif kind == "html":
                body = (
                    b"<!DOCTYPE html>\n<html><head><title>Welcome to nginx!</title></head><body>"
                    + self.filler(size - 100)
                    + b"</body></html>\n"
                )
                body = body[:size]
            else:
                body = self.filler(size)
            return (
                b"HTTP/1.1 200 OK\r\n" + head + b"Content-Type: " + ctype + b"\r\n"
                b"Content-Length: %d\r\n"
                % len(body)
                + b"Last-Modified: Sun, 19 Nov 2023 08:00:00 GMT\r\n"
                + conn
                + b'ETag: "6559a3f0-%x"\r\nAccept-Ranges: bytes\r\n\r\n' % (n & 0xFFFFF)
                + body,
                200,
            )
        if kind == "health":
            return (
                b"HTTP/1.1 200 OK\r\n" + head + b"Content-Type: text/plain\r\n"
                b"Content-Length: 2\r\n" + conn + b"\r\nOK",
                200,
            )
        if kind == "304":
            return (
                b"HTTP/1.1 304 Not Modified\r\n"
                + head
                + b"Last-Modified: Sun, 19 Nov 2023 08:00:00 GMT\r\n"
                + conn
                + b'ETag: "6559a3f0-%x"\r\n\r\n' % (n & 0xFFFFF),
                304,
            )
        if kind == "204":
            return b"HTTP/1.1 204 No Content\r\n" + head + conn + b"\r\n", 204
        if kind == "404":
            return (
                b"HTTP/1.1 404 Not Found\r\n" + head + b"Content-Type: text/html\r\n"
                b"Content-Length: %d\r\n" % len(NOT_FOUND_BODY) + conn + b"\r\n" + NOT_FOUND_BODY,
                404,
            )
        # chunked
        sizes = [self.rng.randrange(100, 1200) for _ in range(size)]
        while True:
            parts = []
            for n_ in sizes:
                c = self.filler(n_)
                parts.append(b"%x\r\n" % len(c) + c + b"\r\n")
            parts.append(b"0\r\n\r\n")
            resp = (
                b"HTTP/1.1 200 OK\r\n" + head + b"Content-Type: application/x-ndjson\r\n"
                b"Transfer-Encoding: chunked\r\n" + conn + b"\r\n" + b"".join(parts)
            )
            # tshark 4.0 reports "Malformed Packet" when the final 0\r\n\r\n is split across
            # two segments; nudge the first chunk so the terminator stays in one segment.
            if not 0 < len(resp) % MSS < 5:
                return resp, 200
            sizes[0] += 5


# --- connection simulation ------------------------------------------------------


class Generator:
    def __init__(
        self, seed: int, packets: int, clients: int, keepalive_requests: int, duration: float | None
    ) -> None:
        self.rng = random.Random(seed)
        self.target = packets
        self.ka_limit = keepalive_requests
        self.stats = Stats()
        self.pay = Payloads(random.Random(seed ^ 0x5EED))
        # ~18.3 packets per connection on average (calibrated)
        est_conns = max(1, packets / 18.3)
        if duration is None:
            duration = min(100.0, max(10.0, 80.0 * packets / 1_000_000))
        self.rate = est_conns / duration / 1e6  # connections per microsecond
        self.clients = self._make_clients(clients)
        self.weights = [c.weight for c in self.clients]
        self.srv_ipb = bytes(SERVER_IP)

    def _make_clients(self, n: int) -> list[Client]:
        rng = self.rng
        out = []
        seen = set()
        for i in range(n):
            while True:
                ip = (10, rng.randrange(1, 255), rng.randrange(0, 256), rng.randrange(2, 255))
                if ip not in seen and ip[:3] != (10, 0, 0):
                    seen.add(ip)
                    break
            c = Client()
            c.ip = ip
            c.ipb = bytes(ip)
            c.mac = bytes((0x02, 0x42, *ip))
            c.rtt = int(rng.choice((150, 300, 600, 1200, 2500, 8000)) * rng.uniform(0.8, 1.25))
            c.ua = USER_AGENTS[i % len(USER_AGENTS)]
            c.host = rng.choice((b"10.0.0.1", b"shop.example.test", b"api.example.test"))
            c.ka_header = rng.choice((b"", b"", b"Connection: keep-alive\r\n"))
            c.enc = rng.choice((b"", b"Accept-Encoding: gzip\r\n", b"Accept-Encoding: gzip, deflate, br\r\n"))
            base = rng.randrange(32768, 60000) & ~1
            # pool of (free_at_us, port, used_before); grows only when every port is busy
            c.ports = []
            c.next_port = base
            c.weight = rng.uniform(0.5, 1.5)
            c.ttl = 64 if rng.random() < 0.7 else 63
            c.ncon = 0
            out.append(c)
        return out

    def _take_port(self, c: Client, start: int) -> tuple[int, bool]:
        rng = self.rng
        free = [i for i, (t, _p, _u) in enumerate(c.ports) if t <= start]
        if free:
            i = rng.choice(free)
            _t, port, _u = c.ports[i]
            c.ports[i] = (1 << 62, port, True)  # busy until finished
            return port, True
        port = c.next_port
        c.next_port += 2
        if c.next_port > 60998:
            c.next_port = 32768
        c.ports.append((1 << 62, port, True))
        if len(c.ports) > self.stats.max_ports:
            self.stats.max_ports = len(c.ports)
        return port, False

    def _release_port(self, c: Client, port: int, free_at: int) -> None:
        for i, (_t, p, u) in enumerate(c.ports):
            if p == port:
                c.ports[i] = (free_at, p, u)
                return

    # -- one connection: returns the sorted list of (ts_us, record bytes) ----
    def connection(self, start: int) -> list[tuple[int, bytes]]:
        rng = self.rng
        st = self.stats
        c = rng.choices(self.clients, self.weights)[0]
        port, reused = self._take_port(c, start)
        if reused:
            st.reused += 1
        st.connections += 1
        c.ncon += 1

        rtt = int(c.rtt * rng.uniform(0.9, 1.15))
        ev: list[tuple] = []  # (ts, dir, flags, seq, ack, win, payload); dir 0 = c2s
        add = ev.append
        cs = rng.getrandbits(32)
        ss = rng.getrandbits(32)
        cwin = 502
        swin = 509

        # plan
        r = rng.random()
        if r < 0.25:
            kind = "short"
            nreq = 1
        else:
            if rng.random() < 0.13:
                nreq = rng.randrange(self.ka_limit, 21)
            else:
                nreq = rng.choices(range(2, 10), (24, 19, 15, 12, 10, 8, 7, 5))[0]
            if nreq >= self.ka_limit:
                nreq = self.ka_limit
                kind = "server_limit"
            else:
                e = rng.random()
                if e < 0.52:
                    kind = "client_close"
                elif e < 0.93:
                    kind = "idle_timeout"
                elif e < 0.97:
                    kind = "stale_reuse_rst"
                else:
                    kind = "client_rst"
        st.endings[kind] += 1

        # handshake
        t = start
        add((t, 0, SYN, cs, 0, 64240, b""))
        cs = (cs + 1) & 0xFFFFFFFF
        t += rng.randrange(8, 40)
        add((t, 1, SYN | ACK, ss, cs, 65160, b""))
        ss = (ss + 1) & 0xFFFFFFFF
        t += rtt
        add((t, 0, ACK, cs, ss, cwin, b""))
        t += rng.randrange(15, 200)

        received = 0
        last_seg_t = t
        pending_ack = False
        for i in range(nreq):
            close_req = kind == "short"
            close_resp = close_req or (kind == "server_limit" and i == nreq - 1)
            req, plan = self.pay.request(c, close_req)
            add((t, 0, PSH | ACK, cs, ss, cwin, req))
            cs = (cs + len(req)) & 0xFFFFFFFF
            st.requests += 1
            # server processing time
            proc = _tiered(rng, (30, 2000), (2000, 35000), (35000, 400000))
            if proc > DELAYED_ACK_US:
                add((t + DELAYED_ACK_US + rng.randrange(0, 2000), 1, ACK, ss, cs, swin, b""))
            t += proc
            resp, status = self.pay.response(plan, t, close_resp)
            st.responses += 1
            st.status[status] += 1
            # send in slow-start rounds of MSS-sized segments; client ACKs every 2nd
            nseg = (len(resp) + MSS - 1) // MSS
            cwnd = 10
            sent = 0
            seg_t = t
            while sent < nseg:
                rnd = min(cwnd, nseg - sent)
                first_ack_t = None
                for j in range(rnd):
                    k = sent + j
                    seg = resp[k * MSS : (k + 1) * MSS]
                    last = k == nseg - 1
                    add((seg_t, 1, (PSH | ACK) if last else ACK, ss, cs, swin, seg))
                    ss = (ss + len(seg)) & 0xFFFFFFFF
                    received += len(seg)
                    if k % 2 == 1:
                        at = seg_t + rtt + rng.randrange(5, 40)
                        if received > 20000:
                            cwin = 3000  # receive window autotuning
                        add((at, 0, ACK, cs, ss, cwin, b""))
                        if first_ack_t is None:
                            first_ack_t = at
                    last_seg_t = seg_t
                    seg_t += rng.randrange(10, 16)
                sent += rnd
                cwnd = min(cwnd * 2, 40)
                if sent < nseg and first_ack_t is not None:
                    seg_t = max(seg_t, first_ack_t + rng.randrange(5, 30))
            pending_ack = nseg % 2 == 1
            t = last_seg_t

            if i < nreq - 1:
                # think time before the next request on this connection
                think = _tiered(rng, (50, 3000), (3000, 100_000), (300_000, 3_000_000))
                if pending_ack and think >= DELAYED_ACK_US:
                    add((t + rtt + DELAYED_ACK_US, 0, ACK, cs, ss, cwin, b""))
                t = t + rtt + think

        # teardown
        min_gap = 1000
        if kind in ("short", "server_limit", "idle_timeout"):
            if kind == "idle_timeout":
                if pending_ack:
                    add((t + rtt + DELAYED_ACK_US, 0, ACK, cs, ss, cwin, b""))
                t += KEEPALIVE_TIMEOUT_US + rng.randrange(0, 1500)
            else:
                t += rng.randrange(15, 80)
            add((t, 1, FIN | ACK, ss, cs, swin, b""))
            ss = (ss + 1) & 0xFFFFFFFF
            t += rtt + rng.randrange(5, 40)
            if rng.random() < 0.5:
                add((t, 0, ACK, cs, ss, cwin, b""))
                t += rng.randrange(20, 600)
            add((t, 0, FIN | ACK, cs, ss, cwin, b""))
            cs = (cs + 1) & 0xFFFFFFFF
            t += rng.randrange(8, 30)
            add((t, 1, ACK, ss, cs, swin, b""))
        elif kind == "client_close":
            think = rng.randrange(50, 200_000)
            if pending_ack and think >= DELAYED_ACK_US:
                add((t + rtt + DELAYED_ACK_US, 0, ACK, cs, ss, cwin, b""))
            t += rtt + think
            add((t, 0, FIN | ACK, cs, ss, cwin, b""))
            cs = (cs + 1) & 0xFFFFFFFF
            t += rng.randrange(30, 120)
            add((t, 1, FIN | ACK, ss, cs, swin, b""))
            ss = (ss + 1) & 0xFFFFFFFF
            t += rtt + rng.randrange(5, 40)
            add((t, 0, ACK, cs, ss, cwin, b""))
            min_gap = 1_000_000  # client holds TIME_WAIT; tw_reuse needs ~1 s
        elif kind == "stale_reuse_rst":
            if pending_ack:
                add((t + rtt + DELAYED_ACK_US, 0, ACK, cs, ss, cwin, b""))
            t += KEEPALIVE_TIMEOUT_US + rng.randrange(0, 1500)
            fin_seq = ss
            add((t, 1, FIN | ACK, ss, cs, swin, b""))
            # the client reuses the idle connection before it sees the FIN
            t += max(1, int(rtt * rng.uniform(0.1, 0.9)))
            req, _plan = self.pay.request(c, False)
            add((t, 0, PSH | ACK, cs, fin_seq, cwin, req))
            st.requests += 1
            t += rng.randrange(8, 30)
            # closed socket receives data: RST with seq = the segment's ack
            add((t, 1, RST, fin_seq, 0, 0, b""))
        else:  # client_rst
            t += rtt + rng.randrange(50, 100_000)
            add((t, 0, RST | ACK, cs, ss, 0, b""))

        ev.sort(key=lambda e: e[0])
        end = ev[-1][0]
        self._release_port(c, port, end + min_gap)
        return self._build(c, port, rtt, ev)

    def _build(self, c: Client, port: int, rtt: int, ev: list[tuple]) -> list[tuple[int, bytes]]:
        rng = self.rng
        st = self.stats
        cip, sip = c.ipb, self.srv_ipb
        eth = (SERVER_MAC + c.mac + b"\x08\x00", c.mac + SERVER_MAC + b"\x08\x00")
        ttl = (c.ttl, 64)
        ips = ((cip, sip), (sip, cip))
        ports = ((port, SERVER_PORT), (SERVER_PORT, port))
        addr_sum = _word_sum(cip) + _word_sum(sip)
        ip_const = (0x4500 + 0x4000 + (c.ttl << 8 | 6) + addr_sum, 0x4500 + 0x4000 + (64 << 8 | 6) + addr_sum)
        pseudo = addr_sum + 6
        ipid = [rng.getrandbits(16), rng.getrandbits(16)]
        tsbase = (rng.getrandbits(31), rng.getrandbits(31))
        half = rtt // 2
        out = []
        append = out.append
        pack_rec, pack_ip, pack_tcp, pack_ts = _pack_rec, _pack_ip, _pack_tcp, _pack_ts
        from_bytes = int.from_bytes
        for ts, d, flags, seq, ack, win, payload in ev:
            o = 1 - d
            tsval = (tsbase[d] + ts // 1000) & 0xFFFFFFFF
            if flags & SYN:
                if d == 0:
                    tsecr = 0
                    opts = (
                        b"\x02\x04\x05\xb4\x04\x02\x08\x0a"
                        + tsval.to_bytes(4, "big")
                        + b"\x00\x00\x00\x00\x01\x03\x03\x07"
                    )
                else:
                    tsecr = (tsbase[0] + (ts - half) // 1000) & 0xFFFFFFFF
                    opts = (
                        b"\x02\x04\x05\xb4\x04\x02\x08\x0a"
                        + tsval.to_bytes(4, "big")
                        + tsecr.to_bytes(4, "big")
                        + b"\x01\x03\x03\x07"
                    )
            elif flags & RST and not flags & ACK:
                opts = b""
            else:
                tsecr = (tsbase[o] + (ts - rtt) // 1000) & 0xFFFFFFFF
                opts = pack_ts(1, 1, 8, 10, tsval, tsecr)
            thl = 20 + len(opts)
            sp, dp = ports[d]
            tcp = pack_tcp(sp, dp, seq, ack, thl << 2, flags, win, 0, 0) + opts + payload
            tlen = len(tcp)
            x = from_bytes(tcp + b"\x00" if tlen & 1 else tcp, "big") + pseudo + tlen
            s = x % 0xFFFF
            csum = 0xFFFF - s if s else 0
            total = 20 + tlen
            i = ipid[d]
            ipid[d] = (i + 1) & 0xFFFF
            ic = _ones_fold(ip_const[d] + total + i)
            src, dst = ips[d]
            frame = (
                eth[d]
                + pack_ip(0x45, 0, total, i, 0x4000, ttl[d], 6, 0xFFFF - ic, src, dst)
                + tcp[:16]
                + csum.to_bytes(2, "big")
                + tcp[18:]
            )
            flen = 34 + tlen
            append((ts, pack_rec(ts // 1_000_000, ts % 1_000_000, flen, flen) + frame))
            st.bytes += flen
        return out

    def run(self, path: str) -> Stats:
        st = self.stats
        rng = self.rng
        heap: list[tuple] = []
        push, replace, pop = heapq.heappush, heapq.heapreplace, heapq.heappop
        tie = 0
        buf: list[bytes] = []
        t = EPOCH_US

        def emit(until: float) -> None:
            """Move every queued packet with a timestamp <= ``until`` to ``buf``, in time order."""
            while heap and heap[0][0] <= until:
                ts, k, idx, pk = heap[0]
                buf.append(pk[idx][1])
                idx += 1
                if idx < len(pk):
                    replace(heap, (pk[idx][0], k, idx, pk))
                else:
                    pop(heap)
                st.last_us = ts

        with open(path, "wb") as f:
            f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, SNAPLEN, 1))
            produced = 0
            while produced < self.target:
                t += max(1, int(rng.expovariate(self.rate)))
                emit(t)  # every packet that happens before this connection starts
                if len(buf) > 20000:
                    f.write(b"".join(buf))
                    st.packets += len(buf)
                    buf.clear()
                pk = self.connection(t)
                produced += len(pk)
                tie += 1
                push(heap, (pk[0][0], tie, 0, pk))
            emit(math.inf)
            f.write(b"".join(buf))
            st.packets += len(buf)
        st.first_us = EPOCH_US
        return st


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("out", help="output pcap path")
    ap.add_argument(
        "--packets", type=int, default=1_000_000, help="minimum number of packets (default 1000000)"
    )
    ap.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    ap.add_argument("--clients", type=int, default=50, help="client IPs (default 50)")
    ap.add_argument(
        "--keepalive-requests",
        type=int,
        default=10,
        help="nginx keepalive_requests: server closes after this many (default 10)",
    )
    ap.add_argument(
        "--duration",
        type=float,
        default=None,
        help="seconds over which connections start (default: 80 s per 1M packets, clamped to 10..100)",
    )
    ap.add_argument(
        "--summary-json", metavar="PATH", help="also write the generator's ground truth counts as JSON"
    )
    ap.add_argument("-q", "--quiet", action="store_true")
    a = ap.parse_args(argv)
    if a.keepalive_requests < 2:
        ap.error("--keepalive-requests must be >= 2")
    t0 = time.perf_counter()
    g = Generator(a.seed, a.packets, a.clients, a.keepalive_requests, a.duration)
    st = g.run(a.out)
    el = time.perf_counter() - t0
    summary = {
        "file": a.out,
        "seed": a.seed,
        "packets": st.packets,
        "connections": st.connections,
        "requests": st.requests,
        "responses": st.responses,
        "bytes": st.bytes,
        "file_bytes": 24 + 16 * st.packets + st.bytes,
        "duration_s": round((st.last_us - st.first_us) / 1e6, 3),
        "clients": a.clients,
        "reused_port_connections": st.reused,
        "max_ports_per_client": st.max_ports,
        "endings": dict(sorted(st.endings.items())),
        "status": {str(k): v for k, v in sorted(st.status.items())},
        "keepalive_requests": a.keepalive_requests,
        "generate_seconds": round(el, 2),
    }
    if a.summary_json:
        with open(a.summary_json, "w") as f:
            json.dump(summary, f, indent=2)
            f.write("\n")
    if not a.quiet:
        print(
            f"wrote {a.out}: {st.packets} packets, {st.connections} connections, "
            f"{st.requests} requests ({st.responses} responses), {st.bytes} bytes of frames, "
            f"{summary['file_bytes']} bytes on disk, {summary['duration_s']} s of traffic, "
            f"in {el:.1f} s"
        )
        print(f"  endings: {summary['endings']}")
        print(f"  status:  {summary['status']}")
        print(f"  reused 4-tuples: {st.reused} connections; largest port pool {st.max_ports}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
