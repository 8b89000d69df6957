"""The RL reward as a breakdown: one TRL reward function per component, each from real tool execution.

Every component is computed from an :class:`~trainers.rl_rollout.Episode` (what the policy wrote, the calls that ran
on the live suite state, the state it left) and graded with :meth:`toolkit.environment.Environment.grade` — the
evaluator's checks, whose argument matching is :func:`toolkit.metrics.match_call` — so scoring and reward have one
definition.

=============  =====================================================================================================
component      value per rollout (in [0, 1]; ``None`` = not applicable, which TRL ignores)
=============  =====================================================================================================
format         mean over assistant turns: 1 strict parse, ``lenient_format_credit`` lenient-only, 0 unreadable/cut
tool_choice    the grade's ``tool_choice`` score (gold tools called; no call on no-tool tasks; asked first on
               missing-argument tasks)
arguments      F1 of the gold calls matched (grade's ``arguments`` recall) and the share of executed calls that
               matched one (precision), so spraying calls does not pay; None when the task has no gold call
end_state      the grade's ``end_state`` check, only when the gold tools were called (an idle policy leaves a
               read-only task's state "correct")
answer         the share of answer facts stated, only when grounded by the gold tools; None without facts
outcome        1 when every applicable check passed and no call was refused at the cap
=============  =====================================================================================================

**Finishing** (``require_finish``, on by default): a rollout the policy never handed back (still calling tools at
the tool-round or token limit, cut off mid-turn, or unreadable) earns nothing on any component. Without it, a policy
that loops on the right tools until the limit collects ``end_state`` and process credit that an answered but wrong
rollout does not, and RL teaches it to loop (docs/rl.md, seventh run).

**Outcome gating** (reward hacking, training.md §5.6): the process components (format, tool_choice, arguments) pay in
full only when the outcome is reached; otherwise they are scaled by ``credit_without_outcome``, and they pay nothing
when the policy hit the call cap or repeated an identical call. With the default weights, a rollout that fails the
task can earn at most 0.15 from process credit, against up to 2.6 for a solved one.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from toolkit.errors import UserError
from toolkit.presentations import get_presentation
from toolkit.specs import ToolCall
from trainers.rl_env import ToolGymEnv, calls_of, snapshot_of, suite_env_of, task_of
from trainers.rl_rollout import Episode, Turn

__all__ = [
    "COMPONENTS",
    "DEFAULT_WEIGHTS",
    "PROCESS",
    "RewardSettings",
    "component_scores",
    "episode_from_messages",
    "episodes_from_kwargs",
    "reward_functions",
    "rows_without_outcome_contrast",
]

COMPONENTS = ("format", "tool_choice", "arguments", "end_state", "answer", "outcome")
PROCESS = ("format", "tool_choice", "arguments")
DEFAULT_WEIGHTS: dict[str, float] = {
    "format": 0.1,
    "tool_choice": 0.2,
    "arguments": 0.3,
    "end_state": 0.5,
    "answer": 0.5,
    "outcome": 1.0,
}


@dataclass(frozen=True, kw_only=True)
class RewardSettings:
    """Weights and gating of the reward components."""

    weights: Mapping[str, float] = field(default_factory=lambda: dict(DEFAULT_WEIGHTS))
    credit_without_outcome: float = 0.25
    lenient_format_credit: float = 0.5
    require_finish: bool = True

    def __post_init__(self) -> None:
        problems = []
        unknown = sorted(set(self.weights) - set(COMPONENTS))
        if unknown:
            problems.append(
                f"unknown reward component(s) {', '.join(unknown)}; components: {', '.join(COMPONENTS)}"
            )
        bad = [f"{k}={v}" for k, v in self.weights.items() if not isinstance(v, (int, float)) or v < 0]
        if bad:
            problems.append(f"reward weights must be numbers >= 0, got {', '.join(bad)}")
        if not problems and not any(self.weights.get(k, 0) > 0 for k in ("end_state", "answer", "outcome")):
            problems.append(
                "at least one outcome component (end_state, answer, outcome) needs a weight > 0; "
                "process rewards alone can be farmed by calling tools"
            )
        for name in ("credit_without_outcome", "lenient_format_credit"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                problems.append(f"{name} must be between 0 and 1, got {getattr(self, name)}")
        if problems:
            raise UserError("invalid reward settings:\n" + "\n".join(f"  - {p}" for p in problems))

    def weight(self, name: str) -> float:
        return float(self.weights.get(name, 0.0))


def _repeated(ep: Episode) -> bool:
    keys = [c.key() for c in ep.executed_calls]
    return len(keys) != len(set(keys))


def _format(ep: Episode, s: RewardSettings) -> float:
    if not ep.turns:
        return 0.0

    def one(t: Turn) -> float:
        if t.truncated or t.lenient_error is not None:
            return 0.0
        return 1.0 if t.strict_ok else s.lenient_format_credit

    return sum(one(t) for t in ep.turns) / len(ep.turns)


def _grounded(ep: Episode) -> bool:
    return ep.grade.checks["tool_choice"].passed


def _arguments(ep: Episode) -> float | None:
    check = ep.grade.checks["arguments"]
    if not check.applicable:
        return None
    recall = check.score
    matched = round(recall * len(ep.task.gold_calls))
    executed = len(ep.executed_calls)
    precision = matched / executed if executed else 0.0
    return 0.0 if recall + precision == 0 else 2 * recall * precision / (recall + precision)


def component_scores(ep: Episode, settings: RewardSettings | None = None) -> dict[str, float | None]:
    """Every component's value for one episode (after gating), plus ``total`` (the weighted sum TRL will form)."""
    s = settings or RewardSettings()
    if s.require_finish and not ep.finished:
        na = {k for k in ("arguments", "answer") if not ep.grade.checks[k].applicable}
        scores: dict[str, float | None] = {k: None if k in na else 0.0 for k in COMPONENTS}
        scores["total"] = 0.0
        return scores
    grade = ep.grade
    refused = any(c.refused for c in ep.calls)
    outcome = 1.0 if grade.passed and not refused else 0.0
    gate = 0.0 if refused or _repeated(ep) else (1.0 if outcome else s.credit_without_outcome)
    answer = grade.checks["answer"]
    arguments = _arguments(ep)
    scores = {
        "format": _format(ep, s) * gate,
        "tool_choice": grade.checks["tool_choice"].score * gate,
        "arguments": None if arguments is None else arguments * gate,
        "end_state": grade.checks["end_state"].score if _grounded(ep) else 0.0,
        "answer": None if not answer.applicable else (answer.score if _grounded(ep) else 0.0),
        "outcome": outcome,
    }
    scores["total"] = sum(s.weight(k) * v for k, v in scores.items() if v is not None and k in COMPONENTS)
    return scores


# -- episodes from what TRL passes ---------------------------------------------------------------------------------


def episode_from_messages(
    adapter: ToolGymEnv,
    messages: Sequence[Mapping[str, Any]],
    presentation: str = "json",
) -> Episode:
    """An episode from TRL's own tool loop (``environment_factory``): the completion's messages plus the adapter's
    recorded calls and state. Native ``tool_calls`` count as strict; text turns are parsed with the presentation."""
    pres = get_presentation(presentation)
    specs = suite_env_of(adapter).specs()
    turns, answer = [], None
    for m in messages:
        if m.get("role") != "assistant":
            continue
        text = str(m.get("content") or "")
        if m.get("tool_calls"):
            calls = [
                ToolCall(name=c["function"]["name"], arguments=dict(c["function"].get("arguments") or {}))
                for c in m["tool_calls"]
            ]
            turns.append(
                Turn(text=text, calls=calls, strict_ok=True, lenient_error=None, had_call_syntax=True)
            )
            continue
        strict, lenient = pres.parse(text, specs, strict=True), pres.parse(text, specs, strict=False)
        turns.append(
            Turn(
                text=text,
                calls=list(lenient.calls),
                strict_ok=strict.ok,
                lenient_error=lenient.error,
                leniencies=lenient.leniencies,
                had_call_syntax=lenient.had_call_syntax,
                content=lenient.content,
            )
        )
        answer = lenient.content or text
    return Episode(
        task=task_of(adapter),
        turns=turns,
        calls=calls_of(adapter),
        end_state=snapshot_of(adapter),
        final_answer=answer,
        specs=specs,
        grader=suite_env_of(adapter),
        max_calls=adapter.max_calls,
    )


def episodes_from_kwargs(
    completions: Sequence[Any], kwargs: Mapping[str, Any], presentation: str
) -> list[Episode]:
    """The episodes of a batch: ``toolgym_episode`` from :class:`~trainers.rl_rollout.ToolRollout`, else built from
    TRL's ``environments`` (``environment_factory``) and the completion messages."""
    episodes = kwargs.get("toolgym_episode")
    if episodes is not None:
        return list(episodes)
    environments = kwargs.get("environments")
    if environments is None:
        raise UserError(
            "the ToolGym rewards need rollouts from trainers.rl_rollout.ToolRollout (rollout_func) or "
            "trainers.rl_env environments (environment_factory)"
        )
    return [
        episode_from_messages(env, msgs, presentation)
        for env, msgs in zip(environments, completions, strict=True)
    ]


def reward_functions(
    settings: RewardSettings | None = None,
    *,
    presentation: str = "json",
) -> tuple[list[Callable[..., list[float | None]]], list[float]]:
    """``(reward_funcs, reward_weights)`` for ``GRPOTrainer`` / ``GRPOConfig``: one batched function per component
    with a weight > 0, named after the component (TRL logs ``rewards/<name>/mean``)."""
    s = settings or RewardSettings()
    funcs, weights = [], []
    for name in COMPONENTS:
        if s.weight(name) <= 0:
            continue

        def reward(
            prompts: list[Any], completions: list[Any], _name: str = name, **kwargs: Any
        ) -> list[float | None]:
            episodes = episodes_from_kwargs(completions, kwargs, presentation)
            return [component_scores(ep, s)[_name] for ep in episodes]

        reward.__name__ = name
        reward.__qualname__ = name
        funcs.append(reward)
        weights.append(s.weight(name))
    return funcs, weights


def rows_without_outcome_contrast(rewards: Any, names: Sequence[str], num_generations: int) -> Any:
    """DAPO's group filter, on the outcome: a boolean per rollout, true where its group has no outcome contrast.

    ``rewards`` is TRL's ``(rollouts, reward functions)`` tensor, a task's rollouts in consecutive rows. A group whose
    rollouts all reached the outcome, or all missed it, has no outcome contrast. Left alone, GRPO would turn the small
    differences of its process credit into full-size advantages (group scaling divides them by their own tiny spread)
    and push the policy on noise; the trainer zeroes these rows' advantages instead."""
    if "outcome" not in names:
        raise UserError("the outcome group filter needs the outcome reward component (give it a weight > 0)")
    outcome = rewards[:, list(names).index("outcome")].view(-1, num_generations)
    flat = (outcome == outcome[:, :1]).all(dim=1)  # an unscorable (NaN) rollout never equals: its group is kept
    return flat.repeat_interleave(num_generations)
