"""Hand-written behaviour of the three presentations' parsers: no call vs broken call, leniency, bounds."""

from __future__ import annotations

import pytest

from tests.toolkit.presentation_specs import PARIS, READ, READ_CALL, ROME, SPECS
from toolkit.errors import ParseError
from toolkit.presentations import LENIENCIES, PRESENTATION_NAMES, ParseLimits, get_presentation
from toolkit.specs import ToolCall, ToolSpec

# -- parsing: no call, broken calls ---------------------------------------------------------------------


@pytest.mark.parametrize("name", PRESENTATION_NAMES)
@pytest.mark.parametrize("strict", [True, False])
@pytest.mark.parametrize(
    "text",
    [
        "The weather in Paris is sunny.",
        'Here is the JSON you asked for: {"name": "Bob", "age": 3}',
        '{"name": "Bob", "age": 3}',
        "The answer is 42.",
        "",
    ],
)
def test_plain_answers_parse_as_no_call_without_error(name, strict, text):
    result = get_presentation(name).parse(text, SPECS, strict=strict)
    assert (result.status, result.calls, result.error, result.had_call_syntax) == ("no_call", [], None, False)
    assert result.content == text.strip()


@pytest.mark.parametrize("strict", [True, False])
@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        ("json", '<tool_call>{"name": "get-weather", "arguments": {"city": 1}</tool_call>', "invalid JSON"),
        ("json", "<tool_call>\n</tool_call>", "empty call block"),
        ("json", '<tool_call>\n{"arguments": {}}\n</tool_call>', "non-empty string 'name'"),
        ("json", '<tool_call>{"name": "get-weather", "arguments": [1]}</tool_call>', "must be a JSON object"),
        ("mcp", '```json\n{"name": "get-weather", "arguments": {"city": "Paris",,}}\n```', "invalid JSON"),
        ("mcp", "```json\n[]\n```", "empty list of calls"),
        ("mcp", '```json\n{"name": "get-weather", "arguments": {"a": 1, "a": 2}}\n```', "duplicate key 'a'"),
        ("mcp", '```json\n{"name": "get-weather", "arguments": {"x": NaN}}\n```', "NaN is not valid JSON"),
        ("mcp", '```json\n{"name": "get-weather", "arguments": {"x": 1e999}}\n```', "not valid JSON"),
        ("python", '```python\nget_weather(city=os.getenv("HOME"))\n```', "function call"),
        ("python", "```python\nget_weather(city=secret)\n```", "name 'secret' is not a literal"),
        ("python", '```python\nget_weather(city="a" + "b")\n```', "not a literal"),
        ("python", '```python\nget_weather(city=f"{x}")\n```', "f-string"),
        ("python", "```python\nget_weather(city={1, 2})\n```", "set"),
        ("python", '```python\nget_weather(**{"city": "a"})\n```', "'**' unpacking"),
        ("python", '```python\nx = get_weather(city="a")\n```', "is not a tool call"),
        ("python", '```python\nget_weather(city="a"\n```', "invalid Python syntax"),
        ("python", '```python\nget_weather("a", "b", "c", 1, {}, None, "z")\n```', "cannot be bound"),
        ("python", '```python\nget_weather(city="a", days=1j)\n```', "complex"),
    ],
)
def test_broken_call_syntax_is_a_parse_error_never_a_no_call(name, text, message, strict):
    result = get_presentation(name).parse(text, SPECS, strict=strict)
    assert result.status == "error" and result.had_call_syntax and result.calls == []
    assert message in result.error
    with pytest.raises(ParseError):
        result.raise_for_error()


def test_python_arguments_are_never_evaluated(tmp_path):
    canary = tmp_path / "pwned"
    text = f'```python\nfiles_read(path=open({str(canary)!r}, "w"))\n```'
    for strict in (True, False):
        result = get_presentation("python").parse(text, SPECS, strict=strict)
        assert result.status == "error" and "function call" in result.error
    assert not canary.exists()


# -- leniency -------------------------------------------------------------------------------------------

_PARIS_JSON = '{"name": "get-weather", "arguments": {"city": "Paris"}}'
_PARIS_CALL = ToolCall(name="get-weather", arguments={"city": "Paris"})
_PARIS_STRING_ARGS = '{"name": "get-weather", "arguments": "{\\"city\\": \\"Paris\\"}"}'

_PY_JSON, _SHAPE = "python_style_json", "alternate_call_shape"
LENIENT_ONLY = [
    ("json", f"<tool_call>\n{_PARIS_JSON}", "unclosed_block"),
    ("mcp", f"```json\n{_PARIS_JSON}", "unclosed_block"),
    ("python", '```python\nget_weather(city="Paris")', "unclosed_block"),
    ("json", f"```json\n{_PARIS_JSON}\n```", "foreign_delimiter"),
    ("mcp", f"<tool_call>\n{_PARIS_JSON}\n</tool_call>", "foreign_delimiter"),
    ("python", '```\nget_weather(city="Paris")\n```', "foreign_delimiter"),
    ("python", '<tool_call>get_weather(city="Paris")</tool_call>', "foreign_delimiter"),
    ("json", f"<tool_call>\n```json\n{_PARIS_JSON}\n```\n</tool_call>", "nested_delimiters"),
    ("json", f"Let me check.\n{_PARIS_JSON}", "bare_calls"),
    ("mcp", _PARIS_JSON, "bare_calls"),
    ("python", 'I will look it up.\nget_weather(city="Paris")', "bare_calls"),
    ("json", "<tool_call>{'name': 'get-weather', 'arguments': {'city': 'Paris',},}</tool_call>", _PY_JSON),
    ("mcp", "```json\n{'name': 'get-weather', 'arguments': {'city': 'Paris'}}\n```", "python_style_json"),
    ("python", "```python\nget_weather(city='Paris', note=null)\n```", "json_literals"),
    ("json", f"<tool_call>{_PARIS_STRING_ARGS}</tool_call>", "arguments_as_string"),
    ("mcp", f"```json\n{_PARIS_STRING_ARGS}\n```", "arguments_as_string"),
    ("json", f"<tool_call>{_PARIS_JSON.replace('arguments', 'parameters')}</tool_call>", _SHAPE),
    ("mcp", '```json\n{"type": "function", "function": ' + _PARIS_JSON + "}\n```", "alternate_call_shape"),
    ("json", f"<tool_call>[{_PARIS_JSON}]</tool_call>", "call_list_in_block"),
    ("json", f"<tool_call>\n{_PARIS_JSON}\n{_PARIS_JSON}\n</tool_call>", "json_lines"),
    ("mcp", f"```json\n{_PARIS_JSON}\n{_PARIS_JSON}\n```", "json_lines"),
    ("python", '```python\n[get_weather(city="Paris")]\n```', "python_call_list"),
    ("python", '```python\nget_weather("Paris")\n```', "positional_arguments"),
]


@pytest.mark.parametrize(("name", "text", "rule"), LENIENT_ONLY)
def test_common_deviations_are_rejected_by_strict_and_accepted_by_lenient(name, text, rule):
    presentation = get_presentation(name)
    strict = presentation.parse(text, SPECS, strict=True)
    assert strict.status == "error" and rule in strict.error and strict.had_call_syntax
    lenient = presentation.parse(text, SPECS, strict=False)
    assert lenient.error is None and rule in lenient.leniencies
    expected = dict(_PARIS_CALL.arguments, **({"note": None} if rule == "json_literals" else {}))
    times = 2 if rule == "json_lines" else 1
    assert lenient.calls == [ToolCall(name="get-weather", arguments=expected)] * times


def test_every_leniency_rule_is_exercised_by_a_test():
    covered = {rule for _, _, rule in LENIENT_ONLY} | {"several_blocks", "dotted_name", "constructor_call"}
    assert covered == set(LENIENCIES)


@pytest.mark.parametrize("name", ["mcp", "python"])
def test_calls_spread_over_several_blocks_need_lenient_mode_where_one_block_is_the_format(name):
    presentation = get_presentation(name)
    text = presentation.render_calls([PARIS], SPECS) + "\nand\n" + presentation.render_calls([ROME], SPECS)
    assert "several_blocks" in presentation.parse(text, SPECS, strict=True).error
    assert presentation.parse(text, SPECS, strict=False).calls == [PARIS, ROME]
    json = get_presentation("json")
    assert json.parse(json.render_calls([PARIS, ROME]), strict=True).calls == [PARIS, ROME]


def test_dotted_tool_names_written_as_attribute_access_are_lenient_python():
    text = '```python\nfiles.read(path="a.txt")\n```'
    assert "dotted_name" in get_presentation("python").parse(text, SPECS, strict=True).error
    assert get_presentation("python").parse(text, SPECS, strict=False).calls == [
        ToolCall(name="files.read", arguments={"path": "a.txt"})
    ]


def test_foreign_blocks_that_are_not_calls_stay_prose_in_lenient_mode():
    text = 'Use this snippet:\n```python\nprint("hello")\n```'
    for name in ("json", "mcp"):
        result = get_presentation(name).parse(text, SPECS, strict=False)
        assert result.status == "no_call" and result.content == text


def test_python_none_for_an_optional_non_nullable_parameter_means_not_given():
    text = '```python\nget_weather(city="Paris", days=None, note=None)\n```'
    result = get_presentation("python").parse(text, SPECS, strict=True)
    assert result.calls == [ToolCall(name="get-weather", arguments={"city": "Paris", "note": None})]


def test_python_without_specs_keeps_identifiers_and_refuses_positional_arguments():
    python = get_presentation("python")
    assert python.parse('```python\nget_weather(city="Paris")\n```', strict=True).calls == [
        ToolCall(name="get_weather", arguments={"city": "Paris"})
    ]
    result = python.parse('```python\nget_weather("Paris")\n```', strict=False)
    assert result.status == "error" and "no tool of that name is known" in result.error


def test_calls_inside_reasoning_do_not_count_and_reasoning_is_kept_apart():
    text = f"<think>Maybe <tool_call>{_PARIS_JSON}</tool_call>? No.</think>\nIt is sunny."
    result = get_presentation("json").parse(text, SPECS, strict=True)
    assert (result.status, result.content) == ("no_call", "It is sunny.")
    assert result.reasoning == f"Maybe <tool_call>{_PARIS_JSON}</tool_call>? No."


@pytest.mark.parametrize("strict", [True, False])
def test_output_cut_off_inside_reasoning_is_an_error_not_an_abstention(strict):
    result = get_presentation("mcp").parse("<think>The user wants the weather, so I", SPECS, strict=strict)
    assert result.status == "error" and "<think>" in result.error
    assert result.reasoning == "The user wants the weather, so I"


def test_prose_around_call_blocks_is_returned_as_content():
    for name in PRESENTATION_NAMES:
        presentation = get_presentation(name)
        text = presentation.render_assistant("Checking Paris.", [PARIS], SPECS) + "\nBack soon."
        result = presentation.parse(text, SPECS, strict=True)
        assert (result.calls, result.content) == ([PARIS], "Checking Paris.\nBack soon.")


# -- bounds ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", PRESENTATION_NAMES)
def test_output_over_the_length_limit_is_an_error_not_an_abstention(name):
    presentation = get_presentation(name, limits=ParseLimits(max_chars=50))
    result = presentation.parse("x" * 51, strict=False)
    assert result.status == "error" and result.had_call_syntax and "over the limit of 50" in result.error


@pytest.mark.parametrize("name", PRESENTATION_NAMES)
def test_arguments_nested_deeper_than_the_limit_are_a_parse_error(name):
    presentation = get_presentation(name, limits=ParseLimits(max_depth=8))
    deep: object = "leaf"
    for _ in range(10):
        deep = [deep]
    text = presentation.render_calls([ToolCall(name="files.read", arguments={"path": deep})], SPECS)
    result = presentation.parse(text, SPECS, strict=False)
    assert result.status == "error" and "nested deeper than 8" in result.error


def test_more_calls_than_the_limit_is_a_parse_error():
    presentation = get_presentation("json", limits=ParseLimits(max_calls=3))
    result = presentation.parse(presentation.render_calls([PARIS] * 4), strict=True)
    assert result.status == "error" and "over the limit of 3" in result.error


@pytest.mark.timeout(60)
@pytest.mark.parametrize("name", PRESENTATION_NAMES)
@pytest.mark.parametrize(
    "text",
    [
        "[" * 99_000,
        "```json\n" + '{"a": ' * 16_000,
        "```python\nf(x=" + "-" * 90_000 + "1)\n```",
        "```python\n" + "1+" * 45_000 + "1\n```",
        "```python\n" + "f(x=" + "9" * 5_000 + ")\n```",
        "<tool_call>" * 9_000,
        "get_weather(\n" * 7_000,
        "```python\n" + "a." * 45_000 + "b()\n```",
        "<tool_call>x</tool_call>\n```\n" * 3_000,
        "```\n" + "<tool_call>{}</tool_call>" * 3_500 + "\n```",
    ],
    ids=["brackets", "json-depth", "unary", "binop", "big-int", "tags", "calls", "attrs", "mixed", "wrapped"],
)
def test_pathological_outputs_end_in_a_result_not_a_hang_or_crash(name, text):
    result = get_presentation(name).parse(text, SPECS, strict=False)
    assert result.status in ("error", "no_call")
    assert not result.calls


@pytest.mark.parametrize("strict", [True, False])
@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("python", "Here you go:\n```python\ndef reverse(s):\n    return s[::-1]\n```"),
        ("python", 'Run this:\n```python\nprint("hello")\n```'),
        ("python", "```python\nimport os\nos.listdir()\n```"),
        ("mcp", 'The record:\n```json\n{"user": "Bob", "age": 3,\n```'),
        ("mcp", '```json\n{"name": "Bob", "age": 3}\n```'),
    ],
)
def test_code_samples_in_an_answer_are_prose_even_in_the_call_fence_language(name, text, strict):
    result = get_presentation(name).parse(text, SPECS, strict=strict)
    assert (result.status, result.had_call_syntax, result.content) == ("no_call", False, text)


def test_a_broken_block_that_calls_a_known_tool_is_an_error_even_when_assigned():
    text = '```python\nw = get_weather(city="a")\n```'
    result = get_presentation("python").parse(text, SPECS, strict=False)
    assert result.status == "error" and "is not a tool call" in result.error


def test_a_json_object_without_arguments_is_a_call_only_for_a_known_tool():
    mcp = get_presentation("mcp")
    ping = ToolSpec(name="ping", input_schema={"type": "object", "properties": {}})
    lenient = mcp.parse('```json\n{"name": "ping"}\n```', [ping], strict=False)
    assert lenient.calls == [ToolCall(name="ping")] and lenient.leniencies == ("alternate_call_shape",)
    assert mcp.parse('```json\n{"name": "Bob"}\n```', [ping], strict=False).status == "no_call"


def test_tool_call_tags_wrapped_in_a_code_fence_are_nested_delimiters_and_the_fence_is_not_content():
    text = f"Ok.\n```\n<tool_call>\n{_PARIS_JSON}\n</tool_call>\n```\nDone."
    json = get_presentation("json")
    assert "nested_delimiters" in json.parse(text, SPECS, strict=True).error
    lenient = json.parse(text, SPECS, strict=False)
    assert (lenient.calls, lenient.content) == ([_PARIS_CALL], "Ok.\nDone.")
    assert lenient.leniencies == ("nested_delimiters",)


def test_objects_written_as_typeddict_or_dict_constructor_calls_are_lenient_python():
    text = '```python\nget_weather(city="Rome", near=GetWeatherNear(lat=41.9, lon=dict(x=1)))\n```'
    python = get_presentation("python")
    assert "constructor_call" in python.parse(text, SPECS, strict=True).error
    lenient = python.parse(text, SPECS, strict=False)
    arguments = {"city": "Rome", "near": {"lat": 41.9, "lon": {"x": 1}}}
    assert lenient.calls == [ToolCall(name="get-weather", arguments=arguments)]
    refused = python.parse('```python\nget_weather(city=Point("x"))\n```', SPECS, strict=False)
    assert refused.status == "error" and "function call" in refused.error


def test_free_form_tools_render_as_kwargs_stubs_and_take_any_keyword_arguments():
    specs = [
        ToolSpec(name="log", description="Log fields.", input_schema={"type": "object"}),
        ToolSpec(name="count", input_schema={"type": "object", "additionalProperties": {"type": "integer"}}),
        ToolSpec(name="ping", input_schema={"type": "object", "additionalProperties": False}),
    ]
    python = get_presentation("python")
    assert python.render_tools(specs) == (
        'from typing import Any\n\n\ndef log(**kwargs: Any):\n    """Log fields."""\n\n\n'
        "def count(**kwargs: int):\n    ...\n\n\ndef ping():\n    ..."
    )
    call = ToolCall(name="log", arguments={"level": "info", "n": 2})
    assert python.parse(python.render_calls([call], specs), specs, strict=True).calls == [call]


def test_tool_docs_with_backtick_runs_get_a_longer_fence_in_the_system_prompt():
    spec = READ.model_copy(update={"description": "Read a file.\n```\nexample\n```"})
    prompt = get_presentation("python").system_prompt([spec])
    assert "````python\n" in prompt and "\n````\n" in prompt


def test_parse_results_serialise_to_json_ready_dicts():
    result = get_presentation("json").parse(f"Hi.\n<tool_call>\n{_PARIS_JSON}", SPECS, strict=False)
    assert result.to_dict() == {
        "status": "calls",
        "calls": [{"name": "get-weather", "arguments": {"city": "Paris"}}],
        "content": "Hi.",
        "error": None,
        "had_call_syntax": True,
        "leniencies": ["unclosed_block"],
        "reasoning": None,
    }


def test_python_stubs_merge_all_of_parts_into_one_typed_dict():
    schema = {
        "type": "object",
        "properties": {
            "item": {
                "allOf": [
                    {"type": "object", "properties": {"x": {"type": "integer"}}},
                    {"properties": {"y": {"type": "string"}}, "required": ["x"]},
                ]
            }
        },
        "required": ["item"],
    }
    stub = get_presentation("python").render_tools([ToolSpec(name="put", input_schema=schema)])
    assert "class PutItem(TypedDict):\n    x: int\n    y: NotRequired[str]\n" in stub
    assert "def put(*, item: PutItem):" in stub


def test_python_classes_never_take_the_name_of_a_tool_function():
    schema = {
        "type": "object",
        "properties": {"t": {"$ref": "#/$defs/Tree"}},
        "$defs": {"Tree": {"type": "object", "properties": {"a": {"type": "integer"}}}},
    }
    stub = get_presentation("python").render_tools([ToolSpec(name="Tree", input_schema=schema)])
    assert "class Tree2(TypedDict):" in stub and "def Tree(*, t: Tree2 | None = None):" in stub


def test_json_fallback_text_is_what_the_qwen2_5_chat_template_writes_for_native_tool_calls():
    pytest.importorskip("trl")
    chat_template_utils = pytest.importorskip("transformers.utils.chat_template_utils")
    from importlib import resources

    template = resources.files("trl").joinpath("chat_templates/qwen2_5.jinja").read_text()
    json = get_presentation("json")
    calls = [ToolCall(name="get-weather", arguments={"city": 'Paris "é" </tool_call>'}), READ_CALL]
    messages = [
        {"role": "user", "content": "hi"},
        {
            "role": "assistant",
            "content": "Let me check.",
            "tool_calls": [{"type": "function", "function": c.to_dict()} for c in calls],
        },
    ]
    rendered, _ = chat_template_utils.render_jinja_template(
        conversations=[messages], tools=json.tools_for_template(SPECS), chat_template=template
    )
    assert f"<tools>\n{json.render_tools(SPECS)}\n</tools>" in rendered[0]
    assistant = rendered[0].split("<|im_start|>assistant\n", 1)[1].split("<|im_end|>", 1)[0]
    assert assistant == json.render_assistant("Let me check.", calls)
    assert json.parse(assistant, SPECS, strict=True).calls == calls


@pytest.mark.parametrize(
    ("name", "call"),
    [("json", _PARIS_JSON), ("mcp", _PARIS_JSON), ("python", 'get_weather(city="Paris")')],
)
def test_bare_calls_between_lines_of_prose_are_found_in_lenient_mode(name, call):
    text = f"I will look it up.\n{call}\nThis gives the current weather."
    result = get_presentation(name).parse(text, SPECS, strict=False)
    assert result.calls == [_PARIS_CALL] and result.leniencies == ("bare_calls",)
    assert result.content == "I will look it up.\nThis gives the current weather."


def test_a_broken_call_in_any_delimiter_or_bare_is_a_parse_error_never_a_silent_no_call() -> None:
    from toolkit.presentations import get_presentation
    from toolkit.specs import ToolSpec

    spec = ToolSpec(name="get_weather", description="Weather.", input_schema={
        "type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]})
    cases = {
        "json": '```json\n{"name": "get_weather", "arguments": {"city": "Paris"}\n```',
        "mcp": '<tool_call>\n{"name": "get_weather", "arguments": {"city": "Paris"\n</tool_call>',
        "python": "<tool_call>\nget_weather(city=1+2)\n</tool_call>",
    }
    for name, text in cases.items():
        for strict in (True, False):
            result = get_presentation(name).parse(text, [spec], strict=strict)
            assert result.error is not None and result.had_call_syntax and not result.calls, (name, strict)
    bare = get_presentation("python").parse('get_weather(city="a", city="b")', [spec], strict=False)
    assert bare.error is not None
    prose = get_presentation("python").parse("Here is how:\n```python\ndef reverse(s):\n    return s[::-1]\n```",
                                             [spec], strict=False)
    assert prose.error is None and not prose.calls  # an answer's code sample stays prose
