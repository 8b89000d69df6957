"""The ``arguments`` and ``results`` stages: calls against input schemas, results against output schemas.

Both use the compiled, cached Draft 2020-12 validators of :mod:`toolkit.jsonschema_utils` (with format
checks), so a dataset that uses the same few tools a million times compiles each schema once. A conversation
is checked against its own ``tools`` (a subagent against the subset it was given); a conversation that lists
no tools at all falls back to ``fallback`` specs (the tools of ``--tools`` sources), which is how third-party
rows without tool definitions are checked.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any


from toolkit.errors import UserError
from toolkit.jsonschema_utils import SchemaValidator, validator_for
from toolkit.records import StageOutcome, Trajectory
from toolkit.specs import ToolSpec
from toolkit.validation.stages import DEFAULT_MAX_DEPTH, capped, reason, walk, where

__all__ = ["arguments_stage", "results_stage", "argument_problems", "compiled_validator"]


def compiled_validator(schema: dict[str, Any]) -> SchemaValidator:
    """The compiled Draft 2020-12 validator (with format checks) of a tool schema, cached by its JSON.

    Raises :class:`UserError` for a schema that is invalid or too large or deep.
    """
    return validator_for(schema)


class _Tools:
    """Name -> spec and name -> compiled validator for one conversation; schema problems reported once."""

    def __init__(self, specs: list[ToolSpec], path: tuple[str, ...]):
        self.specs: dict[str, ToolSpec] = {}
        self.problems: list[str] = []
        self._validators: dict[tuple[str, str], SchemaValidator | None] = {}
        self._path = path
        for spec in specs:
            if spec.name in self.specs:
                self.problems.append(reason(
                    "duplicate tool", f"{where(path)}: tools lists {spec.name!r} twice"
                ))
            self.specs.setdefault(spec.name, spec)

    def validator(self, name: str, which: str) -> SchemaValidator | None:
        key = (name, which)
        if key not in self._validators:
            spec = self.specs[name]
            schema = spec.input_schema if which == "input" else spec.output_schema
            compiled = None
            if schema is not None:
                try:
                    compiled = compiled_validator(schema)
                except UserError as exc:
                    where_ = where(self._path)
                    self.problems.append(reason(
                        "invalid tool schema", f"{where_}: tool {name!r} has an invalid {which} schema: {exc}"
                    ))
            self._validators[key] = compiled
        return self._validators[key]


def _tools_for(node: Trajectory, path: tuple[str, ...], fallback: Mapping[str, ToolSpec] | None) -> _Tools:
    specs = list(node.tools) if node.tools or not fallback else list(fallback.values())
    return _Tools(specs, path)


def argument_problems(validator: SchemaValidator, arguments: Any, limit: int = 3) -> list[str]:
    """Readable problems of one arguments object (empty when valid)."""
    out = []
    for err in validator.iter_errors(arguments):
        at = "/".join(str(p) for p in err.absolute_path) or "(root)"
        msg = err.message if len(err.message) <= 120 else err.message[:119] + "…"
        out.append(f"{at}: {msg}")
        if len(out) >= limit:
            break
    return out


def arguments_stage(
    traj: Trajectory, *, fallback: Mapping[str, ToolSpec] | None = None, max_depth: int = DEFAULT_MAX_DEPTH
) -> StageOutcome:
    """Every call names a listed tool and its arguments satisfy the tool's input schema.

    Exempt: an assistant turn marked ``train: false`` whose call the tool answered with an error (the wrong first
    try of an error-recovery example: shown to the model, never trained on).
    """
    reasons: list[str] = []
    for path, node in walk(traj, max_depth):
        if len(path) > max_depth:
            continue
        tools = _tools_for(node, path, fallback)
        rejected = {m.tool_call_id for m in node.messages if m.role == "tool" and m.is_error}
        for i, m in enumerate(node.messages):
            for tc in m.tool_calls or []:
                name = tc.function.name
                at = f"{where(path, i)}, call {tc.id!r}"
                if m.train is False and tc.id in rejected:
                    continue  # a deliberately wrong call, kept out of training, that the tool rejected: a lesson
                if name not in tools.specs:
                    if tools.specs:
                        known = f"available: {', '.join(sorted(tools.specs))}"
                    else:
                        known = ("the conversation lists no tools; check against a source's tools with "
                                 "--tools SOURCE")
                    reasons.append(reason("unknown tool", f"{at}: no tool named {name!r} in tools ({known})"))
                    continue
                validator = tools.validator(name, "input")
                if validator is None:
                    continue
                problems = argument_problems(validator, tc.function.arguments)
                if problems:
                    reasons.append(reason("invalid arguments", f"{at} to {name!r}: " + "; ".join(problems)))
        reasons.extend(tools.problems)
    return StageOutcome(stage="arguments", passed=not reasons, reasons=capped(reasons))


def results_stage(
    traj: Trajectory, *, fallback: Mapping[str, ToolSpec] | None = None, max_depth: int = DEFAULT_MAX_DEPTH
) -> StageOutcome:
    """Tool results whose content is JSON must match their tool's output schema; error results are exempt.

    Non-object results are checked wrapped as ``{"result": value}``, the way structured results are stored.
    """
    reasons: list[str] = []
    for path, node in walk(traj, max_depth):
        if len(path) > max_depth:
            continue
        tools = _tools_for(node, path, fallback)
        called = {tc.id: tc.function.name for m in node.messages for tc in m.tool_calls or []}
        for i, m in enumerate(node.messages):
            if m.role != "tool" or m.is_error or m.tool_call_id not in called:
                continue
            name = called[m.tool_call_id]
            spec = tools.specs.get(name)
            if spec is None or spec.output_schema is None or m.content is None:
                continue
            try:
                value = json.loads(m.content)
            except (ValueError, RecursionError):
                continue  # plain-text results carry no structure to check
            validator = tools.validator(name, "output")
            if validator is None:
                continue
            problems = argument_problems(validator, value if isinstance(value, dict) else {"result": value})
            if problems:
                reasons.append(reason(
                    "invalid result",
                    f"{where(path, i)}: result of call {m.tool_call_id!r} to {name!r} does not match its "
                    "output schema: " + "; ".join(problems),
                ))
        reasons.extend(tools.problems)
    return StageOutcome(stage="results", passed=not reasons, reasons=capped(reasons))
