"""Keep model- and schema-supplied regular expressions from freezing the process (catastrophic backtracking).

Python's ``re`` backtracks and holds the GIL while it does, so a bad pattern from a model (a file-search tool) or
from an untrusted schema (``pattern`` in a third-party MCP server's input schema) would freeze the whole process
where no timeout can fire. Two defences:

* :func:`unsafe_pattern_reason`, a cheap static refusal of the shapes that explode: a repeated group that contains
  another repeat or an alternation (``(a+)+``, ``(a|a)*``, ``(\\w+\\s?)*``), backreferences, and runs of adjacent
  repeats that can match the same characters (``\\d*\\d*\\d*x``, polynomial in the text length).
* :func:`compile_timed` / :func:`search_timed`, the robust one: the pattern runs on the ``regex`` package (in its
  ``re``-compatible V0 mode), whose matcher stops with :class:`RegexTimeout` at a deadline, even for shapes the
  static check cannot see.
"""

from __future__ import annotations

import re
import time
from functools import lru_cache
from typing import Any

import regex as _regex

__all__ = [
    "MAX_CHAIN_COST", "MAX_PATTERN_LENGTH", "REGEX_TIME_BUDGET_S", "RegexTimeout", "compile_timed", "pattern_search",
    "search_timed", "unsafe_pattern_reason",
]

MAX_PATTERN_LENGTH = 1000
REGEX_TIME_BUDGET_S = 1.0  # a sensible default budget for one tool call's searches, all lines together
MAX_CHAIN_COST = 10**7  # most backtracking steps per start position a run of adjacent repeats may cost (see _chain)

try:  # the stdlib's own regex parser (``re._parser`` since 3.11): exact structure instead of a textual guess
    import re._parser as _sre_parse  # type: ignore[import-not-found]
    from re._constants import (  # type: ignore[import-not-found]
        ANY, BRANCH, CATEGORY, GROUPREF, GROUPREF_EXISTS, IN, LITERAL, MAX_REPEAT, MAXREPEAT, MIN_REPEAT, NEGATE,
        NOT_LITERAL, RANGE, SUBPATTERN,
    )
except ImportError:  # pragma: no cover - other Python versions
    import sre_constants as _c  # type: ignore[no-redef]
    import sre_parse as _sre_parse  # type: ignore[no-redef]

    BRANCH, GROUPREF, GROUPREF_EXISTS, IN, LITERAL = _c.BRANCH, _c.GROUPREF, _c.GROUPREF_EXISTS, _c.IN, _c.LITERAL
    MAX_REPEAT, MIN_REPEAT, RANGE, SUBPATTERN = _c.MAX_REPEAT, _c.MIN_REPEAT, _c.RANGE, _c.SUBPATTERN
    ANY, CATEGORY, MAXREPEAT, NEGATE, NOT_LITERAL = _c.ANY, _c.CATEGORY, _c.MAXREPEAT, _c.NEGATE, _c.NOT_LITERAL

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


# Characters that stand in for "all characters" when asking whether two one-character elements can overlap.
_PROBES = [chr(c) for c in range(256)] + ["\u0101", "\u0663", "\u2003", "\u2028", "\u4e00", "\U0001f600"]
_CATEGORIES = {f"CATEGORY_{name}": re.compile(esc) for name, esc in (
    ("DIGIT", r"\d"), ("NOT_DIGIT", r"\D"), ("SPACE", r"\s"), ("NOT_SPACE", r"\S"), ("WORD", r"\w"),
    ("NOT_WORD", r"\W"), ("LINEBREAK", r"\n"), ("NOT_LINEBREAK", r"[^\n]"))}


def _matches_char(item: tuple[Any, Any], ch: str) -> bool:
    """Whether a one-character element matches ``ch`` (True when unsure)."""
    op, av = item
    if op == LITERAL:
        return av == ord(ch)
    if op == NOT_LITERAL:
        return av != ord(ch)
    if op == IN:
        negate, hit = False, False
        for sop, sav in av:
            if sop == NEGATE:
                negate = True
            elif sop == LITERAL:
                hit = hit or sav == ord(ch)
            elif sop == RANGE:
                hit = hit or sav[0] <= ord(ch) <= sav[1]
            elif sop == CATEGORY and str(sav) in _CATEGORIES:
                hit = hit or bool(_CATEGORIES[str(sav)].match(ch))
            else:
                return True
        return hit != negate
    return True  # ANY (and anything unexpected)


def _charset(item: tuple[Any, Any]) -> frozenset[str] | None:
    """The probe characters a one-character element matches, or None when it is not one character."""
    while item[0] == SUBPATTERN and len(_items(item[1][-1])) == 1:
        item = _items(item[1][-1])[0]
    if item[0] not in (LITERAL, NOT_LITERAL, IN, ANY):
        return None
    return frozenset(ch for ch in _PROBES if _matches_char(item, ch))


def _chain(sub: Any) -> bool:
    """Whether ``sub`` holds a run of adjacent one-character repeats, each able to match a character its neighbour
    can (``\\d*\\d*\\d*``, ``\\s*.*\\s*``), whose ways of splitting the text multiply past MAX_CHAIN_COST: when the rest
    fails, ``re`` tries every split, polynomial in the text length (an unbounded repeat counts as 1000 choices)."""
    cost, prev = 1, None
    for item in _items(sub):
        while item[0] == SUBPATTERN and len(_items(item[1][-1])) == 1:
            item = _items(item[1][-1])[0]
        op, av = item
        body = _flatten(av[2]) if op in _REPEATS and av[1] > av[0] else []
        chars = _charset(body[0]) if len(body) == 1 else None
        if chars is None:
            cost, prev = 1, None
            continue
        choices = 1000 if av[1] == MAXREPEAT else min(av[1] - av[0], 1000) + 1
        cost = cost * choices if prev is not None and chars & prev else choices
        prev = chars
        if cost > MAX_CHAIN_COST:
            return True
    return False


def _find(sub: Any) -> str | None:
    if _chain(sub):
        return ("adjacent repeats can match the same characters (e.g. \\d*\\d*\\d*), so a failed match tries every way "
                "of splitting the text between them; merge them into one repeat (\\d*)")
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


class RegexTimeout(TimeoutError):
    """A search ran past its deadline: the pattern backtracks too much on that text."""


# re's flag values, mapped to regex's: most agree, but re.ASCII (256) is regex.VERSION1 and regex.ASCII is 128.
_FLAGS = {re.IGNORECASE: _regex.IGNORECASE, re.LOCALE: _regex.LOCALE, re.MULTILINE: _regex.MULTILINE,
          re.DOTALL: _regex.DOTALL, re.UNICODE: _regex.UNICODE, re.VERBOSE: _regex.VERBOSE, re.ASCII: _regex.ASCII}


# What V0 still reads unlike re: a "{" that re takes literally can be a fuzzy constraint (a{e<=1}) or, in verbose
# mode, a repeat ({1, 2}); "[:alpha:]" inside a set is a POSIX class (re: the characters "[:alph" and a "]").
_DIVERGENT = re.compile(r"\\N\{[^}]*\}|\\.|\{(?:\d+(?:,\d*)?|,\d*)\}|(\{)|(\[:\^?[A-Za-z]+:\])", re.DOTALL)


def _for_regex(pattern: str) -> str:
    """``pattern`` with every "{" that re reads as a literal escaped, so regex reads it the same way."""
    def fix(m: re.Match[str]) -> str:
        if m[2]:
            raise re.error(f"POSIX class {m[2]!r} is read differently by re and regex; use \\w, \\d or [a-z]", pattern)
        return "\\{" if m[1] else m[0]
    return _DIVERGENT.sub(fix, pattern)


def compile_timed(pattern: str, flags: int = 0) -> Any:
    """Compile ``pattern`` as ``re.compile(pattern, flags)`` would (same syntax, ``re`` flags, ``re.error`` on a bad
    pattern) but on the ``regex`` package in its ``re``-compatible V0 mode, so :func:`search_timed` can stop it."""
    out, rest = _regex.VERSION0, int(flags)
    for re_flag, regex_flag in _FLAGS.items():
        if rest & re_flag:
            out, rest = out | regex_flag, rest & ~re_flag
    if rest:
        raise ValueError(f"compile_timed supports only {', '.join(f.name or '' for f in _FLAGS)}, got {flags!r}")
    re.compile(pattern, flags)  # re's syntax is the contract: refuse regex-only syntax (fuzzy matches, recursion)
    try:
        return _regex.compile(_for_regex(pattern), out)
    except _regex.error as exc:  # pragma: no cover - re accepted it; keep one exception type for callers
        raise re.error(str(exc), pattern) from None


def search_timed(compiled: Any, text: str, deadline: float | None) -> Any:
    """``compiled.search(text)`` for a :func:`compile_timed` pattern, raising :class:`RegexTimeout` once
    ``time.monotonic()`` passes ``deadline`` (None: no limit). Pass one deadline to a loop of searches to bound the
    loop as a whole; ``regex`` checks the clock while it backtracks, so this holds even for a pathological pattern."""
    if deadline is None:
        return compiled.search(text)
    left = deadline - time.monotonic()
    try:
        if left <= 0:
            raise TimeoutError
        return compiled.search(text, timeout=left)
    except TimeoutError:
        raise RegexTimeout(f"regular expression {compiled.pattern[:60]!r} ran past its time limit") from None


@lru_cache(maxsize=1024)
def _compiled(pattern: str) -> Any:
    return compile_timed(pattern)


def pattern_search(pattern: str, text: str, budget: float = REGEX_TIME_BUDGET_S) -> bool | None:
    """Whether ``pattern`` (``re`` syntax, as JSON Schema's ``pattern`` runs here) is found in ``text``; None when
    the search ran past ``budget`` seconds. Raises ``re.error`` for a pattern that does not compile."""
    try:
        return search_timed(_compiled(pattern), text, time.monotonic() + budget) is not None
    except RegexTimeout:
        return None
