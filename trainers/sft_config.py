"""``toolgym train sft`` configuration: a keyword-only dataclass, loaded from YAML, overridable with
``--set key=value``."""

from __future__ import annotations

from dataclasses import MISSING, asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

import yaml

from toolkit.config import build_config, read_config_file
from toolkit.errors import UserError
from toolkit.exporters import SPLITS
from toolkit.presentations import PRESENTATION_NAMES

__all__ = ["SFTRunConfig", "load_sft_config", "parse_sets", "config_help"]


def _f(default: Any, help: str, **kw: Any) -> Any:
    if callable(default) and not isinstance(default, type):
        return field(default_factory=default, metadata={"help": help}, **kw)
    return field(default=default, metadata={"help": help}, **kw)


@dataclass(kw_only=True)
class SFTRunConfig:
    # data
    train_file: Path = field(metadata={"help": "ToolGym JSONL to train on (TRL/OpenAI rows are read too)"})
    validation_file: Path | None = _f(None, "held-out JSONL; when unset, split train_file with `split`")
    split: str = _f("random", "split method when no validation_file: random, kind, held-out-tools, or none")
    validation_fraction: float = _f(0.1, "share of records held out for validation loss when splitting")
    only_passed: bool = _f(True, "skip records whose stored validation failed")
    presentation: str = _f("json", "how tools and calls are shown: json, mcp or python")
    native: bool | None = _f(None, "json only: native template tool calling (null: probe the template)")
    # model
    model: str = _f("bundled", "bundled (SmolLM2-135M GGUF), a .gguf file, a model directory, or a HF id")
    chat_template: str | None = _f(None, "template override: a .jinja file, 'chatml', 'plain' (null: the model's)")
    # adapter
    lora: bool = _f(True, "train a LoRA adapter (false: full fine-tuning)")
    lora_r: int = _f(16, "LoRA rank")
    lora_alpha: int = _f(32, "LoRA alpha (scale = alpha / r)")
    lora_dropout: float = _f(0.05, "LoRA dropout")
    lora_target_modules: Any = _f("all-linear", "modules to adapt: 'all-linear' or a list of module names")
    qlora: bool = _f(False, "4-bit base weights (needs CUDA and bitsandbytes)")
    merge: bool = _f(False, "also save the base model with the adapter merged in")
    # optimisation
    max_length: int = _f(2048, "longest sequence in tokens; longer conversations keep their start")
    epochs: float = _f(1.0, "passes over the training data (ignored when max_steps > 0)")
    max_steps: int = _f(-1, "optimizer steps; -1 trains for `epochs`")
    learning_rate: float = _f(2e-4, "peak learning rate")
    batch_size: int = _f(4, "sequences per device per step")
    grad_accum: int = _f(1, "gradient accumulation steps")
    warmup_ratio: float = _f(0.0, "share of steps spent warming up the learning rate")
    weight_decay: float = _f(0.0, "AdamW weight decay")
    lr_scheduler: str = _f("linear", "learning-rate schedule (transformers name: linear, cosine, constant, ...)")
    seed: int = _f(0, "seed for splitting, shuffling, initialisation and the gate's sample")
    packing: bool = _f(False, "pack several conversations into each max_length sequence (TRL bfd packing, "
                              "padding-free; pays off most with FlashAttention, see docs/training.md)")
    gradient_checkpointing: bool = _f(False, "trade compute for memory")
    bf16: bool | None = _f(None, "bfloat16 training (null: on when the GPU supports it)")
    # evaluation and checkpoints
    eval_steps: int = _f(50, "steps between validation-loss evaluations and checkpoints")
    early_stopping_patience: int | None = _f(None, "stop after this many evaluations without improvement")
    save_total_limit: int = _f(2, "checkpoints kept on disk")
    logging_steps: int = _f(10, "steps between training-loss logs")
    resume: str | None = _f(None, "resume from 'latest' (in output_dir) or a checkpoint directory")
    gate_sample: int = _f(64, "records (with their subagents) the template gate renders and checks")
    output_dir: Path = _f(Path("runs/sft"), "run directory: adapter, tokenizer, template, plots, run.json")
    progress: bool = _f(True, "print stage progress and the trainer's progress bar")

    def __post_init__(self) -> None:
        problems = []
        self.train_file = Path(self.train_file)
        self.output_dir = Path(self.output_dir)
        if self.validation_file is not None:
            self.validation_file = Path(self.validation_file)
        if self.presentation not in PRESENTATION_NAMES:
            names = ", ".join(PRESENTATION_NAMES)
            problems.append(f"presentation must be one of {names}, got {self.presentation!r}")
        if self.split not in (*SPLITS, "none"):
            problems.append(f"split must be one of {', '.join(SPLITS)} or none, got {self.split!r}")
        if not 0.0 < self.validation_fraction < 1.0:
            problems.append(f"validation_fraction must be between 0 and 1, got {self.validation_fraction}")
        for name in ("lora_r", "lora_alpha", "batch_size", "grad_accum", "eval_steps", "logging_steps",
                     "save_total_limit", "gate_sample"):
            if getattr(self, name) < 1:
                problems.append(f"{name} must be at least 1, got {getattr(self, name)}")
        if not 0.0 <= self.lora_dropout < 1.0:
            problems.append(f"lora_dropout must be in [0, 1), got {self.lora_dropout}")
        if self.max_length < 16:
            problems.append(f"max_length must be at least 16 tokens, got {self.max_length}")
        if self.max_steps <= 0 and self.epochs <= 0:
            problems.append("set epochs > 0 or max_steps > 0")
        if not 0.0 <= self.warmup_ratio < 1.0:
            problems.append(f"warmup_ratio must be in [0, 1), got {self.warmup_ratio}")
        if self.learning_rate <= 0:
            problems.append(f"learning_rate must be positive, got {self.learning_rate}")
        if self.qlora and not self.lora:
            problems.append("qlora needs lora: true (4-bit weights cannot be fully fine-tuned)")
        if self.early_stopping_patience is not None and self.early_stopping_patience < 1:
            problems.append("early_stopping_patience must be at least 1, or null to disable")
        if self.early_stopping_patience is not None and self.validation_file is None and self.split == "none":
            problems.append("early stopping needs validation data: set validation_file or a split")
        if not (self.lora_target_modules == "all-linear" or (
            isinstance(self.lora_target_modules, list) and self.lora_target_modules
            and all(isinstance(m, str) for m in self.lora_target_modules))):
            problems.append("lora_target_modules must be 'all-linear' or a non-empty list of module names")
        if self.presentation != "json" and self.native:
            problems.append("native: true applies only to the json presentation")
        if problems:
            raise UserError("invalid sft config:\n" + "\n".join(f"  - {p}" for p in problems))

    def to_dict(self) -> dict[str, Any]:
        return {k: (str(v) if isinstance(v, Path) else v) for k, v in asdict(self).items()}


def config_help() -> str:
    """Every setting with its default and help text, for ``--help``."""
    lines = []
    for f in fields(SFTRunConfig):
        default = "(required)" if f.default is MISSING and f.default_factory is MISSING else (
            f.default if f.default is not MISSING else f.default_factory())
        lines.append(f"  {f.name:<24} {f.metadata['help']} [default: {default}]")
    return "\n".join(lines)


def parse_sets(pairs: list[str] | None) -> dict[str, Any]:
    """``["key=value", ...]`` from ``--set``; values are read as YAML (``null``, ``true``, lists)."""
    out: dict[str, Any] = {}
    for pair in pairs or []:
        key, sep, raw = pair.partition("=")
        if not sep or not key.strip():
            raise UserError(f"--set takes key=value, got {pair!r}; e.g. --set learning_rate=1e-4")
        try:
            out[key.strip()] = yaml.safe_load(raw) if raw.strip() else None
        except yaml.YAMLError:
            out[key.strip()] = raw
    return out


def load_sft_config(path: Path | None, overrides: dict[str, Any] | None = None) -> SFTRunConfig:
    """Read a YAML config (optional) and apply overrides (from ``--set``) on top."""
    data = read_config_file(path, sample="samples/train_sft.yaml") if path is not None else {}
    data.update(overrides or {})
    if data.get("train_file") is None:
        raise UserError("train_file is required: set it in the config or pass --set train_file=data.jsonl")
    return build_config(SFTRunConfig, data)
