"""How soon the TUI lists a big capture's connections: first rows, then the whole list.

    python benchmarks/ui_load.py CAPTURE [--size 100x30] [--t0 EPOCH_SECONDS]

Runs the app headless in this process (Textual's ``run_test``) and polls the connection list
every 5 ms: ``first_rows_s`` is when it first holds a row (the previews the reading loop sends),
``loaded_s`` when the analysis is done and the full list is in the table. Both count from
``--t0`` (run.py passes the time it started this process, so Python's start-up and katui's
imports are included, as a user waits for them) or else from this script's first line. Prints
one JSON line. Not a test (no timing asserts in the suite); run.py's ``ui`` item runs it.
"""

from __future__ import annotations

import time

T_SCRIPT = time.time()

import argparse  # noqa: E402 - the clock starts before the imports
import asyncio  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import sys  # noqa: E402

# The checkout this script is in, not the katui installed (an editable install points at
# another worktree: run.py --compare and a branch's own runs measured that one's TUI).
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

POLL_S = 0.005


async def measure(path: str, size: tuple[int, int], t0: float, timeout: float) -> dict:
    """Open ``path`` and time the first listed row and the loaded list."""
    from katui.ui.app import KatuiApp
    from katui.ui.connections import ConnectionTable

    app = KatuiApp(path)
    first = loaded = None
    async with app.run_test(size=size) as pilot:
        table = app.main.query_one("#connections", ConnectionTable)
        while time.time() - t0 < timeout:
            if first is None and table.row_total:
                first = time.time() - t0
            if app.main.has_class("-loaded") or app.main.has_class("-failed"):
                await pilot.pause()  # the filled list drawn once
                loaded = time.time() - t0
                if first is None:
                    first = loaded
                break
            await asyncio.sleep(POLL_S)
        a = app.analysis
        return {
            "first_rows_s": first,
            "loaded_s": loaded,
            "rows": table.row_total,
            "connections": len(a.connections) if a is not None else None,
            "failed": app.main.has_class("-failed"),
        }


def main() -> None:
    """Parse the arguments, measure, print one JSON line."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("capture")
    ap.add_argument("--size", default="100x30")
    ap.add_argument("--t0", type=float, default=T_SCRIPT, help="start of the clock (epoch seconds)")
    ap.add_argument("--timeout", type=float, default=600)
    a = ap.parse_args()
    w, h = (int(x) for x in a.size.split("x"))
    print(json.dumps(asyncio.run(measure(a.capture, (w, h), a.t0, a.timeout))))
    sys.stdout.flush()


if __name__ == "__main__":
    main()
