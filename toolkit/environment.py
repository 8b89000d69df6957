"""Environments: a tool suite's state + a task + a grader.

One :class:`Environment` object serves synthesis (execute gold calls, take the end state), evaluation (grade
an agent's calls and answer) and RL (``reset`` / tools / reward). A suite subclasses it::

    class CalendarEnvironment(Environment):
        suite = "calendar"

        def _build_state(self, seed: int, setup: dict) -> None:      # fresh, isolated state for this seed
            self._db = make_db(seed)

        def snapshot(self) -> dict:                                  # JSON-serialisable, comparable
            return {"events": [...]}

        @tool                                                        # toolkit.python_tools.tool
        def cancel_event(self, event_id: str, reason: str | None = None) -> dict:
            \"\"\"Cancel an event. ... Google-style Args: section ...\"\"\"

Rules a suite follows (so environments can live side by side in one process and a TRL ``environment_factory``
adapter can wrap them): no module-level mutable state; every tool is a method marked with
:func:`toolkit.python_tools.tool`, with type hints and a Google docstring, acting only on ``self``; the class
can be built with no arguments; tools raise :class:`toolkit.errors.ToolError` with an actionable message on
bad input.

Grading (:meth:`Environment.grade`) is a breakdown, not one opaque number — tool choice, arguments, end state
and answer; the checks live in :mod:`toolkit.grading`.
"""

from __future__ import annotations

import asyncio
import importlib
import json
import pkgutil
import random
from collections.abc import Awaitable, Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from types import ModuleType
from typing import Any, ClassVar, Literal, TypeVar

import anyio
from pydantic import BaseModel, ConfigDict, Field

from toolkit.errors import UserError
from toolkit.facts import fact_in_answer
from toolkit.grading import (Check, Grade, as_tool_call, call_name_and_arguments, check_answer,
                              check_arguments, check_end_state, check_tool_choice)
from toolkit.records import Expected, FunctionCall, Scenario
from toolkit.snapshot_diff import diff_snapshots
from toolkit.specs import ToolCall, ToolResult, ToolSpec
from toolkit.toolsets import CallLimits

__all__ = [
    "TaskKind",
    "TASK_KINDS",
    "GoldCall",
    "Task",
    "Check",
    "Grade",
    "Environment",
    "Suite",
    "get_suite",
    "list_suites",
    "diff_snapshots",
    "fact_in_answer",
    "NoSlotValue",
]

TaskKind = Literal["single", "parallel", "chain", "missing_argument", "no_tool", "error"]
TASK_KINDS: tuple[str, ...] = ("single", "parallel", "chain", "missing_argument", "no_tool", "error")

_T = TypeVar("_T")


class NoSlotValue(Exception):
    """Raised by a slot provider when the current state offers no value for this draw (the template renderer
    then tries another draw, and reports the template only when every draw fails)."""


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class GoldCall(_Model):
    """One reference call of a task (concrete values: slots and earlier results already filled in)."""

    name: str = Field(description="Tool name.")
    arguments: dict[str, Any] = Field(default_factory=dict, description="Arguments as a JSON object.")
    expect_error: bool = Field(default=False, description="The call is meant to fail with a tool error.")
    ignore_arguments: list[str] = Field(
        default_factory=list,
        description="Arguments whose value is not compared (free text such as a search query); "
        "presence still is.",
    )

    def to_call(self) -> ToolCall:
        return ToolCall(name=self.name, arguments=dict(self.arguments))


class Task(_Model):
    """One grounded task: what the user says, the gold calls, and what a correct outcome looks like."""

    id: str = Field(description="Stable id, e.g. 'calendar/move_event/0-3'.")
    suite: str = Field(description="Suite name, e.g. 'calendar'.")
    kind: TaskKind
    turns: list[str] = Field(
        min_length=1,
        description="User messages in order. missing_argument tasks have two: the request without the "
        "argument, then the follow-up that supplies it after the agent asked.",
    )
    gold_calls: list[GoldCall] = Field(
        default_factory=list, description="Reference calls in order; [] = no call."
    )
    gold_end_state: dict[str, Any] | None = Field(
        default=None,
        description="Snapshot after the gold calls on a fresh environment (None: computed on demand).",
    )
    answer_facts: list[str] = Field(default_factory=list, description="Facts the final answer must state.")
    seed: int = Field(default=0, description="Seed of the environment's initial state.")
    setup: dict[str, Any] = Field(
        default_factory=dict, description="Suite-specific extra setup data for reset()."
    )
    template: str | None = Field(default=None, description="Id of the template the task was rendered from.")
    missing_arguments: list[str] = Field(
        default_factory=list, description="missing_argument tasks: the arguments the first turn leaves out."
    )

    @property
    def prompt(self) -> str:
        """The first user message."""
        return self.turns[0]

    def scenario(self) -> Scenario:
        """The record's ``scenario`` block (carries the whole task, so an environment can reset from a
        record)."""
        return Scenario(
            kind=self.kind,
            suite=self.suite,
            seed=self.seed,
            template=self.template,
            task=self.model_dump(mode="json"),
        )

    def expected(self) -> Expected:
        """The record's ``expected`` block."""
        return Expected(
            calls=[FunctionCall(name=c.name, arguments=c.arguments) for c in self.gold_calls],
            final_state=self.gold_end_state,
            answer_facts=list(self.answer_facts),
        )


def _run_sync(fn: Callable[[], Awaitable[_T]]) -> _T:
    """Run an async callable to completion from sync code, also when called inside a running event loop."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return anyio.run(fn)
    with ThreadPoolExecutor(max_workers=1) as pool:  # a loop is running here: give the call its own loop
        return pool.submit(anyio.run, fn).result()


class Environment:
    """Base class of a suite's environment. See the module docstring for what a subclass provides.

    Public surface: :meth:`reset`, :meth:`tools`, :meth:`toolset`, :meth:`specs`, :meth:`call`, :meth:`acall`,
    :meth:`run_calls`, :meth:`snapshot`, :meth:`diff`, :meth:`state_tables`, :meth:`slot_providers`,
    :meth:`grade`, :meth:`grade_messages`.
    """

    suite: ClassVar[str] = "environment"
    """The suite's name (also the tool set's name)."""
    limits: ClassVar[CallLimits] = CallLimits(timeout=10.0, max_result_chars=20_000)

    def __init__(self) -> None:
        self.task: Task | None = None
        self.seed: int = 0
        self._toolset: Any = None
        self._build_state(0, {})

    # ---- what a suite implements ---------------------------------------------------------------------------

    def _build_state(self, seed: int, setup: dict[str, Any]) -> None:
        """Replace all state with a fresh, deterministic one for ``seed`` (plus suite-specific ``setup``
        data)."""
        raise NotImplementedError(f"{type(self).__name__} must implement _build_state(seed, setup)")

    def snapshot(self) -> dict[str, Any]:
        """The observable state as plain JSON (tables as lists of rows with an ``id``), equal iff states are
        equal."""
        raise NotImplementedError(f"{type(self).__name__} must implement snapshot()")

    def state_tables(self) -> dict[str, list[dict[str, Any]]]:
        """Tables that templates may draw slot values from (``from_state: TABLE[.FIELD]``). Default: the
        snapshot's list-valued entries. Override to add read-only data that is not part of the snapshot (a
        corpus)."""
        return {k: v for k, v in self.snapshot().items() if isinstance(v, list)}

    def slot_providers(self) -> dict[str, Callable[[random.Random, dict[str, Any]], Any]]:
        """Named slot generators for templates (``provider: NAME``): ``fn(rng, slots_so_far) -> value``. They
        read the current state and must not change it; raise :class:`NoSlotValue` when this draw finds
        nothing."""
        return {}

    # ---- state ---------------------------------------------------------------------------------------------

    def reset(self, task: Task | dict[str, Any] | None = None, seed: int | None = None) -> str | None:
        """Start over with a fresh, isolated state.

        Args:
            task: The task to attempt (a :class:`Task` or its dict); its ``seed`` and ``setup`` shape the
                state.
            seed: Seed of the initial state; overrides the task's seed. Defaults to the task's seed, else 0.

        Returns:
            The task's first user message, or None without a task.
        """
        if isinstance(task, dict):
            task = Task.model_validate(task)
        self.task = task
        self.seed = seed if seed is not None else (task.seed if task is not None else 0)
        self._build_state(self.seed, dict(task.setup) if task is not None else {})
        return task.prompt if task is not None else None

    @staticmethod
    def diff(a: dict[str, Any], b: dict[str, Any]) -> list[str]:
        """What changed from snapshot ``a`` to snapshot ``b``, one readable line per change (empty when
        equal)."""
        return diff_snapshots(a, b)

    # ---- tools ---------------------------------------------------------------------------------------------

    def tools(self) -> list[Callable[..., Any]]:
        """The bound tool methods, in definition order (what a TRL ``environment_factory`` adapter
        exposes)."""
        from toolkit.python_tools import marked_options

        names: dict[str, None] = {}
        for klass in reversed(type(self).__mro__):
            names.update(dict.fromkeys(vars(klass)))
        return [getattr(self, n) for n in names if marked_options(getattr(type(self), n, None)) is not None]

    def toolset(self) -> Any:
        """A :class:`toolkit.python_tools.PythonToolset` whose tools act on this environment's current state.

        The same object is returned every time; it stays valid across :meth:`reset` (tools read ``self``).
        """
        if self._toolset is None:
            from toolkit.python_tools import PythonToolset

            ts = PythonToolset(name=self.suite)
            for fn in self.tools():
                ts.add(fn)
            self._toolset = ts
        return self._toolset

    def specs(self) -> list[ToolSpec]:
        """The tools' specs (same names and schemas for every instance)."""
        return list(self.toolset().specs())

    async def acall(self, name: str, arguments: dict[str, Any]) -> ToolResult:
        """Call a tool on this environment exactly as a registry would (validation, errors as results, size
        cap)."""
        return await self.toolset().call_tool(name, arguments, limits=self.limits)

    def call(self, name: str, arguments: dict[str, Any]) -> ToolResult:
        """Synchronous :meth:`acall` (usable inside a running event loop too)."""
        return _run_sync(lambda: self.acall(name, arguments))

    def run_calls(self, calls: Sequence[ToolCall | GoldCall | dict[str, Any]]) -> list[ToolResult]:
        """Call each in order on the current state; failures are error results, never raised."""
        out = []
        for c in calls:
            name, args = call_name_and_arguments(c)
            out.append(self.call(name, args))
        return out

    # ---- grading -------------------------------------------------------------------------------------------

    def gold_end_state(self, task: Task) -> dict[str, Any]:
        """The task's gold end state (computed on a fresh environment when the task does not carry one)."""
        if task.gold_end_state is not None:
            return task.gold_end_state
        fresh = type(self)()
        fresh.reset(task)
        fresh.run_calls(task.gold_calls)
        return fresh.snapshot()

    def grade(
        self,
        task: Task,
        calls: Sequence[ToolCall | dict[str, Any]],
        final_answer: str | None,
        *,
        end_state: dict[str, Any] | None = None,
        turn_calls: Sequence[Sequence[ToolCall | dict[str, Any]]] | None = None,
    ) -> Grade:
        """Grade one attempt.

        Args:
            task: The task attempted.
            calls: Every call the agent made, in order.
            final_answer: The agent's last message (None or "" when it gave none).
            end_state: The snapshot after the attempt when the agent acted on a live environment (RL). Without
                it the agent's calls are replayed on a fresh environment reset to the task. This environment's
                own state is never touched.
            turn_calls: The same calls split per user turn, when known; lets ``missing_argument`` tasks check
                that the agent asked before calling.
        """
        agent = [as_tool_call(c) for c in calls]
        if end_state is None:
            fresh = type(self)()
            fresh.reset(task)
            fresh.run_calls(agent)
            end_state = fresh.snapshot()
        known = {s.name for s in self.specs()}
        checks = {
            "tool_choice": check_tool_choice(task, agent, known, turn_calls),
            "arguments": check_arguments(task, agent, self.specs()),
            "end_state": check_end_state(self.gold_end_state(task), end_state),
            "answer": check_answer(task, final_answer),
        }
        applicable = [c for c in checks.values() if c.applicable]
        passed = all(c.passed for c in applicable)
        score = sum(c.score for c in applicable) / len(applicable) if applicable else 1.0
        reasons = [f"{c.name}: {r}" for c in applicable if not c.passed for r in c.reasons]
        return Grade(task_id=task.id, passed=passed, score=score, checks=checks, reasons=reasons)

    def grade_messages(
        self, task: Task, messages: Sequence[Any], *, end_state: dict[str, Any] | None = None
    ) -> Grade:
        """Grade a conversation (OpenAI chat shape dicts or :class:`toolkit.records.Message`s after the
        prompt)."""
        turns: list[list[ToolCall]] = []
        answer: str | None = None
        for m in messages:
            msg = m if isinstance(m, dict) else m.model_dump(exclude_none=True)
            role = msg.get("role")
            if role == "user":  # each user message opens a turn (the first one may be left out)
                turns.append([])
                continue
            if role != "assistant":
                continue
            if not turns:
                turns.append([])
            for tc in msg.get("tool_calls") or []:
                fn = tc.get("function", tc)
                args = fn.get("arguments") or {}
                if isinstance(args, str):
                    try:
                        args = json.loads(args)
                    except json.JSONDecodeError:
                        args = {"__unparsed__": args}
                turns[-1].append(ToolCall(name=fn.get("name", ""), arguments=args))
            if not msg.get("tool_calls"):
                answer = msg.get("content")
        flat = [c for t in turns for c in t]
        return self.grade(task, flat, answer, end_state=end_state, turn_calls=turns)


# ---- suite registry ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Suite:
    """A tool suite: a module exposing ``create_environment()`` and ``create_toolset()``, with optional
    ``templates.yaml`` next to it."""

    name: str
    module: ModuleType

    def create_environment(self) -> Environment:
        """A new environment with a fresh default state."""
        env = self.module.create_environment()
        if not isinstance(env, Environment):
            raise UserError(
                f"{self.module.__name__}.create_environment() returned {type(env).__name__}, not an "
                "Environment; return an instance of a toolkit.environment.Environment subclass"
            )
        return env

    def create_toolset(self) -> Any:
        """The suite's tools over a fresh default state (what ``toolgym tools py:<module>`` lists)."""
        return self.module.create_toolset()

    @property
    def templates_path(self) -> Path | None:
        """``templates.yaml`` next to the suite's module, if it has one."""
        path = Path(self.module.__file__ or "").parent / "templates.yaml"
        return path if path.is_file() else None


def _suite_from_module(name: str, module: ModuleType) -> Suite:
    missing = [f for f in ("create_environment", "create_toolset") if not callable(getattr(module, f, None))]
    if missing:
        raise UserError(
            f"module {module.__name__!r} is not a tool suite: it lacks {', '.join(missing)}; define "
            "create_environment() returning an Environment and create_toolset() returning its toolset"
        )
    return Suite(name=name, module=module)


def get_suite(name: str) -> Suite:
    """A suite by name: a bundled one (``"calendar"`` = ``tools.calendar``) or any importable module path
    (``"mypkg.my_suite"``)."""
    if isinstance(name, Suite):
        return name
    module_name = name if "." in name else f"tools.{name}"
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name and module_name.startswith(exc.name):
            known = ", ".join(list_suites()) or "(none)"
            raise UserError(
                f"no tool suite {name!r}; bundled suites: {known}; or give a module path"
            ) from None
        raise
    return _suite_from_module(name.removeprefix("tools."), module)


def list_suites() -> list[str]:
    """Names of the bundled suites (sub-packages of ``tools`` with ``create_environment``), sorted."""
    import tools

    out = []
    for info in pkgutil.iter_modules(tools.__path__):
        if not info.ispkg or info.name.startswith("_"):
            continue
        try:
            module = importlib.import_module(f"tools.{info.name}")
        except ImportError:  # a suite with an optional dependency that is not installed is simply not offered
            continue
        if callable(getattr(module, "create_environment", None)):
            out.append(info.name)
    return sorted(out)
