"""The request list: every request in one line, its keys, and Enter into the ladder."""

from __future__ import annotations

from ui_helpers import SAMPLES, settle

from katui.analysis import requests as rq
from katui.analysis.query import parse
from katui.ui.app import KatuiApp
from katui.ui.requests import RequestsScreen, RequestTable
from tests.conftest import analysed

STALE = str(SAMPLES / "stale-reuse.pcap")
SEED = str(SAMPLES / "httptest.pcap")


def test_all_requests_in_time_order_with_the_verdict_on_the_request_it_is_about():
    a = analysed(STALE)
    rows = rq.all_requests(a)
    assert [(c.stream, e.n) for c, e in rows] == [(0, 1), (0, 2), (1, 1)]
    assert [rq.verdict(c, e) for c, e in rows] == ["", "✖ stale-reuse", ""]
    cells = rq.request_cells(a, *rows[1], "t")
    assert cells[3:7] == ("GET", "-", "/second", "✖ stale-reuse") and cells[8] == "↻"


def test_the_filter_reads_request_words_per_request_and_the_rest_per_connection():
    rows = rq.all_requests(analysed(STALE))

    def streams(text):
        return [(c.stream, e.n) for c, e in rq.select(rows, parse(text))]

    assert streams("reused") == [(0, 2)]
    assert streams("!reused") == [(0, 1), (1, 1)]
    assert streams("status:2xx") == [(0, 1), (1, 1)]
    assert streams("problem") == [(0, 2)]
    assert streams("uri:/second stream:0") == [(0, 2)]
    assert streams("idle>1s") == [(0, 2)]
    assert streams("reason:stale") == [(0, 1), (0, 2)]  # a connection word: all its requests
    assert [(c.stream, e.n) for c, e in rq.select(rows, parse(""), "stream", True)] == [
        (1, 1),
        (0, 2),
        (0, 1),
    ]


def test_a_gateway_error_response_is_a_problem_request():
    # nginx-5xx.pcap: stream 0's requests 2 and 3 got 503 and 502 (the findings' two problems).
    a = analysed(str(SAMPLES / "real" / "nginx-5xx.pcap"))
    rows = rq.all_requests(a)
    problems = rq.select(rows, parse("problem"))
    assert [(c.stream, e.n, e.response.status) for c, e in problems] == [(0, 2, 503), (0, 3, 502)]
    assert [e.n for c, e in rows if e.gateway_error] == [2, 3]
    assert a.connections[0].is_problem


async def test_r_lists_requests_and_enter_opens_the_ladder_at_one():
    app = KatuiApp(STALE)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        await pilot.press("r")
        await settle(app, pilot)
        assert isinstance(app.screen, RequestsScreen)
        table = app.screen.query_one(RequestTable)
        assert table.row_total == 3
        await pilot.press("j")
        assert "/second" in table.row_text(table.cursor) and "stale-reuse" in table.row_text(1)
        await pilot.press("enter")
        assert app.screen is app.main and app.main.conn.stream == 0
        ladder = app.main.query_one("#ladder")
        assert app.main.focused is ladder
        assert ladder.frame == app.analysis.connections[0].exchanges[1].request.first_frame


async def test_request_list_keys():
    app = KatuiApp(STALE)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        await pilot.press("r")
        await settle(app, pilot)
        screen = app.screen
        table = screen.query_one(RequestTable)
        await pilot.press("G")
        assert table.cursor == 2
        await pilot.press("g", "k")
        assert table.cursor == 0
        await pilot.press("pagedown")
        assert table.cursor == 2
        await pilot.press("o")
        await settle(app, pilot)
        assert screen.sort == "stream"
        assert [table.rows[i][0].stream for i in range(3)] == [0, 0, 1]
        await pilot.press("O")
        await settle(app, pilot)
        assert screen.reverse and table.rows[0][0].stream == 1
        await pilot.press("t")
        assert table.time_mode == "local" and ":" in table.row_text(0).split()[0]
        await pilot.press("t", "t")
        assert table.time_mode == "rel"
        await pilot.press("slash", *"status:", "escape")  # Esc closes the prompt, keeps the list
        assert app.screen is screen and not screen.filter.active
        await pilot.press("slash", *"reused", "enter")
        await settle(app, pilot)
        assert screen.filter.text == "reused" and table.row_total == 1
        assert screen.focused is table
        await pilot.press("x")
        await settle(app, pilot)
        assert table.row_total == 3
        await pilot.press("right")
        assert table.scroll_x > 0
        await pilot.press("left")
        assert table.scroll_x == 0
        await pilot.press("q")
        assert app.screen is app.main


async def test_h_and_escape_leave_the_list_and_l_opens():
    app = KatuiApp(SEED)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        for key in ("h", "escape"):
            await pilot.press("r")
            await settle(app, pilot)
            assert isinstance(app.screen, RequestsScreen)
            await pilot.press(key)
            assert app.screen is app.main
        await pilot.press("r")
        await settle(app, pilot)
        await pilot.press("G", "l")
        assert app.main.conn.stream == 1


async def test_an_invalid_request_filter_stays_in_the_prompt_with_its_error():
    app = KatuiApp(SEED)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        await pilot.press("r")
        await settle(app, pilot)
        await pilot.press("slash", *"idle:4s", "enter")
        screen = app.screen
        search = screen.query_one("#requests-search")
        assert search.has_class("-bad") and screen.focused is search
        assert "idle wants a comparison" in str(screen.query_one("#requests-title").render())


async def test_a_filter_typed_in_one_burst_after_slash_lands_in_the_prompt():
    """'/uri:/second⏎' in one read (tmux, ssh): the filter gets it all, its own '/' included."""
    from textual import events

    app = KatuiApp(STALE)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        await pilot.press("r")
        await settle(app, pilot)
        names = {"/": "slash", ":": "colon", "\r": "enter"}
        for char in "/uri:/second\r":
            app.post_message(events.Key(names.get(char, char), char))
        await pilot.pause()
        await settle(app, pilot)
        assert app.screen.filter.text == "uri:/second"
        assert len(app.screen.query_one(RequestTable).rows) == 2


async def test_the_selected_requests_whole_target_is_shown_under_the_list():
    # The list cuts a long URI with '…' and panning shows the other columns: the line under the
    # list has the whole target (escaped, folded over up to three lines) of the selected one.
    app = KatuiApp(STALE)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        await pilot.press("r")
        await settle(app, pilot)
        shown = app.screen.query_one("#requests-uri")
        assert str(shown.content).startswith("GET /first")
        await pilot.press("j")
        await pilot.pause()
        assert str(shown.content).startswith("GET /second")
    app = KatuiApp(str(SAMPLES / "hostile.pcap"))
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        await pilot.press("r")
        await settle(app, pilot)
        text = str(app.screen.query_one("#requests-uri").content)
        assert text.startswith("GET /\\x1b[2J") and "\x1b" not in text and "[/bold%20red]" in text
