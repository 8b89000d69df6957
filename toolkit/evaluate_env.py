"""Multi-turn evaluation in an environment: the model acts, the end state and the answer are graded (M5/M6,
M10).

For each task (and trial) a fresh :class:`~toolkit.environment.Environment` of the task's suite is reset to
it.
The model gets the first user message, prompted through :func:`toolkit.chat_format.prompt_for` in the chosen
presentation (the skeleton training uses); calls in its answer are parsed by the presentation (lenient
reading,
so the loop measures acting, not syntax; strict-format misses are counted apart), executed on the environment,
and their results fed back in the same presentation. A text answer ends the episode, unless the task has a
further user turn (``missing_argument``: the follow-up that supplies the argument). An unreadable answer gets
one user turn saying so and counts as a format failure. ``max_turns`` model turns at most; hitting it fails.

The attempt is graded by :meth:`Environment.grade` on the live end state: tool choice, arguments, end state,
answer facts. Tasks whose record kind is ``delegate`` offer a ``delegate(task, tools)`` tool: a call runs a
subagent (the same model, its own conversation, only the granted tools, the same environment) whose final
report is the call's result. For them three more checks apply: ``delegated`` (the model handed the task on),
``grant`` (the grant covers every tool the task needs), and ``child_grounded`` (the subagent called tools,
only granted ones, and its report states the answer facts).

Each row is compatible with :func:`toolkit.evaluate_report.compare` (``task_id``, ``cluster``,
``correct.strict``/``correct.lenient`` = passed), so two presentations compare with the same statistics.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from toolkit.backends.base import Backend, ChatRequest, Decoding
from toolkit.chat_format import prompt_for
from toolkit.delegation import DELEGATE_SPEC, SUBAGENT_SYSTEM
from toolkit.environment import Environment, Task, fact_in_answer, get_suite
from toolkit.errors import UserError
from toolkit.evaluate_answers import prompted_tool_results, read_answer
from toolkit.evaluate_env_summary import EnvSummary, summarize_env, write_env_results
from toolkit.evaluate_tokens import tool_definition_tokens
from toolkit.presentations import get_presentation
from toolkit.progress import Progress
from toolkit.records import FunctionCall, Message, ToolCallRecord, Trajectory
from toolkit.specs import ToolCall, ToolSpec

__all__ = [
    "EnvEvalConfig",
    "EnvResult",
    "EnvSummary",
    "evaluate_env",
    "summarize_env",
    "tasks_from_records",
    "write_env_results",
]

def _help(text: str) -> dict[str, str]:
    return {"help": text}


@dataclass(frozen=True, kw_only=True)
class EnvEvalConfig:
    """How the model acts in the environment."""

    presentation: str = field(metadata=_help("json, mcp or python."))
    native: bool | None = field(default=None, metadata=_help("json only: native tool calling (None: auto)."))
    max_turns: int = field(default=8, metadata=_help("Model turns per episode (subagent turns count apart)."))
    max_calls_per_turn: int = field(default=16, metadata=_help("Calls executed from one answer at most."))
    decoding: Decoding = field(default_factory=Decoding, metadata=_help("Decoding settings; greedy default."))
    trials: int = field(default=1, metadata=_help("Episodes per task (temperature > 0 for more than one)."))
    max_text_chars: int = field(default=4000, metadata=_help("Answer text kept per turn in the transcript."))

    def __post_init__(self) -> None:
        get_presentation(self.presentation)
        if self.max_turns < 1:
            raise UserError(f"max_turns must be at least 1, got {self.max_turns}")
        if self.trials < 1:
            raise UserError(f"trials must be at least 1, got {self.trials}")
        if self.trials > 1 and self.decoding.greedy:
            raise UserError(
                f"{self.trials} trials at temperature 0 repeat one greedy episode; set a temperature "
                "above 0 or use one trial"
            )


@dataclass(kw_only=True)
class EnvResult:
    """One episode: the verdict, the grade's breakdown, the cost, and the transcript."""

    task_id: str
    kind: str
    suite: str
    presentation: str
    trial: int
    passed: bool
    score: float
    checks: dict[str, dict[str, Any]]
    reasons: list[str]
    final_answer: str | None
    calls: list[ToolCall]
    turns: int
    format_failures: int
    strict_format_misses: int
    prompt_tokens: int
    completion_tokens: int
    tool_tokens: int
    tool_tokens_method: str
    wall_s: float
    tools: list[str]
    hit_turn_limit: bool = False
    infra_error: str | None = None
    delegation: dict[str, Any] | None = None
    transcript: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "task_id": self.task_id,
            "kind": self.kind,
            "suite": self.suite,
            "presentation": self.presentation,
            "mode": "env",
            "trial": self.trial,
            "cluster": self.tools[0] if self.tools else "(no call)",
            "tools": self.tools,
            "correct": {"strict": self.passed, "lenient": self.passed},
            "passed": self.passed,
            "score": round(self.score, 6),
            "checks": self.checks,
            "reasons": self.reasons,
            "final_answer": self.final_answer,
            "calls": [c.to_dict() for c in self.calls],
            "turns": self.turns,
            "format_failures": self.format_failures,
            "strict_format_misses": self.strict_format_misses,
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "tool_tokens": self.tool_tokens,
            "tool_tokens_method": self.tool_tokens_method,
            "wall_s": round(self.wall_s, 4),
            "hit_turn_limit": self.hit_turn_limit,
            "infra_error": self.infra_error,
            "delegation": self.delegation,
            "transcript": self.transcript,
        }


def tasks_from_records(records: Sequence[Trajectory]) -> list[tuple[Task, str]]:
    """``(task, record kind)`` for each record carrying ``scenario.task`` (what synthesis writes)."""
    out = []
    for r in records:
        if r.scenario is None or not r.scenario.task:
            raise UserError(
                f"record {r.id!r} has no scenario.task, so no environment can be reset to it; "
                "evaluate it with --mode turns, or use --suite NAME --n N"
            )
        task = Task.model_validate(r.scenario.task)
        out.append((task.model_copy(update={"id": r.id}), r.scenario.kind))
    return out


@dataclass
class _Episode:
    """Counters shared by a parent and its subagents."""

    prompt_tokens: int = 0
    completion_tokens: int = 0
    format_failures: int = 0
    strict_misses: int = 0
    infra_error: str | None = None


@dataclass
class _Agent:
    """One conversation (the parent's or a subagent's)."""

    messages: list[Message]
    specs: list[ToolSpec]
    calls: list[ToolCall] = field(default_factory=list)
    turn_calls: list[list[ToolCall]] = field(default_factory=lambda: [[]])
    answer: str | None = None
    turns: int = 0
    hit_limit: bool = False
    children: list[dict[str, Any]] = field(default_factory=list)


class _Runner:
    def __init__(self, backend: Backend, config: EnvEvalConfig):
        self.backend = backend
        self.config = config
        self.pres = get_presentation(config.presentation)
        self.tokenizer = getattr(backend, "tokenizer", None)

    async def _ask(self, agent: _Agent, ep: _Episode) -> tuple[list[ToolCall], str | None, str]:
        example = prompt_for(
            agent.messages,
            agent.specs,
            self.config.presentation,
            tokenizer=self.tokenizer,
            native=self.config.native,
        )
        messages = example.messages
        if self.tokenizer is None and not example.native:
            messages = prompted_tool_results(messages, self.pres)
        request = ChatRequest(messages=messages, tools=example.tools, decoding=self.config.decoding)
        (response,) = await self.backend.generate([request])
        ep.prompt_tokens += response.usage.prompt_tokens
        ep.completion_tokens += response.usage.completion_tokens
        native = example.tools is not None
        channel = self.tokenizer is None
        calls, error, _ = read_answer(
            response, self.pres, agent.specs, native=native, channel=channel, mode="lenient"
        )
        if error is None:
            _, strict_error, _ = read_answer(
                response, self.pres, agent.specs, native=native, channel=channel, mode="strict"
            )
            ep.strict_misses += strict_error is not None
        if response.error is not None:
            ep.infra_error = response.error
        return calls, error, response.text

    async def run(
        self, agent: _Agent, env: Environment, ep: _Episode, more_turns: list[str], *, depth: int
    ) -> None:
        while agent.turns < self.config.max_turns:
            agent.turns += 1
            calls, error, text = await self._ask(agent, ep)
            if ep.infra_error is not None:
                return
            if error is not None:
                ep.format_failures += 1
                agent.messages.append(Message(role="assistant", content=text[: self.config.max_text_chars]))
                agent.messages.append(
                    Message(
                        role="user",
                        content=(
                            f"Your tool call could not be read ({error}). Write it again in the format "
                            "described."
                        ),
                    )
                )
                continue
            if not calls:
                agent.answer = text
                agent.messages.append(Message(role="assistant", content=text[: self.config.max_text_chars]))
                if more_turns:
                    agent.messages.append(Message(role="user", content=more_turns.pop(0)))
                    agent.turn_calls.append([])
                    continue
                return
            calls = calls[: self.config.max_calls_per_turn]
            n = len(agent.messages)
            records = [
                ToolCallRecord(
                    id=f"call_{depth}_{n}_{i}", function=FunctionCall(name=c.name, arguments=c.arguments)
                )
                for i, c in enumerate(calls)
            ]
            agent.messages.append(Message(role="assistant", tool_calls=records))
            for record, call in zip(records, calls, strict=True):
                if call.name == DELEGATE_SPEC.name and depth == 0:
                    content, is_error = await self._delegate(agent, env, ep, call)
                else:
                    result = await env.acall(call.name, dict(call.arguments))
                    content, is_error = result.content, result.is_error
                    agent.calls.append(call)
                    agent.turn_calls[-1].append(call)
                agent.messages.append(
                    Message(
                        role="tool",
                        tool_call_id=record.id,
                        name=call.name,
                        content=content,
                        is_error=is_error or None,
                    )
                )
        agent.hit_limit = True

    async def _delegate(
        self, parent: _Agent, env: Environment, ep: _Episode, call: ToolCall
    ) -> tuple[str, bool]:
        brief = call.arguments.get("task")
        granted = call.arguments.get("tools")
        if not isinstance(brief, str) or not isinstance(granted, list):
            parent.children.append({"granted": [], "calls": [], "answer": None, "error": "bad arguments"})
            return "delegate needs a task (text) and tools (a list of tool names)", True
        names = {s.name for s in parent.specs}
        unknown = [g for g in granted if g not in names or g == DELEGATE_SPEC.name]
        specs = [s for s in parent.specs if s.name in granted and s.name != DELEGATE_SPEC.name]
        child = _Agent(
            messages=[Message(role="system", content=SUBAGENT_SYSTEM), Message(role="user", content=brief)],
            specs=specs,
        )
        await self.run(child, env, ep, [], depth=1)
        parent.calls.extend(child.calls)
        parent.turn_calls[-1].extend(child.calls)
        parent.children.append(
            {
                "granted": [str(g) for g in granted],
                "unknown_granted": unknown,
                "calls": [c.to_dict() for c in child.calls],
                "answer": child.answer,
                "turns": child.turns,
                "hit_turn_limit": child.hit_limit,
            }
        )
        if child.answer is None:
            return "the subagent gave no report", True
        return child.answer, False


def _delegation_checks(task: Task, agent: _Agent, delegate_calls: int) -> dict[str, dict[str, Any]]:
    needed = {c.name for c in task.gold_calls}
    checks: dict[str, dict[str, Any]] = {}
    checks["delegated"] = {
        "passed": delegate_calls > 0,
        "reasons": []
        if delegate_calls
        else ["the task should have been handed to a subagent, but delegate was never called"],
    }
    granted = set().union(*[set(c.get("granted") or []) for c in agent.children]) if agent.children else set()
    missing = sorted(needed - granted)
    checks["grant"] = {
        "passed": bool(agent.children) and not missing,
        "reasons": [f"the grant leaves out {', '.join(missing)}"] if missing and agent.children else [],
    }
    reasons = []
    for i, child in enumerate(agent.children):
        used = {c["name"] for c in child.get("calls") or []}
        if needed and not used:
            reasons.append(f"subagent {i} called no tool, so its report is not grounded")
        outside = sorted(used - set(child.get("granted") or []))
        if outside:
            reasons.append(f"subagent {i} called tools it was not granted: {', '.join(outside)}")
        report = child.get("answer") or ""
        unstated = [f for f in task.answer_facts if not fact_in_answer(f, report)]
        if unstated:
            reasons.append(f"subagent {i}'s report does not state {', '.join(map(repr, unstated))}")
    if not agent.children:
        reasons.append("no subagent ran")
    checks["child_grounded"] = {"passed": not reasons, "reasons": reasons}
    return checks


async def _episode(runner: _Runner, task: Task, kind: str, trial: int) -> EnvResult:
    started = time.perf_counter()
    env = get_suite(task.suite).create_environment()
    env.reset(task)
    delegating = kind == "delegate"
    specs = env.specs() + ([DELEGATE_SPEC] if delegating else [])
    agent = _Agent(messages=[Message(role="user", content=task.turns[0])], specs=specs)
    ep = _Episode()
    await runner.run(agent, env, ep, list(task.turns[1:]), depth=0)
    tokens, method = tool_definition_tokens(
        specs, runner.config.presentation, tokenizer=runner.tokenizer, native=runner.config.native
    )
    answer = None if agent.hit_limit else agent.answer
    grade = env.grade(task, agent.calls, answer, end_state=env.snapshot(), turn_calls=agent.turn_calls)
    checks = {
        name: {"applicable": c.applicable, "passed": c.passed, "score": c.score, "reasons": c.reasons}
        for name, c in grade.checks.items()
    }
    reasons = list(grade.reasons)
    passed = grade.passed
    delegation = None
    if delegating:
        n_delegate = sum(
            1 for m in agent.messages for tc in m.tool_calls or [] if tc.function.name == "delegate"
        )
        extra = _delegation_checks(task, agent, n_delegate)
        for name, c in extra.items():
            checks[name] = {
                "applicable": True,
                "passed": c["passed"],
                "score": float(c["passed"]),
                "reasons": c["reasons"],
            }
            reasons.extend(f"{name}: {r}" for r in c["reasons"])
            passed = passed and c["passed"]
        delegation = {"delegate_calls": n_delegate, "subagents": agent.children}
    if agent.hit_limit:
        reasons.insert(0, f"turn limit: no final answer within {runner.config.max_turns} model turns")
        passed = False
    if ep.infra_error is not None:
        reasons.insert(0, f"no answer: {ep.infra_error}")
        passed = False
    n_checks = [c for c in checks.values() if c["applicable"]]
    transcript = [m.model_dump(mode="json", exclude_none=True) for m in agent.messages]
    return EnvResult(
        task_id=task.id,
        kind=kind,
        suite=task.suite,
        presentation=runner.config.presentation,
        trial=trial,
        passed=passed,
        score=sum(c["score"] for c in n_checks) / len(n_checks) if n_checks else 1.0,
        checks=checks,
        reasons=reasons,
        final_answer=answer,
        calls=agent.calls,
        turns=agent.turns,
        format_failures=ep.format_failures,
        strict_format_misses=ep.strict_misses,
        prompt_tokens=ep.prompt_tokens,
        completion_tokens=ep.completion_tokens,
        tool_tokens=tokens,
        tool_tokens_method=method,
        wall_s=time.perf_counter() - started,
        tools=list(dict.fromkeys(c.name for c in task.gold_calls)),
        hit_turn_limit=agent.hit_limit,
        infra_error=ep.infra_error,
        delegation=delegation,
        transcript=transcript,
    )


async def evaluate_env(
    tasks: Sequence[Task | tuple[Task, str]],
    backend: Backend,
    config: EnvEvalConfig,
    *,
    out: str | Path | None = None,
    progress: Progress | None = None,
) -> list[EnvResult]:
    """Run one episode per task and trial (in order; episodes are sequential because each one's next request
    depends on its last answer). ``tasks``: :class:`Task` objects, or ``(task, record kind)`` pairs (the kind
    ``delegate`` turns on delegation). With ``out``, one JSON line per episode."""
    runner = _Runner(backend, config)
    pairs = [t if isinstance(t, tuple) else (t, t.kind) for t in tasks]
    results = []
    for trial in range(config.trials):
        if config.trials > 1:
            base = config.decoding.seed or 0
            runner.config = _with_seed(config, base + trial)
        for task, kind in pairs:
            results.append(await _episode(runner, task, kind, trial))
            if progress is not None:
                progress.advance(ok=results[-1].infra_error is None)
    if out is not None:
        write_env_results(results, out)
    return results


def _with_seed(config: EnvEvalConfig, seed: int) -> EnvEvalConfig:
    from dataclasses import replace

    return replace(config, decoding=replace(config.decoding, seed=seed))
