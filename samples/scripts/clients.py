#!/usr/bin/env python3
"""HTTP clients that drive the sample captures made by ../make_samples.sh.

One sub-command per scenario; each talks to an nginx on 127.0.0.1:PORT that
make_samples.sh has already started (with the matching config) while tcpdump
records the loopback traffic.  Timings are part of the scenario: they decide
who closes the connection and when.

    python3 clients.py SCENARIO PORT
"""

from __future__ import annotations

import socket
import sys
import time

HOST = "127.0.0.1"


def log(msg: str) -> None:
    print(f"[client {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


# --------------------------------------------------------------------------
# small raw-socket helpers (used where we need exact control of the bytes)
# --------------------------------------------------------------------------


def connect(port: int, mss: int | None = None) -> socket.socket:
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    if mss is not None:
        # Advertise a small MSS in our SYN so the server cuts large responses
        # into Ethernet-sized segments (loopback MTU is 65536 otherwise).
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_MAXSEG, mss)
    s.connect((HOST, port))
    return s


def read_response(s: socket.socket, buf: bytearray) -> bytes:
    """Read exactly one HTTP/1.x response (Content-Length or read-to-EOF).

    `buf` keeps bytes already received past the previous response, which is
    what happens with pipelining.  Returns b"" if the peer closed/reset before
    any byte of this response arrived.
    """
    while b"\r\n\r\n" not in buf:
        chunk = s.recv(65536)
        if not chunk:
            return b""
        buf += chunk
    head_end = buf.index(b"\r\n\r\n") + 4
    head = bytes(buf[:head_end]).decode("latin-1")
    length = None
    for line in head.split("\r\n")[1:]:
        name, _, value = line.partition(":")
        if name.strip().lower() == "content-length":
            length = int(value.strip())
    if length is None:  # body delimited by connection close
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            buf += chunk
        length = len(buf) - head_end
    while len(buf) < head_end + length:
        chunk = s.recv(65536)
        if not chunk:
            break
        buf += chunk
    resp = bytes(buf[: head_end + length])
    del buf[: head_end + length]
    return resp


def get(path: str, port: int, version: str = "1.1", extra: str = "") -> bytes:
    return (
        f"GET {path} HTTP/{version}\r\nHost: {HOST}:{port}\r\nUser-Agent: katui-samples\r\n{extra}\r\n"
    ).encode()


def status_line(resp: bytes) -> str:
    return resp.split(b"\r\n", 1)[0].decode("latin-1") if resp else "<no response>"


# --------------------------------------------------------------------------
# scenarios
# --------------------------------------------------------------------------


def httptest(port: int) -> None:
    """The seed experiment: requests.Session, GET / sleep 2 / GET / sleep 6 /
    GET / sleep 8, with nginx keepalive_timeout 5s.  Request 2 reuses the
    connection; nginx closes it 5 s later; request 3 needs a new connection,
    which nginx also closes after 5 s idle."""
    import requests

    url = f"http://{HOST}:{port}/httptest"
    session = requests.Session()
    for pause in (2, 6, 8):
        r = session.get(url)
        log(f"GET -> {r.status_code} {r.text!r}; sleeping {pause}s")
        time.sleep(pause)
    # no session.close(): the process simply exits, as in the blog post


def close_client(port: int) -> None:
    """Two requests that each ask for `Connection: close`; nginx honours it
    and closes after each response, so each request gets its own connection."""
    import requests

    url = f"http://{HOST}:{port}/"
    with requests.Session() as session:
        for i in range(2):
            r = session.get(url, headers={"Connection": "close"})
            log(f"GET #{i + 1} -> {r.status_code} Connection: {r.headers.get('Connection')}")
            time.sleep(0.5)


def close_server(port: int) -> None:
    """nginx has keepalive_timeout 0: it answers `Connection: close` and
    closes although the client (requests.Session) would keep the connection."""
    import requests

    url = f"http://{HOST}:{port}/"
    with requests.Session() as session:
        for i in range(2):
            r = session.get(url)
            log(f"GET #{i + 1} -> {r.status_code} Connection: {r.headers.get('Connection')}")
            time.sleep(0.5)


def http10(port: int) -> None:
    """Two plain HTTP/1.0 requests (no Connection header, so no keep-alive):
    nginx closes after each response; the client reads to EOF, then closes."""
    for i in range(2):
        s = connect(port)
        s.sendall(get("/", port, version="1.0"))
        resp = read_response(s, bytearray())
        log(f"HTTP/1.0 GET #{i + 1} -> {status_line(resp)}")
        s.close()
        time.sleep(0.5)


def request_limit(port: int) -> None:
    """nginx keepalive_requests 3: the 3rd response on a connection carries
    `Connection: close` and nginx closes; requests 4-5 go on a new connection,
    which the client closes with session.close()."""
    import requests

    url = f"http://{HOST}:{port}/"
    session = requests.Session()
    for i in range(5):
        r = session.get(url)
        log(f"GET #{i + 1} -> {r.status_code} Connection: {r.headers.get('Connection')}")
        time.sleep(0.2)
    time.sleep(0.3)
    session.close()
    log("session closed")


def stale_reuse(port: int) -> None:
    """The keep-alive race.  nginx keepalive_timeout 1s.  We send a request,
    read the response, then idle 2 s without noticing nginx's FIN (sent at
    1 s) and send a 2nd request on the same socket: the server kernel has no
    socket for it any more and answers RST.  We catch the error and retry on
    a fresh connection, then close."""
    s = connect(port)
    s.sendall(get("/first", port))
    log(f"1st request -> {status_line(read_response(s, bytearray()))}; idle 2s")
    time.sleep(2)  # nginx closes at ~1 s; we don't look at the socket
    try:
        s.sendall(get("/second", port))
        resp = read_response(s, bytearray())
        if not resp:
            raise ConnectionResetError("EOF instead of a response")
        log(f"2nd request unexpectedly answered: {status_line(resp)}")
    except OSError as exc:
        log(f"2nd request on stale connection failed: {exc!r}; retrying")
        s.close()
        s = connect(port)
        s.sendall(get("/second", port))
        log(f"retry -> {status_line(read_response(s, bytearray()))}")
        time.sleep(0.2)
    s.close()


def client_idle(port: int) -> None:
    """http.client (keep-alive by default) does 2 requests 1 s apart, stays
    idle 2 s and closes the socket itself, long before nginx's 30 s timeout:
    the client sends the first FIN."""
    import http.client

    conn = http.client.HTTPConnection(HOST, port)
    for i in range(2):
        conn.request("GET", f"/idle{i + 1}")
        r = conn.getresponse()
        body = r.read()
        log(f"GET #{i + 1} -> {r.status} {body!r}")
        if i == 0:
            time.sleep(1)
    time.sleep(2)
    conn.close()
    log("client closed the connection")


def pipelining(port: int) -> None:
    """HTTP/1.1 pipelining: /a /b /c written in ONE send() on one connection,
    the three responses read back in order (/b is ~8 KB so that its response
    spans several segments: we advertise MSS 1460), then a 4th request 0.5 s
    later, then the client closes."""
    s = connect(port, mss=1460)
    s.sendall(b"".join(get(p, port) for p in ("/a", "/b", "/c")))
    buf = bytearray()
    for p in ("/a", "/b", "/c"):
        resp = read_response(s, buf)
        log(f"pipelined {p} -> {status_line(resp)} ({len(resp)} bytes)")
    time.sleep(0.5)
    s.sendall(get("/d", port))
    log(f"/d -> {status_line(read_response(s, buf))}")
    time.sleep(0.2)
    s.close()


def port_reuse(port: int) -> None:
    """A load generator's port reuse: three connections from the SAME client port 41414, one
    after the other. Each request says `Connection: close`, so nginx closes first and the
    TIME_WAIT stays on the server, which accepts a new SYN on the old 4-tuple (its ISN is
    higher). Wireshark (and katui) must count three tcp.streams on one 4-tuple."""
    for i in range(3):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind((HOST, 41414))
        s.connect((HOST, port))
        buf = bytearray()
        s.sendall(get(f"/reuse{i}", port, extra="Connection: close\r\n"))
        log(f"/reuse{i} -> {status_line(read_response(s, buf))}")
        while s.recv(65536):  # wait for the server's FIN
            pass
        s.close()
        time.sleep(0.3)


SCENARIOS = {
    "port-reuse": port_reuse,
    "httptest": httptest,
    "close-client": close_client,
    "close-server": close_server,
    "http10": http10,
    "request-limit": request_limit,
    "stale-reuse": stale_reuse,
    "client-idle": client_idle,
    "pipelining": pipelining,
}


def main(argv: list[str]) -> int:
    if len(argv) != 3 or argv[1] not in SCENARIOS:
        print(f"usage: {argv[0]} {{{'|'.join(SCENARIOS)}}} PORT", file=sys.stderr)
        return 2
    SCENARIOS[argv[1]](int(argv[2]))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
