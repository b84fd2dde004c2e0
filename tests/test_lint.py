"""ruff (lint and format) is clean on the package, the tests and the scripts."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from tests.conftest import REPO


@pytest.mark.skipif(shutil.which("ruff") is None, reason="ruff not installed")
def test_ruff_is_clean():
    r = subprocess.run(
        ["ruff", "check", "katui", "tests", "benchmarks", "samples"], cwd=REPO, capture_output=True, text=True
    )
    assert r.returncode == 0, r.stdout


@pytest.mark.skipif(shutil.which("ruff") is None, reason="ruff not installed")
def test_ruff_format_is_clean():
    r = subprocess.run(
        ["ruff", "format", "--check", "katui", "tests", "benchmarks", "samples"],
        cwd=REPO,
        capture_output=True,
        text=True,
    )
    assert r.returncode == 0, r.stdout
