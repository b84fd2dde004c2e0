#!/usr/bin/env python3
"""Wireshark oracle: dump what `tshark -2` sees in each capture as JSON.

For every capture, runs

    tshark -2 -n -r FILE [-d tcp.port==P,http] -T fields -E separator=/t
           -E occurrence=a -E aggregator=, -e frame.number -e frame.protocols
           -e tcp.stream -e tcp.flags.syn -e tcp.flags.ack -e tcp.flags.fin
           -e tcp.flags.reset -e http.request -e http.response
           -e http.request_in -e http.response_in

and writes tests/expected/<capture file name>.json (see tests/oracle/README.md
for the format).  Default captures: samples/*.pcap and every capture in the
shared corpus ($KATUI_CORPUS, else ../shared/corpus next to the repository).

    python3 tests/oracle/make_expected.py             # regenerate all
    python3 tests/oracle/make_expected.py FILE...     # only these
    python3 tests/oracle/make_expected.py --check     # compare, don't write
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SAMPLES = REPO / "samples"
CORPUS = Path(os.environ.get("KATUI_CORPUS") or REPO.parent / "shared" / "corpus")
EXPECTED = REPO / "tests" / "expected"
CAPTURE_SUFFIXES = (".pcap", ".pcapng", ".cap")

# Captures whose HTTP runs on a port tshark does not treat as HTTP by itself.
# (tshark 4.0 happens to find HTTP on most of these ports anyway, via
# heuristics, but not on 8085; we always pass decode-as for a stable oracle.)
DECODE_AS: dict[str, list[str]] = {
    "httptest.pcap": ["tcp.port==8081,http"],
    "close-client.pcap": ["tcp.port==8082,http"],
    "close-server.pcap": ["tcp.port==8083,http"],
    "http10.pcap": ["tcp.port==8084,http"],
    "request-limit.pcap": ["tcp.port==8085,http"],
    "stale-reuse.pcap": ["tcp.port==8086,http"],
    "client-idle.pcap": ["tcp.port==8087,http"],
    "pipelining.pcap": ["tcp.port==8088,http"],
    "port-reuse.pcap": ["tcp.port==8089,http"],
    # samples/real/make_proxy.sh: both legs of a proxy (front port, backend port)
    "proxy-nginx-natural.pcap": ["tcp.port==9442,http", "tcp.port==9441,http"],
    "proxy-nginx-race.pcap": ["tcp.port==9444,http", "tcp.port==9443,http"],
    "proxy-nginx-concurrent.pcap": ["tcp.port==9452,http", "tcp.port==9451,http"],
    "proxy-nginx-two-backends.pcap": ["tcp.port==9455,http", "tcp.port==9453,http", "tcp.port==9454,http"],
    "proxy-haproxy-reuse.pcap": ["tcp.port==9446,http", "tcp.port==9445,http"],
    "proxy-haproxy-race.pcap": ["tcp.port==9448,http", "tcp.port==9447,http"],
    "proxy-haproxy-retry.pcap": ["tcp.port==9450,http", "tcp.port==9449,http"],
    # TLS front (decoded without keys: no HTTP in it for tshark either), plain HTTP upstream
    "proxy-nginx-tls.pcap": ["tcp.port==9761,tls", "tcp.port==9760,http"],
    # port 9000; tshark 4.0.17 gives identical output without it
    "zeek__spicy_gap-recovery.pcap": ["tcp.port==9000,http"],
}

# samples/real/ (made by samples/real/make_*.sh): HTTP on the scripts' own ports 9101-9499.
REAL_DECODE_AS = ["tcp.port==9100-9499,http"]

FIELDS = [
    "frame.number",
    "frame.protocols",
    "tcp.stream",
    "tcp.flags.syn",
    "tcp.flags.ack",
    "tcp.flags.fin",
    "tcp.flags.reset",
    "http.request",
    "http.response",
    "http.request_in",
    "http.response_in",
]

# tshark's own chatter on stderr that says nothing about the capture
_STDERR_NOISE = re.compile(r'^Running as user "root"')


def tshark_version() -> str:
    out = subprocess.run(["tshark", "--version"], capture_output=True, text=True, check=True).stdout
    m = re.search(r"TShark \(Wireshark\) (\S+)", out)
    return m.group(1) if m else out.splitlines()[0]


def run_tshark(path: Path, decode_as: list[str]) -> tuple[list[list[str]], list[str]]:
    cmd = ["tshark", "-2", "-n", "-r", str(path)]
    for d in decode_as:
        cmd += ["-d", d]
    cmd += ["-T", "fields", "-E", "separator=/t", "-E", "occurrence=a", "-E", "aggregator=,"]
    for f in FIELDS:
        cmd += ["-e", f]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    stderr = [line for line in proc.stderr.splitlines() if line.strip() and not _STDERR_NOISE.match(line)]
    # tshark exits 2 on e.g. a capture cut short in the middle of a packet but
    # still prints every frame it could read; only give up if it printed none.
    if proc.returncode != 0 and not proc.stdout:
        raise RuntimeError(f"{' '.join(cmd)} failed ({proc.returncode}): {proc.stderr}")
    rows = [line.split("\t") for line in proc.stdout.splitlines()]
    for r in rows:
        if len(r) != len(FIELDS):
            raise RuntimeError(f"{path}: unexpected tshark line {r!r}")
    # keep the message but not our local path
    stderr = [line.replace(str(path), path.name) for line in stderr]
    return rows, stderr


def values(cell: str) -> list[str]:
    return [v for v in cell.split(",") if v != ""] if cell else []


def is_set(cell: str) -> bool:
    """A flag field with occurrence=a may read "1" or "0" or "1,0" (inner
    packet): we only look at the first (outermost) value."""
    v = values(cell)
    return bool(v) and v[0] in ("1", "True")


def icmp_quoted(protocols: str) -> bool:
    """True if the TCP header in this frame sits inside an ICMP/ICMPv6 error
    message (tshark still dissects it, gives it a tcp.stream and may even see
    an HTTP request in the quoted bytes)."""
    layers = protocols.split(":")
    if "tcp" not in layers:
        return False
    tcp_at = layers.index("tcp")
    return any(layer in ("icmp", "icmpv6") for layer in layers[:tcp_at])


def analyse(path: Path, decode_as: list[str], version: str) -> dict:
    rows, stderr = run_tshark(path, decode_as)
    stream_of_frame: dict[str, int] = {}
    multi_stream: dict[str, list[int]] = {}
    icmp_frames: dict[str, int] = {}
    streams: dict[int, dict] = {}
    requests: list[int] = []
    responses: list[int] = []
    non_tcp_http: list[int] = []
    resp_req_in: dict[str, int] = {}
    req_resp_in: dict[str, int] = {}
    req_count: dict[str, int] = {}
    resp_count: dict[str, int] = {}

    for num, protocols, stream, syn, ack, fin, rst, http_req, http_resp, req_in, resp_in in rows:
        frame = int(num)
        key = str(frame)
        ids = [int(v) for v in values(stream)]
        has_http = bool(values(http_req) or values(http_resp))
        if not ids:
            if has_http:  # e.g. SSDP (HTTP over UDP)
                non_tcp_http.append(frame)
            continue
        if icmp_quoted(protocols):
            icmp_frames[key] = ids[0]
            continue
        sid = ids[0]
        if len(ids) > 1:
            multi_stream[key] = ids
        stream_of_frame[key] = sid
        s = streams.setdefault(
            sid,
            {
                "first_frame": frame,
                "last_frame": frame,
                "frame_count": 0,
                "fin_frames": [],
                "rst_frames": [],
                "syn_frames": [],
                "synack_frames": [],
            },
        )
        s["last_frame"] = frame
        s["frame_count"] += 1
        if is_set(syn):
            (s["synack_frames"] if is_set(ack) else s["syn_frames"]).append(frame)
        if is_set(fin):
            s["fin_frames"].append(frame)
        if is_set(rst):
            s["rst_frames"].append(frame)

        n_req, n_resp = len(values(http_req)), len(values(http_resp))
        if n_req:
            requests.append(frame)
            if n_req > 1:
                req_count[key] = n_req
            if values(resp_in):
                req_resp_in[key] = int(values(resp_in)[0])
        if n_resp:
            responses.append(frame)
            if n_resp > 1:
                resp_count[key] = n_resp
            if values(req_in):
                resp_req_in[key] = int(values(req_in)[0])

    out = {
        "file": path.name,
        "tshark_version": version,
        "decode_as": decode_as,
        "frames": len(rows),
        "stream_of_frame": stream_of_frame,
        "streams": {str(k): v for k, v in sorted(streams.items())},
        "http_request_frames": requests,
        "http_response_frames": responses,
        "response_request_in": resp_req_in,
        "request_response_in": req_resp_in,
        "http_requests_per_frame": req_count,
        "http_responses_per_frame": resp_count,
        "notes": {
            "frames_with_several_tcp_streams": multi_stream,
            "icmp_quoted_tcp_frames": icmp_frames,
            "non_tcp_http_frames": non_tcp_http,
            "tshark_stderr": stderr,
        },
    }
    return out


def default_captures() -> list[Path]:
    files = sorted(SAMPLES.glob("*.pcap")) + sorted((SAMPLES / "real").glob("*.pcap"))
    if CORPUS.is_dir():
        files += sorted(p for p in CORPUS.iterdir() if p.is_file() and p.name.endswith(CAPTURE_SUFFIXES))
    else:
        print(f"note: corpus dir {CORPUS} not found, samples only", file=sys.stderr)
    return files


def dump(doc: dict) -> str:
    return json.dumps(doc, indent=1, sort_keys=True) + "\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("captures", nargs="*", type=Path)
    ap.add_argument("-o", "--out", type=Path, default=EXPECTED)
    ap.add_argument(
        "-d",
        "--decode-as",
        action="append",
        default=None,
        help="override the decode-as list for all given captures",
    )
    ap.add_argument("--check", action="store_true", help="compare with the stored JSON instead of writing")
    args = ap.parse_args(argv)

    captures = args.captures or default_captures()
    version = tshark_version()
    args.out.mkdir(parents=True, exist_ok=True)
    bad = 0
    for cap in captures:
        real = REAL_DECODE_AS if cap.resolve().parent.name == "real" else []
        decode = args.decode_as if args.decode_as is not None else DECODE_AS.get(cap.name, real)
        text = dump(analyse(cap, decode, version))
        target = args.out / f"{cap.name}.json"
        if args.check:
            old = target.read_text() if target.exists() else None
            if old != text:
                bad += 1
                print(f"DIFFERS: {target}", file=sys.stderr)
        else:
            target.write_text(text)
            print(f"wrote {target.relative_to(REPO) if target.is_relative_to(REPO) else target}")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
