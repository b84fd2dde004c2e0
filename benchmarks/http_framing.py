"""The HTTP/1 framing path alone: the calls the TCP tracker makes on a capture's HTTP/1
conversations (bytes in order, holes, ends) are recorded once, then replayed into fresh
conversations and timed (CPU seconds, best of N), so a change to katui/http or the message store
can be measured without the rest of the analysis.

    cd WORKTREE && PYTHONPATH=$PWD python benchmarks/http_framing.py CAPTURE [REPEAT]
"""

from __future__ import annotations

import gc
import mmap
import sys
import time

from katui import speedups
from katui.analysis import pipeline
from katui.http.conversation import HttpConversation
from katui.model import MessageStore

DATA, GAP, CLOSE = range(3)


def record(path: str) -> tuple[list[bool], list[tuple]]:
    """Each HTTP/1 conversation's ``midstream`` and every sink call, in the tracker's order."""
    midstream: list[bool] = []
    calls: list[tuple] = []

    class Recorder(HttpConversation):
        """An HttpConversation that notes the calls it gets (and never hands out its parser,
        so every piece of bytes comes through :meth:`data`)."""

        __slots__ = ("cid",)

        def __init__(self, store, mid, try_other=None) -> None:
            super().__init__(store, mid, try_other)
            self.cid = len(midstream)
            midstream.append(mid)

        def data(self, d, buf, start, end, frame, ts):
            calls.append((DATA, self.cid, d, start, end, frame, ts))
            super().data(d, buf, start, end, frame, ts)

        def gap(self, d, nbytes, frame, ts):
            calls.append((GAP, self.cid, d, nbytes, 0, frame, ts))
            super().gap(d, nbytes, frame, ts)

        def close(self, d, frame, ts):
            calls.append((CLOSE, self.cid, d, 0, 0, frame, ts))
            super().close(d, frame, ts)

    saved = pipeline.HttpConversation
    pipeline.HttpConversation = Recorder
    try:
        pipeline.analyze(path, frames=False)
    finally:
        pipeline.HttpConversation = saved
    return midstream, calls


def replay(buf, midstream: list[bool], calls: list[tuple]) -> tuple[float, int]:
    """CPU seconds to replay ``calls`` (feeding a parser directly once a conversation hands it
    out, as the tracker does), and the messages framed."""
    store = MessageStore()
    convs = [HttpConversation(store, mid, lambda head, mid: None) for mid in midstream]
    direct: dict[tuple[int, int], object] = {}
    t0 = time.process_time()
    for op, cid, d, a, b, frame, ts in calls:
        if op == DATA:
            parser = direct.get((cid, d))
            if parser is not None:
                parser.feed(buf, a, b, frame, ts)
            else:
                direct[cid, d] = convs[cid].data(d, buf, a, b, frame, ts)
        elif op == GAP:
            convs[cid].gap(d, a, frame, ts)
        else:
            convs[cid].close(d, frame, ts)
    return time.process_time() - t0, len(store)


def main(path: str, repeat: int) -> None:
    midstream, calls = record(path)
    gc.disable()  # as the analysis does while reading
    with open(path, "rb") as fh, mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as buf:
        runs = [replay(buf, midstream, calls) for _ in range(repeat)]
    build = "compiled" if speedups.compiled() else "interpreted"
    print(
        f"{path}: {build}, {len(midstream)} conversations, {len(calls)} sink calls, "
        f"{runs[0][1]} messages: framing {min(t for t, _ in runs):.3f} s CPU (best of {repeat})"
    )


if __name__ == "__main__":
    if len(sys.argv) not in (2, 3):
        sys.exit(__doc__)
    main(sys.argv[1], int(sys.argv[2]) if len(sys.argv) == 3 else 5)
