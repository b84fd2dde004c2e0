"""Idle stretches inside a connection and what ended them."""

from __future__ import annotations

from array import array
from dataclasses import fields
from operator import attrgetter

try:
    import cython
except ImportError:  # the interpreted build without Cython installed
    import katui.model._cython as cython

from katui.analysis.pipeline import Analysis
from katui.model import FIN, RST, Connection, IdleGap
from katui.model.exchange import columns
from katui.model.store import SM_FIRST, SM_FRAME, SM_STATUS, SMALL, ix_at

_NEAR = 1 << 62
"""Timestamps (ns) within this of 0 are subtracted in C: their differences fit 64 bits."""
NO_TRAFFIC = "no traffic"
"""What a gap row says when the frame after it neither asks, answers nor closes."""


def requests_by_frame(conn: Connection) -> dict[int, list]:
    """Exchanges by the frame where their request starts (pipelined requests share one)."""
    out: dict[int, list] = {}
    for e in conn.exchanges:
        req = e.req
        if req >= 0:  # the store's column, not a message view: Markdown asks for every connection
            first = e.store.small[req * SMALL + SM_FIRST]
            got = out.get(first)
            if got is None:
                out[first] = [e]
            else:
                got.append(e)
    return out


def _first_requests(run) -> dict[int, int]:
    """Frame -> the index of the first exchange of ``run`` (its columns) whose request starts
    there: :func:`requests_by_frame`'s first of each, without an object per exchange (an idle
    gap names at most the one its frame starts)."""
    out: dict[int, int] = {}
    small = run.store.small if len(run) else None
    for k in range(len(run)):
        req = run.req_at(k)
        if req >= 0:
            first = ix_at(small, req * SMALL + SM_FIRST)
            if first not in out:
                out[first] = k
    return out


def previous_on_path(a: Analysis, conn: Connection) -> Connection | None:
    """The latest connection from the same client host to the same server that was already
    closed when ``conn`` started: the one a pool had to replace with ``conn``."""
    index = a.cache.get("closed_paths")
    if index is None:
        index = _closed_by_path(a)
        a.cache["closed_paths"] = index
    client = conn.client
    cut = client.rfind(":")  # the host: what rsplit(":", 1)[0] keeps, without a list
    found = index.get((client[:cut] if cut >= 0 else client, conn.server))
    if found is None:
        return None
    times, conns = found
    # A load test has tens of thousands of connections on one path: search, don't scan.
    # Among equal close times the first in capture order wins, as a scan would pick it.
    end = _bisect(times, conn.start_ns, len(times), True)
    while end > 0:
        last = times[end - 1]
        # The first of the close times equal to the latest: most are alone (no search).
        start = end - 1 if end == 1 or times[end - 2] != last else _bisect(times, last, end, False)
        for k in range(start, end):  # Markdown asks for every connection: no slice copied
            if conns[k] is not conn:
                return conns[k]
        end = start
    return None


def _bisect(times: array, t: int, end: int, right: bool) -> int:
    """``bisect_right(times, t, 0, end)`` (``right``) or ``bisect_left``: compiled, with C
    comparisons of the 64-bit times (a load test's previous connection, looked up for each)."""
    lo, hi = 0, end
    while lo < hi:
        mid = (lo + hi) // 2
        at = times[mid]
        if at < t or (right and at == t):
            lo = mid + 1
        else:
            hi = mid
    return lo


def _closed_by_path(a: Analysis) -> dict[tuple[str, str], tuple[array, list[Connection]]]:
    """(client host, server) -> the closed connections on it by close time (then capture order),
    and their close times (an array of 64-bit ns).

    Built when the first ladder is drawn, right after a capture loads: one pass, no per-item
    key tuples (a load test lists tens of thousands of connections on one path)."""
    # One list per path, sorted in place, and the times as 8 bytes each: not a list of int
    # objects (40 bytes each) kept, nor a list of positions to sort (the ab capture's 60,000
    # connections on one path made the Markdown report's peak ~4 MB higher).
    paths: dict[tuple[str, str], list[Connection]] = {}
    host, server, got = "", None, None  # the previous connection's path and its list
    for c in a.connections:
        if c.close.ts_ns is None:
            continue
        client = c.client
        cut = client.rindex(":")
        # A load test's connections mostly share the previous one's path: recognised without
        # slicing the host out and hashing a new key (the ab capture's index: ~55 ms, ~40 so).
        if got is None or cut != len(host) or not client.startswith(host) or c.server != server:
            host, server = client[:cut], c.server
            key = (host, server)
            got = paths.get(key)
            if got is None:
                got = paths[key] = []
        got.append(c)
    out = {}
    for key, conns in paths.items():
        conns.sort(key=_CLOSED_AT)  # stable: capture order among equal close times
        out[key] = (array("q", map(_CLOSED_AT, conns)), conns)
    return out


_CLOSED_AT = attrgetter("close.ts_ns")
"""When a closed connection was closed (no Python function called per connection)."""


def idle_gaps(a: Analysis, conn: Connection, threshold_ns: int | None = None) -> list[IdleGap]:
    """Every stretch of at least ``threshold_ns`` between consecutive frames of ``conn``."""
    limit = a.idle_threshold_ns if threshold_ns is None else threshold_ns
    starts = timeouts = run = None  # made at the first gap: most connections of a load test have none
    done = 0  # exchanges before this one were answered before the gap being looked at
    out = []
    frames = conn.frames
    if len(frames) == 0:  # (also when the analysis kept no per-frame columns to look at)
        return out
    ts, flags = a.table.ts, a.table.flags
    prev = frames[0]
    before = ts[prev - 1]
    # Most frames are passed with a C subtraction, made only where it cannot overflow (both
    # times and the limit within 2**62 of 0); the rest with Python ints (a hostile capture's
    # timestamps may differ by more than 64 bits).
    near = isinstance(limit, int) and -_NEAR < limit < _NEAR
    short = limit if near else 0
    for i in range(1, len(frames)):
        cur = frames[i]
        at = ts[cur - 1]
        if near and -_NEAR < at < _NEAR and -_NEAR < before < _NEAR and at - before < short:
            prev, before = cur, at
            continue
        later, earlier = at, before  # Python ints (see the .pxd)
        dur = later - earlier
        if dur >= limit:
            if starts is None:
                run = columns(conn.exchanges)  # read as columns: an object only for what a gap names
                starts = _first_requests(run)
                timeouts = _timeouts_by_frame(run, conn.exchanges)
            ended = _what_ended(a, conn, cur, dur, starts, timeouts, flags[cur - 1])
            # Gaps come in frame order: an exchange answered before one is before the next too
            # (a day-long connection's thousands of gaps do not each walk all its exchanges).
            done = _answered_before(run, done, prev)
            k = _waiting(run, done, prev, cur)
            waiting = None
            if k >= 0:
                waiting = conn.exchanges[k]
                ended = _waited(waiting, cur, ended)
            else:
                # Inside a response still arriving, else inside a request still being sent.
                k = _in_transfer(run, done, prev, cur, False)
                paused = k >= 0
                if not paused:  # (a gap inside a request is a wait for it too, not idle)
                    k = _in_transfer(run, done, prev, cur, True)
                if k >= 0:
                    waiting = conn.exchanges[k]
                    ended = _said_first(ended, _PAUSED[paused].format(waiting.n))
            out.append(_idle_gap(conn.stream, prev, cur, dur, ended, waiting.n if waiting is not None else 0))
        prev, before = cur, at
    return out


# IdleGap's fields in order (unpacked: a field added or taken away fails here, not in _idle_gap).
_STREAM, _AFTER, _BEFORE, _DURATION, _ENDS_IN, _EXPLANATION, _WAITING = (f.name for f in fields(IdleGap))
_new_object = object.__new__


def _idle_gap(stream: int, after: int, before: int, dur: int, ended: tuple, waiting: int) -> IdleGap:
    """``IdleGap(stream, after, before, dur, *ended, waiting)``: compiled, its fields set in C
    as its frozen dataclass ``__init__`` sets them (``object.__setattr__`` each, in Python
    code: ~10,000 instructions a gap, 20k gaps in the synthetic capture's Markdown report)."""
    ends_in, explanation = ended
    if not cython.compiled:
        return IdleGap(stream, after, before, dur, ends_in, explanation, waiting)
    gap = _new_object(IdleGap)
    PyObject_GenericSetAttr(gap, _STREAM, stream)  # noqa: F821
    PyObject_GenericSetAttr(gap, _AFTER, after)  # noqa: F821
    PyObject_GenericSetAttr(gap, _BEFORE, before)  # noqa: F821
    PyObject_GenericSetAttr(gap, _DURATION, dur)  # noqa: F821
    PyObject_GenericSetAttr(gap, _ENDS_IN, ends_in)  # noqa: F821
    PyObject_GenericSetAttr(gap, _EXPLANATION, explanation)  # noqa: F821
    PyObject_GenericSetAttr(gap, _WAITING, waiting)  # noqa: F821
    return gap


def _what_ended(a, conn, frame, dur, starts, timeouts, fl):
    """(what ends the gap, why, in words that do not repeat its duration)."""
    if frame in starts:
        e = conn.exchanges[starts[frame]]
        if conn.close.reason == "stale-reuse" and conn.close.frame is not None and frame > conn.close.frame:
            return "request", (f"then request {e.n} is sent on a connection the server had already closed")
        if not e.reused:
            return "request", f"then request {e.n}, the first on this connection"
        return "request", f"then request {e.n} reuses the connection"
    if frame == conn.close.frame:
        if conn.close.reason == "stale-reuse" and not fl & RST:
            return "close", (
                f"then the {conn.close.by} closes the idle connection (its "
                "keep-alive timeout) while the peer still counts on it"
            )
        kind = "reset" if fl & RST else "close"
        return kind, conn.close.explanation
    side = "client" if a.table.from_client(frame - 1) else "server"
    goaway = _goaway_in(conn, frame)
    if goaway is not None:  # HTTP/2: the silence ends with the decision to close
        return (
            "close",
            f"then the {goaway[0]} sends GOAWAY (last stream {goaway[3]}): it closes the connection",
        )
    if fl & RST:
        return "reset", f"then the {side} resets"
    if fl & FIN:
        return "close", f"then the {side} sends FIN"
    timeout = timeouts.get(frame) if timeouts else None
    if timeout is not None:
        return "response", (
            f"then 408 {timeout.store.text(timeout.resp).reason}: no request came within the "
            "server's request timeout"
        )
    return "other", NO_TRAFFIC


def _timeouts_by_frame(run, exchanges) -> dict:
    """The exchanges whose response is a 408 that answered no request, by the frame the response
    starts in (a silence before one is the server's request timeout): one pass over ``run``
    (``exchanges``' columns: an object only for a 408 found) at a connection's first gap, with
    :func:`_first_requests`; most connections have none."""
    out = {}
    small = run.store.small if len(run) else None
    for k in range(len(run)):
        resp = run.resp_at(k)
        if resp >= 0 and run.req_at(k) < 0 and small[resp * SMALL + SM_STATUS] == 408:
            out[small[resp * SMALL + SM_FIRST]] = exchanges[k]
    return out


def _answered_before(run, lo: int, before: int) -> int:
    """The index of the first exchange of ``run`` (its columns) from ``lo`` on whose response
    was not complete by frame ``before`` (one that was cannot wait or be arriving in a gap after
    it)."""
    small = run.store.small if len(run) else None
    while lo < len(run):
        resp = run.resp_at(lo)
        if resp < 0:
            break
        end = ix_at(small, resp * SMALL + SM_FRAME)  # 0: never completed
        if end == 0 or end > before:
            break
        lo += 1
    return lo


def _waiting(run, lo: int, before: int, after: int) -> int:
    """The index (from ``lo``; -1: none) of the exchange of ``run`` whose request was all sent
    by frame ``before`` and whose response had not begun before frame ``after`` (or never
    came): the gap between them is a wait, not idle."""
    small = run.store.small if len(run) else None
    for i in range(lo, len(run)):
        req = run.req_at(i)
        if req < 0:
            continue
        sent = ix_at(small, req * SMALL + SM_FRAME)  # 0: never completed
        if sent == 0 or sent > before:
            continue
        resp = run.resp_at(i)
        if resp < 0 or ix_at(small, resp * SMALL + SM_FIRST) >= after:
            return i
    return -1


def _in_transfer(run, lo: int, before: int, after: int, requests: bool) -> int:
    """The index (from ``lo``; -1: none) of the exchange of ``run`` whose response
    (``requests``: request) had begun by frame ``before`` and was not complete before frame
    ``after`` (or never): the gap falls inside its transfer (a streamed or stalled response; a
    head or body the client stalled in, which servers answer with 408)."""
    small = run.store.small if len(run) else None
    for i in range(lo, len(run)):
        row = run.req_at(i) if requests else run.resp_at(i)
        if row < 0:
            continue
        s = row * SMALL
        if ix_at(small, s + SM_FIRST) > before:
            if requests:
                break  # requests come in order: none after this one began by ``before``
            continue
        done = ix_at(small, s + SM_FRAME)  # 0: never completed
        if done == 0 or done >= after:
            return i
    return -1


_PAUSED = {
    True: "response {} is still arriving, paused mid-transfer (a stream, a long poll or a stall), not idle",
    False: "request {} is still being sent, paused mid-request (a slow or stalled client), not idle",
}
"""What a gap inside a transfer says, by whether it is a response's (``True``) or a request's."""


def _waited(e, frame: int, ended: tuple) -> tuple:
    """What a gap ``ended`` by ``frame`` says while request ``e`` waited for its response."""
    resp = e.resp
    if resp >= 0 and e.store.small[resp * SMALL + SM_FIRST] == frame:
        label = e.store.label(resp)
        return "response", f"request {e.n} waits for its response; then response {e.n} ({label})"
    return _said_first(ended, f"request {e.n} waits for its response")


def _said_first(ended: tuple, said: str) -> tuple:
    """``ended`` (what ends a gap, why) with ``said`` in front of why (instead of 'no traffic')."""
    kind, why = ended
    return kind, said if kind == "other" else f"{said}; {why}"


def _goaway_in(conn: Connection, frame: int) -> tuple | None:
    """The HTTP/2 GOAWAY carried by ``frame``, if any."""
    if conn.http2 is None:
        return None
    return next((g for g in conn.http2.goaway if g[1] == frame), None)
