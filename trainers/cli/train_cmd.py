"""`toolgym train METHOD ...` — train a model on ToolGym data. Each method is a module under ``trainers.cli``
with ``add_method(methods) -> parser`` and ``run(args) -> int``; list it in :data:`METHODS`."""

from __future__ import annotations

import argparse
import importlib
import importlib.util
from typing import Any

# Method modules under trainers.cli, in the order `toolgym train --help` lists them. A module not (yet) present
# in this install is left out rather than breaking the whole command line.
METHODS: list[str] = ["sft_cmd", "rl_cmd"]


def _modules() -> list[Any]:
    names = [f"trainers.cli.{m}" for m in METHODS]
    return [importlib.import_module(n) for n in names if importlib.util.find_spec(n) is not None]


def add_parser(sub: Any) -> argparse.ArgumentParser:
    p = sub.add_parser(
        "train",
        help="fine-tune a model on trajectories (sft) or in live tool environments (rl)",
        description="Train a model on ToolGym data. Every SFT run checks the chat template and loss masks first "
        "(the template gate) and stops with the list of problems if any check fails.",
        epilog="examples:\n  toolgym train sft samples/train_sft.yaml\n  toolgym train sft --help",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    methods = p.add_subparsers(dest="method", metavar="METHOD")
    for module in _modules():
        module.add_method(methods).set_defaults(_method_run=module.run)
    return p


def run(args: argparse.Namespace) -> int:
    method_run = getattr(args, "_method_run", None)
    if method_run is None:
        print("usage: toolgym train METHOD CONFIG.yaml [--set key=value ...]  (see toolgym train sft --help)")
        return 2
    return int(method_run(args) or 0)
