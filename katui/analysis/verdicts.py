"""Why a connection ended: the close-reason verdict for one connection.

The verdict follows from what the capture shows, whichever side's FIN happens to come first:
a ``Connection: close`` is decided by the side that *asked*, a request limit by the response
that announced it, an idle close by the silence before it. Where the deciding bytes were not
captured (snap length, lost segments) the verdict is ``unknown`` and says why. Every verdict
carries its evidence: the frames and facts it rests on.
"""

from __future__ import annotations

import sys
from dataclasses import replace
from sys import intern

from katui.http.conversation import EARLY_ANSWERS
from katui.model import (
    COL_START,
    COMPLETE,
    GATEWAY_ERRORS,
    H_CONNECTION,
    H_KEEP_ALIVE,
    H_VERSION,
    IDLE_CLOSE_WHY,
    NUM,
    REQUEST,
    SM_BITS,
    SM_FIRST,
    SM_FRAME,
    SM_STATUS,
    SMALL,
    Close,
    Exchange,
    HttpMessage,
)
from katui.model.exchange import ExchangeRun, columns
from katui.model.store import asks_close, ix_at
from katui.tcp.facts import CloseFacts
from katui.units import fmt_s, plural

DEFAULT_IDLE_NS = 1_000_000_000
"""An idle stretch at least this long before a client's close makes it a client idle timeout."""
SERVER_IDLE_NS = 100_000_000
"""A server that closes a keep-alive connection after this much silence, with no header asking
for it, is enforcing an idle timeout (servers do not otherwise close idle connections); clients
often just exit, so theirs needs the longer ``idle_threshold_ns``."""
CLOSING_ERRORS = EARLY_ANSWERS | frozenset((411,))  # and Length Required, after a head
"""4xx statuses after which servers close the connection because of the error (nginx, Apache,
Node); any 5xx may too. A 404 with 'Connection: close' is a close for another reason."""


def decide_close(
    facts: CloseFacts, exchanges: tuple[Exchange, ...] | ExchangeRun, idle_threshold_ns: int = DEFAULT_IDLE_NS
) -> Close:
    """Pick the close reason from what was seen; see :data:`katui.model.CLOSE_REASONS`.
    ``exchanges``: the connection's, numbered (a tuple, or the freeze's run of a plain HTTP/1
    connection)."""
    f = facts
    if f.by is None:
        return _close(f, "open", "still open when the capture ended")
    # The rules read the exchanges' columns (no object per exchange: a load test's connections
    # are runs) and take from ``exchanges`` only those they name.
    run = columns(exchanges)
    # The rules in order, the first that decides wins (each returns a Close or None); called
    # by name, not from a tuple, so that compiled they are C calls with typed arguments.
    return (
        _crossed_timeout(f, exchanges, run, idle_threshold_ns)
        or _stale_reuse(f, exchanges, run, idle_threshold_ns)
        or _upgrade(f, exchanges, run, idle_threshold_ns)
        or _no_request(f, exchanges, run, idle_threshold_ns)
        or _pending(f, exchanges, run, idle_threshold_ns)
        or _error(f, exchanges, run, idle_threshold_ns)
        or _headers(f, exchanges, run, idle_threshold_ns)
        or _idle(f, exchanges, run, idle_threshold_ns)
        or _mechanics(f, exchanges, run, idle_threshold_ns)
    )


def _close(
    f: CloseFacts, reason: str, text: str, evidence=(), asked_by=None, wait_ns=None, status=None,
    exchange=None,
) -> Close:  # fmt: skip
    # Callers give the optional fields positionally (asked_by, wait_ns, status, exchange):
    # compiled, a keyword argument would make the call a Python call, not a C one.
    ev = tuple(evidence)  # not interned: frame numbers make each connection's own
    closing = False  # whether the evidence ends with the closing FIN or RST (Close makes it)
    if f.frame is not None:
        mark = f"frame {f.frame}"
        closing = True
        for e in ev:  # a loop, not any(...): no generator per connection
            # (each test needs ``mark`` in ``e``: most evidence names other frames only)
            if mark in e and (e.endswith(mark) or mark + " " in e or mark + ")" in e):
                closing = False
                break
    # The explanation is interned: a load test repeats a few sentences (idle times are shown to
    # the ms) over tens of thousands of connections. Positional, in Close's field order.
    return Close(
        f.by, f.how, f.frame, f.ts_ns, f.idle_ns, reason, intern(text), asked_by, f.rst_frames, ev,
        wait_ns, status, exchange, closing,
    )  # fmt: skip


def _decider(f: CloseFacts) -> str | None:
    """The side whose decision the verdict is about: ``decided_by``, else ``by`` (a function,
    not a property: compiled, a C call)."""
    return f.decided_by or f.by


def _verb(f: CloseFacts) -> str:
    return "reset" if f.how == "rst" else "closed"


def _idle_txt(f: CloseFacts) -> str:
    return f" after {fmt_s(f.idle_ns)} idle" if f.idle_ns is not None else ""


def _msg(m: HttpMessage, n: int) -> str:
    """``request 2 (frame 8)`` / ``response 2 (frame 9)``."""
    return _row_msg(m.store.small, m.index, n)


def _row_msg(small, row: int, n: int) -> str:
    """:func:`_msg` of the store's row ``row`` (``small``: the store's column), without a view."""
    s = row * SMALL
    kind = "request" if small[s + SM_BITS] & REQUEST else "response"
    return f"{kind} {n} (frame {small[s + SM_FRAME] or small[s + SM_FIRST]})"


def blind_bytes(f: CloseFacts) -> str | None:
    """Why headers may be missing from the capture, or None when every byte was seen."""
    if f.truncated_frames:
        return f"{plural(f.truncated_frames, 'frame')} cut by the snap length"
    if f.lost_segments:
        return f"{plural(f.lost_segments, 'hole')} in the byte stream"
    return None


# -- rules, in order: each returns a Close or None ---------------------------------------


def _stale_reuse(f: CloseFacts, exchanges, run: ExchangeRun, idle_threshold_ns):
    """A request that hit a closed or closing connection and got a reset.

    Two shapes of the keep-alive race: a request sent after the server's FIN; or a last request
    that reused an idle connection and got no response (the request and the close crossed).
    """
    if not f.server_rst or not exchanges:
        return None
    rst = f"server RST frame {f.rst_frames[-1]}" if f.rst_frames else "server RST"
    for ex in exchanges:
        req = ex.request
        if req is None or ex.response is not None:
            continue
        if f.server_fin_ns is not None and req.start_ns >= f.server_fin_ns:
            return _close(
                f, "stale-reuse",
                f"request {ex.n} (frame {req.first_frame}) was sent after the server had closed "
                "the connection; it was answered by a reset",
                (f"server FIN frame {f.server_fin_frame}", f"request {ex.n} frame {req.first_frame} "
                 f"sent {fmt_s(req.start_ns - f.server_fin_ns)} after it", rst),
                None, None, None, ex.n,
            )  # fmt: skip
    last = exchanges[-1]
    if last.failed and last.reused and (last.idle_before_ns or 0) >= idle_threshold_ns:
        req = last.request
        return _close(
            f, "stale-reuse",
            f"request {last.n} (frame {req.first_frame}) reused the connection after "
            f"{fmt_s(last.idle_before_ns)} idle and got a reset instead of a response: the "
            "keep-alive race (the server was closing it)",
            (f"request {last.n} frame {req.first_frame} after {fmt_s(last.idle_before_ns)} idle",
             "no response", rst),
            None, None, None, last.n,
        )  # fmt: skip
    return None


CROSSING_NS = 500_000
"""How much later than a round trip (the handshake's) after a complete request a 408 may come
and still be taken for one the server sent before the request reached it: seen from the client,
a 408 that crossed the request comes within a round trip, an answer no sooner; servers send
408 only once their request timeout has run out, never at once to a request they have whole."""


def _crossed_timeout(f: CloseFacts, exchanges, run: ExchangeRun, idle_threshold_ns):
    """A request that crossed the server's 408 Request Timeout: the server gave up waiting for a
    request on a silent (pre-connected or idle) connection, answered 408 and closed, while the
    client sent one. Seen from the client, the 408 arrives within a round trip after the request
    (too soon to answer it); seen near the server, the request comes after the 408. Either way
    the server never read the request (HAProxy logs ``<BADREQ>``): a race like stale reuse, with
    the request timeout, not the keep-alive timeout, as the clock."""
    if f.server_fin_ns is None and not f.server_rst:
        return None
    if f.irtt_ns is None:
        return None  # no handshake seen: how long the connection was silent is not known
    k = len(run) - 1
    while k >= 0 and run.resp_at(k) < 0:  # the server's last response
        k -= 1
    if k < 0:
        return None
    store = run.store
    row = run.resp_at(k)
    if store.small[row * SMALL + SM_STATUS] != 408:
        return None
    sent_ns = store.num[row * NUM + COL_START]
    timeout = exchanges[k]  # (from here on rare: the objects of the exchanges named)
    if timeout.req < 0:
        # The 408 answered no request: a request after it (the client had not read it yet)
        # crossed it, whatever it got.
        j = _after_timeout(run, k, sent_ns)
        if j < 0:
            return None
        ex = exchanges[j]
        req, resp = ex.request, timeout.response
        since = _quiet_since(f, run, k)
        quiet = f" after {fmt_s(sent_ns - since)} without a request"
        got = "was answered by a reset" if f.server_rst else "got no response"
        if f.server_fin_ns is not None and req.start_ns >= f.server_fin_ns:
            sent = f"and its FIN (frame {f.server_fin_frame})"
            then = "closed the connection"
        else:
            sent, then = "which the client had not read yet", "was closing the connection"
        return _close(
            f, "stale-reuse",
            f"request {ex.n} (frame {req.first_frame}) was sent {fmt_s(req.start_ns - sent_ns)} after the "
            f"server's 408 {resp.reason} (frame {resp.first_frame}) {sent}: the server had given up "
            f"waiting{quiet} (its request timeout) and {then}; the request {got}",
            (f"response frame {resp.first_frame} 408{quiet}",
             f"request {ex.n} frame {req.first_frame} sent {fmt_s(req.start_ns - sent_ns)} after it"),
            None, sent_ns - since, 408, ex.n,
        )  # fmt: skip
    req_start = store.num[timeout.req * NUM + COL_START]
    req_end = store.end_ns(timeout.req)
    if req_end is None or req_end > sent_ns:
        return None  # an unfinished request: the 408 may well be its own (incomplete-request)
    took = sent_ns - req_start  # (Python ints: a hostile capture's times may be far apart)
    since = _quiet_since(f, run, k)
    if took > f.irtt_ns + CROSSING_NS or took > (req_start - since) // 4:
        return None
    req, resp = timeout.request, timeout.response
    # The 408 ended the connection: it said so, or the server's FIN or RST came right after it
    # (a 408 that left the connection open was an answer the server chose to give).
    end = f.server_fin_ns if f.server_fin_ns is not None else f.ts_ns
    if not resp.wants_close and (end is None or end - sent_ns > SERVER_IDLE_NS):
        return None
    quiet_ns = sent_ns - since  # (the server's wait, up to its 408)
    return _close(
        f, "stale-reuse",
        f"request {timeout.n} (frame {req.first_frame}) crossed the server's 408 {resp.reason} "
        f"(frame {resp.first_frame}, {fmt_s(took)} after the request began: too soon to be its "
        f"answer; a server sends 408 when its request timeout runs out, here after "
        f"{fmt_s(quiet_ns)} without a request): the server was closing the connection as the request came",
        (f"request {timeout.n} frame {req.first_frame} after {fmt_s(req_start - since)} without a request",
         f"response frame {resp.first_frame} 408 {fmt_s(took)} after it"),
        None, quiet_ns, 408, timeout.n,
    )  # fmt: skip


def crossed_408(close: Close) -> bool:
    """Whether ``close`` is a request that crossed the server's 408 (:func:`_crossed_timeout`
    marks one as a stale reuse with status 408), not a keep-alive race."""
    return close.reason == "stale-reuse" and close.status == 408


def _after_timeout(run: ExchangeRun, k: int, sent_ns: int) -> int:
    """The first exchange after exchange ``k`` (a 408 with no request) whose request began at
    or after ``sent_ns`` and got no response, or -1."""
    num = run.store.num
    for j in range(k + 1, len(run)):
        req = run.req_at(j)
        if req >= 0 and run.resp_at(j) < 0 and num[req * NUM + COL_START] >= sent_ns:
            return j
    return -1


def _quiet_since(f: CloseFacts, run: ExchangeRun, k: int) -> int:
    """When the connection last carried a message before exchange ``k``'s: the end of the
    exchange before it, else the connection's start (its handshake was seen)."""
    store = run.store
    for j in range(k - 1, -1, -1):
        row = run.resp_at(j)
        if row < 0:
            row = run.req_at(j)
        if row >= 0:
            end = store.end_ns(row)
            if end is not None:
                return end
    return f.open_ns


def _upgrade(f: CloseFacts, exchanges, run: ExchangeRun, idle_threshold_ns):
    if not run:
        return None
    small = run.store.small  # one store per capture; no message object per exchange
    for k in range(len(run)):
        row = run.resp_at(k)
        if row < 0 or small[row * SMALL + SM_STATUS] != 101:
            continue
        ex = exchanges[k]
        resp = ex.response
        if resp is not None:
            proto = f" to {ex.request.method} {ex.request.uri}" if ex.request is not None else ""
            return _close(
                f, "upgrade",
                f"101 Switching Protocols{proto} (frame {resp.frame}): after it the connection "
                f"carried another protocol, and its close ({_decider(f)} {_verb(f)}{_idle_txt(f)}) is the "
                "application's, not keep-alive",
                (f"{_msg(resp, ex.n)} 101 Switching Protocols",), None, None, None, ex.n,
            )  # fmt: skip
    return None


def _no_request(f: CloseFacts, exchanges, run: ExchangeRun, idle_threshold_ns):
    """Connections that never carried a request: unused, not HTTP, or headers not visible."""
    for k in range(len(run)):  # a loop, not any(...): no generator per connection
        if run.req_at(k) >= 0 or run.resp_at(k) >= 0:
            return None
    if f.client_bytes == 0:
        waited = f" {fmt_s(f.idle_ns)} after the connection opened" if f.idle_ns is not None else ""
        return _close(
            f, "unused",
            f"no request was sent: the {_decider(f)} {_verb(f)} it{waited}; a pre-connect, TCP probe or "
            "health check, not a keep-alive close",
            ("the client sent no payload",),
        )  # fmt: skip
    blind = blind_bytes(f)
    if f.http and blind and _silence_decides(f, idle_threshold_ns):
        return None  # a long silence before the close tells what the cut headers cannot
    if f.http and blind:
        return _close(
            f, "unknown",
            f"HTTP, but no request head could be read ({blind}); {_decider(f)} {_verb(f)}{_idle_txt(f)}",
            (blind,),
        )  # fmt: skip
    if not f.http:
        return _close(
            f, "not-http",
            f"the payload is not HTTP/1.x; {_decider(f)} {_verb(f)}{_idle_txt(f)}",
            ("no HTTP/1.x request or status line in either direction",),
        )  # fmt: skip
    return None


def _silence_decides(f: CloseFacts, idle_threshold_ns: int) -> bool:
    limit = min(idle_threshold_ns, SERVER_IDLE_NS) if _decider(f) == "server" else idle_threshold_ns
    return f.idle_ns is not None and f.idle_ns >= limit


def _pending(f: CloseFacts, exchanges, run: ExchangeRun, idle_threshold_ns):
    """Something was in flight at the close: a partial request, an unanswered one, or a
    response the client had stopped reading."""
    k = _last_request(run)
    if k < 0:
        return None
    # Most connections: the last request and its response both complete. Read from the rows
    # (no message view, no exchange object).
    small = run.store.small
    row = run.resp_at(k)
    answered = row >= 0 and small[row * SMALL + SM_BITS] & COMPLETE
    if answered and small[run.req_at(k) * SMALL + SM_FRAME]:
        return None
    last = exchanges[k]
    req, resp = last.request, last.response
    n = last.n
    blind = blind_bytes(f)
    if req.frame is None and not req.complete:
        if blind:
            return _close(
                f, "unknown",
                f"request {n} is incomplete, but the capture lost bytes ({blind}): whether "
                "the client stalled cannot be told",
                (blind,), None, None, None, n,
            )  # fmt: skip
        if resp is None or resp.status == 408:
            return _incomplete(f, last, resp)
    if resp is None and blind:
        return None  # its response may be in the bytes the capture cut or lost
    if resp is None and req.end_ns is not None and f.ts_ns is not None:
        wait = f.ts_ns - req.end_ns
        if wait < 0:  # the close came while the request was still being sent: it waited for nothing
            return _late_end(f, req, n, -wait)
        gave_up = _decider(f) == "client"
        why = (": the client gave up or stopped, not keep-alive" if gave_up else
               ": a request or processing timeout, not keep-alive")  # fmt: skip
        return _close(
            f, "client-gave-up" if gave_up else "request-timeout",
            f"{_decider(f)} {_verb(f)} the connection while request {n} ({req.method} {req.uri}) had "
            f"waited {fmt_s(wait)} for a response{why}",
            (f"{_msg(req, n)} {req.method} {req.uri}", "no response"), None, wait, None, n,
        )  # fmt: skip
    if resp is not None and not resp.complete:
        return _stalled(f, last)
    return None


def _late_end(f: CloseFacts, req: HttpMessage, n: int, late: int) -> Close:
    """The close came while request ``n`` was still arriving (its last byte ``late`` ns after
    it): when the server closed, the request was incomplete, as in :func:`_incomplete`; the
    client sent the rest into a closing connection."""
    evidence = (f"request {n} from frame {req.first_frame}, its last byte in frame {req.frame}",)
    if _decider(f) != "server":
        return _close(
            f, "unknown",
            f"the client closed the connection while its request {n} ({req.method} {req.uri}) was "
            f"still being sent (its last byte came {fmt_s(late)} after the close)",
            evidence, None, None, None, n,
        )  # fmt: skip
    wait = (f.ts_ns or 0) - req.start_ns
    return _close(
        f, "incomplete-request",
        f"the client was still sending request {n} ({req.method} {req.uri}); {wait_txt(wait)} the "
        f"server {_verb(f)} the connection, {fmt_s(late)} before the request's last byte: the "
        "server's request (header or body) timeout, not keep-alive",
        evidence, None, wait, None, n,
    )  # fmt: skip


def _incomplete(f: CloseFacts, ex: Exchange, resp: HttpMessage | None) -> Close:
    req = ex.request
    if req.head_unfinished:
        sent = f"only the head of {req.method} {req.uri} (no blank line)"
    elif req.content_length is not None:
        sent = (f"{req.method} {req.uri} with {req.body_bytes} of its {req.content_length} body "
                "bytes")  # fmt: skip
    else:
        sent = f"{req.method} {req.uri} without the end of its body"
    evidence = [f"request {ex.n} from frame {req.first_frame}: {sent}"]
    if resp is not None:  # 408 Request Timeout
        wait = resp.start_ns - req.start_ns
        evidence.append(f"{_msg(resp, ex.n)} {resp.status} {resp.reason}".rstrip())
        ended = f"the server answered {resp.status} {resp.reason} (frame {resp.frame})".rstrip()
    else:
        wait = (f.ts_ns or 0) - req.start_ns
        ended = f"the {_decider(f)} {_verb(f)} the connection"
    if _decider(f) == "client" and resp is None:
        text = f"the client sent {sent} and gave up after {fmt_s(wait)}"
    else:
        text = (f"the client sent {sent} and stalled; {wait_txt(wait)} {ended}: the server's "
                "request (header or body) timeout, not keep-alive")  # fmt: skip
    return _close(f, "incomplete-request", text, evidence, None, wait, None, ex.n)


def wait_txt(wait_ns: int) -> str:
    """``after 2.001 s``."""
    return f"after {fmt_s(wait_ns)}"


def _stalled(f: CloseFacts, ex: Exchange):
    resp = ex.response
    body = f" of a {resp.content_length}-byte body" if resp.content_length is not None else ""
    got = f"{f.server_bytes} bytes{body}"
    if f.client_zero_window_frame is not None and f.client_zero_window_ns >= resp.start_ns:
        wait = (f.ts_ns or 0) - f.client_zero_window_ns
        if _decider(f) == "server":
            if f.how == "rst":
                then = f"the server reset the connection {wait_txt(wait)}: a send timeout"
            else:  # a FIN waits behind unsent data: it leaves when the window opens again
                then = (f"the server's FIN came {wait_txt(wait)} (it may have given up earlier: "
                        "a FIN waits behind unsent data): a send timeout")  # fmt: skip
        else:
            then = f"the client {_verb(f)} the connection {wait_txt(wait)}"
        return _close(
            f, "stalled-reader",
            f"the client stopped reading response {ex.n} ({resp.status}; {got} got through): "
            f"its window was zero from frame {f.client_zero_window_frame}, and {then}, not "
            "keep-alive",
            (f"{_msg(resp, ex.n)} started at frame {resp.first_frame}",
             f"client zero window from frame {f.client_zero_window_frame}",
             f"the server sent {got}"),
            None, wait, None, ex.n,
        )  # fmt: skip
    blind = blind_bytes(f)
    if blind:
        return _close(
            f, "unknown",
            f"response {ex.n} is incomplete and the capture lost bytes ({blind})",
            (blind,), None, None, None, ex.n,
        )  # fmt: skip
    if _decider(f) != "server":
        return _left(f, ex, resp)
    return _close(
        f, "reset" if f.how == "rst" else "aborted-response",
        f"the server {_verb(f)} the connection in the middle of response {ex.n} ({got} sent)",
        (f"{_msg(resp, ex.n)} incomplete",), None, None, None, ex.n,
    )  # fmt: skip


def _left(f: CloseFacts, ex: Exchange, resp: HttpMessage) -> Close | None:
    """The client closed in the middle of response ``ex.n`` (its window open: not a stalled
    reader): it left a response still arriving, as clients leave a server-sent event stream,
    a long poll or a download; the wait is since the response began."""
    took = (f.ts_ns or 0) - resp.start_ns
    if took < 0:
        return None  # the client's FIN came before the response (a half-close): it left nothing
    size = f" of {resp.content_length}" if resp.content_length is not None else ""
    quiet = f", the last {fmt_s(f.idle_ns)} before the close without a byte" if f.idle_ns else ""
    return _close(
        f, "client-gave-up",
        f"the client {_verb(f)} the connection in the middle of response {ex.n} ({resp.status} "
        f"{resp.reason}; {resp.body_bytes}{size} body bytes in {fmt_s(took)}{quiet}): it left a "
        "response still arriving (an event stream, a long poll or a download it stopped), not "
        "keep-alive",
        (f"{_msg(resp, ex.n)} from frame {resp.first_frame}, unfinished",),
        None, took, None, ex.n,
    )  # fmt: skip


def _error(f: CloseFacts, exchanges, run: ExchangeRun, idle_threshold_ns):
    """The server closed after an error response (not a keep-alive decision)."""
    if not run:
        return None
    row = run.resp_at(len(run) - 1)
    if row < 0:
        return None
    status = run.store.small[row * SMALL + SM_STATUS]  # from the row: no message view
    if not (status in CLOSING_ERRORS or status >= 500):
        return None
    last = exchanges[len(run) - 1]
    req, resp = last.request, last.response
    if req is not None and req.wants_close and resp.status not in GATEWAY_ERRORS:
        return None  # the client asked for the close anyway: its request decides
    prompt = _decider(f) == "server" and f.idle_ns is not None and f.idle_ns < SERVER_IDLE_NS
    if not (resp.wants_close or prompt):
        return None  # the connection stayed open after the error: what closed it came later
    said = " with 'Connection: close'" if resp.wants_close and resp.connection else ""
    for_what = f" to {req.method} {req.uri}" if req is not None else " to a connection that sent no request"
    return _close(
        f, "error-close",
        f"the server answered {resp.status} {resp.reason}".rstrip()
        + f"{for_what} (frame {resp.frame}){said}, and the connection was {_verb(f)}: an error "
        "response ends the connection, not a keep-alive setting",
        (f"{_msg(resp, last.n)} {resp.status} {resp.reason}{said}".rstrip(),),
        None, None, resp.status, last.n,
    )  # fmt: skip


def _headers(f: CloseFacts, exchanges, run: ExchangeRun, idle_threshold_ns):
    """A header asked for the close: decided by the side that asked, not by whose FIN won."""
    if not run:
        return None
    k = _last_request(run)
    if k < 0:
        k = len(run) - 1
    # Read from the rows' head strings and columns, without message views or exchange
    # objects: most connections of a load test end here.
    n, store, small = run.n_at(k), run.store, run.store.small
    req, resp = run.req_at(k), run.resp_at(k)
    head = _text(store, req) if req >= 0 else None
    if head is not None and row_wants_close(head):
        connection, version = head[H_CONNECTION], head[H_VERSION]
        said = f"'Connection: {connection}'" if connection else "no 'Connection: keep-alive'"
        ev = (f"{_row_msg(small, req, n)} {version} with {said}",)
        if version == "HTTP/1.0" and "close" not in (connection or ""):
            return _close(
                f, "http10",
                f"HTTP/1.0 request {n} without keep-alive; {_decider(f)} {_verb(f)}{_idle_txt(f)}",
                ev, "client", None, None, n,
            )  # fmt: skip
        return _close(
            f, "connection-close",
            f"client sent 'Connection: close' in request {n}; {_decider(f)} {_verb(f)}{_idle_txt(f)}",
            ev, "client", None, None, n,
        )  # fmt: skip
    head = _text(store, resp) if resp >= 0 else None
    if head is None or not row_wants_close(head):
        return None
    connection = head[H_CONNECTION]
    said = f"'Connection: {connection}'" if connection else f"{head[H_VERSION]} without keep-alive"
    ev = (f"{_row_msg(small, resp, n)} said {said}",)
    if n > 1 and not _earlier_close(run, k):
        prev = _response(run, n - 1)
        keep_alive = _text(store, prev)[H_KEEP_ALIVE] if prev >= 0 else None
        if keep_alive and "max=" in keep_alive.lower():
            ev += (f"{_row_msg(small, prev, n - 1)} said 'Keep-Alive: {keep_alive}'",)
        return _close(
            f, "request-limit",
            f"the server said 'Connection: close' on response {n} after keeping the connection "
            f"for {plural(n - 1, 'request')}: a per-connection request limit; {_decider(f)} "
            f"{_verb(f)} first",
            ev, "server", None, None, n,
        )  # fmt: skip
    return _close(
        f, "connection-close",
        f"server sent {said} in response {n}; {_decider(f)} {_verb(f)}{_idle_txt(f)}",
        ev, "server", None, None, n,
    )  # fmt: skip


def _response(run: ExchangeRun, n: int) -> int:
    """The row of the response to request ``n`` (of the last exchange numbered ``n`` that has
    one), -1 for none."""
    for k in range(len(run) - 1, -1, -1):
        row = run.resp_at(k)
        if run.n_at(k) == n and row >= 0:
            return row
    return -1


def _earlier_close(run: ExchangeRun, last: int) -> bool:
    """True when a response of another exchange than ``last`` (an index) asked for the close
    (read from the store's head strings: this runs over every exchange of a connection)."""
    # The store's head index column read directly (as MessageStore.text does), not a method
    # call per exchange; each shared head is judged once in a row (a load test repeats one).
    heads, head_ix = run.store.head_table, run.store.head_ix
    seen = -1  # the head last found not to ask
    for k in range(len(run)):
        row = run.resp_at(k)
        if row >= 0 and k != last:
            ix = ix_at(head_ix, row)
            if ix != seen:
                if row_wants_close(heads[ix]):
                    return True
                seen = ix
    return False


def _text(store, row: int) -> tuple:
    """``store.text(row)`` (:meth:`MessageStore.text`); compiled, a C call with the index column
    read in C."""
    return store.head_table[ix_at(store.head_ix, row)]


def row_wants_close(text: tuple) -> bool:
    """:attr:`HttpMessage.wants_close` from a row's head strings (:meth:`MessageStore.text`)."""
    return asks_close(text[H_CONNECTION], text[H_VERSION])


def _idle(f: CloseFacts, exchanges, run: ExchangeRun, idle_threshold_ns):
    """Closed after a silence with everything answered: an idle timeout (FIN or RST)."""
    if f.idle_ns is None:
        return None
    limit = min(idle_threshold_ns, SERVER_IDLE_NS) if _decider(f) == "server" else idle_threshold_ns
    if f.idle_ns < limit:
        return None
    k = _last_request(run)
    last = exchanges[k] if k >= 0 else None
    ev = []
    if last is not None and last.response is not None:
        ev.append(f"last {_msg(last.response, last.n)}, then {fmt_s(f.idle_ns)} without a byte")
    blind = blind_bytes(f)
    if blind:
        ev.append(f"({blind}: headers may be incomplete, the silence is not)")
    whose = IDLE_CLOSE_WHY["server" if _decider(f) == "server" else "client"]
    how = " with a reset" if f.how == "rst" else ""
    return _close(f, "idle-timeout", f"{_decider(f)} closed{how} after {fmt_s(f.idle_ns)} idle: {whose}", ev)


def _mechanics(f: CloseFacts, exchanges, run: ExchangeRun, idle_threshold_ns):
    """No header and no silence explains it: say what happened, or that it cannot be known."""
    blind = blind_bytes(f)
    if blind and f.http:
        return _close(
            f, "unknown",
            f"{_decider(f)} {_verb(f)}{_idle_txt(f)}; whether a header asked for it cannot be known: "
            f"{blind}",
            (blind,),
        )  # fmt: skip
    k = _last_request(run)
    last = exchanges[k] if k >= 0 else None
    ev = (f"last {_msg(last.response, last.n)}",) if last is not None and last.response else ()
    if f.how == "rst":
        return _close(f, "reset", f"{_decider(f)} reset the connection{_idle_txt(f)}", ev)
    # Said by who closed: a client that closes right after its last response was done (a tool
    # exiting, a pool or session closed); a server doing it closed unannounced.
    reason = "client-done" if _decider(f) == "client" else "unannounced-close"
    return _close(f, reason, f"{_decider(f)} closed{_idle_txt(f)} without a header asking for it", ev)


def _last_request(run: ExchangeRun) -> int:
    """The index of the last exchange with a request, -1 for none."""
    for k in range(len(run) - 1, -1, -1):
        if run.req_at(k) >= 0:
            return k
    return -1


def upstream_failure(close: Close, race) -> Close:
    """The close of a front connection that a proxy ended without a response because the
    upstream request it caused hit the backend's keep-alive close (``race``: an
    :class:`katui.analysis.proxy.UpstreamRace` that reached the client)."""
    how = "reset" if close.how == "rst" else "closed"
    text = (f"the proxy {how} the client's connection without a response: request {race.front_n}"
            f" was forwarded on upstream stream {race.stream} (frame {race.request_frame}), which "
            "the backend closed unanswered (the upstream keep-alive race)")  # fmt: skip
    evidence = (
        f"upstream request frame {race.request_frame} on stream {race.stream}",
        f"backend {race.close_how.upper() if race.close_how else 'close'} frame {race.close_frame}",
        f"{close.by} {(close.how or '').upper()} frame {close.frame}",
    )
    return replace(close, reason="upstream-failure", explanation=sys.intern(text),
                   evidence=evidence, exchange=race.front_n)  # fmt: skip
