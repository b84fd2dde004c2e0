"""Wall-clock time: the capture's start in every output, and the clock time modes."""

from __future__ import annotations

import json

from katui.report import jsonout, markdown, text
from katui.report.ladder_text import ladder_lines
from katui.units import fmt_clock, fmt_iso, fmt_start
from tests.conftest import SAMPLES, analysed

SEED = str(SAMPLES / "httptest.pcap")
NS = 1_714_564_987_123_456_789


def test_formats_keep_the_sub_second_part():
    assert fmt_clock(NS, utc=True) == "12:03:07.123"
    assert fmt_iso(NS) == "2024-05-01T12:03:07.123456+00:00"
    assert fmt_start(NS) == "2024-05-01 12:03:07 +00:00"  # TZ=UTC in conftest


def test_iso_times_split_in_c_and_with_python_ints_are_the_datetime_text():
    # fmt_iso splits times from 0 to 2**62 ns in C and keeps its last second: around both
    # edges, and asked again for a second just used, each text is the datetime module's
    # (floored to the microsecond).
    from datetime import UTC, datetime, timedelta

    epoch = datetime(1970, 1, 1, tzinfo=UTC)
    for ns in (0, 999, 1_000_000_000 - 1, NS, NS + 1, -1, -1_000_000_005, 2**62 - 1, 2**62, 2**62 + 999):
        secs, rest = divmod(ns, 1_000_000_000)
        want = (epoch + timedelta(seconds=secs, microseconds=rest // 1000)).isoformat(timespec="microseconds")
        for utc in (True, False, True):  # (TZ=UTC in conftest: local time is UTC)
            assert fmt_iso(ns, utc) == want, (ns, utc)


def test_json_has_start_time_at_the_top_and_per_connection():
    a = analysed(SEED)
    d = json.loads(jsonout.render(a))
    assert d["start_time"] == round(a.first_ns / 1e9, 6)
    for c, jc in zip(a.connections, d["connections"], strict=True):
        assert jc["start_time"] == round(c.start_ns / 1e9, 6)
        assert jc["start_time"] >= d["start_time"]
    assert d["schema"] == 4


def test_text_and_markdown_say_the_start_in_iso():
    a = analysed(SEED)
    iso = fmt_iso(a.first_ns)
    assert f"start:               {iso}" in text.render(a)
    md = markdown.render(a)
    assert iso in md
    assert f"started {fmt_iso(a.connections[1].start_ns)}" in md


def test_ladder_in_utc_shows_the_time_of_day_aligned_with_its_heading():
    a = analysed(SEED)
    c = a.connections[0]
    lines = ladder_lines(a, c, time_mode="utc")
    first = next(line for line in lines[1:] if "│" in line)
    assert fmt_clock(a.table.ts[c.first_frame - 1], utc=True) in first
    assert lines[0].index("client") == first.index("│")  # as in the seconds modes


def test_iso_times_made_from_the_cached_second_are_datetimes_isoformat(monkeypatch):
    # fmt_iso pastes the microseconds into the cached text of the second: the same text as
    # datetime.isoformat, in UTC and in zones with odd offsets and summer time.
    import random
    import time
    from datetime import UTC, datetime

    from katui import units

    r = random.Random(7)
    values = [0, 999, 10**9 - 1, -1, -(10**9) - 1, NS, 253_402_200_000 * 10**9 + 999_999_999]
    values += [r.randrange(-(10**18), 4 * 10**18) for _ in range(3000)]
    for zone in ("UTC", "Asia/Kolkata", "America/St_Johns", "Europe/Berlin"):
        monkeypatch.setenv("TZ", zone)
        time.tzset()
        units._second.cache_clear()
        units._iso_second.cache_clear()
        for ns in values:
            for utc in (True, False):
                when = datetime.fromtimestamp(ns // 10**9, UTC)
                when = (when if utc else when.astimezone()).replace(microsecond=ns % 10**9 // 1000)
                assert fmt_iso(ns, utc) == when.isoformat(timespec="microseconds"), (zone, ns, utc)
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    units._second.cache_clear()
    units._iso_second.cache_clear()
