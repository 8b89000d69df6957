"""Memoized values derived from tool lists (request JSON, catalogue text)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TypeVar

from toolkit.specs import ToolSpec

__all__ = ["memo_by_tools"]

_T = TypeVar("_T")


def memo_by_tools(fn: Callable[[Sequence[ToolSpec]], _T]) -> Callable[[Sequence[ToolSpec]], _T]:
    """Memoize a value derived from a tool list, keyed by the identity of its specs.

    A run asks for the same few tool lists on every sample (a suite's specs live as long as the run), and turning
    their schemas into request JSON each time was a measurable share of client CPU per request. Results are
    shared: treat them as read-only. The cached specs are held, so their ids cannot be reused by other objects.
    """
    cache: dict[tuple[int, ...], tuple[tuple[ToolSpec, ...], _T]] = {}

    def memoized(specs: Sequence[ToolSpec]) -> _T:
        key = tuple(map(id, specs))
        hit = cache.get(key)
        if hit is None:
            if len(cache) >= 1024:
                cache.clear()
            hit = cache[key] = (tuple(specs), fn(specs))
        return hit[1]

    return memoized
