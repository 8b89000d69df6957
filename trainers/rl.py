"""RL on a suite's live environment with TRL's ``GRPOTrainer``: ``run_rl(config)`` behind ``toolgym train rl``.

Stages: build the tasks (render them from the suites' templates, or read a tasks JSONL), the prompt dataset,
the model and tokenizer (a model, a GGUF, or an SFT run directory whose adapter is trained further with its
saved chat template), the rollout (:class:`trainers.rl_rollout.ToolRollout`: multi-turn, any presentation,
tool tokens masked), the reward components (:mod:`trainers.rewards`) and monitors (:mod:`trainers.monitors`);
train; save the adapter, tokenizer, template, the config, ``run.json`` and one reward-curve PNG per component
and monitor.
"""

from __future__ import annotations

import json
import sys
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from toolkit.environment import Task
from toolkit.errors import UserError
from toolkit.template_rendering import render_tasks
from trainers.chat_templates import TemplateChoice, choose_template, load_template_info, save_template
from trainers.checkpoints import resolve_resume
from trainers.lm_head import compact_lm_head
from trainers.models import ModelRef, ignore_peft_deprecation_noise, load_model, load_tokenizer, resolve_model
from trainers.monitors import MONITORS, monitor_function, plot_reward_curves
from trainers.rewards import COMPONENTS, reward_functions
from trainers.rl_budget import check_budget
from trainers.rl_config import RLRunConfig
from trainers.rl_rollout import TASK_KEY, GenerateFn, ToolRollout
from trainers.rl_trainer import grpo_trainer_class
from trainers.rollout_log import contrast_by_kind, prepare_rollout_log, read_rollout_log, rollout_log_path
from trainers.run_info import library_versions

__all__ = ["RLResult", "build_dataset", "build_tasks", "read_tasks", "run_rl"]

_STAGES = 6


@dataclass
class RLResult:
    """Where a run wrote its outputs and what it measured (``metrics``: the last logged value of each reward
    component, monitor and the loss)."""

    run_dir: Path
    global_step: int
    metrics: dict[str, float] = field(default_factory=dict)
    plots: list[Path] = field(default_factory=list)
    summary: dict[str, Any] = field(default_factory=dict)


def read_tasks(path: Path, limit: int = 0, kinds: list[str] | None = None) -> list[Task]:
    """Tasks from a JSONL file: ToolGym records (their ``scenario.task``) or :class:`Task` objects; only those of
    ``kinds`` when given, the first ``limit`` of them when non-zero. Records without a task (no-tool and
    multi-suite scenarios have no environment to act in) are skipped with a warning, so an SFT training file
    serves as it is."""
    if not path.is_file():
        raise UserError(f"tasks_file {path} does not exist")
    tasks: list[Task] = []
    skipped: dict[str, int] = {}
    with path.open(encoding="utf-8") as fh:
        for n, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                raise UserError(f"{path}:{n}: not JSON ({exc.msg})") from None
            scenario = row.get("scenario") if isinstance(row, dict) and "scenario" in row else None
            if isinstance(scenario, dict) and not scenario.get("task") and "messages" in row:
                kind = str(scenario.get("kind") or "?")
                skipped[kind] = skipped.get(kind, 0) + 1
                continue
            raw = (scenario or {}).get("task") if isinstance(row, dict) and "scenario" in row else row
            if not isinstance(raw, dict):
                raise UserError(
                    f"{path}:{n}: no task: a record needs scenario.task (records made by toolgym synth "
                    "carry it), or the line must be a Task object"
                )
            try:
                task = Task.model_validate(raw)
            except ValidationError as exc:  # pydantic's message names the field
                raise UserError(f"{path}:{n}: not a valid task: {exc}") from None
            if kinds is None or task.kind in kinds:
                tasks.append(task)
            if limit and len(tasks) >= limit:
                if any(rest.strip() for rest in fh):  # said aloud: num_tasks defaults to 64, not "all of the file"
                    warnings.warn(f"{path}: using its first {limit} tasks (num_tasks: {limit}); set num_tasks: 0 "
                                  "to use every task in the file", UserWarning, stacklevel=3)
                break
    skipped_kinds = ", ".join(f"{k} x{v}" for k, v in sorted(skipped.items()))
    if not tasks:
        wanted = f" of kind(s) {', '.join(kinds)}" if kinds is not None else ""
        raise UserError(f"{path} holds no tasks{wanted}" + (f" (records without scenario.task: {skipped_kinds})"
                                                           if skipped else ""))
    if skipped:
        warnings.warn(
            f"{path}: skipped {sum(skipped.values())} records without scenario.task ({skipped_kinds}); RL acts on "
            "environment tasks only",
            UserWarning,
            stacklevel=2,
        )
    return tasks


def build_tasks(cfg: RLRunConfig) -> list[Task]:
    """The run's tasks: ``tasks_file`` if set, else ``num_tasks`` rendered per suite."""
    if cfg.tasks_file is not None:
        return read_tasks(cfg.tasks_file, cfg.num_tasks, cfg.kinds)
    tasks: list[Task] = []
    for suite in cfg.suites:
        tasks += render_tasks(suite, n=cfg.num_tasks, seed=cfg.task_seed, kinds=cfg.kinds)
    return tasks


def build_dataset(tasks: list[Task]) -> Any:
    """The GRPO prompt dataset: ``prompt`` (the first user turn; its message carries the task JSON for the rollout),
    ``task`` (JSON text, so Arrow never merges argument dicts across rows) and ``suite``."""
    from datasets import Dataset

    rows = [
        {
            "prompt": [{"role": "user", "content": t.prompt, TASK_KEY: t.model_dump_json()}],
            "task": t.model_dump_json(),
            "suite": t.suite,
        }
        for t in tasks
    ]
    return Dataset.from_list(rows)


def _sft_run(model: str) -> Path | None:
    path = Path(model).expanduser()
    if (
        path.is_dir()
        and (path / "template.json").is_file()
        and ((path / "adapter").is_dir() or (path / "model").is_dir())
    ):
        return path
    return None


def _load(cfg: RLRunConfig) -> tuple[Any, Any, TemplateChoice, dict[str, Any], bool | None]:
    """(model, tokenizer, template, provenance, native) for the configured model; an SFT run's adapter is loaded
    trainable, and its saved template and native-calling decision are reused unless the config overrides them."""
    run = _sft_run(cfg.model)
    if run is None:
        ref = resolve_model(cfg.model)
        tokenizer = load_tokenizer(ref)
        choice = choose_template(tokenizer, cfg.chat_template)
        return load_model(ref), tokenizer, choice, {"location": ref.location, "gguf_file": ref.gguf_file}, cfg.native
    text, info = load_template_info(run)
    summary = (
        json.loads((run / "run.json").read_text(encoding="utf-8")) if (run / "run.json").is_file() else {}
    )
    if (run / "model").is_dir():  # full fine-tune
        model_dir = run / "model"
        tokenizer = load_tokenizer(ModelRef(str(model_dir)))
        model = load_model(ModelRef(str(model_dir)))
        # An RL adapter saved on top of these weights must name them as its base, not the SFT run's own base.
        base_of_rl: dict[str, Any] = {"location": str(model_dir), "gguf_file": None}
    else:
        base = summary.get("model") or {}
        if not base.get("location"):
            raise UserError(
                f"{run}/run.json does not say which base model the adapter belongs to (model.location); "
                "re-run toolgym train sft to write it, or set model to the base model to start RL from it"
            )
        from peft import PeftModel

        tokenizer = load_tokenizer(ModelRef(str(run / "adapter")))
        base_model = load_model(ModelRef(base["location"], base.get("gguf_file")))
        with warnings.catch_warnings():
            ignore_peft_deprecation_noise()
            model = PeftModel.from_pretrained(base_model, str(run / "adapter"), is_trainable=True)
        _set_lora_dropout(model, cfg.lora_dropout)
        base_of_rl = base
    choice = choose_template(tokenizer, cfg.chat_template or text)
    if cfg.chat_template is None:
        choice = TemplateChoice(text, f"sft-run:{run}")
    if info.get("presentation") and info["presentation"] != cfg.presentation:
        warnings.warn(
            f"the SFT run trained the {info['presentation']} presentation, this RL run uses "
            f"{cfg.presentation}",
            UserWarning,
            stacklevel=3,
        )
    native = info.get("native") if info.get("presentation") == cfg.presentation else None
    if cfg.native is not None and native is not None and cfg.native != native:
        warnings.warn(f"the SFT run trained with native: {native}, this RL run sets native: {cfg.native}; "
                      "rollout prompts will differ from what SFT trained on", UserWarning, stacklevel=3)
    provenance = {"sft_run": str(run), **base_of_rl}
    return model, tokenizer, choice, provenance, native if cfg.native is None else cfg.native


def _set_lora_dropout(model: Any, p: float) -> None:
    """Give a loaded adapter the run's LoRA dropout. An SFT adapter keeps the dropout it trained with (often 0.05),
    which in RL would sample rollouts from a randomly thinned policy (generation runs in train mode) and cost a
    dropout mask per adapted layer per forward — ~20% of a step on CPU."""
    import torch

    for config in getattr(model, "peft_config", {}).values():
        if hasattr(config, "lora_dropout"):
            config.lora_dropout = p  # saved with the adapter
    for module in model.modules():
        drops = getattr(module, "lora_dropout", None)
        if isinstance(drops, torch.nn.ModuleDict):
            for name in list(drops.keys()):
                drops[name] = torch.nn.Dropout(p) if p > 0 else torch.nn.Identity()


def _peft_config(cfg: RLRunConfig, model: Any) -> Any:
    if not cfg.lora or hasattr(model, "peft_config"):  # an SFT adapter is trained further as it is
        return None
    from peft import LoraConfig

    return LoraConfig(
        r=cfg.lora_r,
        lora_alpha=cfg.lora_alpha,
        lora_dropout=cfg.lora_dropout,
        target_modules=cfg.lora_target_modules,
        task_type="CAUSAL_LM",
        bias="none",
    )


def _grpo_args(cfg: RLRunConfig, reward_weights: list[float]) -> Any:
    import torch
    from trl import GRPOConfig

    cuda = torch.cuda.is_available()
    return GRPOConfig(
        output_dir=str(cfg.output_dir / "checkpoints"),
        per_device_train_batch_size=cfg.batch_size,
        gradient_accumulation_steps=cfg.grad_accum,
        num_generations=cfg.num_generations,
        max_completion_length=cfg.max_completion_length,
        max_tool_calling_iterations=cfg.max_tool_calling_iterations,
        learning_rate=cfg.learning_rate,
        max_steps=cfg.max_steps,
        beta=cfg.beta,
        loss_type=cfg.loss_type,
        scale_rewards=cfg.scale_rewards,
        temperature=cfg.temperature,
        seed=cfg.seed,
        data_seed=cfg.seed,
        reward_weights=reward_weights,
        logging_steps=cfg.logging_steps,
        logging_first_step=True,
        save_strategy="steps",
        save_steps=cfg.save_steps,
        save_total_limit=cfg.save_total_limit,
        bf16=bool(cuda and torch.cuda.is_bf16_supported()),
        report_to="none",
        disable_tqdm=not cfg.progress,
        dataloader_num_workers=0,
        dataloader_pin_memory=cuda,
        remove_unused_columns=False,
        log_completions=False,
        activation_checkpointing=cfg.gradient_checkpointing,
    )


def _last_metrics(history: list[dict[str, Any]]) -> dict[str, float]:
    out: dict[str, float] = {}
    for row in history:
        for k, v in row.items():
            if isinstance(v, (int, float)) and (
                k in ("loss", "reward", "reward_std", "frac_reward_zero_std", "frac_groups_filtered",
                      "frac_loss_passes_skipped")
                or k.startswith(("rewards/", "monitor/", "tools/", "completions/mean_length"))
            ):
                out[k] = float(v)
    return out


def run_rl(
    cfg: RLRunConfig,
    *,
    model: Any = None,
    tokenizer: Any = None,
    generate: GenerateFn | None = None,
) -> RLResult:
    """Run GRPO as configured (one process; several GPUs through ``accelerate launch``, see ``samples/accelerate``).

    ``model`` / ``tokenizer`` objects, when both given, replace loading ``cfg.model``. ``generate``
    (``fn(batch_ids, max_new_tokens) -> new_ids``) replaces sampling from the policy, e.g. to call a served
    copy of it; by default rollouts are sampled from the policy being trained.
    """
    if not isinstance(cfg, RLRunConfig):
        raise UserError(
            f"run_rl takes an RLRunConfig (trainers.rl_config.load_rl_config), got {type(cfg).__name__}"
        )
    t0 = time.monotonic()
    step = 0

    def stage(text: str) -> None:
        nonlocal step
        step += 1
        if cfg.progress:
            print(f"[{step}/{_STAGES}] {text} ({time.monotonic() - t0:.0f}s)", file=sys.stderr, flush=True)

    resume = resolve_resume(cfg.resume, cfg.output_dir, cfg.max_steps)
    resume_from = resume.path if resume else None
    stage("building tasks")
    tasks = build_tasks(cfg)
    dataset = build_dataset(tasks)
    stage("loading the model")
    if (model is None) != (tokenizer is None):
        raise UserError("pass both model and tokenizer objects, or neither (to load cfg.model)")
    if model is None:
        model, tokenizer, choice, provenance, native = _load(cfg)
    else:
        choice, provenance = choose_template(tokenizer, cfg.chat_template), {"object": type(model).__name__}
        native = cfg.native
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    rollout = ToolRollout(
        presentation=cfg.presentation,
        tokenizer=tokenizer,
        native=native,  # an SFT run's saved decision, so RL prompts are the ones SFT trained on
        max_completion_length=cfg.max_completion_length,
        max_tool_rounds=cfg.max_tool_calling_iterations,
        max_calls=cfg.max_calls,
        guidance=cfg.guidance,
        group_size=cfg.num_generations,
        generate=generate,
    )
    stage(f"checking the token budget (max_completion_length {cfg.max_completion_length})")
    budget = check_budget(rollout, tasks, dataset["prompt"], seed=cfg.seed)
    if (warning := budget.message()) is not None:
        warnings.warn(warning, UserWarning, stacklevel=2)
    funcs, weights = reward_functions(cfg.rewards(), presentation=cfg.presentation)
    funcs.append(monitor_function(cfg.presentation))
    weights.append(0.0)
    stage(f"setting up GRPO ({len(tasks)} tasks, {cfg.presentation} presentation, native={rollout.native})")
    with (
        warnings.catch_warnings()
    ):  # rollout_func is TRL-experimental; we depend on it knowingly (docs/rl.md)
        warnings.filterwarnings("ignore", message=r"You are using 'rollout_func'", category=UserWarning)
        ignore_peft_deprecation_noise()
        trainer = grpo_trainer_class(
            cfg.group_filter, cfg.output_dir if cfg.log_rollouts else None, cfg.guidance_negatives
        )(
            model=model,
            reward_funcs=funcs,
            args=_grpo_args(cfg, weights),
            train_dataset=dataset,
            processing_class=tokenizer,
            peft_config=_peft_config(cfg, model),
            rollout_func=rollout,
        )
    compact_lm_head(trainer.model)  # CPU: project only the completion tokens (trainers/lm_head.py)
    log_path = rollout_log_path(cfg.output_dir, trainer.accelerator.process_index)
    if cfg.log_rollouts:
        prepare_rollout_log(log_path, resume.step if resume else None)
    stage("training" + (f" (resuming from {resume_from})" if resume_from else ""))
    if resume and cfg.progress and (note := resume.schedule_note(cfg.max_steps)):
        print(f"      {note}", file=sys.stderr, flush=True)
    started = time.monotonic()
    with warnings.catch_warnings():
        ignore_peft_deprecation_noise()
        output = trainer.train(resume_from_checkpoint=resume_from)
    seconds = time.monotonic() - started
    stage(f"saving to {cfg.output_dir}")
    run_dir = cfg.output_dir
    model_dir = run_dir / ("adapter" if cfg.lora or hasattr(trainer.model, "peft_config") else "model")
    trainer.save_model(str(model_dir))
    tokenizer.save_pretrained(str(model_dir))
    info = {"presentation": cfg.presentation, "native": rollout.native, "stop_tokens": rollout._stop_texts}
    save_template(run_dir, choice, info)
    history = list(trainer.state.log_history)
    plots = plot_reward_curves(history, run_dir / "plots")
    metrics = _last_metrics(history)
    result = RLResult(run_dir=run_dir, global_step=trainer.state.global_step, metrics=metrics, plots=plots)
    result.summary = {
        "config": cfg.to_dict(),
        "model": provenance,
        "template": {"source": choice.source, **info},
        "tasks": {
            "count": len(tasks),
            "suites": sorted({t.suite for t in tasks}),
            "kinds": {k: sum(t.kind == k for t in tasks) for k in sorted({t.kind for t in tasks})},
        },
        "budget": budget.to_dict(),  # the gold solutions' lengths against max_completion_length
        "rewards": {
            "components": [c for c in COMPONENTS if cfg.rewards().weight(c) > 0],
            "weights": dict(cfg.rewards().weights),
            "monitors": list(MONITORS),
        },
        "training": {
            "global_step": trainer.state.global_step,
            "max_steps": cfg.max_steps,
            "resumed_from": resume_from,
            "resumed": resume.to_dict(cfg.max_steps) if resume else None,
            "train_seconds": round(seconds, 2),
            "train_loss": output.training_loss,
            "trainable_parameters": sum(p.numel() for p in trainer.model.parameters() if p.requires_grad),
        },
        "metrics": metrics,
        # per task kind, GRPO groups solved in none, some or all rollouts (this process's log, resumed steps included)
        "groups_by_kind": contrast_by_kind(read_rollout_log(log_path)) if cfg.log_rollouts else None,
        "log_history": history,
        "outputs": {
            "model": str(model_dir),
            "plots": [str(p) for p in plots],
            "rollouts": str(log_path) if cfg.log_rollouts else None,
            "chat_template": str(run_dir / "chat_template.jinja"),
        },
        "versions": library_versions(),
    }
    (run_dir / "run.json").write_text(
        json.dumps(result.summary, indent=2, default=str) + "\n", encoding="utf-8"
    )
    (run_dir / "config.json").write_text(json.dumps(cfg.to_dict(), indent=2) + "\n", encoding="utf-8")
    return result
