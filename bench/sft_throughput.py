"""SFT throughput: ToolGym's SFT path vs a minimal plain TRL SFTTrainer script, same data, model and settings.

    python bench/sft_throughput.py                  # tiny random Llama over SmolLM2's vocabulary
    python bench/sft_throughput.py --model bundled --steps 10 --batch-size 2
    python bench/sft_throughput.py --packing        # ToolGym with packing: true vs the same unpacked baseline
    python bench/sft_throughput.py --gradient-checkpointing   # both arms recompute activations (TRL's default)
    python bench/sft_throughput.py --full-lm-head   # ablation: ToolGym with TRL's every-position LM head on CPU

Both variants run in their own subprocess (so peak memory is each one's own) on the same conversations: ToolGym
renders them with ``toolkit.chat_format`` and builds assistant-only labels itself (``trainers.sft.run_sft``:
template gate, masks, TRL ``SFTTrainer`` on pre-tokenized rows); the baseline hands TRL the same rendered
``messages`` and lets it tokenize them (loss on every token, the only thing plain TRL can do with a template
that has no ``{% generation %}`` markers). Same model, LoRA settings, batch size, max length and steps.

With ``--packing`` ToolGym trains with ``packing: true`` (TRL BFD packing, padding-free) while the baseline stays
a plain script: no packing, batches padded to their longest row.

Gradient checkpointing is set explicitly and the same in both arms (off unless ``--gradient-checkpointing``):
TRL's ``SFTConfig`` turns it on by default and ToolGym's config does not, so leaving the baseline at TRL's default
would compare a recomputing run with one that keeps its activations.

Tokens/s counts *real* tokens only, the same way in both: a forward pre-hook on the model adds up, for every
training forward, the tokens that are not padding (``attention_mask.sum()`` for a padded batch; every position of
a padding-free batch, which has none). TRL's own ``num_tokens`` is printed beside it as a cross-check (it counts
the same thing). ``slots`` is every position the model computed, padding included, so ``pad %`` is the share of
compute spent on padding. Also prints end-to-end seconds, peak memory and the ratios.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

DATA = ROOT / "samples" / "data" / "sample_trajectories.jsonl"


def _peak_mb() -> float:
    import torch

    if torch.cuda.is_available():
        return torch.cuda.max_memory_allocated() / 2**20
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def _bf16() -> bool:
    import torch

    return bool(torch.cuda.is_available() and torch.cuda.is_bf16_supported())


def _make_tiny(folder: Path) -> None:
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    from trainers.models import load_tokenizer

    tok = load_tokenizer("bundled")
    torch.manual_seed(0)
    config = LlamaConfig(vocab_size=len(tok), hidden_size=256, intermediate_size=512, num_hidden_layers=4,
                         num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=4096,
                         tie_word_embeddings=True)
    LlamaForCausalLM(config).save_pretrained(folder)
    tok.save_pretrained(folder)


def _records(copies: int):
    from toolkit.readers import load_trajectories

    records, _ = load_trajectories(DATA)
    return [r.model_copy(update={"id": f"{r.id}-{i}"}) for i in range(copies) for r in records]


class _TokenCounter:
    """Counts real (non-padding) tokens and all positions of every training forward, and marks when each step
    starts (wall and process CPU time), so the steady-state rate can leave out the first step's warm-up."""

    def __init__(self, model) -> None:
        self.real = self.slots = 0
        self.marks: list[tuple[float, float, int]] = []  # (wall, cpu, real tokens before this step)
        model.register_forward_pre_hook(self._count, with_kwargs=True)

    def _count(self, module, args, kwargs) -> None:
        if not module.training:  # evaluation, or ToolGym's packing probe
            return
        self.marks.append((time.perf_counter(), time.process_time(), self.real))
        ids = kwargs.get("input_ids", args[0] if args else None)
        mask = kwargs.get("attention_mask")
        self.slots += ids.numel()
        self.real += int(mask.sum()) if mask is not None else ids.numel()

    def figures(self) -> dict:
        """From the start of step 2 to the start of the last step (steps 2..n-1, each one forward)."""
        (w0, c0, r0), (w1, c1, r1) = self.marks[1], self.marks[-1]
        return {"tokens": self.real, "slots": self.slots, "steady_tokens": r1 - r0, "steady_wall": w1 - w0,
                "steady_cpu": c1 - c0}


def _ours(args: argparse.Namespace, out: Path) -> dict:
    from trainers.models import load_model, load_tokenizer
    from trainers.sft import run_sft
    from trainers.sft_config import load_sft_config

    t0 = time.monotonic()
    data = out / "data.jsonl"
    data.write_text("".join(r.to_json() + "\n" for r in _records(args.copies)), encoding="utf-8")
    cfg = load_sft_config(None, {
        "train_file": str(data), "model": args.model, "output_dir": str(out / "run"), "max_steps": args.steps,
        "batch_size": args.batch_size, "max_length": args.max_length, "split": "none", "logging_steps": 1,
        "eval_steps": 10_000, "presentation": args.presentation, "progress": False, "seed": 0,
        "packing": args.packing, "gradient_checkpointing": args.gradient_checkpointing,
    })
    # Loaded here (as run_sft would) only to count tokens on the model itself.
    model, tok = load_model(args.model), load_tokenizer(args.model)
    counter = _TokenCounter(model)
    result = run_sft(cfg, model=model, tokenizer=tok)
    total = time.monotonic() - t0
    training = result.summary["training"]
    return {**counter.figures(), "trl_tokens": training["num_tokens"], "train_seconds": training["train_seconds"],
            "total_seconds": total, "peak_mb": _peak_mb(), "final_loss": result.final_train_loss}


def _plain(args: argparse.Namespace, out: Path) -> dict:
    from datasets import Dataset
    from peft import LoraConfig
    from trl import SFTConfig, SFTTrainer

    from toolkit.chat_format import to_chat
    from trainers.models import load_model, load_tokenizer

    t0 = time.monotonic()
    tok = load_tokenizer(args.model)
    messages = [to_chat(r, args.presentation, tokenizer=tok).messages for r in _records(args.copies)]
    # Subagent rows are left out here: plain TRL has no notion of them; ours trains them too (a few more rows).
    dataset = Dataset.from_list([{"messages": m} for m in messages])
    model = load_model(args.model)
    counter = _TokenCounter(model)
    trainer = SFTTrainer(
        model=model, train_dataset=dataset, processing_class=tok,
        peft_config=LoraConfig(r=16, lora_alpha=32, lora_dropout=0.05, target_modules="all-linear",
                               task_type="CAUSAL_LM"),
        args=SFTConfig(output_dir=str(out / "plain"), max_steps=args.steps,
                       per_device_train_batch_size=args.batch_size, max_length=args.max_length,
                       logging_steps=1, save_strategy="no", report_to="none", learning_rate=2e-4, seed=0, data_seed=0, disable_tqdm=True,
                       bf16=_bf16(), dataloader_pin_memory=False,
                       gradient_checkpointing=args.gradient_checkpointing),
    )
    t1 = time.monotonic()
    trainer.train()
    train_seconds = time.monotonic() - t1
    history = trainer.state.log_history
    trl_tokens = next(e["num_tokens"] for e in reversed(history) if "num_tokens" in e and "loss" in e)
    loss = next(e["loss"] for e in reversed(history) if "loss" in e)
    return {**counter.figures(), "trl_tokens": trl_tokens, "train_seconds": train_seconds,
            "total_seconds": time.monotonic() - t0, "peak_mb": _peak_mb(), "final_loss": loss}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="tiny", help="tiny (random 4-layer Llama), bundled, or a model path")
    parser.add_argument("--steps", type=int, default=20, help="optimizer steps per run (at least 3)")
    parser.add_argument("--batch-size", type=int, default=2)
    parser.add_argument("--max-length", type=int, default=1024)
    parser.add_argument("--copies", type=int, default=4, help="times the sample dataset is repeated")
    parser.add_argument("--presentation", default="json")
    parser.add_argument("--packing", action="store_true",
                        help="ToolGym trains with packing: true (the plain baseline never packs)")
    parser.add_argument("--gradient-checkpointing", action="store_true",
                        help="both arms recompute activations in the backward pass (default: both keep them)")
    parser.add_argument("--full-lm-head", action="store_true",
                        help="ablation: ToolGym without trainers/lm_head.py (TRL projects every position on CPU)")
    parser.add_argument("--repeats", type=int, default=1,
                        help="runs per variant, alternating plain/ours; each rate is the best of its runs")
    parser.add_argument("--variant", choices=["ours", "plain"], help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.variant:  # child process: run one variant, print its figures as JSON
        import warnings

        warnings.simplefilter("ignore")
        if args.full_lm_head:
            import trainers.sft

            trainers.sft.compact_lm_head = lambda model: False
        fn = _ours if args.variant == "ours" else _plain
        print("RESULT " + json.dumps(fn(args, args.out)))
        return

    if args.steps < 3:
        parser.error("--steps must be at least 3 (the steady-state rate leaves out the first and last step)")
    with tempfile.TemporaryDirectory() as tmp:
        tmp_path = Path(tmp)
        args.label = args.model
        if args.model == "tiny":
            _make_tiny(tmp_path / "tiny")
            args.model = str(tmp_path / "tiny")
        runs: dict[str, list[dict]] = {"plain": [], "ours": []}
        for i in range(args.repeats):
            for variant in ("plain", "ours"):  # alternating, so a change in machine load hits both
                out = tmp_path / f"{variant}-{i}"
                out.mkdir()
                cmd = [sys.executable, __file__, "--variant", variant, "--out", str(out),
                       "--model", args.model, "--steps", str(args.steps), "--batch-size", str(args.batch_size),
                       "--max-length", str(args.max_length), "--copies", str(args.copies),
                       "--presentation", args.presentation] + [
                    flag for flag, on in (("--packing", args.packing),
                                          ("--gradient-checkpointing", args.gradient_checkpointing),
                                          ("--full-lm-head", args.full_lm_head)) if on]
                proc = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
                line = next((ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")), None)
                if proc.returncode != 0 or line is None:
                    sys.exit(f"{variant} failed:\n{proc.stderr[-3000:]}")
                runs[variant].append(json.loads(line[len("RESULT "):]))
    _report(args, runs)


def _best(runs: list[dict]) -> dict:
    """One row per variant: token counts from the first run (every run trains the same batches), each rate and
    time the best of the runs, memory the highest."""
    first = runs[0]
    return {
        **first,
        "rate": max(r["tokens"] / r["train_seconds"] for r in runs),
        "steady_rate": max(r["steady_tokens"] / r["steady_wall"] for r in runs),
        "cpu_rate": max(r["steady_tokens"] / r["steady_cpu"] for r in runs),
        "train_seconds": min(r["train_seconds"] for r in runs),
        "total_seconds": min(r["total_seconds"] for r in runs),
        "peak_mb": max(r["peak_mb"] for r in runs),
    }


def _report(args: argparse.Namespace, runs: dict[str, list[dict]]) -> None:
    figures = {name: _best(r) for name, r in runs.items()}
    names = {"plain": "plain", "ours": "ours+pack" if args.packing else "ours"}
    print(f"model={args.label} steps={args.steps} batch={args.batch_size} max_length={args.max_length} "
          f"copies={args.copies} repeats={args.repeats} packing={'ours only' if args.packing else 'off'} "
          f"gradient_checkpointing={'both' if args.gradient_checkpointing else 'neither'} "
          f"lm_head={'TRL (every position)' if args.full_lm_head else 'compact'}")
    print("tokens = real (non-padding) tokens trained on; slots = positions computed, padding included; tok/s = "
          "tokens / trainer.train() seconds; steady = steps 2..n-1 by wall clock and by process CPU time")
    print(f"{'variant':<10} {'tokens':>7} {'TRL tok':>7} {'slots':>7} {'pad %':>5} {'train s':>7} {'tok/s':>7} "
          f"{'steady':>7} {'tok/CPUs':>8} {'total s':>7} {'peak MB':>7} {'loss':>6}")
    for name, f in figures.items():
        pad = 100 * (1 - f["tokens"] / f["slots"])
        print(f"{names[name]:<10} {f['tokens']:>7} {f['trl_tokens']:>7.0f} {f['slots']:>7} {pad:>5.1f} "
              f"{f['train_seconds']:>7.1f} {f['rate']:>7.1f} {f['steady_rate']:>7.1f} {f['cpu_rate']:>8.1f} "
              f"{f['total_seconds']:>7.1f} {f['peak_mb']:>7.0f} {f['final_loss']:>6.3f}")
    ours, plain = figures["ours"], figures["plain"]
    vs = f"{names['ours']}/plain"
    print(f"real training tokens/s ratio {vs}: {ours['rate'] / plain['rate']:.2f} "
          f"(steady state: {ours['steady_rate'] / plain['steady_rate']:.2f} wall, "
          f"{ours['cpu_rate'] / plain['cpu_rate']:.2f} CPU time)")
    print(f"end-to-end seconds ratio {vs}: {ours['total_seconds'] / plain['total_seconds']:.2f} "
          "(ours includes the template gate, mask building and saving the run)")
    print(f"peak memory ratio {vs}: {ours['peak_mb'] / plain['peak_mb']:.2f}")


if __name__ == "__main__":
    main()
