"""`toolgym compare` — one model, several presentations, the same tasks: paired statistics and a report."""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path
from typing import Any

from toolkit.cli.eval_cmd import (
    add_decoding_options,
    add_model_options,
    add_task_options,
    backend_from_args,
    decoding_from_args,
    env_tasks_from_args,
    load_task_records,
)
from toolkit.errors import UserError
from toolkit.sources import redact_secrets
from toolkit import aio

EXAMPLE = """examples:
  # the bundled SmolLM2 in all three presentations, greedy, report in runs/cmp
  toolgym compare --model smollm2 --tasks tasks.jsonl --presentations python,mcp,json --out runs/cmp
  # a served model, 4 sampled trials per task, acting in the calendar environment
  toolgym compare --model qwen2.5-7b --base-url http://localhost:8000/v1 --no-api-key --mode env \\
      --suite calendar --n 100 --presentations python,mcp --trials 4 --temperature 0.7 --out runs/cal
  # a report from result files written earlier by `toolgym eval`
  toolgym compare --from-results python.jsonl mcp.jsonl --out runs/cmp

writes: RUNDIR/results-<presentation>.jsonl, report.md, comparison.json, accuracy.png, by_kind.png,
by_tool.png
exit status: 0 done, 1 some requests failed, 2 usage error"""


def add_parser(sub: Any) -> argparse.ArgumentParser:
    p = sub.add_parser(
        "compare",
        help="compare presentations (python, mcp, json) on the same tasks: paired statistics and a report",
        description=(
            "Run one model over the same tasks in each presentation with identical decoding and prompt "
            "skeleton, "
            "then pair the per-task outcomes: differences with 95% intervals (cluster bootstrap by tool), "
            "exact "
            "McNemar per pair (Holm-corrected), the smallest difference the task count can detect, "
            "breakdowns "
            "by scenario kind and by tool, strict vs lenient format failures and token costs. Writes "
            "report.md "
            "and PNG charts into the run directory. See docs/evaluation.md."
        ),
        epilog=EXAMPLE,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "--presentations",
        default="python,mcp,json",
        metavar="LIST",
        help="comma-separated presentations, A before B in every pair (default python,mcp,json)",
    )
    p.add_argument(
        "--out", metavar="RUNDIR", default="compare-run", help="run directory (default compare-run)"
    )
    p.add_argument(
        "--from-results",
        nargs="+",
        metavar="FILE",
        help="build the report from existing result files instead of running a model",
    )
    p.add_argument(
        "--primary",
        choices=["lenient", "strict"],
        default="lenient",
        help="which reading the statistics are about (default lenient; the other is reported too)",
    )
    p.add_argument("--resamples", type=int, default=10_000, metavar="N", help="bootstrap resamples")
    p.add_argument("--stats-seed", type=int, default=0, metavar="S", help="bootstrap seed (default 0)")
    add_task_options(p)
    add_model_options(p)
    add_decoding_options(p)
    return p


def _presentations(text: str) -> list[str]:
    names = [n.strip() for n in text.split(",") if n.strip()]
    bad = [n for n in names if n not in ("python", "mcp", "json")]
    if bad:
        raise UserError(f"unknown presentation(s) {', '.join(bad)}; choose from python, mcp, json")
    if len(set(names)) < 2 or len(set(names)) != len(names):
        raise UserError(f"--presentations needs at least two distinct names, got {text!r}")
    return names


def run(args: argparse.Namespace) -> int:
    from toolkit.compare_report import compare_arms, write_report
    from toolkit.evaluate import read_results

    out = Path(args.out)
    meta: dict[str, Any] = {
        "temperature": args.temperature,
        "max_tokens": args.max_tokens,
        "seed": args.seed,
        "shots": args.shots,
        "eval_mode": args.mode,
    }
    if args.from_results:
        results: dict[str, list[Any]] = {}
        for path in args.from_results:
            rows = read_results(path)
            if not rows:
                raise UserError(f"{path} holds no result rows")
            arm = str(rows[0].get("presentation"))
            if arm in results:
                arm = f"{arm}:{Path(path).stem}"
            results[arm] = rows
        meta.update(
            {
                "model": "(from result files)",
                "model_kind": "files",
                "tasks": ", ".join(args.from_results),
                "temperature": math.nan,
            }
        )
        meta["eval_mode"] = "env" if next(iter(results.values()))[0].get("mode") == "env" else "turns"
        failed = 0
    else:
        results, failed = _run_arms(args, _presentations(args.presentations), out, meta)
    comparison = compare_arms(results, mode=args.primary, seed=args.stats_seed, n_resamples=args.resamples)
    paths = write_report(comparison, out, meta)
    print(_console(comparison))
    print(
        f"report: {paths['report']}  charts: "
        f"{', '.join(str(paths[k].name) for k in ('accuracy', 'kind', 'tool'))}"
    )
    return 1 if failed else 0


def _run_arms(
    args: argparse.Namespace, arms: list[str], out: Path, meta: dict[str, Any]
) -> tuple[dict[str, list[Any]], int]:
    from toolkit.evaluate import EvalConfig, count_requests, evaluate
    from toolkit.evaluate_env import EnvEvalConfig, evaluate_env
    from toolkit.progress import Progress

    native = {"auto": None, "yes": True, "no": False}[args.native]
    decoding = decoding_from_args(args)
    if args.mode == "env":
        if args.shots:
            raise UserError("--shots applies to --mode turns only")
        env_tasks = env_tasks_from_args(args)
        meta["tasks"] = args.tasks or f"suite {args.suite} (n={args.n}, seed {args.task_seed})"
    else:
        tasks = load_task_records(args.tasks, args.bfcl_answers)
        pool = load_task_records(args.shots_from) if args.shots_from else None
        meta["tasks"] = args.tasks
    # Configs first: a bad setting is reported before the model loads.
    configs = {
        arm: (
            EnvEvalConfig(
                presentation=arm,
                native=native if arm == "json" else None,
                max_turns=args.max_turns,
                decoding=decoding,
                trials=args.trials,
            )
            if args.mode == "env"
            else EvalConfig(
                presentation=arm,
                native=native if arm == "json" else None,
                steps=args.steps,
                decoding=decoding,
                shots=args.shots,
                shot_seed=args.shot_seed,
                trials=args.trials,
            )
        )
        for arm in arms
    }
    backend, info = backend_from_args(args)
    meta.update({"model": info.model, "model_kind": info.kind, "serving": _serving(backend, info, args)})
    out.mkdir(parents=True, exist_ok=True)
    results: dict[str, list[Any]] = {}

    async def go() -> None:
        try:
            for arm in arms:
                path = out / f"results-{arm}.jsonl"
                config: Any = configs[arm]
                if args.mode == "env":
                    total, unit = len(env_tasks) * args.trials, "episodes"
                else:
                    total, unit = count_requests(tasks, config), "requests"
                progress = Progress(total, f"{arm}", unit=unit, enabled=not args.quiet)
                try:
                    if args.mode == "env":
                        results[arm] = await evaluate_env(
                            env_tasks, backend, config, out=path, progress=progress
                        )
                    else:
                        results[arm] = await evaluate(
                            tasks, backend, config, out=path, shot_pool=pool, progress=progress
                        )
                finally:
                    progress.close()
        finally:
            await backend.aclose()

    aio.run(go)
    if args.mode == "turns":
        meta["example_prompts"] = _example_prompts(tasks[0], arms, backend, native)
        meta["native_json"] = next((r.native for r in results.get("json", [])), None)
    failed = sum(1 for rs in results.values() for r in rs if r.infra_error)
    return results, failed


def _serving(backend: Any, info: Any, args: argparse.Namespace) -> str:
    """What served the model, for the report: the endpoint URL or the local library versions, and the chat
    template's hash (evaluation.md §7.7: pin the serving stack and the template)."""
    import hashlib
    import platform
    import sys

    parts = [f"python {platform.python_version()}"]
    if info.kind == "endpoint":
        parts.insert(0, f"endpoint {redact_secrets(args.base_url)}")
    for name in ("torch", "transformers", "peft", "openai"):
        module = sys.modules.get(name)
        if module is not None and getattr(module, "__version__", None):
            parts.append(f"{name} {module.__version__}")
    tokenizer = getattr(backend, "tokenizer", None)
    template = getattr(backend, "chat_template", None) or getattr(tokenizer, "chat_template", None)
    if isinstance(template, str):
        parts.append(f"chat template sha256 {hashlib.sha256(template.encode()).hexdigest()[:16]}")
    if info.template_source:
        parts.append(f"template source {info.template_source}")
    return "; ".join(parts)


def _example_prompts(task: Any, arms: list[str], backend: Any, native: bool | None) -> dict[str, str]:
    """The first decision point's prompt per arm, verbatim (the chat-templated text for local models)."""
    from toolkit.backends import ChatRequest
    from toolkit.chat_format import prompt_for

    tokenizer = getattr(backend, "tokenizer", None)
    first = next((i for i, m in enumerate(task.messages) if m.role == "assistant"), len(task.messages))
    out = {}
    for arm in arms:
        example = prompt_for(
            task.messages[:first],
            task.tools,
            arm,
            tokenizer=tokenizer,
            native=native if arm == "json" else None,
        )
        if tokenizer is not None and hasattr(backend, "render_prompt"):
            out[arm] = backend.render_prompt(ChatRequest(messages=example.messages, tools=example.tools))
        else:
            out[arm] = json.dumps(
                {"messages": example.messages, "tools": example.tools}, indent=1, ensure_ascii=False
            )
    return out


def _console(c: Any) -> str:
    from toolkit.tables import format_table

    def pct(x: float) -> str:
        return "n/a" if math.isnan(x) else f"{100 * x:.1f}%"

    rows = [
        [
            f.arm,
            f"{pct(f.lenient.estimate)} [{pct(f.lenient.low)}, {pct(f.lenient.high)}]",
            pct(f.strict.estimate),
            pct(f.format_failure_strict),
            f"{f.tool_tokens:.0f}",
        ]
        for f in c.figures.values()
    ]
    lines = [
        format_table(rows, ["arm", "lenient (95% CI)", "strict", "strict format failures", "tool tokens"]),
        "",
    ]
    pairs = []
    for p in c.pairs:
        d, m = p.comparison.difference, p.comparison.mcnemar
        pairs.append(
            [
                f"{p.a} - {p.b}",
                f"{100 * d.estimate:+.1f} pp [{100 * d.low:+.1f}, {100 * d.high:+.1f}]",
                "n/a" if m is None else f"{m.p_value:.4g}",
                "n/a" if p.p_holm is None else f"{p.p_holm:.4g}",
            ]
        )
    lines.append(format_table(pairs, ["pair", f"difference {c.mode} (95% CI)", "McNemar p", "Holm p"]))
    return "\n".join(lines)
