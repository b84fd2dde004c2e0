#!/usr/bin/env python3
"""Clients for the nginx / Apache captures made by make_servers.sh.

    python3 servers_clients.py SCENARIO PORT

Each sub-command talks to a server that make_servers.sh has already started
on 127.0.0.1:PORT while tcpdump records the loopback traffic.  Real clients
(requests, curl via make_servers.sh) are used where they can do the thing;
raw sockets only where no real client can be made to (send half a request
and stall, never read, connect and send nothing).  Every loop is bounded.
"""

from __future__ import annotations

import socket
import sys
import time

HOST = "127.0.0.1"
T0 = time.monotonic()


def log(msg: str) -> None:
    print(f"[client +{time.monotonic() - T0:6.3f}s] {msg}", file=sys.stderr, flush=True)


def connect(port: int, rcvbuf: int | None = None) -> socket.socket:
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    if rcvbuf is not None:
        # must be set before connect() so the SYN advertises the small window
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    s.connect((HOST, port))
    log(f"connected from port {s.getsockname()[1]}")
    return s


def read_one(s: socket.socket, buf: bytearray) -> bytes:
    """Read one response with Content-Length (or to EOF). b'' on EOF first."""
    while b"\r\n\r\n" not in buf:
        chunk = s.recv(65536)
        if not chunk:
            return b""
        buf += chunk
    end = buf.index(b"\r\n\r\n") + 4
    head = bytes(buf[:end]).decode("latin-1")
    length = None
    for line in head.split("\r\n")[1:]:
        k, _, v = line.partition(":")
        if k.strip().lower() == "content-length":
            length = int(v)
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
    log("got " + resp.split(b"\r\n", 1)[0].decode() + f" ({len(resp)} bytes)")
    return resp


def wait_for_close(s: socket.socket, limit: float) -> None:
    """Wait up to `limit` s for the server to send something / close."""
    s.settimeout(limit)
    start = time.monotonic()
    got = b""
    try:
        while True:
            chunk = s.recv(65536)
            if not chunk:
                log(
                    f"EOF from server after {time.monotonic() - start:.3f}s; "
                    f"received {len(got)} bytes: {got[:200]!r}"
                )
                return
            got += chunk
            log(f"server sent {len(chunk)} bytes: {chunk[:120]!r}")
    except TimeoutError:
        log(f"nothing more within {limit}s ({len(got)} bytes received)")
    except ConnectionResetError:
        log(f"connection reset by server after {time.monotonic() - start:.3f}s; received {len(got)} bytes")


def get(path: str, extra: str = "") -> bytes:
    return (f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: katui-raw/1\r\n{extra}\r\n").encode()


# ---------------------------------------------------------------- scenarios


def partial_head(port: int) -> None:
    """Request head without its blank line, then stall."""
    s = connect(port)
    s.sendall(b"GET /slow HTTP/1.1\r\nHost: x\r\n")
    log("sent partial head 'GET /slow HTTP/1.1\\r\\nHost: x\\r\\n' and stall")
    wait_for_close(s, 8)
    s.close()
    log("closed")


def long_uri_slow(port: int) -> None:
    """A request line longer than nginx's large header buffer (1k here), sent in two parts:
    3000 bytes of it, 0.5 s of waiting (nginx answers 414 and closes before the line ended),
    then the rest of the head; then read what is left."""
    s = connect(port)
    s.sendall(b"GET /" + b"a" * 2995)
    log("sent 3000 bytes of a request line (no end), wait 0.5 s")
    time.sleep(0.5)
    try:
        s.sendall(b" HTTP/1.1\r\nHost: x\r\n\r\n")
        log("sent the rest of the head")
    except OSError as e:
        log(f"sending the rest failed: {e}")
    wait_for_close(s, 3)
    s.close()
    log("closed")


def partial_body(port: int) -> None:
    """PUT with Content-Length: 100, 10 body bytes, then stall."""
    s = connect(port)
    s.sendall(
        b"PUT /upload/f.txt HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: katui-raw/1\r\n"
        b"Content-Type: text/plain\r\nContent-Length: 100\r\n\r\n0123456789"
    )
    log("sent PUT head + 10 of 100 body bytes, stall")
    wait_for_close(s, 8)
    s.close()
    log("closed")


def partial_post(port: int) -> None:
    """POST with Content-Length: 100, 10 body bytes, then stall."""
    s = connect(port)
    s.sendall(
        b"POST /index.html HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: katui-raw/1\r\n"
        b"Content-Type: text/plain\r\nContent-Length: 100\r\n\r\n0123456789"
    )
    log("sent POST head + 10 of 100 body bytes, stall")
    wait_for_close(s, 8)
    s.close()
    log("closed")


def reused_then_partial(port: int) -> None:
    """Two full requests on one connection, then half a head and stall."""
    s = connect(port)
    buf = bytearray()
    s.sendall(get("/one"))
    read_one(s, buf)
    time.sleep(0.5)
    s.sendall(get("/two"))
    read_one(s, buf)
    time.sleep(0.5)
    s.sendall(b"GET /three HTTP/1.1\r\nHost: 127.0.0.1\r\n")
    log("sent partial head of /three and stall")
    wait_for_close(s, 8)
    s.close()
    log("closed")


def session_gets(port: int, plan: str) -> None:
    """requests.Session: plan is a list of 'GET path' / 'sleep N' steps."""
    import requests

    sess = requests.Session()
    for step in plan.split(","):
        what, arg = step.split(":")
        if what == "sleep":
            log(f"sleep {arg}")
            time.sleep(float(arg))
        else:
            r = sess.get(f"http://{HOST}:{port}{arg}", timeout=5)
            log(
                f"GET {arg} -> {r.status_code} Connection={r.headers.get('Connection')!r} "
                f"Keep-Alive={r.headers.get('Keep-Alive')!r} Server={r.headers.get('Server')!r}"
            )
    sess.close()
    log("session closed")


def stalled_reader(port: int) -> None:
    """Tiny receive buffer, GET a 2 MB file, never read; close after 6 s."""
    s = connect(port, rcvbuf=4096)
    log(f"SO_RCVBUF={s.getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF)}")
    s.sendall(get("/big.bin"))
    log("sent GET /big.bin, not reading")
    time.sleep(6)
    s.close()  # unread data in the receive queue -> the kernel sends RST
    log("closed without reading (kernel RST because of unread data)")


def stalled_then_drain(port: int) -> None:
    """Tiny receive buffer, GET a 2 MB file, don't read for 4 s, then read
    everything that still comes (to see how much got through and how nginx's
    close shows on the wire)."""
    s = connect(port, rcvbuf=4096)
    s.sendall(get("/big.bin"))
    log("sent GET /big.bin, not reading for 4 s")
    time.sleep(4)
    total = 0
    s.settimeout(5)
    try:
        while True:
            chunk = s.recv(65536)
            if not chunk:
                log(f"EOF after {total} bytes (head + body)")
                break
            total += len(chunk)
    except TimeoutError:
        log(f"read {total} bytes, then nothing for 5 s")
    except ConnectionResetError:
        log(f"reset after {total} bytes")
    s.close()
    log("closed")


def preconnect(port: int, wait: str = "") -> None:
    """Connect and send nothing (a browser pre-connect); wait for the server
    (8 s, or the number of seconds given as the third argument)."""
    s = connect(port)
    log("connected, sending nothing")
    wait_for_close(s, float(wait or 8))
    s.close()
    log("closed")


def unused(port: int) -> None:
    """Connect, send nothing, close after 0.3 s (TCP probe / unused preconnect)."""
    s = connect(port)
    time.sleep(0.3)
    s.close()
    log("closed without sending anything")
    time.sleep(0.3)


def h2c_upgrade(port: int, plan: str) -> None:
    """HTTP/2 over cleartext by Upgrade, with the h2 library (PyPI): GET the first path of
    ``plan`` as an HTTP/1.1 request with ``Upgrade: h2c`` and ``HTTP2-Settings``, read the 101,
    then follow the plan on HTTP/2 (``get:/path`` on the next stream, ``sleep:N``) and wait up
    to 8 s for the server to close (its GOAWAY and FIN are logged)."""
    import h2.config
    import h2.connection
    import h2.events

    steps = [step.split(":", 1) for step in plan.split(",")]
    conn = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True))
    settings = conn.initiate_upgrade_connection()
    s = connect(port)
    first = steps.pop(0)[1]
    s.sendall(
        f"GET {first} HTTP/1.1\r\nHost: {HOST}:{port}\r\nConnection: Upgrade, HTTP2-Settings\r\n"
        f"Upgrade: h2c\r\nHTTP2-Settings: ".encode()
        + settings
        + b"\r\n\r\n"
    )
    buf = b""
    while b"\r\n\r\n" not in buf:
        chunk = s.recv(65536)
        if not chunk:
            log("EOF before the 101")
            return
        buf += chunk
    head, _, rest = buf.partition(b"\r\n\r\n")
    log("got " + head.split(b"\r\n", 1)[0].decode())
    s.sendall(conn.data_to_send())  # the client's connection preface (queued by h2), after the 101

    def pump(data: bytes) -> bool:
        """Feed server bytes; log responses and GOAWAY; False once the server said GOAWAY."""
        going = True
        for ev in conn.receive_data(data):
            if isinstance(ev, h2.events.ResponseReceived):
                log(f"stream {ev.stream_id}: {dict(ev.headers).get(b':status', b'?').decode()}")
            elif isinstance(ev, h2.events.ConnectionTerminated):
                log(f"GOAWAY last_stream={ev.last_stream_id} error={ev.error_code} {ev.additional_data!r}")
                going = False
        out = conn.data_to_send()
        if out:
            s.sendall(out)
        return going

    going = pump(rest)
    s.settimeout(0.2)  # read what the server sends for the upgraded request
    try:
        while going:
            chunk = s.recv(65536)
            if not chunk:
                log("EOF from server")
                s.close()
                return
            going = pump(chunk)
    except TimeoutError:
        pass
    for what, arg in steps:
        if what == "sleep":
            log(f"sleep {arg}")
            time.sleep(float(arg))
            continue
        if not going:
            log(f"not sending GET {arg}: the server said GOAWAY")
            continue
        sid = conn.get_next_available_stream_id()
        conn.send_headers(
            sid,
            [(":method", "GET"), (":path", arg), (":scheme", "http"), (":authority", f"{HOST}:{port}")],
            end_stream=True,
        )
        s.sendall(conn.data_to_send())
        log(f"stream {sid}: GET {arg}")
        s.settimeout(0.05)
        try:  # a GOAWAY already waiting is read before the next step
            chunk = s.recv(65536)
            going = bool(chunk) and pump(chunk)
        except TimeoutError:
            pass
    wait_for_close(s, 8)  # (its GOAWAY, if not read yet, shows as bytes)
    s.close()
    log("closed")


def main() -> int:
    scen, port = sys.argv[1], int(sys.argv[2])
    arg = sys.argv[3] if len(sys.argv) > 3 else ""
    funcs = {
        "partial-head": partial_head,
        "long-uri-slow": long_uri_slow,
        "partial-body": partial_body,
        "partial-post": partial_post,
        "reused-then-partial": reused_then_partial,
        "stalled-reader": stalled_reader,
        "stalled-then-drain": stalled_then_drain,
        "preconnect": preconnect,
        "unused": unused,
    }
    if scen == "session":
        session_gets(port, arg)
    elif scen == "h2c-upgrade":
        h2c_upgrade(port, arg)
    elif scen == "preconnect":
        preconnect(port, arg)
    else:
        funcs[scen](port)
    return 0


if __name__ == "__main__":
    sys.exit(main())
