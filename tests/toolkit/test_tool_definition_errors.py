"""Function → tool spec: every definition problem is reported, all at once, each with its fix."""

from __future__ import annotations

import functools
import socket
import sys
import typing
from collections.abc import Callable

import pytest

from tests.toolkit.test_schema_from_functions import no_docstring, search
from tests.toolkit.toolset_helpers import problems_of, spec_of
from toolkit._schema import function_schema
from toolkit.errors import ToolDefinitionError, UserError
from toolkit.python_tools import PythonToolset

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
