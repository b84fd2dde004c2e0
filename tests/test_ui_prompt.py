"""Pilot tests of the filter prompt (/), the go-to prompt (:) and the filter keys."""

from __future__ import annotations

import pytest
from textual.geometry import Region
from ui_helpers import SAMPLES, settle

from katui.analysis.pipeline import analyze
from katui.ui.app import KatuiApp

SEED = str(SAMPLES / "httptest.pcap")


def _shown(app) -> list[int]:
    return [c.stream for c in app.main.shown]


async def test_filter_is_checked_as_you_type_and_shown_in_the_title():
    app = KatuiApp(SEED)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        search = app.main.query_one("#search")
        await pilot.press("slash", *"status:abc")
        assert search.has_class("-invalid") and "status wants a whole number" in search.border_subtitle
        await pilot.press("enter")  # not applied: the prompt stays with its error
        assert search.has_class("-open") and not app.main.filter.active
        await pilot.press(*["backspace"] * 10, *"req>=2 !tls")
        assert not search.has_class("-invalid")
        await pilot.press("enter")
        assert _shown(app) == [0] and not search.has_class("-open")
        assert "filter: req>=2 !tls" in app.main.query_one("#connections").border_title
        await pilot.press("x")
        assert _shown(app) == [0, 1] and not app.main.filter.active


async def test_filter_keys_toggle_words_of_the_same_filter():
    app = KatuiApp(SEED)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        await pilot.press("R")
        assert app.main.filter.text == "reused" and _shown(app) == [0]
        await pilot.press("S")
        assert app.main.filter.text == "reused closed:server"
        await pilot.press("R", "P")
        assert app.main.filter.text == "closed:server problem" and _shown(app) == []
        await pilot.press("p")
        search = app.main.query_one("#search")
        # 'port:' waits for its number: no error yet; Enter on it would say what is missing
        assert search.value.endswith("port:") and "-invalid" not in search.classes
        assert "✖" not in str(search.border_subtitle)
        await pilot.press("enter")
        assert "-invalid" in search.classes and "port" in str(search.border_subtitle)
        await pilot.press(*"8081", "enter")
        assert app.main.filter.text == "closed:server problem port:8081"


async def test_goto_a_frame_or_a_stream():
    app = KatuiApp(SEED)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        ladder = app.main.query_one("#ladder")
        await pilot.press("colon", *"20", "enter")
        assert app.main.conn.stream == 1 and ladder.frame == 20 and app.focused is ladder
        await pilot.press("colon", *"s0", "enter")
        assert app.main.conn.stream == 0
        await pilot.press("colon", *"999", "enter")
        assert app.main.conn.stream == 0  # no such frame: a warning, nothing moves
        await pilot.press("colon", *"abc")
        assert app.main.query_one("#search").has_class("-invalid")
        await pilot.press("escape")
        assert not app.main.query_one("#search").has_class("-open")


async def test_goto_clears_a_filter_that_hides_the_frame():
    app = KatuiApp(SEED)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        await pilot.press("R", "colon", *"stream:1", "enter")
        assert app.main.conn.stream == 1 and 1 in _shown(app)
        # The narrowed list is gone: the user is told, not left to wonder.
        said = [n.message for n in app._notifications]
        assert "Filter 'reused' cleared: it hid stream 1." in said


async def test_filter_typed_while_loading_is_applied_when_loaded():
    app = KatuiApp(SEED)
    app.load = lambda: None
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("slash", *"reused", "enter")
        app.main.analysis = analyze(SEED)
        await pilot.pause()
        assert _shown(app) == [0]


async def test_text_sent_with_the_slash_in_one_read_lands_in_the_prompt():
    """tmux send-keys and pastes deliver '/reason:sta' at once: no key may reach the list."""
    from textual import events

    app = KatuiApp(str(SAMPLES / "stale-reuse.pcap"))
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        names = {"/": "slash", ":": "colon", " ": "space"}
        for ch in "/reason:sta se":  # 'e' would export, 's' toggle seq/ack, if they leaked
            app.post_message(events.Key(names.get(ch, ch), ch))
        await pilot.pause()
        await pilot.pause()
        assert app.main.query_one("#search").value == "reason:sta se"
        assert type(app.screen).__name__ == "MainScreen" and not app.main.query_one("#ladder").seqack
        await pilot.press("backspace", "backspace", "backspace", "enter")
        for ch in ":20":
            app.post_message(events.Key(names.get(ch, ch), ch))
        await pilot.pause()
        assert app.main.query_one("#search").value == "20"


async def test_what_the_user_typed_is_shown_as_typed_not_as_markup():
    """A filter error quotes the typed value, and the list's title shows the filter: brackets
    in them are text (Textual reads a plain string title as markup: '[b]' would vanish)."""

    def drawn(widget) -> str:
        return "\n".join(s.text for s in widget.render_lines(Region(0, 0, *widget.outer_size)))

    app = KatuiApp(SEED)
    async with app.run_test(size=(100, 24)) as pilot:
        await settle(app, pilot)
        search = app.main.query_one("#search")
        await pilot.press("slash", *"status:[b]")
        await pilot.pause()
        assert "(got '[b]')" in drawn(search)
        await pilot.press(*["backspace"] * 10, *"[red]x", "enter")
        await pilot.pause()
        assert "filter: [red]x" in drawn(app.main.query_one("#connections"))


async def test_notifications_are_plain_text():
    """A notification quoting what was typed ('Pattern not found: [/b]', a file name in an
    export message) is shown as typed: Textual reads a notification as markup by default, where
    '[b]' vanishes and '[/b]' is an error."""
    app = KatuiApp(SEED)
    async with app.run_test(size=(100, 24)) as pilot:
        await settle(app, pilot)
        app.main.notify("Pattern not found: [/b] and [b]x")
        await pilot.pause()
        (toast,) = list(app._notifications)
        assert toast.message == "Pattern not found: [/b] and [b]x" and toast.markup is False


@pytest.mark.parametrize(
    ("keys", "expected"),
    [
        ([":", "1", "2", "backspace", "5"], "15"),
        (["/", "a", "b", "backspace", "c", "d"], "acd"),
        (["/", "a", "b", "ctrl+u", "t", "l", "s"], "tls"),
        (["/", "a", "b", "left", "x"], "axb"),
    ],
)
async def test_editing_keys_in_one_burst_act_in_the_order_typed(keys, expected):
    """A burst (tmux send-keys, an ssh link) of text and editing keys: each edits what was
    typed before it. Left to Textual, an Input's own bindings ran only after the keys queued
    behind them had been typed in ('1 2 BSpace 5' gave '12')."""
    from textual import events

    app = KatuiApp(SEED)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        names = {"/": "slash", ":": "colon"}
        for key in keys:
            char = key if len(key) == 1 else {"backspace": "\x7f", "ctrl+u": "\x15"}.get(key)
            app.post_message(events.Key(names.get(key, key), char))
        await pilot.pause()
        await pilot.pause()
        assert app.main.query_one("#search").value == expected
