"""Score only the trained positions in TRL's fused LM head, on devices where TRL scores every position.

TRL's SFT and GRPO trainers patch the model with a fused LM head (``trl.trainer.add_fused_lm_head``): per-token
log-probabilities are computed in vocabulary tiles without building the ``(batch, seq, vocab)`` logits. On CUDA
(Triton) it projects only the positions whose label is not ``-100``; everywhere else it projects *every* position
and zeroes the ignored ones afterwards, because on compiled backends such as Neuron a data-dependent row count
would recompile the kernel on each batch. On CPU nothing recompiles, and the head is most of the work: each
position costs a ``hidden x vocab`` product (49,152 columns for SmolLM2) plus a dozen element-wise passes over
the tile. ToolGym trains on assistant tokens only (14% of the sample data's SFT tokens; a GRPO rollout's
completion), so projecting the rest is wasted time, and its tile temporaries set the step's peak memory.

``compact_lm_head`` wraps the TRL-patched forward: with ``fused_lm_head=True`` on a CPU model it runs the
backbone, gathers the labelled positions, and calls TRL's own ``ChunkedLogProbFunction`` (the same arithmetic,
forward and backward) on just those rows, then scatters the results back to the full shape. The output is TRL's
``FusedCausalLMOutput`` with the same fields, so ``SFTTrainer.compute_loss`` and ``GRPOTrainer`` read it
unchanged. Models whose head TRL rescales (soft-capping, logit scales), MoE routers, pre-shifted labels and
non-CPU devices keep TRL's path.

**Shared prompts.** A GRPO micro-batch holds several rollouts of the same prompt (a group), and with tool specs
that prompt is most of each row (~1.3k tokens against a few hundred generated on the sample suites), yet TRL's loss
pass runs the backbone over every row in full. When rows share their unlabelled prefix, the wrapper runs each
distinct prefix once (keeping its attention cache in the graph), gives every row its prefix's cache, and runs only
the rest of each row on top; gradients from all rows of a group flow back into the one prefix pass. Positions and
masks are those of the full pass, so the log-probabilities are the same up to float rounding. It needs a
full-attention ``DynamicCache`` and no gradient checkpointing (which turns the cache off); otherwise, and when no
prefix is shared (SFT batches), the backbone runs over the whole batch as before.
"""

from __future__ import annotations

import functools
import types
from typing import Any

__all__ = ["compact_lm_head", "uses_compact_lm_head"]

# TRL's own vocabulary tile width for the torch (non-Triton) fold
_VOCAB_CHUNK = 32768
# the backbone inputs TRL's loss pass sends to a text model; anything else (images, positions) runs in full
_PLAIN_INPUTS = frozenset({"input_ids", "attention_mask", "use_cache"})


def _trl_settings(inner: Any) -> dict[str, Any] | None:
    """What ``add_fused_lm_head`` patched ``inner`` with (its closure), or None when ``inner.forward`` is not
    TRL's patch. Reading them keeps the temperature and the computed fields exactly TRL's."""
    forward = inner.__dict__.get("forward")
    func = getattr(forward, "__func__", None)
    code = getattr(func, "__code__", None)
    if code is None or code.co_name != "_fused_forward" or func.__closure__ is None:
        return None
    return {name: cell.cell_contents for name, cell in zip(code.co_freevars, func.__closure__)}


def _supported(inner: Any, trl: dict[str, Any]) -> bool:
    if not {"temperature", "outputs"} <= trl.keys():
        return False
    if trl.get("cast_lm_head_to_fp32") or trl.get("final_logit_softcapping") is not None:
        return False
    if trl.get("logit_scale", 1.0) != 1.0 or trl.get("backbone_attr", "base_model") != "base_model":
        return False
    text = inner.config.get_text_config()
    if text is not inner.config or getattr(text, "output_router_logits", False):  # VLM wrappers, MoE routers
        return False
    head = inner.get_output_embeddings()
    return head is not None and head.weight.device.type == "cpu"


def _shared_prefix(model: Any, labels: Any, inputs: dict[str, Any]) -> tuple[int, Any, Any, Any] | None:
    """``(length, prefix ids, prefix mask, row -> prefix index)`` when rows share the part before their first
    scored position, else None."""
    import torch

    ids, mask = inputs.get("input_ids"), inputs.get("attention_mask")
    extra = {k: v for k, v in inputs.items() if k not in _PLAIN_INPUTS and v is not None}  # PEFT passes Nones
    if extra or ids is None or mask is None or ids.shape[0] < 2:
        return None
    if any(getattr(m, "gradient_checkpointing", False) for m in model.modules()):  # it switches the cache off
        return None
    scored = (labels[:, 1:] != -100).any(dim=0).nonzero()
    if scored.numel() == 0 or int(scored[0]) == 0:
        return None
    length = int(scored[0])  # hidden state `length` predicts the first label; the prefix stops before it
    rows = torch.cat([ids[:, :length], mask[:, :length].to(ids.dtype)], dim=1)
    distinct, index = torch.unique(rows, dim=0, return_inverse=True)
    if distinct.shape[0] == ids.shape[0]:
        return None
    return length, distinct[:, :length], distinct[:, length:].to(mask.dtype), index


def _backbone(model: Any, labels: Any, inputs: dict[str, Any]) -> Any:
    """The backbone's last hidden states for all positions but the last (those that predict a label)."""
    import torch

    from trainers.rl_sampler import is_full_attention_cache

    shared = _shared_prefix(model, labels, inputs)
    if shared is not None:
        length, prefix_ids, prefix_mask, index = shared
        cache = model.base_model(input_ids=prefix_ids, attention_mask=prefix_mask, use_cache=True).past_key_values
        if is_full_attention_cache(cache):
            for layer in cache.layers:  # each row gets its prefix's keys and values, still in the graph
                layer.keys, layer.values = layer.keys.index_select(0, index), layer.values.index_select(0, index)
            rest = model.base_model(input_ids=inputs["input_ids"][:, length:], attention_mask=inputs["attention_mask"],
                                    past_key_values=cache, use_cache=True).last_hidden_state
            # the prefix's own hidden states predict no label: zeros stand in for them
            return torch.cat([rest.new_zeros(rest.shape[0], length, rest.shape[2]), rest[:, :-1]], dim=1)
    inputs["use_cache"] = False
    return model.base_model(**inputs).last_hidden_state[:, :-1]


def uses_compact_lm_head(model: Any) -> bool:
    """Whether ``compact_lm_head`` wrapped this model (the PEFT wrapper or the causal LM itself)."""
    inner = model.get_base_model() if hasattr(model, "get_base_model") else model
    return bool(getattr(inner, "_toolgym_compact_lm_head", False))


def compact_lm_head(model: Any) -> bool:
    """Wrap the fused forward that TRL's trainer put on ``model`` (a PEFT model or a causal LM) so that, on CPU,
    only the labelled positions are projected, with TRL's own temperature and output fields.

    Returns whether the wrapper was installed; models it does not cover are left as TRL patched them.
    """
    inner = model.get_base_model() if hasattr(model, "get_base_model") else model
    if getattr(inner, "_toolgym_compact_lm_head", False):
        return True
    trl = _trl_settings(inner)
    if trl is None or not _supported(inner, trl):
        return False
    try:  # TRL's kernel and output type (TRL >= 1.16); older TRL keeps its own path
        from trl.kernels.chunked_logprob import ChunkedLogProbFunction
        from trl.trainer.utils import FusedCausalLMOutput
    except ImportError:
        return False
    trl_forward, temperature, outputs = inner.forward, trl["temperature"], tuple(trl["outputs"])

    @functools.wraps(type(inner).forward)  # `generate` validates its kwargs against this signature
    def forward(self: Any, *args: Any, fused_lm_head: bool = False, labels: Any = None, shift_labels: Any = None,
                num_items_in_batch: Any = None, **kwargs: Any) -> Any:
        if not fused_lm_head or shift_labels is not None or self.get_output_embeddings().weight.device.type != "cpu":
            return trl_forward(*args, fused_lm_head=fused_lm_head, labels=labels, shift_labels=shift_labels,
                               num_items_in_batch=num_items_in_batch, **kwargs)
        if args:  # positional inputs: the backbone takes them as they are
            hidden = self.base_model(*args, **{**kwargs, "use_cache": False}).last_hidden_state[:, :-1]
        else:
            hidden = _backbone(self, labels, kwargs)
        targets = labels[:, 1:]
        mask = targets != -100
        head = self.get_output_embeddings()
        fields = ChunkedLogProbFunction.apply(hidden[mask], head.weight, head.bias, targets[mask], temperature,
                                              _VOCAB_CHUNK, None, 1.0, outputs)
        # `masked_scatter` keeps an all-ignored batch connected to the graph (a differentiable zero)
        log_probs, entropy, _, _, is_top1 = (
            None if x is None else x.new_zeros(mask.shape).masked_scatter(mask, x) for x in fields)
        loss = -log_probs.sum() / (mask.sum().clamp(min=1) if num_items_in_batch is None else num_items_in_batch)
        return FusedCausalLMOutput(loss=loss, log_probs=log_probs, entropy=entropy, is_top1=is_top1,
                                   label_mask=mask)

    inner.forward = types.MethodType(forward, inner)
    inner._toolgym_compact_lm_head = True
    return True
