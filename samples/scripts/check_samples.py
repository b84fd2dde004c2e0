#!/usr/bin/env python3
"""Check that freshly made sample captures show what their scenario promises.

Frame numbers and exact timings change from run to run, so this checks the
shape with tshark: number of connections, requests per connection, who sends
the first FIN or an RST, and roughly when.  Prints a one-line summary per
capture and exits 1 if any check fails.

    python3 samples/scripts/check_samples.py [samples/NAME.pcap ...]
"""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

SAMPLES = Path(__file__).resolve().parents[1]
PORTS = {
    "httptest": 8081,
    "close-client": 8082,
    "close-server": 8083,
    "http10": 8084,
    "request-limit": 8085,
    "stale-reuse": 8086,
    "client-idle": 8087,
    "pipelining": 8088,
    "port-reuse": 8089,
}
FIELDS = [
    "frame.number",
    "frame.time_relative",
    "tcp.stream",
    "tcp.srcport",
    "tcp.len",
    "tcp.flags.fin",
    "tcp.flags.reset",
    "http.request",
    "http.response",
    "http.request.version",
    "http.connection",
]


@dataclass
class Stream:
    requests: list = field(default_factory=list)  # (frame, time, n_msgs, version, connection)
    responses: list = field(default_factory=list)  # (frame, time, n_msgs, connection)
    fins: list = field(default_factory=list)  # (frame, time, who)
    rsts: list = field(default_factory=list)  # (frame, time, who)
    server_data_frames: int = 0

    def n_requests(self) -> int:
        return sum(r[2] for r in self.requests)

    def n_responses(self) -> int:
        return sum(r[2] for r in self.responses)


def load(path: Path, port: int) -> dict[int, Stream]:
    cmd = [
        "tshark",
        "-2",
        "-n",
        "-r",
        str(path),
        "-d",
        f"tcp.port=={port},http",
        "-T",
        "fields",
        "-E",
        "separator=/t",
        "-E",
        "occurrence=a",
        "-E",
        "aggregator=,",
    ]
    for f in FIELDS:
        cmd += ["-e", f]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    streams: dict[int, Stream] = {}
    for line in out.splitlines():
        num, t, sid, sport, tlen, fin, rst, req, resp, ver, conn = line.split("\t")
        if not sid:
            continue
        s = streams.setdefault(int(sid), Stream())
        frame, t = int(num), float(t)
        who = "server" if int(sport) == port else "client"
        if who == "server" and int(tlen or 0) > 0:
            s.server_data_frames += 1
        if fin == "1":
            s.fins.append((frame, t, who))
        if rst == "1":
            s.rsts.append((frame, t, who))
        if req:
            s.requests.append((frame, t, len(req.split(",")), ver, conn.lower()))
        if resp:
            s.responses.append((frame, t, len(resp.split(",")), conn.lower()))
    return streams


def check(name: str, st: dict[int, Stream]) -> list[str]:
    errors: list[str] = []

    def expect(cond: bool, msg: str) -> None:
        if not cond:
            errors.append(msg)

    def first_fin(s: Stream):
        return s.fins[0] if s.fins else (None, None, None)

    def idle_before_first_fin(s: Stream) -> float:
        return first_fin(s)[1] - s.responses[-1][1]

    per_stream = [st[k].n_requests() for k in sorted(st)]
    expect(all(not s.rsts for s in st.values()) or name == "stale-reuse", "unexpected RST")

    if name == "httptest":
        expect(per_stream == [2, 1], f"requests per stream {per_stream} != [2, 1]")
        for k, s in st.items():
            expect(first_fin(s)[2] == "server", f"stream {k}: first FIN not from server")
            expect(4.5 < idle_before_first_fin(s) < 6, f"stream {k}: server FIN not ~5 s after last response")
        gap = st[0].requests[1][1] - st[0].requests[0][1]
        expect(2 - 0.3 < gap < 2 + 0.5, "request 2 not ~2 s after request 1")
    elif name in ("close-client", "close-server", "http10"):
        expect(per_stream == [1, 1], f"requests per stream {per_stream} != [1, 1]")
        for k, s in st.items():
            expect(first_fin(s)[2] == "server", f"stream {k}: first FIN not from server")
            expect(
                idle_before_first_fin(s) < 0.2, f"stream {k}: server did not close right after the response"
            )
            if name == "close-client":
                expect(s.requests[0][4] == "close", f"stream {k}: request lacks Connection: close")
            if name == "close-server":
                expect(s.requests[0][4] == "keep-alive", f"stream {k}: request should ask for keep-alive")
                expect(s.responses[0][3] == "close", f"stream {k}: response lacks Connection: close")
            if name == "http10":
                expect(s.requests[0][3] == "HTTP/1.0", f"stream {k}: not an HTTP/1.0 request")
    elif name == "request-limit":
        expect(per_stream == [3, 2], f"requests per stream {per_stream} != [3, 2]")
        expect(st[0].responses[-1][3] == "close", "3rd response lacks Connection: close")
        expect(first_fin(st[0])[2] == "server", "stream 0: first FIN not from server")
        expect(first_fin(st[1])[2] == "client", "stream 1: first FIN not from client (session.close)")
    elif name == "stale-reuse":
        s0 = st[0]
        expect(per_stream == [2, 1], f"requests per stream {per_stream} != [2, 1]")
        expect(s0.n_responses() == 1, "stream 0 should have 1 response")
        expect(first_fin(s0)[2] == "server", "stream 0: first FIN not from server")
        expect(0.8 < idle_before_first_fin(s0) < 1.5, "stream 0: server FIN not ~1 s after response")
        expect([f[2] for f in s0.fins] == ["server"], "stream 0: client should never send FIN")
        expect(len(s0.rsts) == 1 and s0.rsts[0][2] == "server", "stream 0: no RST from server")
        if s0.rsts and len(s0.requests) == 2:
            expect(s0.rsts[0][0] > s0.requests[1][0], "RST does not follow the 2nd request")
        expect(st[1].n_responses() == 1 and not st[1].rsts, "retry on stream 1 did not succeed")
    elif name == "client-idle":
        s = st[0]
        expect(per_stream == [2], f"requests per stream {per_stream} != [2]")
        expect(first_fin(s)[2] == "client", "first FIN not from client")
        expect(1.8 < idle_before_first_fin(s) < 2.6, "client FIN not ~2 s after last response")
    elif name == "pipelining":
        s = st[0]
        expect(per_stream == [4], f"requests per stream {per_stream} != [4]")
        expect(s.requests[0][2] == 3, "first request frame does not carry 3 requests")
        expect(s.n_responses() == 4, f"{s.n_responses()} responses != 4")
        expect(s.server_data_frames > 4, "no response spans several segments")
        expect(first_fin(s)[2] == "client", "first FIN not from client")
    elif name == "port-reuse":
        expect(per_stream == [1, 1, 1], f"requests per stream {per_stream} != [1, 1, 1]")
        for k, s in st.items():
            expect(first_fin(s)[2] == "server", f"stream {k}: first FIN not from server")
    return errors


def describe(st: dict[int, Stream]) -> str:
    parts = []
    for k in sorted(st):
        s = st[k]
        ev = [f"req@{r[0]}" + (f"x{r[2]}" if r[2] > 1 else "") for r in s.requests]
        ev += [f"resp@{r[0]}" for r in s.responses]
        ev += [f"FIN({f[2][0]})@{f[0]}" for f in s.fins]
        ev += [f"RST({f[2][0]})@{f[0]}" for f in s.rsts]
        ev.sort(key=lambda e: int(e.split("@")[1].split("x")[0]))
        parts.append(f"s{k}: " + " ".join(ev))
    return "; ".join(parts)


def main(argv: list[str]) -> int:
    files = [Path(a) for a in argv[1:]] or [SAMPLES / f"{n}.pcap" for n in PORTS]
    failed = 0
    for path in files:
        name = path.stem
        st = load(path, PORTS[name])
        errors = check(name, st)
        print(f"{'OK  ' if not errors else 'FAIL'} {path.name}: {describe(st)}")
        for e in errors:
            print(f"       - {e}")
        failed += bool(errors)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
