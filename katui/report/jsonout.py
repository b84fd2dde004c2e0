"""JSON report: a stable, documented schema (see docs/json-schema.md)."""

from __future__ import annotations

import json

from katui.analysis.pipeline import Analysis
from katui.model import (
    CHUNKED,
    COL_BODY,
    COL_START,
    COMPLETE,
    H_CONNECTION,
    H_HOST,
    H_KEEP_ALIVE,
    H_METHOD,
    H_REASON,
    H_VERSION,
    NUM,
    SM_BITS,
    SM_FIRST,
    SM_FRAME,
    SM_STATUS,
    SMALL,
    Close,
    Connection,
    Exchange,
    TlsInfo,
)

SCHEMA_VERSION = 1


def _s(ns: int | None, digits: int = 6) -> float | None:
    return None if ns is None else round(ns / 1e9, digits)


def _request(a: Analysis, e: Exchange) -> dict:
    """One exchange, flat: the fields of the issue's schema plus what keep-alive needs."""
    if e.inferred:
        return _inferred(a, e)
    req, resp = e.request, e.response
    d = {
        "n": e.n,
        "reused": e.reused,
        "pipelined": e.pipelined,
        "idle_before": _s(e.idle_before_ns),
        "ttfb": _s(e.ttfb_ns),
    }
    if req is not None:
        d.update(
            request_frame=req.frame,
            request_first_frame=req.first_frame,
            method=req.method,
            uri=req.uri,
            host=req.host,
            version=req.version,
            time=_s(req.start_ns - a.first_ns),
            request_connection=req.connection,
            request_complete=req.complete,
        )
    else:
        d.update(request_frame=None, method=None, uri=None)
    if resp is not None:
        d.update(
            response_frame=resp.frame,
            response_first_frame=resp.first_frame,
            status=resp.status,
            reason=resp.reason,
            response_version=resp.version,
            response_connection=resp.connection,
            keep_alive=resp.keep_alive,
            body_bytes=resp.body_bytes,
            chunked=resp.chunked,
            response_complete=resp.complete,
        )
    else:
        d.update(response_frame=None, status=None)
    if e.informational:
        d["informational"] = [m.status for m in e.informational]
    return d


def _inferred(a: Analysis, e: Exchange) -> dict:
    """An exchange inferred from TLS records: the same keys, null where only a header would
    tell (method, URI, status...), sizes in encrypted bytes, and ``inferred: true``."""
    req, resp = e.request, e.response
    return {
        "n": e.n,
        "reused": e.reused,
        "pipelined": e.pipelined,
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


_str = json.encoder.encode_basestring_ascii  # C: quoted, escaped, ASCII-only


def _sec(ns: int | None) -> str:
    return "null" if ns is None else repr(round(ns / 1e9, 6))


def _opt(v) -> str:
    return "null" if v is None else (_str(v) if isinstance(v, str) else str(v))


def _bool(v: bool) -> str:
    return "true" if v else "false"


def _request_json(a: Analysis, e: Exchange) -> str:
    """Exactly ``json.dumps(_request(a, e))`` (compact), written directly: a load-test capture
    has hundreds of thousands of exchanges, and a dict per exchange doubles the cost. Message
    fields are read straight from the message store's columns (no property calls)."""
    if e.inferred:
        return _dump(_inferred(a, e))
    req, resp, store = e.req, e.resp, e.store
    out = (
        f'{{"n":{e.n},"reused":{_bool(e.reused)},"pipelined":{_bool(e.pipelined)},'
        f'"idle_before":{_sec(e.idle_before_ns)},"ttfb":{_sec(e.ttfb_ns)}'
    )
    if req >= 0:
        num, b = store.num, req * NUM
        small, m = store.small, req * SMALL
        h = store.heads[req]
        out += (
            f',"request_frame":{small[m + SM_FRAME] or "null"},'
            f'"request_first_frame":{small[m + SM_FIRST]},'
            f'"method":{_str(h[H_METHOD])},"uri":{_str(store.uris[req])},'
            f'"host":{_str(h[H_HOST])},"version":{_str(h[H_VERSION])},'
            f'"time":{_sec(num[b + COL_START] - a.first_ns)},'
            f'"request_connection":{_opt(h[H_CONNECTION])},'
            f'"request_complete":{_bool(small[m + SM_BITS] & COMPLETE)}'
        )
    else:
        out += ',"request_frame":null,"method":null,"uri":null'
    if resp >= 0:
        num, b = store.num, resp * NUM
        small, m = store.small, resp * SMALL
        h = store.heads[resp]
        out += (
            f',"response_frame":{small[m + SM_FRAME] or "null"},'
            f'"response_first_frame":{small[m + SM_FIRST]},'
            f'"status":{small[m + SM_STATUS]},"reason":{_str(h[H_REASON])},'
            f'"response_version":{_str(h[H_VERSION])},'
            f'"response_connection":{_opt(h[H_CONNECTION])},'
            f'"keep_alive":{_opt(h[H_KEEP_ALIVE])},"body_bytes":{num[b + COL_BODY]},'
            f'"chunked":{_bool(small[m + SM_BITS] & CHUNKED)},'
            f'"response_complete":{_bool(small[m + SM_BITS] & COMPLETE)}'
        )
    else:
        out += ',"response_frame":null,"status":null'
    if e.informational:
        out += f',"informational":[{",".join(str(m.status) for m in e.informational)}]'
    return out + "}"


def _close(a: Analysis, c: Close) -> dict:
    return {
        "by": c.by,
        "how": c.how,
        "frame": c.frame,
        "time": _s(a.rel(c.ts_ns)) if c.ts_ns is not None else None,
        "idle_before": _s(c.idle_before_ns),
        "reason": c.reason,
        "asked_by": c.asked_by,
        "explanation": c.explanation,
        "rst_frames": list(c.rst_frames),
    }


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
        "note": t.note,
    }


def connection_dict(a: Analysis, c: Connection) -> dict:
    """One connection in the JSON schema."""
    d = _connection_fields(a, c)
    d["requests"] = [_request(a, e) for e in c.exchanges]
    return d


def _connection_fields(a: Analysis, c: Connection) -> dict:
    """Everything of a connection but its requests."""
    d = {
        "stream": c.stream,
        "client": c.client,
        "server": c.server,
        "client_inferred": c.client_inferred,
        "first_frame": c.first_frame,
        "last_frame": c.last_frame,
        "frame_count": c.frame_count,
        "frames_client": c.frames_c2s,
        "frames_server": c.frames_s2c,
        "bytes_client": c.bytes_c2s,
        "bytes_server": c.bytes_s2c,
        "start": _s(a.rel(c.start_ns)),
        "duration": _s(c.duration_ns),
        "handshake_rtt": _s(c.handshake_rtt_ns),
        "state": c.state,
        "http": c.http,
        "close": _close(a, c.close),
        "tcp": {
            "retransmissions": c.retransmissions,
            "out_of_order": c.out_of_order,
            "lost_segments": c.lost_segments,
            "truncated_frames": c.truncated_frames,
        },
        "http_error": c.http_error,
    }
    if c.tls is not None:
        d["tls"] = _tls(a, c.tls)
    return d


def _timeout(t) -> dict:
    return {
        "server": t.server,
        "estimate": _s(t.estimate_ns, 3),
        "low": _s(t.low_ns),
        "high": _s(t.high_ns),
        "advertised": t.advertised_s,
        "samples": t.samples,
    }


def _header(a: Analysis) -> dict:
    t = a.timeout
    return {
        "schema": SCHEMA_VERSION,
        "file": a.path,
        "format": a.format,
        "link_types": a.link_types,
        "frames": a.frames,
        "duration": _s(a.duration_ns),
        "warnings": a.warnings,
        "server_idle_timeout": _timeout(t),
        "server_idle_timeouts": [_timeout(x) for x in a.timeouts],
        "findings": [
            {
                "kind": f.kind,
                "severity": f.severity,
                "stream": f.stream,
                "frame": f.frame,
                "text": f.text,
                "advice": f.advice,
            }
            for f in a.findings
        ],
    }


def to_dict(a: Analysis, streams: list[int] | None = None) -> dict:
    """The whole analysis as plain data."""
    conns = a.connections if streams is None else [a.connections[s] for s in streams]
    d = _header(a)
    d["connections"] = [connection_dict(a, c) for c in conns]
    return d


_dump = json.JSONEncoder(ensure_ascii=True, separators=(",", ":")).encode


def chunks(a: Analysis, streams: list[int] | None = None):
    """The JSON text in pieces, one connection at a time, so memory stays flat on big captures.

    ASCII only (no capture byte reaches a terminal raw); compact, because only the compact form
    uses the C encoder.
    """
    conns = a.connections if streams is None else [a.connections[s] for s in streams]
    head = _dump(_header(a))
    yield head[:-1] + ',"connections":['
    for i, c in enumerate(conns):
        fields = _dump(_connection_fields(a, c))
        reqs = ",".join([_request_json(a, e) for e in c.exchanges])
        yield ("," if i else "") + fields[:-1] + ',"requests":[' + reqs + "]}"
    yield "]}\n"


def render(a: Analysis, streams: list[int] | None = None) -> str:
    """The JSON report as one string."""
    return "".join(chunks(a, streams))
