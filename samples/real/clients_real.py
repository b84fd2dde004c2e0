#!/usr/bin/env python3
"""Real HTTP client libraries driving the `clients-*` captures (see make_clients.sh).

One sub-command per scenario; each talks to a private nginx on 127.0.0.1:PORT
that make_clients.sh started with the matching config while tcpdump records
loopback.  Timings are part of each scenario.  Every line this prints carries
the wall-clock time (epoch seconds, us) so it can be lined up with the pcap
timestamps and nginx's `$msec` in the access log.  The libraries' own debug
logging (urllib3 "Starting new HTTP connection" / "Resetting dropped
connection", httpcore's connection trace) is switched on, because what the
library did is part of the evidence.

    python3 clients_real.py SCENARIO PORT
"""

from __future__ import annotations

import logging
import sys
import time

HOST = "127.0.0.1"


def log(msg: str) -> None:
    print(f"{time.time():.6f} [client] {msg}", flush=True)


def lib_logging(*names: str) -> None:
    logging.basicConfig(
        stream=sys.stdout,
        level=logging.WARNING,
        format="%(created).6f [%(name)s] %(message)s",
    )
    for n in names:
        logging.getLogger(n).setLevel(logging.DEBUG)


def url(port: int, path: str) -> str:
    return f"http://{HOST}:{port}{path}"


# ------------------------------------------------------------------ 1 ----
def httpx_expiry(port: int) -> None:
    """httpx.Client(keepalive_expiry=2): GET, 1 s, GET, 3 s, GET, 1 s, close.
    httpx checks expiry only when the pool is touched (a request starts or a
    response is closed), so the idle connection outlives its 2 s expiry and
    is closed when the 3rd request comes, ~3 s after it went idle."""
    import httpx

    lib_logging("httpcore.connection", "httpcore.http11")
    with httpx.Client(limits=httpx.Limits(keepalive_expiry=2)) as c:
        for i, pause in enumerate((1, 3, 1)):
            r = c.get(url(port, f"/httpx{i + 1}"))
            log(f"GET /httpx{i + 1} -> {r.status_code} {r.http_version}; sleep {pause}")
            time.sleep(pause)
        log("closing client")
    log("client closed")


# ------------------------------------------------------------------ 2 ----
def aiohttp_timer(port: int) -> None:
    """aiohttp TCPConnector(keepalive_timeout=2): GET, 4 s, GET, close.
    aiohttp closes idle pooled connections from a timer (loop.call_at)."""
    import asyncio

    import aiohttp

    async def main() -> None:
        conn = aiohttp.TCPConnector(keepalive_timeout=2)
        async with aiohttp.ClientSession(connector=conn) as s:
            for i, pause in enumerate((4, 0.5)):
                async with s.get(url(port, f"/aiohttp{i + 1}")) as r:
                    await r.read()
                    log(
                        f"GET /aiohttp{i + 1} -> {r.status} "
                        f"Connection: {r.headers.get('Connection')}; sleep {pause}"
                    )
                await asyncio.sleep(pause)
            log("closing session")
        log("session closed")

    asyncio.run(main())


def aiohttp_timer_late(port: int) -> None:
    """aiohttp TCPConnector(keepalive_timeout=2): GET, 1 s, GET, 4 s, close.
    The cleanup timer is armed when the first response is released (t=0) and
    re-armed every 2 s; at t=2 the connection has been idle only 1 s, so it
    survives until the t=4 tick: idle 3 s at aiohttp's FIN (up to 2x the
    setting)."""
    import asyncio

    import aiohttp

    async def main() -> None:
        conn = aiohttp.TCPConnector(keepalive_timeout=2)
        async with aiohttp.ClientSession(connector=conn) as s:
            for i, pause in enumerate((1, 4)):
                async with s.get(url(port, f"/late{i + 1}")) as r:
                    await r.read()
                    log(f"GET /late{i + 1} -> {r.status}; sleep {pause}")
                await asyncio.sleep(pause)
            log("closing session")
        log("session closed")

    asyncio.run(main())


# ------------------------------------------------------------------ 3 ----
def requests_server_idle(port: int) -> None:
    """requests.Session vs nginx keepalive_timeout 2s: GET, 1 s, GET, 3 s, GET.
    nginx closes at 2 s idle; urllib3 sees the dead socket before reuse
    ("Resetting dropped connection") and opens a new one."""
    import requests

    lib_logging("urllib3")
    with requests.Session() as s:
        for i, pause in enumerate((1, 3, 0.5)):
            r = s.get(url(port, f"/req{i + 1}"))
            log(
                f"GET /req{i + 1} -> {r.status_code} Connection: {r.headers.get('Connection')}; sleep {pause}"
            )
            time.sleep(pause)
        log("closing session")
    log("session closed")


# ------------------------------------------------------------------ 4 ----
RACE_SLEEPS = [0.995 + 0.001 * i for i in range(11)]  # 0.995 .. 1.005


def race_loop(get, port: int, tag: str) -> None:
    """Bounded: 12 GETs, the idle gaps between them step 0.995 .. 1.005 s,
    right on nginx's keepalive_timeout 1s.  Every exception is logged (that
    is what the user sees) and the loop goes on."""
    for i in range(len(RACE_SLEEPS) + 1):
        path = f"/{tag}{i + 1:02d}"
        try:
            status = get(url(port, path))
            log(f"GET {path} -> {status}")
        except Exception as exc:  # what the user would see
            log(f"GET {path} FAILED: {type(exc).__module__}.{type(exc).__name__}: {exc}")
        if i < len(RACE_SLEEPS):
            log(f"sleep {RACE_SLEEPS[i]:.3f}")
            time.sleep(RACE_SLEEPS[i])


def race_httpx(port: int) -> None:
    import httpx

    lib_logging("httpcore.connection")
    with httpx.Client() as c:
        race_loop(lambda u: c.get(u).status_code, port, "hx")
    log("client closed")


def race_requests(port: int) -> None:
    import requests

    lib_logging("urllib3")
    with requests.Session() as s:
        race_loop(lambda u: s.get(u).status_code, port, "rq")
    log("session closed")


def stale_requests(port: int) -> None:
    """Deterministic stand-in for the race (the natural race was not hit in
    the bounded loop): urllib3's pre-send liveness check is disabled by a
    monkeypatch, which is what happens when nginx's FIN arrives in the
    microseconds between that check and the send.  GET, 1.5 s (nginx closes
    at 1 s), GET on the stale connection, then one more GET."""
    import requests
    import urllib3.connectionpool

    lib_logging("urllib3")
    urllib3.connectionpool.is_connection_dropped = lambda conn: False  # the race window
    with requests.Session() as s:
        for i, pause in enumerate((1.5, 0.3, 0.3)):
            path = f"/stale{i + 1}"
            try:
                r = s.get(url(port, path))
                log(f"GET {path} -> {r.status_code}")
            except Exception as exc:
                log(f"GET {path} FAILED: {type(exc).__module__}.{type(exc).__name__}: {exc}")
            log(f"sleep {pause}")
            time.sleep(pause)
    log("session closed")


def stale_httpx(port: int) -> None:
    """Same as stale_requests for httpx: httpcore's is_readable check in
    HTTP11Connection.has_expired is disabled by a monkeypatch."""
    import httpcore._sync.http11 as h11mod
    import httpx

    lib_logging("httpcore.connection", "httpcore.http11")

    def has_expired(self) -> bool:  # keep the expiry clock, drop the FIN check
        return self._expire_at is not None and time.monotonic() > self._expire_at

    h11mod.HTTP11Connection.has_expired = has_expired
    with httpx.Client() as c:
        for i, pause in enumerate((1.5, 0.3, 0.3)):
            path = f"/stale{i + 1}"
            try:
                r = c.get(url(port, path))
                log(f"GET {path} -> {r.status_code}")
            except Exception as exc:
                log(f"GET {path} FAILED: {type(exc).__module__}.{type(exc).__name__}: {exc}")
            log(f"sleep {pause}")
            time.sleep(pause)
    log("client closed")


# ------------------------------------------------------------------ 8 ----
def single_idle(port: int) -> None:
    """requests.Session, one GET, hold the session 3 s (nginx closes at 2 s),
    exit without closing it (the process exit closes the socket)."""
    import requests

    lib_logging("urllib3")
    s = requests.Session()
    r = s.get(url(port, "/once"))
    log(f"GET /once -> {r.status_code} Connection: {r.headers.get('Connection')}; sleep 3")
    time.sleep(3)
    log("exiting without session.close()")


# ------------------------------------------------------------------ 9 ----
def new_session_per_request(port: int) -> None:
    """The real 'not reusing' bug: a new requests.Session for every request,
    kept referenced (so never closed), 0.3 s apart.  Each request opens a new
    connection while the previous ones are still open and idle."""
    import requests

    lib_logging("urllib3")
    sessions = []
    for i in range(3):
        s = requests.Session()
        sessions.append(s)
        r = s.get(url(port, f"/new{i + 1}"))
        log(f"session #{i + 1}: GET /new{i + 1} -> {r.status_code}; sleep 0.3")
        time.sleep(0.3)
    for i, s in enumerate(sessions):
        s.close()
        log(f"session #{i + 1} closed")


def httpx_no_keepalive(port: int) -> None:
    """httpx.Client(limits=Limits(max_keepalive_connections=0)): the pool keeps
    no idle connection, so each response's close makes httpx close the
    connection; 3 GETs 0.3 s apart -> 3 connections, never two at once."""
    import httpx

    lib_logging("httpcore.connection")
    with httpx.Client(limits=httpx.Limits(max_keepalive_connections=0)) as c:
        for i in range(3):
            r = c.get(url(port, f"/nokeep{i + 1}"))
            log(f"GET /nokeep{i + 1} -> {r.status_code}; sleep 0.3")
            time.sleep(0.3)
    log("client closed")


SCENARIOS = {
    "httpx-expiry": httpx_expiry,
    "aiohttp-timer": aiohttp_timer,
    "aiohttp-timer-late": aiohttp_timer_late,
    "requests-server-idle": requests_server_idle,
    "race-httpx": race_httpx,
    "race-requests": race_requests,
    "stale-requests": stale_requests,
    "stale-httpx": stale_httpx,
    "single-idle": single_idle,
    "new-session-per-request": new_session_per_request,
    "httpx-no-keepalive": httpx_no_keepalive,
}

if __name__ == "__main__":
    if len(sys.argv) != 3 or sys.argv[1] not in SCENARIOS:
        sys.exit(f"usage: {sys.argv[0]} {{{','.join(SCENARIOS)}}} PORT")
    SCENARIOS[sys.argv[1]](int(sys.argv[2]))
