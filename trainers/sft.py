"""Supervised fine-tuning on ToolGym trajectories with TRL's ``SFTTrainer`` (LoRA through PEFT, or full).

Stages: read and split the data, load the tokenizer and choose the chat template, run the template gate (stop
on any failure), tokenize every agent row with ToolGym's loss masks, load the model, train with periodic
validation loss (and early stopping), then save the adapter (or model), the tokenizer, the exact chat template
and its decisions, a loss-curve PNG and ``run.json``.
"""

from __future__ import annotations

import json
import sys
import time
import warnings
from contextlib import contextmanager
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from toolkit.errors import UserError
from trainers.chat_templates import choose_template, save_template
from trainers.checkpoints import resolve_resume
from trainers.gate import GateReport, run_gate
from trainers.lm_head import compact_lm_head
from trainers.models import ModelRef, ignore_peft_deprecation_noise, load_model, load_tokenizer, resolve_model
from trainers.plots import loss_series, plot_loss_curve
from trainers.sft_config import SFTRunConfig
from trainers.sft_data import EncodedSplit, encode_records, file_hash, read_training_records, split_for_validation
from trainers.sft_packing import check_packing_isolation
from trainers.run_info import library_versions

__all__ = ["SFTResult", "run_sft"]

_STAGES = 7


@dataclass
class SFTResult:
    """Where a run wrote its outputs and how it ended."""

    run_dir: Path
    global_step: int
    final_train_loss: float | None
    final_eval_loss: float | None
    best_eval_loss: float | None
    stopped_early: bool
    summary: dict[str, Any] = field(default_factory=dict)
    gate: GateReport | None = None


class _Stages:
    def __init__(self, enabled: bool):
        self.enabled, self.n, self.t0 = enabled, 0, time.monotonic()

    def __call__(self, text: str) -> None:
        self.n += 1
        if self.enabled:
            print(f"[{self.n}/{_STAGES}] {text} ({time.monotonic() - self.t0:.0f}s)", file=sys.stderr, flush=True)

    def note(self, text: str) -> None:
        if self.enabled:
            print(f"      {text}", file=sys.stderr, flush=True)


def _to_dataset(split: EncodedSplit) -> Any:
    from datasets import Dataset

    return Dataset.from_dict({
        "input_ids": [r["input_ids"] for r in split.rows],
        "labels": [r["labels"] for r in split.rows],
    })


def _peft_config(cfg: SFTRunConfig) -> Any:
    if not cfg.lora:
        return None
    from peft import LoraConfig

    return LoraConfig(
        r=cfg.lora_r, lora_alpha=cfg.lora_alpha, lora_dropout=cfg.lora_dropout,
        target_modules=cfg.lora_target_modules, task_type="CAUSAL_LM", bias="none",
    )


def _quantization(cfg: SFTRunConfig) -> Any:
    if not cfg.qlora:
        return None
    import importlib.util

    import torch

    if not torch.cuda.is_available() or importlib.util.find_spec("bitsandbytes") is None:
        raise UserError(
            "qlora needs a CUDA GPU and the bitsandbytes package; set qlora: false to train LoRA in full precision"
        )
    from transformers import BitsAndBytesConfig

    return BitsAndBytesConfig(load_in_4bit=True, bnb_4bit_quant_type="nf4", bnb_4bit_compute_dtype=torch.bfloat16,
                              bnb_4bit_use_double_quant=True)


def _cuda() -> bool:
    import torch

    return torch.cuda.is_available()


def _use_bf16(cfg: SFTRunConfig) -> bool:
    import torch

    if cfg.bf16 is not None:
        if cfg.bf16 and not (torch.cuda.is_available() and torch.cuda.is_bf16_supported()):
            raise UserError("bf16: true needs a GPU with bfloat16 support; set bf16 to null or false")
        return cfg.bf16
    return bool(torch.cuda.is_available() and torch.cuda.is_bf16_supported())


def _trainer_args(cfg: SFTRunConfig, has_validation: bool) -> Any:
    from trl import SFTConfig

    early = cfg.early_stopping_patience is not None and has_validation
    return SFTConfig(
        output_dir=str(cfg.output_dir / "checkpoints"),
        per_device_train_batch_size=cfg.batch_size,
        per_device_eval_batch_size=cfg.batch_size,
        gradient_accumulation_steps=cfg.grad_accum,
        learning_rate=cfg.learning_rate,
        num_train_epochs=cfg.epochs,
        max_steps=cfg.max_steps,
        lr_scheduler_type=cfg.lr_scheduler,
        warmup_steps=cfg.warmup_ratio,  # a float below 1 is a ratio of the total steps
        weight_decay=cfg.weight_decay,
        seed=cfg.seed,
        data_seed=cfg.seed,
        logging_steps=cfg.logging_steps,
        logging_first_step=True,
        eval_strategy="steps" if has_validation else "no",
        eval_steps=cfg.eval_steps if has_validation else None,
        save_strategy="steps",
        save_steps=cfg.eval_steps,
        save_total_limit=cfg.save_total_limit,
        load_best_model_at_end=early,
        metric_for_best_model="eval_loss" if has_validation else None,
        greater_is_better=False if has_validation else None,
        max_length=cfg.max_length,
        packing=cfg.packing,
        bf16=_use_bf16(cfg),
        activation_checkpointing=cfg.gradient_checkpointing,
        disable_tqdm=not cfg.progress,
        report_to="none",
        dataloader_num_workers=0,
        dataloader_pin_memory=_cuda(),  # pinning without a GPU only warns
    )


@contextmanager
def _known_vocabulary() -> Iterator[None]:
    """PEFT looks for the base model's config.json to learn whether the vocabulary was resized, and warns when
    it cannot (a GGUF base has none; offline there is no hub). ToolGym never resizes embeddings, so the answer
    is known: the vocabulary is unchanged, which is what PEFT then assumes."""
    with warnings.catch_warnings():
        warnings.filterwarnings(
            "ignore",
            message=r"Could not find a config file in .* - will assume that the vocabulary was not modified",
            category=UserWarning,
        )
        yield


@contextmanager
def _datasets_progress(enabled: bool) -> Iterator[None]:
    """Silence the `datasets` map/filter bars TRL shows while preparing data when progress is off."""
    import datasets as ds_logging

    was_enabled = ds_logging.is_progress_bar_enabled()
    if not enabled and was_enabled:
        ds_logging.disable_progress_bars()
    try:
        yield
    finally:
        if not enabled and was_enabled:
            ds_logging.enable_progress_bars()


def run_sft(cfg: SFTRunConfig, *, model: Any = None, tokenizer: Any = None, gate_only: bool = False) -> SFTResult:
    """Run SFT as configured. ``model`` / ``tokenizer`` objects, when given, replace loading ``cfg.model``.

    ``gate_only`` stops after the template gate and returns its report without raising on failures.
    """
    stage = _Stages(cfg.progress)
    run_dir = cfg.output_dir
    run_dir.mkdir(parents=True, exist_ok=True)
    resume = resolve_resume(cfg.resume, cfg.output_dir, cfg.max_steps)
    resume_from = resume.path if resume else None

    stage(f"reading {cfg.train_file}")
    records, read_counts = read_training_records(cfg.train_file, only_passed=cfg.only_passed)
    if cfg.validation_file is not None:
        validation, val_counts = read_training_records(cfg.validation_file, only_passed=cfg.only_passed)
        train, notes = records, []
    else:
        train, validation, notes = split_for_validation(records, cfg.split, cfg.validation_fraction, cfg.seed)
        val_counts = {}
    stage.note(f"{len(train)} training / {len(validation)} validation records; "
               f"{read_counts['unreadable']} unreadable, {read_counts['failed_validation']} failed validation")
    for n in notes:
        stage.note(n)
    if cfg.early_stopping_patience is not None and not validation:
        raise UserError("early stopping needs validation records, but none were held out; add more records or "
                        "set validation_file")

    stage("loading tokenizer and chat template")
    ref: ModelRef | None = None if model is not None and tokenizer is not None else resolve_model(cfg.model)
    if tokenizer is None:
        tokenizer = load_tokenizer(ref)
    choice = choose_template(tokenizer, cfg.chat_template)
    stage.note(f"chat template: {choice.source}")

    stage("running the template gate")
    gate = run_gate(tokenizer, train, cfg.presentation, native=cfg.native, sample=cfg.gate_sample, seed=cfg.seed)
    if cfg.progress and not gate_only:  # gate-only callers print the report themselves
        print(gate.render(), file=sys.stderr)
    (run_dir / "gate.json").write_text(json.dumps(gate.to_dict(), indent=2) + "\n", encoding="utf-8")
    if gate_only:
        return SFTResult(run_dir, 0, None, None, None, False, gate=gate)
    gate.raise_for_failures()

    stage("tokenizing with assistant-only loss masks")
    enc_train = encode_records(train, tokenizer, presentation=cfg.presentation, native=cfg.native,
                               max_length=cfg.max_length, label="train", progress=cfg.progress)
    enc_val = encode_records(validation, tokenizer, presentation=cfg.presentation, native=cfg.native,
                             max_length=cfg.max_length, label="validation", progress=cfg.progress)
    if not enc_train.rows:
        raise UserError(
            f"no training row has an assistant token within max_length={cfg.max_length} "
            f"({enc_train.dropped_no_target} dropped, {len(enc_train.failed)} failed); raise max_length"
        )
    stage.note(f"{len(enc_train.rows)} train rows ({enc_train.subagent_rows} subagent), "
               f"{enc_train.trained_tokens}/{enc_train.tokens} tokens trained, {enc_train.truncated} truncated")
    skipped = enc_train.failed + enc_val.failed
    if skipped:
        stage.note(f"{len(skipped)} record(s)/row(s) skipped (listed in run.json); first: {skipped[0]}")

    stage("loading the model")
    if model is None:
        model = load_model(ref, quantization_config=_quantization(cfg))
    if cfg.packing:
        check_packing_isolation(model, tokenizer)
    from transformers import EarlyStoppingCallback
    from trl import SFTTrainer

    has_val = bool(enc_val.rows)
    early = cfg.early_stopping_patience is not None and has_val
    callbacks = [EarlyStoppingCallback(cfg.early_stopping_patience)] if early else []
    with _datasets_progress(cfg.progress), warnings.catch_warnings():
        ignore_peft_deprecation_noise()
        trainer = SFTTrainer(
            model=model, args=_trainer_args(cfg, has_val), train_dataset=_to_dataset(enc_train),
            eval_dataset=_to_dataset(enc_val) if has_val else None, processing_class=tokenizer,
            peft_config=_peft_config(cfg), callbacks=callbacks,
        )
    compact_lm_head(trainer.model)  # CPU: project only the assistant tokens (trainers/lm_head.py)

    stage("training" + (f" (resuming from {resume_from})" if resume_from else ""))
    if resume and (note := resume.schedule_note(cfg.max_steps)):
        stage.note(note)
    started = time.monotonic()
    with _known_vocabulary():
        output = trainer.train(resume_from_checkpoint=resume_from)
    train_seconds = time.monotonic() - started
    final_eval = None
    if has_val:  # the trainer may have just evaluated at the last step; do not log the same point twice
        last = [e for e in trainer.state.log_history if "eval_loss" in e]
        done = last and last[-1].get("step") == trainer.state.global_step
        final_eval = last[-1]["eval_loss"] if done else trainer.evaluate()["eval_loss"]
        if early and trainer.state.best_metric is not None:
            final_eval = trainer.state.best_metric  # the best checkpoint is what was restored and gets saved

    stage(f"saving to {run_dir}")
    model_dir = run_dir / ("adapter" if cfg.lora else "model")
    with _known_vocabulary():
        trainer.save_model(str(model_dir))
    tokenizer.save_pretrained(str(model_dir))
    if cfg.merge and cfg.lora:
        merged = trainer.model.merge_and_unload()
        merged.save_pretrained(str(run_dir / "merged"))
        tokenizer.save_pretrained(str(run_dir / "merged"))
    template_info = {
        "presentation": cfg.presentation,
        "native": gate.native,
        "template_support": gate.support.to_dict(),
        "stop_tokens": gate.stop_tokens,
    }
    save_template(run_dir, choice, template_info)
    history = trainer.state.log_history
    plot_loss_curve(history, run_dir / "loss_curve.png", title=f"SFT loss ({cfg.presentation})")
    series = loss_series(history)
    evals = [v for _, v in series["validation"]]
    state = trainer.state
    max_steps = state.max_steps
    stopped_early = bool(callbacks) and state.global_step < max_steps
    result = SFTResult(
        run_dir=run_dir,
        global_step=state.global_step,
        final_train_loss=series["train"][-1][1] if series["train"] else None,
        final_eval_loss=final_eval,
        best_eval_loss=min(evals) if evals else None,
        stopped_early=stopped_early,
        gate=gate,
    )
    trainable = sum(p.numel() for p in trainer.model.parameters() if p.requires_grad)
    result.summary = {
        "config": cfg.to_dict(),
        "model": (
            {"location": ref.location, "gguf_file": ref.gguf_file} if ref else {"object": type(model).__name__}
        ),
        "data": {
            "hash": file_hash(cfg.train_file, cfg.validation_file),
            "read": read_counts,
            "validation_read": val_counts,
            "split_notes": notes,
            "train": enc_train.counts(),
            "validation": enc_val.counts(),
            "failed_records": (enc_train.failed + enc_val.failed)[:20],
        },
        "template": {"source": choice.source, **template_info},
        "gate": {"ok": gate.ok, "examples": gate.examples},
        "training": {
            "global_step": state.global_step,
            "max_steps": max_steps,
            "stopped_early": stopped_early,
            "resumed_from": resume_from,
            "resumed": resume.to_dict(cfg.max_steps) if resume else None,
            "train_seconds": round(train_seconds, 2),
            "train_runtime_loss": output.training_loss,
            "num_tokens": next((e["num_tokens"] for e in reversed(history) if "num_tokens" in e and "loss" in e),
                               None),
            "trainable_parameters": trainable,
            "lora": cfg.lora,
        },
        "losses": {
            "final_train": result.final_train_loss,
            "final_validation": result.final_eval_loss,
            "best_validation": result.best_eval_loss,
            "train": series["train"],
            "validation": series["validation"],
        },
        "outputs": {
            "model": str(model_dir),
            "merged": str(run_dir / "merged") if cfg.merge and cfg.lora else None,
            "chat_template": str(run_dir / "chat_template.jinja"),
            "loss_curve": str(run_dir / "loss_curve.png"),
        },
        "versions": library_versions(),
    }
    (run_dir / "run.json").write_text(json.dumps(result.summary, indent=2, default=str) + "\n", encoding="utf-8")
    stage.note(f"done: step {state.global_step}, train loss {result.final_train_loss}, "
               f"validation loss {result.final_eval_loss}")
    return result
