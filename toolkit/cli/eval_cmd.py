"""`toolgym eval` — run a model over tasks in one presentation (turn or environment mode), summarise a run, or
compare two runs."""

from __future__ import annotations

import argparse
import json
import math
from dataclasses import asdict
from typing import Any

from toolkit.backends import Decoding
from toolkit.errors import UserError
from toolkit.eval_text import render_arm_summary, render_env_summary
from toolkit import aio

EXAMPLE = """examples:
  # the bundled SmolLM2 on tasks in the python presentation, 3 solved examples in the prompt
  toolgym eval --model smollm2 --tasks tasks.jsonl --presentation python --shots 3
  # a model served by vLLM (OpenAI-compatible), 4 sampled trials per task (pass^k, pass@k)
  toolgym eval --model qwen2.5-7b --base-url http://localhost:8000/v1 --no-api-key --tasks tasks.jsonl \\
      --presentation mcp --trials 4 --temperature 0.7 --out mcp.jsonl
  # an SFT run directory (adapter + the chat template it was trained with), acting in an environment
  toolgym eval --model runs/sft-python --presentation python --mode env --suite calendar --n 50
  toolgym eval summary mcp.jsonl --mode strict
  toolgym eval compare python.jsonl mcp.jsonl --seed 0 --json

exit status: 0 done, 1 some requests failed (run) or a file held no usable rows, 2 usage error"""


def _add_run_options(p: argparse.ArgumentParser, *, positional: bool) -> None:
    if positional:
        p.add_argument(
            "tasks_file", metavar="TASKS", nargs="?", help="JSONL of trajectory records (or --tasks)"
        )
    p.add_argument("--presentation", choices=["json", "mcp", "python"], help="how tools are shown and called")
    p.add_argument("--out", metavar="FILE", help="per-task JSONL (default eval-PRESENTATION[-env].jsonl)")
    add_task_options(p)
    add_model_options(p)
    add_decoding_options(p)


def add_task_options(p: argparse.ArgumentParser) -> None:
    """Which tasks, in which mode, with how many examples and trials (shared with `toolgym compare`)."""
    p.add_argument(
        "--tasks",
        metavar="FILE",
        help="JSONL of trajectory records with expected.calls (or scenario.task for --mode env)",
    )
    p.add_argument(
        "--bfcl-answers",
        metavar="FILE",
        help=(
            "--tasks is a BFCL question file: its possible-answer file (irrelevance categories need none); "
            "a BFCL question file is also recognised without it"
        ),
    )
    p.add_argument(
        "--mode",
        choices=["turns", "env"],
        default="turns",
        help=(
            "turns: score each gold assistant turn with the gold history (teacher forcing; default). env: "
            "the model "
            "acts in the task's environment over several turns; end state and answer are graded"
        ),
    )
    p.add_argument("--suite", metavar="NAME", help="--mode env: render tasks from this suite's templates")
    p.add_argument("--n", type=int, default=20, metavar="N", help="--suite: number of tasks (default 20)")
    p.add_argument(
        "--task-seed", type=int, default=0, metavar="S", help="--suite: seed of the tasks (default 0)"
    )
    p.add_argument(
        "--max-turns", type=int, default=8, metavar="N", help="--mode env: model turns (default 8)"
    )
    p.add_argument(
        "--native",
        choices=["auto", "yes", "no"],
        default="auto",
        help="json only: native tool calling (default auto: chat template decides; APIs: yes)",
    )
    p.add_argument(
        "--steps",
        choices=["all", "first"],
        default="all",
        help="score every gold assistant turn (all) or only the first (first; default all)",
    )
    p.add_argument(
        "--shots",
        type=int,
        default=0,
        metavar="K",
        help="K solved examples before each task, never the task itself (default 0)",
    )
    p.add_argument(
        "--shots-from", metavar="FILE", help="pool of solved records for --shots (default: the tasks)"
    )
    p.add_argument("--shot-seed", type=int, default=0, metavar="S", help="seed of the example choice")
    p.add_argument("--quiet", action="store_true", help="no progress bar on stderr")
    p.add_argument(
        "--trials",
        type=int,
        default=1,
        metavar="N",
        help="runs per task, for pass^k and pass@k (needs --temperature > 0; default 1)",
    )


def add_model_options(p: argparse.ArgumentParser) -> None:
    model = p.add_argument_group("model")
    model.add_argument(
        "--model",
        metavar="M",
        help=(
            "endpoint model name (with --base-url), smollm2 (bundled), a Hugging Face id or local path, or "
            "an SFT "
            "run directory (adapter + saved chat template)"
        ),
    )
    model.add_argument("--local-model", metavar="PATH", help=argparse.SUPPRESS)  # older spelling of --model
    model.add_argument(
        "--base-url",
        metavar="URL",
        help="OpenAI-compatible endpoint (OpenAI itself: https://api.openai.com/v1)",
    )
    model.add_argument(
        "--api-key-env",
        default="OPENAI_API_KEY",
        metavar="VAR",
        help="environment variable holding the API key (default OPENAI_API_KEY)",
    )
    model.add_argument("--no-api-key", action="store_true", help="the endpoint needs no key (vLLM, Ollama)")
    model.add_argument(
        "--concurrency", type=int, default=8, metavar="N", help="requests in flight (default 8)"
    )
    model.add_argument(
        "--max-retries", type=int, default=4, metavar="N", help="retries on 429/5xx (default 4)"
    )
    model.add_argument("--timeout", type=float, default=120.0, metavar="S", help="seconds per try")
    model.add_argument("--gguf-file", metavar="FILE", help="GGUF file inside a local model directory")
    model.add_argument("--device", default="cpu", help="torch device for local models (default cpu)")
    model.add_argument("--batch-size", type=int, default=8, metavar="N", help="local batch size (default 8)")


def add_decoding_options(p: argparse.ArgumentParser) -> None:
    dec = p.add_argument_group("decoding (the same for every arm you compare)")
    dec.add_argument("--temperature", type=float, default=0.0, help="default 0 (greedy)")
    dec.add_argument("--top-p", type=float, default=None, help="nucleus sampling (default: off)")
    dec.add_argument("--max-tokens", type=int, default=512, metavar="N", help="default 512")
    dec.add_argument("--seed", type=int, default=None, help="sampling seed (trial i uses seed + i)")


def add_parser(sub: Any) -> argparse.ArgumentParser:
    p = sub.add_parser(
        "eval",
        help="evaluate tool-calling accuracy (run a model, summarise a run, compare two runs)",
        description=(
            "Without an action: run a model over tasks in one presentation (same as `eval run`). Turn mode "
            "prompts the model at every gold assistant turn (teacher forcing), reads its answers strictly "
            "and "
            "leniently and scores them with BFCL's rules; env mode lets it act in the task's environment and "
            "grades the end state and answer. Prints a summary with breakdowns by scenario kind and by tool "
            "and "
            "writes one JSON line per task. summary: one results file. compare: two runs on the same tasks, "
            "paired difference with a cluster bootstrap by tool and the exact McNemar test (for several "
            "presentations at once see `toolgym compare`). See docs/evaluation.md."
        ),
        epilog=EXAMPLE,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _add_run_options(p, positional=False)
    actions = p.add_subparsers(dest="eval_action", metavar="ACTION")

    run = actions.add_parser(
        "run",
        help="run a model over tasks and write per-task results",
        epilog=EXAMPLE,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _add_run_options(run, positional=True)

    summary = actions.add_parser("summary", help="summarise one results file")
    summary.add_argument("results", metavar="RESULTS", help="per-task JSONL written by `toolgym eval`")
    summary.add_argument("--mode", choices=["strict", "lenient"], default="lenient")
    summary.add_argument("--json", action="store_true", help="print JSON instead of text")

    compare = actions.add_parser("compare", help="compare two results files on the same tasks (A minus B)")
    compare.add_argument("a", metavar="A", help="results of arm A")
    compare.add_argument("b", metavar="B", help="results of arm B")
    compare.add_argument("--mode", choices=["strict", "lenient"], default="lenient")
    compare.add_argument("--seed", type=int, default=0, help="bootstrap seed (default 0)")
    compare.add_argument("--resamples", type=int, default=10_000, metavar="N", help="bootstrap resamples")
    compare.add_argument("--json", action="store_true", help="print JSON instead of text")
    return p


def run(args: argparse.Namespace) -> int:
    action = {None: _run, "run": _run, "summary": _summary, "compare": _compare}[args.eval_action]
    return action(args)


def backend_from_args(args: argparse.Namespace) -> tuple[Any, Any]:
    """The backend and its :class:`~toolkit.evaluate_models.ModelInfo` from the model options."""
    from toolkit.evaluate_models import load_backend

    model = args.model or args.local_model
    if args.model and args.local_model:
        raise UserError("give --model only (--local-model is its older spelling)")
    if not model:
        raise UserError(
            "give --model: an endpoint model name with --base-url, smollm2, a model id or path, or an "
            "SFT run directory"
        )
    return load_backend(
        model,
        base_url=args.base_url,
        api_key_env=None if args.no_api_key else args.api_key_env,
        concurrency=args.concurrency,
        max_retries=args.max_retries,
        timeout=args.timeout,
        device=args.device,
        batch_size=args.batch_size,
        gguf_file=args.gguf_file,
    )


def decoding_from_args(args: argparse.Namespace) -> Decoding:
    return Decoding(
        temperature=args.temperature, top_p=args.top_p, max_tokens=args.max_tokens, seed=args.seed
    )


def load_task_records(path: str | None, bfcl_answers: str | None = None) -> list[Any]:
    """Task records from a JSONL of trajectory records, or from a BFCL question file (+ possible answers)."""
    from toolkit.bfcl import is_bfcl_file, load_bfcl
    from toolkit.readers import load_trajectories

    if not path:
        raise UserError("give --tasks FILE (JSONL of trajectory records)")
    if bfcl_answers or is_bfcl_file(path):
        return load_bfcl(path, bfcl_answers)
    tasks, bad = load_trajectories(path)
    if bad:
        first = bad[0]
        raise UserError(f"{path}: {len(bad)} unreadable record(s); line {first.line}: {first.error}")
    if not tasks:
        raise UserError(f"{path} holds no tasks")
    return tasks


def env_tasks_from_args(args: argparse.Namespace) -> list[Any]:
    """``(task, kind)`` pairs for env mode: from --tasks records (scenario.task) or --suite/--n."""
    from toolkit.evaluate_env import tasks_from_records

    tasks_path = getattr(args, "tasks_file", None) or args.tasks
    if args.suite:
        if tasks_path:
            raise UserError("give either --tasks or --suite, not both")
        from toolkit.template_rendering import render_tasks

        return [(t, t.kind) for t in render_tasks(args.suite, n=args.n, seed=args.task_seed)]
    return tasks_from_records(load_task_records(tasks_path))


def _run(args: argparse.Namespace) -> int:
    if not args.presentation:
        raise UserError("give --presentation json, mcp or python")
    native = {"auto": None, "yes": True, "no": False}[args.native]
    decoding = decoding_from_args(args)
    out = args.out or f"eval-{args.presentation}{'-env' if args.mode == 'env' else ''}.jsonl"
    if args.mode == "env":
        return _run_env(args, native, decoding, out)
    from toolkit.evaluate import EvalConfig, count_requests, evaluate
    from toolkit.evaluate_report import summarize
    from toolkit.progress import Progress

    tasks = load_task_records(getattr(args, "tasks_file", None) or args.tasks, args.bfcl_answers)
    pool = load_task_records(args.shots_from) if args.shots_from else None
    config = EvalConfig(
        presentation=args.presentation,
        native=native,
        steps=args.steps,
        decoding=decoding,
        shots=args.shots,
        shot_seed=args.shot_seed,
        trials=args.trials,
    )
    backend, info = backend_from_args(args)

    progress = Progress(
        count_requests(tasks, config), f"eval {args.presentation}", unit="requests", enabled=not args.quiet
    )

    async def go() -> list[Any]:
        try:
            return await evaluate(tasks, backend, config, out=out, shot_pool=pool, progress=progress)
        finally:
            progress.close()
            await backend.aclose()

    results = aio.run(go)
    s = summarize(results, mode="lenient")
    print(f"{info.kind} model {info.model}; {len(tasks)} task(s) x {args.trials} trial(s) -> {out}")
    print(render_arm_summary(results))
    return 1 if s.infra_errors else 0


def _run_env(args: argparse.Namespace, native: bool | None, decoding: Decoding, out: str) -> int:
    from toolkit.evaluate_env import EnvEvalConfig, evaluate_env
    from toolkit.progress import Progress

    if args.shots:
        raise UserError("--shots applies to --mode turns only")
    tasks = env_tasks_from_args(args)
    config = EnvEvalConfig(
        presentation=args.presentation,
        native=native,
        max_turns=args.max_turns,
        decoding=decoding,
        trials=args.trials,
    )
    backend, info = backend_from_args(args)

    progress = Progress(
        len(tasks) * args.trials, f"eval {args.presentation} (env)", unit="episodes", enabled=not args.quiet
    )

    async def go() -> list[Any]:
        try:
            return await evaluate_env(tasks, backend, config, out=out, progress=progress)
        finally:
            progress.close()
            await backend.aclose()

    results = aio.run(go)
    print(
        f"{info.kind} model {info.model}; {len(tasks)} task(s) x {args.trials} trial(s) in the environment "
        f"-> {out}"
    )
    print(render_env_summary(results))
    return 1 if any(r.infra_error for r in results) else 0


def _rows(path: str) -> list[dict[str, Any]]:
    from toolkit.evaluate import read_results

    rows = read_results(path)
    if not rows:
        raise UserError(f"{path} holds no result rows; write them with `toolgym eval run`")
    return rows


def _pct(x: float) -> str:
    return "n/a" if math.isnan(x) else f"{100 * x:.1f}%"


def _summary(args: argparse.Namespace) -> int:
    from toolkit.evaluate_report import summarize

    rows = _rows(args.results)
    if rows[0].get("mode") == "env":  # episodes of --mode env: one verdict each, no decision points
        from toolkit.evaluate_env import summarize_env

        if args.json:
            print(json.dumps(_clean(asdict(summarize_env(rows))), indent=2))
        else:
            print(render_env_summary(rows))
        return 0
    s = summarize(rows, mode=args.mode)
    if args.json:
        print(json.dumps(_clean(asdict(s)), indent=2))
        return 0
    a = s.abstention
    print(
        f"{s.presentation} ({s.mode}): {s.n_tasks} task(s), {s.trials_per_task} trial(s) each, "
        f"{s.n_steps} step(s)"
    )
    print(
        f"  task accuracy      {_pct(s.task_accuracy.estimate)}  95% CI [{_pct(s.task_accuracy.low)}, "
        f"{_pct(s.task_accuracy.high)}] ({s.task_accuracy.method})"
    )
    if s.trials_per_task > 1:
        hats = ", ".join(f"pass^{k} {_pct(v)}" for k, v in s.pass_hat_k.items())
        print(f"  reliability        {hats}; flip rate {_pct(s.flip_rate)}")
    print(f"  step accuracy      {_pct(s.step_accuracy)}   mean call F1 {s.mean_call_f1:.3f}")
    print(f"  format failures    {_pct(s.format_failure_rate)}")
    print(
        f"  no-call accuracy   {_pct(a.irrelevance_accuracy)} ({a.n_gold_no_call} step(s)); "
        f"well-formed only {_pct(a.irrelevance_accuracy_format_ok)}"
    )
    prompt, completion = s.mean_prompt_tokens, s.mean_completion_tokens
    print(f"  tokens per step    prompt {prompt:.0f}, completion {completion:.0f}")
    print(f"  infra errors       {s.infra_errors}")
    return 0


def _compare(args: argparse.Namespace) -> int:
    from toolkit.evaluate_report import compare

    c = compare(_rows(args.a), _rows(args.b), mode=args.mode, n_resamples=args.resamples, seed=args.seed)
    if args.json:
        print(json.dumps(_clean(asdict(c)), indent=2))
        return 0
    d, m = c.difference, c.mcnemar
    print(f"{c.a} minus {c.b} ({c.mode}), {d.n_tasks} paired task(s) over {d.n_clusters} tool(s)")
    print(
        f"  difference         {100 * d.estimate:+.1f} pp  95% CI [{100 * d.low:+.1f}, "
        f"{100 * d.high:+.1f}] (cluster bootstrap by tool, seed {d.seed}, {d.n_resamples} resamples)"
    )
    if c.newcombe is not None:
        n = c.newcombe
        print(f"  unclustered        95% CI [{100 * n.low:+.1f}, {100 * n.high:+.1f}] (Newcombe, reference)")
    if m is None:
        print("  McNemar (exact)    n/a: repeated trials per task (the difference above is of success rates)")
    else:
        print(f"  McNemar (exact)    only {c.a} right: {m.b}, only {c.b} right: {m.c}, p = {m.p_value:.4g}")
    mdd = c.minimum_detectable_difference
    print(
        f"  detectable         {'n/a' if math.isnan(mdd) else f'{100 * mdd:.1f} pp'} at 80% power "
        "(observed discordance)"
    )
    return 0


def _clean(value: Any) -> Any:
    """NaN is not JSON: write null instead."""
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    return value
