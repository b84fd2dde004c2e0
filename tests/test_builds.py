"""The compiled core and the same modules interpreted (``KATUI_PURE=1``) give byte-identical
reports on every sample and corpus capture; katui says when it runs the slow path."""

from __future__ import annotations

import os
import runpy
import subprocess
import sys

import pytest

from katui import speedups
from tests.conftest import CORPUS, REPO, SAMPLES

# One subprocess per build writes every capture's JSON (and its warnings) to a folder.
_DUMP = """
import contextlib, io, pathlib, sys
from katui import cli, speedups
out = pathlib.Path(sys.argv[1])
print("compiled" if speedups.compiled() else "interpreted")
for i, path in enumerate(sys.argv[2:]):
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        for fmt in ("json", "md"):
            status = cli.main(["report", path, "--format", fmt, "-o", str(out / f"{i}.{fmt}"), "--force"])
    (out / f"{i}.err").write_text(f"{status}\\n{err.getvalue()}")
"""


def _captures() -> list[str]:
    paths = sorted(SAMPLES.glob("*.pcap")) + sorted((SAMPLES / "real").glob("*.pcap"))
    return [str(p) for p in paths + sorted(CORPUS.glob("*.pcap*"))]


def _dump(folder, paths: list[str], pure: bool) -> str:
    folder.mkdir()
    env = dict(os.environ, PYTHONPATH=str(REPO), KATUI_NO_EXT="1")
    env.pop("KATUI_PURE", None)
    if pure:
        env["KATUI_PURE"] = "1"
    r = subprocess.run(
        [sys.executable, "-c", _DUMP, str(folder), *paths], env=env, capture_output=True, text=True
    )
    assert r.returncode == 0, r.stderr
    return r.stdout.strip()


def test_compiled_and_interpreted_reports_are_identical(tmp_path):
    if not speedups.compiled():
        if os.environ.get("CI") == "true" and not speedups.pure_requested():
            pytest.fail("the compiled core was not built (pip install . should have compiled it)")
        pytest.skip("the interpreted build runs (KATUI_PURE is set, or pip install -e . did not compile)")
    paths = _captures()
    assert _dump(tmp_path / "c", paths, pure=False) == "compiled"
    assert _dump(tmp_path / "p", paths, pure=True) == "interpreted"
    for i, path in enumerate(paths):
        for ext in ("json", "md", "err"):
            compiled = (tmp_path / "c" / f"{i}.{ext}").read_bytes()
            interpreted = (tmp_path / "p" / f"{i}.{ext}").read_bytes()
            assert compiled == interpreted, f"{path}: the builds' .{ext} differ"


def test_the_reader_tests_pass_interpreted():
    """The capture readers, the frame decoder, the head reader and the exchange columns take
    their own ways when interpreted (a header's fields unpacked in one call, header lines found
    by a regular expression, dicts for what they remember, columns packed with struct): their
    tests run that build too."""
    if not speedups.compiled():
        pytest.skip("the interpreted build runs these tests already")
    tests = ["test_capture.py", "test_hostile_reader.py", "test_reading_loop.py", "test_http_head_cache.py"]
    tests.append("test_model_compact.py")
    env = dict(os.environ, PYTHONPATH=str(REPO), KATUI_PURE="1")
    run = [sys.executable, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider"]
    run += [str(REPO / "tests" / t) for t in tests]
    r = subprocess.run(run, env=env, capture_output=True, text=True)
    assert r.returncode == 0, r.stdout[-3000:]


def test_katui_pure_imports_the_source_modules():
    env = dict(os.environ, PYTHONPATH=str(REPO), KATUI_PURE="1")
    code = "from katui import speedups; import katui.tcp.tracker as t; print(speedups.compiled(), t.__file__)"
    r = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert r.stdout.split() == ["False", str(REPO / "katui" / "tcp" / "tracker.py")]


@pytest.mark.parametrize(
    ("env", "says"), [({}, True), ({"KATUI_NO_EXT": "1"}, False), ({"KATUI_PURE": "1"}, False)]
)
def test_the_slow_path_is_said_once_unless_asked_for(monkeypatch, capsys, env, says):
    monkeypatch.setattr(speedups, "compiled", lambda: False)
    for name in ("KATUI_NO_EXT", "KATUI_PURE"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    speedups.warn_if_slow()
    err = capsys.readouterr().err
    assert err == (speedups.SLOW_PATH + "\n" if says else "")


def test_a_compiled_module_older_than_its_source_is_named(monkeypatch, capsys):
    """An edited .py beside an old .so: Python would run the old compiled code, silently."""
    from types import SimpleNamespace

    for name in speedups.COMPILED:  # every module as if loaded from its compiled file
        so = "/k/" + name.replace(".", "/") + ".cpython-311-x86_64-linux-gnu.so"
        monkeypatch.setitem(sys.modules, name, SimpleNamespace(__file__=so))
    edited = "/k/katui/tcp/tracker.py"
    when = {edited: 1000.0 + speedups.STALE_AFTER_S + 1}
    assert speedups.stale(lambda path: when.get(path, 1000.0)) == ["katui.tcp.tracker"]
    when[edited] = 1000.0 + speedups.STALE_AFTER_S  # written with the build (an install)
    assert speedups.stale(lambda path: when.get(path, 1000.0)) == []
    monkeypatch.setattr(speedups, "stale", lambda: ["katui.tcp.tracker", "katui.http.head"])
    monkeypatch.delenv("KATUI_PURE", raising=False)
    speedups.warn_if_slow()
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "katui.tcp.tracker, katui.http.head are older than the source" in err


def test_setup_compiles_the_modules_speedups_names(monkeypatch):
    """setup.py's module list, read by running it with ``setup()`` stubbed (and compiling
    skipped), is the one speedups reports on."""
    import setuptools

    monkeypatch.setenv("KATUI_NO_EXT", "1")
    monkeypatch.setattr(setuptools, "setup", lambda **kwargs: None)
    names = runpy.run_path(str(REPO / "setup.py"))["MODULES"]
    assert tuple(names) == speedups.COMPILED
