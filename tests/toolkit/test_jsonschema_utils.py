"""Untrusted schemas are bounded: exponential regexes and exploding $refs are refused before any work is done."""

from __future__ import annotations

import time

import pytest

from toolkit.errors import UserError
from toolkit.jsonschema_utils import check_schema_bounds, inline_refs, validation_errors
from toolkit.regex_safety import unsafe_pattern_reason


@pytest.mark.parametrize("pattern", ["^(a|a)*$", "(a+)+b", "(\\w+\\s?)*$", "(x)\\1", "[unclosed"])
def test_patterns_that_can_backtrack_exponentially_are_named_unsafe(pattern: str) -> None:
    assert unsafe_pattern_reason(pattern)


@pytest.mark.parametrize("pattern", ["^[A-Z]{3}-\\d{4}$", "^[^@]+@[^@]+\\.[a-z]+$", "(ab)+", "(a|b)?c", "foo.*bar"])
def test_ordinary_patterns_are_allowed(pattern: str) -> None:
    assert unsafe_pattern_reason(pattern) is None


def test_a_schema_with_an_exponential_pattern_is_refused_not_run() -> None:
    schema = {"type": "object", "properties": {"s": {"type": "string", "pattern": "^(a|a)*$"}}}
    with pytest.raises(UserError, match="refused"):
        check_schema_bounds(schema)
    with pytest.raises(UserError, match="refused"):
        validation_errors(schema, {"s": "a" * 40 + "b"})


def test_refs_that_expand_exponentially_are_refused_quickly() -> None:
    defs = {f"D{i}": {"type": "object", "properties": {"a": {"$ref": f"#/$defs/D{i + 1}"},
                                                         "b": {"$ref": f"#/$defs/D{i + 1}"}}} for i in range(40)}
    defs["D40"] = {"type": "string"}
    started = time.perf_counter()
    with pytest.raises(UserError, match="expand to more than"):
        inline_refs({"type": "object", "properties": {"x": {"$ref": "#/$defs/D0"}}, "$defs": defs})
    assert time.perf_counter() - started < 5


@pytest.mark.parametrize("pattern", ["^[a-z0-9._-]+@[a-z0-9-]+(\\.[a-z0-9-]+)*\\.[a-z]{2,}$", "([a-z]+,)*"])
def test_repeats_pinned_by_a_delimiter_are_allowed(pattern: str) -> None:
    assert unsafe_pattern_reason(pattern) is None
