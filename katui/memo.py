"""Bounded memos: caches of text a load test repeats across tens of thousands of connections,
which hostile captures could make all different (so they stop growing at a bound)."""

from __future__ import annotations


def remember(cache: dict, key, value, bound: int):
    """Keep ``value`` for ``key`` in ``cache`` while it holds fewer than ``bound`` entries;
    return ``value``."""
    if len(cache) < bound:
        cache[key] = value
    return value
