"""Build katui's optional compiled core; everything else is in pyproject.toml.

The modules of :data:`katui.speedups.COMPILED` are compiled with Cython (pure-Python mode: the
``.py`` is the source, the ``.pxd`` beside it adds C types). When that cannot be done (no C
compiler, no Cython, a Cython error) the install goes on without them and katui runs the same
modules interpreted, as aiohttp's optional C parser does. ``KATUI_NO_EXT=1`` skips compiling.
"""

from __future__ import annotations

import os
import runpy
import sys

from setuptools import setup
from setuptools.command.build_ext import build_ext

# The list lives in katui/speedups.py (which reports at run time whether they were built);
# read it from the file, without importing the package, which is not installed yet.
MODULES = runpy.run_path(os.path.join(os.path.dirname(os.path.abspath(__file__)), "katui", "speedups.py"))[
    "COMPILED"
]
DIRECTIVES = {
    "language_level": 3,
    # Indexes come from capture bytes: keep Python's bounds and negative-index checks.
    "boundscheck": True,
    "wraparound": True,
    "cdivision": False,
    "embedsignature": True,
    # The .pxd files give the C types; the annotations stay Python documentation.
    "annotation_typing": False,
}


def _skip(why: object) -> None:
    print(f"katui: not compiling the core ({why}); installing the pure-Python modules", file=sys.stderr)


def extensions() -> list:
    """The Cython extensions, or none when they cannot (or should not) be made."""
    if os.environ.get("KATUI_NO_EXT"):
        _skip("KATUI_NO_EXT is set")
        return []
    try:
        from Cython.Build import cythonize
        from setuptools import Extension

        exts = [Extension(m, [m.replace(".", "/") + ".py"]) for m in MODULES]
        return cythonize(exts, compiler_directives=DIRECTIVES, quiet=True)
    except Exception as exc:  # noqa: BLE001 - Cython missing or failing: the pure build still installs
        _skip(f"{type(exc).__name__}: {exc}")
        return []


class OptionalBuildExt(build_ext):
    """build_ext that turns a failed compilation into a pure-Python install."""

    def run(self) -> None:
        try:
            super().run()
        except Exception as exc:  # noqa: BLE001 - no compiler at all
            _skip(f"{type(exc).__name__}: {exc}")

    def build_extension(self, ext) -> None:
        try:
            super().build_extension(ext)
        except Exception as exc:  # noqa: BLE001 - this module stays interpreted
            _skip(f"{ext.name}: {type(exc).__name__}: {exc}")


setup(ext_modules=extensions(), cmdclass={"build_ext": OptionalBuildExt})
