"""Packing (TRL BFD, padding-free) on ToolGym's pre-tokenized rows: masks survive, conversations stay isolated.

``trainers/sft_packing.py`` names the TRL and transformers functions this relies on; these tests check them on
the batches a real packed run hands the model, not on the libraries' word.
"""

from __future__ import annotations

import copy
from collections import Counter

import pytest
import torch

from tests.trainers.helpers import delegating_record, record, write_jsonl
from toolkit.errors import UserError
from trainers.masks import IGNORE_INDEX
from trainers.sft import run_sft
from trainers.sft_config import load_sft_config
from trainers.sft_data import encode_records

RECORDS = [record("r1"), record("r2"), delegating_record("d1")]  # rows of 284, 284, 208 and 176 tokens


def _train_and_capture(tmp_path, model, tokenizer, *, packing):
    """Train one epoch and return every batch the model's forward received during training."""
    data = write_jsonl(tmp_path / f"train-{packing}.jsonl", RECORDS)
    cfg = load_sft_config(None, {
        "train_file": str(data), "output_dir": str(tmp_path / f"run-{packing}"), "epochs": 1, "batch_size": 2,
        "max_length": 512, "split": "none", "presentation": "python", "packing": packing, "progress": False,
        "logging_steps": 1, "eval_steps": 100,
    })
    seen = []

    def capture(module, _args, kwargs):
        if module.training:  # not the packing guard's probe, which runs in eval mode
            seen.append({k: v.clone() if torch.is_tensor(v) else v for k, v in kwargs.items()})

    hook = model.register_forward_pre_hook(capture, with_kwargs=True)
    try:
        run_sft(cfg, model=model, tokenizer=tokenizer)
    finally:
        hook.remove()
    return seen


def _conversations(batch):
    """Cut a padding-free batch at every position-id restart: one (input_ids, labels) pair per conversation."""
    pos, ids, labels = batch["position_ids"][0], batch["input_ids"][0], batch["labels"][0]
    starts = (pos == 0).nonzero().flatten().tolist() + [len(pos)]
    return [(tuple(ids[a:b].tolist()), tuple(labels[a:b].tolist())) for a, b in zip(starts, starts[1:])]


def _trained(labels):
    return Counter(t for t in labels.flatten().tolist() if t != IGNORE_INDEX)


@pytest.fixture(scope="module")
def runs(tmp_path_factory, tiny_model_factory, smol_tokenizer_session):
    """One epoch with packing and one without, on the same rows (each from the same seeded tiny model)."""
    tmp = tmp_path_factory.mktemp("packing")
    return {packing: _train_and_capture(tmp, tiny_model_factory(), copy.deepcopy(smol_tokenizer_session),
                                        packing=packing) for packing in (True, False)}


def test_packing_trains_exactly_the_assistant_tokens_of_every_conversation(runs, smol_tokenizer):
    packed_batches, unpacked_batches = runs[True], runs[False]
    rows = encode_records(RECORDS, smol_tokenizer, presentation="python", native=None, max_length=512,
                          label="train", progress=False).rows
    assert len(rows) == 4  # 3 records, one with a subagent row
    assert all(b["attention_mask"] is None and b["use_cache"] is False for b in packed_batches)
    assert any(len(_conversations(b)) > 1 for b in packed_batches)  # it really packed

    # Every packed conversation is one of ToolGym's rows, token for token and label for label: masks survive
    # packing, and the position ids restart exactly at conversation boundaries.
    packed = Counter(c for b in packed_batches for c in _conversations(b))
    assert packed == Counter((tuple(r["input_ids"]), tuple(r["labels"])) for r in rows)

    # The same assistant tokens are trained as without packing (the plain padded path, one epoch each).
    assert all(b["attention_mask"] is not None for b in unpacked_batches)
    packed_trained = sum((_trained(b["labels"]) for b in packed_batches), Counter())
    unpacked_trained = sum((_trained(b["labels"]) for b in unpacked_batches), Counter())
    assert packed_trained == unpacked_trained
    assert sum(packed_trained.values()) == sum(sum(t != IGNORE_INDEX for t in r["labels"]) for r in rows)


@pytest.mark.parametrize("attention", ["sdpa", "eager"])
def test_packed_conversations_do_not_attend_across_their_boundaries(runs, tiny_model_factory, attention):
    model = tiny_model_factory()
    model.set_attn_implementation(attention)
    model.eval()
    batch = next(b for b in runs[True] if len(_conversations(b)) > 1)
    starts = (batch["position_ids"][0] == 0).nonzero().flatten().tolist() + [batch["position_ids"].size(1)]
    end = starts[2]  # the first two conversations of a real packed batch
    ids, pos = batch["input_ids"][:, :end], batch["position_ids"][:, :end]
    with torch.no_grad():
        packed = model(input_ids=ids, position_ids=pos, use_cache=False).logits[0]
        # Negative control: an all-ones attention mask (what a padded collator would send) switches the packed
        # detection off, and the second conversation then sees the first. The check must tell the two apart.
        ones = torch.ones_like(ids)
        leaky = model(input_ids=ids, position_ids=pos, attention_mask=ones, use_cache=False).logits[0]
        first = model(input_ids=ids[:, :starts[1]], use_cache=False).logits[0]
        second = model(input_ids=ids[:, starts[1]:], use_cache=False).logits[0]
    assert torch.allclose(packed[:starts[1]], first, atol=1e-5)
    assert torch.allclose(packed[starts[1]:], second, atol=1e-5), "the second conversation saw the first"
    assert not torch.allclose(leaky[starts[1]:], second, atol=1e-3)


def _mask_ignoring_attention(module, query, key, value, attention_mask, **kwargs):
    """Plain causal sdpa that drops the mask transformers built: a custom kernel that knows nothing of packing."""
    from transformers.integrations.sdpa_attention import sdpa_attention_forward

    kwargs.pop("is_causal", None)
    return sdpa_attention_forward(module, query, key, value, None, is_causal=True, **kwargs)


@pytest.fixture
def mask_ignoring_model(tiny_model_factory):
    from transformers import AttentionInterface
    from transformers.masking_utils import AttentionMaskInterface, sdpa_mask

    name = "toolgym-test-mask-ignoring"
    AttentionInterface.register(name, _mask_ignoring_attention)
    AttentionMaskInterface.register(name, sdpa_mask)
    model = tiny_model_factory()
    model.set_attn_implementation(name)
    yield model
    AttentionInterface._global_mapping.pop(name, None)
    AttentionMaskInterface._global_mapping.pop(name, None)


def test_packing_is_refused_before_training_when_the_model_would_attend_across_conversations(
    tmp_path, mask_ignoring_model, smol_tokenizer
):
    data = write_jsonl(tmp_path / "train.jsonl", RECORDS)
    cfg = load_sft_config(None, {
        "train_file": str(data), "output_dir": str(tmp_path / "run"), "max_steps": 1, "split": "none",
        "presentation": "python", "packing": True, "progress": False, "max_length": 512,
    })
    with pytest.raises(UserError, match="(?s)attend to each other.*toolgym-test-mask-ignoring.*packing: false"):
        run_sft(cfg, model=mask_ignoring_model, tokenizer=smol_tokenizer)
    assert not (tmp_path / "run" / "checkpoints").exists()
    # The same model trains unpacked: every row has its own padded sequence, so nothing can leak.
    cfg.packing = False
    assert run_sft(cfg, model=mask_ignoring_model, tokenizer=smol_tokenizer).global_step == 1
