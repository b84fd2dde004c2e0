"""Which build of the per-packet path runs: Cython-compiled or the same modules interpreted.

The modules in :data:`COMPILED` are plain Python that ``setup.py`` also compiles with Cython
(pure-Python mode, types in the ``.pxd`` beside each), as aiohttp does for its HTTP parser: one
source, two builds. Python imports a compiled module in preference to its ``.py``;
``KATUI_PURE=1`` makes it import the ``.py`` instead (the tests compare both builds' output).
"""

from __future__ import annotations

import importlib.machinery
import importlib.util
import os
import sys

COMPILED = (
    "katui.capture.formats",
    "katui.capture.decode",
    "katui.capture.reader",
    "katui.tcp.state",
    "katui.tcp.tracker",
    "katui.tcp.ingest",
    "katui.http.lines",
    "katui.http.head",
    "katui.http.owner",
    "katui.http.parser",
    "katui.http.closed",
    "katui.http.conversation",
    "katui.model.store",
    "katui.model.exchange",
    "katui.model.connection",
    "katui.tcp.facts",
    "katui.analysis.build",
    "katui.analysis.verdicts",
    "katui.analysis.gaps",
    "katui.analysis.timeout",
    "katui.analysis.payload",
    "katui.analysis.findings.common",
    "katui.analysis.findings.closes",
    "katui.analysis.findings.pools",
    "katui.units",
    "katui.report.jsonrows",
    "katui.report.ladder_md",
    "katui.report.ladder",
    "katui.report.markdown",
    "katui.report.text",
    "katui.report.mermaid",
    "katui.report.ladder_text",
)
"""The modules setup.py compiles when it can."""

SLOW_PATH = (
    "katui: running the slow path (the compiled core is not built: no C compiler or Cython at "
    "install time); set KATUI_NO_EXT=1 to hide this line"
)


def pure_requested() -> bool:
    """True when ``KATUI_PURE`` asks for the interpreted modules."""
    return os.environ.get("KATUI_PURE", "") not in ("", "0")


class _SourceOnly:
    """Finds the :data:`COMPILED` modules' ``.py`` files, never their extension modules."""

    @staticmethod
    def find_spec(name: str, path=None, target=None):
        if name not in COMPILED or not path:
            return None
        for entry in path:
            finder = importlib.machinery.FileFinder(
                entry, (importlib.machinery.SourceFileLoader, importlib.machinery.SOURCE_SUFFIXES)
            )
            spec = finder.find_spec(name)
            if spec is not None:
                return spec
        return None


def install() -> None:
    """Honour ``KATUI_PURE`` (called when katui is imported, before any module of COMPILED)."""
    if pure_requested() and not any(isinstance(f, _SourceOnly) for f in sys.meta_path):
        sys.meta_path.insert(0, _SourceOnly())


def _file(name: str) -> str:
    """The file module ``name`` was (or would be) loaded from, without importing it: checking
    the build must not import every compiled module at start-up (~90 ms, most of which a
    command like ``--version`` or a JSON report never needs)."""
    module = sys.modules.get(name)
    if module is not None:
        return getattr(module, "__file__", "") or ""
    spec = importlib.util.find_spec(name)
    return (spec.origin or "") if spec is not None else ""


def compiled() -> bool:
    """True when every module of :data:`COMPILED` is (or would be) loaded from a compiled
    extension."""
    return not any(_file(name).endswith(".py") for name in COMPILED)


STALE_AFTER_S = 10
"""A module's source this much newer than its compiled file was edited after the build (an
install writes both within seconds)."""


def stale(mtime=os.path.getmtime) -> list[str]:
    """The modules of :data:`COMPILED` loaded from a compiled file older than their ``.py``:
    Python prefers the extension, so an edited source would silently not run."""
    out = []
    for name in COMPILED:
        so = _file(name)
        if not so or so.endswith(".py"):
            continue
        source = os.path.join(os.path.dirname(so), name.rsplit(".", 1)[1] + ".py")
        try:
            if mtime(source) > mtime(so) + STALE_AFTER_S:
                out.append(name)
        except OSError:
            continue  # no source beside it (a binary-only install): nothing to compare
    return out


def warn_if_slow() -> None:
    """One line on stderr when the compiled core is missing (not when asked for by KATUI_PURE,
    nor when KATUI_NO_EXT says the user knows), or older than its source."""
    if pure_requested():
        return
    if not os.environ.get("KATUI_NO_EXT") and not compiled():
        print(SLOW_PATH, file=sys.stderr)
        return
    old = stale()
    if old:
        print(
            f"katui: the compiled {', '.join(old)} {'is' if len(old) == 1 else 'are'} older than "
            "the source; rebuild (python setup.py build_ext --inplace) or set KATUI_PURE=1",
            file=sys.stderr,
        )
