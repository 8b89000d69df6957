"""Run a backend over tasks in one presentation, parse every answer strictly and leniently, and score it.

Tasks are trajectory records with ``expected.calls``. Every assistant turn of the gold trajectory is a
*decision point*: the model gets the gold history before that turn (teacher forcing), prompted through
:func:`toolkit.chat_format.prompt_for` — the same skeleton for every presentation and the same rendering
training uses — and its answer is compared with that turn's gold calls (a text turn means "no call").
``steps="first"`` keeps only the first decision point (BFCL-style single turn). A request-only task imported
from
BFCL (:mod:`toolkit.bfcl`) carries its possible-answer lists in ``provenance.extra["bfcl_possible_answer"]``;
they are the gold, scored by the same checker.

``shots=K`` puts K solved examples before the task (:mod:`toolkit.evaluate_shots`); ``trials=N`` repeats every
decision point N times with seeds ``seed, seed+1, ...`` (sampling only: greedy repeats are identical), one
row per
trial. Each row records the tool definitions' token cost (:mod:`toolkit.evaluate_tokens`).

Each answer is read twice: strict (the documented format, exact values) and lenient (the shared leniency rules
of :mod:`toolkit.presentations`, BFCL's string standardisation). A parse failure is a format failure, never a
correct "no call". A task is correct when every decision point is. One JSON line per task records the prompts'
hashes, the raw answers, both parses and every reason a step failed.

Native tool calls (an OpenAI-compatible endpoint's ``tool_calls``) are read from the native channel; when
there are none, the text is parsed with the presentation, which counts as a leniency (strict mode calls it a
format failure when the text holds call syntax, since a native arm must use the native channel).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

from toolkit.backends.base import Backend, ChatRequest, ChatResponse, Decoding
from toolkit.chat_format import prompt_for
from toolkit.errors import UserError
from toolkit.evaluate_answers import Mode, prompted_tool_results, read_answer
from toolkit.evaluate_gold import (
    POSSIBLE_ANSWERS_KEY,
    GoldKind,
    cluster_of,
    decision_points,
    gold_dict,
    gold_kind,
    gold_tool_names,
)
from toolkit.evaluate_shots import build_shots
from toolkit.evaluate_tokens import tool_definition_tokens
from toolkit.metrics import match_calls, no_call_correct
from toolkit.presentations import get_presentation
from toolkit.progress import Progress
from toolkit.records import Trajectory
from toolkit.specs import ToolCall, ToolSpec

__all__ = [
    "POSSIBLE_ANSWERS_KEY",
    "EvalConfig",
    "StepParse",
    "StepResult",
    "TaskResult",
    "count_requests",
    "evaluate",
    "gold_tool_names",
    "read_results",
    "write_results",
]


def _help(text: str) -> dict[str, str]:
    return {"help": text}


@dataclass(frozen=True, kw_only=True)
class EvalConfig:
    """How to evaluate one arm (one presentation) with one backend."""

    presentation: str = field(metadata=_help("json, mcp or python."))
    native: bool | None = field(
        default=None,
        metadata=_help(
            "json only: native tool calling (tools= / API tools). None decides from the chat template "
            "(local) or "
            "assumes native (API)."
        ),
    )
    steps: Literal["first", "all"] = field(
        default="all",
        metadata=_help("Score every assistant turn of the gold trajectory (all) or only the first (first)."),
    )
    decoding: Decoding = field(default_factory=Decoding, metadata=_help("Decoding settings; greedy default."))
    batch_size: int = field(default=32, metadata=_help("Requests handed to the backend at once."))
    max_text_chars: int = field(default=4000, metadata=_help("Raw answer text kept per step in the results."))
    shots: int = field(
        default=0,
        metadata=_help(
            "Solved examples put before each task (in-context-learning baseline); never the task itself."
        ),
    )
    shot_seed: int = field(default=0, metadata=_help("Seed of the choice of examples (same for every arm)."))
    trials: int = field(
        default=1,
        metadata=_help(
            "Runs per task (temperature > 0 needed for more than one); seeds decoding.seed + trial."
        ),
    )

    def __post_init__(self) -> None:
        get_presentation(self.presentation)
        if self.batch_size < 1:
            raise UserError(f"batch_size must be at least 1, got {self.batch_size}")
        if self.shots < 0:
            raise UserError(f"shots must be >= 0, got {self.shots}")
        if self.trials < 1:
            raise UserError(f"trials must be at least 1, got {self.trials}")
        if self.trials > 1 and self.decoding.greedy:
            raise UserError(
                f"{self.trials} trials at temperature 0 would repeat one greedy answer {self.trials} times, "
                "so "
                "pass^k and pass@k would say nothing; set a temperature above 0 (e.g. 0.7) or use one trial"
            )


@dataclass(kw_only=True)
class StepParse:
    """One reading (strict or lenient) of one answer, and its score."""

    calls: list[ToolCall]
    error: str | None
    matched: bool
    reasons: list[str]
    f1: float

    def to_dict(self) -> dict[str, Any]:
        return {
            "calls": [c.to_dict() for c in self.calls],
            "error": self.error,
            "matched": self.matched,
            "reasons": self.reasons,
            "f1": round(self.f1, 6),
        }


@dataclass(kw_only=True)
class StepResult:
    """One decision point. ``gold_kind``: ``calls`` (the gold turn calls tools), ``answer`` (a text turn right
    after tool results: the model should answer, not call again) or ``no_call`` (a text turn after a user
    message: no tool applies, or the model must ask; what abstention metrics are about)."""

    turn: int
    gold: list[Any]
    gold_kind: GoldKind
    text: str
    native_channel: bool
    strict: StepParse
    lenient: StepParse
    prompt_sha256: str
    prompt_tokens: int = 0
    completion_tokens: int = 0
    latency_s: float = 0.0
    infra_error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "turn": self.turn,
            "gold": [gold_dict(c) for c in self.gold],
            "gold_kind": self.gold_kind,
            "text": self.text,
            "native_channel": self.native_channel,
            "strict": self.strict.to_dict(),
            "lenient": self.lenient.to_dict(),
            "prompt_sha256": self.prompt_sha256,
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "latency_s": round(self.latency_s, 4),
            "infra_error": self.infra_error,
        }


@dataclass(kw_only=True)
class TaskResult:
    """One task's outcome.

    ``cluster`` (the first gold tool, or ``(no call)``) groups tasks for the cluster bootstrap.
    """

    task_id: str
    kind: str | None
    suite: str | None
    presentation: str
    native: bool
    cluster: str
    steps: list[StepResult]
    trial: int = 0
    tools: list[str] = field(default_factory=list)
    shots: list[str] = field(default_factory=list)
    shot_tools_added: list[str] = field(default_factory=list)
    tool_tokens: int = 0
    tool_tokens_method: str = ""

    def correct(self, mode: Mode = "lenient") -> bool:
        return bool(self.steps) and all(getattr(s, mode).matched for s in self.steps)

    @property
    def infra_error(self) -> bool:
        return any(s.infra_error for s in self.steps)

    def to_dict(self) -> dict[str, Any]:
        return {
            "task_id": self.task_id,
            "kind": self.kind,
            "suite": self.suite,
            "presentation": self.presentation,
            "native": self.native,
            "cluster": self.cluster,
            "correct": {"strict": self.correct("strict"), "lenient": self.correct("lenient")},
            "infra_error": self.infra_error,
            "trial": self.trial,
            "tools": self.tools,
            "shots": self.shots,
            "shot_tools_added": self.shot_tools_added,
            "tool_tokens": self.tool_tokens,
            "tool_tokens_method": self.tool_tokens_method,
            "steps": [s.to_dict() for s in self.steps],
        }


@dataclass
class _Point:
    task: int
    turn: int
    gold: list[Any]
    gold_kind: GoldKind
    request: ChatRequest
    specs: list[ToolSpec]
    prompt_sha256: str


def _hash(messages: Any, tools: Any) -> str:
    blob = json.dumps({"messages": messages, "tools": tools}, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()


def _score(
    calls: list[ToolCall], error: str | None, gold: list[Any], specs: list[ToolSpec], mode: Mode
) -> StepParse:
    if error is not None:
        return StepParse(calls=[], error=error, matched=False, reasons=[f"format_failure: {error}"], f1=0.0)
    if not gold:
        ok = no_call_correct(len(calls), parse_error=False)
        reasons = [] if ok else [f"unexpected_call: expected no call, got {len(calls)}"]
        return StepParse(calls=calls, error=None, matched=ok, reasons=reasons, f1=1.0 if ok else 0.0)
    result = match_calls(calls, gold, specs, strict=mode == "strict")
    reasons = list(result.reasons)
    return StepParse(calls=calls, error=None, matched=result.all_matched, reasons=reasons, f1=result.f1)


async def evaluate(
    tasks: Sequence[Trajectory],
    backend: Backend,
    config: EvalConfig,
    *,
    out: str | Path | None = None,
    shot_pool: Sequence[Trajectory] | None = None,
    progress: Progress | None = None,
) -> list[TaskResult]:
    """Evaluate ``backend`` on ``tasks`` in one presentation; with ``out``, write one JSON line per task (and
    trial). ``shot_pool``: where ``config.shots`` examples come from (default: ``tasks``, leave-one-out)."""
    pres = get_presentation(config.presentation)
    tokenizer = getattr(backend, "tokenizer", None)
    pool = list(shot_pool) if shot_pool is not None else list(tasks)
    points: list[_Point] = []
    meta: dict[int, dict[str, Any]] = {}
    token_cache: dict[tuple[str, ...], tuple[int, str]] = {}
    for t, traj in enumerate(tasks):
        if not isinstance(traj, Trajectory):
            raise UserError(f"task {t} is a {type(traj).__name__}; pass toolkit.records.Trajectory objects")
        shots = build_shots(traj, pool, config.shots, seed=config.shot_seed)
        specs = list(traj.tools) + shots.extra_tools
        key = tuple(json.dumps(s.model_dump(mode="json"), sort_keys=True) for s in specs)
        if key not in token_cache:
            token_cache[key] = tool_definition_tokens(
                specs, config.presentation, tokenizer=tokenizer, native=config.native
            )
        meta[t] = {
            "shots": shots.ids,
            "shot_tools_added": [s.name for s in shots.extra_tools],
            "tool_tokens": token_cache[key],
        }
        for turn, gold in decision_points(traj, config.steps):
            history = list(traj.messages[:turn])
            if shots.messages:
                at = 1 if history and history[0].role == "system" else 0
                history = history[:at] + shots.messages + history[at:]
            example = prompt_for(
                history, specs, config.presentation, tokenizer=tokenizer, native=config.native
            )
            messages = example.messages
            if tokenizer is None and not example.native:
                messages = prompted_tool_results(messages, pres)
            request = ChatRequest(messages=messages, tools=example.tools, decoding=config.decoding)
            kind = gold_kind(traj, turn, gold)
            prompt_hash = _hash(messages, example.tools)
            points.append(_Point(t, turn, gold, kind, request, specs, prompt_hash))
    natives = {p.task: p.request.tools is not None for p in points}
    trial_points = [(trial, p) for trial in range(config.trials) for p in points]
    requests = [
        p.request if config.trials == 1 else _for_trial(p.request, trial) for trial, p in trial_points
    ]
    responses: list[ChatResponse] = []
    for start in range(0, len(requests), config.batch_size):
        chunk = requests[start : start + config.batch_size]
        got = await backend.generate(chunk)
        if len(got) != len(chunk):
            raise UserError(f"backend {backend.name} returned {len(got)} responses for {len(chunk)} requests")
        responses.extend(got)
        if progress is not None:
            progress.advance(len(got), ok=sum(r.error is None for r in got) == len(got))
    steps: dict[tuple[int, int], list[StepResult]] = {}
    for (trial, p), r in zip(trial_points, responses, strict=True):
        native = p.request.tools is not None
        parses = {}
        channel = False
        for mode in ("strict", "lenient"):
            calls, error, channel = read_answer(
                r, pres, p.specs, native=native, channel=tokenizer is None, mode=mode
            )  # type: ignore[arg-type]
            parses[mode] = _score(calls, error, p.gold, p.specs, mode)  # type: ignore[arg-type]
        steps.setdefault((trial, p.task), []).append(
            StepResult(
                turn=p.turn,
                gold=p.gold,
                gold_kind=p.gold_kind,
                text=r.text[: config.max_text_chars],
                native_channel=channel,
                strict=parses["strict"],
                lenient=parses["lenient"],
                prompt_sha256=p.prompt_sha256,
                prompt_tokens=r.usage.prompt_tokens,
                completion_tokens=r.usage.completion_tokens,
                latency_s=r.latency_s,
                infra_error=r.error,
            )
        )
    results = [
        TaskResult(
            task_id=traj.id,
            kind=traj.scenario.kind if traj.scenario else None,
            suite=traj.scenario.suite if traj.scenario else None,
            presentation=config.presentation,
            native=natives.get(t, False),
            cluster=cluster_of(traj),
            steps=steps.get((trial, t), []),
            trial=trial,
            tools=gold_tool_names(traj),
            shots=meta[t]["shots"],
            shot_tools_added=meta[t]["shot_tools_added"],
            tool_tokens=meta[t]["tool_tokens"][0],
            tool_tokens_method=meta[t]["tool_tokens"][1],
        )
        for trial in range(config.trials)
        for t, traj in enumerate(tasks)
    ]
    if out is not None:
        write_results(results, out)
    return results


def count_requests(tasks: Sequence[Trajectory], config: EvalConfig) -> int:
    """How many model requests :func:`evaluate` makes (decision points times trials), for progress bars."""
    return config.trials * sum(len(decision_points(t, config.steps)) for t in tasks)


def _for_trial(request: ChatRequest, trial: int) -> ChatRequest:
    """The request of trial ``trial``: its own seed (base seed, or 0, plus the trial number)."""
    base = request.decoding.seed or 0
    return replace(request, decoding=replace(request.decoding, seed=base + trial))


def write_results(results: Sequence[TaskResult], path: str | Path) -> None:
    with Path(path).open("w", encoding="utf-8") as fh:
        fh.writelines(json.dumps(r.to_dict(), ensure_ascii=False) + "\n" for r in results)


def read_results(path: str | Path) -> list[dict[str, Any]]:
    """The per-task rows of a results file, as dicts (what :mod:`toolkit.evaluate_report` consumes)."""
    rows = []
    with Path(path).open(encoding="utf-8") as fh:
        for n, line in enumerate(fh, start=1):
            if line.strip():
                try:
                    rows.append(json.loads(line))
                except json.JSONDecodeError as exc:
                    raise UserError(f"{path}:{n} is not JSON ({exc.msg})") from None
    return rows
