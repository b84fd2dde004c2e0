"""Shared fixtures: paths to samples and the public corpus, cached analyses."""

from __future__ import annotations

import functools
import os
from pathlib import Path

import pytest
from hypothesis import settings

# CI replays the same examples every run (a red CI must be reproducible); local runs keep
# exploring new ones, which is how the fuzz tests find bugs.
settings.register_profile("ci", derandomize=True)
if os.environ.get("CI"):
    settings.load_profile("ci")

REPO = Path(__file__).resolve().parents[1]
SAMPLES = REPO / "samples"
CORPUS = REPO.parent / "shared" / "corpus"
EXPECTED = REPO / "tests" / "expected"


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
