"""Reward-hacking monitors, logged every step, and the reward curves drawn at the end of a run.

The monitors watch for the ways a tool-calling policy games its reward (training.md §5.6) — each is the share
of the step's rollouts that did it:

* ``monitor/over_cap_rate`` — tried to call past the per-episode call cap (calls were refused);
* ``monitor/repeated_call_rate`` — made the same call (name and arguments) twice;
* ``monitor/ungrounded_answer_rate`` — answered a task that needs tools without one successful call of a gold
  tool (on error tasks, the gold call's expected error counts as its result);
* ``monitor/lenient_only_win_rate`` — solved the task (what the ``outcome`` reward pays), but some turn was
  readable only by the lenient parser (a win that a strict runtime would not have executed);
* ``monitor/format_failure_rate`` — wrote call syntax nobody can read, or ran out of tokens mid-turn;
* ``monitor/unfinished_rate`` — never handed the turn back (still calling tools when the rollout hit its limit);
* ``monitor/out_of_budget_rate`` — ran out of ``max_completion_length`` (mid-turn, or with no room left for the
  tool results): not gaming, but a budget too small for the tasks, which caps what any policy can solve;
* ``monitor/pass_rate`` (share solved: finished, every check passed, no call refused) and
  ``monitor/calls_per_episode`` for context.

They reach TRL's logs through a reward function of weight 0 (``monitors``): TRL hands every reward function a
``log_metric`` callback, and its value column is constant, so it changes no advantage.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from trainers.rewards import episodes_from_kwargs
from trainers.rl_rollout import Episode

__all__ = ["MONITORS", "monitor_function", "monitor_values", "plot_reward_curves"]

MONITORS = (
    "monitor/over_cap_rate",
    "monitor/repeated_call_rate",
    "monitor/ungrounded_answer_rate",
    "monitor/lenient_only_win_rate",
    "monitor/format_failure_rate",
    "monitor/unfinished_rate",
    "monitor/out_of_budget_rate",
    "monitor/pass_rate",
    "monitor/calls_per_episode",
    "monitor/demonstration_rate",
)


def _ungrounded(ep: Episode) -> bool:
    if not ep.task.gold_calls or not (ep.final_answer or "").strip():
        return False
    gold = {c.name for c in ep.task.gold_calls}
    failing = {c.name for c in ep.task.gold_calls if c.expect_error}  # their error is the result to report
    return not any(c.name in gold and (c.name in failing or not c.is_error) for c in ep.executed_calls)


def monitor_values(episodes: Sequence[Episode]) -> dict[str, float]:
    """Each monitor's value over a batch of episodes (shares of rollouts; 0 for an empty batch). Gold
    demonstrations (``guidance: gold``) are not the policy's work: every monitor but ``demonstration_rate`` (their
    share of the batch) describes the sampled rollouts only."""
    demonstrated = sum(1 for ep in episodes if ep.demonstration) / len(episodes) if episodes else 0.0
    episodes = [ep for ep in episodes if not ep.demonstration]
    n = len(episodes)
    if n == 0:
        return {**dict.fromkeys(MONITORS, 0.0), "monitor/demonstration_rate": demonstrated}

    def share(pred: Callable[[Episode], bool]) -> float:
        return sum(1 for ep in episodes if pred(ep)) / n

    return {
        "monitor/over_cap_rate": share(lambda ep: any(c.refused for c in ep.calls)),
        "monitor/repeated_call_rate": share(
            lambda ep: len({c.key() for c in ep.executed_calls}) != len(ep.executed_calls)
        ),
        "monitor/ungrounded_answer_rate": share(_ungrounded),
        "monitor/lenient_only_win_rate": share(
            lambda ep: ep.solved and not all(t.strict_ok for t in ep.turns)
        ),
        "monitor/format_failure_rate": share(
            lambda ep: any(t.lenient_error or t.truncated for t in ep.turns)
        ),
        "monitor/unfinished_rate": share(lambda ep: not ep.finished),
        "monitor/out_of_budget_rate": share(lambda ep: ep.out_of_budget),
        "monitor/pass_rate": share(lambda ep: ep.solved),  # the grade alone would count a rollout that never answers
        "monitor/calls_per_episode": sum(len(ep.calls) for ep in episodes) / n,
        "monitor/demonstration_rate": demonstrated,
    }


def monitor_function(presentation: str = "json") -> Callable[..., list[float]]:
    """A TRL reward function (give it weight 0) that logs :func:`monitor_values` through ``log_metric``."""

    def monitors(
        prompts: list[Any], completions: list[Any], log_metric: Any = None, **kwargs: Any
    ) -> list[float]:
        episodes = episodes_from_kwargs(completions, kwargs, presentation)
        if log_metric is not None:
            for name, value in monitor_values(episodes).items():
                log_metric(name, value)
        return [0.0] * len(episodes)

    return monitors


def plot_reward_curves(log_history: Sequence[dict[str, Any]], out_dir: str | Path) -> list[Path]:
    """One PNG per reward component and monitor (mean per logged step), plus the total reward, in ``out_dir``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    series: dict[str, tuple[list[float], list[float]]] = {}
    for row in log_history:
        step = row.get("step")
        if step is None:
            continue
        for key, value in row.items():
            name = None
            if (
                key.startswith("rewards/")
                and key.endswith("/mean")
                and not key.startswith("rewards/monitors/")
            ):
                name = "reward_" + key[len("rewards/") : -len("/mean")]
            elif key == "reward":
                name = "reward_total"
            elif key.startswith("monitor/"):
                name = key.replace("/", "_")
            if name is not None and isinstance(value, (int, float)):
                xs, ys = series.setdefault(name, ([], []))
                xs.append(float(step))
                ys.append(float(value))
    paths = []
    for name, (xs, ys) in sorted(series.items()):
        fig, ax = plt.subplots(figsize=(5, 3.2))
        ax.plot(xs, ys, marker="o", linewidth=1.5)
        ax.set_xlabel("step")
        ax.set_ylabel(name.replace("_", " "))
        ax.set_title(name)
        ax.grid(alpha=0.3)
        fig.tight_layout()
        path = out / f"{name}.png"
        fig.savefig(path, dpi=100)
        plt.close(fig)
        paths.append(path)
    return paths
