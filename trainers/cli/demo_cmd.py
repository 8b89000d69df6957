"""`toolgym demo` — the whole path end to end on the embedded defaults (offline, CPU)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

EXAMPLE = """examples:
  toolgym demo                          # bundled suites, offline synthesis, SmolLM2-135M, report in runs/demo
  toolgym demo --out runs/demo2 --n 600 --max-steps 120
  toolgym demo --model path/to/model    # any local causal LM (or HF id already in the cache)

writes RUNDIR/data.jsonl (+ .summary.json), train.jsonl, test.jsonl, sft/ (adapter, template, loss_curve.png),
eval-<model>-<presentation>.jsonl, accuracy.png, report.md, demo.json"""


def add_parser(sub: Any) -> argparse.ArgumentParser:
    p = sub.add_parser(
        "demo",
        help="run the whole path end to end: synthesize, validate, split, SFT, evaluate before/after, report",
        description="Offline synthesis from the bundled suites, validation with execution replay, a held-out "
        "split, LoRA SFT of the bundled SmolLM2-135M on the CPU, and evaluation of the base and the tuned model "
        "in the python and mcp presentations on the held-out tasks, with a markdown + PNG report.",
        epilog=EXAMPLE,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--out", type=Path, default=Path("runs/demo"), help="run directory (default runs/demo)")
    p.add_argument("--model", default="bundled", help="base model (default: the bundled SmolLM2-135M)")
    p.add_argument("--n", type=int, help="samples to synthesize")
    p.add_argument("--max-steps", type=int, help="SFT optimizer steps")
    p.add_argument("--eval-tasks", type=int, help="held-out tasks to evaluate")
    p.add_argument("--seed", type=int, default=0, help="seed of synthesis, split and training")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    return p


def run(args: argparse.Namespace) -> int:
    from trainers.demo import DemoConfig, run_demo

    kwargs: dict[str, Any] = {"out": args.out, "model": args.model, "seed": args.seed, "progress": not args.quiet}
    for key in ("n", "max_steps", "eval_tasks"):
        if getattr(args, key) is not None:
            kwargs[key] = getattr(args, key)
    run_demo(DemoConfig(**kwargs))
    return 0
