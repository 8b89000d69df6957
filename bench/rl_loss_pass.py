"""GRPO's loss pass on CPU: TRL's fused LM head vs ToolGym's (``trainers/lm_head.py``), on the same batch.

    python bench/rl_loss_pass.py                  # bundled SmolLM2-135M, 2 prompts x 4 rollouts, micro-batches of 2
    python bench/rl_loss_pass.py --batch-size 4   # one group's worth per micro-batch (TRL's head: out of memory)

The loss pass (forward and backward of every rollout through the policy) is most of a GRPO step on CPU
(docs/rl.md). This times it alone, without sampling, so the arms see exactly the same tokens:

* ``trl`` — the model as ``GRPOTrainer`` patches it (``add_fused_lm_head``, temperature, log-probs + entropy);
  on CPU it runs every position of every row through the backbone and the 49k-vocabulary head;
* ``compact`` — ToolGym's head, scoring only the completion positions, with prompt sharing switched off;
* ``shared`` — ToolGym's head as ``toolgym train rl`` installs it: rows of a micro-batch that share their prompt
  run it through the backbone once.

The batch is GRPO-shaped: ``--prompts`` real first-turn prompts (a task of each of the first bundled suites,
rendered with its tool specs in the ``--presentation`` presentation through the model's chat template, as the
rollout renders them), left-padded to the longest; ``--generations`` completions per prompt of random tokens and
random lengths in ``--completion`` (right-padded), labels on the completion only, as TRL builds them. A step's
rows are shuffled with a fixed seed (TRL shuffles before splitting into micro-batches) and split into
micro-batches of ``--batch-size``. LoRA r16 on all linear layers, no dropout (``toolgym train rl``'s defaults).

Each arm runs in its own process (peak memory is its own): one warm-up step, then ``--steps`` timed steps of
forward + backward over all micro-batches. Printed per arm: seconds per step, the ratio to ``trl``, peak RSS,
and two checks that the arms compute the same thing: the sum of the completion log-probabilities and the
gradient norm of the first step. An arm the system kills for memory is reported as such.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

ARMS = ("trl", "compact", "shared")


def _batch(tokenizer, args):
    import torch

    from toolkit.chat_format import prompt_for, render_chat
    from toolkit.environment import get_suite, list_suites
    from toolkit.template_rendering import render_tasks

    prompts = []
    for name in list_suites()[: args.prompts]:
        task = render_tasks(name, n=1, seed=0)[0]
        specs = get_suite(name).create_environment().specs()
        example = prompt_for([{"role": "user", "content": task.prompt}], specs, args.presentation, tokenizer=tokenizer)
        text = render_chat(example, tokenizer, add_generation_prompt=True)
        prompts.append(tokenizer(text, add_special_tokens=False)["input_ids"])
    width = max(len(p) for p in prompts)
    g = torch.Generator().manual_seed(0)
    lo, hi = args.completion
    lengths = torch.randint(lo, hi + 1, (len(prompts) * args.generations,), generator=g).tolist()
    tail = max(lengths)
    rows, masks = [], []
    for i, length in enumerate(lengths):
        prompt = prompts[i // args.generations]
        completion = torch.randint(0, tokenizer.vocab_size, (length,), generator=g).tolist()
        pad = tokenizer.pad_token_id or 0
        rows.append([pad] * (width - len(prompt)) + prompt + completion + [pad] * (tail - length))
        masks.append([0] * (width - len(prompt)) + [1] * (len(prompt) + length) + [0] * (tail - length))
    ids, mask = torch.tensor(rows), torch.tensor(masks)
    labels = ids.masked_fill(mask == 0, -100)
    labels[:, :width] = -100
    order = torch.randperm(len(rows), generator=g)
    return ids[order], mask[order], labels[order], [len(p) for p in prompts], lengths


def _arm(args) -> dict:
    import torch
    from peft import LoraConfig, get_peft_model
    from trl.trainer.utils import add_fused_lm_head

    import trainers.lm_head as lm_head
    from trainers.models import load_model, load_tokenizer, resolve_model

    torch.manual_seed(0)
    ref = resolve_model(args.model)
    tokenizer = load_tokenizer(ref)
    model = get_peft_model(load_model(ref), LoraConfig(r=16, lora_alpha=32, lora_dropout=0.0,
                                                       target_modules="all-linear", task_type="CAUSAL_LM"))
    model.train()
    add_fused_lm_head(model.get_base_model(), temperature=1.0, outputs=("log_probs", "entropy"))
    if args.arm != "trl":
        assert lm_head.compact_lm_head(model)
    if args.arm == "compact":
        lm_head._shared_prefix = lambda *a: None
    ids, mask, labels, prompt_lengths, lengths = _batch(tokenizer, args)
    n = torch.tensor(int((labels != -100).sum()))
    times, logp_sum, grad_norm = [], None, None
    for step in range(args.steps + 1):
        start = time.perf_counter()
        total = 0.0
        for lo in range(0, ids.shape[0], args.batch_size):
            sl = slice(lo, lo + args.batch_size)
            out = model(input_ids=ids[sl], attention_mask=mask[sl], labels=labels[sl], fused_lm_head=True,
                        num_items_in_batch=n)
            out.loss.backward()
            total += float(out.log_probs.detach().sum())
        if step == 0:
            logp_sum = total
            grad_norm = float(torch.linalg.vector_norm(
                torch.stack([p.grad.norm() for p in model.parameters() if p.grad is not None])))
        else:
            times.append(time.perf_counter() - start)
        model.zero_grad(set_to_none=True)
    return {"arm": args.arm, "seconds": sum(times) / len(times), "peak_mb": resource.getrusage(
        resource.RUSAGE_SELF).ru_maxrss / 1024, "logp_sum": logp_sum, "grad_norm": grad_norm,
        "prompt_tokens": prompt_lengths, "completion_tokens": lengths}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="bundled", help="bundled, a model directory or a HF id")
    parser.add_argument("--prompts", type=int, default=2, help="distinct prompts per step (GRPO groups)")
    parser.add_argument("--generations", type=int, default=4, help="rollouts per prompt")
    parser.add_argument("--batch-size", type=int, default=2, help="rows per loss micro-batch")
    parser.add_argument("--completion", type=int, nargs=2, default=(60, 250), metavar=("MIN", "MAX"),
                        help="completion lengths (model turns plus tool results), drawn uniformly")
    parser.add_argument("--presentation", default="python")
    parser.add_argument("--steps", type=int, default=2, help="timed steps after one warm-up step")
    parser.add_argument("--arm", choices=ARMS, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.arm:
        import warnings

        warnings.simplefilter("ignore")
        print("RESULT " + json.dumps(_arm(args)), flush=True)
        return

    from toolkit.tables import format_table

    results = {}
    for arm in ARMS:
        cmd = [sys.executable, __file__, "--arm", arm, *sys.argv[1:]]
        proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
        line = next((x for x in proc.stdout.splitlines() if x.startswith("RESULT ")), None)
        if line is not None:
            results[arm] = json.loads(line[len("RESULT "):])
            print(f"{arm}: {results[arm]['seconds']:.2f} s/step", file=sys.stderr, flush=True)
        elif proc.returncode in (-9, 137):
            results[arm] = None
            print(f"{arm}: killed (out of memory)", file=sys.stderr, flush=True)
        else:
            sys.exit(f"arm {arm} failed:\n{proc.stderr[-3000:]}")
    done = [r for r in results.values() if r is not None]
    if not done:
        sys.exit("every arm ran out of memory: lower --batch-size or --completion")
    base = results["trl"]
    print(f"\nGRPO loss pass, {args.model}: {args.prompts} prompts ({done[0]['prompt_tokens']} tokens) x "
          f"{args.generations} rollouts ({sum(done[0]['completion_tokens'])} completion tokens in all), "
          f"micro-batches of {args.batch_size}, {args.steps} timed steps")

    def ratio(a: float, b: float | None) -> str:
        return "-" if b is None else f"{a / b:.2f}"

    rows = [(arm, "killed (out of memory)", "", "", "", "", "") if r is None else
            (arm, f"{r['seconds']:.2f}", ratio(base["seconds"], r["seconds"]) + "x" if base else "-",
             f"{r['peak_mb']:,.0f}", ratio(r["peak_mb"], base["peak_mb"] if base else None),
             f"{r['logp_sum']:.3f}", f"{r['grad_norm']:.6f}")
            for arm, r in results.items()]
    print(format_table(rows, ("arm", "s/step", "speed vs trl", "peak RSS MB", "memory vs trl", "sum log-prob",
                              "grad norm")))


if __name__ == "__main__":
    main()
