"""Shared fixtures: paths to samples and the public corpus, cached analyses."""

from __future__ import annotations

import functools
import os
import time
from pathlib import Path

import pytest
from hypothesis import settings

# Local times (the TUI header, the 'local' time mode) must not depend on the machine's zone.
os.environ["TZ"] = "UTC"
time.tzset()

# CI replays the same examples every run (a red CI must be reproducible); local runs keep
# exploring new ones, which is how the fuzz tests find bugs.
settings.register_profile("ci", derandomize=True)
if os.environ.get("CI"):
    settings.load_profile("ci")

# Tests check stderr exactly; the slow-path notice (no compiled core) is tested in test_builds.
os.environ.setdefault("KATUI_NO_EXT", "1")

REPO = Path(__file__).resolve().parents[1]
SAMPLES = REPO / "samples"
CORPUS = Path(os.environ.get("KATUI_CORPUS") or REPO.parent / "shared" / "corpus")
"""The public capture corpus: ``$KATUI_CORPUS``, else ``../shared/corpus`` next to the repo."""
EXPECTED = REPO / "tests" / "expected"


def pytest_sessionstart(session) -> None:
    """Under CI a missing corpus is an error, not ~40% of the suite silently skipped."""
    if os.environ.get("CI") == "true" and not CORPUS.is_dir():
        raise pytest.UsageError(
            f"the capture corpus is missing at {CORPUS}: set KATUI_CORPUS to its directory "
            "(see README, 'Tests'); CI does not run without it"
        )


@functools.lru_cache(maxsize=64)
def analysed(path: str):
    """Analyse a capture once per test session (analyses are read-only)."""
    from katui.analysis.pipeline import analyze

    return analyze(path)


def capture_path(name: str) -> Path:
    """A sample or corpus capture by file name; skips the test if it is not there."""
    for folder in (SAMPLES, CORPUS):
        p = folder / name
        if p.exists():
            return p
    pytest.skip(f"{name} not available (corpus at {CORPUS}?)")
