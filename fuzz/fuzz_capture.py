"""Coverage-guided fuzz target (atheris) for the capture reader and the whole per-packet core.

    python fuzz/fuzz_capture.py [CORPUS_DIR ...] [-runs=N] [-max_total_time=S] [-seed=S]

Each input is a capture file (seed the corpus with small pcap/pcapng files: samples/*.pcap).
It is analysed as ``katui report`` would (the compiled reader, decoder and tracker when they are
built; ``KATUI_PURE=1`` for the same modules interpreted, which atheris can then also
instrument), and every report is rendered. The properties checked:

* the only exception is a :class:`CaptureError` (a one-line refusal), whatever the bytes;
* the JSON is ASCII and the text, Markdown and CSV reports hold no control character but a
  newline: capture bytes never reach a terminal as escape sequences (katui/textsafe.py).

Compiled modules give atheris no coverage (they are not built with ``-fsanitize=fuzzer``): with
the compiled build the guidance comes from the Python layers above them (HTTP, verdicts,
reports), which is why tests/test_fuzz_atheris.py runs both builds.
"""

from __future__ import annotations

import gc
import os
import re
import sys
import tempfile

import atheris

# Fuzz this checkout's katui, not an installed one.
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# Imported first, uninstrumented: under KATUI_PURE=1 it puts a finder of the .py sources at the
# front of sys.meta_path; atheris' finder must go in front of that one to instrument them.
import katui  # noqa: F401, I001

with atheris.instrument_imports(include=["katui"]):
    from katui.analysis.pipeline import analyze
    from katui.capture.errors import CaptureError
    from katui.report import csvout, jsonout, markdown, text

# C0 but newline, DEL and C1: what would reach a terminal as a control sequence.
CONTROL = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f]")
WORK = tempfile.mkdtemp(prefix="katui-fuzz-")
PATH = os.path.join(WORK, "input.pcap")


def check(name: str, report: str) -> None:
    """Raise when a report carries a control character."""
    m = CONTROL.search(report)
    if m:
        raise AssertionError(
            f"{name} report has {m.group()!r} at {m.start()}: {report[m.start() - 40 : m.end() + 40]!r}"
        )


def test_one_input(data: bytes) -> None:
    """One fuzz input: analyse it as a capture file and render every report."""
    with open(PATH, "wb") as fh:
        fh.write(data)
    try:
        a = analyze(PATH)
    except CaptureError:
        return
    try:
        js = jsonout.render(a)
        if not js.isascii():
            raise AssertionError("JSON report is not ASCII")
        check("text", text.render(a, ladder=True))
        check("markdown", markdown.render(a))
        check("csv", csvout.render(a) + csvout.render_requests(a))
    finally:
        a.close()
        gc.unfreeze()  # analyze() freezes what it built; a fuzz run makes thousands of analyses


def main() -> None:
    """Run the fuzzer with libFuzzer's command line."""
    atheris.Setup(sys.argv, test_one_input)
    try:
        atheris.Fuzz()
    finally:
        os.unlink(PATH) if os.path.exists(PATH) else None
        os.rmdir(WORK)


if __name__ == "__main__":
    main()
