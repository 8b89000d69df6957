"""`toolgym eval` — run a model over tasks in one presentation, summarise a run, or compare two runs."""

from __future__ import annotations

import argparse
import json
import math
from dataclasses import asdict
from typing import Any

import anyio

from toolkit.backends import Decoding, LocalBackend, LocalConfig, OpenAIBackend, OpenAIConfig
from toolkit.errors import UserError

EXAMPLE = """examples:
  # a model served by vLLM (OpenAI-compatible), in the python and mcp presentations
  toolgym eval run tasks.jsonl --presentation python --model qwen2.5-7b --base-url http://localhost:8000/v1 \\
      --no-api-key --out python.jsonl
  toolgym eval run tasks.jsonl --presentation mcp --model qwen2.5-7b --base-url http://localhost:8000/v1 \\
      --no-api-key --out mcp.jsonl
  # a local transformers model (the bundled SmolLM2 when --local-model is "smollm2")
  toolgym eval run tasks.jsonl --presentation json --local-model smollm2 --out json.jsonl
  toolgym eval summary python.jsonl --mode strict
  toolgym eval compare python.jsonl mcp.jsonl --seed 0 --json

exit status: 0 done, 1 some requests failed (run) or a file held no usable rows, 2 usage error"""


def add_parser(sub: Any) -> argparse.ArgumentParser:
    p = sub.add_parser(
        "eval",
        help="evaluate tool-calling accuracy (run a model, summarise a run, compare two runs)",
        description=(
            "run: prompt a model at every gold assistant turn of each task (teacher forcing), in one "
            "presentation, read its answers strictly and leniently, score them with BFCL's rules and write "
            "one JSON line per task. summary: task accuracy with a Wilson interval, step accuracy, format "
            "failures, abstention. compare: two runs on the same tasks, paired difference with a cluster "
            "bootstrap by tool and the exact McNemar test. See docs/evaluation.md."
        ),
        epilog=EXAMPLE,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    actions = p.add_subparsers(dest="eval_action", metavar="ACTION", required=True)

    run = actions.add_parser("run", help="run a model over tasks and write per-task results",
                             epilog=EXAMPLE, formatter_class=argparse.RawDescriptionHelpFormatter)
    run.add_argument("tasks", metavar="TASKS", help="JSONL of trajectory records with expected.calls")
    run.add_argument("--presentation", required=True, choices=["json", "mcp", "python"])
    run.add_argument("--native", choices=["auto", "yes", "no"], default="auto",
                     help="json only: native tool calling (default auto: chat template decides; APIs: yes)")
    run.add_argument("--steps", choices=["all", "first"], default="all",
                     help="score every gold assistant turn (all) or only the first (first; default all)")
    run.add_argument("--out", required=True, metavar="FILE", help="where to write the per-task JSONL")
    api = run.add_argument_group("OpenAI-compatible endpoint")
    api.add_argument("--model", metavar="NAME", help="model name at the endpoint")
    api.add_argument("--base-url", metavar="URL", help="endpoint base URL (default api.openai.com)")
    api.add_argument("--api-key-env", default="OPENAI_API_KEY", metavar="VAR",
                     help="environment variable holding the API key (default OPENAI_API_KEY)")
    api.add_argument("--no-api-key", action="store_true", help="the endpoint needs no key (vLLM, Ollama)")
    api.add_argument("--concurrency", type=int, default=8, metavar="N", help="requests in flight (default 8)")
    api.add_argument("--max-retries", type=int, default=4, metavar="N", help="retries on 429/5xx (default 4)")
    api.add_argument("--timeout", type=float, default=120.0, metavar="S", help="seconds per try")
    local = run.add_argument_group("local transformers model")
    local.add_argument("--local-model", metavar="PATH", help="model id or directory; smollm2 = bundled")
    local.add_argument("--gguf-file", metavar="FILE", help="GGUF file inside --local-model")
    local.add_argument("--device", default="cpu", help="torch device (default cpu)")
    local.add_argument("--batch-size", type=int, default=8, metavar="N", help="local batch size (default 8)")
    dec = run.add_argument_group("decoding (the same for every arm you compare)")
    dec.add_argument("--temperature", type=float, default=0.0, help="default 0 (greedy)")
    dec.add_argument("--max-tokens", type=int, default=512, metavar="N", help="default 512")
    dec.add_argument("--seed", type=int, default=None)

    summary = actions.add_parser("summary", help="summarise one results file")
    summary.add_argument("results", metavar="RESULTS", help="per-task JSONL written by `toolgym eval run`")
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
    action = {"run": _run, "summary": _summary, "compare": _compare}[args.eval_action]
    return action(args)


def _backend(args: argparse.Namespace) -> Any:
    if bool(args.model) == bool(args.local_model):
        raise UserError("give either --model (an OpenAI-compatible endpoint) or --local-model (transformers)")
    if args.local_model:
        if args.local_model == "smollm2":
            return LocalBackend.smollm2(device=args.device, batch_size=args.batch_size)
        return LocalBackend(LocalConfig(model=args.local_model, gguf_file=args.gguf_file, device=args.device,
                                        batch_size=args.batch_size))
    return OpenAIBackend(OpenAIConfig(
        model=args.model, base_url=args.base_url, api_key_env=None if args.no_api_key else args.api_key_env,
        max_concurrency=args.concurrency, max_retries=args.max_retries, request_timeout=args.timeout,
    ))


def _run(args: argparse.Namespace) -> int:
    from toolkit.evaluate import EvalConfig, evaluate
    from toolkit.evaluate_report import summarize
    from toolkit.readers import load_trajectories

    tasks, bad = load_trajectories(args.tasks)
    if bad:
        first = bad[0]
        raise UserError(f"{args.tasks}: {len(bad)} unreadable record(s); line {first.line}: {first.error}")
    if not tasks:
        raise UserError(f"{args.tasks} holds no tasks")
    native = {"auto": None, "yes": True, "no": False}[args.native]
    config = EvalConfig(
        presentation=args.presentation, native=native, steps=args.steps,
        decoding=Decoding(temperature=args.temperature, max_tokens=args.max_tokens, seed=args.seed),
    )
    backend = _backend(args)

    async def go() -> list[Any]:
        try:
            return await evaluate(tasks, backend, config, out=args.out)
        finally:
            await backend.aclose()

    results = anyio.run(go)
    s = summarize(results, mode="lenient")
    strict = summarize(results, mode="strict")
    print(f"{len(results)} task(s) -> {args.out}")
    print(f"task accuracy  lenient {_pct(s.task_accuracy.estimate)} [{_pct(s.task_accuracy.low)}, "
          f"{_pct(s.task_accuracy.high)}]  strict {_pct(strict.task_accuracy.estimate)}")
    print(f"format failures {_pct(s.format_failure_rate)} of {s.n_steps} step(s); infrastructure errors "
          f"{s.infra_errors}")
    return 1 if s.infra_errors else 0


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

    s = summarize(_rows(args.results), mode=args.mode)
    if args.json:
        print(json.dumps(_clean(asdict(s)), indent=2))
        return 0
    a = s.abstention
    print(f"{s.presentation} ({s.mode}): {s.n_tasks} task(s), {s.trials_per_task} trial(s) each, "
          f"{s.n_steps} step(s)")
    print(f"  task accuracy      {_pct(s.task_accuracy.estimate)}  95% CI [{_pct(s.task_accuracy.low)}, "
          f"{_pct(s.task_accuracy.high)}] ({s.task_accuracy.method})")
    if s.trials_per_task > 1:
        hats = ", ".join(f"pass^{k} {_pct(v)}" for k, v in s.pass_hat_k.items())
        print(f"  reliability        {hats}; flip rate {_pct(s.flip_rate)}")
    print(f"  step accuracy      {_pct(s.step_accuracy)}   mean call F1 {s.mean_call_f1:.3f}")
    print(f"  format failures    {_pct(s.format_failure_rate)}")
    print(f"  no-call accuracy   {_pct(a.irrelevance_accuracy)} ({a.n_gold_no_call} step(s)); "
          f"well-formed only {_pct(a.irrelevance_accuracy_format_ok)}")
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
    print(f"  difference         {100 * d.estimate:+.1f} pp  95% CI [{100 * d.low:+.1f}, "
          f"{100 * d.high:+.1f}] (cluster bootstrap by tool, seed {d.seed}, {d.n_resamples} resamples)")
    if c.newcombe is not None:
        n = c.newcombe
        print(f"  unclustered        95% CI [{100 * n.low:+.1f}, {100 * n.high:+.1f}] (Newcombe, reference)")
    if m is None:
        print("  McNemar (exact)    n/a: repeated trials per task (the difference above is of success rates)")
    else:
        print(f"  McNemar (exact)    only {c.a} right: {m.b}, only {c.b} right: {m.c}, p = {m.p_value:.4g}")
    mdd = c.minimum_detectable_difference
    print(f"  detectable         {'n/a' if math.isnan(mdd) else f'{100 * mdd:.1f} pp'} at 80% power "
          "(observed discordance)")
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
