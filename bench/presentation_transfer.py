"""The causal Python-vs-MCP experiment: fine-tune the same base model on *identical* trajectories rendered as
``python`` and as ``mcp``, then evaluate each tuned model (and the base model) in both presentations on the same
held-out tasks. Prints a 2×2 table (train presentation × test presentation) plus the base row, each cell with a 95%
Wilson interval, and the paired in-vs-cross-presentation differences with exact McNemar tests.

    python bench/presentation_transfer.py [--n 360] [--max-steps 60] [--eval-tasks 60] [--out runs/transfer]
    python bench/presentation_transfer.py --model path/to/model ...   # any local causal LM

Everything but the presentation is held fixed: data, seed, model, LoRA and optimiser settings, eval tasks, decoding.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

PRESENTATIONS = ("python", "mcp")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=Path("runs/transfer"))
    parser.add_argument("--model", default="bundled")
    parser.add_argument("--n", type=int, default=360)
    parser.add_argument("--max-steps", type=int, default=60)
    parser.add_argument("--eval-tasks", type=int, default=60)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    from toolkit.evaluate_report import compare
    from toolkit.tables import format_table
    from trainers.demo import DEMO_MIX, DEMO_SUITES
    from trainers.pipeline import (BENCH_SFT, Arm, arm_summary, evaluate_arms, split_file, synthesize_offline,
                                   train_sft, validate_with_replay)

    start = time.perf_counter()
    args.out.mkdir(parents=True, exist_ok=True)
    data = args.out / "data.jsonl"
    synthesize_offline(data, suites=DEMO_SUITES, n=args.n, seed=args.seed, mix=DEMO_MIX, max_tools=3, progress=False)
    validate_with_replay(data, DEMO_SUITES, progress=False)
    split_file(data, args.out, method="kind", test_fraction=0.2, seed=args.seed)
    runs = {}
    for pres in PRESENTATIONS:
        runs[pres] = train_sft(args.out / "train.jsonl", args.out / f"sft-{pres}", presentation=pres, model=args.model,
                               max_steps=args.max_steps, max_length=768, eval_steps=max(1, args.max_steps // 3),
                               seed=args.seed, **BENCH_SFT)
    base = "smollm2" if args.model == "bundled" else args.model
    arms = [Arm("base", base, p) for p in PRESENTATIONS]
    arms += [Arm(f"sft-{t}", runs[t]["run_dir"], p) for t in PRESENTATIONS for p in PRESENTATIONS]
    results = evaluate_arms(args.out / "test.jsonl", arms, args.out, max_tasks=args.eval_tasks, max_new_tokens=96)

    def cell(label: str, pres: str) -> str:
        i = arm_summary(results[next(a for a in arms if a.label == label and a.presentation == pres)])["lenient"]
        return f"{100 * i.estimate:.1f}% [{100 * i.low:.1f}, {100 * i.high:.1f}]"

    rows = [(label, *(cell(label, p) for p in PRESENTATIONS)) for label in ("base", "sft-python", "sft-mcp")]
    print("\nHeld-out full-call accuracy (lenient), rows: training presentation, columns: test presentation")
    print(format_table(rows, ("trained on", *(f"tested as {p}" for p in PRESENTATIONS)), max_width=40))
    print("\nIn-presentation minus cross-presentation, same test presentation (paired, exact McNemar):")
    diffs = []
    for test in PRESENTATIONS:
        other = next(p for p in PRESENTATIONS if p != test)
        a = results[next(x for x in arms if x.label == f"sft-{test}" and x.presentation == test)]
        b = results[next(x for x in arms if x.label == f"sft-{other}" and x.presentation == test)]
        c = compare(a, b, mode="lenient", seed=args.seed)
        p = c.mcnemar.p_value if c.mcnemar else float("nan")
        diffs.append((f"tested as {test}", f"{100 * c.difference.estimate:+.1f} pts",
                      f"[{100 * c.difference.low:+.1f}, {100 * c.difference.high:+.1f}]", f"{p:.3g}"))
    print(format_table(diffs, ("", "sft-same − sft-other", "95% CI", "McNemar p")))
    summary = {"rows": rows, "differences": diffs, "sft": runs, "seconds": round(time.perf_counter() - start, 1)}
    (args.out / "transfer.json").write_text(json.dumps(summary, indent=2, default=str) + "\n", encoding="utf-8")
    print(f"\n({summary['seconds']} s; per-task results in {args.out})")


if __name__ == "__main__":
    main()
