"""CSV and Mermaid exports: the report renderers, the CLI, and the TUI's c key and progress."""

from __future__ import annotations

import asyncio
import csv
import io
import threading

import pytest
from conftest import SAMPLES, analysed, capture_path
from ui_helpers import hostile_capture, settle

from katui.cli import main
from katui.report import csvout, markdown
from katui.report.mermaid import MAX_MESSAGES, mermaid_text, sequence_diagram
from katui.ui.app import KatuiApp

SEED = str(SAMPLES / "httptest.pcap")


def _rows(text: str) -> list[dict]:
    return list(csv.DictReader(io.StringIO(text)))


def test_csv_of_connections_has_one_row_each_with_plain_seconds():
    rows = _rows(csvout.render(analysed(SEED)))
    assert [r["stream"] for r in rows] == ["0", "1"]
    assert rows[0]["requests"] == "2" and rows[0]["reused"] == "yes"
    assert rows[0]["idle_before_close_s"] == "5.005117" and rows[0]["reason"] == "idle-timeout"
    assert rows[1]["start_s"] == "8.003420"


def test_csv_of_requests_and_the_cli_agree(capsys):
    a = analysed(str(SAMPLES / "pipelining.pcap"))
    rows = _rows(csvout.render_requests(a))
    assert [(r["n"], r["uri"], r["pipelined"]) for r in rows] == [
        ("1", "/a", "no"), ("2", "/b", "yes"), ("3", "/c", "yes"), ("4", "/d", "no")]  # fmt: skip
    assert main(["report", str(SAMPLES / "pipelining.pcap"), "--format", "csv-requests"]) == 0
    assert capsys.readouterr().out == csvout.render_requests(a)
    assert main(["report", SEED, "--format", "csv", "--stream", "1"]) == 0
    assert capsys.readouterr().out == csvout.render(analysed(SEED), [1])


def test_csv_of_an_unfinished_request_gives_the_frame_it_began_in():
    # nginx timed out a request head that never ended (frame 4): no end frame, its first frame
    # as the JSON's request_first_frame (the text report writes '4…')
    (row,) = _rows(csvout.render_requests(analysed(str(SAMPLES / "real" / "nginx-partial-head.pcap"))))
    assert (row["request_frame"], row["request_first_frame"], row["uri"]) == ("", "4", "/slow")
    (done,) = _rows(csvout.render_requests(analysed(str(SAMPLES / "real" / "nginx-414-early.pcap"))))
    assert (done["request_frame"], done["request_first_frame"]) == ("10", "4")


def test_csv_streams_in_pieces_of_whole_rows(monkeypatch):
    """The CSV is made batch by batch (flat memory on a load test): each piece ends on a row
    boundary, a cancel from the progress callback stops it, and the pieces are the rows."""
    a = analysed(str(SAMPLES / "pipelining.pcap"))
    monkeypatch.setattr(csvout, "BATCH", 2)
    pieces = list(csvout.request_chunks(a))
    assert [len(_rows(REQUEST_HEAD + p)) if i else len(_rows(p)) for i, p in enumerate(pieces)] == [2, 2]
    assert all(p.endswith("\n") for p in pieces)
    seen = []
    conns = list(csvout.chunks(a, [0, 0, 0], progress=lambda done, total: seen.append((done, total))))
    assert len(conns) == 2 and seen == [(0, 3), (2, 3)]

    def cancel(done, total):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        list(csvout.chunks(a, progress=cancel))


REQUEST_HEAD = ",".join(csvout.REQUEST_COLUMNS) + "\n"


def test_csv_cells_are_never_formulas_or_control_characters(tmp_path):
    a = analysed(str(hostile_capture(tmp_path / "evil.pcap", b"=HYPERLINK(\x1b[2J)")))
    text = csvout.render_requests(a)
    assert "'=HYPERLINK(\\x1b[2J)" in text and "\x1b" not in text
    assert csvout.cell("-2+3") == "'-2+3" and csvout.cell(None) == "" and csvout.cell(5) == "5"


def test_markdown_has_a_mermaid_diagram_with_gaps_and_resets():
    a = analysed(str(SAMPLES / "stale-reuse.pcap"))
    md = markdown.render(a, [0])
    block = md.split("```mermaid\n", 1)[1].split("```", 1)[0]
    lines = block.splitlines()
    assert lines[0] == "sequenceDiagram"
    assert "participant C as client 127.0.0.1:58516" in lines[1]
    assert "    S-xC: RST (frame 11)" in lines
    assert any(x.startswith("    Note over C,S: 1.001 s idle") for x in lines)
    assert any("Note over C,S: ✖ PROBLEM stale reuse" in x for x in lines)
    assert any(x.startswith("    C->>S: PSH,ACK 72: GET /first") for x in lines)
    assert not any(x.strip().startswith(("C->>S: ACK ", "S-->>C: ACK ")) for x in lines)


def test_mermaid_text_cannot_break_the_diagram(tmp_path):
    assert mermaid_text("a;b #c `d` <e>") == "a#59;b #35;c #96;d#96; #60;e#62;"
    a = analysed(str(hostile_capture(tmp_path / "evil.pcap", b"/x;y#z%%`")))
    lines = sequence_diagram(a, a.connections[0])
    get = next(x for x in lines if "GET" in x)
    assert "/x#59;y#35;z#37;#37;#96;" in get


def test_huge_ladders_get_no_diagram():
    a = analysed(str(capture_path("zeek__http_1000-requests-one-dropped-response.pcap")))
    assert sequence_diagram(a, a.connections[0]) == []
    assert MAX_MESSAGES < 2000


async def test_c_exports_the_list_as_shown_or_its_requests(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    app = KatuiApp(SEED)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        await pilot.press("O", "c", "enter")
        await pilot.pause()
        a = app.main.analysis
        assert (tmp_path / "httptest-katui-connections.csv").read_text() == csvout.render(a, [1, 0])
        await pilot.press("c", "down", "enter")
        await pilot.pause()
        assert (tmp_path / "httptest-katui-requests.csv").read_text() == csvout.render_requests(a, [1, 0])


async def test_big_exports_show_progress_and_esc_cancels(tmp_path, monkeypatch):
    import katui.ui.exporting as exporting

    started = threading.Event()

    def slow(analysis, streams, threshold, progress):
        progress(0, 2)
        started.set()
        app.main._cancel.wait(5)
        progress(1, 2)  # raises: cancelled
        return "never written"

    monkeypatch.setattr(exporting, "SYNC_EXPORT_LIMIT", 0)
    monkeypatch.setattr(exporting, "render_markdown", slow)
    monkeypatch.chdir(tmp_path)
    app = KatuiApp(SEED)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        await pilot.press("e", "down", "enter")
        assert await asyncio.to_thread(started.wait, 5)
        await pilot.pause()
        line = app.main.query_one("#export-progress")
        assert line.has_class("-open") and "0 of 2 connections rendered · Esc cancels" in str(line.content)
        await pilot.press("escape")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert not line.has_class("-open")
        assert any("cancelled" in n.message for n in app._notifications)
        assert app.focused is app.main.query_one("#connections")  # Esc cancelled, moved nothing
    assert not list(tmp_path.iterdir())
