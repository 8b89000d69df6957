"""Python functions as tools: registration forms, call semantics, results, failures and limits. Loading ``py:``
sources and the CLI: test_python_tool_sources.py."""

from __future__ import annotations

import dataclasses
import datetime
import enum
import threading
from typing import Any, Literal

import anyio
import pytest
import typing_extensions
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, TypeAdapter, field_validator

from toolkit.errors import ToolError, UserError
from toolkit.jsonschema_utils import validation_errors
from toolkit.python_tools import PythonToolset, tool
from toolkit.specs import ToolResult
from toolkit.toolsets import CallLimits, ToolRegistry

LIMITS = CallLimits(timeout=5.0)


def call(ts: PythonToolset, name: str, arguments: Any, limits: CallLimits = LIMITS) -> ToolResult:
    async def go() -> ToolResult:
        with anyio.fail_after(10):
            return await ts.call_tool(name, arguments, limits=limits)

    return anyio.run(go)


class Unit(enum.Enum):
    CELSIUS = "C"
    FAHRENHEIT = "F"


class Reading(BaseModel):
    value: float
    unit: Unit

    @field_validator("value")
    @classmethod
    def not_below_absolute_zero(cls, v: float) -> float:
        if v < -459.67:
            raise ValueError("below absolute zero")
        return v


@dataclasses.dataclass
class Window:
    start: int
    end: int


class Summary(BaseModel):
    count: int
    mean: float


class Span(typing_extensions.TypedDict):
    start: int
    end: int


RECEIVED: list[dict[str, Any]] = []
ROUNDTRIP = PythonToolset()


@ROUNDTRIP.tool
def roundtrip(
    window: Window,
    span: Span,
    unit: Unit,
    pair: tuple[int, str],
    tags: set[str],
    weights: dict[str, float],
    maybe: int | None,
    mode: Literal["fast", "slow"],
    summary: Summary,
) -> Summary:
    """Record what arrived and echo the summary."""
    RECEIVED.append(dict(window=window, span=span, unit=unit, pair=pair, tags=tags, weights=weights, maybe=maybe,
                         mode=mode, summary=summary))  # fmt: skip
    return summary


_finite = st.floats(allow_nan=False, allow_infinity=False)
_values = st.fixed_dictionaries(
    {
        "window": st.builds(Window, start=st.integers(), end=st.integers()),
        "span": st.fixed_dictionaries({"start": st.integers(), "end": st.integers()}),
        "unit": st.sampled_from(Unit),
        "pair": st.tuples(st.integers(), st.text()),
        "tags": st.sets(st.text(max_size=5), max_size=4),
        "weights": st.dictionaries(st.text(max_size=5), _finite, max_size=3),
        "maybe": st.none() | st.integers(),
        "mode": st.sampled_from(["fast", "slow"]),
        "summary": st.builds(Summary, count=st.integers(), mean=_finite),
    }
)


# ---------------------------------------------------------------- registration forms


def test_the_decorator_works_bare_and_with_options_and_returns_the_function_unchanged():
    ts = PythonToolset(name="demo")

    def plain(x: int) -> int:
        """Double x."""
        return 2 * x

    assert ts.tool(plain) is plain
    decorated = ts.tool(name="roll", description="Roll a die.", deterministic=False)(plain)
    assert decorated is plain and plain(2) == 4
    added = ts.add(plain, name="twice")
    assert added is plain
    specs = {s.name: s for s in ts.specs()}
    assert list(specs) == ["plain", "roll", "twice"]
    assert specs["plain"].description == "Double x." and specs["plain"].deterministic
    assert specs["roll"].description == "Roll a die." and not specs["roll"].deterministic
    assert "roll" in ts and len(ts) == 3 and ts.name == "demo"


def test_passing_a_name_positionally_to_the_decorator_is_a_clear_usage_error():
    with pytest.raises(UserError, match=r"pass options by keyword, e.g. @tool\(name='x'\)"):
        PythonToolset().tool("x")  # type: ignore[call-overload]
    with pytest.raises(UserError, match="pass options by keyword"):
        tool("x")  # type: ignore[call-overload]


def test_sync_async_and_bound_method_tools_are_all_called_with_converted_arguments():
    ts = PythonToolset()

    @ts.tool
    def convert(reading: Reading, to: Unit) -> Reading:
        """Convert a temperature."""
        assert isinstance(reading, Reading) and isinstance(reading.unit, Unit) and isinstance(to, Unit)
        if reading.unit is to:
            return reading
        value = reading.value * 9 / 5 + 32 if to is Unit.FAHRENHEIT else (reading.value - 32) * 5 / 9
        return Reading(value=round(value, 2), unit=to)

    @ts.tool
    async def span(window: Window, pairs: list[tuple[int, str]], tags: set[str]) -> int:
        """Length of a window."""
        assert isinstance(window, Window) and isinstance(pairs[0], tuple) and isinstance(tags, set)
        return window.end - window.start

    class Counter:
        def __init__(self) -> None:
            self.total = 0

        def add(self, amount: int = 1) -> int:
            """Add to the running total."""
            self.total += amount
            return self.total

    counter = Counter()
    ts.add(counter.add)

    result = call(ts, "convert", {"reading": {"value": 100, "unit": "C"}, "to": "F"})
    assert result == ToolResult(content='{"value":212.0,"unit":"F"}', structured={"value": 212.0, "unit": "F"})
    result = call(ts, "span", {"window": {"start": 3, "end": 10}, "pairs": [[1, "a"]], "tags": ["x"]})
    assert (result.content, result.structured, result.is_error) == ("7", {"result": 7}, False)
    assert call(ts, "add", {}).structured == {"result": 1}
    assert call(ts, "add", {"amount": 5}).structured == {"result": 6}
    assert counter.total == 6  # the bound method mutated its own object
    assert ts.specs()[2].input_schema["properties"] == {"amount": {"type": "integer", "default": 1}}


def test_a_callable_object_with_an_async_call_method_is_awaited():
    class Lookup:
        """Look a key up in a fixed table."""

        def __init__(self) -> None:
            self.table = {"a": 1}

        async def __call__(self, key: str) -> int | None:
            return self.table.get(key)

    ts = PythonToolset()
    ts.add(Lookup(), name="lookup")
    assert ts.specs()[0].description == "Look a key up in a fixed table."
    assert call(ts, "lookup", {"key": "a"}).structured == {"result": 1}
    assert call(ts, "lookup", {"key": "z"}) == ToolResult(content="null", structured={"result": None})


def test_marked_methods_of_an_object_are_registered_as_one_stateful_suite():
    class Notes:
        def __init__(self) -> None:
            self.items: list[str] = []

        @tool
        def add_note(self, text: str) -> int:
            """Store a note and return how many there are."""
            self.items.append(text)
            return len(self.items)

        @tool(name="list_notes")
        def everything(self) -> list[str]:
            """All notes, oldest first."""
            return list(self.items)

        def helper(self) -> None:
            """Not marked."""

    notes = Notes()
    ts = PythonToolset().add_marked(notes)
    assert ts.names() == ["add_note", "list_notes"]
    call(ts, "add_note", {"text": "buy milk"})
    assert call(ts, "list_notes", {}).structured == {"result": ["buy milk"]}
    assert call(PythonToolset().add_marked(Notes()), "list_notes", {}).structured == {"result": []}


def test_parameters_named_like_basemodel_attributes_are_passed_under_their_own_names():
    ts = PythonToolset()

    @ts.tool
    def describe(schema: str, copy: bool = False) -> str:
        """Parameter names that pydantic models use for methods."""
        return f"{schema}:{copy}"

    assert set(ts.specs()[0].input_schema["properties"]) == {"schema", "copy"}
    assert call(ts, "describe", {"schema": "s", "copy": True}).content == "s:True"


@settings(max_examples=40, deadline=None)
@given(_values)
def test_any_python_value_sent_as_json_passes_the_schema_and_arrives_as_the_same_python_value(values):
    arguments = {k: TypeAdapter(type(v)).dump_python(v, mode="json") for k, v in values.items()}
    arguments["span"], arguments["pair"] = dict(values["span"]), list(values["pair"])
    assert validation_errors(ROUNDTRIP.specs()[0].input_schema, arguments) == []
    RECEIVED.clear()
    result = call(ROUNDTRIP, "roundtrip", arguments)
    assert not result.is_error, result.content
    assert RECEIVED == [values]
    assert result.structured == values["summary"].model_dump(mode="json")


# ---------------------------------------------------------------- results


def test_strings_are_returned_as_is_and_other_values_as_compact_json_with_structured_content():
    ts = PythonToolset()

    @ts.tool
    def text() -> str:
        return "héllo"

    @ts.tool
    def stats() -> Summary:
        return Summary(count=2, mean=1.5)

    @ts.tool
    def table() -> dict[str, list[int]]:
        return {"a": [1, 2]}

    @ts.tool
    def untyped(x: int):  # type: ignore[no-untyped-def]
        return {"x": x, "when": dataclasses}

    @ts.tool
    def nothing() -> None:
        return None

    assert call(ts, "text", {}) == ToolResult(content="héllo", structured={"result": "héllo"})
    assert call(ts, "stats", {}) == ToolResult(content='{"count":2,"mean":1.5}', structured={"count": 2, "mean": 1.5})
    assert call(ts, "table", {}) == ToolResult(content='{"a":[1,2]}', structured={"a": [1, 2]})
    untyped_result = call(ts, "untyped", {"x": 1})
    assert untyped_result.structured is None and untyped_result.content.startswith('{"x":1,"when":"<module')
    assert call(ts, "nothing", {}) == ToolResult(content="")


def test_a_return_value_that_does_not_match_the_return_type_is_a_malformed_result():
    ts = PythonToolset()

    @ts.tool
    def wrong() -> int:
        return "not a number"  # type: ignore[return-value]

    result = call(ts, "wrong", {})
    assert result.is_error and result.error_kind == "malformed_result"
    assert "returned a str that does not match its return type" in result.content


# ---------------------------------------------------------------- failures are results


def test_invalid_arguments_are_an_error_result_naming_each_problem_its_path_and_the_parameters():
    ts = PythonToolset()

    @ts.tool
    def book(room: str, people: int, window: Window) -> str:
        return "ok"

    result = call(ts, "book", {"people": "four", "window": {"start": 1}, "floor": 3})
    assert result.is_error and result.error_kind == "invalid_arguments"
    assert result.content.splitlines() == [
        "Invalid arguments for tool 'book':",
        "- (root): 'room' is a required property",
        "- (root): Additional properties are not allowed ('floor' was unexpected)",
        "- people: 'four' is not of type 'integer'",
        "- window: 'end' is a required property",
        "Parameters: room (string, required), people (integer, required), window (object, required).",
        "Fix the arguments and call the tool again.",
    ]
    not_an_object = call(ts, "book", ["room"])
    assert not_an_object.error_kind == "invalid_arguments"
    assert "must be a JSON object, got list" in not_an_object.content


def test_string_formats_are_checked_and_arrive_as_python_values():
    ts = PythonToolset()

    @ts.tool
    def remind(at: datetime.datetime, day: datetime.date) -> str:
        return f"{type(at).__name__} {at.hour} {type(day).__name__} {day.month}"

    assert call(ts, "remind", {"at": "2025-03-01T09:30:00Z", "day": "2025-04-02"}).content == "datetime 9 date 4"
    bad = call(ts, "remind", {"at": "tomorrow morning", "day": "2025-04-02"})
    assert "- at: 'tomorrow morning' is not a 'date-time'" in bad.content
    assert "at (string (date-time), required)" in bad.content


def test_a_model_validator_that_rejects_schema_valid_arguments_gives_invalid_arguments_not_a_crash():
    ts = PythonToolset()

    @ts.tool
    def record(reading: Reading) -> None:
        raise AssertionError("must not be called")

    result = call(ts, "record", {"reading": {"value": -500, "unit": "F"}})
    assert result.error_kind == "invalid_arguments"
    assert "reading/value: Value error, below absolute zero" in result.content


def test_a_tool_error_is_shown_to_the_model_verbatim_and_other_exceptions_with_their_type():
    ts = PythonToolset()

    @ts.tool
    def lookup(city: str) -> str:
        raise ToolError(f"No weather station in {city}; try a nearby larger city.")

    @ts.tool
    async def divide(a: float, b: float) -> float:
        return a / b

    @ts.tool
    def own_timeout() -> str:
        raise TimeoutError("upstream API timed out")

    assert call(ts, "lookup", {"city": "Ys"}) == ToolResult.error(
        "exception", "No weather station in Ys; try a nearby larger city."
    )
    assert call(ts, "divide", {"a": 1, "b": 0}) == ToolResult.error(
        "exception", "ZeroDivisionError: float division by zero"
    )
    # a TimeoutError raised by the tool itself is the tool's exception, not the call's time limit
    assert call(ts, "own_timeout", {}) == ToolResult.error("exception", "TimeoutError: upstream API timed out")


def test_an_unknown_tool_name_is_an_error_result_listing_the_available_tools():
    ts = PythonToolset()
    ts.add(lambda: "x", name="only")
    assert call(ts, "other", {}) == ToolResult.error("unknown_tool", "Unknown tool 'other'. Available tools: only.")


def test_a_slow_sync_tool_is_stopped_at_the_time_limit_and_its_thread_released_afterwards():
    release, finished = threading.Event(), threading.Event()
    ts = PythonToolset()

    @ts.tool
    def slow() -> str:
        release.wait(10)  # bounded: the test releases it right after the timeout
        finished.set()
        return "late"

    try:
        result = call(ts, "slow", {}, CallLimits(timeout=0.2))
    finally:
        release.set()
    assert result == ToolResult.error("timeout", "Tool 'slow' did not finish within 0.2 seconds; its result was abandoned.")
    assert finished.wait(5)


def test_a_slow_async_tool_is_cancelled_at_the_time_limit():
    cancelled = threading.Event()
    ts = PythonToolset()

    @ts.tool
    async def hang() -> str:
        try:
            await anyio.Event().wait()  # never set: only the time limit ends this call
        except anyio.get_cancelled_exc_class():
            cancelled.set()
            raise
        return "unreachable"

    result = call(ts, "hang", {}, CallLimits(timeout=0.2))
    assert result.error_kind == "timeout" and "0.2 seconds" in result.content
    assert cancelled.is_set()


def test_a_ten_megabyte_result_is_capped_and_flagged_through_the_registry():
    ts = PythonToolset()

    @ts.tool
    def dump() -> str:
        return "x" * 10_000_000

    async def go() -> ToolResult:
        with anyio.fail_after(10):
            async with ToolRegistry([ts], limits=CallLimits(timeout=5, max_result_chars=1000)) as registry:
                return await registry.call("dump", {})

    result = anyio.run(go)
    assert result.truncated and not result.is_error and result.structured is None
    assert result.content.startswith("x" * 1000)
    assert result.content.endswith("[truncated: result exceeded 1000 characters]")
    assert len(result.content) < 1100
