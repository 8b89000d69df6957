"""``run_rl``: GRPO on a suite's live environment with a tiny model — config errors, a real run, masks, resume."""

from __future__ import annotations

import json
import math
import re
import warnings
from pathlib import Path

import pytest

from tests.trainers.helpers import watch_lm_head_rows
from tests.trainers.test_rl_env import ScriptedPolicy, tool_call
from toolkit.errors import UserError
from trainers.monitors import MONITORS
from trainers.rewards import COMPONENTS
from trainers.rl import build_tasks, run_rl
from trainers.rl_config import RLRunConfig, load_rl_config
from trainers.rollout_log import read_rollout_log

# peft probes `model.is_gradient_checkpointing`, which transformers 5.23 deprecates (peft 0.21; not fixable here)
pytestmark = pytest.mark.filterwarnings("ignore:`is_gradient_checkpointing` is deprecated:FutureWarning")

SAMPLE = Path(__file__).resolve().parents[2] / "samples" / "train_rl.yaml"


def _config(tmp_path: Path, model_dir: Path, **overrides) -> RLRunConfig:
    settings = {
        "model": str(model_dir),
        "suites": ["calculator"],
        "kinds": ["single"],
        "num_tasks": 2,
        "num_generations": 2,
        "batch_size": 2,
        "max_completion_length": 160,
        "max_steps": 2,
        "learning_rate": 5e-2,
        "save_steps": 1,
        "output_dir": tmp_path / "run",
        "progress": False,
        "lora_r": 4,
        "lora_alpha": 8,
    }
    settings.update(overrides)
    return RLRunConfig(**settings)


@pytest.fixture
def model_dir(tmp_path, tiny_model, smol_tokenizer):
    """The tiny random model saved as a model directory, so runs load it the way users' models load."""
    path = tmp_path / "tiny"
    tiny_model.save_pretrained(path)
    smol_tokenizer.save_pretrained(path)
    return path


def half_right_policy(tokenizer, cfg):
    """Per group of two rollouts: one calls the gold tool with the gold arguments, one answers without a call; after
    a tool result, both state the result. Rewards differ inside each group, so GRPO has something to learn."""
    tasks = {t.prompt: t for t in build_tasks(cfg)}

    def reply(ctx: str, n: int) -> str:
        last = ctx.rsplit("<|im_start|>", 2)[-2]
        if last.startswith("tool"):
            return (
                "The result is " + json.loads(last.split("\n", 1)[1].split("<|im_end|>")[0])["result"] + "."
            )
        task = next(t for p, t in tasks.items() if p in ctx)
        return tool_call("calculate", **task.gold_calls[0].arguments) if n % 2 == 0 else "I cannot say."

    return ScriptedPolicy(tokenizer, reply)


def _policy_tokens(tokenizer, cfg):
    """(prompt ids, completion ids, env mask) of the first task's rewarded and unrewarded rollout."""
    from trainers.rl_rollout import TASK_KEY, ToolRollout

    task = build_tasks(cfg)[0]
    out = []
    for first in (0, 1):  # the scripted policy calls the tool on even generations, answers blind on odd ones
        policy = half_right_policy(tokenizer, cfg)
        policy.n = first
        rollout = ToolRollout(
            presentation="json", tokenizer=tokenizer, max_completion_length=160, generate=policy
        )
        got = rollout([[{"role": "user", "content": task.prompt, TASK_KEY: task.model_dump_json()}]], None)
        out.append((got["prompt_ids"][0], got["completion_ids"][0], got["env_mask"][0]))
    return out


def _load_tiny(model_dir, adapter=None):
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(model_dir)
    if adapter is not None:
        from peft import PeftModel

        model = PeftModel.from_pretrained(model, adapter)
    return model.eval()


def _logprob(model, tokens) -> float:
    """Summed log-probability of the policy's own tokens (env mask 1) of one rollout."""
    import torch

    prompt, completion, mask = tokens
    ids = torch.tensor([prompt + completion])
    with torch.no_grad():
        logits = model(input_ids=ids).logits[0, len(prompt) - 1 : -1]
    picked = torch.log_softmax(logits.float(), dim=-1).gather(1, torch.tensor(completion)[:, None])[:, 0]
    return float((picked * torch.tensor(mask, dtype=torch.float32)).sum())


def test_bad_settings_are_refused_with_the_problem_and_the_fix(tmp_path):
    with pytest.raises(UserError) as err:
        RLRunConfig(num_generations=3, batch_size=4, presentation="yaml", reward_weights={"style": 1.0})
    text = str(err.value)
    assert "must be a multiple of num_generations" in text and "set batch_size to 3" in text
    assert "presentation must be one of" in text and "unknown reward component(s) style" in text
    bad = tmp_path / "bad.yaml"
    bad.write_text("suites: [calculator]\nlearning_rat: 1e-5\n")
    with pytest.raises(UserError, match="unknown setting.*learning_rat"):
        load_rl_config(bad)
    with pytest.raises(UserError, match="num_generations must be at least 2"):
        load_rl_config(None, {"num_generations": 1, "batch_size": 1})
    with pytest.raises(UserError, match="group_filter: outcome compares the outcome component.*group_filter: none"):
        RLRunConfig(reward_weights={"outcome": 0.0}, group_filter="outcome")
    with pytest.raises(UserError, match="group_filter must be outcome or none"):
        RLRunConfig(group_filter="std")


def test_the_sample_config_loads_and_yaml_numbers_are_coerced():
    cfg = load_rl_config(SAMPLE, {"learning_rate": "1e-5", "suites": "orders"})
    assert cfg.learning_rate == 1e-5 and cfg.suites == ["orders"]
    assert (cfg.batch_size * cfg.grad_accum) % cfg.num_generations == 0


@pytest.mark.slow
def test_a_grpo_run_trains_the_adapter_on_rewards_from_real_tool_calls(
    tmp_path, model_dir, smol_tokenizer, monkeypatch
):
    from safetensors.torch import load_file
    from trl import GRPOTrainer

    produced = []
    original = GRPOTrainer._generate_and_score_completions

    def spy(self, inputs):  # records what the real trainer produced for the loss
        out = original(self, inputs)
        produced.append(out)
        return out

    monkeypatch.setattr(GRPOTrainer, "_generate_and_score_completions", spy)
    projected, labelled, backbone = _watch_the_lm_head(monkeypatch)
    cfg = _config(tmp_path, model_dir)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = run_rl(cfg, generate=half_right_policy(smol_tokenizer, cfg))

    assert result.global_step == 2
    assert not [w for w in caught if "is_gradient_checkpointing" in str(w.message)]  # PEFT's noise stays quiet
    assert result.summary["budget"]["measured"] == 2 and result.summary["budget"]["max_completion_length"] == 160
    losses = [
        row["loss"]
        for row in json.loads((result.run_dir / "run.json").read_text())["log_history"]
        if "loss" in row
    ]
    assert losses and all(math.isfinite(x) for x in losses)
    for name in COMPONENTS:
        assert f"rewards/{name}/mean" in result.metrics
    assert 0.0 < result.metrics["rewards/outcome/mean"] < 1.0  # half the rollouts solved their task
    assert set(MONITORS) <= set(result.metrics)
    assert (
        result.metrics["monitor/ungrounded_answer_rate"] == 0.5 and result.metrics["monitor/pass_rate"] == 0.5
    )
    assert {p.name for p in result.plots} >= {f"reward_{c}.png" for c in COMPONENTS} | {"reward_total.png"}
    weights = load_file(str(result.run_dir / "adapter" / "adapter_model.safetensors"))
    lora_b = [v for k, v in weights.items() if "lora_B" in k]
    assert lora_b and any(v.abs().sum() > 0 for v in lora_b)  # LoRA B starts at zero: it moved
    assert (result.run_dir / "chat_template.jinja").is_file() and (result.run_dir / "config.json").is_file()

    # every rollout is on disk, with the reward TRL logged and the advantage it trained on
    rows = read_rollout_log(result.run_dir / "rollouts.jsonl")
    assert [(r["step"], r["group"]) for r in rows] == [(1, 0), (1, 0), (2, 0), (2, 0)]
    assert [r["advantage"] for r in rows] == pytest.approx([float(a) for b in produced for a in b["advantages"]])
    logged = [row["reward"] for row in result.summary["log_history"] if "reward" in row]
    assert [(rows[i]["reward"] + rows[i + 1]["reward"]) / 2 for i in (0, 2)] == pytest.approx(logged, abs=1e-5)
    assert all(set(r["rewards"]) == set(COMPONENTS) and "monitors" not in r["rewards"] for r in rows)
    for r in rows:  # half-right: the solved rollout called the gold tool, the other answered without a call
        assert r["passed"] == bool(r["calls"]) and (not r["calls"] or r["calls"][0]["name"] == "calculate")
        assert r["passed"] == (r["advantage"] > 0) and r["task"]["suite"] == "calculator" and r["turns"]

    # the update points the right way: the rewarded rollout (gold call, then the result) became more likely than
    # the unrewarded one (an ungrounded answer), compared with the starting policy
    good, bad = _policy_tokens(smol_tokenizer, cfg)
    before = _logprob(_load_tiny(model_dir), good) - _logprob(_load_tiny(model_dir), bad)
    trained = _load_tiny(model_dir, result.run_dir / "adapter")
    assert _logprob(trained, good) - _logprob(trained, bad) > before + 1.0

    # the loss mask TRL applied: tool_mask is 0 exactly on the tool results, 1 on everything the policy wrote
    batch = produced[0]
    for ids, cmask, tmask in zip(
        batch["completion_ids"], batch["completion_mask"], batch["tool_mask"], strict=True
    ):
        real = [int(t) for t, c in zip(ids, cmask) if c]
        tool = [int(t) for t, c, m in zip(ids, cmask, tmask) if c and not m]
        policy = smol_tokenizer.decode([int(t) for t, c, m in zip(ids, cmask, tmask) if c and m])
        if "<tool_call>" in policy:
            assert re.search(r'"result": ?"', smol_tokenizer.decode(tool)) and '"result"' not in policy
        else:
            assert tool == [] and real
    assert any(int((m == 0).sum()) > 0 for m in batch["tool_mask"])

    # the loss pass projected only the completion tokens through the LM head (trainers/lm_head.py), not the prompt
    assert projected and projected == [n for n, _, _ in labelled]
    assert all(0 < n < positions for n, positions, _ in labelled)
    # ... and ran each micro-batch's shared prompt (one group of 2 rollouts) through the backbone once
    assert len(backbone) == 2 * len(labelled)
    for (_, _, (rows, width)), prefix, rest in zip(labelled, backbone[::2], backbone[1::2], strict=True):
        assert rows == 2 and prefix[0] == 1 and rest[0] == 2 and prefix[1] + rest[1] == width and prefix[1] > rest[1]


def _watch_the_lm_head(monkeypatch):
    """Rows TRL's log-prob kernel received per call; (labelled positions, all positions, input shape) of each fused
    call; and the input shape of each backbone call."""
    from trainers import rl as rl_module
    from trainers.lm_head import compact_lm_head

    projected, labelled, backbone = watch_lm_head_rows(monkeypatch), [], []

    def count_labels(module, args, kwargs):
        if kwargs.get("fused_lm_head"):
            shifted = kwargs["labels"][:, 1:]
            labelled.append((int((shifted != -100).sum()), shifted.numel(), tuple(kwargs["input_ids"].shape)))

    def install(model):
        model.get_base_model().register_forward_pre_hook(count_labels, with_kwargs=True)
        model.get_base_model().model.register_forward_pre_hook(
            lambda m, a, kw: backbone.append(tuple(kw["input_ids"].shape)), with_kwargs=True)
        return compact_lm_head(model)

    monkeypatch.setattr(rl_module, "compact_lm_head", install)
    return projected, labelled, backbone


def never_right_policy(tokenizer, cfg):
    """Per group of two rollouts: one calls the gold tool with a wrong expression, one answers without a call. Both
    fail the task; only their process credit (tool choice) differs."""
    def reply(ctx: str, n: int) -> str:
        if ctx.rsplit("<|im_start|>", 2)[-2].startswith("tool"):
            return "The result is 2."
        return tool_call("calculate", expression="1 + 1") if n % 2 == 0 else "I cannot say."

    return ScriptedPolicy(tokenizer, reply)


@pytest.mark.slow
@pytest.mark.parametrize("group_filter", ["outcome", "none"])
def test_groups_that_all_failed_train_nothing_under_the_outcome_group_filter(
    tmp_path, model_dir, smol_tokenizer, monkeypatch, group_filter
):
    from safetensors.torch import load_file

    from trl import GRPOTrainer

    produced = []
    original = GRPOTrainer._generate_and_score_completions
    monkeypatch.setattr(GRPOTrainer, "_generate_and_score_completions",
                        lambda self, inputs: produced.append(original(self, inputs)) or produced[-1])
    projected, _, _ = _watch_the_lm_head(monkeypatch)
    cfg = _config(tmp_path, model_dir, max_steps=1, group_filter=group_filter, save_steps=10)
    result = run_rl(cfg, generate=never_right_policy(smol_tokenizer, cfg))

    assert result.metrics["monitor/pass_rate"] == 0.0 and result.metrics["rewards/tool_choice/mean"] > 0
    weights = load_file(str(result.run_dir / "adapter" / "adapter_model.safetensors"))
    moved = any(v.abs().sum() > 0 for k, v in weights.items() if "lora_B" in k)  # LoRA B starts at zero
    if group_filter == "outcome":
        assert result.metrics["frac_groups_filtered"] == 1.0 and result.metrics["rewards/tool_choice/std"] > 0
        assert all(not batch["advantages"].any() for batch in produced)
        assert not moved  # process-credit noise alone did not move the policy
        assert result.metrics["frac_loss_passes_skipped"] == 1.0 and not projected  # nor cost a loss pass
    else:
        assert "frac_groups_filtered" not in result.metrics and moved
        assert all(batch["advantages"].any() for batch in produced)
        assert result.metrics["frac_loss_passes_skipped"] == 0.0 and projected


@pytest.mark.slow
@pytest.mark.parametrize("negatives", [True, False])
def test_gold_guidance_trains_groups_the_policy_never_solves_towards_the_demonstration(
    tmp_path, model_dir, smol_tokenizer, negatives
):
    from trainers.rl_rollout import TASK_KEY, ToolRollout

    cfg = _config(tmp_path, model_dir, max_steps=1, group_filter="outcome", guidance="gold", save_steps=10,
                  guidance_negatives=negatives)
    result = run_rl(cfg, generate=never_right_policy(smol_tokenizer, cfg))

    rows = read_rollout_log(result.run_dir / "rollouts.jsonl")
    demos = [r for r in rows if r["demonstration"]]
    assert len(demos) == 1 and demos[0]["passed"] and demos[0]["advantage"] > 0 and not demos[0]["filtered"]
    sampled = [r for r in rows if not r["demonstration"]]
    assert sampled and not any(r["passed"] for r in sampled)
    # the failure beside the demonstration is pushed down, or (guidance_negatives: false) left where it was
    assert all(r["advantage"] < 0 if negatives else r["advantage"] == 0 for r in sampled)
    assert result.metrics["monitor/demonstration_rate"] == 0.5 and result.metrics["monitor/pass_rate"] == 0.0
    assert result.metrics["frac_groups_filtered"] == 0.0  # without guidance every group here is filtered out
    assert result.summary["groups_by_kind"]["single"] == {"groups": 1, "none": 1, "some": 0, "all": 0, "guided": 1}

    # the update made the demonstration more likely than the starting policy found it
    task = next(t for t in build_tasks(cfg) if t.id == demos[0]["task"]["id"])
    rollout = ToolRollout(presentation="json", tokenizer=smol_tokenizer, max_completion_length=160, guidance="gold",
                          group_size=2, generate=never_right_policy(smol_tokenizer, cfg))
    got = rollout([[{"role": "user", "content": task.prompt, TASK_KEY: task.model_dump_json()}]] * 2, None)
    assert got["toolgym_episode"][1].demonstration
    demo = (got["prompt_ids"][1], got["completion_ids"][1], got["env_mask"][1])
    before = _logprob(_load_tiny(model_dir), demo)
    assert _logprob(_load_tiny(model_dir, result.run_dir / "adapter"), demo) > before + 1.0


@pytest.mark.slow
def test_a_run_resumes_from_its_latest_checkpoint(tmp_path, model_dir, smol_tokenizer):
    first = _config(tmp_path, model_dir, max_steps=1)
    run_rl(first, generate=half_right_policy(smol_tokenizer, first))
    assert (first.output_dir / "checkpoints" / "checkpoint-1").is_dir()
    log = first.output_dir / "rollouts.jsonl"
    before = read_rollout_log(log)
    assert [r["step"] for r in before] == [1, 1]
    with log.open("a") as fh:  # what a crash during step 2 leaves behind: step 2's rows, the last one torn
        fh.write(json.dumps({**before[0], "step": 2, "crashed": True}) + "\n" + '{"step": 2, "gro')
    again = _config(tmp_path, model_dir, max_steps=2, resume="latest")
    result = run_rl(again, generate=half_right_policy(smol_tokenizer, again))
    assert result.global_step == 2
    assert result.summary["training"]["resumed_from"].endswith("checkpoint-1")
    steps = [row["step"] for row in result.summary["log_history"] if "loss" in row]
    assert steps == [1, 2]  # step 1 restored from the checkpoint's state, step 2 trained now
    after = read_rollout_log(log)  # step 1's rollouts kept, the crashed step 2's replaced by the ones trained
    assert [r["step"] for r in after] == [1, 1, 2, 2] and after[:2] == before
    assert not any(r.get("crashed") for r in after) and len(log.read_text().splitlines()) == 4
    assert log.read_text().endswith("\n")

    fresh = _config(tmp_path, model_dir, max_steps=1)  # a new run in the same directory starts a new log
    run_rl(fresh, generate=half_right_policy(smol_tokenizer, fresh))
    assert [r["step"] for r in read_rollout_log(log)] == [1, 1]


@pytest.mark.slow
def test_rollouts_sampled_from_the_policy_prefill_each_group_prompt_once(tmp_path, model_dir, monkeypatch):
    from trainers import rl_sampler

    calls = []
    original = rl_sampler.TurnSampler.__call__

    def spy(self, model, batch, budgets):
        before = self.prefilled_tokens
        out = original(self, model, batch, budgets)
        calls.append((batch, self.prefilled_tokens - before, out))
        return out

    monkeypatch.setattr(rl_sampler.TurnSampler, "__call__", spy)
    with pytest.warns(UserWarning, match="max_completion_length 24 is shorter than the gold solution"):  # on purpose
        result = run_rl(_config(tmp_path, model_dir, max_steps=1, max_completion_length=24))  # the policy samples
    assert result.global_step == 1 and math.isfinite(result.metrics["loss"])
    batch, prefilled, out = calls[0]
    assert len(batch) == 2 and batch[0] == batch[1]  # one GRPO group: the same prompt twice
    assert prefilled == len(batch[0]) + 1  # the prompt once, then its last token per rollout (not the prompt twice)
    assert all(0 < len(o) <= 24 for o in out)


def test_a_budget_too_small_for_the_gold_solutions_is_warned_about_before_training(tmp_path, model_dir, monkeypatch):
    import trainers.rl as rl

    class Stop(Exception):
        pass

    def no_training(*args, **kwargs):
        raise Stop

    monkeypatch.setattr(rl, "grpo_trainer_class", no_training)
    expected = r"max_completion_length 40 is shorter than the gold solution of 2 of 2 measured tasks \(single 2;"
    with pytest.warns(UserWarning, match=expected), pytest.raises(Stop):
        run_rl(_config(tmp_path, model_dir, max_completion_length=40))
    with warnings.catch_warnings(record=True) as caught, pytest.raises(Stop):
        warnings.simplefilter("always")
        run_rl(_config(tmp_path, model_dir))  # the test config's budget fits both tasks
    assert not [w for w in caught if "shorter than the gold solution" in str(w.message)]


def test_resume_latest_without_a_checkpoint_says_what_to_do(tmp_path, model_dir):
    with pytest.raises(UserError, match="found no checkpoint"):
        run_rl(_config(tmp_path, model_dir, resume="latest"))


@pytest.mark.slow
def test_an_sft_run_directory_is_trained_further_with_its_saved_template(
    tmp_path, model_dir, tiny_model, smol_tokenizer, monkeypatch
):
    from peft import LoraConfig, get_peft_model

    from trainers.chat_templates import CHATML_TEMPLATE, TemplateChoice, save_template

    sft = (
        tmp_path / "sft"
    )  # the layout `toolgym train sft` writes: adapter/, chat_template.jinja, template.json, run.json
    peft_model = get_peft_model(
        tiny_model,
        LoraConfig(r=4, lora_alpha=8, lora_dropout=0.1, target_modules="all-linear", task_type="CAUSAL_LM"),
    )
    peft_model.save_pretrained(sft / "adapter")
    smol_tokenizer.save_pretrained(sft / "adapter")
    save_template(
        sft, TemplateChoice(CHATML_TEMPLATE, "fallback:chatml"), {"presentation": "json", "native": False}
    )
    (sft / "run.json").write_text(json.dumps({"model": {"location": str(model_dir), "gguf_file": None}}))
    import torch
    from trl import GRPOTrainer

    dropouts = []
    original = GRPOTrainer._generate_and_score_completions

    def spy(self, inputs):
        dropouts.append([m.p for m in self.model.modules() if isinstance(m, torch.nn.Dropout)])
        return original(self, inputs)

    monkeypatch.setattr(GRPOTrainer, "_generate_and_score_completions", spy)
    cfg = _config(tmp_path, sft, max_steps=1)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = run_rl(cfg, generate=half_right_policy(smol_tokenizer, cfg))
    assert not [w for w in caught if "is_gradient_checkpointing" in str(w.message)]  # nor when loading the adapter
    # the SFT adapter's dropout (0.1) is replaced by the RL run's (0): rollouts come from the policy that is scored
    assert dropouts and all(p == 0 for step in dropouts for p in step)
    assert json.loads((result.run_dir / "adapter" / "adapter_config.json").read_text())["lora_dropout"] == 0.0
    assert result.summary["model"]["sft_run"] == str(sft)
    assert result.summary["template"]["source"] == f"sft-run:{sft}"
    assert (result.run_dir / "chat_template.jinja").read_text() == CHATML_TEMPLATE
    assert (result.run_dir / "adapter" / "adapter_model.safetensors").is_file()


def test_a_full_fine_tune_sft_run_is_the_base_of_the_rl_adapter_and_its_native_decision_is_kept(
    tmp_path, model_dir, tiny_model, smol_tokenizer
):
    from trainers.chat_templates import CHATML_TEMPLATE, TemplateChoice, save_template
    from trainers.rl import _load

    sft = tmp_path / "sft"  # `toolgym train sft` with lora: false writes model/ instead of adapter/
    tiny_model.save_pretrained(sft / "model")
    smol_tokenizer.save_pretrained(sft / "model")
    save_template(sft, TemplateChoice(CHATML_TEMPLATE, "fallback:chatml"), {"presentation": "json", "native": False})
    (sft / "run.json").write_text(json.dumps({"model": {"location": "some/original-base", "gguf_file": None}}))
    *_, provenance, native = _load(_config(tmp_path, sft, presentation="json"))
    # evaluation and follow-on runs put the RL adapter on this location: it must be the fine-tuned weights
    assert provenance == {"sft_run": str(sft), "location": str(sft / "model"), "gguf_file": None}
    assert native is False  # not re-probed: RL prompts are the ones SFT trained on
    with pytest.warns(UserWarning, match="native: False"):
        *_, native = _load(_config(tmp_path, sft, presentation="json", native=True))
    assert native is True


@pytest.mark.parametrize(("name", "kind"), [("deepspeed_zero3.yaml", "DEEPSPEED"), ("fsdp.yaml", "FSDP")])
def test_the_multi_gpu_launcher_configs_load_with_accelerates_parser(name, kind):
    from accelerate.commands.config.config_args import load_config_from_file

    config = load_config_from_file(str(SAMPLE.parent / "accelerate" / name))
    assert config.distributed_type.name == kind and config.num_processes > 1
    if kind == "DEEPSPEED":
        assert config.deepspeed_config["zero_stage"] == 3


def test_tasks_come_from_a_jsonl_of_records_or_tasks_and_bad_lines_are_located(tmp_path):
    from toolkit.template_rendering import render_tasks

    tasks = render_tasks("orders", n=3, seed=1)
    path = tmp_path / "tasks.jsonl"
    no_tool = {"id": "r0", "messages": [{"role": "user", "content": "hi"}], "scenario": {"kind": "no_tool"}}
    lines = [json.dumps(no_tool), json.dumps({"id": "r1", "scenario": tasks[0].scenario().model_dump(mode="json")}),
             "", tasks[1].model_dump_json(), tasks[2].model_dump_json()]  # fmt: skip
    path.write_text("\n".join(lines) + "\n")
    cfg = RLRunConfig(tasks_file=path, num_tasks=2, suites=[])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert [t.id for t in build_tasks(cfg)] == [tasks[0].id, tasks[1].id]
    said = [str(w.message) for w in caught]
    assert any("skipped 1 records without scenario.task (no_tool x1)" in m for m in said)
    assert any("using its first 2 tasks (num_tasks: 2); set num_tasks: 0" in m for m in said)  # not silently cut
    kinds = RLRunConfig(tasks_file=path, num_tasks=1, suites=[], kinds=[tasks[2].kind])
    with pytest.warns(UserWarning, match="skipped 1 records"):
        assert [t.id for t in build_tasks(kinds)] == [tasks[2].id]  # the filter comes before the limit
    other = next(k for k in ("chain", "error") if k not in {t.kind for t in tasks})
    with pytest.raises(UserError, match=f"holds no tasks of kind\\(s\\) {other}"):
        build_tasks(RLRunConfig(tasks_file=path, num_tasks=0, kinds=[other]))
    path.write_text(json.dumps(no_tool) + "\n")
    with pytest.raises(UserError, match=r"holds no tasks \(records without scenario.task: no_tool x1\)"):
        build_tasks(RLRunConfig(tasks_file=path, num_tasks=0))
    path.write_text(tasks[0].model_dump_json() + "\n" + json.dumps({"scenario": {"kind": "single"}}) + "\n")
    with pytest.raises(UserError, match=r"tasks.jsonl:2: no task"):
        build_tasks(RLRunConfig(tasks_file=path, num_tasks=0))
