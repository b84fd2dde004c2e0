"""Shared wording for the text and Markdown reports."""

from __future__ import annotations

from collections import Counter

from katui.analysis.pipeline import Analysis
from katui.http2.frames import error_name
from katui.model import Connection, Finding, Http2Info, TlsInfo
from katui.tls.records import alert_name, first_fatal
from katui.units import fmt_iso, fmt_s, fmt_timeout, plural


def timeout_line(a: Analysis) -> str:
    """The inferred server idle timeout in one phrase."""
    t = a.timeout
    if t.estimate_ns is None:
        adv = [
            f"{x.server} advertises timeout={x.advertised_s:g}"
            for x in a.timeouts
            if x.advertised_s is not None
        ]
        return "not observed (no server-side idle close)" + (f"; {', '.join(adv)}" if adv else "")
    what = f" ({t.software} {t.setting})" if t.setting else f" ({t.software})" if t.software else ""
    parts = [f"~{fmt_timeout(t.estimate_ns)} at {t.server}{what}"]
    if t.low_ns is not None:
        parts.append(f"above {fmt_s(t.low_ns)} (longest idle before a reuse that got a response)")
    parts.append(f"at most {fmt_s(t.high_ns)} (shortest idle the server closed)")
    if t.advertised_s is not None:
        parts.append(f"advertised timeout={t.advertised_s:g}")
    others = sum(1 for x in a.timeouts[1:] if x.estimate_ns is not None)
    if others:
        parts.append(f"{others} more server{'s' * (others != 1)} in the findings")
    return ", ".join(parts)


def covers(f: Finding, most: int = 12) -> str:
    """``covers 3 connections: streams 0, 4, 9`` for a grouped finding ('' for a single one)."""
    if len(f.streams) <= 1:
        return ""
    shown = ", ".join(str(s) for s in f.streams[:most])
    more = f" (+{len(f.streams) - most} more)" if len(f.streams) > most else ""
    return f"streams {shown}{more}"


def closed_by(c: Connection) -> str:
    """``server FIN`` / ``client RST`` / ``open``."""
    if c.close.by is None:
        return "open"
    return f"{c.close.by} {c.close.how.upper()}"


def summary_pairs(a: Analysis) -> list[tuple[str, str]]:
    """(label, value) lines for the report header."""
    return [
        ("file", a.path),
        ("format", f"{a.format}, {', '.join(a.link_types) or 'no packets'}"),
        ("frames", str(a.frames)),
        ("connections", str(len(a.connections))),
        ("HTTP requests", _requests(a)),
        ("start", fmt_iso(a.first_ns) if a.frames else "-"),
        ("duration", fmt_s(a.duration_ns)),
        ("server idle timeout", timeout_line(a)),
    ] + [line for p in a.proxies.proxies for line in _proxy_lines(a, p)]


def _proxy_lines(a: Analysis, proxy: str) -> list[tuple[str, str]]:
    out = [("proxy", _proxy_line(a, proxy))]
    races = [r for r in a.proxies.races if r.proxy == proxy]
    for backend in sorted({r.upstream_server for r in races}):
        out.append(("upstream races", race_summary([r for r in races if r.upstream_server == backend])))
    return out


def race_summary(races: list) -> str:
    """One sentence for a backend's upstream keep-alive races: ``2 at 127.0.0.1:9401: 1
    reached the client as 502 (POST, not retried), 1 retried on a new upstream connection
    (GET)``."""
    parts = []
    for outcome in ("reached-client", "absorbed", "unlinked"):
        mine = [r for r in races if r.outcome == outcome]
        if not mine:
            continue
        methods = ", ".join(sorted({r.method for r in mine}))
        if outcome == "reached-client":
            got = sorted({f"as {r.front_status}" if r.front_status else "with no response" for r in mine})
            parts.append(f"{len(mine)} reached the client {' / '.join(got)} ({methods}, not retried)")
        elif outcome == "absorbed":
            parts.append(f"{len(mine)} retried on a new upstream connection ({methods})")
        else:
            parts.append(f"{len(mine)} not linked to a client request ({methods})")
    return f"{len(races)} at {races[0].upstream_server}: " + ", ".join(parts)


def _proxy_line(a: Analysis, proxy: str) -> str:
    links = [k for k in a.proxies.links if k.proxy == proxy]
    backends = sorted({k.upstream_server for k in links})
    fronts = len({(k.front_stream, k.front_n) for k in links})
    retries = sum(1 for k in links if k.attempt > 1)
    also = f", {retries} retried" if retries else ""
    return (f"{proxy} -> {', '.join(backends)}: {fronts} front requests linked to their upstream "
            f"requests{also}")  # fmt: skip


def proxy_leg(a: Analysis, stream: int, n: int) -> str:
    """Where request ``n`` of ``stream`` went through a proxy: ``upstream stream 1 request 2
    (frame 19, no answer), then stream 2 request 1 (frame 27)`` for a front request, ``front
    stream 0 request 2 (frame 15)`` for an upstream one, both (front first) on the middle leg
    of a proxy chain; '' when it is not linked."""
    px = a.proxies
    out = []
    down = px.downstream_of(stream, n)
    if down is not None:
        out.append(f"front stream {down.front_stream} request {down.front_n} (frame {down.front_frame})")
    ups = px.upstream_of(stream, n)
    if ups:
        legs = [
            f"stream {k.upstream_stream} request {k.upstream_n} (frame {k.upstream_frame}"
            + ("" if k.answered else ", no answer")
            + ")"
            for k in ups
        ]
        out.append("upstream " + ", then ".join(legs))
    return "; ".join(out)


def _requests(a: Analysis) -> str:
    """``12``, or ``12 (5 inferred from TLS records)``."""
    inferred = sum(c.requests for c in a.connections if c.tls is not None and not c.tls.decrypted)
    return f"{a.requests} ({inferred} inferred from TLS records)" if inferred else str(a.requests)


ZERO_RTT = {
    "accepted": "0-RTT early data accepted (the first request went before the handshake ended)",
    "rejected": "0-RTT early data rejected (the server skipped it)",
    "sent": "0-RTT early data sent (accepted or not is encrypted)",
}


def tls_summary(t: TlsInfo) -> str:
    """One line of a TLS connection's handshake facts, e.g. ``TLS 1.3 · sni api.example · alpn
    h2,http/1.1 -> h2 · TLS_AES_128_GCM_SHA256 · resumed, 1 round trip, 2.1 ms``."""
    parts = [t.version or "TLS (no ServerHello seen)"]
    if t.sni:
        parts.append(f"sni {t.sni}")
    if t.alpn_offered or t.alpn:
        parts.append(f"alpn {','.join(t.alpn_offered)}" + (f" -> {t.alpn}" if t.alpn else ""))
    if t.cipher:
        parts.append(t.cipher)
    shape = []
    if t.resumed is not None:
        shape.append("resumed" if t.resumed else "full handshake")
    if t.handshake_round_trips:
        shape.append(plural(t.handshake_round_trips, "round trip"))
    if t.handshake_ns is not None:
        shape.append(fmt_s(t.handshake_ns))
    if shape:
        parts.append(", ".join(shape))
    if t.zero_rtt is not None:
        parts.append(ZERO_RTT[t.zero_rtt])
    fatal = first_fatal(t.alerts)
    if fatal is not None and not t.decrypted:  # a failed handshake: no records to infer from
        how = f"handshake failed: {fatal[0]} alert {alert_name(fatal[2])} (frame {fatal[3]})"
    else:
        how = "decrypted" if t.decrypted else "exchanges inferred from encrypted records"
    if t.multiplexed and not t.decrypted and fatal is None:
        how += " (h2: bursts, not requests)"
    parts.append(how)
    if t.note:
        parts.append(t.note)
    return " · ".join(parts)


GOAWAYS_SHOWN = 4
"""GOAWAY frames named in the one-line HTTP/2 summary (a graceful shutdown sends two)."""


def _h2_kind(h: Http2Info) -> str:
    """How the connection came to speak HTTP/2."""
    if h.upgrade_frame is not None:
        return f"HTTP/2 cleartext (h2c, Upgrade: 101 in frame {h.upgrade_frame})"
    return "HTTP/2 cleartext (h2c, prior knowledge)" if h.cleartext else "HTTP/2"


def http2_summary(h: Http2Info) -> str:
    """One line of an HTTP/2 connection's frame facts, e.g. ``HTTP/2 · 3 streams · SETTINGS
    client 1, server 1 · PING client 1 · GOAWAY server last=5 PROTOCOL_ERROR (frame 24)``."""
    parts = [
        _h2_kind(h),
        plural(h.streams, "stream"),
    ]
    parts.append(f"SETTINGS client {h.settings[0]}, server {h.settings[1]}")
    if any(h.pings):
        parts.append(f"PING client {h.pings[0]}, server {h.pings[1]}")
    for side, frame, _ts, last, code in h.goaway[:GOAWAYS_SHOWN]:
        err = "" if code == 0 else f" {error_name(code)}"
        parts.append(f"GOAWAY {side} last={last}{err} (frame {frame})")
    if h.goaway_count > GOAWAYS_SHOWN:  # a flood: the first few, then how many in all
        parts.append(f"{h.goaway_count} GOAWAY in all")
    if h.rst_streams:
        by = Counter(r[0] for r in h.rst_streams)
        listed = ", ".join(f"{side} {n}" for side, n in sorted(by.items()))
        more = len(h.rst_streams) < h.rst_stream_count
        parts.append(f"RST_STREAM {h.rst_stream_count} (first {len(h.rst_streams)}: {listed})" if more
                     else f"RST_STREAM {listed}")  # fmt: skip
    if h.push_promises:
        parts.append(plural(h.push_promises, "PUSH_PROMISE"))
    if h.note:
        parts.append(h.note)
    return " · ".join(parts)
