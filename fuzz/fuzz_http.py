"""Coverage-guided fuzz target (atheris) for the HTTP/1.x scanner: katui.http.parser + head.

    python fuzz/fuzz_http.py [CORPUS_DIR ...] [-runs=N] [-max_total_time=S] [-seed=S]

Each input is one direction of a connection (request or response side, chosen by its first
byte) cut into pieces at offsets taken from the input. The properties checked:

* no exception escapes ``HttpHalf.feed`` / ``gap`` / ``close``, whatever the bytes;
* the messages of a well-framed stream do not depend on where it was cut (TCP segments can
  split it anywhere): the split parse equals the whole parse;
* a piece that was never captured (``gap``) does not break it either.

The model keeps capture text as it came (escaping is the renderers' job, katui/textsafe.py):
fuzz_capture.py checks the reports.

The parser is compiled with the core (setup.py) when it is built; atheris only sees coverage in
interpreted code, so run it with ``KATUI_PURE=1`` to let coverage guide it, and without to check
the compiled parser. Any other libFuzzer flag is passed through (``-help=1`` lists them).
tests/test_fuzz_atheris.py runs it both ways for a bounded number of inputs when atheris is
installed.
"""

from __future__ import annotations

import os
import sys

import atheris

# Fuzz this checkout's katui, not an installed one.
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# Imported first, uninstrumented: under KATUI_PURE=1 it puts a finder of the .py sources at the
# front of sys.meta_path; atheris' finder must go in front of that one to instrument them.
import katui  # noqa: F401, I001

with atheris.instrument_imports(include=["katui"]):
    from katui.http.owner import Collector
    from katui.http.parser import HttpHalf

FIELDS = ("method", "uri", "status", "version", "body_bytes", "chunked", "complete", "content_length")


def parse(
    data: bytes, cuts: list[int], is_request: bool, gap_at: int | None = None
) -> tuple[list, str | None]:
    """The messages framed from ``data`` fed in pieces ending at ``cuts`` (then closed), and the
    parser's error (None when every byte was where HTTP/1.x puts it)."""
    msgs: list = []
    half = HttpHalf(is_request, Collector(msgs.append, None if is_request else (lambda *_: "GET")))
    bounds = sorted({0, len(data), *(c % (len(data) + 1) for c in cuts)})
    for i, (a, b) in enumerate(zip(bounds, bounds[1:], strict=False)):
        if gap_at is not None and a == gap_at:
            half.gap(b - a, i + 1, i)  # this piece was never captured
        else:
            half.feed(data, a, b, i + 1, i)
    half.close(len(bounds), len(bounds))
    return [tuple(getattr(m, f) for f in FIELDS) for m in msgs], half.error


def test_one_input(data: bytes) -> None:
    """One fuzz input: parse whole and split and compare; parse with a piece lost."""
    fdp = atheris.FuzzedDataProvider(data)
    is_request = fdp.ConsumeBool()
    cuts = [fdp.ConsumeIntInRange(0, 4096) for _ in range(fdp.ConsumeIntInRange(0, 12))]
    stream = fdp.ConsumeBytes(fdp.remaining_bytes())
    whole, error = parse(stream, [], is_request)
    split, _ = parse(stream, cuts, is_request)
    # After bytes that are not HTTP the parser looks for the next start line at a segment's
    # start first (as Wireshark does): there, where TCP cut the stream matters by design.
    if error is None and split != whole:
        raise AssertionError(f"cutting at {sorted(cuts)} changed the messages: {whole!r} -> {split!r}")
    if cuts:  # a lost piece must not break the parser either (snap length, a hole in the capture)
        parse(stream, cuts, is_request, gap_at=sorted(c % (len(stream) + 1) for c in cuts)[0])


def main() -> None:
    """Run the fuzzer with libFuzzer's command line."""
    atheris.Setup(sys.argv, test_one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
