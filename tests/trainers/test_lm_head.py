"""The compact fused LM head: TRL's arithmetic on the labelled positions only, identical results, real SFT run."""

from __future__ import annotations

import copy

import pytest
import torch
from trl.trainer import add_fused_lm_head

from tests.trainers.helpers import record, watch_lm_head_rows, write_jsonl
from trainers.lm_head import compact_lm_head, uses_compact_lm_head
from trainers.sft import run_sft
from trainers.sft_config import load_sft_config


@pytest.fixture
def projected(monkeypatch):
    return watch_lm_head_rows(monkeypatch)


def _pair(model, **trl_kwargs):
    """Two identical models patched by TRL; the second one also compacted."""
    other = copy.deepcopy(model)
    add_fused_lm_head(model, **trl_kwargs)
    add_fused_lm_head(other, **trl_kwargs)
    assert compact_lm_head(other)
    return model, other


def _batch(vocab: int):
    torch.manual_seed(1)
    ids = torch.randint(0, vocab, (2, 40))
    labels = ids.clone()
    labels[:, :15] = -100  # a prompt
    labels[1, 25:31] = -100  # a tool result inside the second row
    return ids, labels


@pytest.mark.parametrize("trl_kwargs", [
    {"outputs": ("log_probs", "entropy", "is_top1")},  # what SFTTrainer asks for
    {"temperature": 0.7, "outputs": ("log_probs", "entropy")},  # what GRPOTrainer asks for
])
def test_compact_head_matches_trls_full_head_in_every_field_and_gradient(tiny_model, projected, trl_kwargs):
    full, compact = _pair(tiny_model, **trl_kwargs)
    ids, labels = _batch(full.config.vocab_size)
    n = torch.tensor(41)
    out_full = full(input_ids=ids, labels=labels, fused_lm_head=True, num_items_in_batch=n)
    out_compact = compact(input_ids=ids, labels=labels, fused_lm_head=True, num_items_in_batch=n)

    labelled = int((labels[:, 1:] != -100).sum())
    assert projected == [2 * 39, labelled]  # TRL on CPU projects every position; the compact head, the labelled
    for name in ("loss", "log_probs", "entropy", "is_top1", "label_mask"):
        a, b = getattr(out_full, name), getattr(out_compact, name)
        assert (a is None) == (b is None), name
        if a is not None:
            torch.testing.assert_close(b, a, msg=name)
    out_full.loss.backward()
    out_compact.loss.backward()
    for (name, p), q in zip(full.named_parameters(), compact.parameters()):
        torch.testing.assert_close(q.grad, p.grad, msg=name)


def _groups(vocab: int):
    """A GRPO-shaped batch: two prompts (one left-padded) x rollouts of different lengths (right-padded)."""
    torch.manual_seed(2)
    prompt_a, prompt_b = torch.randint(1, vocab, (30,)), torch.randint(1, vocab, (27,))
    rows, masks = [], []
    for prompt, size in ((prompt_a, 0), (prompt_b, 3), (prompt_a, 0), (prompt_a, 0)):
        completion = torch.randint(1, vocab, (12,))
        rows.append(torch.cat([torch.zeros(size, dtype=torch.long), prompt, completion]))
        masks.append(torch.cat([torch.zeros(size), torch.ones(len(prompt) + 12)]).long())
    ids, mask = torch.stack(rows), torch.stack(masks)
    mask[1, -4:] = 0  # a shorter rollout, right-padded
    labels = ids.masked_fill(mask == 0, -100)
    labels[:, :30] = -100  # TRL's loss pass scores the completion only
    return ids, mask, labels


def _backbone_tokens(model) -> list[int]:
    seen: list[int] = []
    model.model.register_forward_pre_hook(lambda m, a, kw: seen.append(kw["input_ids"].numel()), with_kwargs=True)
    return seen


def test_rollouts_of_one_prompt_run_the_prompt_once_with_the_same_results(tiny_model):
    full, compact = _pair(tiny_model, temperature=0.7, outputs=("log_probs", "entropy"))
    ids, mask, labels = _groups(full.config.vocab_size)
    full_tokens, compact_tokens = _backbone_tokens(full), _backbone_tokens(compact)
    n = torch.tensor(int((labels != -100).sum()))
    out_full = full(input_ids=ids, attention_mask=mask, labels=labels, fused_lm_head=True, num_items_in_batch=n)
    out_compact = compact(input_ids=ids, attention_mask=mask, labels=labels, fused_lm_head=True, num_items_in_batch=n)

    assert full_tokens == [4 * 42]
    assert compact_tokens == [2 * 29, 4 * 13]  # each distinct prompt once, then every row's remainder
    for name in ("loss", "log_probs", "entropy", "label_mask"):
        torch.testing.assert_close(getattr(out_compact, name), getattr(out_full, name), msg=name)
    out_full.loss.backward()
    out_compact.loss.backward()
    for (name, p), q in zip(full.named_parameters(), compact.parameters()):
        torch.testing.assert_close(q.grad, p.grad, msg=name)


def test_gradient_checkpointing_runs_shared_prompts_in_full(tiny_model):
    _, compact = _pair(tiny_model, outputs=("log_probs",))
    (getattr(compact, "activation_checkpointing_enable", None) or compact.gradient_checkpointing_enable)()
    compact.train()
    ids, mask, labels = _groups(compact.config.vocab_size)
    tokens = _backbone_tokens(compact)
    compact(input_ids=ids, attention_mask=mask, labels=labels, fused_lm_head=True).loss.backward()
    assert tokens == [4 * 42]


def test_a_batch_with_no_labelled_token_gives_a_differentiable_zero(tiny_model):
    _, compact = _pair(tiny_model, outputs=("log_probs",))
    ids, labels = _batch(compact.config.vocab_size)
    out = compact(input_ids=ids, labels=torch.full_like(labels, -100), fused_lm_head=True)
    assert out.loss.item() == 0.0
    out.loss.backward()  # still connected to the graph


def test_plain_calls_and_generation_keep_the_models_own_forward(tiny_model):
    reference = copy.deepcopy(tiny_model)
    _, compact = _pair(tiny_model)
    ids, _ = _batch(compact.config.vocab_size)
    torch.testing.assert_close(compact(input_ids=ids).logits, reference(input_ids=ids).logits)
    assert torch.equal(compact.generate(ids[:1, :5], max_new_tokens=3, do_sample=False),
                       reference.generate(ids[:1, :5], max_new_tokens=3, do_sample=False))


def test_models_whose_head_trl_transforms_keep_trls_path(tiny_model):
    tiny_model.config.final_logit_softcapping = 30.0  # TRL soft-caps this model's logits
    add_fused_lm_head(tiny_model)
    patched = tiny_model.forward
    assert not compact_lm_head(tiny_model)
    assert tiny_model.forward == patched and not uses_compact_lm_head(tiny_model)


def test_a_model_trl_did_not_patch_is_left_alone(tiny_model):
    assert not compact_lm_head(tiny_model)
    assert "forward" not in tiny_model.__dict__


def test_sft_projects_only_the_assistant_tokens_of_each_batch(tmp_path, tiny_model, smol_tokenizer, projected):
    labelled: list[int] = []

    def count(module, args, kwargs):
        if kwargs.get("fused_lm_head"):
            labelled.append(int((kwargs["labels"][:, 1:] != -100).sum()))

    tiny_model.register_forward_pre_hook(count, with_kwargs=True)
    data = write_jsonl(tmp_path / "train.jsonl", [record(f"r{i}") for i in range(4)])
    cfg = load_sft_config(None, {
        "train_file": str(data), "output_dir": str(tmp_path / "run"), "max_steps": 2, "batch_size": 2,
        "max_length": 512, "split": "none", "progress": False, "presentation": "python", "logging_steps": 1,
    })
    run_sft(cfg, model=tiny_model, tokenizer=smol_tokenizer)

    assert len(labelled) == 2 and all(labelled)
    assert projected == labelled  # one kernel call per training forward, on exactly its labelled positions
