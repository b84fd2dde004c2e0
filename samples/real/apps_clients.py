#!/usr/bin/env python3
"""Clients for samples/real/make_apps.sh (Node, uvicorn, gunicorn, HAProxy).

    python3 apps_clients.py SUBCOMMAND PORT [ARGS]

session PORT STEPS [PATH]  requests.Session; STEPS like "get,2,get,7": GET /, sleep 2,
                     GET /, sleep 7.  The Session is kept open through the last
                     sleep, then closed.  urllib3 logs each new connection.
partial PORT WAIT    RAW SOCKET (scaffolding: no real client sends half a
                     request head): sends "GET /partial HTTP/1.1\\r\\nHost: ..\\r\\n"
                     without the blank line, then only reads, up to WAIT s.
silent PORT WAIT     RAW SOCKET: connect and send nothing (a browser pre-connect or a
                     TCP probe), only read, up to WAIT s, then close.
partialbody PORT WAIT  RAW SOCKET: POST /upload with Content-Length: 100 and only 10
                     body bytes, then only reads, up to WAIT s.
stall PORT WAIT      RAW SOCKET with SO_RCVBUF 4096: GET /big, reads 1000 bytes, then
                     stops reading (a stalled reader) for up to WAIT s, then closes.
badreq PORT          RAW SOCKET: stream 1: a good GET, then a request with a
                     header line without a colon; stream 2: only the bad request.
upgrade PORT         RAW SOCKET: GET /ws with Upgrade: websocket, then bytes
                     "hello" (t+0), "again" (t+1.5 s), then waits for the
                     server's close (the app closes 3 s after the 101).
prerace PORT AT STEP COUNT  RAW SOCKETS (scaffolding for a browser's pre-connected
                     sockets): COUNT connections opened at once, each silent until
                     AT + k*STEP s after its connect, then "GET /pre<k>"; each
                     reads its answer (or EOF/RST) and closes. With AT at the
                     server's request timeout, some requests cross its 408.
sse PORT             a server-sent event stream left by its clients: curl -N with
                     --max-time 3.5 on /events, then requests (stream=True) reading
                     two events and closing the response.
rst PORT             RAW SOCKET: 2 keep-alive GETs, then close with SO_LINGER 0
                     right after the last response (an RST, as browsers often
                     do when a tab is closed: scaffolding for that).
"""

from __future__ import annotations

import logging
import socket
import struct
import sys
import time

HOST = "127.0.0.1"
T0 = time.monotonic()


def log(msg: str) -> None:
    # One write per line: prerace's threads log at once (print writes the newline apart).
    sys.stderr.write(f"[client +{time.monotonic() - T0:6.3f}s {time.strftime('%H:%M:%S')}] {msg}\n")
    sys.stderr.flush()


def read_response(s: socket.socket, buf: bytearray) -> bytes:
    """Read one response (Content-Length or to EOF); b"" on EOF before any byte."""
    while b"\r\n\r\n" not in buf:
        chunk = s.recv(65536)
        if not chunk:
            return b""
        buf += chunk
    end = buf.index(b"\r\n\r\n") + 4
    head = bytes(buf[:end]).decode("latin-1")
    length = None
    for line in head.split("\r\n")[1:]:
        name, _, value = line.partition(":")
        if name.strip().lower() == "content-length":
            length = int(value.strip())
    if head.startswith("HTTP/1.1 101"):
        length = 0
    if length is None:
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            buf += chunk
        length = len(buf) - end
    while len(buf) < end + length:
        chunk = s.recv(65536)
        if not chunk:
            break
        buf += chunk
    resp = bytes(buf[: end + length])
    del buf[: end + length]
    return resp


def first_line(resp: bytes) -> str:
    return resp.split(b"\r\n", 1)[0].decode("latin-1")


def wait_eof(s: socket.socket, limit: float) -> None:
    """Read until EOF/RST or `limit` seconds; log what arrived and when."""
    s.settimeout(limit)
    start = time.monotonic()
    try:
        while True:
            data = s.recv(65536)
            if not data:
                log(f"EOF (server FIN) after {time.monotonic() - start:.3f}s")
                return
            log(f"received {data!r}")
    except TimeoutError:
        log(f"no close within {limit}s")
    except ConnectionResetError:
        log(f"connection reset by peer after {time.monotonic() - start:.3f}s")


# ---------------------------------------------------------------- session --
def cmd_session(port: int, steps: str, path: str = "/") -> None:
    import requests

    logging.basicConfig(
        level=logging.DEBUG, stream=sys.stderr, format="[urllib3 %(relativeCreated)7.0fms] %(message)s"
    )
    url = f"http://{HOST}:{port}{path}"
    with requests.Session() as sess:
        for step in steps.split(","):
            if step == "get":
                r = sess.get(url, timeout=10)
                log(f"GET {path} -> {r.status_code} {dict(r.headers)}")
            else:
                log(f"sleep {step}")
                time.sleep(float(step))
        log("closing the session")


# ---------------------------------------------------------------- partial --
def cmd_partial(port: int, wait: float) -> None:
    s = socket.create_connection((HOST, port))
    s.sendall(f"GET /partial HTTP/1.1\r\nHost: {HOST}:{port}\r\n".encode())
    log("sent a partial request head (no blank line); now only reading")
    wait_eof(s, wait)
    s.close()


# ----------------------------------------------------------------- silent --
def cmd_silent(port: int, wait: float) -> None:
    s = socket.create_connection((HOST, port))
    log("connected; sending nothing, only reading")
    wait_eof(s, wait)
    s.close()


# ------------------------------------------------------------ partialbody --
def cmd_partialbody(port: int, wait: float) -> None:
    s = socket.create_connection((HOST, port))
    s.sendall(
        f"POST /upload HTTP/1.1\r\nHost: {HOST}:{port}\r\nContent-Type: text/plain\r\n"
        "Content-Length: 100\r\n\r\n0123456789".encode()
    )
    log("sent POST /upload head (Content-Length: 100) and 10 body bytes; now only reading")
    wait_eof(s, wait)
    s.close()


# ------------------------------------------------------------------ stall --
def cmd_stall(port: int, wait: float) -> None:
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    s.connect((HOST, port))
    s.sendall(f"GET /big HTTP/1.1\r\nHost: {HOST}:{port}\r\n\r\n".encode())
    got = b""
    while len(got) < 1000:
        got += s.recv(1000 - len(got))
    status = got.split(b"\r\n", 1)[0]
    log(f"read {len(got)} bytes ({status!r}); now not reading for {wait}s")
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        time.sleep(0.25)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 0, 0))
    s.close()
    log("closed (unread data in the receive buffer: the kernel sends RST)")


# ----------------------------------------------------------------- badreq --
BAD = b"GET /bad HTTP/1.1\r\nHost: x\r\nThis is not a header\r\n\r\n"


def cmd_badreq(port: int) -> None:
    s = socket.create_connection((HOST, port))
    buf = bytearray()
    s.sendall(f"GET /good HTTP/1.1\r\nHost: {HOST}:{port}\r\n\r\n".encode())
    log(f"stream 1 good GET -> {first_line(read_response(s, buf))}")
    time.sleep(0.5)
    s.sendall(BAD)
    log("stream 1 sent the malformed request")
    resp = read_response(s, buf)
    log(f"stream 1 bad request -> {resp!r}")
    wait_eof(s, 3)
    s.close()
    time.sleep(0.5)
    s = socket.create_connection((HOST, port))
    buf = bytearray()
    s.sendall(BAD)
    log("stream 2 sent the malformed request")
    resp = read_response(s, buf)
    log(f"stream 2 bad request -> {resp!r}")
    wait_eof(s, 3)
    s.close()


# ---------------------------------------------------------------- upgrade --
def cmd_upgrade(port: int) -> None:
    s = socket.create_connection((HOST, port))
    buf = bytearray()
    s.sendall(
        f"GET /ws HTTP/1.1\r\nHost: {HOST}:{port}\r\nConnection: Upgrade\r\n"
        "Upgrade: websocket\r\nSec-WebSocket-Version: 13\r\n"
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n".encode()
    )
    log(f"upgrade -> {first_line(read_response(s, buf))}")
    for i, msg in enumerate((b"hello", b"again")):
        if i:
            time.sleep(1.5)
        s.sendall(msg)
        while len(buf) < len(msg):
            buf += s.recv(65536)
        log(f"sent {msg!r}, echo {bytes(buf[: len(msg)])!r}")
        del buf[: len(msg)]
    wait_eof(s, 5)
    s.close()


# -------------------------------------------------------------------- rst --
def cmd_rst(port: int) -> None:
    s = socket.create_connection((HOST, port))
    buf = bytearray()
    for i in (1, 2):
        if i > 1:
            time.sleep(0.5)
        s.sendall(f"GET /page{i} HTTP/1.1\r\nHost: {HOST}:{port}\r\nConnection: keep-alive\r\n\r\n".encode())
        log(f"GET /page{i} -> {first_line(read_response(s, buf))}")
    time.sleep(0.05)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    s.close()
    log("closed with SO_LINGER 0 (RST)")


# -------------------------------------------------------------------- sse --
def cmd_sse(port: int) -> None:
    import subprocess

    import requests

    url = f"http://{HOST}:{port}/events"
    r = subprocess.run(["curl", "-sN", "--max-time", "3.5", url], capture_output=True, text=True)
    log(f"curl -N --max-time 3.5: exit {r.returncode}, {r.stdout.count('data:')} events")
    time.sleep(0.5)
    with requests.Session() as sess:
        resp = sess.get(url, stream=True, timeout=10)
        events = 0
        for line in resp.iter_lines():
            events += line.startswith(b"data:")
            if events == 2:
                break
        log(f"requests: {resp.status_code} {resp.headers.get('Content-Type')}, read {events} events; closing")
        resp.close()
        time.sleep(0.5)


# ---------------------------------------------------------------- prerace --
def cmd_prerace(port: int, at: float, step: float, count: int) -> None:
    import threading

    def one(k: int) -> None:
        s = socket.create_connection((HOST, port))
        due = time.monotonic() + at + k * step
        while (left := due - time.monotonic()) > 0:
            time.sleep(min(left, 0.05) if left > 0.002 else 0)
        try:
            s.sendall(f"GET /pre{k} HTTP/1.1\r\nHost: {HOST}:{port}\r\n\r\n".encode())
            sent = "sent"
        except OSError as e:
            sent = f"send failed ({e})"
        buf = bytearray()
        s.settimeout(3)
        try:
            resp = read_response(s, buf)
            got = first_line(resp) if resp else "EOF before any byte"
        except ConnectionResetError:
            got = "connection reset by peer"
        except TimeoutError:
            got = "no answer in 3 s"
        log(f"conn {k} local port {s.getsockname()[1]}: GET /pre{k} at +{at + k * step:.4f}s {sent} -> {got}")
        s.close()

    threads = [threading.Thread(target=one, args=(k,)) for k in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


def main() -> None:
    cmd, port = sys.argv[1], int(sys.argv[2])
    if cmd == "session":
        cmd_session(port, *sys.argv[3:5])
    elif cmd == "partial":
        cmd_partial(port, float(sys.argv[3]))
    elif cmd == "silent":
        cmd_silent(port, float(sys.argv[3]))
    elif cmd == "partialbody":
        cmd_partialbody(port, float(sys.argv[3]))
    elif cmd == "stall":
        cmd_stall(port, float(sys.argv[3]))
    elif cmd == "badreq":
        cmd_badreq(port)
    elif cmd == "upgrade":
        cmd_upgrade(port)
    elif cmd == "rst":
        cmd_rst(port)
    elif cmd == "sse":
        cmd_sse(port)
    elif cmd == "prerace":
        cmd_prerace(port, float(sys.argv[3]), float(sys.argv[4]), int(sys.argv[5]))
    else:
        sys.exit(f"unknown sub-command {cmd}")


if __name__ == "__main__":
    main()
