"""Clients for samples/real/make_h2.sh: one function per HTTP/2 scenario, run against a local
nginx (``listen ... ssl http2``, or cleartext ``http2`` for h2c) with ``keepalive_timeout 1s``.

Every client writes its TLS secrets to ``$SSLKEYLOGFILE`` (curl reads the variable; the Python
clients are given a context that writes there). ``stale`` and ``bad-frame`` use the ``h2``
package as scaffolding for a raw HTTP/2 client: no real client sends a request after it read a
GOAWAY, so this one deliberately does not read the socket before sending. Loops are bounded;
nothing here retries forever.

    python h2_clients.py SCENARIO PORT
"""

from __future__ import annotations

import os
import socket
import ssl
import subprocess
import sys
import time
import warnings

warnings.filterwarnings("ignore")  # verify=False warns on every request

CURL = ["curl", "-sk", "-w", "%{http_version} %{http_code} %{url_effective}\n"]


def _urls(*urls: str) -> list[str]:
    """``-o /dev/null URL`` for each URL (curl's ``-o`` applies to one URL only)."""
    return [arg for u in urls for arg in ("-o", "/dev/null", u)]


def _context() -> ssl.SSLContext:
    """A client context offering h2 only, without certificate checks, logging its keys."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    ctx.keylog_filename = os.environ["SSLKEYLOGFILE"]
    ctx.set_alpn_protocols(["h2"])
    return ctx


def curl_multi(port: int) -> None:
    """curl --http2: three URLs one after another on one connection, then four with --parallel
    (concurrent streams on one connection)."""
    url = f"https://localhost:{port}"
    subprocess.run([*CURL, "--http2", *_urls(f"{url}/a", f"{url}/b", f"{url}/c")], check=True)
    time.sleep(0.3)
    urls = [f"{url}/p{i}" for i in range(4)]
    subprocess.run([*CURL, "--http2", "--parallel", *_urls(*urls)], check=True)


def curl_parallel(port: int) -> None:
    """curl --http2 --parallel: three 40 kB bodies nginx sends at limit_rate 100k, so the three
    streams are open at once on one connection and their DATA frames interleave."""
    url = f"https://localhost:{port}"
    urls = [f"{url}/files/40k?n={i}" for i in range(3)]
    subprocess.run([*CURL, "--http2", "--parallel", *_urls(*urls)], check=True)


def limit(port: int) -> None:
    """curl --http2, five URLs one after another against keepalive_requests 3: nginx ends the
    connection with GOAWAY after the third response; curl carries on on a new connection."""
    url = f"https://localhost:{port}"
    subprocess.run([*CURL, "--http2", *_urls(*(f"{url}/r{i}" for i in range(5)))], check=True)


def httpx_idle(port: int) -> None:
    """httpx.Client(http2=True): two requests 0.3 s apart, then a pause of 2 s (> the 1 s
    keepalive_timeout: nginx sends GOAWAY and closes), then one more (a new connection)."""
    import httpx

    with httpx.Client(http2=True, verify=_context()) as c:
        for i, pause in enumerate((0, 0.3, 2.0)):
            time.sleep(pause)
            r = c.get(f"https://localhost:{port}/httpx-{i}")
            print(r.http_version, r.status_code)


def _raw(port: int, tls: bool = True):
    """A connected socket and an h2 client connection with its preface and SETTINGS sent."""
    import h2.config
    import h2.connection

    sock = socket.create_connection(("127.0.0.1", port), timeout=3)
    if tls:
        sock = _context().wrap_socket(sock, server_hostname="localhost")
    conn = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True))
    conn.initiate_connection()
    sock.sendall(conn.data_to_send())
    return sock, conn


def _get(conn, stream: int, path: str, port: int) -> None:
    headers = [(":method", "GET"), (":path", path), (":scheme", "https"),
               (":authority", f"localhost:{port}")]  # fmt: skip
    conn.send_headers(stream, headers, end_stream=True)


def _chunks(sock, limit_s: float):
    """What ``sock`` receives until the peer closes or ``limit_s`` passed."""
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        try:
            data = sock.recv(65536)
        except (TimeoutError, ssl.SSLError, OSError):
            return
        if not data:
            return
        yield data


def _read_until(sock, conn, want_end: int, limit_s: float = 3.0) -> list:
    """Events until stream ``want_end`` ended (or the peer closed, or ``limit_s`` passed)."""
    events = []
    for data in _chunks(sock, limit_s):
        for ev in conn.receive_data(data):
            events.append(ev)
            if type(ev).__name__ == "StreamEnded" and ev.stream_id == want_end:
                sock.sendall(conn.data_to_send())
                return events
        sock.sendall(conn.data_to_send())
    return events


def stale(port: int) -> None:
    """Raw h2 client: one request, then 1.5 s without reading (nginx's 1 s keepalive_timeout
    fires: GOAWAY, close_notify, FIN), then a request on stream 3 as if the connection were
    still good: nginx is in lingering close and answers nothing."""
    sock, conn = _raw(port)
    _get(conn, 1, "/first", port)
    sock.sendall(conn.data_to_send())
    print([type(e).__name__ for e in _read_until(sock, conn, 1)])
    time.sleep(1.5)
    _get(conn, 3, "/after-goaway", port)
    try:
        sock.sendall(conn.data_to_send())
    except OSError as exc:
        print("send failed:", exc)
    print([type(e).__name__ for e in _read_until(sock, conn, 3, 1.0)])
    sock.close()


def bad_frame(port: int) -> None:
    """Raw h2 client: two requests in one write (concurrent streams 1 and 3), a PING, a
    cancelled stream (RST_STREAM on 5), then a DATA frame on stream 0, which RFC 9113 makes a
    connection error: nginx answers GOAWAY PROTOCOL_ERROR."""
    sock, conn = _raw(port)
    _get(conn, 1, "/ok-1", port)
    _get(conn, 3, "/ok-3", port)
    conn.ping(b"katui-h2")
    sock.sendall(conn.data_to_send())
    print([type(e).__name__ for e in _read_until(sock, conn, 3)])
    _get(conn, 5, "/cancelled", port)
    conn.reset_stream(5)
    sock.sendall(conn.data_to_send())
    time.sleep(0.2)
    sock.sendall(b"\x00\x00\x01\x00\x00\x00\x00\x00\x00x")  # DATA, stream 0: illegal
    print([type(e).__name__ for e in _read_until(sock, conn, 99, 1.0)])
    sock.close()


def limit_burst(port: int) -> None:
    """Raw h2 client against ``keepalive_requests 3``: five requests (streams 1-9) in one write,
    as a client with a full pool of work does; nginx processes three, sends GOAWAY naming the
    last of them and skips the HEADERS of the rest (no response, no RST_STREAM): those were
    never processed and are safe to retry (RFC 9113, 6.8). Reads until nginx closes (at most
    3 s)."""
    sock, conn = _raw(port)
    for i in range(5):
        _get(conn, 1 + 2 * i, f"/burst-{i + 1}", port)
    sock.sendall(conn.data_to_send())
    # The h2 package refuses HEADERS after a GOAWAY (nginx sends GOAWAY first, then the three
    # responses): read the bytes without it until nginx closes.
    print(f"{sum(map(len, _chunks(sock, 3.0)))} bytes until nginx closed")
    sock.close()


def h2c_httpx(port: int) -> None:
    """Cleartext HTTP/2 with prior knowledge (no TLS): httpx.Client(http1=False, http2=True) on
    http://, three requests 0.2 s apart on one connection. (curl 7.88's --http2-prior-knowledge
    fails its second request on a reused connection with "Error in the HTTP2 framing layer".)"""
    import httpx

    with httpx.Client(http1=False, http2=True) as c:
        for i in range(3):
            r = c.get(f"http://127.0.0.1:{port}/c{i}")
            print(r.http_version, r.status_code)
            time.sleep(0.2)


SCENARIOS = {
    "curl-multi": curl_multi,
    "httpx-idle": httpx_idle,
    "stale": stale,
    "bad-frame": bad_frame,
    "h2c-httpx": h2c_httpx,
    "curl-parallel": curl_parallel,
    "limit": limit,
    "limit-burst": limit_burst,
}

if __name__ == "__main__":
    SCENARIOS[sys.argv[1]](int(sys.argv[2]))
