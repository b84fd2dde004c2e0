#!/usr/bin/env python3
"""Clients that drive the proxy captures made by make_proxy.sh (both legs of a proxy).

    python3 proxy_clients.py SCENARIO FRONT_URL PROXY_PID

SCENARIO is one of ``natural``, ``race`` and ``interleave`` (see make_proxy.sh). PROXY_PID is
the proxy process make_proxy.sh started (a single process: nginx ``master_process off``,
haproxy ``-db``); ``race`` pauses and resumes that one process, by its PID, to widen the
keep-alive race window (see ``race``). Every loop here is bounded and every request has a
timeout.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
import time

import requests
from requests.adapters import HTTPAdapter

TIMEOUT = 10
_LOG = threading.Lock()


def log(msg: str) -> None:
    with _LOG:  # the race's request thread logs too
        print(f"[client {time.time():.6f}] {msg}", file=sys.stderr, flush=True)


def call(session: requests.Session, method: str, url: str, headers: dict | None = None) -> None:
    """One request; prints what the client saw (status, or the error it got)."""
    t0 = time.monotonic()
    try:
        data = b"x=1" if method == "POST" else None
        r = session.request(method, url, data=data, headers=headers, timeout=TIMEOUT)
        log(f"{method} {url} -> {r.status_code} in {time.monotonic() - t0:.3f} s: {r.text.strip()!r}")
    except requests.RequestException as exc:
        log(f"{method} {url} -> error after {time.monotonic() - t0:.3f} s: {exc}")


def natural(front: str, pid: int) -> None:
    """15 tries whose idle gap straddles the moment the backend closes an idle connection, GET
    and POST alternating, hoping a request meets the backend's close on the wire. Node 20 with
    ``keepAliveTimeout`` 2000 advertises ``Keep-Alive: timeout=2`` but closes after 3.0 s (it
    adds a 1 s buffer), so the gaps are 2.950..3.050 s."""
    del pid
    s = requests.Session()
    call(s, "GET", f"{front}/api/warm")
    for i in range(15):
        time.sleep(2.95 + i * 0.1 / 14)
        method = "GET" if i % 2 == 0 else "POST"
        call(s, method, f"{front}/api/try{i + 1}")
    s.close()


def _paused_request(s: requests.Session, method: str, url: str, pid: int, idle: float) -> None:
    """Send ``method url`` while the proxy process is stopped, then let the backend's idle
    close happen, then resume the proxy: when it wakes, the client's request is the older
    event, so it reuses its cached upstream connection, whose FIN it has not read yet."""
    os.kill(pid, signal.SIGSTOP)
    log(f"proxy {pid} stopped")
    t = threading.Thread(target=call, args=(s, method, url))
    try:
        t.start()
        time.sleep(idle)  # the backend closes the idle upstream connection meanwhile
    finally:
        os.kill(pid, signal.SIGCONT)
        log(f"proxy {pid} resumed")
    t.join(TIMEOUT + 5)


def _play(front: str, pid: int, steps: list) -> None:
    """Run steps on one session: a number sleeps that long, ``(METHOD, PATH)`` is a request,
    ``("paused", METHOD, PATH)`` a request sent while the proxy is paused 2.5 s."""
    s = requests.Session()
    for step in steps:
        if isinstance(step, float):
            time.sleep(step)
        elif step[0] == "paused":
            _paused_request(s, step[1], front + step[2], pid, 2.5)
        else:
            call(s, step[0], front + step[1])
    s.close()


def race(front: str, pid: int) -> None:
    """The upstream keep-alive race made deterministic: a GET (retried by the proxy) and a
    POST (not retried: non-idempotent) each sent on an upstream connection the backend is
    closing. The backend's ``keepAliveTimeout`` is 1000 ms (it closes after 2.0 s idle); the
    proxy is paused for 2.5 s."""
    steps = [("GET", "/api/warm"), 0.2, ("paused", "GET", "/api/race-get"), 0.2, ("POST", "/api/post-ok")]
    _play(front, pid, [*steps, 0.2, ("paused", "POST", "/api/race-post"), 0.2, ("GET", "/api/after")])


def interleave(front: str, pid: int) -> None:
    """Two clients, each with its own keep-alive connection to the proxy, taking turns; then
    an idle stretch past the backend's 2 s keep-alive timeout; then more turns."""
    del pid
    a, b = requests.Session(), requests.Session()
    for i in range(3):
        call(a, "GET", f"{front}/a{i + 1}")
        time.sleep(0.1)
        call(b, "GET", f"{front}/b{i + 1}")
        time.sleep(0.1)
    time.sleep(2.5)
    for i in range(3, 5):
        call(a, "GET", f"{front}/a{i + 1}")
        time.sleep(0.1)
        call(b, "GET", f"{front}/b{i + 1}")
        time.sleep(0.1)
    a.close()
    b.close()


def reset(front: str, pid: int) -> None:
    """For a backend that resets a request arriving after 1 s idle: a GET and a POST each
    sent after 1.2 s idle (raced), each followed 0.1 s later by one that is not."""
    del pid
    s = requests.Session()
    call(s, "GET", f"{front}/api/warm")
    for method in ("GET", "POST"):
        time.sleep(1.2)
        call(s, method, f"{front}/api/race-{method.lower()}")
        time.sleep(0.1)
        call(s, method, f"{front}/api/{method.lower()}-ok")
    s.close()


def concurrent(front: str, pid: int) -> None:
    """Three clients, each on its own connection, send the same GET 50 ms apart; the backend
    answers them after 400, 100 and 200 ms, so the responses come back out of order."""
    del pid
    sessions = [requests.Session() for _ in range(3)]
    threads = [threading.Thread(target=call, args=(s, "GET", f"{front}/api/slow")) for s in sessions]
    for t in threads:
        t.start()
        time.sleep(0.05)
    for t in threads:
        t.join(TIMEOUT + 5)
    for s in sessions:
        s.close()


def two(front: str, pid: int) -> None:
    """Requests to two backends behind one proxy (/api/ to Node, /py/ to uvicorn), then a POST
    raced at uvicorn and a GET raced at Node, each made as in ``race`` (the proxy paused 2.5 s
    while both backends close their idle connections)."""
    steps = [("GET", "/api/a"), ("GET", "/py/a"), 0.3, ("GET", "/api/b"), ("POST", "/py/b"), 0.2]
    steps += [("paused", "POST", "/py/race-post"), 0.2, ("GET", "/api/c"), 0.2]
    _play(front, pid, [*steps, ("paused", "GET", "/api/race-get"), 0.2, ("GET", "/py/d")])


class _SourceAdapter(HTTPAdapter):
    """Connections from one local address (a second client host on loopback)."""

    def __init__(self, source: str) -> None:
        self._source = source
        super().__init__()

    def init_poolmanager(self, *args, **kwargs):
        kwargs["source_address"] = (self._source, 0)
        super().init_poolmanager(*args, **kwargs)


def _session_from(source: str) -> requests.Session:
    s = requests.Session()
    s.mount("http://", _SourceAdapter(source))
    return s


def forwarded(front: str, pid: int) -> None:
    """Two client hosts (10.77.0.10 and .11) behind a proxy whose upstream address is not its
    front address. Both send the same GET at once (their own X-Request-Id: the proxy passes it
    on, and adds X-Forwarded-For / X-Real-IP), then one request each, then a GET and a POST
    raced as in ``race`` (the backend closes after 2.0 s idle, the proxy paused 2.5 s)."""
    a, b = _session_from("10.77.0.10"), _session_from("10.77.0.11")
    go = threading.Barrier(2, timeout=TIMEOUT)

    def together(s: requests.Session, rid: str) -> None:
        go.wait()
        call(s, "GET", f"{front}/api/same", {"X-Request-Id": rid})

    threads = [threading.Thread(target=together, args=(s, rid)) for s, rid in ((a, "a-1"), (b, "b-1"))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(TIMEOUT + 5)
    time.sleep(0.2)
    call(a, "GET", f"{front}/api/a2", {"X-Request-Id": "a-2"})
    call(b, "POST", f"{front}/api/b2")
    time.sleep(0.2)
    _paused_request(a, "GET", f"{front}/api/race-get", pid, 2.5)
    time.sleep(0.2)
    call(b, "GET", f"{front}/api/b3")
    time.sleep(0.2)
    _paused_request(b, "POST", f"{front}/api/race-post", pid, 2.5)
    a.close()
    b.close()


def rewrite(front: str, pid: int) -> None:
    """Paths whose prefix the proxy replaces (/api/x -> /v1/x, /old/x -> /new/x) and one it
    passes as it came, then a GET raced as in ``race`` (retried under its rewritten path)."""
    steps = [("GET", "/api/item"), 0.1, ("GET", "/old/item"), 0.1, ("GET", "/plain"), 0.1]
    steps += [("POST", "/api/item"), 0.2, ("paused", "GET", "/api/race-get"), 0.2]
    _play(front, pid, [*steps, ("GET", "/old/after")])


def idle(front: str, pid: int) -> None:
    """One session: two GETs 1 s apart, then 3 s idle (past the proxy's 2 s idle timeout, below
    the backend's), a third GET (a new connection when the proxy closed the first), then 1 s."""
    del pid
    s = requests.Session()
    steps = [("GET", "/a"), 1.0, ("GET", "/b"), 3.0, ("GET", "/c"), 1.0]
    for step in steps:
        if isinstance(step, tuple):
            call(s, step[0], f"{front}{step[1]}")
        else:
            time.sleep(step)
    s.close()


SCENARIOS = {
    "idle": idle,
    "rewrite": rewrite,
    "forwarded": forwarded,
    "natural": natural,
    "race": race,
    "interleave": interleave,
    "reset": reset,
    "concurrent": concurrent,
    "two": two,
}

if __name__ == "__main__":
    SCENARIOS[sys.argv[1]](sys.argv[2], int(sys.argv[3]))
