"""Property tests: every call on every sample schema renders in each presentation and parses back, strictly,
to the identical canonical call list; tool renderings are valid in their own language and carry the spec
unedited."""

from __future__ import annotations

import ast
import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.toolkit.sample_schemas import SAMPLE_SCHEMAS, SAMPLE_TOOL_NAMES, arguments_for, sample_specs
from toolkit.jsonschema_utils import validator_for
from toolkit.presentations import PRESENTATION_NAMES, NameMap, get_presentation
from toolkit.specs import ToolCall, ToolSpec

SPECS = sample_specs()
BY_NAME = {spec.name: spec for spec in SPECS}
PROSE = st.sampled_from(["", "Let me look that up.", "Checking both:\n\nfirst, then second.", "Sure — wait!"])
_SETTINGS = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _calls_for(spec: ToolSpec) -> st.SearchStrategy[ToolCall]:
    return arguments_for(spec).map(lambda args: ToolCall(name=spec.name, arguments=args))


def _canonical(calls: list[ToolCall]) -> str:
    # JSON text keeps 1 and 1.0, and key order, apart where == on dicts would not.
    return json.dumps([[c.name, c.arguments] for c in calls], ensure_ascii=False)


def _assert_round_trip(calls: list[ToolCall], prose: str) -> None:
    for name in PRESENTATION_NAMES:
        presentation = get_presentation(name)
        text = presentation.render_assistant(prose, calls, SPECS)
        result = presentation.parse(text, SPECS, strict=True)
        assert result.error is None, f"{name}: {result.error}\n{text}"
        assert result.leniencies == ()
        assert result.had_call_syntax
        assert _canonical(result.calls) == _canonical(calls), f"{name} changed the calls:\n{text}"
        assert result.content == prose.strip()
        assert presentation.parse(text, SPECS, strict=False) == result, f"{name}: lenient read it differently"


@pytest.mark.parametrize("key", list(SAMPLE_SCHEMAS))
@_SETTINGS
@given(data=st.data())
def test_single_calls_on_every_sample_schema_survive_render_and_strict_parse_in_every_presentation(key, data):
    spec = BY_NAME[SAMPLE_TOOL_NAMES[key]]
    call = data.draw(_calls_for(spec))
    assert validator_for(spec.input_schema).is_valid(call.arguments), "the strategy drew invalid arguments"
    _assert_round_trip([call], data.draw(PROSE))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(calls=st.lists(st.one_of([_calls_for(spec) for spec in SPECS]), min_size=2, max_size=4), prose=PROSE)
def test_parallel_calls_to_tools_with_dashes_and_dots_survive_render_and_strict_parse(calls, prose):
    _assert_round_trip(calls, prose)


def test_mcp_listing_and_json_tools_carry_each_spec_unedited():
    mcp = json.loads(get_presentation("mcp").render_tools(SPECS))
    fallback = [json.loads(line) for line in get_presentation("json").render_tools(SPECS).splitlines()]
    native = get_presentation("json").tools_for_template(SPECS)  # type: ignore[attr-defined]
    assert fallback == native
    for spec, entry, tool in zip(SPECS, mcp, native, strict=True):
        assert (entry["name"], entry["description"], entry["inputSchema"]) == (
            spec.name,
            spec.description,
            spec.input_schema,
        )
        function = tool["function"]
        assert tool["type"] == "function"
        assert (function["name"], function["description"], function["parameters"]) == (
            spec.name,
            spec.description,
            spec.input_schema,
        )


def _literal_values(annotation: ast.expr) -> list[object] | None:
    """The values of the ``Literal[...]`` in an annotation (``Literal[...] | None`` included), if any."""
    for node in ast.walk(annotation):
        if isinstance(node, ast.Subscript) and ast.unparse(node.value) == "Literal":
            elts = node.slice.elts if isinstance(node.slice, ast.Tuple) else [node.slice]
            return [ast.literal_eval(e) for e in elts]
    return None


def test_python_stubs_read_back_to_the_spec_names_descriptions_required_flags_defaults_and_enums():
    source = get_presentation("python").render_tools(SPECS)
    module = ast.parse(source)
    functions = [node for node in module.body if isinstance(node, ast.FunctionDef)]
    names = NameMap(spec.name for spec in SPECS)
    assert [names.name(f.name) for f in functions] == [spec.name for spec in SPECS]
    for spec, stub in zip(SPECS, functions, strict=True):
        doc = ast.get_docstring(stub) or ""
        assert doc.split("\n\nArgs:\n")[0] == spec.description
        described = dict(line.strip().split(": ", 1) for line in doc.partition("Args:\n")[2].splitlines())
        props = spec.input_schema.get("properties", {})
        required = set(spec.input_schema.get("required", ()))
        params = NameMap(props)
        assert not stub.args.args, "parameters must be keyword-only"
        read = [params.name(arg.arg) for arg in stub.args.kwonlyargs]
        assert read == list(props), f"{spec.name}: parameter names or order changed"
        for arg, default, prop in zip(stub.args.kwonlyargs, stub.args.kw_defaults, props, strict=True):
            schema = props[prop]
            assert (default is None) == (prop in required), f"{spec.name}.{prop}: required flag lost"
            if default is not None:
                assert ast.literal_eval(default) == schema.get("default"), f"{spec.name}.{prop}: default"
            if "enum" in schema:
                assert _literal_values(arg.annotation) == schema["enum"], f"{spec.name}.{prop}: enum"
            if "description" in schema:
                assert described[arg.arg].startswith(schema["description"])


@_SETTINGS
@given(data=st.data())
def test_parse_without_specs_keeps_names_as_written_in_json_presentations(data):
    spec = data.draw(st.sampled_from(SPECS))
    call = data.draw(_calls_for(spec))
    for name in ("json", "mcp"):
        presentation = get_presentation(name)
        result = presentation.parse(presentation.render_calls([call]), strict=True)
        assert _canonical(result.calls) == _canonical([call])


_PIECES = ["</tool_call>", "<tool_call>", "```", "```json", "```python", "\n", "<think>", "</think>"]
_PIECES += ["\\", '"', "'", "a", " ", "{", "]", "get_weather(", "\u2028", "\x00", "é", "🙂"]
TRICKY = st.lists(st.sampled_from(_PIECES), max_size=12).map("".join)


@settings(max_examples=60, deadline=None)
@given(texts=st.lists(TRICKY, min_size=1, max_size=3))
def test_strings_holding_delimiters_quotes_and_escapes_survive_every_presentation(texts):
    calls = [
        ToolCall(name="echo_scalars", arguments={"text": text, "count": 1, "ratio": 0.5, "flag": True})
        for text in texts
    ]
    _assert_round_trip(calls, "")


_FUZZ_PIECES = [*_PIECES, "get_weather(city=", ")", '{"name": "lookup", "arguments": {', "}", "[", ","]
_FUZZ_PIECES += ["```py", "null"]


@settings(max_examples=150, deadline=None)
@given(text=st.lists(st.sampled_from(_FUZZ_PIECES) | st.text(max_size=5), max_size=25).map("".join))
def test_any_output_parses_to_a_result_without_raising_and_errors_never_carry_calls(text):
    for name in PRESENTATION_NAMES:
        for strict in (True, False):
            result = get_presentation(name).parse(text, SPECS, strict=strict)
            assert result.status in ("calls", "no_call", "error")
            if result.error is not None:
                assert result.calls == []
            if result.calls:
                assert result.had_call_syntax and result.error is None
            if strict:
                assert result.leniencies == () or result.error is not None
