"""The TLS record layer: the sink ``tcp/`` feeds a connection that speaks TLS.

Each direction's bytes are cut into records (a record may span segments, a segment may hold many
records). Every record is classed as handshake, application data, alert or post-handshake
message, and consecutive records of one class from one side are kept as one *run*: the runs are
all that the exchange inference (:mod:`katui.tls.exchanges`) and the close verdict
(:mod:`katui.tls.verdicts`) read. Handshake messages are buffered only until the two hellos are
read (:mod:`katui.tls.hello`); everything else is counted, not copied.

Nothing here trusts the bytes: a record header that is not TLS stops that direction until a
segment starts with a plausible header again, a handshake message over 64 KiB is not buffered,
and a connection keeps at most ``MAX_RUNS`` runs.
"""

from __future__ import annotations

from array import array
from collections.abc import Callable
from typing import TYPE_CHECKING

from katui.model import MessageStore
from katui.tcp.sink import StreamSink
from katui.tls.hello import ClientHello, ServerHello, parse_client_hello, parse_server_hello

if TYPE_CHECKING:
    from katui.tls.session import Decryption

CHANGE_CIPHER_SPEC, ALERT_RECORD, HANDSHAKE, APPLICATION_DATA, HEARTBEAT = 20, 21, 22, 23, 24
MAX_RECORD = 16384 + 2048
"""Longest record body a peer may send (TLSCiphertext, RFC 5246 6.2.3)."""
MAX_HANDSHAKE_MESSAGE = 1 << 16
"""Handshake messages buffered at most (hellos are far smaller; certificates are skipped)."""
MAX_RUNS = 1 << 16
"""Runs kept per connection: a hostile stream of tiny alternating records stops here."""
EARLY = 8
"""TLS 1.3 server data records kept for telling late tickets from a response."""
TLS13_ALERT_LEN = 19
"""An encrypted TLS 1.3 alert: 2 bytes, the inner content type and a 16-byte AEAD tag."""

MAX_TICKET_RECORD = 1024
"""Longest record taken for a TLS 1.3 NewSessionTicket (OpenSSL's are ~280 bytes)."""
TLS13_END_OF_EARLY_DATA_LEN = 21
"""An encrypted EndOfEarlyData: its 4-byte header, the inner content type and the AEAD tag."""
MAX_ZERO_RTT = 1 << 17
"""0-RTT bytes kept for decryption until the server says whether it accepted them (servers
accept 16 KiB by default: nginx, OpenSSL)."""
MAX_ZERO_RTT_RECORDS = 64
"""0-RTT records kept at most (empty records count too: a hostile flood of them stops here)."""
CLEAR_ALERTS = 4
"""Alerts read in the clear kept per connection (a failed handshake has one or two)."""
ALERT_NAMES = {0: "close_notify", 10: "unexpected_message", 20: "bad_record_mac", 22: "record_overflow",
               40: "handshake_failure", 42: "bad_certificate", 43: "unsupported_certificate",
               44: "certificate_revoked", 45: "certificate_expired", 46: "certificate_unknown",
               47: "illegal_parameter", 48: "unknown_ca", 49: "access_denied", 50: "decode_error",
               51: "decrypt_error", 70: "protocol_version", 71: "insufficient_security",
               80: "internal_error", 86: "inappropriate_fallback", 90: "user_canceled",
               109: "missing_extension", 110: "unsupported_extension", 112: "unrecognized_name",
               116: "certificate_required", 120: "no_application_protocol"}  # fmt: skip
"""Alert descriptions (RFC 8446 6, RFC 5246 7.2)."""
FATAL = 2
"""Alert level of a fatal alert (1 is a warning)."""


def alert_level(level: int) -> str:
    """``fatal``, ``warning``, or ``level 7`` for a value that is neither."""
    return "fatal" if level == FATAL else "warning" if level == 1 else f"level {level}"


def first_fatal(alerts) -> tuple | None:
    """The first fatal alert of ``alerts`` (:attr:`TlsConversation.alerts` or
    :attr:`katui.model.TlsInfo.alerts`: level second), or None."""
    return next((a for a in alerts if a[1] == FATAL), None)


def alert_name(description: int) -> str:
    """``protocol_version``, or ``description 199`` for one not in :data:`ALERT_NAMES`."""
    return ALERT_NAMES.get(description, f"description {description}")


TLS13_KEY_UPDATE_LEN = 22
"""An encrypted TLS 1.3 KeyUpdate: its 5 bytes, the inner content type and a 16-byte AEAD tag.
No HTTP/2 frame is that short (26 bytes at least) and no HTTP/1 request; a 5-byte piece of a
response (a chunked body's last chunk) follows that response's data in the same run."""

HS, DATA, ALERT, TICKET, KEY_UPDATE = 0, 1, 2, 3, 4
"""Run kinds: handshake (clear or encrypted, CCS too), application data, alert, a TLS 1.3
server message after the handshake (NewSessionTicket: application data on the wire), and a
TLS 1.3 KeyUpdate (either side, after the handshake)."""

# A run: (kind, direction, first frame, first ts, last frame, last ts, bytes, records); the
# direction is the tracker's until oriented(), then 0 for the client.
KIND, DIR, FIRST_FRAME, FIRST_TS, LAST_FRAME, LAST_TS, BYTES, RECORDS = range(8)


def looks_like_record(head: bytes) -> bool:
    """True when ``head`` starts with a plausible TLS record header (types 20-23, versions
    SSL 3.0 to TLS 1.3 on the wire, a length a peer may send)."""
    if len(head) < 5 or not 20 <= head[0] <= 23 or head[1] != 3 or head[2] > 4:
        return False
    n = head[3] << 8 | head[4]
    return n <= MAX_RECORD and (n > 0 or head[0] == APPLICATION_DATA)


class _Direction:
    """Record framing state of one direction."""

    __slots__ = ("hdr", "hdr_frame", "hdr_ts", "rtype", "rlen", "left", "first_frame", "first_ts",
                 "body", "hs", "lost", "ccs", "head")  # fmt: skip

    def __init__(self) -> None:
        self.hdr = b""  # a record header cut by a segment boundary
        self.hdr_frame = self.hdr_ts = 0
        self.rtype = -1  # type of the record being read (-1: between records)
        self.rlen = self.left = 0
        self.first_frame = self.first_ts = 0
        self.body: bytearray | None = None  # the record's bytes, for handshake records only
        self.hs: bytearray | None = bytearray()  # handshake messages not yet complete
        self.lost = False  # out of step (not TLS, or a hole): wait for a header at a segment start
        self.ccs = False  # ChangeCipherSpec sent: its handshake records are encrypted from here
        self.head = b""  # the current record's header (additional data for decryption)


class TlsConversation:
    """Both directions of a TLS connection: records, hello facts and record runs.

    A :class:`katui.tcp.sink.StreamSink`. ``client`` is the direction that sent the ClientHello
    (the tracker's numbering until :meth:`oriented`, then 0), None if it was not seen.

    With a key log that holds the connection's secrets (:mod:`katui.tls.decrypt`), protected
    records are decrypted as they complete: their real content type replaces the guesses, and
    application data goes to ``inner``, a plaintext sink made by ``plaintext()`` (HTTP).
    """

    __slots__ = ("store", "midstream", "dirs", "runs", "cur", "client", "client_hello",
                 "hello_frame", "hello_ts", "server_hello", "retry", "tls13", "client_finished",
                 "client_data", "first_ccs", "note", "exchanges", "keys", "plaintext",
                 "dec", "server_hello_frame", "early", "flat", "zero_rtt", "tickets_due",
                 "zero_rtt_bytes", "zero_rtt_sent", "alerts", "alpn_read")  # fmt: skip

    def __init__(
        self,
        store: MessageStore,
        midstream: bool,
        keys=None,
        plaintext: Callable[[bool], StreamSink] | None = None,
    ) -> None:
        self.store = store
        """The capture's messages (inferred exchanges add rows)."""
        self.midstream = midstream
        """No SYN was seen."""
        self.dirs = (_Direction(), _Direction())
        self.flat = array("q")
        """Finished runs while the capture is read, 8 numbers each (a run object would cost
        four times as much, and a hostile stream of tiny records makes a run per record)."""
        self.runs: list[tuple] = []
        """Finished runs as tuples, in the order their last record completed (made from
        ``flat`` once the connection is oriented)."""
        self.cur: list | None = None
        """The run being extended."""
        self.client: int | None = None
        self.client_hello: ClientHello | None = None
        self.hello_frame: int | None = None
        self.hello_ts: int | None = None
        self.server_hello: ServerHello | None = None
        self.server_hello_frame: int | None = None
        self.retry = False
        """A HelloRetryRequest was seen."""
        self.tls13 = False
        self.client_finished = False
        """TLS 1.3: the client's first encrypted record (its Finished) went by."""
        self.client_data = False
        """TLS 1.3: the client sent application data after its Finished (or 0-RTT data)."""
        self.tickets_due = False
        """TLS 1.3 after 0-RTT data: the server's next small records are its tickets."""
        self.first_ccs: int | None = None
        """Direction of the first ChangeCipherSpec (the server's first: abbreviated TLS 1.2)."""
        self.note: str | None = None
        """The first reason the records could not be followed."""
        self.exchanges: list = []
        """Exchanges inferred once the connection is oriented (:mod:`katui.tls.exchanges`)."""
        self.keys = keys
        """The key log (:class:`katui.tls.keylog.KeyLog`), or None."""
        self.alpn_read: str | None = None
        """TLS 1.3: the protocol the server chose, read from its decrypted EncryptedExtensions
        by a decryption that stopped before any application data (a key log with only the
        handshake secrets): kept when the connection goes on without keys."""
        self.plaintext = plaintext
        """Makes the sink decrypted application data goes to (``plaintext(h2)``)."""
        self.dec: Decryption | None = None
        """The connection's decryption, when the key log holds its secrets."""
        self.zero_rtt: list[tuple] | None = None
        """TLS 1.3 with the connection's early secret in the key log: the client's 0-RTT records
        before the ServerHello, (head, body, frame, ts), for decryption once the keys are known
        (at most ``MAX_ZERO_RTT`` bytes and ``MAX_ZERO_RTT_RECORDS`` records; past either, none
        is kept: a 0-RTT request with a hole is not decrypted)."""
        self.zero_rtt_bytes = 0
        """Body bytes in ``zero_rtt``; -1 once holding stopped."""
        self.zero_rtt_sent = False
        """A client record was taken for 0-RTT data (its ClientHello announced early data)."""
        self.early: list[tuple] = []
        """TLS 1.3: the server's first application-data records taken for data, (first frame,
        first ts, frame, ts, length), at most EARLY (see :func:`katui.tls.exchanges.split_tickets`)."""
        self.alerts: list[tuple[int, int, int, int]] = []
        """Alerts sent in the clear (before the sender's ChangeCipherSpec, or a TLS 1.3 alert
        record, which is never encrypted as such): (direction, level, description, frame), at
        most CLEAR_ALERTS. A failed handshake ends with one (a server refusing a ClientHello, a
        client refusing a certificate); encrypted alerts stay guesses (close_notify)."""

    # -- the byte streams (StreamSink) ---------------------------------------------------

    def data(self, d: int, buf, start: int, end: int, frame: int, ts: int) -> None:
        """Bytes ``buf[start:end]`` continue direction ``d``: cut them into records."""
        s = self.dirs[d]
        if s.lost:
            if not looks_like_record(bytes(buf[start : min(end, start + 5)])):
                return
            s.lost = False  # back in step at a segment that starts with a record
        pos = start
        while pos < end:
            if s.rtype < 0:
                if not s.hdr:
                    s.hdr_frame, s.hdr_ts = frame, ts
                take = bytes(buf[pos : min(end, pos + 5 - len(s.hdr))])
                pos += len(take)
                h = s.hdr + take
                if len(h) < 5:
                    s.hdr = h
                    return
                s.hdr = b""
                if not (20 <= h[0] <= 24 and h[1] == 3 and (h[3] << 8 | h[4]) <= MAX_RECORD):
                    self._lose(s, f"bytes that are not a TLS record in frame {frame}")
                    return
                s.rtype, s.rlen, s.head = h[0], h[3] << 8 | h[4], h
                s.left = s.rlen
                s.first_frame, s.first_ts = s.hdr_frame, s.hdr_ts
                # (a TLS 1.3 server's compatibility CCS may follow a HelloRetryRequest: the real
                # ServerHello after it is still in the clear)
                if (
                    s.rtype == HANDSHAKE
                    and s.hs is not None
                    and self._need_hellos()
                    and (not s.ccs or self.retry)
                ):
                    s.body = bytearray()
                elif self.dec is not None and self.dec.protected(s.ccs, s.rtype):
                    s.body = bytearray()
                elif s.rtype == APPLICATION_DATA and self._zero_rtt_wanted(d, s.rlen):
                    s.body = bytearray()
                elif (
                    s.rtype == ALERT_RECORD and s.rlen == 2 and not s.ccs and len(self.alerts) < CLEAR_ALERTS
                ):
                    s.body = bytearray()  # in the clear: 2 bytes, level and description
            n = min(s.left, end - pos)
            if n and s.body is not None:
                s.body += buf[pos : pos + n]
            pos += n
            s.left -= n
            if s.left == 0:
                self._record(d, s, frame, ts)

    def gap(self, d: int, nbytes: int, frame: int, ts: int) -> None:
        """A hole: inside the current record the framing survives, else it is lost."""
        s = self.dirs[d]
        s.hs = s.body = None  # handshake bytes are missing now
        if s.rtype >= 0 and not s.hdr and nbytes < s.left:
            s.left -= nbytes
        elif not s.lost:
            s.lost = True
            s.rtype, s.hdr = -1, b""
            if self.dec is not None:
                self.dec.stop(d, f"a hole in the stream in frame {frame}")
        if self.dec is not None and self.dec.failed:
            self._drop_decryption()
        # The plaintext sink hears of the loss record by record (Decryption.open), not in
        # ciphertext bytes.

    def close(self, d: int, frame: int, ts: int) -> None:
        """Direction ``d`` ended: the plaintext sink is told (records are already counted)."""
        if self.dec is not None:
            self.dec.close(d, frame, ts)

    def client_direction(self) -> int | None:
        """The direction that sent the ClientHello (or answered with a ServerHello's peer)."""
        return self.client

    def oriented(self, client: int) -> None:
        """``client`` is the client's direction: renumber the runs and infer the exchanges."""
        from katui.tls.exchanges import infer, split_tickets

        self._flush()
        flat, self.flat = self.flat, array("q")
        self.runs = [tuple(flat[i : i + 8]) for i in range(0, len(flat), 8)]
        if client:
            self.runs = [(r[0], 1 - r[1], *r[2:]) for r in self.runs]
            self.alerts = [(1 - a[0], *a[1:]) for a in self.alerts]
            if self.first_ccs is not None:
                self.first_ccs = 1 - self.first_ccs
        self.client = 0
        if self.dec is not None:
            self.dec.oriented(client)
        if not self.decrypted:
            split_tickets(self)
        if not self.plaintext_read:
            self.exchanges = infer(self)

    def release(self) -> None:
        """Drop the working state once frozen."""
        self.runs = []
        self.exchanges = []
        self.cur = None
        self.zero_rtt = None
        if self.dec is not None:
            self.dec.release()

    # -- records ---------------------------------------------------------------------------

    def _lose(self, s: _Direction, why: str) -> None:
        s.lost = True
        s.rtype, s.hdr, s.body, s.hs = -1, b"", None, None
        if self.note is None:
            self.note = why

    def _finished_len(self) -> int:
        """The length of a TLS 1.3 Finished record without padding: its 4-byte header, the
        suite's hash (48 bytes for TLS_AES_256_GCM_SHA384, else 32), the inner type, the tag."""
        sh = self.server_hello
        return 4 + (48 if sh is not None and sh.cipher == 0x1302 else 32) + 1 + 16

    def _zero_rtt_wanted(self, d: int, rlen: int) -> bool:
        """Keep the body of a client application-data record sent before the ServerHello with a
        ClientHello that announced early data, when the key log has its early secret: 0-RTT,
        decrypted once the keys are known."""
        ch = self.client_hello
        if ch is None or not ch.early_data or d != self.client or self.server_hello:
            return False
        if self.zero_rtt_bytes < 0:  # holding stopped
            return False
        secrets = self.keys.secrets.get(ch.random, {}) if self.keys else {}
        if "CLIENT_EARLY_TRAFFIC_SECRET" not in secrets:
            return False
        held = len(self.zero_rtt or ())
        if self.zero_rtt_bytes + rlen > MAX_ZERO_RTT or held >= MAX_ZERO_RTT_RECORDS:
            self.zero_rtt, self.zero_rtt_bytes = None, -1  # too much: none of it is decrypted
            self.note = self.note or "more 0-RTT data than katui holds: it is not decrypted"
            return False
        return True

    def _need_hellos(self) -> bool:
        return self.client_hello is None or self.server_hello is None

    def _record(self, d: int, s: _Direction, frame: int, ts: int) -> None:
        """A whole record of direction ``d`` ended in ``frame``: class it, add it to a run."""
        rtype, rlen, body = s.rtype, s.rlen, s.body
        s.rtype, s.body = -1, None
        kind = None
        if self.dec is not None and self.dec.protected(s.ccs, rtype):
            kind = self._decrypt(d, s, body, frame, ts)
            body = None
        if kind is not None:
            pass
        elif rtype == APPLICATION_DATA and body is not None and self.dec is None:
            if self.zero_rtt is None:
                self.zero_rtt = []
            self.zero_rtt.append((s.head, bytes(body), frame, ts))
            self.zero_rtt_bytes += len(body)
            self.client_data = self.zero_rtt_sent = True
            kind = DATA  # 0-RTT: the client's first request, before the handshake ends
        elif rtype == APPLICATION_DATA:
            kind = self._app_kind(d, rlen, s.first_frame)
        elif rtype == ALERT_RECORD:
            kind = ALERT
            if body is not None and len(body) == 2:
                self.alerts.append((d, body[0], body[1], frame))
        else:
            kind = HS
            if rtype == CHANGE_CIPHER_SPEC:
                s.ccs = True
                if self.first_ccs is None:
                    self.first_ccs = d
            elif body is not None and s.hs is not None:
                self._handshake(d, s, body, frame, ts)
        if kind == DATA and self.tls13 and d != self.client and len(self.early) < EARLY:
            self.early.append((s.first_frame, s.first_ts, frame, ts, rlen))
        cur = self.cur
        if cur is not None and cur[KIND] == kind and cur[DIR] == d:
            cur[LAST_FRAME], cur[LAST_TS] = frame, ts
            cur[BYTES] += 5 + rlen
            cur[RECORDS] += 1
            return
        self._flush()
        if len(self.flat) >= 8 * MAX_RUNS:
            if self.note is None:
                self.note = f"more than {MAX_RUNS} record runs: the rest is not followed"
            self._lose(s, self.note)
            return
        self.cur = [kind, d, s.first_frame, s.first_ts, frame, ts, 5 + rlen, 1]

    def _flush(self) -> None:
        if self.cur is not None:
            self.flat.extend(self.cur)
            self.cur = None

    def _app_kind(self, d: int, rlen: int, frame: int) -> int:
        """What an application-data record is (its first frame ``frame``). In TLS 1.3 the
        encrypted handshake, the client's Finished, the server's tickets and every alert are
        application data on the wire too."""
        if self.server_hello is None and d == self.client and self.client_hello is not None:
            self.client_data = True  # 0-RTT data (or TLS 1.2 False Start): the first request
            self.zero_rtt_sent = self.zero_rtt_sent or self.client_hello.early_data
            return DATA
        if not self.tls13:
            # Picked up mid-stream (no ServerHello): a 19-byte record is still TLS 1.3's alert,
            # as no TLS 1.2 suite protects data in so few bytes.
            if self.server_hello is None and rlen == TLS13_ALERT_LEN:
                return ALERT
            return DATA
        client = d == self.client
        if not self.client_finished:
            if client:
                ch = self.client_hello
                if ch is not None and ch.early_data:
                    if rlen == TLS13_END_OF_EARLY_DATA_LEN:
                        return HS  # EndOfEarlyData: its Finished follows
                    if rlen != self._finished_len():
                        self.client_data = self.zero_rtt_sent = True  # 0-RTT data, captured late
                        return DATA
                self.client_finished = True  # its first encrypted record: the Finished
                self.tickets_due = self.client_data  # after 0-RTT data, the tickets still come
            elif self.client_data and self.server_hello_frame is not None and frame > self.server_hello_frame:
                return DATA  # after its first flight, before the client's Finished: a 0.5-RTT answer
            return HS
        if rlen == TLS13_ALERT_LEN:
            return ALERT  # too short for anything but an alert (close_notify before a FIN)
        cur = self.cur
        starts = cur is None or cur[DIR] != d or cur[KIND] != DATA
        if rlen == TLS13_KEY_UPDATE_LEN and starts and (client or self.client_data):
            return KEY_UPDATE  # not data: it neither starts a request nor a response
        if client:
            self.client_data = True
            self.tickets_due = False
            return DATA
        if self.tickets_due and rlen <= MAX_TICKET_RECORD:
            return TICKET  # right after the Finished that followed 0-RTT data
        self.tickets_due = False
        return DATA if self.client_data else TICKET

    def _handshake(self, d: int, s: _Direction, body: bytearray, frame: int, ts: int) -> None:
        """Collect handshake messages sent in the clear; read the hellos."""
        hs = s.hs
        hs += body
        while len(hs) >= 4:
            n = hs[1] << 16 | hs[2] << 8 | hs[3]
            if n > MAX_HANDSHAKE_MESSAGE:
                s.hs = None  # not buffered: the hellos are all that is read
                return
            if len(hs) < 4 + n:
                return
            mtype, msg = hs[0], bytes(hs[4 : 4 + n])
            del hs[: 4 + n]
            if mtype == 1 and self.hello_frame is None:
                self.client_hello = parse_client_hello(msg)
                self.hello_frame, self.hello_ts = frame, s.first_ts
                if self.client is None:
                    self.client = d
                if self.client_hello is None:
                    self.note = self.note or f"unreadable ClientHello in frame {frame}"
            elif mtype == 2 and self.server_hello is None and d != self.client:
                sh = parse_server_hello(msg)
                if sh is None:
                    self.note = self.note or f"unreadable ServerHello in frame {frame}"
                    s.hs = None
                    return
                if sh.retry:
                    self.retry = True
                    continue
                self.server_hello, self.server_hello_frame = sh, frame
                self.tls13 = sh.version == 0x0304
                if self.client is None:
                    self.client = 1 - d
                if self.keys:  # an empty key log says nothing about this connection
                    self._keys()
            if not self._need_hellos():
                s.hs = None
                return

    # -- decryption ------------------------------------------------------------------------

    def _keys(self) -> None:
        """Both hellos are read: find the connection's secrets in the key log."""
        from katui.tls.decrypt import directions
        from katui.tls.session import Decryption

        ch, sh = self.client_hello, self.server_hello
        if ch is None or sh is None or self.client is None:
            return
        early = self.tls13 and ch.early_data
        found = directions(self.keys, self.tls13, sh.cipher, ch.random, sh.random, sh.etm, early)
        zero_rtt, self.zero_rtt = self.zero_rtt, None
        if zero_rtt is None and early and self.zero_rtt_bytes >= 0 and not isinstance(found, str):
            zero_rtt = []  # 0-RTT records may still reach the capture after the ServerHello
        if isinstance(found, str):
            self.note = self.note or found
            return
        client, server = found
        dirs = [client, server] if self.client == 0 else [server, client]
        self.dec = Decryption(dirs, self.client, self.tls13, self.plaintext, sh.alpn, zero_rtt)

    def _drop_decryption(self) -> None:
        """Decryption stopped before any application data: the connection goes on as one
        without keys (its note says why), keeping what the handshake records said."""
        dec = self.dec
        self.note, self.alpn_read, self.dec = self.note or dec.note, dec.alpn, None

    def _decrypt(self, d: int, s: _Direction, body, frame: int, ts: int) -> int | None:
        """The run kind of a protected record, from its decrypted content type (None: it could
        not be decrypted)."""
        dec = self.dec
        protection = dec.dirs[d]
        updates = getattr(protection, "updates", 0)
        ctype = dec.open(d, s.head, body, frame, ts)
        if dec.failed:  # nothing decrypted yet: the whole connection stays without keys
            self._drop_decryption()
        if ctype is None:
            return None
        client = d == self.client
        if self.tls13 and client and not self.client_finished:
            self.client_finished = True
        if ctype == APPLICATION_DATA:
            if client:
                self.client_data = True
            return DATA
        if ctype == ALERT_RECORD:
            return ALERT
        if getattr(protection, "updates", 0) != updates:
            return KEY_UPDATE
        return TICKET if self.tls13 and not client and self.client_finished else HS

    @property
    def decrypted(self) -> bool:
        """Application data was decrypted."""
        return self.dec is not None and self.dec.decrypted

    @property
    def h2(self) -> bool:
        """The decrypted client data starts with the HTTP/2 connection preface."""
        return self.dec is not None and self.dec.h2

    @property
    def inner(self) -> StreamSink | None:
        """The plaintext sink, if application data was decrypted."""
        return self.dec.inner if self.dec is not None else None

    @property
    def plaintext_read(self) -> bool:
        """True when decrypted application data was understood by the plaintext sink (HTTP/1.x
        or HTTP/2);
        else exchanges are inferred from records, decrypted or not."""
        return self.dec is not None and self.dec.understood

    @property
    def decrypt_note(self) -> str | None:
        """Why decryption stopped part-way, if it did."""
        return self.dec.note if self.dec is not None else None
