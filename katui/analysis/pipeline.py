"""One streaming pass over a capture: frames -> connections -> exchanges -> verdicts."""

from __future__ import annotations

import gc
import math
import mmap
import struct
import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from functools import partial
from typing import TYPE_CHECKING

from katui import http2, tls
from katui.analysis.verdicts import DEFAULT_IDLE_NS, upstream_failure
from katui.capture import linktypes
from katui.capture.decode import SKIP_FRAGMENT
from katui.capture.reader import CaptureFile, open_capture
from katui.http.conversation import HttpConversation
from katui.model import Connection, Finding, MessageStore, Preview, TimeoutEstimate
from katui.tcp import facts as tcp_facts
from katui.tcp.frames import FrameTable
from katui.tcp.ingest import MAX_FRAMES, Reading
from katui.tcp.sink import StreamSink
from katui.tcp.tracker import Tracker
from katui.tls.keylog import KeyLog
from katui.tls.verdicts import request_limits

if TYPE_CHECKING:
    from katui.analysis.proxy import ProxyReport

PROGRESS_EVERY = 1 << 15
FIRST_PROGRESS = 1 << 10  # the first progress and preview come sooner: a screen's first rows
# Read pages count in RSS: drop them about every 256 KiB read, but the most recent 256 KiB
# (out-of-order segments still point there). At most ~1 MiB of the mapping is resident, not
# ~3 (the first progress tick makes the looks every 1024 frames): the read peak of a
# 1M-frame capture is ~1 MB lower, for ~1,500 more madvise calls.
RELEASE_EVERY = 1 << 18
RELEASE_LAG = 1 << 18
RELEASE_FRAMES = 1 << 12
"""Frames between two looks at what can be released (~0.6 MiB of a load test's capture; a
progress tick, every ``PROGRESS_EVERY`` frames, is ~5 MiB: that much more resident)."""

FREEZE_BATCH = 1024
"""Connections frozen together (:func:`_freeze`)."""

Progress = Callable[[int, int, int], None]
"""progress(frames read, bytes read, total bytes)."""


PreviewSink = Callable[[list[Preview]], None]
"""preview(connections first seen since the previous call)."""


_FINDINGS_LOCK = threading.Lock()
"""Held while an analysis makes its findings (:attr:`Analysis.findings`)."""


@dataclass
class Analysis:
    """Everything katui knows about one capture. Holds the mapped file for lazy payload reads."""

    path: str
    """Capture path as given."""
    format: str
    """``pcap`` or ``pcapng``."""
    link_types: list[str]
    """Link-layer names seen."""
    frames: int
    """Number of frames (records) read."""
    first_ns: int
    """Timestamp of frame 1 (0 for an empty capture)."""
    last_ns: int
    """Timestamp of the last frame."""
    connections: list[Connection]
    """TCP connections in stream order."""
    timeout: TimeoutEstimate
    """Inferred idle timeout of the best-evidenced server (see ``timeouts`` for all)."""
    timeouts: list[TimeoutEstimate]
    """Per-server idle timeout estimates, the best-evidenced first."""
    table: FrameTable = field(repr=False)
    """Per-frame columns."""
    capture: CaptureFile = field(repr=False)
    """The open capture (for payload bytes)."""
    warnings: list[str] = field(default_factory=list)
    """Damage and oddities found while reading."""
    idle_threshold_ns: int = DEFAULT_IDLE_NS
    """Idle stretch that counts as an idle gap."""
    proxies: ProxyReport = field(default_factory=lambda: _no_proxies(), repr=False)
    """Proxies found, the links between their front and upstream requests, upstream races."""
    cache: dict = field(default_factory=dict, repr=False)
    """Lazily built indexes for the views (e.g. connections by client host and server)."""
    keylog: KeyLog | None = field(default=None, repr=False)
    """The TLS secrets the analysis had (``--keylog``, ``SSLKEYLOGFILE``, a pcapng's own);
    follow stream decrypts records with them again."""

    @property
    def duration_ns(self) -> int:
        """Capture duration."""
        return self.last_ns - self.first_ns

    @property
    def findings(self) -> list[Finding]:
        """Capture-wide verdicts, made on first use (and kept in ``cache``): the TUI lists the
        connections without them, ~0.1 s sooner on a load test's 60,000 (its list of findings,
        a key away, makes them)."""
        got = self.cache.get("findings")
        if got is None:
            with _FINDINGS_LOCK:  # the TUI makes them in its loading thread: made once
                got = self.cache.get("findings")
                if got is None:
                    from katui.analysis.findings import findings as make

                    got = self.cache["findings"] = make(self.connections, self.timeouts, self.proxies)
        return got

    @property
    def requests(self) -> int:
        """HTTP requests in the whole capture."""
        return sum(c.requests for c in self.connections)

    def rel(self, ts_ns: int) -> int:
        """Timestamp relative to frame 1."""
        return ts_ns - self.first_ns

    def payload(self, frame: int, limit: int = 65536) -> bytes:
        """Captured TCP payload bytes of ``frame`` (at most ``limit``)."""
        i = frame - 1
        return self.capture.read(self.table.poff[i], min(self.table.pcap[i], limit))

    def close(self) -> None:
        """Release the capture file."""
        self.capture.close()


def analyze(
    path: str,
    progress: Progress | None = None,
    idle_threshold_ns: int = DEFAULT_IDLE_NS,
    preview: PreviewSink | None = None,
    frames: bool | tuple[str, ...] = True,
    keylog: KeyLog | None = None,
) -> Analysis:
    """Read ``path`` and analyse it; raises ``CaptureError`` for files that cannot be read.

    ``frames=False`` does not keep the per-frame columns (``Analysis.table`` stays empty):
    for reports that never draw a ladder, it saves ~40 bytes per frame and a tenth of the time.
    A tuple of column names keeps only those (``LADDER_COLUMNS``: what the Markdown report draws).

    ``progress`` and ``preview`` are called from the reading loop every few thousand frames
    (``preview`` with the connections seen since its previous call), so a UI can show the
    first connections long before a big capture is fully read.

    ``keylog`` (:class:`katui.tls.keylog.KeyLog`) decrypts the TLS connections it holds
    secrets for, as do the keys a pcapng carries in Decryption Secrets Blocks: their plaintext
    gets the HTTP analysis; the others stay inferred from records.
    """
    # The pass allocates millions of small objects and few cycles: generational GC passes
    # would cost ~20 % of the run for nothing. Cycles left behind are collected afterwards.
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        return _analyze(path, progress, idle_threshold_ns, preview, frames, keylog)
    finally:
        # What the pass built lives as long as the analysis: move it out of the collector's
        # sight, or every later full collection (JSON rendering, the TUI) walks millions of
        # objects again.
        gc.freeze()
        if gc_was_enabled:
            gc.enable()


def _analyze(
    path: str,
    progress: Progress | None,
    idle_threshold_ns: int,
    preview: PreviewSink | None,
    frames: bool | tuple[str, ...],
    keylog: KeyLog | None,
) -> Analysis:
    cap = open_capture(path)
    table = FrameTable(cap.buf, keep=frames)
    store = MessageStore()
    keys = keylog if keylog is not None else KeyLog()
    cap.on_tls_keys = keys.add  # a pcapng's own key log (Decryption Secrets Blocks) adds to it
    plaintext = partial(_plaintext, store)  # decrypted TLS application data
    try_tls = partial(tls.sniff, store, keys, plaintext)
    try_other = partial(_not_http1, try_tls, partial(http2.sniff, store))
    tracker = Tracker(cap.buf, partial(HttpConversation, store, try_other=try_other), bool(frames))
    n, first, last, skipped = _read(cap, table, tracker, progress, preview)
    # What follows the reading pass is imported only now (about half of this module's import
    # time): a screen's first rows, listed while the capture is read, need not wait for it.
    from katui.analysis.program_closes import program_closes
    from katui.analysis.proxy import find_proxy_links
    from katui.analysis.timeout import estimate_server_timeouts, main_timeout

    working = tracker.finish()
    del tracker  # its 4-tuple index is no longer needed
    store.added_all()
    conns = _freeze(working, table)
    del working
    conns = program_closes(request_limits(conns))
    proxied = find_proxy_links(conns)
    _blame_upstream(conns, proxied)
    timeouts = estimate_server_timeouts(conns, proxied)
    timeout = main_timeout(timeouts)
    warnings = list(cap.warnings)
    if skipped[SKIP_FRAGMENT]:
        warnings.append(f"{skipped[SKIP_FRAGMENT]} IP fragments were not reassembled")
    if progress is not None:
        progress(n, cap.size, cap.size)
    return Analysis(
        path=path,
        format=cap.format,
        link_types=sorted({linktypes.name(lt) for lt in cap.link_types}),
        frames=n,
        first_ns=first,
        last_ns=last,
        connections=conns,
        timeout=timeout,
        timeouts=timeouts,
        proxies=proxied,
        table=table,
        capture=cap,
        warnings=warnings,
        idle_threshold_ns=idle_threshold_ns,
        keylog=keys if len(keys) else None,
    )


def _plaintext(store: MessageStore, h2: bool) -> StreamSink:
    """The sink of a TLS connection's decrypted application data: HTTP/2 (ALPN ``h2`` or the
    connection preface) or HTTP/1.x."""
    if not h2:
        return HttpConversation(store, False)
    from katui.http2.conversation import H2Conversation  # as http2.sniff: only when needed

    return H2Conversation(store)


def _no_proxies() -> ProxyReport:
    """An empty :class:`ProxyReport` (its module is imported after the reading pass)."""
    from katui.analysis.proxy import ProxyReport

    return ProxyReport.empty()


def _not_http1(try_tls, try_h2c, head: bytes, midstream: bool) -> StreamSink | None:
    """The sink of a connection whose first bytes are not HTTP/1.x: TLS, or cleartext HTTP/2
    with prior knowledge (h2c), or None."""
    return try_tls(head, midstream) or try_h2c(head, midstream)


def _read(
    cap: CaptureFile,
    table: FrameTable,
    tracker: Tracker,
    progress: Progress | None,
    preview: PreviewSink | None,
) -> tuple[int, int, int, Counter[int]]:
    """The reading loop (:class:`katui.tcp.ingest.Reading`): every record into the frame table
    and the tracker. Returns (frames, first timestamp, last timestamp, non-TCP frames by
    SKIP_* reason)."""
    buf, size = cap.buf, cap.size
    done = [0, 0, 0]  # bytes released from the mapping, connections previewed, ticks

    every, first = PROGRESS_EVERY, FIRST_PROGRESS
    if first >= every:
        first = every  # (the reading loop's rule: a first tick only when sooner)

    def tick(n: int, off: int, last: bool = False) -> None:
        if last:  # the whole file read: none of it need stay (out-of-order bytes fault back in)
            done[0] = _release(buf, done[0], off, 0)
        elif off - done[0] > RELEASE_EVERY:
            done[0] = _release(buf, done[0], off)
        if not last and n % every and n != first:
            return  # a tick for the release only
        done[2] += 1
        if progress is not None:
            progress(n, off, size)
        if preview is not None and len(tracker.conns) > done[1]:
            preview([tcp_facts.preview(c) for c in tracker.conns[done[1] :]])
            done[1] = len(tracker.conns)

    reading = Reading()
    try:
        # Ticks come at every frame number that is a multiple of all three (and at ``first``):
        # progress ticks, and ticks that release read pages more often.
        step = math.gcd(every, first, RELEASE_FRAMES)
        reading.run(cap, table, tracker, tick, step, first, MAX_FRAMES)
    except (IndexError, ValueError, KeyError, OverflowError, struct.error) as exc:
        # Defensive: a decoding bug on one hostile frame must not lose the rest of the analysis.
        cap.warnings.append(f"stopped at frame {reading.n}: could not decode it ({exc})")
        reading.flush()
        _pad(table, reading.n)
    if done[2]:  # a capture big enough to be shown loading: its last rows, the whole file read
        tick(reading.n, size, True)
    if reading.cut:
        cap.warnings.append(
            f"stopped after frame {reading.n}: katui reads at most {MAX_FRAMES} frames "
            "(split the capture, e.g. editcap -c)"
        )
    skipped = Counter({why: k for why, k in enumerate(reading.skipped) if k})
    return reading.n, reading.first, reading.last, skipped


def _freeze(working: list, table: FrameTable) -> list[Connection]:
    """The tracker's connections as model connections, in stream order. Their verdicts read
    silences against the verdicts' own fixed thresholds: ``Analysis.idle_threshold_ns`` only
    says which gaps to show, and the same capture must get the same verdicts however its gaps
    are shown (the TUI changes it without analysing again)."""
    from katui.analysis.build import build_connection  # see _analyze: not before the read

    conns = []
    shared: dict = {}  # equal values of the frozen connections, one object each
    # Freeze connections a batch at a time, dropping their working state as soon as it is read:
    # the memory it frees is what the next frozen connections are allocated from (flat peak on
    # big captures). First the TCP facts of the whole batch, its TCP state dropped, then its
    # model connections, its HTTP state dropped after: a connection's TCP state shares the
    # allocator's pools with the next connections' (opened about when it was), and a model
    # object made in one of its freed blocks at once kept the whole pool from being reused for
    # anything else (~10 MB of a load test's pools, ~20 MB of the synthetic 1M capture's).
    for lo in range(0, len(working), FREEZE_BATCH):
        batch = []
        for i in range(lo, min(lo + FREEZE_BATCH, len(working))):
            c = working[i]
            conn, tcp = tcp_facts.facts(c, table)
            batch.append((conn, tcp, c.sink))
            c.release()
            working[i] = None
        for conn, tcp, sink in batch:
            conns.append(build_connection(conn, tcp, sink, DEFAULT_IDLE_NS, shared))
        for _conn, _tcp, sink in batch:
            sink.release()
    return conns


_NO_RESPONSE_CLOSES = ("request-timeout", "client-gave-up", "reset", "client-done", "unannounced-close")
"""Closes of a front connection that a failed upstream request may explain better."""


def _blame_upstream(conns: list[Connection], proxied: ProxyReport) -> None:
    """Front connections a proxy ended without a response because their upstream request hit
    the backend's keep-alive close: their close reason is that, not a request timeout."""
    for race in proxied.races:
        if race.outcome != "reached-client" or race.front_stream is None or race.front_status:
            continue
        c = conns[race.front_stream]
        if c.close.reason in _NO_RESPONSE_CLOSES:
            conns[race.front_stream] = replace(c, close=upstream_failure(c.close, race))


def _release(buf, start: int, upto: int, lag: int = RELEASE_LAG) -> int:
    """Drop already-read pages of the mapping from our resident set (they stay in the page
    cache; a later payload read faults them back in), but the last ``lag`` bytes before
    ``upto``. Keeps RSS flat on multi-GB captures."""
    page = mmap.PAGESIZE
    lo, hi = start - start % page, upto - upto % page - lag
    if hi > lo and hasattr(buf, "madvise"):
        try:
            buf.madvise(mmap.MADV_DONTNEED, lo, hi - lo)
        except (OSError, ValueError):
            return start
        return hi
    return start


def _pad(t: FrameTable, n: int) -> None:
    """Make every column ``n`` long after an aborted frame."""
    for name in t.held:  # a row that is not TCP (stream -1, zeros), in each column kept
        col = getattr(t, name)
        while len(col) < n:
            col.append(-1 if name == "stream" else 0)
