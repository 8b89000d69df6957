"""The closure check (toolkit.jsonschema_fast) gives jsonschema's verdict on every instance, valid or not.

Differential: each case runs both and compares. Hand-written cases pin the corners where JSON Schema and Python
disagree (bool is an int, 1.0 is an integer, patterns search rather than match); property tests mutate valid
instances of real schemas (the record schema, every bundled tool, the sample schema library) at random paths.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator, FormatChecker

from tests.toolkit.sample_schemas import SAMPLE_SCHEMAS, SAMPLE_TOOL_NAMES, arguments_for, sample_specs
from toolkit.environment import get_suite, list_suites
from toolkit.jsonschema_fast import compile_check
from toolkit.jsonschema_utils import inline_refs, validator_for
from toolkit.records import published_schema
from toolkit.validation.stages import _split_tools

ROOT = Path(__file__).resolve().parents[2]
CHECKER = FormatChecker()


def agree(schema: Any, instance: Any) -> bool:
    """Assert both give the same verdict; returns it."""
    fast = compile_check(schema, format_checker=CHECKER)
    assert fast is not None, f"expected a fast check for {schema}"
    want = Draft202012Validator(schema, format_checker=CHECKER).is_valid(instance)
    assert fast(instance) is want, f"{json.dumps(schema)} on {instance!r}: jsonschema says {want}"
    return want


CASES: list[tuple[Any, list[Any]]] = [
    (True, [None, 1, {"a": []}]),
    (False, [None, 1, {}]),
    ({"type": "integer"}, [1, 1.0, 1.5, True, False, "1", None, 10**30]),
    ({"type": "number"}, [1, 1.5, True, "1.5", None, float("inf")]),
    ({"type": "boolean"}, [True, 0, 1, None]),
    ({"type": ["string", "null"]}, ["a", None, 0, []]),
    ({"type": "array"}, [[], (), {}, "ab"]),
    ({"type": "object"}, [{}, [], None]),
    ({"enum": [1, "a", None, [1, 2], {"k": True}]}, [1, 1.0, True, "a", None, [1, 2], [1.0, 2], [True, 2],
                                                     {"k": True}, {"k": 1}, 2]),
    ({"enum": [False, 0]}, [False, 0, 0.0, None]),
    ({"const": True}, [True, 1, 1.0, "true"]),
    ({"const": {"a": [1, {"b": None}]}}, [{"a": [1, {"b": None}]}, {"a": [True, {"b": None}]}, {"a": [1]}]),
    ({"minimum": 0, "exclusiveMaximum": 10}, [0, -1, 9.99, 10, 10.0, "x", True, -0.0]),
    ({"exclusiveMinimum": 0, "maximum": 1}, [0, 0.0001, 1, 1.0001, False]),
    ({"minLength": 2, "maxLength": 3}, ["a", "ab", "abc", "abcd", "é€", "🙂🙂", 12]),
    ({"pattern": "b+"}, ["abba", "a", "", 3]),
    ({"pattern": "^[0-9]{5}$"}, ["12345", "1234", "123456", "12345\n"]),
    ({"format": "date"}, ["2026-11-22", "2026-13-01", "yesterday", 5]),
    ({"format": "email"}, ["a@b.c", "nope"]),
    ({"format": "not-a-format"}, ["anything"]),
    ({"properties": {"a": {"type": "string"}}, "required": ["a", "b"]}, [{"a": "x", "b": 1}, {"a": 1, "b": 1},
                                                                         {"a": "x"}, [], "a"]),
    ({"properties": {"a": {}}, "additionalProperties": False}, [{"a": 1}, {"a": 1, "b": 2}, {}]),
    ({"properties": {"a": {}}, "patternProperties": {"^x-": {"type": "integer"}}, "additionalProperties": False},
     [{"a": 1, "x-1": 2}, {"x-1": "2"}, {"y": 1}, {"ax-": 1}]),
    ({"patternProperties": {"a": {"type": "string"}, "b": {"minLength": 2}}}, [{"ab": "xy"}, {"ab": "x"},
                                                                              {"ab": 1}, {"c": 1}]),
    ({"additionalProperties": {"type": "number"}}, [{"a": 1, "b": 2.5}, {"a": "1"}, {}]),
    ({"propertyNames": {"maxLength": 2}}, [{"ab": 1}, {"abc": 1}, {}]),
    ({"minProperties": 1, "maxProperties": 2}, [{}, {"a": 1}, {"a": 1, "b": 2, "c": 3}, []]),
    ({"dependentRequired": {"a": ["b"]}}, [{"a": 1}, {"a": 1, "b": 2}, {"b": 2}]),
    ({"dependentSchemas": {"a": {"required": ["c"]}}}, [{"a": 1}, {"a": 1, "c": 0}, {}]),
    ({"items": {"type": "integer"}, "minItems": 1, "maxItems": 3}, [[1], [], [1, 2, 3, 4], [1, "2"], "x"]),
    ({"prefixItems": [{"type": "string"}, {"type": "integer"}], "items": False}, [["a", 1], ["a"], ["a", 1, 2],
                                                                                   [1, "a"], []]),
    ({"prefixItems": [{"type": "string"}], "items": {"type": "null"}}, [["a", None, None], ["a", 1]]),
    ({"uniqueItems": True}, [[1, 2], [1, 1.0], [1, True], [0, False], [[1], [True]], [{"a": 1}, {"a": 1}],
                             ["a", "a"], []]),
    ({"anyOf": [{"type": "string"}, {"minimum": 5}]}, ["a", 6, 4, None]),
    ({"oneOf": [{"type": "integer"}, {"minimum": 2}]}, [1, 3, 2.5, "x"]),
    ({"allOf": [{"minimum": 1}, {"maximum": 2}]}, [0, 1.5, 3]),
    ({"not": {"type": "null"}}, [None, 0]),
    ({"if": {"properties": {"k": {"const": "a"}}}, "then": {"required": ["x"]}, "else": {"required": ["y"]}},
     [{"k": "a", "x": 1}, {"k": "a", "y": 1}, {"k": "b", "y": 1}, {"k": "b", "x": 1}]),
    ({"then": {"type": "string"}}, [1]),  # then without if is no constraint
    ({"$defs": {"node": {"type": "object", "properties": {"next": {"$ref": "#/$defs/node"},
                                                              "v": {"type": "integer"}}}},
      "$ref": "#/$defs/node"}, [{"v": 1, "next": {"v": 2, "next": {}}}, {"v": 1, "next": {"v": "2"}}, []]),
    ({"$id": "https://example.com/s", "$defs": {"a/b": {"type": "string"}, "t~": {"minimum": 3}},
      "properties": {"p": {"$ref": "#/$defs/a~1b"}, "q": {"$ref": "#/$defs/t~0"}}},
     [{"p": "x", "q": 3}, {"p": 1}, {"q": 2}]),
    ({"properties": {"self": {"$ref": "#"}}, "required": ["v"]}, [{"v": 1, "self": {"v": 2}}, {"v": 1, "self": {}}]),
    ({"title": "annotations only", "description": "d", "default": 1, "examples": [2], "x-vendor": {"type": "null"},
      "dependencies": {"a": ["b"]}, "additionalItems": False}, [1, {"a": 1}, [1, 2]]),
]


@pytest.mark.parametrize(("schema", "instances"), CASES, ids=[json.dumps(c[0])[:60] for c in CASES])
def test_verdicts_equal_jsonschema_on_keyword_corners(schema: Any, instances: list[Any]) -> None:
    Draft202012Validator.check_schema(schema)
    verdicts = [agree(schema, x) for x in instances]
    if schema not in (True, False) and len(instances) > 1:
        assert len(set(verdicts)) == 2 or schema.get("title") == "annotations only", "a case that cannot fail"


@pytest.mark.parametrize("schema", [
    {"multipleOf": 0.1},
    {"contains": {"type": "integer"}},
    {"unevaluatedProperties": False},
    {"properties": {"a": {"$dynamicRef": "#meta"}}},
    {"$ref": "https://example.com/other.json"},
    {"$ref": "#anchor"},
    {"properties": {"a": {"$id": "https://example.com/nested", "type": "string"}}},
    {"$defs": {"x": {"$anchor": "x"}}, "$ref": "#/$defs/x"},
])
def test_keywords_it_does_not_implement_fall_back_to_jsonschema(schema: dict[str, Any]) -> None:
    assert compile_check(schema, format_checker=CHECKER) is None
    if schema == {"multipleOf": 0.1}:  # the validator users get still decides, through jsonschema
        assert validator_for(schema).is_valid(0.3) is Draft202012Validator(schema).is_valid(0.3)
        assert list(validator_for(schema).iter_errors(0.35))


def test_validator_for_reports_jsonschemas_own_errors() -> None:
    schema = {"type": "object", "properties": {"n": {"type": "integer", "minimum": 1}}, "required": ["n"]}
    validator = validator_for(schema)
    assert validator.is_valid({"n": 2}) and list(validator.iter_errors({"n": 2})) == []
    assert [e.message for e in validator.iter_errors({"n": 0})] == ["0 is less than the minimum of 1"]
    assert not validator.is_valid({})


# --- property tests over real schemas: valid instances and random mutations of them ---------------------------

JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-5, 5) | st.floats(-10, 10, allow_nan=False) | st.text(max_size=4),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner, max_size=3),
    max_leaves=6,
)


def _paths(value: Any, here: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [here]
    if isinstance(value, dict):
        for k, v in value.items():
            out += _paths(v, here + (k,))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            out += _paths(v, here + (i,))
    return out


@st.composite
def mutated(draw: st.DrawFn, value: Any) -> Any:
    """``value`` with one random edit at a random path: replaced, removed, an extra key or item, a number nudged."""
    value = copy.deepcopy(value)
    path = draw(st.sampled_from(_paths(value)))
    parent, key = None, None
    node = value
    for step in path:
        parent, key, node = node, step, node[step]
    edit = draw(st.sampled_from(["replace", "remove", "extend", "nudge", "retype"]))
    if edit == "replace" or parent is None and edit == "remove":
        new = draw(JSON_VALUES)
    elif edit == "remove":
        del parent[key]  # type: ignore[index]
        return value
    elif edit == "extend" and isinstance(node, dict):
        new = {**node, draw(st.text(max_size=6)): draw(JSON_VALUES)}
    elif edit == "extend" and isinstance(node, list):
        new = node + [copy.deepcopy(node[0]) if node and draw(st.booleans()) else draw(JSON_VALUES)]
    elif edit == "nudge" and isinstance(node, (int, float)) and not isinstance(node, bool):
        new = node + draw(st.sampled_from([-1, 1, 0.5, -1000, 1000]))
    else:
        new = {bool: 1, int: float(node) if isinstance(node, int) else 0, float: str(node), str: [node],
               list: {}, dict: [], type(None): False}.get(type(node), None)
    if parent is None:
        return new
    parent[key] = new  # type: ignore[index]
    return value


def _tool_schemas() -> list[tuple[str, dict[str, Any]]]:
    out = []
    for suite in list_suites():
        for spec in get_suite(suite).create_environment().specs():
            out.append((f"{suite}.{spec.name}.input", spec.input_schema))
            if spec.output_schema:
                out.append((f"{suite}.{spec.name}.output", spec.output_schema))
    return out


TOOL_SCHEMAS = _tool_schemas()
SPECS = {spec.name: spec for spec in sample_specs()}
_SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def test_every_bundled_schema_and_the_record_schema_get_a_fast_check() -> None:
    assert len(TOOL_SCHEMAS) > 30
    missing = [name for name, schema in TOOL_SCHEMAS if compile_check(schema, format_checker=CHECKER) is None]
    assert missing == []
    assert compile_check(inline_refs(published_schema()), format_checker=CHECKER) is not None


@pytest.mark.parametrize("key", list(SAMPLE_SCHEMAS))
@_SETTINGS
@given(data=st.data())
def test_sample_schemas_agree_on_valid_arguments_and_their_mutations(key: str, data: st.DataObject) -> None:
    spec = SPECS[SAMPLE_TOOL_NAMES[key]]
    arguments = data.draw(arguments_for(spec))
    assert agree(spec.input_schema, arguments)
    agree(spec.input_schema, data.draw(mutated(arguments)))


@_SETTINGS
@given(data=st.data())
def test_bundled_tool_schemas_agree_on_random_values_and_mutations(data: st.DataObject) -> None:
    name, schema = data.draw(st.sampled_from(TOOL_SCHEMAS))
    value = data.draw(JSON_VALUES | st.dictionaries(st.sampled_from(list(schema.get("properties") or ["x"])),
                                                    JSON_VALUES, max_size=4))
    agree(schema, value)
    agree(schema, data.draw(mutated(value)))


RECORD_SCHEMA = inline_refs(published_schema())
RECORDS = [_split_tools(json.loads(line), (), []) for line in
           (ROOT / "samples" / "data" / "sample_trajectories.jsonl").read_text(encoding="utf-8").splitlines()
           if line.strip()]


def test_sample_records_are_valid_to_both() -> None:
    assert RECORDS and all(agree(RECORD_SCHEMA, r) for r in RECORDS)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_record_schema_agrees_on_mutated_records(data: st.DataObject) -> None:
    record = data.draw(st.sampled_from(RECORDS))
    agree(RECORD_SCHEMA, data.draw(mutated(record)))
