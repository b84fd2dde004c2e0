"""JSON report: a stable, documented schema (see docs/json-schema.md)."""

from __future__ import annotations

import json
import re

from katui.analysis.pipeline import Analysis
from katui.http2.frames import error_name
from katui.model import Connection, Exchange, Http2Info, TlsInfo
from katui.report.jsonrows import RequestWriter, connection_head
from katui.tls.records import alert_level, alert_name

SCHEMA_VERSION = 4


def _s(ns: int | None, digits: int = 6) -> float | None:
    return None if ns is None else round(ns / 1e9, digits)


def _inferred(a: Analysis, e: Exchange) -> dict:
    """An exchange inferred from TLS records: the same keys, null where only a header would
    tell (method, URI, status...), sizes in encrypted bytes, and ``inferred: true``."""
    req, resp = e.request, e.response
    return {
        "n": e.n,
        "reused": bool(e.reused),  # (compiled, the fields are one-byte integers)
        "pipelined": bool(e.pipelined),
        "idle_before": _s(e.idle_before_ns),
        "ttfb": _s(e.ttfb_ns),
        "request_frame": req.frame if req else None,
        "request_first_frame": req.first_frame if req else None,
        "method": None,
        "uri": None,
        "host": req.host if req else None,
        "version": None,
        "time": _s(req.start_ns - a.first_ns) if req else None,
        "request_bytes": req.body_bytes if req else None,
        "request_complete": req is not None,
        "response_frame": resp.frame if resp else None,
        "response_first_frame": resp.first_frame if resp else None,
        "status": None,
        "body_bytes": resp.body_bytes if resp else None,
        "response_complete": resp is not None,
        "inferred": True,
    }


def _request_json(
    a: Analysis, e: Exchange, stream: int | None = None, rows: RequestWriter | None = None
) -> str:
    """One exchange, flat: the fields of the issue's schema plus what keep-alive needs, as
    compact JSON (what ``json.dumps`` would write). Written directly (by ``rows``, which
    :func:`chunks` shares between requests): a load-test capture has hundreds of thousands of
    exchanges, and a dict per exchange doubles the cost."""
    if e.inferred:
        return _dump(_inferred(a, e))
    out = (rows or RequestWriter(a.first_ns)).exchange(e)
    if e.informational:
        out += f',"informational":[{",".join(str(m.status) for m in e.informational)}]'
    sid = getattr(e, "stream_id", None)
    if sid is not None:  # an HTTP/2 stream
        out += f',"stream_id":{sid},"concurrent":{"true" if e.concurrent else "false"}'
    if stream is not None:  # a connection of a proxy's front or upstream leg
        out += _legs(a, stream, e.n)
    return out + "}"


def _legs(a: Analysis, stream: int, n: int) -> str:
    """``,"upstream":[...]`` on a linked front request, ``,"downstream":{...}`` on an upstream
    one, both on the middle leg of a proxy chain ('' when the request is not linked)."""
    out = ""
    ups = a.proxies.upstream_of(stream, n)
    if ups:
        out = ',"upstream":[' + ",".join(
            f'{{"stream":{k.upstream_stream},"n":{k.upstream_n}}}' for k in ups
        ) + "]"  # fmt: skip
    down = a.proxies.downstream_of(stream, n)
    if down is not None:
        out += f',"downstream":{{"stream":{down.front_stream},"n":{down.front_n}}}'
    return out


def _request(a: Analysis, e: Exchange, stream: int | None = None) -> dict:
    """One exchange as plain data: :func:`_request_json` read back (the shape is written once)."""
    return json.loads(_request_json(a, e, stream))


def _tls(a: Analysis, t: TlsInfo) -> dict:
    return {
        "version": t.version,
        "sni": t.sni,
        "alpn_offered": list(t.alpn_offered),
        "alpn": t.alpn,
        "cipher": t.cipher,
        "resumed": t.resumed,
        "full_handshake": t.full_handshake,
        "handshake_round_trips": t.handshake_round_trips,
        "handshake_time": _s(t.handshake_ns),
        "client_hello_frame": t.client_hello_frame,
        "close_notify": list(t.close_notify),
        "multiplexed": t.multiplexed,
        "decrypted": t.decrypted,
        "zero_rtt": t.zero_rtt,
        "note": t.note,
        "alerts": [
            {
                "by": by,
                "level": alert_level(level),
                "description": alert_name(code),
                "code": code,
                "frame": frame,
            }
            for by, level, code, frame in t.alerts
        ],  # fmt: skip
    }


def _http2(a: Analysis, h: Http2Info) -> dict:
    def sides(pair: tuple[int, int]) -> dict:
        return {"client": pair[0], "server": pair[1]}

    out = {
        "cleartext": h.cleartext,
        "streams": h.streams,
        "settings": sides(h.settings),
        "client_settings": dict(h.client_settings),
        "server_settings": dict(h.server_settings),
        "pings": sides(h.pings),
        "goaway": [
            {
                "by": by,
                "frame": frame,
                "time": _s(a.rel(ts)),
                "last_stream_id": last,
                "error": error_name(code),
            }
            for by, frame, ts, last, code in h.goaway
        ],
        "rst_streams": [
            {"by": by, "frame": frame, "stream_id": sid, "error": error_name(code)}
            for by, frame, sid, code in h.rst_streams
        ],
        "goaway_count": h.goaway_count,
        "rst_stream_count": h.rst_stream_count,
        "push_promises": h.push_promises,
        "note": h.note,
    }
    if h.upgrade_frame is not None:  # h2c by Upgrade only (the key is absent otherwise)
        out["upgrade_frame"] = h.upgrade_frame
    return out


def connection_dict(a: Analysis, c: Connection) -> dict:
    """One connection in the JSON schema."""
    d = _connection_fields(a, c)
    linked = c.stream if c.stream in a.proxies.roles else None
    d["requests"] = [_request(a, e, linked) for e in c.exchanges]
    return d


def _connection_fields(a: Analysis, c: Connection) -> dict:
    """Everything of a connection but its requests, as plain data (:func:`_connection_json`
    read back: the shape is written once)."""
    return json.loads(_connection_json(a, c) + "}")


def _connection_json(a: Analysis, c: Connection, role: tuple[str, str] | None = None) -> str:
    """Everything of a connection but its requests, as JSON without the closing brace
    (``role``: its entry in the proxy roles, when the caller has looked it up)."""
    if role is None:
        role = a.proxies.roles.get(c.stream)
    out = connection_head(a, c, None if role is None else {"role": role[0], "proxy": role[1]})
    if c.tls is not None:
        out += ',"tls":' + _dump(_tls(a, c.tls))
    if c.http2 is not None:
        out += ',"http2":' + _dump(_http2(a, c.http2))
    return out


def _timeout(t) -> dict:
    return {
        "server": t.server,
        "estimate": _s(t.estimate_ns, 3),
        "low": _s(t.low_ns),
        "high": _s(t.high_ns),
        "advertised": t.advertised_s,
        "samples": t.samples,
        "software": t.software,
        "setting": t.setting,
        "identified_by": t.identified_by,
    }


def _proxies(a: Analysis) -> dict:
    """Proxies found, each front request's upstream request(s), and the upstream races."""
    px = a.proxies
    return {
        "proxies": list(px.proxies),
        "links": [
            {
                "proxy": k.proxy,
                "front": {"stream": k.front_stream, "request": k.front_n, "frame": k.front_frame},
                "upstream": {"stream": k.upstream_stream, "request": k.upstream_n, "frame": k.upstream_frame,
                             "server": k.upstream_server},
                "attempt": k.attempt,
                "answered": k.answered,
                "how": k.how,
                "stripped_prefix": k.stripped_prefix,
                "added_prefix": k.added_prefix,
            }
            for k in px.links
        ],
        "races": [
            {
                "proxy": r.proxy,
                "server": r.upstream_server,
                "stream": r.stream,
                "request": r.n,
                "method": r.method,
                "request_frame": r.request_frame,
                "close_frame": r.close_frame,
                "close_how": r.close_how,
                "idle_before": _s(r.idle_before_ns),
                "outcome": r.outcome,
                "front_stream": r.front_stream,
                "front_request": r.front_n,
                "front_status": r.front_status,
                "front_frame": r.front_frame,
                "retry_stream": r.retry_stream,
                "retry_frame": r.retry_frame,
                "extra_latency": _s(r.extra_latency_ns),
            }
            for r in px.races
        ],
    }  # fmt: skip


def _header(a: Analysis, findings: bool = True) -> dict:
    """The report's fields before its connections (without ``findings`` when False: they are
    its last field, and :func:`_head_json` writes them)."""
    t = a.timeout
    d = {
        "schema": SCHEMA_VERSION,
        "file": a.path,
        "format": a.format,
        "link_types": a.link_types,
        "frames": a.frames,
        "start_time": _s(a.first_ns),
        "duration": _s(a.duration_ns),
        "warnings": a.warnings,
        "server_idle_timeout": _timeout(t),
        "server_idle_timeouts": [_timeout(x) for x in a.timeouts],
        "proxies": _proxies(a),
    }
    if findings:
        d["findings"] = [
            {**_finding_head(f), "streams": list(f.streams), **_finding_tail(f)} for f in a.findings
        ]
    return d


def _finding_head(f) -> dict:
    """A finding's fields before its ``streams``."""
    return {"kind": f.kind, "severity": f.severity, "stream": f.stream, "frame": f.frame, "text": f.text,
            "advice": f.advice}  # fmt: skip


def _finding_tail(f) -> dict:
    """A finding's fields after its ``streams``."""
    return {"server": f.server, "count": f.count}


STREAMS_SLICE = 4096
"""Streams of a finding turned into text at a time (see :func:`_head_json`)."""


def _head_json(a: Analysis) -> str:
    """``_dump(_header(a))`` (:func:`_head_pieces` joined)."""
    return "".join(_head_pieces(a)) + "}"


def _head_pieces(a: Analysis):
    """``_dump(_header(a))`` without its closing brace, in pieces: each finding's streams are
    written a slice at a time and handed on as they are made. A load test's findings list tens
    of thousands of streams: as one string (joined, then copied once more to append the
    connections) they cost a few MB at the writer's peak."""
    yield f'{_dump(_header(a, False))[:-1]},"findings":['
    for k, f in enumerate(a.findings):
        s = f.streams
        yield f'{"," if k else ""}{_dump(_finding_head(f))[:-1]},"streams":['
        for i in range(0, len(s), STREAMS_SLICE):
            yield ("," if i else "") + ",".join(map(str, s[i : i + STREAMS_SLICE]))
        yield f"],{_dump(_finding_tail(f))[1:]}"
    yield "]"


def to_dict(a: Analysis, streams: list[int] | None = None) -> dict:
    """The whole analysis as plain data (what the JSON report says: see :func:`chunks` for a
    byte of a request target that was not UTF-8)."""
    conns = a.connections if streams is None else [a.connections[s] for s in streams]
    d = _header(a)
    d["connections"] = [connection_dict(a, c) for c in conns]
    return _replaced(d) if _undecoded(a) else d


def _replaced(v):
    """``v`` with each lone surrogate of its strings (a byte that was not UTF-8) U+FFFD."""
    if isinstance(v, str):
        return _SURROGATE.sub("\ufffd", v)
    if isinstance(v, dict):
        return {k: _replaced(x) for k, x in v.items()}
    return [_replaced(x) for x in v] if isinstance(v, list) else v


_dump = json.JSONEncoder(ensure_ascii=True, separators=(",", ":")).encode


_UNDECODED = re.compile(r"(?<!\\)((?:\\\\)*)\\udc[89a-f][0-9a-f]")
"""The encoder's escape of a lone surrogate U+DC80-U+DCFF (not the text of an escaped
backslash followed by ``udc..``)."""
_SURROGATE = re.compile("[\udc80-\udcff]")


def _undecoded(a: Analysis) -> bool:
    """A request target or header value of the capture holds a byte that was not UTF-8:
    :func:`katui.textsafe.capture_text` kept it as a lone surrogate, which the JSON encoder
    would write as ``\\udcNN``, a string strict JSON parsers reject. Targets and the heads'
    values are the capture text read that way (TLS names are Latin-1); the check costs a look
    at each distinct one."""
    store = next((e.store for c in a.connections for e in c.exchanges if e.store is not None), None)
    if store is None:
        return False
    # Every text field of the distinct heads (Host, Server or User-Agent, reason, Connection,
    # Keep-Alive are read as targets are), and the targets.
    texts = (store.uri_table, [v for h in store.head_table for v in h if type(v) is str])
    if not store.uri_blob.isascii():  # (a lone surrogate is written as non-ASCII bytes there)
        texts += (store.blob_uris(),)
    return any(not all(map(str.isascii, t)) and any(map(_SURROGATE.search, t)) for t in texts)


def chunks(a: Analysis, streams: list[int] | None = None):
    """The JSON text in pieces of a few connections (about 64 KB), so memory stays flat on big
    captures.

    ASCII only (no capture byte reaches a terminal raw); compact, because only the compact form
    uses the C encoder. A byte of a request target that was not UTF-8 is U+FFFD (``\\ufffd``),
    as in tshark's JSON (the text and Markdown reports and the TUI show it as ``\\xNN``).
    """
    if _undecoded(a):
        for piece in _chunks(a, streams):
            yield _UNDECODED.sub(r"\1\\ufffd", piece)
        return
    yield from _chunks(a, streams)


def _chunks(a: Analysis, streams: list[int] | None):
    conns = a.connections if streams is None else [a.connections[s] for s in streams]
    yield from _head_pieces(a)
    yield ',"connections":['
    rows = RequestWriter(a.first_ns)
    roles = a.proxies.roles
    i = 0
    while i < len(conns):
        # Plain HTTP/1 connections (most of a load test's) are written by the writer alone.
        text, done = rows.batch(a, conns, i, roles)
        if done > i:
            yield text
            i = done
            continue
        c = conns[i]
        role = roles.get(c.stream)
        linked = None if role is None else c.stream
        reqs = ",".join([_request_json(a, e, linked, rows) for e in c.exchanges])
        yield ("," if i else "") + _connection_json(a, c, role) + ',"requests":[' + reqs + "]}"
        i += 1
    yield "]}\n"


def render(a: Analysis, streams: list[int] | None = None) -> str:
    """The JSON report as one string."""
    return "".join(chunks(a, streams))
