"""The steps the demo and the training benchmarks share: synthesize, validate, split, fine-tune, evaluate.

Each step is a plain function over files, so a benchmark can run the same step twice with one setting changed
(e.g. the presentation the SFT data is rendered in) and nothing else.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio

from toolkit.errors import UserError
from toolkit import aio

__all__ = ["Arm", "BENCH_SFT", "synthesize_offline", "validate_with_replay", "split_file", "train_sft",
           "evaluate_arms", "arm_summary"]

# The SFT recipe the benchmarks share (bench/learning.py, presentation_transfer.py, rl_after_sft.py --build-sft), so
# their SFT runs differ only in data, steps and row length.
BENCH_SFT = {"split": "random", "validation_fraction": 0.1, "batch_size": 4, "learning_rate": 1e-3,
             "warmup_ratio": 0.05, "lr_scheduler": "cosine", "progress": False}


@dataclass(frozen=True)
class Arm:
    """One evaluated combination: a model (label + what `load_backend` takes) in one presentation."""

    label: str
    model: str
    presentation: str


def synthesize_offline(out: Path, *, suites: Sequence[str], n: int, seed: int, mix: Mapping[str, float],
                       max_tools: int | None, progress: bool) -> dict[str, Any]:
    """Offline synthesis into ``out`` (resumed if it exists); returns the yield report with diversity."""
    from synthesizers.diversity import diversity
    from synthesizers.offline import OfflineSynthesizer
    from synthesizers.runner import RunOptions, run_synthesis

    synth = OfflineSynthesizer(suites=list(suites), max_tools=max_tools)
    opts = RunOptions(n=n, out=out, seed=seed, concurrency=4, mix=dict(mix), progress=progress, resume=out.exists())
    report = aio.run(run_synthesis, synth, opts)
    print(report.yields.render())
    return {**report.to_dict(), "diversity": diversity(out)}


def validate_with_replay(data: Path, suites: Sequence[str], *, progress: bool) -> dict[str, Any]:
    """Every record through every stage, replay on fresh suite tools included; a failure stops the pipeline."""
    from toolkit.validation import validate_file

    report = validate_file(data, sources=[f"py:tools.{s}" for s in suites], progress=progress)
    print(f"      {report.passed}/{report.total} records pass every stage, execution replay included")
    if report.passed != report.total:
        raise UserError(f"{report.total - report.passed} record(s) failed validation; see `toolgym validate {data}`")
    return {"passed": report.passed, "total": report.total}


def split_file(data: Path, out_dir: Path, *, method: str, test_fraction: float, seed: int) -> dict[str, Any]:
    """Write ``train.jsonl`` and ``test.jsonl`` (and, for held-out tools, the held-out tool names)."""
    from toolkit.exporters import split_records
    from toolkit.readers import load_trajectories

    records, bad = load_trajectories(data)
    if bad:
        raise UserError(f"{data}: {len(bad)} unreadable record(s)")
    split = split_records(records, method, test_fraction=test_fraction, seed=seed)
    out_dir.mkdir(parents=True, exist_ok=True)
    for name, rows in (("train", split.train), ("test", split.test)):
        (out_dir / f"{name}.jsonl").write_text("".join(r.to_json() + "\n" for r in rows), encoding="utf-8")
    print(f"      {method} split: {len(split.train)} train / {len(split.test)} held-out records"
          + (f" ({len(split.dropped)} dropped)" if split.dropped else ""))
    return {"train": len(split.train), "test": len(split.test), "dropped": len(split.dropped),
            "held_out_tools": list(split.held_out_tools), "method": method}


def train_sft(train: Path, run_dir: Path, **settings: Any) -> dict[str, Any]:
    """LoRA SFT with :func:`trainers.sft.run_sft`; ``settings`` are :class:`SFTRunConfig` fields."""
    from trainers.sft import run_sft
    from trainers.sft_config import SFTRunConfig

    cfg = SFTRunConfig(train_file=train, output_dir=run_dir, **settings)
    result = run_sft(cfg)
    return {"run_dir": str(result.run_dir), "steps": result.global_step, "train_loss": result.final_train_loss,
            "eval_loss": result.final_eval_loss, "best_eval_loss": result.best_eval_loss,
            "data": result.summary.get("data", {}).get("train", {})}


async def _evaluate(tasks: Any, backend: Any, config: Any, out: Path) -> list[Any]:
    from toolkit.evaluate import evaluate

    return await evaluate(tasks, backend, config, out=out)


def evaluate_arms(tasks_file: Path, arms: Sequence[Arm], out_dir: Path, *, max_tasks: int, max_new_tokens: int,
                  steps: str = "first") -> dict[Arm, list[Any]]:
    """Greedy evaluation of every arm on the same tasks; one results JSONL per arm in ``out_dir``. Arms that
    share a model load it once."""
    from toolkit.backends import Decoding
    from toolkit.evaluate import EvalConfig
    from toolkit.evaluate_models import load_backend
    from toolkit.readers import load_trajectories

    tasks, _ = load_trajectories(tasks_file)
    tasks = tasks[:max_tasks]
    if not tasks:
        raise UserError(f"{tasks_file} holds no tasks to evaluate")
    decoding = Decoding(temperature=0.0, max_tokens=max_new_tokens)
    results: dict[Arm, list[Any]] = {}
    by_model: dict[str, list[Arm]] = {}
    for arm in arms:
        by_model.setdefault(arm.model, []).append(arm)
    for model, model_arms in by_model.items():
        backend, _info = load_backend(model, batch_size=8)
        try:
            for arm in model_arms:
                print(f"      {arm.label} model, {arm.presentation} presentation, {len(tasks)} tasks", flush=True)
                config = EvalConfig(presentation=arm.presentation, steps=steps, decoding=decoding,  # type: ignore[arg-type]
                                    batch_size=8)
                out = out_dir / f"eval-{arm.label}-{arm.presentation}.jsonl"
                results[arm] = anyio.run(_evaluate, tasks, backend, config, out)
        finally:
            close = getattr(backend, "aclose", None)
            if close is not None:
                anyio.run(close)
    return results


def arm_summary(results: Sequence[Any]) -> dict[str, Any]:
    """Lenient and strict task accuracy (with 95% intervals) and the format-failure rate of one arm."""
    from toolkit.evaluate_report import summarize

    lenient, strict = summarize(results, mode="lenient"), summarize(results, mode="strict")
    return {"lenient": lenient.task_accuracy, "strict": strict.task_accuracy,
            "format_failures": lenient.format_failure_rate, "n_tasks": lenient.n_tasks}
