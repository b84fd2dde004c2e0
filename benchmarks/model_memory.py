"""What an analysed capture's connections hold in memory, by kind of object.

    cd WORKTREE && PYTHONPATH=$PWD python benchmarks/model_memory.py CAPTURE [--frames]

Walks every :class:`katui.model.Connection` and what it refers to (its Close, exchanges,
strings, tuples, numbers) through ``gc.get_referents``, so a compiled class's C fields count in
its own size and not as int objects; each object is counted once (shared strings once in all).
The message store and the frame table are left out (columns, measured by their own size).
Prints bytes per kind as ``holder > kind``, per connection, and the total.
"""

from __future__ import annotations

import argparse
import gc
import sys
from collections import Counter

from katui.analysis.pipeline import analyze

MODEL = ("Connection", "Close", "Exchange", "ExchangeRun")
NOT_WALKED = ("HttpMessage", "MessageStore", "TlsInfo", "Http2Info", "type", "NoneType", "bool")


def breakdown(conns: list) -> tuple[Counter[str], Counter[str]]:
    """(bytes, objects) by ``holder > kind`` for everything ``conns`` refer to."""
    size: Counter[str] = Counter()
    count: Counter[str] = Counter()
    seen: set[int] = set()
    todo = [(c, "list") for c in conns]
    while todo:
        obj, holder = todo.pop()
        kind = type(obj).__name__
        if id(obj) in seen or kind in NOT_WALKED or (kind == "int" and -5 <= obj <= 256):
            continue  # small ints are the interpreter's own
        seen.add(id(obj))
        size[f"{holder} > {kind}"] += sys.getsizeof(obj)
        count[f"{holder} > {kind}"] += 1
        if kind == "ExchangeRun":  # (compiled, not tracked by the collector: no referents)
            todo.append((obj.rows, kind))
        elif not isinstance(obj, (str, int, bytes, float)):
            inner = kind if kind in MODEL else holder
            todo.extend((r, inner) for r in gc.get_referents(obj))
    return size, count


def main() -> None:
    """Analyse the capture and print the breakdown."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("capture")
    ap.add_argument("--frames", action="store_true", help="keep the frame table (as md reports do)")
    args = ap.parse_args()
    a = analyze(args.capture, frames=args.frames)
    conns = a.connections
    size, count = breakdown(conns)
    n = max(len(conns), 1)
    for key, nbytes in size.most_common():
        print(f"{key:28s} {nbytes / 1e6:8.2f} MB {count[key]:9d} objects {nbytes / n:8.1f} B/connection")
    total = sum(size.values())
    requests = sum(c.requests for c in conns)
    print(f"total {total / 1e6:.1f} MB, {total / n:.0f} B per connection", end=" ")
    print(f"({len(conns)} connections, {requests} requests)")
    a.close()


if __name__ == "__main__":
    main()
