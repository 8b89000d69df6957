from __future__ import annotations

import random

import pytest

from synthesizers.sampling import SamplingError, sample_arguments
from toolkit.jsonschema_utils import validation_errors

SCHEMAS = [
    {"type": "object", "properties": {"q": {"type": "string", "minLength": 3}, "k": {"type": "integer", "minimum": 1, "maximum": 10}}, "required": ["q"]},
    {"type": "object", "properties": {"unit": {"enum": ["c", "f"]}, "when": {"type": "string", "format": "date-time"},
                                       "who": {"type": "array", "items": {"type": "string", "format": "email"}, "minItems": 1, "uniqueItems": True}},
     "required": ["unit", "when", "who"]},
    {"type": "object", "properties": {"code": {"type": "string", "pattern": "^[A-Z]{2}-\\d{3}$"},
                                       "x": {"anyOf": [{"type": "number", "exclusiveMinimum": 0}, {"type": "null"}]}},
     "required": ["code", "x"]},
    {"type": "object", "$defs": {"Item": {"type": "object", "properties": {"sku": {"type": "string"}, "n": {"type": "integer", "minimum": 1}}, "required": ["sku", "n"]}},
     "properties": {"items": {"type": "array", "items": {"$ref": "#/$defs/Item"}, "minItems": 2}}, "required": ["items"]},
]


@pytest.mark.parametrize("schema", SCHEMAS)
def test_sampled_arguments_always_satisfy_the_schema(schema: dict) -> None:
    rng = random.Random(0)
    for _ in range(50):
        assert validation_errors(schema, sample_arguments(schema, rng)) == []


def test_grounded_parameters_take_values_that_exist_even_inside_arrays_of_objects() -> None:
    rng = random.Random(1)
    args = [sample_arguments(SCHEMAS[3], rng, grounding={"sku": ["A-1", "B-2"]}) for _ in range(20)]
    assert {item["sku"] for a in args for item in a["items"]} == {"A-1", "B-2"}


def test_unsatisfiable_schemas_fail_with_a_reason() -> None:
    with pytest.raises(SamplingError, match="empty numeric range"):
        sample_arguments({"type": "object", "properties": {"n": {"type": "integer", "minimum": 5, "maximum": 1}}, "required": ["n"]}, random.Random(0))
    with pytest.raises(SamplingError, match="too complex"):
        sample_arguments({"type": "object", "properties": {"s": {"type": "string", "pattern": "^(?=x)a$"}}, "required": ["s"]}, random.Random(0))


def test_absurd_sizes_and_broken_patterns_from_untrusted_schemas_fail_fast_as_sampling_errors() -> None:
    for prop in ({"type": "string", "minLength": 2_000_000}, {"type": "string", "pattern": "^a{99999999}$"},
                 {"type": "array", "items": {"type": "string"}, "minItems": 10**7}, {"type": "string", "pattern": "[abc"}):
        with pytest.raises(SamplingError):
            sample_arguments({"type": "object", "properties": {"x": prop}, "required": ["x"]}, random.Random(0))
    long = sample_arguments({"type": "object", "properties": {"x": {"type": "string", "minLength": 300}},
                             "required": ["x"]}, random.Random(0))
    assert len(long["x"]) >= 300
