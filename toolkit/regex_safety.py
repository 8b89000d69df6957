"""Refuse regular expressions that can take exponential time (catastrophic backtracking).

Python's ``re`` backtracks and holds the GIL while it does, so a bad pattern from a model (a file-search tool) or
from an untrusted schema (``pattern`` in a third-party MCP server's input schema) would freeze the whole process
where no timeout can fire. A pattern is refused when a repeated group contains another repeat or an alternation
(``(a+)+``, ``(a|a)*``, ``(\\w+\\s?)*``), or when it uses backreferences; such patterns are the ones that explode.
"""

from __future__ import annotations

from typing import Any

__all__ = ["MAX_PATTERN_LENGTH", "unsafe_pattern_reason"]

MAX_PATTERN_LENGTH = 1000

try:  # the stdlib's own regex parser (``re._parser`` since 3.11): exact structure instead of a textual guess
    import re._parser as _sre_parse  # type: ignore[import-not-found]
    from re._constants import (  # type: ignore[import-not-found]
        BRANCH, GROUPREF, GROUPREF_EXISTS, IN, LITERAL, MAX_REPEAT, MIN_REPEAT, RANGE, SUBPATTERN,
    )
except ImportError:  # pragma: no cover - other Python versions
    import sre_constants as _c  # type: ignore[no-redef]
    import sre_parse as _sre_parse  # type: ignore[no-redef]

    BRANCH, GROUPREF, GROUPREF_EXISTS, IN, LITERAL = _c.BRANCH, _c.GROUPREF, _c.GROUPREF_EXISTS, _c.IN, _c.LITERAL
    MAX_REPEAT, MIN_REPEAT, RANGE, SUBPATTERN = _c.MAX_REPEAT, _c.MIN_REPEAT, _c.RANGE, _c.SUBPATTERN

_REPEATS = (MAX_REPEAT, MIN_REPEAT)


def _items(sub: Any) -> list[tuple[Any, Any]]:
    return list(getattr(sub, "data", sub))


def _contains(sub: Any, kinds: tuple[Any, ...]) -> bool:
    for op, av in _items(sub):
        if op in kinds:
            if op in _REPEATS and av[1] <= 1:  # x? or x{0,1} cannot backtrack exponentially
                if _contains(av[2], kinds):
                    return True
                continue
            return True
        if op == SUBPATTERN and _contains(av[-1], kinds):
            return True
        if op == BRANCH and any(_contains(alt, kinds) for alt in av[1]):
            return True
        if op in _REPEATS and _contains(av[2], kinds):
            return True
    return False


def _flatten(sub: Any) -> list[tuple[Any, Any]]:
    items = _items(sub)
    while len(items) == 1 and items[0][0] == SUBPATTERN:
        items = _items(items[0][1][-1])
    return items


def _can_match(item: tuple[Any, Any], ch: int) -> bool:
    """Whether one pattern element can match character ``ch`` (True when unsure)."""
    op, av = item
    if op == LITERAL:
        return av == ch
    if op == IN:
        for sop, sav in av:
            if sop == LITERAL and sav == ch:
                return True
            if sop == RANGE and sav[0] <= ch <= sav[1]:
                return True
            if sop not in (LITERAL, RANGE):
                return True  # categories, negation: unsure
        return False
    if op in _REPEATS or op in (SUBPATTERN, BRANCH):
        return True
    return True


def _repeat_elements(sub: Any) -> list[tuple[Any, Any]]:
    out: list[tuple[Any, Any]] = []
    for op, av in _items(sub):
        if op in _REPEATS:
            out.extend(_items(av[2]))
            out.extend(_repeat_elements(av[2]))
        elif op == SUBPATTERN:
            out.extend(_repeat_elements(av[-1]))
    return out


def _delimited(body: Any) -> bool:
    """A repeated body that starts or ends with a literal no inner repeat can match (``(\\.[a-z]+)*``): each
    iteration is pinned by that character, so matching stays linear."""
    items = _flatten(body)
    if not items or any(op == BRANCH for op, _ in items):
        return False
    inner = _repeat_elements(body)
    for op, av in (items[0], items[-1]):
        if op == LITERAL and not any(_can_match(e, av) for e in inner):
            return True
    return False


def _find(sub: Any) -> str | None:
    for op, av in _items(sub):
        if op in (GROUPREF, GROUPREF_EXISTS):
            return "it uses a backreference"
        if op in _REPEATS:
            body = av[2]
            if av[1] > 1 and _contains(body, (*_REPEATS, BRANCH)) and not _delimited(body):
                return "a repeated group contains another repeat or an alternation (e.g. (a+)+ or (a|b)*)"
            found = _find(body)
            if found:
                return found
        elif op == SUBPATTERN:
            found = _find(av[-1])
            if found:
                return found
        elif op == BRANCH:
            for alt in av[1]:
                found = _find(alt)
                if found:
                    return found
    return None


def unsafe_pattern_reason(pattern: str) -> str | None:
    """Why ``pattern`` may take exponential time (or cannot be compiled), or None when it is safe to run."""
    if len(pattern) > MAX_PATTERN_LENGTH:
        return f"it is longer than {MAX_PATTERN_LENGTH} characters"
    try:
        parsed = _sre_parse.parse(pattern)
    except Exception as exc:  # re.error and friends: not a usable pattern
        return f"it is not a valid regular expression ({exc})"
    return _find(parsed)
