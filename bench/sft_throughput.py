"""SFT throughput: ToolGym's SFT path vs a minimal plain TRL SFTTrainer script, same data, model and settings.

    python bench/sft_throughput.py                  # tiny random Llama over SmolLM2's vocabulary
    python bench/sft_throughput.py --model bundled --steps 10 --batch-size 2

Both variants run in their own subprocess (so peak memory is each one's own) on the same conversations: ToolGym
renders them with ``toolkit.chat_format`` and builds assistant-only labels itself (``trainers.sft.run_sft``:
template gate, masks, TRL ``SFTTrainer`` on pre-tokenized rows); the baseline hands TRL the same rendered
``messages`` and lets it tokenize them (loss on every token, the only thing plain TRL can do with a template
that has no ``{% generation %}`` markers). Same model, LoRA settings, batch size, max length and steps.

Prints tokens/s (TRL's ``num_tokens`` over the training time), end-to-end seconds, peak memory, and the ratio.
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


def _ours(args: argparse.Namespace, out: Path) -> dict:
    from trainers.sft import run_sft
    from trainers.sft_config import load_sft_config

    data = out / "data.jsonl"
    data.write_text("".join(r.to_json() + "\n" for r in _records(args.copies)), encoding="utf-8")
    cfg = load_sft_config(None, {
        "train_file": str(data), "model": args.model, "output_dir": str(out / "run"), "max_steps": args.steps,
        "batch_size": args.batch_size, "max_length": args.max_length, "split": "none", "logging_steps": 1,
        "eval_steps": 10_000, "presentation": args.presentation, "progress": False, "seed": 0,
    })
    t0 = time.monotonic()
    result = run_sft(cfg)
    total = time.monotonic() - t0
    training = result.summary["training"]
    return {"tokens": training["num_tokens"], "train_seconds": training["train_seconds"], "total_seconds": total,
            "peak_mb": _peak_mb(), "final_loss": result.final_train_loss}


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
    trainer = SFTTrainer(
        model=load_model(args.model), train_dataset=dataset, processing_class=tok,
        peft_config=LoraConfig(r=16, lora_alpha=32, lora_dropout=0.05, target_modules="all-linear",
                               task_type="CAUSAL_LM"),
        args=SFTConfig(output_dir=str(out / "plain"), max_steps=args.steps,
                       per_device_train_batch_size=args.batch_size, max_length=args.max_length,
                       logging_steps=1, save_strategy="no", report_to="none", learning_rate=2e-4, seed=0, data_seed=0, disable_tqdm=True,
                       bf16=_bf16(), dataloader_pin_memory=False),
    )
    t1 = time.monotonic()
    trainer.train()
    train_seconds = time.monotonic() - t1
    history = trainer.state.log_history
    tokens = next(e["num_tokens"] for e in reversed(history) if "num_tokens" in e and "loss" in e)
    loss = next(e["loss"] for e in reversed(history) if "loss" in e)
    return {"tokens": tokens, "train_seconds": train_seconds, "total_seconds": time.monotonic() - t0,
            "peak_mb": _peak_mb(), "final_loss": loss}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="tiny", help="tiny (random 4-layer Llama), bundled, or a model path")
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--batch-size", type=int, default=2)
    parser.add_argument("--max-length", type=int, default=1024)
    parser.add_argument("--copies", type=int, default=4, help="times the sample dataset is repeated")
    parser.add_argument("--presentation", default="json")
    parser.add_argument("--variant", choices=["ours", "plain"], help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.variant:  # child process: run one variant, print its figures as JSON
        import warnings

        warnings.simplefilter("ignore")
        fn = _ours if args.variant == "ours" else _plain
        print("RESULT " + json.dumps(fn(args, args.out)))
        return

    with tempfile.TemporaryDirectory() as tmp:
        tmp_path = Path(tmp)
        if args.model == "tiny":
            _make_tiny(tmp_path / "tiny")
            args.model = str(tmp_path / "tiny")
        figures = {}
        for variant in ("plain", "ours"):
            (tmp_path / variant).mkdir()
            cmd = [sys.executable, __file__, "--variant", variant, "--out", str(tmp_path / variant),
                   "--model", args.model, "--steps", str(args.steps), "--batch-size", str(args.batch_size),
                   "--max-length", str(args.max_length), "--copies", str(args.copies),
                   "--presentation", args.presentation]
            proc = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
            line = next((ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")), None)
            if proc.returncode != 0 or line is None:
                sys.exit(f"{variant} failed:\n{proc.stderr[-3000:]}")
            figures[variant] = json.loads(line[len("RESULT "):])

    print(f"model={args.model} steps={args.steps} batch={args.batch_size} max_length={args.max_length}")
    print(f"{'variant':<8} {'tokens':>8} {'train s':>8} {'tok/s':>9} {'total s':>8} {'peak MB':>9} {'loss':>7}")
    for name, f in figures.items():
        rate = f["tokens"] / f["train_seconds"]
        print(f"{name:<8} {f['tokens']:>8.0f} {f['train_seconds']:>8.1f} {rate:>9.1f} {f['total_seconds']:>8.1f} "
              f"{f['peak_mb']:>9.0f} {f['final_loss']:>7.3f}")
    ours, plain = figures["ours"], figures["plain"]
    ratio = (ours["tokens"] / ours["train_seconds"]) / (plain["tokens"] / plain["train_seconds"])
    print(f"training tokens/s ratio ours/plain: {ratio:.2f}")
    print(f"end-to-end seconds ratio ours/plain: {ours['total_seconds'] / plain['total_seconds']:.2f} "
          "(ours includes the template gate, mask building and saving the run)")
    print(f"peak memory ratio ours/plain: {ours['peak_mb'] / plain['peak_mb']:.2f}")


if __name__ == "__main__":
    main()
