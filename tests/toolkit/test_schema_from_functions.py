"""Function → tool spec: JSON Schemas from type hints, descriptions from docstrings. Definition problems and their
fixes: test_tool_definition_errors.py."""

from __future__ import annotations

import dataclasses
import enum
from typing import Annotated, Literal, Optional, Union

import pytest
import typing_extensions
from pydantic import BaseModel, Field

from tests.toolkit.toolset_helpers import spec_of
from toolkit.jsonschema_utils import validation_errors

# ---------------------------------------------------------------- types used by the tools below


class Color(enum.Enum):
    RED = "red"
    GREEN = "green"


class Address(BaseModel):
    """A postal address."""

    street: str
    city: str = "Paris"


class Person(BaseModel):
    name: str
    address: Address
    tags: list[str] = []


@dataclasses.dataclass
class Point:
    x: float
    y: float = 0.0


class Span(typing_extensions.TypedDict):
    start: int
    end: int


class Circle(BaseModel):
    kind: Literal["circle"]
    radius: float


class Square(BaseModel):
    kind: Literal["square"]
    side: float


Shape = Annotated[Union[Circle, Square], Field(discriminator="kind")]


class Tree(BaseModel):
    label: str
    children: list[Tree] = []


# ---------------------------------------------------------------- exact schemas of representative functions


def search(query: str, limit: int = 10, exact: bool = False, language: Optional[str] = None) -> list[str]:
    """Search the corpus.

    Returns the matching titles, best first.

    Args:
        query: Words to look for.
        limit: How many titles to return at most.
        exact: Match the whole phrase.
        language: ISO code to restrict results to, if any.

    Returns:
        The titles.
    """
    return []


def test_a_plain_function_gives_an_exact_input_schema_with_docstring_descriptions_and_a_wrapped_output():
    spec = spec_of(search)
    assert spec.name == "search"
    assert spec.description == "Search the corpus.\n\nReturns the matching titles, best first."
    assert spec.input_schema == {
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "query": {"type": "string", "description": "Words to look for."},
            "limit": {"type": "integer", "default": 10, "description": "How many titles to return at most."},
            "exact": {"type": "boolean", "default": False, "description": "Match the whole phrase."},
            "language": {
                "anyOf": [{"type": "string"}, {"type": "null"}],
                "default": None,
                "description": "ISO code to restrict results to, if any.",
            },
        },
        "required": ["query"],
    }
    assert spec.output_schema == {
        "type": "object",
        "properties": {"result": {"type": "array", "items": {"type": "string"}}},
        "required": ["result"],
    }


def collections_tool(
    color: Color,
    mode: Literal["fast", "slow"],
    pair: tuple[int, str],
    numbers: tuple[int, ...],
    unique: set[str],
    weights: dict[str, float],
    maybe: int | None,
) -> None:
    """Exercise container hints."""


def test_enums_literals_tuples_sets_dicts_and_pep604_unions_map_to_their_json_schema_forms():
    props = spec_of(collections_tool).input_schema["properties"]
    assert props == {
        "color": {"type": "string", "enum": ["red", "green"]},
        "mode": {"type": "string", "enum": ["fast", "slow"]},
        "pair": {
            "type": "array",
            "prefixItems": [{"type": "integer"}, {"type": "string"}],
            "minItems": 2,
            "maxItems": 2,
        },
        "numbers": {"type": "array", "items": {"type": "integer"}},
        "unique": {"type": "array", "items": {"type": "string"}, "uniqueItems": True},
        "weights": {"type": "object", "additionalProperties": {"type": "number"}},
        "maybe": {"anyOf": [{"type": "integer"}, {"type": "null"}]},
    }
    assert spec_of(collections_tool).output_schema is None


def register_person(person: Person, at: Point, span: Span) -> Person:
    """Store a person."""
    return person


def test_nested_models_dataclasses_and_typeddicts_are_inlined_as_plain_objects_without_refs():
    spec = spec_of(register_person)
    assert "$defs" not in spec.input_schema and "$ref" not in str(spec.input_schema)
    assert spec.input_schema["properties"] == {
        "person": {
            "type": "object",
            "properties": {
                "name": {"type": "string"},
                "address": {
                    "type": "object",
                    "description": "A postal address.",
                    "properties": {"street": {"type": "string"}, "city": {"type": "string", "default": "Paris"}},
                    "required": ["street"],
                },
                "tags": {"type": "array", "items": {"type": "string"}, "default": []},
            },
            "required": ["name", "address"],
        },
        "at": {
            "type": "object",
            "properties": {"x": {"type": "number"}, "y": {"type": "number", "default": 0.0}},
            "required": ["x"],
        },
        "span": {
            "type": "object",
            "properties": {"start": {"type": "integer"}, "end": {"type": "integer"}},
            "required": ["start", "end"],
        },
    }
    # an object-like return type is its own output schema, not wrapped
    assert spec.output_schema == spec.input_schema["properties"]["person"]


def draw(shapes: list[Shape], grid: list[list[Point]], fill: Color | None = None) -> int:
    """Draw shapes on a grid."""
    return len(shapes)


def test_discriminated_unions_become_oneof_and_nested_arrays_of_objects_stay_valid_json_schema():
    spec = spec_of(draw)
    props = spec.input_schema["properties"]
    assert props["shapes"] == {
        "type": "array",
        "items": {
            "oneOf": [
                {
                    "type": "object",
                    "properties": {"kind": {"const": "circle", "type": "string"}, "radius": {"type": "number"}},
                    "required": ["kind", "radius"],
                },
                {
                    "type": "object",
                    "properties": {"kind": {"const": "square", "type": "string"}, "side": {"type": "number"}},
                    "required": ["kind", "side"],
                },
            ],
            "discriminator": {"propertyName": "kind"},  # the mapping pointed into $defs, which were inlined
        },
    }
    assert props["grid"]["items"]["items"]["properties"]["x"] == {"type": "number"}
    assert props["fill"] == {"anyOf": [{"type": "string", "enum": ["red", "green"]}, {"type": "null"}], "default": None}
    good = {"shapes": [{"kind": "circle", "radius": 1}], "grid": [[{"x": 1}]]}
    assert validation_errors(spec.input_schema, good) == []
    bad = {"shapes": [{"kind": "square", "radius": 1}], "grid": [[{"y": 1}]]}
    assert len(validation_errors(spec.input_schema, bad)) == 2


def grow(tree: Tree) -> Tree:
    """Grow a tree."""
    return tree


def test_recursive_models_keep_their_defs_so_the_schema_still_validates():
    spec = spec_of(grow)
    assert spec.input_schema["$defs"]["Tree"]["properties"]["children"]["items"] == {"$ref": "#/$defs/Tree"}
    assert validation_errors(spec.input_schema, {"tree": {"label": "a", "children": [{"label": "b"}]}}) == []
    assert validation_errors(spec.input_schema, {"tree": {"label": "a", "children": [{"nolabel": 1}]}}) != []
    assert spec.output_schema is not None and spec.output_schema["type"] == "object"
    assert validation_errors(spec.output_schema, {"label": "a", "children": [{"label": "b"}]}) == []


def constrained(
    count: Annotated[int, Field(ge=1, le=100, description="How many, from 1 to 100.")],
    code: Annotated[str, Field(pattern=r"^[A-Z]{3}$")],
    title: str = "untitled",
) -> None:
    """Constrained arguments.

    Args:
        count: Overridden by the Field description.
        code: Three capital letters.
        title: A parameter that happens to be called title.
    """


def test_annotated_field_constraints_are_kept_and_an_explicit_field_description_beats_the_docstring():
    spec = spec_of(constrained)
    props = spec.input_schema["properties"]
    assert props["count"] == {
        "type": "integer", "minimum": 1, "maximum": 100, "description": "How many, from 1 to 100."
    }  # fmt: skip
    assert props["code"] == {"type": "string", "pattern": "^[A-Z]{3}$", "description": "Three capital letters."}
    # titles are stripped from the schema, but a *parameter* named "title" is data and survives
    assert props["title"] == {
        "type": "string", "default": "untitled", "description": "A parameter that happens to be called title."
    }  # fmt: skip
    assert spec.input_schema["required"] == ["count", "code"]


def returns_point() -> Point:
    return Point(1, 2)


def returns_span() -> Span:
    return {"start": 0, "end": 1}


def returns_counts() -> dict[str, int]:
    return {}


def returns_people() -> list[Person]:
    return []


def returns_optional_model() -> Address | None:
    return None


def returns_nothing() -> None:
    return None


def unannotated_return(x: int):
    return x


@pytest.mark.parametrize(
    ("fn", "expected"),
    [
        (
            returns_point,
            {"type": "object", "properties": {"x": {"type": "number"}, "y": {"type": "number", "default": 0.0}},
             "required": ["x"]},
        ),
        (
            returns_span,
            {"type": "object", "properties": {"start": {"type": "integer"}, "end": {"type": "integer"}},
             "required": ["start", "end"]},
        ),
        (returns_counts, {"type": "object", "additionalProperties": {"type": "integer"}}),
        (returns_nothing, None),
        (unannotated_return, None),
    ],
)
def test_object_like_return_types_are_their_own_output_schema_and_none_or_no_annotation_gives_none(fn, expected):
    assert spec_of(fn).output_schema == expected


def test_non_object_return_types_are_wrapped_in_a_required_result_property():
    people = spec_of(returns_people).output_schema
    assert people["required"] == ["result"] and people["properties"]["result"]["type"] == "array"
    assert people["properties"]["result"]["items"]["properties"]["address"]["type"] == "object"
    optional = spec_of(returns_optional_model).output_schema
    assert optional["properties"]["result"]["anyOf"][1] == {"type": "null"}


# ---------------------------------------------------------------- docstring styles


def google_style(city: str, days: int = 1) -> str:
    """Forecast the weather.

    Uses the bundled model.

    Note:
        Forecasts past 7 days are guesses.

    Args:
        city: City name, in English.
        days: How many days
            ahead to forecast.

    Returns:
        A short forecast.

    Raises:
        ValueError: For unknown cities.
    """
    return ""


def numpy_style(city: str, days: int = 1) -> str:
    """Forecast the weather.

    Uses the bundled model.

    Parameters
    ----------
    city : str
        City name, in English.
    days : int
        How many days
        ahead to forecast.

    Returns
    -------
    str
        A short forecast.
    """
    return ""


def sphinx_style(city: str, days: int = 1) -> str:
    """Forecast the weather.

    Uses the bundled model.

    :param city: City name, in English.
    :param days: How many days
        ahead to forecast.
    :returns: A short forecast.
    :raises ValueError: For unknown cities.
    """
    return ""


@pytest.mark.parametrize("fn", [google_style, numpy_style, sphinx_style], ids=["google", "numpy", "sphinx"])
def test_google_numpy_and_sphinx_docstrings_give_parameter_descriptions_and_a_description_without_sections(fn):
    spec = spec_of(fn, name="forecast")
    assert spec.input_schema["properties"]["city"]["description"] == "City name, in English."
    assert spec.input_schema["properties"]["days"]["description"] == "How many days ahead to forecast."
    assert spec.description.startswith("Forecast the weather.\n\nUses the bundled model.")
    for leaked in ("City name", "A short forecast", "ValueError", ":param", "Args:", "----"):
        assert leaked not in spec.description


def test_admonitions_stay_in_the_description_and_explicit_options_override_the_docstring():
    assert spec_of(google_style).description.endswith("Note: Forecasts past 7 days are guesses.")
    spec = spec_of(google_style, name="weather", description="Custom text.", deterministic=False)
    assert (spec.name, spec.description, spec.deterministic) == ("weather", "Custom text.", False)


def no_docstring(x: int) -> int:
    return x


def test_a_function_without_a_docstring_gets_an_empty_description_and_undescribed_parameters():
    spec = spec_of(no_docstring)
    assert spec.description == ""
    assert spec.input_schema["properties"]["x"] == {"type": "integer"}
