"""Function → tool spec: JSON Schemas from type hints, descriptions from docstrings, problems reported at once."""

from __future__ import annotations

import dataclasses
import enum
import functools
import socket
import sys
import typing
from collections.abc import Callable
from typing import Annotated, Any, Literal, Optional, Union

import pytest
import typing_extensions
from pydantic import BaseModel, Field

from toolkit._schema import function_schema
from toolkit.errors import ToolDefinitionError, UserError
from toolkit.jsonschema_utils import validation_errors
from toolkit.python_tools import PythonToolset


def spec_of(fn: Callable[..., Any], **options: Any):
    ts = PythonToolset()
    ts.add(fn, **options)
    return ts.specs()[0]


def problems_of(fn: Callable[..., Any], **options: Any) -> list[str]:
    with pytest.raises(ToolDefinitionError) as info:
        PythonToolset().add(fn, **options)
    return info.value.problems


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


# ---------------------------------------------------------------- definition problems, each with its fix


def untyped(a, b: int, c=3):  # type: ignore[no-untyped-def]
    return a


def star_args(*values: int) -> int:
    return 0


def star_kwargs(**options: str) -> int:
    return 0


def positional_only(a: int, /) -> int:
    return a


def underscored(_secret: str) -> str:
    return _secret


def takes_socket(conn: socket.socket) -> str:
    return ""


def returns_callable() -> Callable[[int], int]:
    return abs


def bad_default(when: object = object()) -> None:
    return None


def generator(n: int):  # type: ignore[no-untyped-def]
    yield from range(n)


def test_a_parameter_without_a_type_hint_is_reported_per_parameter_with_a_suggested_annotation():
    problems = problems_of(untyped)
    assert len(problems) == 2
    assert "parameter 'a' has no type hint" in problems[0] and "`a: str`" in problems[0]
    assert "parameter 'c' has no type hint" in problems[1] and "`c: int`" in problems[1]


@pytest.mark.parametrize(
    ("fn", "needle", "fix"),
    [
        (star_args, "*values is not supported", "values: list[str]"),
        (star_kwargs, "**options is not supported", "dict[str, str]"),
        (positional_only, "positional-only", "remove the `/`"),
        (underscored, "starts with an underscore", "rename it"),
        (takes_socket, "socket.socket, which has no JSON Schema", "JSON-friendly type"),
        (returns_callable, "the return type", "drop the return annotation"),
        (bad_default, "is not JSON serializable", "JSON value"),
        (generator, "it is a generator", "return a list"),
    ],
)
def test_each_unsupported_definition_is_reported_with_its_fix(fn, needle, fix):
    problems = problems_of(fn)
    assert len(problems) == 1
    assert needle in problems[0] and fix in problems[0]


def test_an_invalid_tool_name_is_reported_with_the_allowed_pattern():
    for name in ("1st", "has space", "x" * 65, "dash-name", ""):
        (problem,) = problems_of(no_docstring, name=name)
        assert "invalid tool name" in problem and "name='...'" in problem
    (problem,) = problems_of(lambda: None)  # "<lambda>" is not a tool name
    assert "'<lambda>'" in problem


def test_registering_a_name_twice_is_reported_with_how_to_rename():
    ts = PythonToolset(name="suite")
    ts.add(no_docstring)
    with pytest.raises(ToolDefinitionError) as info:
        ts.add(untyped, name="no_docstring")
    assert "already registered in toolset 'suite'" in str(info.value)
    ts.add(search, name="other_name")
    assert ts.names() == ["no_docstring", "other_name"]


def everything_wrong(a, *rest: int, _b: socket.socket, **kw: int) -> Callable[[], None]:  # type: ignore[no-untyped-def]
    return lambda: None


def test_all_problems_of_one_definition_are_reported_together_in_one_error():
    ts = PythonToolset(name="suite")
    ts.add(no_docstring, name="dup")
    with pytest.raises(ToolDefinitionError) as info:
        ts.add(everything_wrong, name="dup")
    err = info.value
    assert err.tool_name == "dup"
    text = "\n".join(err.problems)
    for needle in (
        "already registered",
        "parameter 'a' has no type hint",
        "*rest is not supported",
        "parameter '_b' starts with an underscore",
        "**kw is not supported",
        "the return type",
    ):
        assert needle in text
    assert len(err.problems) == 6
    assert str(err).startswith("tool 'dup' cannot be registered (6 problem(s)):")
    assert isinstance(err, UserError)
    assert ts.names() == ["dup"]  # nothing half-registered


def unresolvable(x: "NoSuchType") -> int:  # type: ignore[name-defined]  # noqa: F821
    return 0


def undefined_name(x: Missing) -> int:  # type: ignore[name-defined]  # noqa: F821
    return 0


def test_an_unresolvable_type_hint_is_reported_with_where_to_define_it():
    (problem,) = problems_of(unresolvable)
    assert "'NoSuchType'" in problem and "module level" in problem
    (problem,) = problems_of(undefined_name)
    assert "name 'Missing' is not defined" in problem and "module level" in problem


class StdlibTypedDict(typing.TypedDict):
    a: int


def uses_stdlib_typeddict(x: int) -> StdlibTypedDict:
    return {"a": x}


@pytest.mark.skipif(sys.version_info >= (3, 12), reason="typing.TypedDict is supported from Python 3.12")
def test_a_stdlib_typeddict_on_python_311_is_reported_with_the_typing_extensions_fix():
    (problem,) = problems_of(uses_stdlib_typeddict)
    assert "typing.TypedDict is not supported" in problem and "typing_extensions" in problem


def add_numbers(a: int, b: int) -> int:
    return a + b


def test_a_partial_needs_an_explicit_name_and_its_bound_arguments_become_defaults():
    part = functools.partial(add_numbers, b=2)
    (problem,) = problems_of(part)
    assert "cannot infer a tool name" in problem and "name='...'" in problem
    spec = spec_of(part, name="add_two")
    assert spec.input_schema["properties"]["b"] == {"type": "integer", "default": 2}
    assert spec.input_schema["required"] == ["a"]


def test_the_schema_pieces_are_available_without_a_toolset():
    fs = function_schema(search)
    assert fs.name == "search" and not fs.is_async and fs.wrap_output
    assert fs.input_schema == spec_of(search).input_schema


def test_a_default_that_its_own_type_rejects_is_a_definition_error_with_the_fix() -> None:
    import pytest

    from toolkit.errors import ToolDefinitionError
    from toolkit.python_tools import PythonToolset

    def count(n: int = "x") -> int:  # type: ignore[assignment]
        """Count.

        Args:
            n: How many.
        """
        return 0

    def scale(x: int = None) -> int:  # type: ignore[assignment]  # noqa: RUF013
        """Scale.

        Args:
            x: Factor.
        """
        return 0

    for fn in (count, scale):
        with pytest.raises(ToolDefinitionError, match="does not allow.*X \\| None"):
            PythonToolset("t").add(fn)
