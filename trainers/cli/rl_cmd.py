"""`toolgym train rl CONFIG.yaml [--set key=value ...]` — GRPO acting in the suites' tool environments."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from trainers.rl_config import load_rl_config, rl_config_help
from trainers.sft_config import parse_sets

EXAMPLE = """examples:
  toolgym train rl samples/train_rl.yaml
  toolgym train rl samples/train_rl.yaml --set model=runs/sft --set max_steps=50   # RL after SFT
  toolgym train rl samples/train_rl.yaml --set resume=latest

Rollouts act in the environments with real tool execution; the reward is a breakdown (format, tool choice,
arguments, end state, answer, outcome) computed with the evaluator's own grading, and reward-hacking monitors are
logged every step. See docs/rl.md.

settings (YAML keys, or --set key=value):
"""


def add_method(methods: Any) -> argparse.ArgumentParser:
    rl = methods.add_parser(
        "rl",
        help="reinforcement learning with TRL GRPOTrainer in live tool environments",
        description="GRPO with multi-turn rollouts in the bundled suites' environments: tools really execute, "
        "tool-result tokens are masked from the loss, rewards are broken down per component, and reward-hacking "
        "monitors (call cap, repeated calls, ungrounded answers, lenient-only wins) are logged every step.",
        epilog=EXAMPLE + rl_config_help(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    rl.add_argument("config", nargs="?", type=Path, help="YAML config (see samples/train_rl.yaml)")
    rl.add_argument("--set", dest="sets", action="append", metavar="KEY=VALUE", help="override a setting (repeatable)")
    rl.add_argument("--quiet", action="store_true", help="no progress output")
    rl.add_argument("--json", action="store_true", help="print the run summary as JSON")
    return rl


def run(args: argparse.Namespace) -> int:
    overrides = parse_sets(args.sets)
    if args.quiet:
        overrides["progress"] = False
    config = load_rl_config(args.config, overrides)
    from trainers.rl import run_rl  # torch/transformers/trl load only when a run starts

    result = run_rl(config)
    if args.json:
        print(json.dumps(result.summary, indent=2, default=str))
    else:
        m = result.metrics  # the reward and its parts first, then the monitors; the rest is in run.json
        keys = ["reward", *sorted(k for k in m if k.startswith("rewards/") and k.endswith("/mean")),
                *sorted(k for k in m if k.startswith("monitor/"))]
        shown = ", ".join(f"{k} {m[k]:.3f}" for k in keys if k in m)
        print(f"trained {result.global_step} steps; last logged: {shown}")
        groups = result.summary.get("groups_by_kind")
        if groups:  # the share of groups GRPO could learn an outcome from, per kind: where RL can and cannot help
            print("groups with a solved and a failed rollout: " + ", ".join(
                f"{kind} {c['some']}/{c['groups']}" for kind, c in groups.items()))
            if any(c.get("guided") for c in groups.values()):
                print("groups given a gold demonstration: " + ", ".join(
                    f"{kind} {c['guided']}/{c['groups']}" for kind, c in groups.items()))
        print(f"wrote {result.run_dir} (run.json, plots/" + (", rollouts.jsonl)" if groups is not None else ")"))
    return 0
