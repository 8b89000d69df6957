"""`toolgym synth CONFIG.yaml` — synthesize validated tool-calling trajectories."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from synthesizers.config import load_config
from synthesizers.diversity import diversity, render_diversity
from synthesizers.runner import RunAborted, RunOptions, parse_shard, run_synthesis, side_paths
from toolkit import aio

EXAMPLE = """examples:
  toolgym synth samples/synth_offline.yaml
  toolgym synth --tools py:tools.calculator --n 50 --out runs/calc.jsonl
  toolgym synth samples/synth_offline.yaml --shard 0/4 --out runs/part0.jsonl   # one of four machines
  toolgym synth samples/synth_offline.yaml --resume                            # continue after a crash
  toolgym synth samples/synth_offline.yaml --workers 4                         # four processes on this machine
  toolgym synth samples/synth_llm.yaml --teacher http://127.0.0.1:8000/v1@my-model --no-api-key

exit status: 0 some samples were written, 1 none were (see NAME.failures.jsonl), 2 usage error"""


def add_parser(sub: Any) -> argparse.ArgumentParser:
    p = sub.add_parser(
        "synth",
        help="synthesize validated trajectories from tools (offline or with a teacher model)",
        description="Synthesize multi-turn tool-calling and subagent trajectories; every written record has passed "
        "validation (schema, structure, arguments, execution). Output is append-only JSONL, resumable and shardable.",
        epilog=EXAMPLE,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("config", nargs="?", type=Path, help="YAML config (see samples/synth_offline.yaml)")
    p.add_argument("--tools", action="append", metavar="SOURCE", help="tool source (repeatable): py:…, stdio:…, URL")
    p.add_argument("--suite", action="append", dest="suites", metavar="NAME", help="bundled suite (repeatable)")
    p.add_argument("--n", type=int, help="samples to attempt")
    p.add_argument("--out", type=Path, help="output JSONL")
    p.add_argument("--seed", type=int, help="run seed")
    p.add_argument("--concurrency", type=int, help="samples in flight")
    p.add_argument("--workers", type=int, help="worker processes (default 1); use more to spend more CPU cores")
    p.add_argument("--teacher", metavar="URL@MODEL", help="use the llm synthesizer with this OpenAI-compatible endpoint")
    p.add_argument("--no-api-key", action="store_true", help="the teacher endpoint needs no key (vLLM, Ollama)")
    p.add_argument("--resume", action="store_true", help="continue an interrupted run into the same --out")
    p.add_argument("--shard", metavar="k/N", help="make only this shard (0-based k) of the sample indices")
    p.add_argument("--json", action="store_true", help="print the yield report as JSON")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    return p


def run(args: argparse.Namespace) -> int:
    overrides: dict[str, Any] = {"n": args.n, "out": args.out, "seed": args.seed, "concurrency": args.concurrency,
                                 "workers": args.workers}
    if args.tools:
        overrides["tools"] = args.tools
    if args.suites:
        overrides["suites"] = args.suites
    if args.teacher:
        url, _, model = args.teacher.rpartition("@")
        overrides["synthesizer"] = "llm"
        overrides["teacher"] = {"base_url": url or args.teacher, "model": model or "default"}
    if args.no_api_key:
        overrides.setdefault("teacher", {})["api_key_env"] = None
    config = load_config(args.config, overrides)
    options = RunOptions(
        n=config.n, out=config.out, seed=config.seed, concurrency=config.concurrency, resume=args.resume,
        shard=parse_shard(args.shard) if args.shard else None, sample_timeout=config.sample_timeout, mix=config.mix,
        near_dup_threshold=config.near_dup_threshold, progress=not args.quiet,
    )
    from synthesizers.factory import make_synthesizer

    try:
        report = aio.run(run_synthesis, make_synthesizer(config), options)
    except RunAborted as exc:
        print(f"error: the run stopped: {exc}\nwhat was written to {config.out} stays; fix the cause and rerun "
              "with --resume to continue", file=sys.stderr)
        return 1
    stats = diversity(config.out)
    _, summary_path = side_paths(config.out)
    summary = json.loads(summary_path.read_text(encoding="utf-8"))
    summary["diversity"] = stats
    summary_path.write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    if args.json:
        print(json.dumps(summary, indent=2))
    else:
        print(report.yields.render())
        print(render_diversity(stats))
        print(f"\nwrote {config.out} ({report.samples_per_second:.1f} samples/s; {report.skipped} already done)")
    if report.yields.attempted and not report.yields.written:
        print(f"no sample passed; see {side_paths(config.out)[0]} for each failure's stage and reason")
        return 1
    return 0
