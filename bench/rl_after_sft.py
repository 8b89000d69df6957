"""Does GRPO after SFT keep (or raise) tool-calling accuracy? Starts from an SFT run (by default the one
``bench/learning.py`` leaves in runs/learning), trains it further with ``toolgym train rl`` on the SFT run's own
training tasks (live suite environments, the evaluator's grader as reward), then evaluates the SFT model and the
SFT+RL model on the same held-out tasks two ways:

* first-step full-call accuracy in the trained presentation (what ``bench/learning.py`` reports) — the issue's
  "RL after SFT must not lower it";
* multi-turn episodes in the suites' environments (``toolkit.evaluate_env``): task success, the end-state check,
  and success on the multi-turn kinds (chain, error_recovery, missing_argument) — "should raise end-state success" —
  on the held-out records and, with ``--multi-turn-eval N``, on N fresh multi-turn tasks per bundled suite rendered
  from the templates with ``--eval-seed``, none of whose first user turn appears in the RL tasks or the SFT data.

Paired statistics on the same tasks (McNemar, bootstrap interval of the difference).

    python bench/learning.py                     # once: the SFT run and the splits (66 min on 2 CPU cores)
    python bench/rl_after_sft.py [--sft runs/learning/sft] [--data runs/learning/seen] [--steps 20]
    # or build the SFT run here, on multi-turn-heavy data (reused when --out already holds it):
    python bench/rl_after_sft.py --build-sft 600 --sft-steps 120 --rl-tasks render ...
    # RL on multi-turn tasks rendered from every suite, judged on fresh multi-turn tasks:
    python bench/rl_after_sft.py --rl-tasks render --kinds chain missing_argument error --env-tasks 0 \
        --multi-turn-eval 12
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

MULTI_TURN = ("chain", "error_recovery", "missing_argument")  # record kinds (a rendered task's "error" is error_recovery)
MULTI_TURN_TASKS = ("chain", "missing_argument", "error")  # the same, as template task kinds
# --build-sft: RL learns only from groups where some rollouts solve the task, so the SFT policy must already solve
# multi-turn tasks sometimes; the demo mix has 17% multi-turn records, this one 48%.
MULTI_TURN_MIX = {"single": 0.25, "distractors": 0.04, "parallel": 0.07, "parallel_multi": 0.03, "chain": 0.22,
                  "missing_argument": 0.12, "no_tool": 0.07, "error_recovery": 0.14, "delegate": 0.06}


def _build_sft(out: Path, n: int, steps: int, seed: int, max_tools: int | None) -> tuple[Path, Path]:
    """LoRA SFT of the bundled model on ``n`` multi-turn-heavy offline samples (the ``bench/learning.py`` settings,
    packed, longer rows); returns (run dir, folder with train/test). Reuses a finished run in ``out``.

    ``max_tools=None`` offers every tool of the suite in each sample, as RL rollouts and the episode evaluation do;
    ``bench/learning.py`` offers at most 3 (shorter prompts), a different prompt from the one RL then sees."""
    from toolkit.environment import list_suites
    from trainers.pipeline import BENCH_SFT, split_file, synthesize_offline, train_sft, validate_with_replay

    run, split, stamp = out / "sft", out / "sft-data", out / "sft-build.json"
    settings = {"n": n, "steps": steps, "seed": seed, "max_tools": max_tools}
    if (run / "template.json").exists() and (split / "test.jsonl").exists():
        built = json.loads(stamp.read_text(encoding="utf-8")) if stamp.exists() else None
        if built != settings:
            sys.exit(f"{run} was built with {built}, not {settings}: pass another --out, or drop --build-sft and "
                     f"pass --sft {run} --data {split}")
        print(f"reusing the SFT run in {run}")
        return run, split
    data = out / "sft-data.jsonl"
    synthesize_offline(data, suites=list_suites(), n=n, seed=seed, mix=MULTI_TURN_MIX, max_tools=max_tools,
                       progress=False)
    validate_with_replay(data, list_suites(), progress=False)
    split_file(data, split, method="kind", test_fraction=0.2, seed=seed)
    # 2,048-token rows at batch 4 ran out of 24 GB (eager attention); 2 x 2 accumulated trains the same rows per step
    shape = {} if max_tools else {"batch_size": 2, "grad_accum": 2}
    train_sft(split / "train.jsonl", run, presentation="python", model="bundled", max_steps=steps,
              max_length=1024 if max_tools else 2048, packing=True, eval_steps=max(1, steps // 3), seed=seed,
              **{**BENCH_SFT, **shape})
    stamp.write_text(json.dumps(settings) + "\n", encoding="utf-8")
    return run, split


def _env_eval(model: str, tasks: list, presentation: str, out: Path, max_new_tokens: int) -> list:
    import anyio

    from toolkit.backends import Decoding
    from toolkit.evaluate_env import EnvEvalConfig, evaluate_env
    from toolkit.evaluate_models import load_backend

    backend, _ = load_backend(model, batch_size=1)
    config = EnvEvalConfig(presentation=presentation, max_turns=6,
                           decoding=Decoding(temperature=0.0, max_tokens=max_new_tokens))
    try:
        return anyio.run(lambda: evaluate_env(tasks, backend, config, out=out))
    finally:
        close = getattr(backend, "aclose", None)
        if close is not None:
            anyio.run(close)


def _opening(task) -> str:
    return json.dumps(task.turns[0] if task.turns else None, sort_keys=True, default=str)


def _fresh_multi_turn_tasks(per_suite: int, seed: int, exclude: set[str]) -> list:
    """``per_suite`` multi-turn tasks of every bundled suite whose first user turn is not in ``exclude``."""
    from toolkit.environment import list_suites
    from toolkit.template_rendering import render_tasks

    out, seen = [], set(exclude)
    for suite in list_suites():
        # render extra: some draws repeat a training task's wording and are dropped
        fresh = [t for t in render_tasks(suite, n=3 * per_suite, seed=seed, kinds=list(MULTI_TURN_TASKS))
                 if _opening(t) not in seen]
        for task in fresh[:per_suite]:
            seen.add(_opening(task))
            out.append((task, "error_recovery" if task.kind == "error" else task.kind))
    return out


def _env_rows(env: dict, label: str, seed: int) -> list:
    """Rows of the results table for two arms' episodes on the same tasks."""
    from toolkit.evaluate_report import compare

    c_env = compare(env["sft+rl"], env["sft"], mode="lenient", seed=seed)  # paired: episode success only
    rows = []
    for name, pick, key in ((f"episode success, {label}", lambda r: True, "passed"),
                            ("  end-state check (where it applies)", lambda r: True, "end_state"),
                            *((f"  success, {kind}", lambda r, k=kind: r.kind == k, "passed") for kind in MULTI_TURN)):
        (ra, na), (rb, _) = _rate(env["sft"], pick, key), _rate(env["sft+rl"], pick, key)
        if not na:
            continue
        p_value = f"{c_env.mcnemar.p_value:.3g}" if key == "passed" and name.startswith("episode") and c_env.mcnemar else ""
        rows.append((name, f"{100 * ra:.1f}%", f"{100 * rb:.1f}%", f"{100 * (rb - ra):+.1f} pts", p_value, na))
    return rows


def _rate(rows: list, pick=lambda r: True, key: str = "passed") -> tuple[float, int]:
    chosen = [r for r in rows if pick(r)]
    if key == "passed":
        hits = [bool(r.passed) for r in chosen]
    else:  # a check: only the episodes where it applies
        hits = [bool(r.checks[key]["passed"]) for r in chosen if r.checks.get(key, {}).get("applicable")]
    return (sum(hits) / len(hits) if hits else float("nan")), len(hits)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sft", type=Path, default=Path("runs/learning/sft"), help="SFT run directory")
    parser.add_argument("--data", type=Path, default=Path("runs/learning/seen"),
                        help="folder with the SFT run's train.jsonl (RL tasks) and test.jsonl (held out)")
    parser.add_argument("--out", type=Path, default=Path("runs/rl_after_sft"))
    parser.add_argument("--build-sft", type=int, default=0, metavar="N",
                        help="instead of --sft/--data: synthesize N multi-turn-heavy samples and train the SFT run "
                             "in --out first (--sft-steps steps)")
    parser.add_argument("--sft-steps", type=int, default=120)
    parser.add_argument("--sft-max-tools", type=int, default=0,
                        help="--build-sft: tools offered per sample (0: all of the suite's, as RL and the episodes)")
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--rl-tasks", choices=("file", "render"), default="file",
                        help="RL tasks: the SFT run's train.jsonl, or --render-per-suite tasks rendered from every "
                             "bundled suite's templates with --task-seed")
    parser.add_argument("--render-per-suite", type=int, default=24)
    parser.add_argument("--task-seed", type=int, default=7)
    parser.add_argument("--kinds", nargs="+", default=None, help="only RL tasks of these kinds (default: all)")
    parser.add_argument("--batch-size", type=int, default=8, help="rollouts per loss micro-batch")
    parser.add_argument("--grad-accum", type=int, default=1,
                        help="micro-batches per step (rollouts per step: batch size x this); with prompt sharing "
                             "(trainers/lm_head.py) one micro-batch of 8 multi-turn rollouts peaked at 19.3 GB on "
                             "CPU; the first two documented runs used --batch-size 2 --grad-accum 4")
    parser.add_argument("--num-generations", type=int, default=4)
    parser.add_argument("--scale-rewards", choices=("group", "batch", "none"), default="group",
                        help="advantage scaling; 'none' (Dr. GRPO) keeps a failed group's tiny process-credit "
                             "differences tiny instead of scaling them to unit variance")
    parser.add_argument("--beta", type=float, default=0.0, help="KL coefficient against the SFT model")
    parser.add_argument("--group-filter", choices=("outcome", "none"), default="none",
                        help="outcome: zero advantage for groups that all solved or all failed")
    parser.add_argument("--guidance", choices=("none", "gold"), default="none",
                        help="gold: a group no rollout solved gets the task's gold demonstration in place of one "
                             "rollout (docs/rl.md, Guidance)")
    parser.add_argument("--guidance-negatives", choices=("keep", "drop"), default="keep",
                        help="drop: in a guided group only the demonstration trains; the failed sampled rollouts "
                             "get zero advantage")
    parser.add_argument("--learning-rate", type=float, default=5e-5)
    parser.add_argument("--temperature", type=float, default=1.0)
    parser.add_argument("--max-completion-length", type=int, default=1280,
                        help="rollout token budget, tool results included (the run warns about tasks it cannot fit)")
    parser.add_argument("--eval-tasks", type=int, default=75)
    parser.add_argument("--env-tasks", type=int, default=75, help="held-out records run as episodes (0: none)")
    parser.add_argument("--multi-turn-eval", type=int, default=0,
                        help="fresh multi-turn tasks per bundled suite run as episodes (0: none)")
    parser.add_argument("--eval-seed", type=int, default=101)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    from toolkit.environment import list_suites
    from toolkit.evaluate_env import tasks_from_records
    from toolkit.evaluate_report import compare
    from toolkit.readers import load_trajectories
    from toolkit.tables import format_table
    from trainers.pipeline import Arm, arm_summary, evaluate_arms
    from trainers.rl import build_tasks, read_tasks, run_rl
    from trainers.rl_config import RLRunConfig

    start = time.perf_counter()
    args.out.mkdir(parents=True, exist_ok=True)
    if args.build_sft:
        args.sft, args.data = _build_sft(args.out, args.build_sft, args.sft_steps, args.seed,
                                       args.sft_max_tools or None)
    presentation = json.loads((args.sft / "template.json").read_text(encoding="utf-8"))["presentation"]
    rendered = args.rl_tasks == "render"
    cfg = RLRunConfig(model=str(args.sft), presentation=presentation,
                      tasks_file=None if rendered else args.data / "train.jsonl",
                      suites=list_suites() if rendered else [], num_tasks=args.render_per_suite if rendered else 0,
                      task_seed=args.task_seed, kinds=args.kinds, num_generations=args.num_generations, batch_size=args.batch_size,
                      grad_accum=args.grad_accum,
                      max_completion_length=args.max_completion_length, max_steps=args.steps,
                      learning_rate=args.learning_rate, temperature=args.temperature, seed=args.seed,
                      scale_rewards=args.scale_rewards, beta=args.beta, group_filter=args.group_filter,
                      guidance=args.guidance, guidance_negatives=args.guidance_negatives == "keep",
                      save_steps=max(1, args.steps // 2), output_dir=args.out / "rl", progress=False)
    exclude = {_opening(t) for t in build_tasks(cfg)} | {_opening(t) for t in read_tasks(args.data / "train.jsonl")}
    fresh = _fresh_multi_turn_tasks(args.multi_turn_eval, args.eval_seed, exclude) if args.multi_turn_eval else []
    t = time.perf_counter()
    rl = run_rl(cfg)
    rl_seconds = time.perf_counter() - t
    steps = [row for row in rl.summary["log_history"] if "reward" in row]
    half = max(1, len(steps) // 2)

    def mean(rows: list, key: str) -> float:
        values = [r[key] for r in rows if key in r]
        return sum(values) / len(values) if values else float("nan")

    curve = {k: (mean(steps[:half], k), mean(steps[half:], k))
             for k in ("reward", "rewards/outcome/mean", "rewards/end_state/mean", "monitor/pass_rate",
                       "monitor/format_failure_rate", "monitor/ungrounded_answer_rate", "monitor/repeated_call_rate",
                       "monitor/unfinished_rate", "monitor/over_cap_rate", "monitor/demonstration_rate",
                       "step_time")}
    print(f"\nGRPO: {rl.global_step} steps x {args.batch_size * args.grad_accum} rollouts ({args.num_generations} per task), "
          f"{rl_seconds / 60:.1f} min; first half vs second half of training")
    print(format_table([(k, f"{a:.3f}", f"{b:.3f}") for k, (a, b) in curve.items()], ("metric", "first", "second")))
    budget = rl.summary["budget"]
    print(f"token budget {budget['max_completion_length']}: {budget['over_budget']} of {budget['measured']} measured "
          f"tasks' gold solutions do not fit (median {budget['median']}, longest {budget['longest']} tokens)")
    contrast = rl.summary["groups_by_kind"]
    print("\nGRPO groups by task kind: solved in none, some or all of their sampled rollouts (only 'some' carries "
          "outcome signal, and 'guided': a gold demonstration stood in for one rollout)")
    print(format_table([(kind, c["groups"], c["none"], c["some"], c["all"], c.get("guided", 0))
                        for kind, c in contrast.items()], ("kind", "groups", "none", "some", "all", "guided")))

    arms = [Arm("sft", str(args.sft), presentation), Arm("sft+rl", str(rl.run_dir), presentation)]
    first = evaluate_arms(args.data / "test.jsonl", arms, args.out, max_tasks=args.eval_tasks, max_new_tokens=96)
    a, b = arm_summary(first[arms[0]])["lenient"], arm_summary(first[arms[1]])["lenient"]
    c = compare(first[arms[1]], first[arms[0]], mode="lenient", seed=args.seed)
    rows = [("first-step full-call accuracy", f"{100 * a.estimate:.1f}% [{100 * a.low:.1f}, {100 * a.high:.1f}]",
             f"{100 * b.estimate:.1f}% [{100 * b.low:.1f}, {100 * b.high:.1f}]",
             f"{100 * c.difference.estimate:+.1f} pts", f"{c.mcnemar.p_value:.3g}" if c.mcnemar else "n/a", a.n)]

    records, _ = load_trajectories(args.data / "test.jsonl")
    acting = [r for r in records if r.scenario is not None and r.scenario.task]  # no-tool records have no env
    for label, tasks, name in (("held-out records", tasks_from_records(acting[: args.env_tasks]), "env"),
                               ("fresh multi-turn tasks", fresh, "multi-turn")):
        if tasks:
            env = {arm.label: _env_eval(arm.model, tasks, presentation, args.out / f"{name}-{arm.label}.jsonl", 128)
                   for arm in arms}
            rows += _env_rows(env, label, args.seed)
    print(f"\nHeld-out tasks ({args.data / 'test.jsonl'}), {presentation} presentation, greedy")
    print(format_table(rows, ("measure", "SFT", "SFT + RL", "difference", "McNemar p", "n")))
    summary = {"table": rows, "rl": {"run_dir": str(rl.run_dir), "steps": rl.global_step, "seconds": round(rl_seconds),
                                     "curve": curve, "groups_by_kind": contrast, "budget": budget, "config": {k: str(v) for k, v in vars(cfg).items()}},
               "seconds": round(time.perf_counter() - start, 1)}
    (args.out / "rl_after_sft.json").write_text(json.dumps(summary, indent=2, default=str) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
