"""Packing guard: before a packed run, check on the real model that packed conversations stay apart.

``packing: true`` hands TRL ToolGym's pre-tokenized rows (``input_ids`` and our ``-100`` ``labels``);
``trl.data_utils.pack_dataset`` (strategy ``bfd``) packs both columns, and the padding-free
``trl.trainer.sft_trainer.DataCollatorForLanguageModeling`` concatenates a batch into one row with
``position_ids`` restarting at 0 per conversation, the collator's ``cu_seq_lens_q/k`` and **no**
``attention_mask``. Isolation is then the model's job: with no 2D mask and no cache (``SFTTrainer.compute_loss``
passes ``use_cache=False``), ``transformers.masking_utils._preprocess_mask_arguments`` runs
``find_packed_sequence_indices(position_ids)`` and ``create_causal_mask`` restricts each token to its own
conversation (eager, sdpa, flex); FlashAttention kernels use ``cu_seq_lens`` instead. A model whose attention
ignores both (a custom attention function, an old remote-code model) would silently train every conversation
on the ones packed before it, so this runs the model once on a collated probe and refuses packing if a
conversation's logits depend on its neighbour. ``tests/trainers/test_sft_packing.py`` checks masks and
isolation on real packed batches.
"""

from __future__ import annotations

from typing import Any

from toolkit.errors import UserError

__all__ = ["check_packing_isolation"]

_PROBE_LENGTH = 6


def _probe_batches(vocab_size: int, pad_token_id: int) -> tuple[dict[str, Any], dict[str, Any]]:
    """Two padding-free batches, collated exactly as the trainer collates: a different first conversation,
    the same second one."""
    from trl.trainer.sft_trainer import DataCollatorForLanguageModeling

    def ids(start: int) -> list[int]:
        return [(start + 7 * i) % vocab_size for i in range(_PROBE_LENGTH)]

    collate = DataCollatorForLanguageModeling(pad_token_id=pad_token_id, padding_free=True)
    second = ids(301)
    batches = []
    for first in (ids(101), ids(203)):
        row = first + second
        lengths = [_PROBE_LENGTH, _PROBE_LENGTH]
        batches.append(collate([{"input_ids": row, "labels": row, "seq_lengths": lengths}]))
    return batches[0], batches[1]


def check_packing_isolation(model: Any, tokenizer: Any) -> None:
    """Raise :class:`UserError` if ``model`` lets a packed conversation attend to the one before it."""
    import torch

    config = model.config.get_text_config() if hasattr(model.config, "get_text_config") else model.config
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    device = next(model.parameters()).device
    was_training = model.training
    model.eval()
    try:
        logits = []
        with torch.no_grad():
            for batch in _probe_batches(config.vocab_size, pad):
                inputs = {k: v.to(device) if torch.is_tensor(v) else v for k, v in batch.items() if k != "labels"}
                logits.append(model(**inputs, use_cache=False).logits[0, _PROBE_LENGTH:].float())
    finally:
        model.train(was_training)
    # Isolated, the second conversation's logits are computed from the same tokens at the same positions with the
    # first one's contributions masked to exactly zero, so the two runs agree to rounding; attending across the
    # boundary changes them by far more.
    diff = (logits[0] - logits[1]).abs().max().item()
    scale = logits[1].abs().max().item()
    if diff > 1e-3 * max(scale, 1e-3):
        attention = getattr(config, "_attn_implementation", None) or "unknown"
        raise UserError(
            f"packing: true would let packed conversations attend to each other with this model (attention "
            f"implementation {attention!r} ignores the restarting position_ids; logits moved by {diff:.3g}). "
            "Set packing: false, or load the model with attn_implementation='sdpa', 'eager' or "
            "'flash_attention_2'"
        )
