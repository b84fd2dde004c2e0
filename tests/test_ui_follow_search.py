"""Follow stream's less-like search in the TUI: / ? n N, the cursor on the match, the matches
highlighted as drawn, notices at an end, and hostile bytes still escaped under the highlight."""

from __future__ import annotations

from contextlib import asynccontextmanager

from ui_helpers import SAMPLES, settle, tiny_capture

from katui.ui.app import KatuiApp
from katui.ui.follow import FollowScreen, FollowView

SEED = str(SAMPLES / "httptest.pcap")
HOSTILE = str(SAMPLES / "hostile.pcap")


def _view(app) -> FollowView:
    return app.screen.query_one(FollowView)


@asynccontextmanager
async def _following(path: str, size=(80, 24), *keys: str):
    """The app on ``path``, in follow stream (after ``keys``): (app, pilot, the view)."""
    app = KatuiApp(path)
    async with app.run_test(size=size) as pilot:
        await settle(app, pilot)
        await pilot.press("F", *keys)
        yield app, pilot, _view(app)


def _notices(app) -> list[str]:
    return [n.message for n in app._notifications]


def _drawn(view: FollowView, y: int):
    """(text, highlighted?) of each segment of line ``y`` as drawn (``y`` on screen)."""
    match = view.get_component_rich_style("follow--match", partial=True).bgcolor
    current = view.get_component_rich_style("follow--match-current", partial=True).bgcolor
    out = []
    for seg in view.render_line(y - int(view.scroll_offset.y)):
        bg = seg.style.bgcolor if seg.style else None
        out.append((seg.text, "current" if bg == current else "match" if bg == match else ""))
    return out


async def _search(pilot, keys: str, pattern: str) -> None:
    await pilot.press(keys, *pattern, "enter")
    await pilot.pause()


async def test_slash_finds_forward_n_and_shift_n_move_and_wrap_with_a_notice():
    async with _following(SEED) as (app, pilot, view):
        lines = [view.row_text(y) for y in range(len(view.lines))]
        hits = [y for y, text in enumerate(lines) if "content-length" in text.lower()]
        assert len(hits) >= 2 and view.cursor < hits[0]
        await _search(pilot, "slash", "content-length")
        assert view.cursor == hits[0]
        assert "/content-length: " in str(app.screen.query_one("#follow-title").render())
        drawn = _drawn(view, view.cursor)
        assert ("Content-Length", "current") in drawn  # smart case: lower case finds any case
        await pilot.press("n")
        assert view.cursor == hits[1] and ("Content-Length", "match") in _drawn(view, hits[0])
        await pilot.press("N")
        assert view.cursor == hits[0]
        await pilot.press("N")  # past the top: wraps to the last, and says so
        assert view.cursor == hits[-1] and any("continued at the bottom" in n for n in _notices(app))
        await pilot.press("n")
        assert view.cursor == hits[0] and any("continued at the top" in n for n in _notices(app))


async def test_question_mark_searches_backward_and_n_keeps_going_backward():
    async with _following(SEED, (80, 24), "G") as (app, pilot, view):
        hits = [y for y in range(len(view.lines)) if "HTTP/1.1 200" in view.row_text(y)]
        await _search(pilot, "question_mark", "HTTP/1.1 200")
        assert view.cursor == hits[-1]
        await pilot.press("n")
        assert view.cursor == hits[-2]
        await pilot.press("N")
        assert view.cursor == hits[-1]


async def test_not_found_capitals_and_an_empty_pattern_repeating_the_last():
    async with _following(SEED) as (app, pilot, view):
        await _search(pilot, "slash", "CONTENT-LENGTH")  # a capital: exact case
        assert view.cursor == 0 and view.match is None
        assert any(n == "Pattern not found: CONTENT-LENGTH" for n in _notices(app))
        await _search(pilot, "slash", "Content-Length")
        first = view.cursor
        assert first > 0
        await pilot.press("slash", "enter")  # as in less: the last pattern again
        assert view.cursor > first


async def test_the_prompt_types_the_views_keys_and_esc_closes_it_first():
    async with _following(SEED, (80, 24), "slash", "x", "/", "n", "N", "q", "h", "?", "e") as (app, pilot, _):
        box = app.screen.query_one("#follow-search")
        assert box.value == "x/nNqh?e" and not app.screen.hex
        await pilot.press("escape")
        assert isinstance(app.screen, FollowScreen) and not box.has_class("-open")
        assert app.screen.focused is _view(app)
        await pilot.press("escape")
        assert app.screen is app.main


async def test_hostile_bytes_stay_escaped_under_the_highlight():
    async with _following(HOSTILE, (100, 30)) as (app, pilot, view):
        await _search(pilot, "slash", "\\x1b]52;c;")  # typed as the view shows the byte
        assert view.match is not None
        marked = []
        for y in range(len(view.lines)):
            view.cursor = y
            await pilot.pause()
            drawn = _drawn(view, y)
            text = "".join(t for t, _ in drawn)
            assert not any(c in text for c in "\x1b\x07\x9b\u202e")  # nothing acts on the terminal
            x = int(view.scroll_offset.x)
            assert text == view.row_text(y)[x : x + view.size.width].ljust(view.size.width)
            marked += [t for t, kind in drawn if kind]
        assert sum(len(view.spans(y)) for y in range(len(view.lines))) == 7
        assert len(marked) >= 6 and all(t in "\\x1b]52;c;" for t in marked)  # one is further right
        await pilot.press("g")
        await _search(pilot, "slash", "[bold red]")  # markup in the bytes stays text
        drawn = _drawn(view, view.cursor)
        assert ("[bold red]", "current") in drawn


async def test_hex_view_searches_bytes_and_x_keeps_the_match():
    async with _following(HOSTILE, (100, 30), "x") as (app, pilot, view):
        await _search(pilot, "slash", "0d0a0d0a")
        assert "0d 0a 0d 0a" in view.row_text(view.cursor)
        title = str(app.screen.query_one("#follow-title").render())
        assert "/0d0a0d0a (bytes): 2 matches" in title
        drawn = _drawn(view, view.cursor)
        assert ("0d 0a 0d 0a", "current") in drawn and ("....", "current") in drawn
        match = view.match
        await pilot.press("x")
        assert view.match == match and view.row_text(view.cursor).endswith("Connection: keep-alive")
        assert ("↵", "current") in _drawn(view, view.cursor)  # the line break that matched
        assert "/0d0a0d0a (bytes): 2 matches" in str(app.screen.query_one("#follow-title").render())


async def test_a_match_far_right_on_a_long_line_is_panned_into_view(tmp_path):
    body = b"x" * 300 + b"NEEDLE" + b"y" * 300
    path = tiny_capture(tmp_path / "long.pcap", b"GET /" + body + b" HTTP/1.1\r\nHost: x\r\n\r\n",
                        b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")  # fmt: skip
    async with _following(str(path)) as (app, pilot, view):
        await _search(pilot, "slash", "NEEDLE")
        assert view.cursor == 0 and view.scroll_offset.x > 0
        drawn = _drawn(view, 0)
        assert ("NEEDLE", "current") in drawn and sum(len(t) for t, _ in drawn) == view.size.width


async def test_a_big_stream_is_searched_to_its_end(tmp_path):
    body = b"".join(b"line %06d of the body\n" % i for i in range(40_000)) + b"THE END"
    head = b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(body)
    path = _segmented(tmp_path / "big.pcap", b"GET /big HTTP/1.1\r\nHost: x\r\n\r\n", head + body)
    async with _following(str(path)) as (app, pilot, view):
        await _search(pilot, "slash", "the end")
        assert view.cursor == len(view.lines) - 1 and view.row_text(view.cursor).endswith("THE END")
        await _search(pilot, "question_mark", "line 012345")
        assert view.row_text(view.cursor).endswith("line 012345 of the body")
        assert "?line 012345: 1 match " in str(app.screen.query_one("#follow-title").render())


def _segmented(path, req: bytes, resp: bytes):
    """A capture whose response comes in 1448-byte segments."""
    import dpkt
    from builders import CLIENT, SERVER, tcp_packet, write_pcap

    c, s, t = 1001, 5001, 0.002
    ack, psh = dpkt.tcp.TH_ACK, dpkt.tcp.TH_ACK | dpkt.tcp.TH_PUSH
    packets = [(0.0, tcp_packet(seq=1000, flags=dpkt.tcp.TH_SYN)),
               (0.001, tcp_packet(SERVER, CLIENT, 80, 40000, 5000, c, dpkt.tcp.TH_SYN | ack)),
               (t, tcp_packet(seq=c, ack=s, flags=psh, payload=req))]  # fmt: skip
    c += len(req)
    for at in range(0, len(resp), 1448):
        t += 0.0001
        packets.append((t, tcp_packet(SERVER, CLIENT, 80, 40000, s + at, c, ack, resp[at : at + 1448])))
    write_pcap(path, packets)
    return path
