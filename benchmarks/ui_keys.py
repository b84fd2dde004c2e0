"""Per-key work in the TUI's timeline on a big capture, measured in process.

    python benchmarks/ui_keys.py [CAPTURE] [--size 180x50]

Opens the capture in a headless app (Textual's ``run_test``), waits for it to load, opens the
timeline (T) and times each key: the press, its handlers and the refresh of every row on screen
(cold row cache: each key below moves the window or the rows). Wall-clock on a shared machine:
read the numbers as an order of magnitude, not a benchmark of record. Pilot's press and pause
cost ~85 ms a key by themselves (run it on samples/httptest.pcap for that baseline): the work
a key costs on a big capture is the difference, and the drawing share is printed apart. Not a
test (no timing asserts in the suite).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
KEYS = ["j", "pagedown", "pagedown", "G", "g", "plus", "plus", "minus", "right", "left",
        "greater_than_sign", "full_stop", "0", "j", "k"]  # fmt: skip


def draw(view) -> None:
    """Every line on screen, as the compositor asks for them after a refresh (``render_line``
    caches rows by window, so a key that moves the window or the rows draws them anew)."""
    for y in range(view.size.height):
        view.render_line(y)


async def measure(path: str, size: tuple[int, int]) -> None:
    """Print the milliseconds of opening the timeline and of each key in it."""
    from katui.ui.app import KatuiApp
    from katui.ui.timeline import TimelineView

    app = KatuiApp(path)
    t0 = time.perf_counter()
    async with app.run_test(size=size) as pilot:
        await app.workers.wait_for_complete()
        await pilot.pause()
        print(f"loaded in {time.perf_counter() - t0:.1f} s: {len(app.analysis.connections)} connections")
        t = time.perf_counter()
        await pilot.press("T")
        await pilot.pause()
        view = app.screen.query_one(TimelineView)
        draw(view)
        print(f"T (open the timeline, first rows drawn): {1000 * (time.perf_counter() - t):.1f} ms")
        took, drawn = [], []
        for key in KEYS:
            t = time.perf_counter()
            await pilot.press(key)
            await pilot.pause()
            draw(view)
            took.append(1000 * (time.perf_counter() - t))
            view._strips.clear()  # the rows on screen drawn again from nothing: the rendering's share
            t = time.perf_counter()
            draw(view)
            drawn.append(1000 * (time.perf_counter() - t))
            print(f"  {key:>18}: {took[-1]:6.1f} ms (drawing every row anew: {drawn[-1]:5.1f} ms)")
        print(f"per key: median {statistics.median(took):.1f} ms, max {max(took):.1f} ms")
        print(f"drawing the screen: median {statistics.median(drawn):.1f} ms, max {max(drawn):.1f} ms")


def main() -> None:
    """Parse the arguments and measure."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("capture", nargs="?", default=str(HERE / ".cache" / "capture-1000000-seed1.pcap"))
    parser.add_argument("--size", default="180x50")
    args = parser.parse_args()
    w, h = (int(x) for x in args.size.split("x"))
    asyncio.run(measure(args.capture, (w, h)))


if __name__ == "__main__":
    main()
