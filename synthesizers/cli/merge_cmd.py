"""`toolgym merge SHARD... --out FILE` — join shard outputs without duplicates."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from synthesizers.merge import merge_shards

EXAMPLE = """example:
  toolgym merge runs/part0.jsonl runs/part1.jsonl runs/part2.jsonl runs/part3.jsonl --out runs/all.jsonl"""


def add_parser(sub: Any) -> argparse.ArgumentParser:
    p = sub.add_parser(
        "merge",
        help="merge synthesis shards into one file without duplicates",
        description="Merge the outputs of `toolgym synth --shard k/N` runs: repeated ids are dropped, records are put "
        "in sample-index order, and near-duplicates across shards are removed.",
        epilog=EXAMPLE,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("inputs", nargs="+", type=Path, metavar="SHARD", help="shard JSONL files")
    p.add_argument("--out", type=Path, required=True, help="merged JSONL (must not exist)")
    p.add_argument("--near-dup-threshold", type=float, default=0.9, help="Jaccard threshold; 1.0 for exact only")
    return p


def run(args: argparse.Namespace) -> int:
    report = merge_shards(args.inputs, args.out, near_dup_threshold=args.near_dup_threshold)
    print(f"{args.out}: {report}")
    return 0
