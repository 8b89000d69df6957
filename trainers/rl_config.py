"""``toolgym train rl`` configuration: a keyword-only dataclass with help text, loaded from YAML, overridable with
``--set key=value`` (parsed by :func:`trainers.sft_config.parse_sets`)."""

from __future__ import annotations

from dataclasses import MISSING, asdict, dataclass, field, fields
from pathlib import Path
from typing import Any


from toolkit.config import build_config, read_config_file
from toolkit.environment import TASK_KINDS
from toolkit.errors import UserError
from toolkit.presentations import PRESENTATION_NAMES
from trainers.demonstrations import GUIDANCE
from trainers.rewards import COMPONENTS, DEFAULT_WEIGHTS, RewardSettings

__all__ = ["LOSS_TYPES", "RLRunConfig", "load_rl_config", "rl_config_help"]

LOSS_TYPES = ("grpo", "dapo", "dr_grpo", "bnpo", "cispo", "sapo", "luspo", "vespo")


def _f(default: Any, help: str) -> Any:
    if callable(default) and not isinstance(default, type):
        return field(default_factory=default, metadata={"help": help})
    return field(default=default, metadata={"help": help})


@dataclass(kw_only=True)
class RLRunConfig:
    # tasks
    suites: list[str] = _f(
        lambda: ["calculator"], "tool suites to render tasks from (bundled names or module paths)"
    )
    tasks_file: Path | None = _f(
        None,
        "JSONL of tasks instead of rendering: ToolGym records (scenario.task) or Task objects, one per line",
    )
    num_tasks: int = _f(64, "tasks rendered per suite (or the first N of tasks_file; 0 = all of the file)")
    task_seed: int = _f(0, "seed for rendering tasks (each task's environment seed derives from it)")
    kinds: list[str] | None = _f(
        None, f"only these task kinds ({', '.join(TASK_KINDS)}), rendered or from tasks_file; null = all"
    )
    presentation: str = _f("json", "how tools and calls are shown: json, mcp or python")
    native: bool | None = _f(None, "json only: native template tool calling (null: probe the template)")
    # model
    model: str = _f(
        "bundled",
        "bundled (SmolLM2-135M GGUF), a .gguf file, a model directory, a HF id, or a "
        "`toolgym train sft` run directory (its adapter is trained further, with its saved template)",
    )
    chat_template: str | None = _f(
        None,
        "template override: a .jinja file, 'chatml', 'plain' (null: the model's, or the SFT run's saved one)",
    )
    # rollouts
    num_generations: int = _f(4, "rollouts per task in a GRPO group (at least 2)")
    max_completion_length: int = _f(
        1280, "token budget per rollout: model turns plus tool results (the run warns about tasks it cannot fit)"
    )
    max_tool_calling_iterations: int = _f(4, "most rounds of tool execution per rollout")
    max_calls: int = _f(
        8, "most tool calls executed per rollout; later calls are refused (and zero process reward)"
    )
    temperature: float = _f(1.0, "sampling temperature of rollouts")
    # optimisation
    learning_rate: float = _f(1e-5, "peak learning rate")
    max_steps: int = _f(100, "optimizer steps")
    batch_size: int = _f(
        4, "rollouts per device per optimizer micro-step (with grad_accum: a multiple of num_generations)"
    )
    grad_accum: int = _f(1, "gradient accumulation steps")
    beta: float = _f(0.0, "KL coefficient against the reference model (0: no reference model)")
    loss_type: str = _f("dapo", f"GRPO loss: {', '.join(LOSS_TYPES)}")
    scale_rewards: str = _f("group", "advantage scaling: group, batch or none")
    group_filter: str = _f(
        "none",
        "none: every group trains (TRL's behaviour); outcome: a group whose rollouts all solved, or all failed, the "
        "task gets zero advantage (DAPO's filter: group scaling would blow its process-credit noise up to full size)",
    )
    guidance: str = _f(
        "none",
        "none: rollouts only; gold: in a group where no rollout solved the task, the last rollout is replaced by a "
        "demonstration of the task's gold solution that passes (mixed-policy GRPO, docs/rl.md), so tasks the "
        "policy never solves still carry signal",
    )
    guidance_negatives: bool = _f(
        True,
        "with guidance: gold, whether the failed sampled rollouts of a guided group keep their negative advantage; "
        "false: they get zero, so only the demonstration trains the group (positive-only, as rejection-sampling "
        "fine-tuning)",
    )
    seed: int = _f(0, "seed for sampling order, initialisation and rollouts")
    gradient_checkpointing: bool = _f(False, "trade compute for memory in the loss pass (large models)")
    # rewards
    reward_weights: dict[str, float] = _f(
        lambda: dict(DEFAULT_WEIGHTS), f"weight per reward component ({', '.join(COMPONENTS)}); 0 drops one"
    )
    credit_without_outcome: float = _f(
        0.25, "share of process reward (format, tool choice, arguments) paid when the task is not solved"
    )
    lenient_format_credit: float = _f(0.5, "format reward of a turn only the lenient parser can read")
    require_finish: bool = _f(
        True, "a rollout that never handed back an answer (still calling tools at the limit) earns no reward"
    )
    # adapter
    lora: bool = _f(True, "train a LoRA adapter (false: full fine-tuning)")
    lora_r: int = _f(16, "LoRA rank")
    lora_alpha: int = _f(32, "LoRA alpha (scale = alpha / r)")
    lora_dropout: float = _f(
        0.0, "LoRA dropout, also set on an SFT run's adapter (0 keeps rollouts and the loss on the same policy)"
    )
    lora_target_modules: Any = _f("all-linear", "modules to adapt: 'all-linear' or a list of module names")
    # run
    logging_steps: int = _f(1, "steps between logs (reward components and monitors)")
    save_steps: int = _f(50, "steps between checkpoints")
    save_total_limit: int = _f(2, "checkpoints kept on disk")
    resume: str | None = _f(None, "resume from 'latest' (in output_dir) or a checkpoint directory")
    output_dir: Path = _f(
        Path("runs/rl"), "run directory: adapter, tokenizer, template, reward curves, run.json"
    )
    log_rollouts: bool = _f(
        True,
        "write every rollout (task, calls, answer, turn texts, rewards, advantage) to rollouts.jsonl in output_dir",
    )
    progress: bool = _f(True, "print stage progress and the trainer's progress bar")

    def __post_init__(self) -> None:
        problems = []
        self.output_dir = Path(self.output_dir)
        if self.tasks_file is not None:
            self.tasks_file = Path(self.tasks_file)
        if isinstance(self.suites, str):
            self.suites = [self.suites]
        if self.tasks_file is None and not self.suites:
            problems.append("set suites (e.g. [calculator]) or tasks_file")
        if self.presentation not in PRESENTATION_NAMES:
            problems.append(
                f"presentation must be one of {', '.join(PRESENTATION_NAMES)}, got {self.presentation!r}"
            )
        if self.presentation != "json" and self.native:
            problems.append("native: true applies only to the json presentation")
        if self.kinds is not None:
            unknown = sorted(set(self.kinds) - set(TASK_KINDS))
            if unknown:
                problems.append(f"unknown task kind(s) {', '.join(unknown)}; kinds: {', '.join(TASK_KINDS)}")
        if self.num_tasks < 0 or (self.tasks_file is None and self.num_tasks < 1):
            problems.append(f"num_tasks must be at least 1 (0 = all of tasks_file), got {self.num_tasks}")
        if self.num_generations < 2:
            problems.append(
                f"num_generations must be at least 2 (GRPO compares rollouts of one task), got "
                f"{self.num_generations}"
            )
        for name in (
            "batch_size",
            "grad_accum",
            "max_steps",
            "max_tool_calling_iterations",
            "max_calls",
            "lora_r",
            "lora_alpha",
            "logging_steps",
            "save_steps",
            "save_total_limit",
        ):
            if getattr(self, name) < 1:
                problems.append(f"{name} must be at least 1, got {getattr(self, name)}")
        if (
            self.num_generations >= 2
            and self.batch_size >= 1
            and self.grad_accum >= 1
            and (self.batch_size * self.grad_accum) % self.num_generations
        ):
            problems.append(
                f"batch_size x grad_accum ({self.batch_size} x {self.grad_accum}) must be a multiple of "
                f"num_generations ({self.num_generations}): every task's group of rollouts is scored together; "
                f"e.g. set batch_size to {self.num_generations}"
            )
        if self.max_completion_length < 8:
            problems.append(
                f"max_completion_length must be at least 8 tokens, got {self.max_completion_length}"
            )
        if self.learning_rate <= 0:
            problems.append(f"learning_rate must be positive, got {self.learning_rate}")
        if self.temperature <= 0:
            problems.append(f"temperature must be positive (rollouts are sampled), got {self.temperature}")
        if self.beta < 0:
            problems.append(f"beta must be >= 0, got {self.beta}")
        if self.loss_type not in LOSS_TYPES:
            problems.append(f"loss_type must be one of {', '.join(LOSS_TYPES)}, got {self.loss_type!r}")
        if self.scale_rewards not in ("group", "batch", "none"):
            problems.append(f"scale_rewards must be group, batch or none, got {self.scale_rewards!r}")
        if self.group_filter not in ("outcome", "none"):
            problems.append(f"group_filter must be outcome or none, got {self.group_filter!r}")
        elif (
            self.group_filter == "outcome"
            and isinstance(self.reward_weights, dict)
            and not {**DEFAULT_WEIGHTS, **self.reward_weights}.get("outcome")
        ):
            problems.append(
                "group_filter: outcome compares the outcome component, whose weight is 0; give it a weight "
                "(e.g. reward_weights: {outcome: 1.0}) or set group_filter: none"
            )
        if self.guidance not in GUIDANCE:
            problems.append(f"guidance must be one of {', '.join(GUIDANCE)}, got {self.guidance!r}")
        elif not self.guidance_negatives and self.guidance == "none":
            problems.append("guidance_negatives: false only changes guided groups; set guidance: gold or drop it")
        if not 0.0 <= self.lora_dropout < 1.0:
            problems.append(f"lora_dropout must be in [0, 1), got {self.lora_dropout}")
        if not (
            self.lora_target_modules == "all-linear"
            or (
                isinstance(self.lora_target_modules, list)
                and self.lora_target_modules
                and all(isinstance(m, str) for m in self.lora_target_modules)
            )
        ):
            problems.append("lora_target_modules must be 'all-linear' or a non-empty list of module names")
        if not isinstance(self.reward_weights, dict):
            problems.append("reward_weights must be a mapping of component to weight, e.g. {outcome: 1.0}")
        else:
            try:
                self.rewards()
            except UserError as exc:
                problems.extend(line.strip()[2:] for line in str(exc).splitlines()[1:])
        if problems:
            raise UserError("invalid rl config:\n" + "\n".join(f"  - {p}" for p in problems))

    def rewards(self) -> RewardSettings:
        """The reward settings (defaults for components the config leaves out of ``reward_weights``)."""
        weights = {**DEFAULT_WEIGHTS, **self.reward_weights}
        return RewardSettings(
            weights=weights,
            credit_without_outcome=self.credit_without_outcome,
            lenient_format_credit=self.lenient_format_credit,
            require_finish=self.require_finish,
        )

    def to_dict(self) -> dict[str, Any]:
        return {k: (str(v) if isinstance(v, Path) else v) for k, v in asdict(self).items()}


def rl_config_help() -> str:
    """Every setting with its default and help text, for ``--help``."""
    lines = []
    for f in fields(RLRunConfig):
        default = f.default if f.default is not MISSING else f.default_factory()  # type: ignore[misc]
        lines.append(f"  {f.name:<28} {f.metadata['help']} [default: {default}]")
    return "\n".join(lines)


def load_rl_config(path: str | Path | None, overrides: dict[str, Any] | None = None) -> RLRunConfig:
    """Read a YAML config (optional) and apply overrides (from ``--set``) on top."""
    data = read_config_file(path, sample="samples/train_rl.yaml") if path is not None else {}
    data.update(overrides or {})
    return build_config(RLRunConfig, data)
