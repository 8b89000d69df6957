"""Every RL rollout on disk: ``rollouts.jsonl`` in the run directory, one row per rollout, written as each
generation batch is scored.

The logged means hide which tasks carried signal and what a rewarded rollout actually did; this file answers
both (which groups had outcome contrast, which calls earned credit, whether a rising reward is a reward hack).
A row holds the step it trains, the task (id, suite, kind), its group, the executed calls, the final answer, each
turn's raw text, every reward component, the weighted reward, the advantage it was given and whether the outcome
filter zeroed it. Text is bounded and URLs' credentials are masked, since it is model output.

A resumed run keeps the rows of the steps its checkpoint holds and drops the rest, which it regenerates: nothing
is lost or written twice.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from toolkit.sources import redact_secrets

__all__ = [
    "ROLLOUT_LOG",
    "append_rollout_rows",
    "contrast_by_kind",
    "prepare_rollout_log",
    "read_rollout_log",
    "rollout_log_path",
    "rollout_rows",
]

ROLLOUT_LOG = "rollouts.jsonl"
_TEXT_LIMIT = 2000  # characters kept of a turn, an answer or a call's arguments


def rollout_log_path(run_dir: Path, process_index: int = 0) -> Path:
    """``rollouts.jsonl`` for the main process; ``rollouts-rank{k}.jsonl`` for process ``k`` of a multi-process run
    (each process logs the rollouts it generated)."""
    return Path(run_dir) / (ROLLOUT_LOG if process_index == 0 else f"rollouts-rank{process_index}.jsonl")


def read_rollout_log(path: Path) -> list[dict[str, Any]]:
    """The rows of a rollout log; a torn last line (the process died mid-write) is skipped."""
    rows = []
    if Path(path).is_file():
        for line in Path(path).read_text(encoding="utf-8").splitlines():
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError:
                continue
    return rows


def prepare_rollout_log(path: Path, resumed_step: int | None) -> None:
    """Ready ``path`` for a run: empty for a fresh run; for a run resumed from the checkpoint of step
    ``resumed_step``, only the rows of steps up to it (later ones are regenerated). Written atomically."""
    path = Path(path)
    keep = [] if resumed_step is None else [r for r in read_rollout_log(path) if r.get("step", 0) <= resumed_step]
    if not keep and not path.exists():
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in keep), encoding="utf-8")
    os.replace(tmp, path)


def append_rollout_rows(path: Path, rows: Sequence[dict[str, Any]]) -> None:
    """Append ``rows`` to the log (one write, flushed to disk before training goes on)."""
    if not rows:
        return
    with Path(path).open("a", encoding="utf-8") as fh:
        fh.write("".join(json.dumps(r, ensure_ascii=False, default=str) + "\n" for r in rows))
        fh.flush()
        os.fsync(fh.fileno())


def _text(value: Any) -> str | None:
    if value is None:
        return None
    text = redact_secrets(value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str))
    return text if len(text) <= _TEXT_LIMIT else text[:_TEXT_LIMIT] + f"... [{len(text) - _TEXT_LIMIT} more chars]"


def _number(value: float) -> float | None:
    return None if math.isnan(value) else round(value, 6)


def rollout_rows(
    *,
    step: int,
    episodes: Sequence[Any],
    rewards: Sequence[Sequence[float]],
    names: Sequence[str],
    weights: Sequence[float],
    advantages: Sequence[float],
    first_row: int,
    group_size: int,
    filtered: Sequence[bool] | None = None,
) -> list[dict[str, Any]]:
    """One row per rollout of this process's share of a scored generation batch.

    ``rewards[i][j]``: reward function ``names[j]`` (weight ``weights[j]``) on rollout ``i`` (NaN: not
    applicable); ``first_row``: this process's first row in the whole batch, so that ``group`` (row //
    ``group_size``) names the same group on every process; ``filtered``: the outcome group filter's verdict per
    rollout, when it ran."""
    rows = []
    for i, episode in enumerate(episodes):
        scores = [float(x) for x in rewards[i]]
        components = {n: _number(v) for n, v, w in zip(names, scores, weights, strict=True) if w != 0}
        total = sum(v * w for v, w in zip(scores, weights, strict=True) if w != 0 and not math.isnan(v))
        row: dict[str, Any] = {
            "step": step,
            "group": (first_row + i) // group_size,
            "task": {"id": episode.task.id, "suite": episode.task.suite, "kind": episode.task.kind},
            "passed": bool(episode.grade.passed),  # every applicable check
            "solved": bool(episode.solved),  # and finished with no call refused: what the outcome reward pays
            "demonstration": bool(getattr(episode, "demonstration", False)),
            "out_of_budget": bool(getattr(episode, "out_of_budget", False)),
            "reward": round(total, 6),
            "rewards": components,
            "advantage": round(float(advantages[i]), 6),
        }
        if filtered is not None:
            row["filtered"] = bool(filtered[i])
        row["calls"] = [
            {"name": c.name, "arguments": _text(c.arguments), "error": c.is_error, "refused": c.refused}
            for c in episode.calls
        ]
        row["final_answer"] = _text(episode.final_answer)
        row["turns"] = [
            {"text": _text(t.text), "strict_ok": t.strict_ok, "format_error": t.lenient_error, "truncated": t.truncated}
            for t in episode.turns
        ]
        rows.append(row)
    return rows


def contrast_by_kind(rows: Sequence[dict[str, Any]]) -> dict[str, dict[str, int]]:
    """Per task kind, how many GRPO groups (rollouts of one task in one step) solved the task in none, some or all
    of their sampled rollouts, and in how many a gold demonstration stood in for one (``guided``; its own pass is
    not counted). Only "some" groups, and guided ones, carry outcome signal; a kind with none of them cannot
    improve by RL."""
    groups: dict[tuple[int, int], list[dict[str, Any]]] = {}
    for row in rows:
        groups.setdefault((row["step"], row["group"]), []).append(row)
    out: dict[str, dict[str, int]] = {}
    for members in groups.values():
        sampled = [r for r in members if not r.get("demonstration")]
        solved = sum(bool(r.get("solved", r["passed"])) for r in sampled)  # logs older than "solved" have "passed"
        verdict = "none" if solved == 0 else "all" if solved == len(sampled) else "some"
        counts = out.setdefault(members[0]["task"]["kind"], {"groups": 0, "none": 0, "some": 0, "all": 0, "guided": 0})
        counts["groups"] += 1
        counts[verdict] += 1
        counts["guided"] += len(sampled) < len(members)
    return dict(sorted(out.items()))
