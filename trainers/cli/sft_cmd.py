"""`toolgym train sft CONFIG.yaml [--set key=value ...]` — supervised fine-tuning on ToolGym trajectories."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from trainers.sft_config import config_help, load_sft_config, parse_sets

EXAMPLE = """examples:
  toolgym train sft samples/train_sft.yaml
  toolgym train sft samples/train_sft.yaml --set presentation=python --set max_steps=200
  toolgym train sft --set train_file=runs/synth/data.jsonl --set lora=false --set output_dir=runs/full
  toolgym train sft samples/train_sft.yaml --gate-only        # check template and masks, train nothing
  toolgym train sft samples/train_sft.yaml --set resume=latest  # continue from the last checkpoint

settings (YAML keys, or --set key=value):
"""


def add_method(methods: Any) -> argparse.ArgumentParser:
    sft = methods.add_parser(
        "sft",
        help="supervised fine-tuning with TRL SFTTrainer (LoRA or full)",
        description="Supervised fine-tuning on ToolGym JSONL with assistant-only loss masks, validation loss, "
        "early stopping, a loss-curve PNG, and the exact chat template saved with the weights.",
        epilog=EXAMPLE + config_help(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sft.add_argument("config", nargs="?", type=Path, help="YAML config (see samples/train_sft.yaml)")
    sft.add_argument(
        "--set", dest="sets", action="append", metavar="KEY=VALUE", help="override a setting (repeatable)"
    )
    sft.add_argument("--gate-only", action="store_true", help="run the template gate and exit (1 if it fails)")
    sft.add_argument("--quiet", action="store_true", help="no progress output")
    sft.add_argument("--json", action="store_true", help="print the run summary (or gate report) as JSON")
    return sft


def run(args: argparse.Namespace) -> int:
    overrides = parse_sets(args.sets)
    if args.quiet:
        overrides["progress"] = False
    config = load_sft_config(args.config, overrides)
    from trainers.sft import run_sft  # torch/transformers load only when a run starts

    result = run_sft(config, gate_only=args.gate_only)
    gate = result.gate
    if args.gate_only and gate is not None:
        if args.json:
            print(json.dumps(gate.to_dict(), indent=2))
        else:
            print(gate.render())
            print("gate passed" if gate.ok else f"gate FAILED: {len(gate.failed())} check(s)")
        return 0 if gate.ok else 1
    if args.json:
        print(json.dumps(result.summary, indent=2, default=str))
    else:
        print(
            f"trained {result.global_step} steps; train loss {_fmt(result.final_train_loss)}, validation loss "
            f"{_fmt(result.final_eval_loss)}{' (stopped early)' if result.stopped_early else ''}\n"
            f"wrote {result.run_dir} (run.json, loss_curve.png, chat_template.jinja)"
        )
    return 0


def _fmt(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.4f}"
