"""SFT with real TRL SFTTrainer runs on a tiny random Llama (and one slow run on the real SmolLM2-135M)."""

from __future__ import annotations

import hashlib
import json
import math

import pytest
import torch
from safetensors.torch import load_file

from tests.trainers.helpers import DROPS_CALLS, delegating_record, record, write_jsonl
from toolkit.errors import UserError
from trainers.sft import run_sft
from trainers.sft_config import load_sft_config



@pytest.fixture
def data(tmp_path):
    records = [record(f"r{i}") for i in range(4)] + [delegating_record("d1"), delegating_record("d2")]
    return write_jsonl(tmp_path / "train.jsonl", records)


def _cfg(tmp_path, data, **overrides):
    settings = {
        "train_file": str(data), "output_dir": str(tmp_path / "run"), "max_steps": 2, "eval_steps": 2,
        "logging_steps": 1, "batch_size": 2, "max_length": 512, "validation_fraction": 0.34, "progress": False,
        "presentation": "python", "split": "random",
    }
    settings.update(overrides)
    return load_sft_config(None, settings)


def test_lora_sft_trains_only_the_adapter_and_writes_every_run_output(tmp_path, data, tiny_model, smol_tokenizer):
    base_q = tiny_model.model.layers[0].self_attn.q_proj.weight.detach().clone()
    template = smol_tokenizer.chat_template
    result = run_sft(_cfg(tmp_path, data), model=tiny_model, tokenizer=smol_tokenizer)

    assert result.global_step == 2
    assert math.isfinite(result.final_train_loss) and math.isfinite(result.final_eval_loss)
    run = result.run_dir
    adapter = load_file(run / "adapter" / "adapter_model.safetensors")
    lora_b = [t for name, t in adapter.items() if "lora_B" in name]
    assert lora_b and any(t.abs().sum() > 0 for t in lora_b)  # B starts at zero: non-zero means it trained
    assert torch.equal(tiny_model.model.layers[0].self_attn.q_proj.base_layer.weight, base_q)
    assert (run / "adapter" / "tokenizer.json").is_file()
    assert not (run / "merged").exists()

    assert (run / "loss_curve.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert (run / "chat_template.jinja").read_text(encoding="utf-8") == template
    saved = json.loads((run / "template.json").read_text(encoding="utf-8"))
    assert saved["presentation"] == "python" and saved["native"] is False and saved["stop_tokens"] == ["<|im_end|>"]

    summary = json.loads((run / "run.json").read_text(encoding="utf-8"))
    assert summary["data"]["hash"] == hashlib.sha256(data.read_bytes() + b"\x00").hexdigest()
    train, val = summary["data"]["train"], summary["data"]["validation"]
    assert train["records"] + val["records"] == 6 and val["records"] == 2
    assert train["subagent_rows"] + val["subagent_rows"] == 2  # both delegating records' subagents are rows
    assert 0 < train["trained_tokens"] < train["tokens"]
    assert summary["config"]["presentation"] == "python" and summary["gate"]["ok"]
    assert summary["losses"]["final_validation"] == pytest.approx(result.final_eval_loss)
    assert [s for s, _ in summary["losses"]["train"]] == [1, 2]


def test_full_fine_tuning_changes_the_base_weights(tmp_path, data, tiny_model, smol_tokenizer):
    before = {n: p.detach().clone() for n, p in tiny_model.named_parameters()}
    result = run_sft(_cfg(tmp_path, data, lora=False, learning_rate=1e-3, presentation="json"),
                     model=tiny_model, tokenizer=smol_tokenizer)
    assert math.isfinite(result.final_train_loss)
    changed = [n for n, p in tiny_model.named_parameters() if not torch.equal(p, before[n])]
    assert "model.layers.0.self_attn.q_proj.weight" in changed
    assert (result.run_dir / "model" / "model.safetensors").is_file()
    assert result.summary["training"]["trainable_parameters"] == sum(p.numel() for p in before.values())


def test_early_stopping_ends_training_when_validation_loss_stops_improving(
    tmp_path, data, tiny_model, smol_tokenizer
):
    # A learning rate this small leaves every float32 weight as it was, so validation loss cannot improve.
    cfg = _cfg(tmp_path, data, max_steps=6, eval_steps=1, early_stopping_patience=1, learning_rate=1e-30)
    result = run_sft(cfg, model=tiny_model, tokenizer=smol_tokenizer)
    assert result.stopped_early and result.global_step == 2
    assert len(result.summary["losses"]["validation"]) == 2


def test_after_early_stopping_the_reported_validation_loss_is_the_saved_best_models(
    tmp_path, data, tiny_model, smol_tokenizer
):
    # A huge learning rate makes validation loss worse after the first step; the best (first) checkpoint is saved.
    cfg = _cfg(tmp_path, data, max_steps=6, eval_steps=1, early_stopping_patience=1, learning_rate=3.0)
    result = run_sft(cfg, model=tiny_model, tokenizer=smol_tokenizer)
    losses = [v for _, v in result.summary["losses"]["validation"]]
    assert result.stopped_early and losses[-1] > min(losses)
    assert result.final_eval_loss == pytest.approx(min(losses)) == pytest.approx(result.best_eval_loss)


def test_resume_continues_from_the_latest_checkpoint(tmp_path, data, tiny_model_factory, smol_tokenizer):
    first = run_sft(_cfg(tmp_path, data, eval_steps=1), model=tiny_model_factory(), tokenizer=smol_tokenizer)
    assert (first.run_dir / "checkpoints" / "checkpoint-2").is_dir()
    second = run_sft(_cfg(tmp_path, data, eval_steps=1, max_steps=4, resume="latest"),
                     model=tiny_model_factory(), tokenizer=smol_tokenizer)
    assert second.global_step == 4
    assert second.summary["training"]["resumed_from"].endswith("checkpoint-2")
    # the log of steps 1-2 comes from the checkpoint: only steps 3-4 were trained in this run
    assert [s for s, _ in second.summary["losses"]["train"]] == [1, 2, 3, 4]
    assert second.summary["losses"]["train"][:2] == first.summary["losses"]["train"]
    # going on past the first run's length: the run says so. Its first step runs at the rate the 2-step schedule
    # left in the optimizer (0 for a linear decay), and from step 4 on at what a fresh 4-step run has there
    resumed = second.summary["training"]["resumed"]
    assert resumed["step"] == 2 and resumed["planned_steps"] == 2
    assert "step 2 of a 2-step run" in resumed["schedule_note"]
    fresh = run_sft(_cfg(tmp_path, data, eval_steps=1, max_steps=4, output_dir=str(tmp_path / "fresh")),
                    model=tiny_model_factory(), tokenizer=smol_tokenizer)

    def rates(run):
        state = json.loads((run.run_dir / "checkpoints" / "checkpoint-4" / "trainer_state.json").read_text())
        return {e["step"]: e["learning_rate"] for e in state["log_history"] if "learning_rate" in e}

    assert rates(second)[3] == 0.0 < rates(fresh)[3]
    assert rates(second)[4] == pytest.approx(rates(fresh)[4]) and rates(fresh)[4] > 0


def test_resume_with_nothing_left_to_train_is_a_clear_error(tmp_path, data, tiny_model_factory, smol_tokenizer):
    run_sft(_cfg(tmp_path, data, eval_steps=1), model=tiny_model_factory(), tokenizer=smol_tokenizer)
    with pytest.raises(UserError, match="already at step 2 and max_steps is 2.*raise max_steps above 2"):
        run_sft(_cfg(tmp_path, data, eval_steps=1, resume="latest"), model=tiny_model_factory(),
                tokenizer=smol_tokenizer)


def test_resume_without_a_checkpoint_is_a_clear_error(tmp_path, data, tiny_model, smol_tokenizer):
    with pytest.raises(UserError, match="found no checkpoint"):
        run_sft(_cfg(tmp_path, data, resume="latest"), model=tiny_model, tokenizer=smol_tokenizer)


def test_packing_trains_on_packed_sequences_and_merge_saves_a_merged_model(
    tmp_path, data, tiny_model, smol_tokenizer
):
    result = run_sft(_cfg(tmp_path, data, packing=True, max_steps=1, split="none", max_length=1024, merge=True),
                     model=tiny_model, tokenizer=smol_tokenizer)
    assert result.global_step == 1 and math.isfinite(result.final_train_loss)
    merged = result.run_dir / "merged"
    assert (merged / "config.json").is_file() and (merged / "tokenizer.json").is_file()
    assert not any("lora" in k for k in load_file(merged / "model.safetensors"))


def test_a_broken_template_stops_the_run_before_any_training(tmp_path, data, tiny_model, smol_tokenizer):
    template = tmp_path / "broken.jinja"
    template.write_text(DROPS_CALLS, encoding="utf-8")
    with pytest.raises(UserError, match="(?s)template gate failed.*round trip"):
        run_sft(_cfg(tmp_path, data, chat_template=str(template), presentation="json"),
                model=tiny_model, tokenizer=smol_tokenizer)
    run = tmp_path / "run"
    assert json.loads((run / "gate.json").read_text(encoding="utf-8"))["ok"] is False
    assert not (run / "checkpoints").exists()


def test_early_stopping_without_validation_data_is_refused(tmp_path, data, tiny_model, smol_tokenizer):
    with pytest.raises(UserError, match="early stopping needs validation"):
        _cfg(tmp_path, data, split="none", early_stopping_patience=2)


@pytest.mark.slow
def test_the_bundled_smollm2_135m_trains_two_lora_steps(tmp_path, data):
    result = run_sft(_cfg(tmp_path, data, model="bundled", batch_size=1, split="none", presentation="json"))
    assert result.global_step == 2 and math.isfinite(result.final_train_loss)
    assert result.summary["model"]["gguf_file"].endswith(".gguf")
    assert result.final_train_loss < 8  # a pretrained model, not random: far below ln(49152) ≈ 10.8


def test_packed_conversations_do_not_attend_to_each_other(tiny_model):
    # What packing relies on without FlashAttention: position ids that restart per conversation give each one
    # its own causal block (transformers builds the mask from them when there is no cache; TRL's SFTTrainer
    # passes use_cache=False in compute_loss), so packing changes no conversation's logits.
    first, second = torch.arange(5, 12).unsqueeze(0), torch.arange(40, 49).unsqueeze(0)
    with torch.no_grad():
        alone = tiny_model(input_ids=second).logits
        packed = tiny_model(
            input_ids=torch.cat([first, second], dim=1),
            position_ids=torch.cat([torch.arange(7), torch.arange(9)]).unsqueeze(0),
            use_cache=False,
        ).logits
    assert torch.allclose(packed[:, 7:], alone, atol=1e-5)


def test_a_record_whose_subagent_points_nowhere_is_skipped_and_named_not_fatal(smol_tokenizer):
    from trainers.sft_data import encode_records

    broken = delegating_record("bad")
    broken.subagents = {"no-such-call": broken.subagents["p1"]}
    out = encode_records([record("ok"), broken], smol_tokenizer, presentation="json", native=None,
                         max_length=2048, label="train", progress=False)
    assert len(out.rows) == 1 and out.agent_rows == 1
    assert len(out.failed) == 1 and "'bad'" in out.failed[0] and "no-such-call" in out.failed[0]
