"""The corpus location comes from KATUI_CORPUS, and CI refuses to run without the corpus."""

from __future__ import annotations

import os
import subprocess
import sys

from tests.conftest import REPO


def test_ci_without_the_corpus_fails_loudly(tmp_path):
    env = dict(os.environ, CI="true", KATUI_CORPUS=str(tmp_path / "nowhere"), PYTHONPATH=str(REPO))
    out = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/test_textsafe.py"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
    )
    assert out.returncode != 0
    assert "corpus is missing" in out.stdout + out.stderr
