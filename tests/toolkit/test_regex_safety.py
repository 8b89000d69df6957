"""toolkit.regex_safety: the static refusal of explosive patterns, and matching under a deadline on `regex`."""

from __future__ import annotations

import re
import time

import pytest

from toolkit.regex_safety import RegexTimeout, compile_timed, search_timed, unsafe_pattern_reason


@pytest.mark.parametrize("pattern", [r"\d*\d*\d*\d*x", r"\s*.*\s*$", r"(\d)*(\d*)\d*x", r"[^a]*[^b]*[^c]*!",
                                     r"\d?" * 24])
def test_runs_of_adjacent_repeats_over_the_same_characters_are_named_unsafe(pattern: str) -> None:
    assert "adjacent repeats" in (unsafe_pattern_reason(pattern) or "")


@pytest.mark.parametrize("pattern", [r"^\s*\w*\s*$", r"[a-z]*\d*[a-z]*", r"a*b*c*", r".*foo.*bar.*", r"\d*\d*x",
                                     r"^\d{1,3}\.\d{1,3}\.\d{1,3}$", r"[01]?[0-9][0-9]?"])
def test_adjacent_repeats_that_cannot_multiply_out_are_allowed(pattern: str) -> None:
    assert unsafe_pattern_reason(pattern) is None


def test_a_search_past_its_deadline_raises_regex_timeout_instead_of_hanging() -> None:
    compiled = compile_timed(r"(\d*\d*)(\d*\d*)[xy]")  # beyond the static check; O(n^5) on a line of digits
    assert unsafe_pattern_reason(compiled.pattern) is None
    started = time.monotonic()
    with pytest.raises(RegexTimeout, match="time limit"):
        search_timed(compiled, "1" * 999, time.monotonic() + 0.2)
    assert time.monotonic() - started < 10
    with pytest.raises(RegexTimeout):  # a deadline already passed stops the next search of a loop at once
        search_timed(compile_timed("a"), "a", time.monotonic() - 1)
    assert search_timed(compile_timed("a"), "xa", None).span() == (1, 2)


def test_compile_timed_keeps_re_syntax_errors_and_flags() -> None:
    with pytest.raises(re.error):
        compile_timed("([a-z")
    with pytest.raises(re.error):  # regex-only syntax (recursion, version switch) is refused like re refuses it
        compile_timed("(?R)")
    with pytest.raises(re.error, match="POSIX"):  # re reads [a[:digit:]] as a set of "a[:digit" and a "]", regex not
        compile_timed("[a[:digit:]]")
    deadline = time.monotonic() + 5
    assert search_timed(compile_timed("HeLLo", re.IGNORECASE), "say hello", deadline)[0] == "hello"
    assert search_timed(compile_timed(r"\w+", re.ASCII), "é ab", deadline)[0] == "ab"  # re.ASCII is not regex.V1
    assert search_timed(compile_timed("^b", re.MULTILINE), "a\nb", deadline)
    with pytest.raises(ValueError):
        compile_timed("a", re.DEBUG)


@pytest.mark.parametrize("pattern, flags", [
    ("a{e<=1}", 0), ("x{}", 0), ("x{,2}y", 0), ("a {1, 2}", re.VERBOSE), ("\\N{LATIN SMALL LETTER A}{2}", 0),
    (r"[{]\{", 0), (r"(?P<n>a|b)(?P=n)", re.IGNORECASE), (r"(?<=a)b\b", 0), (r"(a)?(?(1)b|c)", 0), ("ss|ß", re.I),
])
def test_matches_agree_with_re(pattern: str, flags: int) -> None:
    expected, compiled = re.compile(pattern, flags), compile_timed(pattern, flags)
    for text in ["a{e<=1}", "ab", "b", "x{}", "x{,2}y", "xxy", "a{1,2}", "aa", "aaa", "{{", "bb", "ac", "ß", "SS"]:
        found, want = search_timed(compiled, text, time.monotonic() + 5), expected.search(text)
        assert (found and found.span()) == (want and want.span()), (pattern, text)
