"""Schema-level validity of calls (MCP-Bench's rule-based metrics; evaluation.md §5 M8).

Cheap, judge-free diagnostics: does each call name a known tool, and do its arguments validate against that
tool's input schema (full JSON Schema Draft 2020-12 validation, formats included)?
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from toolkit.jsonschema_utils import validation_errors
from toolkit.metrics.multi import specs_by_name
from toolkit.specs import ToolCall, ToolSpec

__all__ = ["call_schema_problems", "SchemaValidity", "schema_validity"]


def call_schema_problems(call: ToolCall, specs: Mapping[str, ToolSpec] | Sequence[ToolSpec]) -> list[str]:
    """Every reason ``call`` is not a valid call of a known tool (empty when it is)."""
    spec = specs_by_name(specs).get(call.name)
    if spec is None:
        return [f"unknown_tool: {call.name!r}"]
    if not isinstance(call.arguments, Mapping):
        return ["invalid_arguments: arguments are not a JSON object"]
    return [f"invalid_arguments: {e}" for e in validation_errors(spec.input_schema, dict(call.arguments))]


@dataclass(frozen=True)
class SchemaValidity:
    """MCP-Bench's definitions, NaN when the denominator is empty.

    ``valid_name_rate`` = calls naming a known tool / all calls; ``schema_compliance`` = calls whose arguments
    validate / calls naming a known tool.
    """

    n_calls: int
    n_known_name: int
    n_valid: int
    problems: tuple[tuple[int, tuple[str, ...]], ...]

    @property
    def valid_name_rate(self) -> float:
        return self.n_known_name / self.n_calls if self.n_calls else float("nan")

    @property
    def schema_compliance(self) -> float:
        return self.n_valid / self.n_known_name if self.n_known_name else float("nan")


def schema_validity(
    calls: Sequence[ToolCall], specs: Mapping[str, ToolSpec] | Sequence[ToolSpec]
) -> SchemaValidity:
    by_name = specs_by_name(specs)
    problems = []
    known = valid = 0
    for i, call in enumerate(calls):
        found = call_schema_problems(call, by_name)
        if call.name in by_name:
            known += 1
            valid += not found
        if found:
            problems.append((i, tuple(found)))
    return SchemaValidity(n_calls=len(calls), n_known_name=known, n_valid=valid, problems=tuple(problems))
