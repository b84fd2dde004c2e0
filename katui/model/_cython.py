"""The class decorators of Cython's ``cython`` module, for the interpreted build when Cython is
not installed: they only tell the compiler something, so interpreted they return the class."""

from __future__ import annotations

compiled = False
"""True only in Cython's own module, inside compiled code."""


def cclass(cls: type) -> type:
    """A C extension type when compiled."""
    return cls


def no_gc(cls: type) -> type:
    """Not tracked by the cycle collector when compiled (its instances take part in no cycle)."""
    return cls


def cast(kind: type, value: object) -> object:
    """``value`` read as a ``kind`` when compiled (no type check); interpreted, ``value``."""
    return value


def cdiv(a: int, b: int) -> int:
    """C's integer division (truncated toward zero, where ``//`` floors)."""
    q = abs(a) // abs(b)
    return q if (a < 0) == (b < 0) else -q
