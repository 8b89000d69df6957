"""Calling one registered Python function: validate, convert, run under a time limit, serialise the result.

Every outcome is a :class:`ToolResult`; nothing a tool does (bad arguments, raising, hanging, returning the wrong
type) escapes as an exception, because a failing tool is data for the model, not a crash of the run.
"""

from __future__ import annotations

import functools
import inspect
import json
import logging
from collections.abc import Callable
from typing import Any

import anyio
import anyio.to_thread
from pydantic import ValidationError
from pydantic_core import to_jsonable_python

from toolkit._schema import FunctionSchema
from toolkit.errors import ToolError
from toolkit.jsonschema_utils import validation_errors
from toolkit.specs import ToolResult
from toolkit.toolsets import CallLimits

__all__ = ["invoke", "describe_parameters"]

log = logging.getLogger(__name__)

_MAX_PROBLEM_CHARS = 300  # one problem line quotes the offending value; a 1 MB wrong value must not flood the model


def _short(text: str) -> str:
    return text if len(text) <= _MAX_PROBLEM_CHARS else text[: _MAX_PROBLEM_CHARS - 1] + "…"


def _type_label(schema: dict[str, Any]) -> str:
    if "enum" in schema:
        return "one of " + ", ".join(json.dumps(v, ensure_ascii=False) for v in schema["enum"])
    if "const" in schema:
        return json.dumps(schema["const"], ensure_ascii=False)
    for key in ("anyOf", "oneOf"):
        if key in schema:
            return " or ".join(_type_label(s) for s in schema[key])
    kind = schema.get("type", "any")
    if kind == "array" and isinstance(schema.get("items"), dict):
        return f"array of {_type_label(schema['items'])}"
    label = kind if isinstance(kind, str) else " or ".join(kind)
    return f"{label} ({schema['format']})" if isinstance(schema.get("format"), str) else label


def describe_parameters(input_schema: dict[str, Any]) -> str:
    """One line naming each parameter with its type and whether it is required: what a model needs to retry."""
    required = set(input_schema.get("required", []))
    parts = [
        f"{name} ({_type_label(sub)}, {'required' if name in required else 'optional'})"
        for name, sub in input_schema.get("properties", {}).items()
    ]
    return ", ".join(parts) if parts else "none"


def _invalid(schema: FunctionSchema, problems: list[str]) -> ToolResult:
    lines = "\n".join(f"- {_short(p)}" for p in problems)
    return ToolResult.error(
        "invalid_arguments",
        f"Invalid arguments for tool {schema.name!r}:\n{lines}\n"
        f"Parameters: {describe_parameters(schema.input_schema)}.\nFix the arguments and call the tool again.",
    )


def _pydantic_problems(exc: ValidationError) -> list[str]:
    out = []
    for err in exc.errors(include_url=False):
        where = "/".join(str(p) for p in err["loc"]) or "(root)"
        out.append(f"{where}: {err['msg']}")
    return out


def _kwargs(schema: FunctionSchema, arguments: dict[str, Any]) -> dict[str, Any] | list[str]:
    """Python keyword arguments (or the problems found); only the arguments given, so the function's defaults apply."""
    try:
        model = schema.arg_model.model_validate(arguments)
    except ValidationError as exc:  # a custom validator in a nested model can reject what the schema allows
        return _pydantic_problems(exc)
    return {schema.field_to_param[f]: getattr(model, f) for f in model.model_fields_set}


def _render(schema: FunctionSchema, value: Any) -> ToolResult:
    """``content``: str as is, anything else compact JSON; ``structured``: the object, or ``{"result": value}``."""
    adapter = schema.return_adapter
    if adapter is None:
        if value is None:
            return ToolResult(content="")
        if isinstance(value, str):
            return ToolResult(content=value)
        data = to_jsonable_python(value, fallback=str)
        return ToolResult(content=json.dumps(data, ensure_ascii=False, separators=(",", ":")))
    try:
        data = adapter.dump_python(adapter.validate_python(value), mode="json")
    except (ValidationError, ValueError, TypeError) as exc:
        detail = "; ".join(_pydantic_problems(exc)) if isinstance(exc, ValidationError) else str(exc)
        return ToolResult.error(
            "malformed_result",
            f"Tool {schema.name!r} returned a {type(value).__name__} that does not match its return type: "
            f"{_short(detail)}",
        )
    content = data if isinstance(data, str) else json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    structured = {"result": data} if schema.wrap_output else data
    return ToolResult(content=content, structured=structured)


async def _run(fn: Callable[..., Any], schema: FunctionSchema, kwargs: dict[str, Any]) -> Any:
    if schema.is_async:
        return await fn(**kwargs)
    # A worker thread keeps the event loop free so the time limit can fire; an abandoned thread runs to its end.
    result = await anyio.to_thread.run_sync(functools.partial(fn, **kwargs), abandon_on_cancel=True)
    if inspect.isawaitable(result):  # a sync wrapper around a coroutine function
        result = await result
    return result


async def invoke(fn: Callable[..., Any], schema: FunctionSchema, arguments: Any, limits: CallLimits) -> ToolResult:
    """Validate ``arguments`` against the tool's input schema, call ``fn`` under ``limits.timeout``, render."""
    if not isinstance(arguments, dict):
        return _invalid(schema, [f"(root): arguments must be a JSON object, got {type(arguments).__name__}"])
    problems = validation_errors(schema.input_schema, arguments)
    if problems:
        return _invalid(schema, problems)
    kwargs = _kwargs(schema, arguments)
    if isinstance(kwargs, list):
        return _invalid(schema, kwargs)
    value: Any = None
    try:
        # move_on_after, not fail_after: a TimeoutError raised by the tool itself is an exception, not our limit.
        with anyio.move_on_after(limits.timeout) as scope:
            value = await _run(fn, schema, kwargs)
    except ToolError as exc:
        return ToolResult.error("exception", str(exc))
    except Exception as exc:  # the tool boundary: whatever a tool raises is reported to the model, never a crash
        log.debug("tool %r raised", schema.name, exc_info=True)
        return ToolResult.error("exception", f"{type(exc).__name__}: {exc}")
    if scope.cancelled_caught:
        return ToolResult.error(
            "timeout", f"Tool {schema.name!r} did not finish within {limits.timeout:g} seconds; its result was abandoned."
        )
    return _render(schema, value)
