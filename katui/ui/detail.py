"""The detail pane: TCP fields and the HTTP head or payload bytes of one frame."""

from __future__ import annotations

from rich.text import Text
from textual.containers import VerticalScroll
from textual.widgets import Static

from katui.analysis.payload import payload_kind, protocol
from katui.analysis.tcpopts import window_shifts
from katui.model import ACK, SYN, reason_label
from katui.report.common import http2_summary, proxy_leg, tls_summary
from katui.report.ladder import CLOCK_MODES, flag_text, frame_line
from katui.textsafe import safe_bytes, safe_text
from katui.ui.cursor import SCROLL_BINDINGS
from katui.units import fmt_bytes, fmt_clock, fmt_s, plural

PAYLOAD_LIMIT = 4096
PAYLOAD_LINES = 40


def connection_text(analysis, conn) -> Text:
    """Summary of a connection: endpoints, counts, how and why it closed."""
    c = conn.close
    text = Text()
    kind = payload_kind(analysis, conn)
    text.append(f"stream {conn.stream}", "bold")
    text.append(f"  client {conn.client} → server {conn.server}  {protocol(conn, kind)}\n")
    reuse = f", ↻ reused ({conn.requests - 1} without a new handshake)" if conn.reused else ""
    text.append(f"{plural(conn.frame_count, 'frame')}, {plural(conn.requests, 'request')}{reuse}, "
                f"{fmt_bytes(conn.bytes_c2s)} sent / {fmt_bytes(conn.bytes_s2c)} received, "
                f"handshake RTT {fmt_s(conn.handshake_rtt_ns)}, {conn.state}\n")  # fmt: skip
    if conn.tls is not None:
        # The reports' handshake line: SNI, ALPN, cipher, resumption, 0-RTT, how it was read.
        text.append(f"tls: {safe_text(tls_summary(conn.tls))}\n")
    if conn.tls is not None and not conn.tls.decrypted and c.reason != "tls-failed":
        # The verdict below rests on requests read from record sizes and timing (a failed
        # handshake carried none: its tls line says so, and no key log would decrypt anything).
        text.append("payload: TLS without keys; requests and responses inferred from the "
                    "encrypted records (a key log would decrypt them)\n")  # fmt: skip
    elif not conn.http:  # keep-alive words do not apply: say what it carries instead
        text.append(f"payload: {kind or 'not HTTP/1.x (unknown protocol)'}; keep-alive verdicts "
                    "do not apply\n")  # fmt: skip
    text.append("✖ PROBLEM " if c.is_problem else "", "bold")
    text.append(f"close: {safe_text(c.explanation)} [{reason_label(c.reason)}]")
    if c.frame:
        text.append(f" at frame {c.frame}")
    if c.evidence:
        text.append(f"\nevidence: {safe_text('; '.join(c.evidence))}")
    for label, n in (("retransmission", conn.retransmissions), ("lost segment",
                     conn.lost_segments), ("truncated frame", conn.truncated_frames)):  # fmt: skip
        if n:
            text.append(f"\n⚠ {plural(n, label)}")
    if conn.http2 is not None:
        text.append(f"\n{safe_text(http2_summary(conn.http2))}")
    elif conn.http_error:
        text.append(f"\n⚠ HTTP parsing stopped: {safe_text(conn.http_error)}")
    role = analysis.proxies.roles.get(conn.stream)
    if role is not None:
        text.append(f"\n⇄ {role[0]} leg of the proxy {safe_text(role[1])}")
        for ex in conn.exchanges:
            leg = proxy_leg(analysis, conn.stream, ex.n)
            if leg:
                text.append(f"\n  request {ex.n}: {safe_text(leg)}")
    return text


def _window(analysis, conn, frame: int, c2s: bool) -> str:
    """The receive window with the scale the handshake negotiated applied (RFC 7323)."""
    t, i = analysis.table, frame - 1
    raw = t.win[i]
    if t.flags[i] & SYN:
        return f"win={raw} (SYN: never scaled)"
    shifts = window_shifts(analysis, conn)
    if shifts is None:
        return f"win={raw} (scale unknown: the handshake is not in the capture)"
    shift = shifts[0] if c2s else shifts[1]
    return f"win={raw << shift} ({raw} × 2^{shift})" if shift and raw else f"win={raw}"


def _message_at(conn, frame: int):
    for ex in conn.exchanges:
        for msg in (ex.request, *ex.informational, ex.response):
            if msg is not None and msg.first_frame == frame:
                return ex, msg
    return None, None


def _when(analysis, conn, frame: int, time_mode: str) -> str:
    """``t=12.345678 s (+1.000000 s in connection)``; in a clock mode the time of day first
    (with microseconds, to find the frame in a server's log) and the relative times after it."""
    ts = analysis.table.ts[frame - 1]
    rel = f"{analysis.rel(ts) / 1e9:.6f} s"
    in_conn = f"+{(ts - conn.start_ns) / 1e9:.6f} s in connection"
    if time_mode in CLOCK_MODES:
        zone = "UTC" if time_mode == "utc" else "local"
        return (
            f"t={fmt_clock(ts, time_mode == 'utc', micro=True)} {zone} ({rel} since capture start, {in_conn})"
        )
    return f"t={rel} ({in_conn})"


def frame_text(analysis, conn, frame: int, time_mode: str = "rel") -> Text:
    """TCP fields of ``frame`` then its HTTP head or payload, all escaped; its time as the
    ladder's ``time_mode`` reads (time of day in a clock mode, else since capture start)."""
    t, i = analysis.table, frame - 1
    line = frame_line(analysis, conn, frame, "rel", None, None, True)
    src, dst = (conn.client, conn.server) if line.c2s else (conn.server, conn.client)
    who = "client → server" if line.c2s else "server → client"
    text = Text()
    text.append(f"frame {frame}", "bold")
    text.append(f"  {who}  {src} → {dst}\n")
    text.append(f"{_when(analysis, conn, frame, time_mode)}  "
                f"flags [{flag_text(t.flags[i])}]  {line.seqack if t.flags[i] & ACK else ''}"
                f"  {_window(analysis, conn, frame, line.c2s)}  len={t.plen[i]}")  # fmt: skip
    if t.pcap[i] < t.plen[i]:
        text.append(f" (captured {t.pcap[i]})")
    if line.problem:
        text.append("\n✖ RST: the connection was reset here", "bold")
    if frame == conn.close.frame:
        text.append(f"\nclose: {safe_text(conn.close.explanation)} [{conn.close.reason}]")
    if line.label:
        text.append(f"\n{line.label}")
    ex, msg = _message_at(conn, frame)
    if msg is not None:
        kind = "request" if msg.is_request else "response"
        reuse = ", reused connection" if ex.reused and msg.is_request else ""
        text.append(f"\n── HTTP {kind} {ex.n}{reuse} ──\n", "bold")
    data = analysis.payload(frame, PAYLOAD_LIMIT) if t.pcap[i] else b""
    if data:
        if msg is None:
            text.append("\n── payload ──\n", "bold")
        body = safe_bytes(data, keep_newlines=True).split("\n")
        text.append("\n".join(body[:PAYLOAD_LINES]))
        if len(body) > PAYLOAD_LINES or t.pcap[i] > PAYLOAD_LIMIT:
            text.append("\n… (more)")
    return text


class DetailPane(VerticalScroll, can_focus=True):
    """Scrollable detail of the frame (or connection) under the ladder cursor."""

    ALLOW_MAXIMIZE = True  # z: the pane fills the screen

    BINDINGS = SCROLL_BINDINGS

    def compose(self):
        yield Static(id="detail-body")

    def show(
        self, analysis, conn, frame: int | None, note: str | None = None, time_mode: str = "rel"
    ) -> None:
        """Describe ``frame`` of ``conn`` (its time in ``time_mode``), or ``conn`` itself when
        ``frame`` is None, after ``note`` (a ladder note the ladder had to cut) in full."""
        body = self.query_one("#detail-body", Static)
        if conn is None:
            body.update(Text("No connection selected."))
        elif frame is None:
            text = connection_text(analysis, conn)
            body.update(Text.assemble((note, "bold"), "\n\n", text) if note else text)
        else:
            body.update(frame_text(analysis, conn, frame, time_mode))
        self.scroll_home(animate=False)

    @property
    def text(self) -> str:
        """Plain text shown (for tests)."""
        content = self.query_one("#detail-body", Static).content
        return content.plain if isinstance(content, Text) else str(content)
