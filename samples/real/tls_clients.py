"""Clients for samples/real/make_tls.sh: one function per TLS scenario, run against a local nginx.

Every client writes its TLS secrets to ``$SSLKEYLOGFILE`` (Python's ssl module and curl read the
variable; aiohttp and the raw-socket client are given a context that writes there explicitly).
Loops are bounded; nothing here retries forever.

    python tls_clients.py SCENARIO PORT
"""

from __future__ import annotations

import asyncio
import os
import socket
import ssl
import subprocess
import sys
import time
import warnings

warnings.filterwarnings("ignore")  # verify=False warns on every request


def _context(max_version: ssl.TLSVersion | None = None) -> ssl.SSLContext:
    """A client context without certificate checks that logs its keys to $SSLKEYLOGFILE."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    ctx.keylog_filename = os.environ["SSLKEYLOGFILE"]
    if max_version is not None:
        ctx.maximum_version = max_version
    return ctx


def requests_seed(port: int) -> None:
    """The seed experiment over HTTPS: a requests.Session sleeping 1 s, then 3 s (> 2 s)."""
    import requests

    s = requests.Session()
    url = f"https://localhost:{port}/"
    for pause in (0, 1, 3):
        time.sleep(pause)
        print(s.get(url + f"after-{pause}s", verify=False).status_code)


def seed_article(port: int) -> None:
    """The seed experiment (seed-article.md) over HTTPS: a requests.Session that sleeps 2 s, 6 s
    and 8 s after its three requests, against nginx with keepalive_timeout 5s: the second
    request reuses the connection, nginx closes it 5 s later, the third opens a new one, which
    nginx closes 5 s later, before the script ends."""
    import requests

    s = requests.Session()
    for i, pause in enumerate((2, 6, 8)):
        r = s.get(f"https://localhost:{port}/httptest{i + 1}", verify=False)
        print(f"{time.time():.3f}", r.status_code, r.text.strip())
        time.sleep(pause)


def _get(s: ssl.SSLSocket, path: str) -> bytes:
    """One keep-alive GET on ``s``; returns the response (nginx's small bodies have a
    Content-Length; reads are bounded)."""
    s.sendall(b"GET %s HTTP/1.1\r\nHost: localhost\r\n\r\n" % path.encode())
    got = b""
    for _ in range(20):
        got += s.recv(65536)
        head, _, body = got.partition(b"\r\n\r\n")
        length = [ln for ln in head.split(b"\r\n") if ln.lower().startswith(b"content-length:")]
        if length and len(body) >= int(length[0].split(b":")[1]):
            break
    return got


def seed_resume(port: int) -> None:
    """The seed article's timings with a client that resumes its TLS session: Python's ssl
    module on raw sockets (requests and urllib3 never pass a session on), 2 s then 6 s after
    its requests; when it finds the connection closed (nginx's close_notify, read as EOF), it
    opens a new one resuming the session of the first (a TLS 1.2 session ticket or a TLS 1.3
    pre-shared key), sends request 3 and waits 8 s."""
    ctx = _context()  # the protocol is nginx's choice: ssl_protocols differs per scenario
    s = ctx.wrap_socket(socket.create_connection(("127.0.0.1", port)), server_hostname="localhost")
    for i, pause in enumerate((2, 6)):
        print(f"{time.time():.3f}", _get(s, f"/resume{i + 1}")[:15])
        time.sleep(pause)
    print("closed by the server:", s.recv(65536) == b"")  # close_notify: EOF
    session = s.session
    s.close()
    s = ctx.wrap_socket(
        socket.create_connection(("127.0.0.1", port)), server_hostname="localhost", session=session
    )
    print(f"{time.time():.3f}", _get(s, "/resume3")[:15], "resumed:", s.session_reused)
    time.sleep(8)
    s.close()


def requests_limit(port: int) -> None:
    """Seven requests on a server with keepalive_requests 3: it closes after every third."""
    import requests

    s = requests.Session()
    for i in range(7):
        print(s.get(f"https://localhost:{port}/r{i}", verify=False).status_code)
        time.sleep(0.2)


def httpx_seed(port: int) -> None:
    """httpx.Client (HTTP/1.1) with the same pauses (given a context: with verify=False, httpx
    0.29 makes one that ignores $SSLKEYLOGFILE)."""
    import httpx

    with httpx.Client(verify=_context()) as c:
        for pause in (0, 1, 3):
            time.sleep(pause)
            print(c.get(f"https://localhost:{port}/httpx-{pause}").status_code)


def aiohttp_seed(port: int) -> None:
    """aiohttp.ClientSession, TLS 1.2, pauses 1 s and 3 s, then the session is closed."""
    import aiohttp

    async def run() -> None:
        conn = aiohttp.TCPConnector(ssl=_context(ssl.TLSVersion.TLSv1_2))
        async with aiohttp.ClientSession(connector=conn) as s:
            for pause in (0, 1, 3):
                await asyncio.sleep(pause)
                async with s.get(f"https://localhost:{port}/aio-{pause}") as r:
                    await r.read()
                    print(r.status)

    asyncio.run(run())


def stale_reuse(port: int) -> None:
    """A raw TLS 1.3 socket that writes a second request 2.5 s later, after nginx's 2 s idle
    close (close_notify + FIN): the request reaches a closed socket and nginx's kernel answers RST."""
    ctx = _context()
    raw = socket.create_connection(("127.0.0.1", port))
    s = ctx.wrap_socket(raw, server_hostname="localhost")
    req = b"GET /%s HTTP/1.1\r\nHost: localhost\r\n\r\n"
    s.sendall(req % b"first")
    print(s.recv(65536)[:15])
    time.sleep(2.5)
    try:
        s.sendall(req % b"stale")
        time.sleep(0.3)
        print(s.recv(65536))
    except (OSError, ssl.SSLError) as exc:
        print("stale request failed:", exc)
    raw.close()


def curl_tls12(port: int) -> None:
    """curl, TLS 1.2: two requests on one connection, two with 'Connection: close' (new
    connections that resume the session), then three paced 3 s apart (nginx closes each after
    2 s idle)."""
    url = f"https://localhost:{port}"
    base = ["curl", "-sk", "--tlsv1.2", "--tls-max", "1.2", "-o", "/dev/null", "-w", "%{http_code}\n"]
    subprocess.run([*base, f"{url}/a", f"{url}/b"], check=True)
    subprocess.run([*base, "-H", "Connection: close", f"{url}/c", f"{url}/d"], check=True)
    subprocess.run([*base, "--rate", "20/m", f"{url}/e", f"{url}/f"], check=True)


def refused(port: int) -> None:
    """Two handshakes that fail and one that works, against nginx allowing only TLS 1.2: curl
    asking for TLS 1.3 only (nginx answers its ClientHello with a protocol_version alert), curl
    checking nginx's self-signed certificate (curl refuses it: its own alert), then curl -k
    (one request). Each is its own process, 0.3 s apart; the failures' exit codes are printed."""
    url = f"https://localhost:{port}"
    base = ["curl", "-sS", "-o", "/dev/null", "-w", "%{http_code}\n"]
    for opts, path in ((["-k", "--tlsv1.3"], "/tls13-only"), ([], "/verify"), (["-k"], "/ok")):
        done = subprocess.run([*base, *opts, f"{url}{path}"], check=False)
        print(path, "curl exit", done.returncode, flush=True)
        time.sleep(0.3)


def reject_sni(port: int) -> None:
    """TLS 1.3 with nginx's default server refusing unknown names (ssl_reject_handshake): curl
    -k asking for other.example (its SNI; --resolve points the name at 127.0.0.1) is refused
    with an unrecognized_name alert; curl -k for localhost gets its answer."""
    url = f"https://localhost:{port}"
    base = ["curl", "-sS", "-k", "-o", "/dev/null", "-w", "%{http_code}\n"]
    other = ["--resolve", f"other.example:{port}:127.0.0.1", f"https://other.example:{port}/other"]
    for args in (other, [f"{url}/ok"]):
        done = subprocess.run([*base, *args], check=False)
        print(args[-1], "curl exit", done.returncode, flush=True)
        time.sleep(0.3)


def cert_refused_tls13(port: int) -> None:
    """TLS 1.3 clients that verify nginx's self-signed certificate and refuse it: curl (exit 60)
    and a requests.get with verification on (SSLError). Over TLS 1.3 their fatal alert comes
    after the ServerHello, so it is encrypted with the handshake keys: an application-data
    record on the wire. Then curl -k, one request. 0.3 s apart."""
    import requests

    url = f"https://localhost:{port}"
    base = ["curl", "-sS", "--tlsv1.3", "-o", "/dev/null", "-w", "%{http_code}\n"]
    done = subprocess.run([*base, f"{url}/curl-verify"], check=False)
    print("/curl-verify curl exit", done.returncode, flush=True)
    time.sleep(0.3)
    try:
        requests.get(f"{url}/requests-verify", timeout=5)
    except requests.exceptions.SSLError as e:
        print("/requests-verify", type(e).__name__, flush=True)
    time.sleep(0.3)
    done = subprocess.run([*base, "-k", f"{url}/ok"], check=False)
    print("/ok curl exit", done.returncode, flush=True)


def curl_tls13(port: int) -> None:
    """curl, TLS 1.3: three requests on one connection, then one after a 3 s pause."""
    url = f"https://localhost:{port}"
    base = ["curl", "-sk", "--tlsv1.3", "-o", "/dev/null", "-w", "%{http_code}\n"]
    subprocess.run([*base, f"{url}/a", f"{url}/b", f"{url}/c"], check=True)
    subprocess.run([*base, "--rate", "20/m", f"{url}/d", f"{url}/e"], check=True)


def curl_ciphers(port: int) -> None:
    """One request per cipher family katui decrypts: TLS 1.3 ChaCha20-Poly1305 and AES-128-GCM,
    TLS 1.2 ChaCha20-Poly1305 and AES-128-GCM."""
    url = f"https://localhost:{port}"
    base = ["curl", "-sk", "-o", "/dev/null", "-w", "%{http_code}\n"]
    for opts in (
        ["--tlsv1.3", "--tls13-ciphers", "TLS_CHACHA20_POLY1305_SHA256"],
        ["--tlsv1.3", "--tls13-ciphers", "TLS_AES_128_GCM_SHA256"],
        ["--tls-max", "1.2", "--ciphers", "ECDHE-RSA-CHACHA20-POLY1305"],
        ["--tls-max", "1.2", "--ciphers", "ECDHE-RSA-AES128-GCM-SHA256"],
    ):
        subprocess.run([*base, *opts, f"{url}/{opts[-1]}"], check=True)


def cbc(port: int) -> None:
    """TLS 1.2 CBC suites, one request each: curl with AES-128-CBC-SHA and AES-256-CBC-SHA384
    (encrypt-then-MAC, which OpenSSL negotiates by default), and Python's ssl with
    AES-128-CBC-SHA256 and encrypt-then-MAC turned off (MAC-then-encrypt)."""
    url = f"https://localhost:{port}"
    base = ["curl", "-sk", "--tls-max", "1.2", "-o", "/dev/null", "-w", "%{http_code}\n"]
    for suite in ("ECDHE-RSA-AES128-SHA", "ECDHE-RSA-AES256-SHA384"):
        subprocess.run([*base, "--ciphers", suite, f"{url}/{suite}"], check=True)
    ctx = _context(ssl.TLSVersion.TLSv1_2)
    ctx.set_ciphers("ECDHE-RSA-AES128-SHA256")
    ctx.options |= 0x00080000  # SSL_OP_NO_ENCRYPT_THEN_MAC (not named by the ssl module)
    with socket.create_connection(("127.0.0.1", port)) as raw:
        with ctx.wrap_socket(raw, server_hostname="localhost") as s:
            s.sendall(b"GET /no-etm HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
            print(s.recv(65536)[:15])


def early_request(port: int) -> None:
    """TLS 1.3 through memory BIOs: the client's Finished and its first request leave in one
    segment, so nginx's two NewSessionTickets arrive after the request and before its response.
    A second request follows 0.5 s later on the same connection."""
    ctx = _context()
    inc, out = ssl.MemoryBIO(), ssl.MemoryBIO()
    tls = ctx.wrap_bio(inc, out, server_hostname="localhost")
    sock = socket.create_connection(("127.0.0.1", port))
    for _ in range(20):  # bounded: a TLS 1.3 handshake takes two turns
        try:
            tls.do_handshake()
            break
        except ssl.SSLWantReadError:
            if out.pending:
                sock.sendall(out.read())
            inc.write(sock.recv(65536))
    for path in ("/first", "/second"):
        tls.write(b"GET %s HTTP/1.1\r\nHost: localhost\r\n\r\n" % path.encode())
        sock.sendall(out.read())  # the first time: Finished + request together
        got = b""
        for _ in range(20):
            inc.write(sock.recv(65536))
            try:
                got += tls.read(65536)
            except ssl.SSLWantReadError:
                continue
            if b"\r\n\r\n" in got and got.endswith(b"\n"):
                break
        print(got[:15])
        time.sleep(0.5)
    sock.close()


def curl_h2(port: int) -> None:
    """curl over HTTP/2 (TLS 1.2, so ALPN h2 shows without keys): three requests on one
    connection, then two 3 s apart (nginx's HTTP/2 idle timeout is keepalive_timeout)."""
    url = f"https://localhost:{port}"
    base = ["curl", "-sk", "--http2", "--tls-max", "1.2", "-o", "/dev/null", "-w", "%{http_code}\n"]
    subprocess.run([*base, f"{url}/a", f"{url}/b", f"{url}/c"], check=True)
    subprocess.run([*base, "--rate", "20/m", f"{url}/d", f"{url}/e"], check=True)


def _start_s_client(port: int, extra: list[str]) -> subprocess.Popen:
    """OpenSSL's s_client (TLS 1.3, LF sent as CRLF, keys to $SSLKEYLOGFILE) with ``extra``
    options, its input a pipe."""
    cmd = ["openssl", "s_client", "-connect", f"127.0.0.1:{port}", "-tls1_3", "-crlf",
           "-keylogfile", os.environ["SSLKEYLOGFILE"], "-servername", "localhost", *extra]  # fmt: skip
    return subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)


def _end(p: subprocess.Popen) -> bytes:
    """End s_client ``p``'s input (if it is still running it sends its close_notify and closes)
    and return its output."""
    p.stdin.close()
    out = p.stdout.read()
    p.wait(timeout=10)
    return out


def _s_client(port: int, extra: list[str], lines: list[str]) -> bytes:
    """Run s_client (:func:`_start_s_client`), type ``lines`` 0.4 s apart after its handshake,
    then end its input; its output."""
    p = _start_s_client(port, extra)
    time.sleep(0.4)  # the handshake (and an early request's answer)
    for text in lines:
        p.stdin.write(text.encode())
        p.stdin.flush()
        time.sleep(0.4)
    return _end(p)


def preconnect(port: int) -> None:
    """A pre-connect beside a used connection, both from s_client (TLS 1.3): the first completes
    its handshake and sends nothing, which nginx (client_header_timeout 2s) closes after 2 s;
    the second sends one request and idles, which nginx closes after keepalive_timeout 5s. Only
    the second close is a keep-alive timeout."""
    unused = _start_s_client(port, [])
    time.sleep(0.1)  # the unused one is stream 0
    used = _start_s_client(port, [])
    time.sleep(0.4)
    used.stdin.write(b"GET /used HTTP/1.1\nHost: localhost\n\n")
    used.stdin.flush()
    time.sleep(6.6)  # both closed by nginx by now; s_client exits when its server closes
    outs = [_end(p) for p in (unused, used)]
    print(b"HTTP/1.1 200" in outs[0], b"HTTP/1.1 200" in outs[1])


def key_update(port: int) -> None:
    """TLS 1.3 key updates from s_client's interactive commands (a line 'K' sends a KeyUpdate
    asking the server to update too, 'k' one that does not): a request, 'K', a request, 'k', a
    request, each 0.4 s apart on one connection."""
    out = _s_client(port, [], ["GET /before HTTP/1.1\nHost: localhost\n\n", "K\n",
                               "GET /after-K HTTP/1.1\nHost: localhost\n\n", "k\n",
                               "GET /after-k HTTP/1.1\nHost: localhost\n\n"])  # fmt: skip
    print(b"HTTP/1.1 200" in out, out.count(b"KEYUPDATE"))


def early_data(port: int) -> None:
    """TLS 1.3 0-RTT from s_client: a first connection (one request) saves its session; the
    second resumes it and sends its first request as early data, before the handshake completes
    (nginx has ssl_early_data on), then a second request 0.4 s later."""
    folder = os.path.dirname(os.environ["SSLKEYLOGFILE"])
    sess, early = os.path.join(folder, "early.sess"), os.path.join(folder, "early.req")
    with open(early, "wb") as f:
        f.write(b"GET /early HTTP/1.1\r\nHost: localhost\r\n\r\n")
    out = _s_client(port, ["-sess_out", sess], ["GET /full HTTP/1.1\nHost: localhost\n\n"])
    print(out.count(b"HTTP/1.1 200"))
    out = _s_client(port, ["-sess_in", sess, "-early_data", early],
                    ["GET /after-early HTTP/1.1\nHost: localhost\n\n"])  # fmt: skip
    print(out.count(b"HTTP/1.1 200"), b"Early data was accepted" in out)


SCENARIOS = {
    "tls13-requests": requests_seed,
    "tls13-limit": requests_limit,
    "tls13-httpx": httpx_seed,
    "tls12-aiohttp": aiohttp_seed,
    "tls13-stale": stale_reuse,
    "tls12-curl": curl_tls12,
    "tls13-curl": curl_tls13,
    "ciphers-curl": curl_ciphers,
    "h2-curl": curl_h2,
    "cbc": cbc,
    "tls13-early-request": early_request,
    "tls13-keyupdate": key_update,
    "tls13-early-data": early_data,
    "tls13-preconnect": preconnect,
    "tls12-refused": refused,
    "tls13-cert-refused": cert_refused_tls13,
    "tls13-reject-sni": reject_sni,
    "seed-tls13": seed_article,
    "seed-tls12": seed_article,
    "seed-resume-tls13": seed_resume,
    "seed-resume-tls12": seed_resume,
}

if __name__ == "__main__":
    SCENARIOS[sys.argv[1]](int(sys.argv[2]))
