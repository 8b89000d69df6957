"""Untrusted schemas are bounded: exponential regexes and exploding $refs are refused before any work is done."""

from __future__ import annotations

import time
from typing import Any

import pytest

from toolkit.errors import UserError
from toolkit.jsonschema_utils import check_schema_bounds, inline_refs, validation_errors, validator_for
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
    chain = {"type": "string", "pattern": "\\d*\\d*\\d*\\d*x"}  # polynomial, not exponential: refused too
    with pytest.raises(UserError, match="adjacent repeats can match the same characters.*or drop the pattern"):
        check_schema_bounds(chain)


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


def _tree(container: str) -> dict[str, Any]:
    ref = f"#/{container}/node"
    node = {"type": "object", "properties": {"kids": {"type": "array", "items": {"$ref": ref}}}}
    return {"type": "object", "properties": {"tree": {"$ref": ref}}, container: {"node": node}}


@pytest.mark.parametrize("container", ["definitions", "$defs"])
def test_recursive_definitions_stay_resolvable_under_their_own_container_name(container: str) -> None:
    schema = _tree(container)
    inlined = inline_refs(schema)
    assert inlined[container] == schema[container] and len(inlined) == 3  # kept, under the same name only
    assert inlined["properties"]["tree"]["properties"]["kids"]["items"] == {"$ref": f"#/{container}/node"}
    assert validation_errors(schema, {"tree": {"kids": [{}, {"kids": [{}]}]}}) == []
    assert validation_errors(schema, {"tree": {"kids": [{"kids": [5]}]}}) == [
        "tree/kids/0/kids/0: 5 is not of type 'object'"
    ]


def test_non_recursive_refs_are_still_inlined_and_their_definitions_dropped() -> None:
    schema = {"type": "object", "properties": {"a": {"$ref": "#/definitions/A", "description": "an a"},
                                               "b": {"$ref": "#/$defs/A"}},
              "definitions": {"A": {"type": "integer"}}, "$defs": {"A": {"type": "string"}}}
    assert inline_refs(schema) == {"type": "object", "properties": {"a": {"type": "integer", "description": "an a"},
                                                                    "b": {"type": "string"}}}


def test_a_property_named_definitions_is_not_mistaken_for_a_definitions_block() -> None:
    schema = {"type": "object", "properties": {"definitions": {"$ref": "#/$defs/S"}},
              "$defs": {"S": {"type": "string"}}}
    assert inline_refs(schema) == {"type": "object", "properties": {"definitions": {"type": "string"}}}
    assert validation_errors(schema, {"definitions": 3}) == ["definitions: 3 is not of type 'string'"]


def test_a_ref_into_part_of_a_definition_is_kept_with_its_definitions() -> None:
    schema = {"type": "object", "properties": {"b": {"$ref": "#/definitions/A/properties/b"}},
              "definitions": {"A": {"type": "object", "properties": {"b": {"type": "integer"}}}}}
    assert inline_refs(schema) == schema
    assert validation_errors(schema, {"b": "no"}) == ["b: 'no' is not of type 'integer'"]


def test_a_ref_and_its_constraining_siblings_both_apply_after_inlining() -> None:
    point = {"type": "object", "properties": {"x": {"type": "integer"}}, "required": ["x"]}
    schema = {"type": "object", "$defs": {"P": point, "Any": True},
              "properties": {"p": {"$ref": "#/$defs/P", "required": ["y"], "description": "a point"},
                             "q": {"$ref": "#/$defs/Any", "type": "string"}}}
    inlined = inline_refs(schema)
    # merging would let the sibling's `required` replace the definition's, so {"y": 1} would pass
    assert inlined["properties"]["p"] == {"allOf": [point], "required": ["y"], "description": "a point"}
    assert validation_errors(inlined, {"p": {"y": 1}}) == ["p: 'x' is a required property"]
    assert validation_errors(inlined, {"p": {"x": 1}}) == ["p: 'y' is a required property"]
    assert validation_errors(inlined, {"q": 5}) == ["q: 5 is not of type 'string'"]  # `true` keeps its sibling


def test_a_schema_pattern_that_backtracks_too_long_on_a_value_fails_on_a_deadline_instead_of_freezing() -> None:
    import time

    # \d*\d*[xy] passes the static check (two repeats), yet takes minutes to fail on 5,000 digits
    schema = {"type": "object", "properties": {"s": {"type": "string", "pattern": "\\d*\\d*[xy]"}},
              "patternProperties": {"\\d*\\d*[yz]": {"type": "integer"}}}
    started = time.monotonic()
    assert validation_errors(schema, {"s": "1" * 5000}) == [
        "s: '111111111111111111111111111111111111111111111111111111111111'... could not be checked against "
        "'\\\\d*\\\\d*[xy]' within 1 s (the pattern backtracks too much on it); simplify the schema's pattern"
    ]
    (problem,) = validation_errors(schema, {"1" * 5000: 3})
    assert problem.startswith("(root): property name '1111") and "could not be checked" in problem
    assert time.monotonic() - started < 20
    assert not validator_for(schema).is_valid({"s": "1" * 5000})
    assert validation_errors(schema, {"s": "12x", "12y": 3}) == []  # ordinary values still match as before
    assert validation_errors(schema, {"s": "12", "12y": "no"}) == ["12y: 'no' is not of type 'integer'",
                                                                   "s: '12' does not match '\\\\d*\\\\d*[xy]'"]
