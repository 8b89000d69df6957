"""Grading one attempt at a task: the checks behind :meth:`toolkit.environment.Environment.grade`.

A grade is a breakdown, not one opaque number: ``tool_choice`` (the right tools, and for ``missing_argument`` tasks
no guessing before the user answered), ``arguments`` (every gold call matched by one of the agent's calls, BFCL-style
after canonicalising values, pairs chosen by maximum bipartite matching), ``end_state`` (the snapshot after the
agent's calls equals the gold end state, as in τ-bench) and ``answer`` (each answer fact appears in the final
answer, normalised).
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from toolkit.facts import fact_in_answer
from toolkit.metrics import CallMatch, match_call
from toolkit.metrics.multi import max_bipartite_matching
from toolkit.snapshot_diff import diff_snapshots, short_json
from toolkit.specs import ToolCall, ToolSpec

if TYPE_CHECKING:
    from toolkit.environment import GoldCall, Task

__all__ = ["Check", "Grade", "as_tool_call", "call_name_and_arguments", "check_answer", "check_arguments",
           "check_end_state", "check_tool_choice"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Check(_Strict):
    """One part of a grade."""

    name: Literal["tool_choice", "arguments", "end_state", "answer"]
    applicable: bool = Field(description="False when the task gives this check nothing to look at.")
    passed: bool
    score: float = Field(ge=0.0, le=1.0, description="Partial credit in [0, 1].")
    reasons: list[str] = Field(default_factory=list, description="Why, in words a person can act on.")


class Grade(_Strict):
    """The verdict on one attempt at a task: a breakdown per check, an overall pass and a mean score."""

    task_id: str
    passed: bool = Field(description="Every applicable check passed.")
    score: float = Field(ge=0.0, le=1.0, description="Mean score over the applicable checks.")
    checks: dict[str, Check]
    reasons: list[str] = Field(
        default_factory=list, description="Reasons of the failed checks, prefixed by check."
    )

    def summary(self) -> str:
        """One line per check, e.g. ``end_state: FAIL — events[evt_003].start: ... -> ...``."""
        lines = [f"task {self.task_id}: {'PASS' if self.passed else 'FAIL'} (score {self.score:.2f})"]
        for check in self.checks.values():
            verdict = "n/a" if not check.applicable else ("ok" if check.passed else "FAIL")
            why = f" — {'; '.join(check.reasons)}" if check.reasons else ""
            lines.append(f"  {check.name}: {verdict}{why}")
        return "\n".join(lines)


def call_name_and_arguments(c: ToolCall | GoldCall | dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """Name and arguments of a call; a model's malformed arguments (a list, a bare string) are kept as data
    under ``__unparsed__`` so the call fails validation as the model's mistake instead of crashing the grader."""
    if isinstance(c, dict):
        name, args = str(c.get("name", "")), c.get("arguments")
    else:  # a ToolCall or a task's GoldCall
        name, args = c.name, c.arguments
    if args is None:
        return name, {}
    return name, dict(args) if isinstance(args, dict) else {"__unparsed__": args}


def as_tool_call(c: ToolCall | dict[str, Any]) -> ToolCall:
    name, args = call_name_and_arguments(c)
    return ToolCall(name=name, arguments=args)


def check_tool_choice(
    task: Task, agent: list[ToolCall], known: set[str], turn_calls: Sequence[Sequence[Any]] | None
) -> Check:
    called = [c.name for c in agent]
    if task.kind == "no_tool" or not task.gold_calls:
        ok = not called
        why = [] if ok else [f"no tool applies, but the agent called {', '.join(dict.fromkeys(called))}"]
        return Check(name="tool_choice", applicable=True, passed=ok, score=1.0 if ok else 0.0, reasons=why)
    reasons: list[str] = []
    gold_names = list(dict.fromkeys(c.name for c in task.gold_calls))
    missing = [n for n in gold_names if n not in called]
    unknown = sorted({n or "(unnamed)" for n in called if n not in known})
    if missing:
        reasons.append(f"never called {', '.join(missing)}")
    if unknown:
        reasons.append(f"called unknown tool(s) {', '.join(unknown)}")
    extra = sorted({n for n in called if n in known and n not in gold_names})
    guessed = False
    if task.kind == "missing_argument" and turn_calls is not None and len(turn_calls) >= 1:
        first = [as_tool_call(c).name for c in turn_calls[0]]
        guessed = any(n in gold_names for n in first)
        if guessed:
            args = ", ".join(task.missing_arguments) or "the missing argument"
            early = ", ".join(n for n in first if n in gold_names)
            reasons.append(f"called {early} before the user gave {args}")
    score = (len(gold_names) - len(missing)) / len(gold_names)
    if unknown or guessed:
        score = min(score, 0.5)
    ok = not missing and not unknown and not guessed
    if ok and extra:
        reasons.append(f"also called {', '.join(extra)} (allowed)")
    return Check(name="tool_choice", applicable=True, passed=ok, score=score, reasons=reasons)


_ISO_DATETIME = re.compile(r"\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?([+-]\d{2}:?\d{2}|[Zz])?")


def _canon(value: Any) -> Any:
    """Canonical form of an argument value before BFCL matching: ISO date-times written one way (``10:00`` ==
    ``10:00:00``), lists of scalars sorted (attendees, values and measures are sets to every suite here)."""
    if isinstance(value, str) and _ISO_DATETIME.fullmatch(value.strip()):
        try:
            return datetime.fromisoformat(value.strip().upper().replace(" ", "T")).isoformat()
        except ValueError:
            return value
    if isinstance(value, list):
        items = [_canon(v) for v in value]
        if all(isinstance(v, (str, int, float, bool)) or v is None for v in items):
            return sorted(items, key=lambda v: json.dumps(v, sort_keys=True))
        return items
    if isinstance(value, dict):
        return {k: _canon(v) for k, v in value.items()}
    return value


def _pair_match(gold: GoldCall, call: ToolCall, spec: ToolSpec | None) -> CallMatch:
    """BFCL-style match (``toolkit.metrics.match_call``, lenient strings) after canonicalising both sides;
    ``ignore_arguments`` take the gold's value when the agent gave one (presence still counts)."""
    props = spec.input_schema.get("properties", {}) if spec is not None else {}
    if spec is not None and any(isinstance(p, dict) and "default" in p for p in props.values()):
        # Defaults canonicalised like values, so "2026-01-01T00:00:00" given for a "2026-01-01T00:00" default
        # is the default (and the gold may omit it).
        canon_props = {
            k: {**p, "default": _canon(p["default"])} if isinstance(p, dict) and "default" in p else p
            for k, p in props.items()
        }
        spec = spec.model_copy(update={"input_schema": {**spec.input_schema, "properties": canon_props}})
    want = {k: _canon(v) for k, v in gold.arguments.items()}
    got = {k: _canon(v) for k, v in call.arguments.items()} if isinstance(call.arguments, dict) else {}
    for key in gold.ignore_arguments:
        if key in got and key in want:
            got[key] = want[key]
    return match_call(ToolCall(name=call.name, arguments=got), ToolCall(name=gold.name, arguments=want), spec)


def check_arguments(task: Task, agent: list[ToolCall], specs: Sequence[ToolSpec]) -> Check:
    if not task.gold_calls:
        return Check(name="arguments", applicable=False, passed=True, score=1.0)
    by_name = {s.name: s for s in specs}
    results = [[_pair_match(g, c, by_name.get(g.name)) for c in agent] for g in task.gold_calls]
    pair = max_bipartite_matching([[j for j, r in enumerate(row) if r.matched] for row in results], len(agent))
    reasons: list[str] = []
    for g, (gold, partner) in enumerate(zip(task.gold_calls, pair)):
        if partner is not None:
            continue
        used = set(p for p in pair if p is not None)
        same = [j for j, c in enumerate(agent) if c.name == gold.name and j not in used]
        if same:
            reasons.extend(f"{gold.name} (gold call {g}): {r}" for r in results[g][same[0]].reasons[:3])
        else:
            reasons.append(f"no call matching {gold.name}({short_json(gold.arguments)})")
    matched = sum(p is not None for p in pair)
    ok = matched == len(task.gold_calls)
    score = matched / len(task.gold_calls)
    return Check(name="arguments", applicable=True, passed=ok, score=score, reasons=reasons)


def check_end_state(gold: dict[str, Any], actual: dict[str, Any]) -> Check:
    changes = diff_snapshots(gold, actual)
    ok = not changes
    reasons = [f"differs from the gold end state: {c}" for c in changes[:5]]
    if len(changes) > 5:
        reasons.append(f"... and {len(changes) - 5} more difference(s)")
    return Check(name="end_state", applicable=True, passed=ok, score=1.0 if ok else 0.0, reasons=reasons)


def check_answer(task: Task, final_answer: str | None) -> Check:
    if not task.answer_facts:
        return Check(name="answer", applicable=False, passed=True, score=1.0)
    answer = final_answer or ""
    missing = [f for f in task.answer_facts if not fact_in_answer(f, answer)]
    score = 1 - len(missing) / len(task.answer_facts)
    reasons = [f"final answer does not state {f!r}" for f in missing]
    if not answer.strip():
        reasons = ["no final answer"]
    return Check(name="answer", applicable=True, passed=not missing, score=score, reasons=reasons)
