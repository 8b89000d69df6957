"""Summaries and files of environment episodes (:mod:`toolkit.evaluate_env`).

Success with a 95% interval, pass^k and pass@k, per-check pass rates and mean costs. Works on ``EnvResult``
objects or the dicts of a results file, so a summary can be rerun from files alone.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from toolkit.errors import UserError
from toolkit.metrics import mean_pass_at_k, mean_pass_hat_k
from toolkit.stats import Interval, bootstrap_interval, wilson_interval

__all__ = ["EnvSummary", "summarize_env", "write_env_results"]


def write_env_results(results: Sequence[Any], path: str | Path) -> None:
    """One JSON line per episode (what ``toolgym eval --mode env`` writes)."""
    with Path(path).open("w", encoding="utf-8") as fh:
        fh.writelines(json.dumps(r.to_dict(), ensure_ascii=False, default=str) + "\n" for r in results)


@dataclass(frozen=True)
class EnvSummary:
    """Success over episodes (Wilson for one trial per task, else a cluster bootstrap of per-task rates),
    pass^k
    and pass@k, per-check pass rates (over episodes where the check applies) and mean costs per episode."""

    presentation: str
    n_tasks: int
    trials_per_task: int
    success: Interval
    pass_hat_k: dict[int, float]
    pass_at_k: dict[int, float]
    check_pass_rates: dict[str, float]
    mean_turns: float
    mean_calls: float
    mean_prompt_tokens: float
    mean_completion_tokens: float
    mean_tool_tokens: float
    mean_wall_s: float
    format_failures: int
    turn_limit_hits: int
    infra_errors: int


def summarize_env(results: Sequence[Any], *, seed: int = 0) -> EnvSummary:
    rows = [dict(r) if isinstance(r, dict) else r.to_dict() for r in results]
    if not rows:
        raise UserError("no episodes to summarise")
    groups: dict[str, list[dict[str, Any]]] = {}
    for r in rows:
        groups.setdefault(r["task_id"], []).append(r)
    pairs = [(len(g), sum(bool(r["passed"]) for r in g)) for g in groups.values()]
    fewest = min(n for n, _ in pairs)
    if all(n == 1 for n, _ in pairs):
        success = wilson_interval(sum(c for _, c in pairs), len(pairs))
    else:
        success = bootstrap_interval(
            [c / n for n, c in pairs], clusters=[g[0]["cluster"] for g in groups.values()], seed=seed
        )
    checks: dict[str, list[bool]] = {}
    for r in rows:
        for name, c in r["checks"].items():
            if c["applicable"]:
                checks.setdefault(name, []).append(bool(c["passed"]))
    n = len(rows)
    return EnvSummary(
        presentation=str(rows[0]["presentation"]),
        n_tasks=len(groups),
        trials_per_task=fewest,
        success=success,
        pass_hat_k={k: mean_pass_hat_k(pairs, k) for k in range(1, fewest + 1)},
        pass_at_k={k: mean_pass_at_k(pairs, k) for k in range(1, fewest + 1)},
        check_pass_rates={k: sum(v) / len(v) for k, v in checks.items()},
        mean_turns=sum(r["turns"] for r in rows) / n,
        mean_calls=sum(len(r["calls"]) for r in rows) / n,
        mean_prompt_tokens=sum(r["prompt_tokens"] for r in rows) / n,
        mean_completion_tokens=sum(r["completion_tokens"] for r in rows) / n,
        mean_tool_tokens=sum(r["tool_tokens"] for r in rows) / n,
        mean_wall_s=sum(r["wall_s"] for r in rows) / n,
        format_failures=sum(r["format_failures"] for r in rows),
        turn_limit_hits=sum(bool(r["hit_turn_limit"]) for r in rows),
        infra_errors=sum(1 for r in rows if r.get("infra_error")),
    )
