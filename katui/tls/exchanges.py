"""Requests and responses inferred from encrypted records, and the handshake's facts.

Without keys, HTTP/1.x over TLS still shows its shape: the client sends a burst of application
data (the request), the server answers with a burst (the response), and the connection sits
idle until the next client burst. An exchange here is a client run of application data (runs
split only by tickets, alerts or handshake records are joined) and the server's application
data that follows it, up to the client's next one. Such exchanges are
:class:`katui.model.InferredExchange` objects whose messages are rows of the capture's message
store with no head (:attr:`katui.model.HttpMessage.inferred`).

Limits: a request body sent after a ``100 Continue`` is a second exchange; pipelined requests
and HTTP/2 streams are bursts, not requests (``TlsInfo.multiplexed`` says so for ``h2``).
"""

from __future__ import annotations

from katui.model import INFERRED_VERSION, Head, InferredExchange, TlsInfo
from katui.tls.hello import cipher_name, version_name
from katui.tls.keylog import keys_missing
from katui.tls.records import (
    ALERT,
    BYTES,
    DATA,
    DIR,
    FIRST_FRAME,
    FIRST_TS,
    HS,
    KEY_UPDATE,
    KIND,
    LAST_FRAME,
    LAST_TS,
    MAX_TICKET_RECORD,
    RECORDS,
    TICKET,
    TlsConversation,
    alert_level,
    alert_name,
    first_fatal,
)


def infer(conv: TlsConversation) -> list[InferredExchange]:
    """The exchanges of an oriented conversation (client = direction 0), rows added to its
    store."""
    out: list[InferredExchange] = []
    req = resp = None  # the current exchange's client and server application data: [runs]
    # HTTP/2: the server's data before the client's first is its connection preface (SETTINGS),
    # sent as soon as the handshake ends; not a response to a request the capture lacks
    preface = _multiplexed(conv)
    for run in conv.runs:
        if run[KIND] != DATA:
            continue
        if preface:
            if run[DIR] == 1:
                continue
            preface = False
        if run[DIR] == 0:
            if resp is not None or req is None:
                if req is not None or resp is not None:
                    out.append(_exchange(conv, req, resp))
                req, resp = [run], None
            else:
                req.append(run)
        elif resp is None:
            resp = [run]
        else:
            resp.append(run)
    if req is not None or resp is not None:
        out.append(_exchange(conv, req, resp))
    return out


def split_tickets(conv: TlsConversation) -> None:
    """TLS 1.3 tickets that arrived after the client's first request (its Finished and request
    left together) are application data on the wire, and start the server's first data run.
    A server sends its tickets as soon as it reads the client's Finished, several of one size
    (nginx: two), before it answers; so leading records of one length (at most 4, none over
    MAX_TICKET_RECORD) followed by more data in the same run are tickets, not the response."""
    early = conv.early
    if len(early) < 3 or early[0][4] > MAX_TICKET_RECORD or any(r[KIND] == TICKET for r in conv.runs):
        return  # too few records, too long, or the tickets came before the request
    k = 1
    while k < min(len(early), 4) and early[k][4] == early[0][4]:
        k += 1
    if k < 2 or k == len(early):
        return  # one record of a size is no batch; nothing after them may be the answer itself
    for i, run in enumerate(conv.runs):
        if run[KIND] == DATA and run[DIR] == 1:
            if run[FIRST_FRAME] != early[0][0] or run[RECORDS] <= k:
                return
            tickets = (TICKET, 1, early[0][0], early[0][1], early[k - 1][2], early[k - 1][3],
                       sum(5 + r[4] for r in early[:k]), k)  # fmt: skip
            rest = (DATA, 1, early[k][0], early[k][1], run[LAST_FRAME], run[LAST_TS],
                    run[BYTES] - tickets[BYTES], run[RECORDS] - k)  # fmt: skip
            conv.runs[i : i + 1] = [tickets, rest]
            return


def _exchange(conv: TlsConversation, req: list | None, resp: list | None) -> InferredExchange:
    store = conv.store
    return InferredExchange(store, _message(conv, req, True), _message(conv, resp, False))


def _message(conv: TlsConversation, runs: list | None, is_request: bool) -> int:
    """A message row for one burst (-1 for none)."""
    if runs is None:
        return -1
    store = conv.store
    ch = conv.client_hello
    host = (ch.sni or "") if ch is not None else ""
    first, last = runs[0], runs[-1]
    head = Head(INFERRED_VERSION, "", "", 0, "", None, None, None, False, host)
    i = store.add(is_request, first[FIRST_FRAME], first[FIRST_TS], head, 0)
    store.end(i, last[LAST_FRAME], last[LAST_TS], sum(r[BYTES] for r in runs), True)
    return i


GOODBYE_NS = 5_000_000
"""On a multiplexed connection, one server record this close to the close is its goodbye
(HTTP/2 GOAWAY, sent with close_notify and FIN when nginx's idle timeout fires)."""


def before_close(conv: TlsConversation, close_ns: int, multiplexed: bool = False) -> tuple:
    """The end of the last record up to ``close_ns`` that was not an alert (close_notify and
    other alerts are the close itself, not activity; so is an HTTP/2 goodbye on a
    ``multiplexed`` connection: one server record just before the server's own alert), and
    the side that sent the first alert after it and up to ``close_ns`` (None if none)."""
    runs = [r for r in conv.runs if r[KIND] != ALERT and r[LAST_TS] <= close_ns]
    runs.sort(key=lambda r: r[LAST_TS])
    alerts = [r for r in conv.runs if r[KIND] == ALERT and r[LAST_TS] <= close_ns]
    if multiplexed and len(runs) > 1:
        r = runs[-1]
        goodbye = r[KIND] == DATA and r[DIR] == 1 and r[RECORDS] == 1 and close_ns - r[FIRST_TS] <= GOODBYE_NS
        if goodbye and any(a[DIR] == 1 and a[FIRST_TS] >= r[LAST_TS] for a in alerts):
            runs.pop()
    last = runs[-1][LAST_TS] if runs else None
    for run in alerts:
        if last is None or run[FIRST_TS] >= last:
            return last, "client" if run[DIR] == 0 else "server"
    return last, None


def info(conv: TlsConversation) -> TlsInfo:
    """The handshake's facts of an oriented conversation."""
    ch, sh = conv.client_hello, conv.server_hello
    alpn = _alpn(conv)
    version = sh.version if sh is not None else None
    resumed = full = None
    if sh is not None:
        if conv.tls13:
            resumed = sh.psk
        else:
            echoed = ch is not None and ch.session_id != b"" and ch.session_id == sh.session_id
            resumed = echoed or conv.first_ccs == 1  # the server's CCS first: abbreviated
        full = not resumed
    rtts, hs_ns = _handshake_shape(conv)
    closers = tuple("client" if r[DIR] == 0 else "server" for r in conv.runs
                    if r[KIND] == ALERT and _clear_alert(conv, r) is None)  # fmt: skip
    offered = ch.alpn if ch is not None else ()
    multiplexed = _multiplexed(conv)
    note = conv.note or conv.decrypt_note
    # A key log has no traffic secrets for a handshake that failed (curl refusing a
    # certificate logs only the server's handshake secret over TLS 1.3, no master secret over
    # TLS 1.2): not a key log that is missing something (a record that did not decrypt, a
    # wrong key log, keeps its note).
    if keys_missing(note) and not conv.decrypted and first_fatal(conv.alerts) is not None:
        note = "nothing to decrypt (no application keys were made)"
    if conv.h2 and conv.decrypted and note is None and not conv.plaintext_read:
        note = "decrypted HTTP/2: its frames are not read yet, exchanges are inferred from records"
    return TlsInfo(
        version=version_name(version),
        sni=ch.sni if ch is not None else None,
        alpn_offered=offered,
        alpn=alpn,
        cipher=cipher_name(sh.cipher) if sh is not None else None,
        resumed=resumed,
        full_handshake=full,
        handshake_round_trips=rtts,
        handshake_ns=hs_ns,
        client_hello_frame=conv.hello_frame,
        close_notify=closers,
        multiplexed=multiplexed,
        decrypted=conv.decrypted,
        note=note,
        zero_rtt=_zero_rtt(conv),
        labels=_labels(conv, version, resumed),
        alerts=tuple(("client" if a[0] == 0 else "server", *a[1:]) for a in conv.alerts),
    )


def _alpn(conv: TlsConversation) -> str | None:
    """The protocol the server chose (ALPN), None when not chosen or not visible."""
    sh = conv.server_hello
    alpn = sh.alpn if sh is not None else None
    if alpn is None:  # TLS 1.3 sends the choice encrypted: known with keys
        alpn = conv.dec.alpn if conv.dec is not None else conv.alpn_read
    return alpn


def _multiplexed(conv: TlsConversation) -> bool:
    """HTTP/2 (ALPN ``h2`` chosen, seen in its frames, or the only protocol offered when the
    choice is encrypted): requests are multiplexed, so bursts are not requests."""
    alpn, ch = _alpn(conv), conv.client_hello
    return alpn == "h2" or conv.h2 or (alpn is None and ch is not None and ch.alpn == ("h2",))


def _clear_alert(conv: TlsConversation, run: tuple) -> tuple | None:
    """The alert read in the clear that is not a close_notify among the records of ``run`` (an
    alert run of an oriented conversation), or None: such a run is a failure, not a goodbye."""
    for a in conv.alerts:
        if a[0] == run[DIR] and a[2] != 0 and run[FIRST_FRAME] <= a[3] <= run[LAST_FRAME]:
            return a
    return None


def _zero_rtt(conv: TlsConversation) -> str | None:
    """``accepted``/``rejected``/``sent``: the client sent 0-RTT data (announced in its
    ClientHello) and what the server's EncryptedExtensions said (read with keys)."""
    ch = conv.client_hello
    if ch is None or not ch.early_data:
        return None
    said = conv.dec.early_data if conv.dec is not None else None
    if said is None and not conv.zero_rtt_sent:
        return None
    if conv.retry:  # a HelloRetryRequest rejects 0-RTT data (RFC 8446 4.2.10)
        return "rejected"
    return "sent" if said is None else "accepted" if said else "rejected"


MAX_LABELS = 32


def _labels(conv: TlsConversation, version: int | None, resumed: bool | None) -> tuple:
    """Ladder labels: the hellos, TLS 1.3 tickets and alerts, by the frame that completed them."""
    out = []
    ch = conv.client_hello
    if conv.hello_frame is not None:
        text = "ClientHello"
        if ch is not None and ch.sni:
            text += f" sni={ch.sni}"
        if ch is not None and ch.alpn:
            text += f" alpn={','.join(ch.alpn)}"
        out.append((conv.hello_frame, text))
    if conv.server_hello_frame is not None:
        how = "" if resumed is None else " resumed" if resumed else " full handshake"
        out.append((conv.server_hello_frame, f"ServerHello {version_name(version)}{how}"))
    guess = "" if conv.decrypted else "?"
    preface = not conv.decrypted and _multiplexed(conv)  # see infer()
    for run in conv.runs:
        if len(out) >= MAX_LABELS:
            break
        if preface and run[KIND] == DATA:
            preface = run[DIR] == 1
            if preface:
                out.append((run[LAST_FRAME], "SETTINGS? (the server's HTTP/2 preface, encrypted)"))
                continue
        if run[KIND] == TICKET:
            out.append((run[LAST_FRAME], f"NewSessionTicket{guess} ×{run[RECORDS]} (encrypted)"))
        elif run[KIND] == ALERT:
            clear = _clear_alert(conv, run)
            if clear is not None:
                out.append((clear[3], f"alert {alert_level(clear[1])} {alert_name(clear[2])}"))
            else:
                out.append((run[LAST_FRAME], f"alert ×{run[RECORDS]} (close_notify{guess})"))
        elif run[KIND] == KEY_UPDATE:
            out.append((run[LAST_FRAME], f"KeyUpdate{guess} ×{run[RECORDS]} (encrypted)"))
    return tuple(out)


def _handshake_shape(conv: TlsConversation) -> tuple[int | None, int | None]:
    """Server handshake flights before the client's first application data, and the time from
    the ClientHello to the last handshake record before that data."""
    if conv.hello_ts is None or conv.server_hello is None:
        return None, None
    flights = 0
    end = None
    early = conv.server_hello_frame  # client data before the ServerHello: 0-RTT, not its end
    for run in conv.runs:
        if run[KIND] == DATA and run[DIR] == 0 and (early is None or run[FIRST_FRAME] > early):
            break
        if run[KIND] == HS:
            end = run[LAST_TS]
            if run[DIR] == 1:
                flights += 1
    return flights or None, None if end is None else end - conv.hello_ts
