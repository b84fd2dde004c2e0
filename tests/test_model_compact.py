"""The compact model classes (Connection, Close, Exchange: slotted, with C fields when the core is
built) behave as the dataclasses they replaced: readable fields, dataclasses.replace, Close
compared and hashed by value, None where nothing is known; and a connection analysed without the
frame table keeps no frame numbers but still counts its frames."""

from __future__ import annotations

import dataclasses
import sys

import pytest

import katui.model.connection
from katui.analysis.pipeline import analyze
from katui.model import Close, Connection, Exchange
from katui.model.store import ix_at
from tests.conftest import SAMPLES

LIMIT = str(SAMPLES / "request-limit.pcap")


def test_a_connection_without_the_frame_table_counts_its_frames_without_keeping_them():
    kept, lean = analyze(LIMIT), analyze(LIMIT, frames=False)
    try:
        for a, b in zip(kept.connections, lean.connections, strict=True):
            assert len(a.frames) == a.frame_count == b.frame_count == a.frames_c2s + a.frames_s2c
            assert a.frames[0] == a.first_frame and a.frames[-1] == a.last_frame
            assert len(b.frames) == 0
        assert [c.frame_count for c in kept.connections] == [16, 13]  # tshark: tcp.stream 0, 1
    finally:
        kept.close()
        lean.close()


def test_the_closing_fin_is_evidence_made_when_read_and_survives_replace():
    a = analyze(LIMIT, frames=False)
    try:
        close = a.connections[0].close
        assert close.reason == "request-limit"
        assert close.frame == 14 and close.by == "server"
        assert close.evidence == ("response 3 (frame 12) said 'Connection: close'", "server FIN frame 14")
        changed = dataclasses.replace(close, reason="unknown")
        assert changed.evidence == close.evidence and changed.frame == 14 and changed.reason == "unknown"
        assert changed != close
        again = dataclasses.replace(changed, reason="request-limit")
        assert again == close and hash(again) == hash(close) and again is not close
        assert repr(close).startswith("Close(by='server', how='fin', frame=14, ts_ns=")
    finally:
        a.close()


def test_an_open_close_has_no_frame_or_time():
    close = Close(None, None, None, None, None, "open", "still open when the capture ended")
    assert (close.frame, close.ts_ns, close.evidence, close.closer) == (None, None, (), None)
    assert {close, Close(None, None, None, None, None, "open", "still open when the capture ended")} == {
        close
    }


def test_a_close_s_rare_fields_read_in_one_call_equal_its_properties():
    """The JSON writer reads a close's RST frames, wait and status in one call (rare_fields):
    the same as the three properties, with and without a wait or a status."""
    from katui.model.connection import rare_fields

    plain = Close("client", "fin", 9, 100, None, "client-done", "closed", rst_frames=(4, 7))
    waited = Close("server", "rst", 9, 100, 5, "error-close", "answered 503", None, (9,), (), 12, 503)
    status_only = Close("server", "fin", 9, 100, 5, "error-close", "answered 400", status=400)
    for close in (plain, waited, status_only):
        assert tuple(rare_fields(close)) == (close.rst_frames, close.wait_ns, close.status)
    assert tuple(rare_fields(waited)) == ((9,), 12, 503) and tuple(rare_fields(plain)) == ((4, 7), None, None)


def test_a_connection_replaced_keeps_every_field_and_identity_equality():
    a = analyze(LIMIT, frames=False)
    try:
        c = a.connections[1]
        d = dataclasses.replace(c, http2=None)
        fields = [f.name for f in dataclasses.fields(Connection)]
        assert fields[:3] == ["stream", "client", "server"] and "frames" in fields
        assert all(getattr(d, name) == getattr(c, name) for name in fields)
        assert d is not c and d != c  # compared by identity, as the eq=False dataclass was
        assert (c.stream, c.requests, c.reused, c.handshake_rtt_ns is not None) == (1, 2, True, True)
        assert " frames=" not in repr(c) and "truncated_frames=0" in repr(c)
        # http is a byte when compiled (192 bytes a connection as allocated), a bool as read
        assert c.http is True and dataclasses.replace(c, http=False).http is False and "http=True" in repr(c)
        if not katui.model.connection.__file__.endswith(".py"):
            assert sys.getsizeof(c) == 192
    finally:
        a.close()


def test_an_exchange_idle_time_is_none_until_set():
    ex = Exchange(None, 4, 5)
    assert (ex.req, ex.resp, ex.n, ex.reused, ex.pipelined, ex.idle_before_ns) == (
        4,
        5,
        1,
        False,
        False,
        None,
    )
    ex.idle_before_ns = 0
    assert ex.idle_before_ns == 0
    ex.idle_before_ns = None
    assert ex.idle_before_ns is None


def test_one_piece_of_evidence_is_a_tuple_as_read_and_compares_as_before():
    """A single piece of evidence is kept as the string (a tuple less per connection) but reads,
    replaces and compares as the tuple it was; a list given stays a list."""
    said = ("response 3 (frame 8) said it",)
    one = Close("server", "fin", 9, 1, 2, "request-limit", "x", evidence=said, closing=True)
    assert one.evidence == (*said, "server FIN frame 9")
    assert Close("server", "fin", 9, 1, 2, "request-limit", "x", evidence=said).evidence == said
    assert dataclasses.replace(one, reason="unknown").evidence == one.evidence
    assert one == Close("server", "fin", 9, 1, 2, "request-limit", "x", evidence=said, closing=True)
    assert Close(None, None, None, None, None, "open", "y", evidence=["a"]).evidence == ["a"]


def test_compiled_exchanges_and_closes_are_not_tracked_by_the_cycle_collector():
    """Compiled, Exchange and Close are left out of the cycle collector (they hold no cycle):
    16 bytes less each; an HTTP/2 exchange (a Python subclass) still works and is collected."""
    import gc
    import sys

    import katui.model.exchange
    from katui.http2.conversation import H2Exchange
    from katui.model import MessageStore

    store = MessageStore()
    ex, h2 = Exchange(store, 1, 2), H2Exchange(store, 3)
    assert (h2.stream_id, h2.req, h2.resp) == (3, -1, -1)
    h2.reset = (h2,)  # a cycle through the subclass's own slot: the collector still finds it
    del h2
    gc.collect()
    assert not [o for o in gc.get_objects() if type(o) is H2Exchange]
    if katui.model.exchange.__file__.endswith(".py"):
        return  # interpreted: plain slotted classes
    assert not gc.is_tracked(ex) and not gc.is_tracked(Close(None, None, None, None, None, "open", "y"))
    assert sys.getsizeof(ex) == 48  # (no slot for 1xx responses: InformedExchange has it)


def test_a_content_length_of_any_size_reads_back_as_stored():
    """Lengths live in 32 bits of the row (length + 1, 0 for none); the few past that in a
    side table: every one reads back exactly, and the other fields of the row are unharmed."""
    from katui.model import MessageStore

    store = MessageStore()
    text = ("HTTP/1.1", "", "OK", None, None, "", "")
    lengths = [None, 0, 1, (1 << 31) - 1, (1 << 32) - 3, (1 << 32) - 2, (1 << 32) - 1, 1 << 32, 1 << 62]
    rows = [store.add_scanned(False, 7, 100, (200, n, False, "", text, None), 19, 9, 120, 5) for n in lengths]
    got = [store.view(i) for i in rows]
    assert [m.content_length for m in got] == lengths
    assert {(m.status, m.frame, m.first_frame, m.body_bytes, m.head_bytes, m.end_ns) for m in got} == {
        (200, 9, 7, 5, 19, 120)
    }
    assert len(store.big_lengths) == 4  # the lengths of 2**32 - 2 and more


def test_body_bytes_of_any_count_read_back_as_stored():
    """Body bytes live in 32 bits of the row; counts of 2**32 - 1 and more (and any that is
    not a count) in a side table: every one reads back exactly, through the view, the row and
    the writers' body_at, also when a message is ended or abandoned again with another count."""
    from katui.model import MessageStore
    from katui.model.store import body_at

    store = MessageStore()
    text = ("HTTP/1.1", "", "OK", None, None, "", "")
    counts = [0, 1, (1 << 32) - 2, (1 << 32) - 1, 1 << 32, (1 << 63) - 1, -1]
    scanned = (200, None, False, "", text, None)
    rows = [store.add_scanned(False, 7, 100, scanned, 19, 9, 120, n) for n in counts]
    assert [store.view(i).body_bytes for i in rows] == counts
    assert [body_at(store, i) for i in rows] == [store.row(i)[5] for i in rows] == counts
    assert {(m.status, m.frame, m.end_ns, m.head_bytes) for m in map(store.view, rows)} == {(200, 9, 120, 19)}
    assert len(store.big_bodies) == 4
    store.end(rows[4], 10, 130, 3, True)  # a big count ended again with a small one: not kept aside
    store.abandon(rows[0], 1 << 40)  # and a small one abandoned with a big one
    assert (body_at(store, rows[4]), body_at(store, rows[0])) == (3, 1 << 40)
    assert rows[4] not in store.big_bodies and store.view(rows[4]).end_ns == 130
    for bad in (len(rows), -1, 1 << 62, (1 << 63) - 1):
        with pytest.raises(IndexError):
            body_at(store, bad)


def test_an_end_time_of_any_distance_from_its_start_reads_back_as_stored():
    """A row keeps its end as the time since its start in 32 bits; ends 2**32 - 1 ns or more
    after it, before it (timestamps going backwards) or far on either side of 0 are kept
    aside: every one reads back exactly, through the view and the writers' end_at, also when a
    message is ended again."""
    from katui.model import MessageStore
    from katui.model.store import end_at

    store = MessageStore()
    text = ("HTTP/1.1", "GET", "", None, None, "", "")
    start, top = 5_000_000_000, (1 << 63) - 1
    cases = [(start, start), (start, start + 1), (start, start + (1 << 32) - 2),
             (start, start + (1 << 32) - 1), (start, start + (1 << 40)), (start, start - 1), (start, 0),
             (-top, top), (-7, -3), (top, top)]  # fmt: skip
    rows = [store.add_scanned(True, 1, s, (0, None, False, "/", text, None), 10, 2, e, 0) for s, e in cases]
    assert [store.view(i).end_ns for i in rows] == [e for _, e in cases]
    assert [end_at(store, i) for i in rows] == [e for _, e in cases]
    open_row = store.add_scanned(True, 1, start, (0, None, False, "/", text, None), 10)
    assert store.view(open_row).end_ns is None  # not ended yet
    store.end(open_row, 3, start + (1 << 33), 0, True)  # ended far after its start ...
    assert store.view(open_row).end_ns == start + (1 << 33)
    store.end(open_row, 4, start + 9, 0, True)  # ... and again, near it
    assert (store.view(open_row).end_ns, store.view(open_row).frame) == (start + 9, 4)
    assert open_row not in store.big_ends
    # Rows far out of range, also where row * 6 wraps past 2**63 (the compiled build read
    # memory there before the check came first): IndexError on both builds.
    for bad in (len(rows) + 1, -1, 1 << 62, (1 << 62) + (1 << 32), (1 << 63) - 1):
        with pytest.raises(IndexError):
            end_at(store, bad)


def test_index_columns_widen_as_their_tables_grow_and_every_row_reads_back():
    """URI and head indexes start at one byte a row and widen (16, then 32 bits) when a table
    outgrows them: the rows written before and after each widening read back their own
    strings."""
    from katui.model import MessageStore

    store = MessageStore()
    base = ("HTTP/1.1", "GET", "", None, None, "h", "")
    uris = [f"/item/{i}" for i in range(70_000)]
    for i, uri in enumerate(uris):
        text = (*base[:2], f"reason {i % 300}", *base[3:])  # 300 heads: past one byte
        store.add_scanned(True, i + 1, i, (0, None, False, uri, text, None), 40)
    assert (store.uri_ix.typecode, store.head_ix.typecode) == ("I", "H")
    assert [store.uri(i) for i in range(len(uris))] == uris
    assert [store.text(i)[2] for i in range(len(uris))] == [f"reason {i % 300}" for i in range(len(uris))]
    small = MessageStore()
    small.add_scanned(True, 1, 0, (0, None, False, "/", base, None), 40)
    assert (small.uri_ix.typecode, small.head_ix.typecode, small.uri(0)) == ("B", "B", "/")
    # What the compiled JSON writer reads them with: the same item at each of the three widths.
    for col in (store.uri_ix, store.head_ix, small.uri_ix):
        assert [ix_at(col, i) for i in range(len(col))] == list(col)
        with pytest.raises(IndexError):
            ix_at(col, len(col))
        with pytest.raises(IndexError):
            ix_at(col, -1)


def test_uris_past_the_shared_ones_read_back_from_the_blob(monkeypatch):
    """Past MAX_SHARED_URIS distinct URIs the store keeps new ones as UTF-8 bytes (lone
    surrogates, the bytes that were not UTF-8, included) in ``uri_blob``; a URI still shared is
    found in the table. Every row reads its own back."""
    import katui.model.store as store_module
    from katui.model import MessageStore

    monkeypatch.setattr(store_module, "MAX_SHARED_URIS", 3)
    store = MessageStore()
    text = ("HTTP/1.1", "GET", "", None, None, "h", "")
    uris = ["/a", "/b", "/\udc80x", "/é", "/a", "/\U0001f600", "/\udcff", "/b", "", "/\udc80x", "/é"]
    for i, uri in enumerate(uris):
        store.add_scanned(True, i + 1, i, (0, None, False, uri, text, None), 10)
    assert [store.uri(i) for i in range(len(uris))] == uris
    assert store.uri_table == ["", "/a", "/b"]  # the table takes no more once the blob has one
    assert store.blob_uris() == ["/\udc80x", "/é", "/\U0001f600", "/\udcff", "/\udc80x", "/é"]
    assert not store.uri_blob.isascii()


def test_a_handshake_rtt_of_zero_is_not_none_and_survives_replace():
    a = analyze(LIMIT, frames=False)
    try:
        c = a.connections[0]
        zero = dataclasses.replace(c, handshake_rtt_ns=0)
        assert (zero.handshake_rtt_ns, dataclasses.replace(c, handshake_rtt_ns=None).handshake_rtt_ns) == (
            0,
            None,
        )
        assert dataclasses.replace(zero, state="complete").handshake_rtt_ns == 0
    finally:
        a.close()


def test_the_freeze_shares_equal_client_endpoints_and_idle_times():
    """Connections from the same client endpoint (a reused port) get one string, and equal
    close idle times one int: values equal, objects shared."""
    a = analyze(str(SAMPLES / "port-reuse.pcap"), frames=False)
    try:
        by_client: dict = {}
        for c in a.connections:
            by_client.setdefault(c.client, []).append(c)
        reused = [cs for cs in by_client.values() if len(cs) > 1]
        assert reused
        for cs in reused:
            assert all(c.client is cs[0].client for c in cs)
        idles = [c.close.idle_before_ns for c in a.connections if c.close.idle_before_ns is not None]
        for x in idles:
            assert all(y is x for y in idles if y == x)
    finally:
        a.close()


def test_plain_exchanges_are_kept_as_columns_and_read_back_as_the_objects_they_were():
    """A connection's plain exchanges are kept as columns in one bytes object (an ExchangeRun),
    not objects: the run reads back as the tuple it replaced (length, truth, indexing, slicing,
    iteration, every field), and a connection with another kind of exchange keeps its tuple."""
    from katui.model import MessageStore
    from katui.model.exchange import ROW_BYTES, ExchangeRun, InformedExchange, kept

    store = MessageStore()
    first = Exchange(store, 0, 1)
    second = Exchange(store, 2, -1)
    second.n, second.reused, second.pipelined, second.idle_before_ns = 2, True, True, (1 << 40) + 3
    third = Exchange(store, -1, 3)
    third.n = 2
    assert kept(()) == ()
    run = kept((first, second, third))
    assert isinstance(run, ExchangeRun) and len(run) == 3 and run and len(run.rows) == 3 * ROW_BYTES
    assert not ExchangeRun(store, b"") and list(ExchangeRun(store, b"")) == []

    def fields(ex):
        return (type(ex), ex.store, ex.req, ex.resp, ex.n, ex.reused, ex.pipelined, ex.idle_before_ns)

    want = [fields(ex) for ex in (first, second, third)]
    assert [fields(ex) for ex in run] == want
    assert [fields(run[i]) for i in (0, 1, 2)] == want and fields(run[-1]) == want[2]
    assert [fields(ex) for ex in run[1:]] == want[1:] and [fields(ex) for ex in reversed(run)] == want[::-1]
    assert fields(run[1]) == (Exchange, store, 2, -1, 2, True, True, (1 << 40) + 3)
    assert run[0].idle_before_ns is None and not run[0].reused
    for bad in (3, -4):
        with pytest.raises(IndexError):
            run[bad]
    informed = InformedExchange(first)
    mixed = (informed, second)
    assert kept(mixed) is mixed  # 1xx responses: the objects stay
    other = (first, Exchange(MessageStore(), 0, 1))
    assert kept(other) is other  # two captures' messages
    assert run == kept((first, second, third)) and run != kept((first,))


def _fields(ex):
    return (ex.store, ex.req, ex.resp, ex.n, ex.reused, ex.pipelined, ex._idle)


def test_a_run_s_column_readers_read_the_fields_of_the_exchanges_it_holds():
    """The readers of every exchange (findings, timeouts, verdicts, the JSON rows) read a run's
    columns instead of making an Exchange each: each column reads back the field it holds,
    unset idle time, unanswered request and response without a request included; an index out
    of range raises; ``columns`` gives a run itself, or a run of a tuple's fields (any kind)."""
    from katui.model import MessageStore
    from katui.model.exchange import NO_IDLE, PIPELINED, REUSED, ExchangeRun, InformedExchange, columns, kept

    store = MessageStore()
    plain = Exchange(store, 0, 1)  # answered, idle unset
    unanswered = Exchange(store, 2, -1)
    unanswered.n, unanswered.reused, unanswered.pipelined, unanswered._idle = 2, True, True, (1 << 62) + 5
    orphan = Exchange(store, -1, 3)  # a response without a request
    orphan.n, orphan.reused, orphan._idle = 2, False, 0
    idle = Exchange(store, (1 << 31) - 1, 4)
    idle.n, idle.reused, idle._idle = (1 << 31) - 1, True, 1
    exchanges = (plain, unanswered, orphan, idle)
    run = kept(exchanges)
    assert isinstance(run, ExchangeRun) and columns(run) is run
    for k, ex in enumerate(exchanges):
        bits = (REUSED if ex.reused else 0) | (PIPELINED if ex.pipelined else 0)
        got = (run.store, run.req_at(k), run.resp_at(k), run.n_at(k), run.flags_at(k), run.idle_at(k))
        assert got == (ex.store, ex.req, ex.resp, ex.n, bits, ex._idle)
    assert run.idle_at(0) == NO_IDLE and run.flags_at(1) == REUSED | PIPELINED and run.flags_at(2) == 0
    for read in (run.idle_at, run.req_at, run.resp_at, run.n_at, run.flags_at):
        for bad in (len(exchanges), -1, 1 << 40):
            with pytest.raises(IndexError):
                read(bad)
    with pytest.raises(IndexError):
        ExchangeRun(store, b"").req_at(0)
    informed = InformedExchange(plain)
    informed.n = 3
    mixed = (informed, unanswered)
    packed = columns(mixed)  # a tuple's fields, whatever its exchanges' kind
    assert [_fields(packed[k]) for k in range(2)] == [_fields(informed), _fields(unanswered)]
    assert packed.n_at(0) == 3 and not columns(()) and len(columns(())) == 0


def test_a_run_written_exchange_by_exchange_equals_the_packed_objects():
    """The freeze writes a plain connection's run one exchange at a time (RunWriter), as kept()
    packs the objects; it takes no more than it has room for, and is not made until full."""
    from katui.model import MessageStore
    from katui.model.exchange import PIPELINED, REUSED, RunWriter, kept

    store = MessageStore()
    a, b = Exchange(store, 0, -1), Exchange(store, -1, 1)
    b.n, b.reused, b.pipelined, b._idle = 7, True, True, 12
    w = RunWriter(store, 2)
    with pytest.raises(ValueError):
        w.run()
    w.put(a._idle, a.req, a.resp, a.n, 0)
    w.put(b._idle, b.req, b.resp, b.n, REUSED | PIPELINED)
    with pytest.raises(IndexError):
        w.put(0, 0, 0, 1, 0)
    assert w.run() == kept((a, b))


def test_a_plain_conversation_is_numbered_into_a_run_as_its_objects_would_be():
    """A plain HTTP/1.x conversation is numbered from its pairs array straight into a run (no
    Exchange per exchange); every field equals what numbering the same exchanges as objects
    gives: reuse, pipelining (a request before the previous response ended), idle time (unset
    for the first, 0 when pipelined), a response without a request, unanswered and unended
    messages, pairs with neither left out."""
    from array import array
    from types import SimpleNamespace

    from katui.analysis.build import _exchanges
    from katui.http.conversation import HttpConversation
    from katui.model import MessageStore
    from katui.model.exchange import ExchangeRun

    store = MessageStore()
    req_text = ("HTTP/1.1", "GET", "", None, None, "h", "")
    resp_text = ("HTTP/1.1", "", "OK", None, None, "", "")

    def message(is_request, start, end, frame=9):
        scanned = (
            (0, None, False, "/", req_text, None) if is_request else (200, None, False, "", resp_text, None)
        )
        return store.add_scanned(is_request, 7, start, scanned, 19, frame, end, 0)

    rows = [
        (message(True, 100, 110), message(False, 120, 130)),
        (message(True, 125, 126), -1),  # pipelined (before 130), then unanswered
        (-1, message(False, 200, 210)),  # a response without its request
        (-1, -1),  # neither: left out
        (message(True, 1000, 0, 0), message(False, 1010, 0, 0)),  # neither ended
        (message(True, 5000, 5010), message(False, 5020, 5030)),  # after an idle stretch
    ]
    conv = HttpConversation(store, False)
    conv.pairs = array("i", [row for pair in rows for row in pair])
    run, requests = _exchanges(conv)
    objects = SimpleNamespace(store=store, exchanges=[Exchange(store, req, resp) for req, resp in rows])
    numbered, also = _exchanges(objects)
    assert isinstance(run, ExchangeRun) and type(numbered) is tuple and requests == also == 4
    assert [_fields(run[k]) for k in range(len(run))] == [_fields(ex) for ex in numbered]
    assert [(ex.n, ex.reused, ex.pipelined, ex.idle_before_ns) for ex in numbered] == [
        (1, False, False, None),
        (2, True, True, 0),
        (2, False, False, None),
        (3, True, False, 790),  # idle since the orphan response's end (the unended pair has none)
        (4, True, False, 4790),
    ]
    empty = HttpConversation(store, False)
    empty.pairs = array("i", [-1, -1])
    assert _exchanges(empty) == ((), 0)
