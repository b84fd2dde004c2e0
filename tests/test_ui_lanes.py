"""The ladder's backend lane (a proxy's front connection: client | proxy | backend) and lanes
that widen with the pane.

The capture is samples/real/proxy-nginx-race.pcap (nginx on [::1]:9444 in front of Node on
127.0.0.1:9443, both legs via tcpdump -i any; see samples/real/proxy.md): nginx's log has the
GET /api/race-get answered 200 after an upstream retry and the POST /api/race-post answered 502.
Which frame is in which stream comes from Wireshark (tests/expected/*.json, ``tshark -2``).
"""

from __future__ import annotations

import json

from ui_helpers import SAMPLES, settle

from katui.analysis.pipeline import analyze
from katui.report.ladder import ARROW_WIDTH, Backend, Note, ladder_rows, row_frame
from katui.report.ladder_text import MIN_LANE
from katui.report.lanes import upstream_streams, with_backend
from katui.report.markdown import render as markdown
from katui.report.text import render as render_text
from katui.ui.app import KatuiApp

RACE = SAMPLES / "real" / "proxy-nginx-race.pcap"
EXPECTED = SAMPLES.parent / "tests" / "expected" / "proxy-nginx-race.pcap.json"


def _tshark_streams() -> dict[int, int]:
    """frame -> tcp.stream as tshark numbers them."""
    return {int(k): v for k, v in json.loads(EXPECTED.read_text())["stream_of_frame"].items()}


def test_backend_lane_interleaves_every_upstream_frame_in_capture_order():
    a = analyze(str(RACE))
    front = a.connections[0]
    ups = upstream_streams(a, front)
    assert ups == (1, 2, 3)  # nginx opened three upstream connections for this client
    rows = with_backend(a, front, ladder_rows(a, front))
    drawn = [(row_frame(r), r.stream if isinstance(r, Backend) else front.stream)
             for r in rows if not isinstance(r, Note)]  # fmt: skip
    frames = [f for f, _ in drawn]
    assert frames == sorted(frames)  # capture order, which is time order here
    stream_of = _tshark_streams()
    # Every frame tshark puts in the front stream or a linked upstream stream while the front
    # connection was open, each in its own lane; the upstream close after it (63-65) is not.
    first, last = front.frames[0], front.frames[-1]
    want = [(f, s) for f, s in sorted(stream_of.items()) if first <= f <= last and s in (0, *ups)]
    assert drawn == want
    assert all(stream_of[f] in ups for f, s in drawn if s != 0)


def test_a_gap_the_backend_lane_fills_is_quiet_on_the_front_only():
    """The front connection's gaps while nginx was paused hold backend frames: the gap row says
    the silence was the front connection's, not that nothing happened; and since the front's
    requests were waiting then, that it was a wait for the response (not idle)."""
    a = analyze(str(RACE))
    front = a.connections[0]
    rows = with_backend(a, front, ladder_rows(a, front))
    gaps = [(i, r) for i, r in enumerate(rows) if isinstance(r, Note) and r.kind == "gap"]
    filled = [
        r for i, r in gaps if isinstance(next(x for x in rows[i + 1 :] if not isinstance(x, Note)), Backend)
    ]
    assert filled and all(
        r.waiting
        and r.text.endswith("waits for its response on the front connection, while the proxy works upstream")
        for r in filled
    )
    assert not any(r.text.endswith("no traffic") for _, r in gaps)


def test_backend_lane_says_what_each_upstream_race_did_to_the_client():
    a = analyze(str(RACE))
    front = a.connections[0]
    rows = with_backend(a, front, ladder_rows(a, front))
    notes = {r.frame: r for r in rows if isinstance(r, Note) and "upstream keep-alive race" in r.text}
    # The GET raced on upstream stream 1 (request frame 19) and was retried on stream 2: the
    # client got 200. The POST raced on stream 2 (frame 45) and came back as a 502 (frame 47).
    assert set(notes) == {19, 45}
    assert "retries on stream 2" in notes[19].text and not notes[19].problem
    assert "502 (frame 47)" in notes[45].text and notes[45].problem
    # The race row comes right before the raced request, the 502 after the backend's RST.
    order = [row_frame(r) if not isinstance(r, Note) else ("note", r.frame) for r in rows]
    at = order.index(("note", 45))
    assert order[at + 1 : at + 4] == [45, 46, 47]


def test_a_connection_that_is_not_a_front_leg_keeps_two_lanes():
    a = analyze(str(RACE))
    for conn in a.connections[1:]:  # the upstream legs
        rows = ladder_rows(a, conn)
        assert with_backend(a, conn, rows) is rows
    seed = analyze(str(SAMPLES / "httptest.pcap"))
    assert not upstream_streams(seed, seed.connections[0])


def test_reports_draw_the_backend_participant():
    a = analyze(str(RACE))
    text = markdown(a, [0])
    assert "participant B as backend 127.0.0.1:9443 (streams 1, 2, 3)" in text
    assert "participant S as proxy [::1]:9444" in text
    assert "S->>B: PSH,ACK 143: s2: POST /race-post" in text and "B-xS: RST (frame 46)" in text
    lines = render_text(a, [0], ladder=True).splitlines()
    head = next(x for x in lines if x.lstrip().startswith("frame ") and "time" in x)
    assert "proxy [::1]:9444" in head and "backend 127.0.0.1:9443 (streams 1, 2, 3)" in head
    rst = next(x for x in lines if x.lstrip().startswith("46 "))
    bars = [i for i, ch in enumerate(rst) if ch == "│"]
    assert len(bars) == 3 and "RST" in rst[bars[1] : bars[2]]
    # An upstream connection's own ladder keeps its two lanes.
    up = render_text(a, [2], ladder=True).splitlines()
    head = next(x for x in up if x.lstrip().startswith("frame ") and "time" in x)
    assert head.split() == ["frame", "time", "client", "127.0.0.1:49036", "server", "127.0.0.1:9443"]


def _frame_row(ladder, frame: int) -> str:
    return ladder.row_text(ladder.row_of(frame))


async def test_backend_lane_at_80x24_toggles_and_follows_the_cursor():
    app = KatuiApp(str(RACE))
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        ladder = app.main.query_one("#ladder")
        assert app.main.conn.stream == 0 and ladder.lanes == 3
        assert ladder.lane >= MIN_LANE and 20 + 3 * (ladder.lane + 1) <= 78  # lanes fit
        head = str(app.main.query_one("#ladder-head").content)
        assert "proxy [::1]:9444" in head and "backend 127.0.0.1:9443" in head  # IPv6 | IPv4
        assert "with backend lane (b hides)" in app.main.query_one("#ladder-box").border_title
        # A front frame in the first lane, an upstream frame in the second: the three lane
        # lines are at the same columns on both rows.
        front, up = _frame_row(ladder, 47), _frame_row(ladder, 46)
        bars = [i for i, ch in enumerate(front) if ch == "│"]
        assert len(bars) == 3 and [i for i, ch in enumerate(up) if ch == "│"] == bars
        assert "502 Bad Gateway" in front and "◀" in front[bars[0] : bars[1]]
        assert "RST" in up[bars[1] : bars[2]] and "✖ reset" in up
        # The detail pane describes an upstream frame from its own connection.
        ladder.cursor = ladder.row_of(45)
        await pilot.pause()
        assert "127.0.0.1:49036 → 127.0.0.1:9443" in app.main.query_one("#detail").text  # stream 2
        await pilot.press("b")
        await pilot.pause()
        assert ladder.lanes == 2 and not any(isinstance(r, Backend) for r in ladder.rows)
        assert ladder.frame == 47  # the next front frame after the upstream one
        assert "backend lane hidden (b shows)" in app.main.query_one("#ladder-box").border_title
        await pilot.press("b")
        await pilot.pause()
        assert ladder.lanes == 3 and ladder.frame == 47


async def test_J_on_an_upstream_frame_opens_its_connection():
    app = KatuiApp(str(RACE))
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(app, pilot)
        ladder = app.main.query_one("#ladder")
        app.main.set_focus(ladder)
        ladder.cursor = ladder.row_of(45)
        await pilot.pause()
        await pilot.press("J")
        await pilot.pause()
        assert app.main.conn.stream == 2 and ladder.frame == 45 and ladder.lanes == 2


async def test_lanes_widen_with_the_terminal():
    widths = {}
    for size in ((80, 24), (180, 50)):
        app = KatuiApp(str(SAMPLES / "httptest.pcap"))
        async with app.run_test(size=size) as pilot:
            await settle(app, pilot)
            ladder = app.main.query_one("#ladder")
            widths[size] = ladder.lane
            row = _frame_row(ladder, 8)
            # The label still shows whole after the wider lanes.
            assert "GET /httptest  ↻ reused" in row and len(row) <= ladder.size.width
            head = str(app.main.query_one("#ladder-head").content)
            assert head.index("server") == 6 + 1 + 11 + 1 + ladder.lane + 1  # over its lane line
    assert widths[(80, 24)] == ARROW_WIDTH and widths[(180, 50)] > ARROW_WIDTH


async def test_a_note_the_ladder_cuts_is_shown_whole_in_the_detail_pane():
    app = KatuiApp(str(RACE))
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        ladder = app.main.query_one("#ladder")
        race = next(y for y, r in enumerate(ladder.rows) if isinstance(r, Note) and "POST" in r.text)
        assert len(ladder.row_text(race)) > ladder.size.width  # cut at 80 columns
        ladder.cursor = race
        await pilot.pause()
        detail = app.main.query_one("#detail").text
        assert detail.startswith(ladder.rows[race].text) and "the client gets 502 (frame 47)" in detail
        ladder.cursor = 0  # the handshake heading fits: the detail is the connection's alone
        await pilot.pause()
        assert app.main.query_one("#detail").text.startswith("stream 0")


async def test_F_on_an_upstream_frame_follows_the_upstream_connection():
    from katui.ui.follow import FollowScreen, FollowView

    app = KatuiApp(str(RACE))
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(app, pilot)
        ladder = app.main.query_one("#ladder")
        ladder.cursor = ladder.row_of(45)  # the raced POST on upstream stream 2
        await pilot.pause()
        await pilot.press("F")
        await pilot.pause()
        assert isinstance(app.screen, FollowScreen) and app.screen.conn.stream == 2
        view = app.screen.query_one(FollowView)
        assert view.frame == 45 and "C→ POST /race-post" in view.row_text(view.cursor)
