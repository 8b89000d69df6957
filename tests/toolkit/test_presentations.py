"""Hand-written behaviour of the three presentations' rendering: exact tool listings, calls, results, names.
Parsing, leniency and bounds: test_presentation_parsing.py."""

from __future__ import annotations

import pytest

from tests.toolkit.presentation_specs import PARIS, READ, ROME, SPECS, WEATHER
from toolkit.errors import UserError
from toolkit.presentations import PRESENTATION_NAMES, get_presentation
from toolkit.specs import ToolCall, ToolResult, ToolSpec


_SCHEMA_JSON = (
    '{"type": "object", "properties": {"city": {"type": "string", "description": "City name, e.g. Paris."}, '
    '"unit": {"type": "string", "enum": ["celsius", "fahrenheit"], "default": "celsius", "description": '
    '"Temperature unit."}, "days": {"type": "integer", "minimum": 1, "maximum": 7, "description": '
    '"Forecast length."}, "near": {"type": "object", "description": "A point to refine the city.", '
    '"properties": {"lat": {"type": "number"}, "lon": {"type": "number"}}, "required": ["lat", "lon"]}, '
    '"note": {"type": ["string", "null"]}}, "required": ["city"]}'
)



# -- rendering ------------------------------------------------------------------------------------------


def test_json_tools_for_template_are_openai_function_tools_with_the_spec_unedited():
    tools = get_presentation("json").tools_for_template([WEATHER])  # type: ignore[attr-defined]
    assert tools == [
        {
            "type": "function",
            "function": {
                "name": "get-weather",
                "description": WEATHER.description,
                "parameters": WEATHER.input_schema,
            },
        }
    ]


def test_json_renders_tools_as_one_openai_function_per_line():
    assert get_presentation("json").render_tools([WEATHER]) == (
        '{"type": "function", "function": {"name": "get-weather", "description": '
        f'"Get the current weather in a city.", "parameters": {_SCHEMA_JSON}}}}}'
    )


def test_mcp_renders_tools_as_the_tools_list_entries():
    assert get_presentation("mcp").render_tools([WEATHER]) == (
        '[\n{"name": "get-weather", "description": "Get the current weather in a city.", "inputSchema": '
        f"{_SCHEMA_JSON}}}\n]"
    )


def test_python_renders_a_typed_keyword_only_stub_with_docstring_literal_and_typeddict():
    assert get_presentation("python").render_tools([WEATHER, READ]) == '''\
from typing import Literal, TypedDict


class GetWeatherNear(TypedDict):
    lat: float
    lon: float


def get_weather(
    *,
    city: str,
    unit: Literal["celsius", "fahrenheit"] = "celsius",
    days: int | None = None,
    near: GetWeatherNear | None = None,
    note: str | None = None,
):
    """Get the current weather in a city.

    Args:
        city: City name, e.g. Paris.
        unit: Temperature unit.
        days: Forecast length. (minimum: 1; maximum: 7)
        near: A point to refine the city.
    """


def files_read(*, path: str):
    """Read a file."""'''


def test_each_presentation_renders_parallel_calls_exactly_as_documented():
    calls = [PARIS, ROME]
    assert get_presentation("json").render_calls(calls, SPECS) == (
        "<tool_call>\n"
        '{"name": "get-weather", "arguments": {"city": "Paris", "unit": "celsius"}}\n'
        "</tool_call>\n"
        "<tool_call>\n"
        '{"name": "get-weather", "arguments": {"city": "Rome", "near": {"lat": 41.9, "lon": 12.5}}}\n'
        "</tool_call>"
    )
    assert get_presentation("mcp").render_calls(calls, SPECS) == (
        '```json\n[{"name": "get-weather", "arguments": {"city": "Paris", "unit": "celsius"}}, '
        '{"name": "get-weather", "arguments": {"city": "Rome", "near": {"lat": 41.9, "lon": 12.5}}}]\n```'
    )
    assert get_presentation("python").render_calls(calls, SPECS) == (
        '```python\nget_weather(city="Paris", unit="celsius")\n'
        'get_weather(city="Rome", near={"lat": 41.9, "lon": 12.5})\n```'
    )


def test_mcp_writes_a_single_call_as_one_object_not_a_list():
    assert get_presentation("mcp").render_calls([PARIS]) == (
        '```json\n{"name": "get-weather", "arguments": {"city": "Paris", "unit": "celsius"}}\n```'
    )


def test_python_call_values_keep_their_json_types_and_escape_strings():
    call = ToolCall(name="files.read", arguments={"path": 'a "quoted"\\path\nline', "n": -0.5, "ok": None})
    text = get_presentation("python").render_calls([call], SPECS)
    assert text == '```python\nfiles_read(path="a \\"quoted\\"\\\\path\\nline", n=-0.5, ok=None)\n```'
    assert get_presentation("python").parse(text, SPECS, strict=True).calls == [call]


def test_system_prompts_share_one_skeleton_and_show_names_and_descriptions_unedited():
    prompts = {n: get_presentation(n).system_prompt(SPECS, preamble="Be kind.") for n in PRESENTATION_NAMES}
    for prompt in prompts.values():
        assert prompt.startswith("Be kind.\n\n# Tools\n\nYou may call one or more of the following tools")
        assert prompt.endswith("If no tool fits the request, answer in plain text without any tool call.")
        for spec in SPECS:
            assert spec.description in prompt
    assert "get-weather" in prompts["json"] and "get-weather" in prompts["mcp"]
    assert "def get_weather(" in prompts["python"]


def test_tool_results_render_identically_in_every_presentation():
    result = ToolResult(content='{"temp": 21}')
    rendered = {get_presentation(n).render_result(result, name="get-weather") for n in PRESENTATION_NAMES}
    body = '{"name": "get-weather", "content": "{\\"temp\\": 21}"}'
    assert rendered == {f"<tool_response>\n{body}\n</tool_response>"}


def test_output_schemas_are_shown_only_when_asked_and_then_in_mcp_and_python_alike():
    spec = READ.model_copy(
        update={"output_schema": {"type": "object", "properties": {"text": {"type": "string"}}}}
    )
    assert "outputSchema" not in get_presentation("mcp").render_tools([spec])
    assert "->" not in get_presentation("python").render_tools([spec])
    shown = get_presentation("mcp", include_output_schema=True).render_tools([spec])
    assert '"outputSchema": {"type": "object"' in shown
    stub = get_presentation("python", include_output_schema=True).render_tools([spec])
    assert "def files_read(*, path: str) -> FilesReadResult:" in stub
    assert "class FilesReadResult(TypedDict):\n    text: NotRequired[str]" in stub


def test_python_stubs_render_refs_as_named_classes_and_odd_keys_with_the_functional_typeddict_form():
    spec = ToolSpec(
        name="draw",
        input_schema={
            "type": "object",
            "$defs": {
                "Tree": {
                    "type": "object",
                    "properties": {
                        "label": {"type": "string"},
                        "kids": {"type": "array", "items": {"$ref": "#/$defs/Tree"}},
                    },
                    "required": ["label"],
                }
            },
            "properties": {
                "tree": {"$ref": "#/$defs/Tree"},
                "style": {
                    "type": "object",
                    "properties": {"line-width": {"type": "integer", "description": "In px."}},
                },
                "class": {"type": "string", "format": "email"},
            },
            "required": ["tree"],
        },
    )
    assert get_presentation("python").render_tools([spec]) == '''\
from typing import NotRequired, TypedDict


class Tree(TypedDict):
    label: str
    kids: NotRequired[list["Tree"]]


DrawStyle = TypedDict(
    "DrawStyle",
    {
        "line-width": NotRequired[int],  # In px.
    },
)


def draw(*, tree: Tree, style: DrawStyle | None = None, class_: str | None = None):
    """Args:
        class_: (format: email)
    """'''


def test_names_that_are_not_identifiers_map_to_distinct_identifiers_and_back():
    specs = [
        ToolSpec(
            name="get-time",
            input_schema={
                "type": "object",
                "properties": {"first-name": {"type": "string"}, "first_name": {"type": "string"}},
            },
        ),
        ToolSpec(name="get_time", input_schema={"type": "object", "properties": {}}),
    ]
    call = ToolCall(name="get-time", arguments={"first-name": "a", "first_name": "b"})
    python = get_presentation("python")
    text = python.render_calls([call, ToolCall(name="get_time")], specs)
    assert text == '```python\nget_time_2(first_name_2="a", first_name="b")\nget_time()\n```'
    assert python.parse(text, specs, strict=True).calls == [call, ToolCall(name="get_time")]


def test_python_render_refuses_a_non_identifier_tool_name_without_specs():
    with pytest.raises(UserError, match="pass the specs"):
        get_presentation("python").render_calls([PARIS])


def test_python_render_refuses_names_that_would_read_back_as_another_name():
    python = get_presentation("python")
    with pytest.raises(UserError, match="would read back as 'files.read'"):
        python.render_calls([ToolCall(name="files_read", arguments={})], SPECS)
    odd = ToolSpec(name="t", input_schema={"type": "object", "properties": {"a-b": {"type": "string"}}})
    with pytest.raises(UserError, match="'a_b'"):
        python.render_calls([ToolCall(name="t", arguments={"a_b": "x"})], [odd])


def test_unknown_presentation_names_are_refused_with_the_choices():
    with pytest.raises(UserError, match="json, mcp, python"):
        get_presentation("xml")


def test_duplicate_tool_names_are_refused():
    with pytest.raises(UserError, match="unique"):
        get_presentation("mcp").render_tools([READ, READ])
