"""Sampling rollout turns from the policy being trained, without recomputing attention over text already seen.

A GRPO batch is ``num_generations`` copies of each prompt, and a multi-turn rollout's next turn is its previous
prompt plus the turn it generated plus a few tool-result tokens. Plain ``model.generate`` per turn prefills all of
it again: on the bundled 135M model with ~1.3k-token tool prompts, prefill was ~75% of generation time.
:class:`TurnSampler` keeps the key/value cache of its last turn and starts the next one from it:

* **first turn** — each distinct prompt is prefilled once and its cache copied to every rollout of its group;
* **later turns** — each row's cache is cut to the tokens its next prompt keeps (its prompt and the tokens it
  generated up to its stop token) and re-laid-out for the new left padding; only the new tail (tool results,
  the next generation prompt) runs through the model.

Positions follow the attention mask (``cumsum - 1``), exactly as ``generate`` derives them, so a resumed cache holds
the keys a full prefill would compute; the test compares greedy outputs with and without reuse. Reuse needs
transformers' ``DynamicCache`` with full-attention layers; any other cache (sliding window, static, quantized) is
prefilled as usual. A sampler serves one rollout batch: weights change after it, so its cache must not outlive it.
"""

from __future__ import annotations

import copy
import inspect
from collections.abc import Sequence
from typing import Any

__all__ = ["TurnSampler"]


class TurnSampler:
    """``sampler(model, batch_ids, budgets) -> new_ids``: one sampled turn per row, each cut at its budget and
    just after its first stop token.

    Args:
        generation_config: ``transformers.GenerationConfig`` to sample with (``max_new_tokens`` is set per call).
        pad_id: Token used for left padding.
        stop_ids: Tokens that end a turn.
        reuse_cache: Resume from the last turn's cache (False: plain ``generate`` per turn).
        device: Where inputs go (default: the model's first parameter's device).
    """

    def __init__(self, generation_config: Any, *, pad_id: int, stop_ids: Sequence[int], reuse_cache: bool = True,
                 device: Any = None):
        self.generation_config = generation_config
        self.pad_id = int(pad_id)
        self.stop = {int(i) for i in stop_ids}
        self.reuse_cache = reuse_cache
        self.device = device
        self._cache: Any = None
        self._rows: list[list[int]] = []  # tokens held by each cache row
        self._pads: list[int] = []  # left padding of each cache row
        self.prefilled_tokens = 0  # prompt tokens run through the model, padding excluded (for tests and benchmarks)

    def __call__(self, model: Any, batch: list[list[int]], budgets: list[int]) -> list[list[int]]:
        import torch

        width = max(len(b) for b in batch)
        device = self.device or _device_of(model)
        ids = torch.tensor([[self.pad_id] * (width - len(b)) + b for b in batch], device=device)
        mask = torch.tensor([[0] * (width - len(b)) + [1] * len(b) for b in batch], device=device)
        config = copy.deepcopy(self.generation_config)
        config.max_new_tokens = max(budgets)
        config.return_dict_in_generate = True
        kwargs: dict[str, Any] = {}
        cache = self._resume(model, batch, width) if self.reuse_cache else None
        if cache is not None:
            kwargs["past_key_values"] = cache
        fresh = width - (cache.get_seq_length() if cache is not None else 0)
        self.prefilled_tokens += sum(min(len(b), fresh) for b in batch)
        with torch.no_grad():
            out = model.generate(input_ids=ids, attention_mask=mask, generation_config=config, **kwargs)
        rows = out.sequences[:, width:].tolist()
        result = []
        for row, budget in zip(rows, budgets, strict=True):
            row = row[:budget]
            end = next((i for i, t in enumerate(row) if t in self.stop), None)
            result.append(row[: end + 1] if end is not None else row)
        self._remember(out.past_key_values if self.reuse_cache else None, batch, result, width)
        return result

    # -- cache bookkeeping ---------------------------------------------------------------------------------------

    def _remember(self, cache: Any, batch: list[list[int]], new: list[list[int]], width: int) -> None:
        if not is_full_attention_cache(cache):
            self._cache, self._rows, self._pads = None, [], []
            return
        fed = cache.get_seq_length() - width  # generated tokens the model has seen (the last one never was)
        self._cache = cache
        self._rows = [b + n[:fed] for b, n in zip(batch, new, strict=True)]
        self._pads = [width - len(b) for b in batch]

    def _resume(self, model: Any, batch: list[list[int]], width: int) -> Any:
        """A cache holding, for every row, a prefix of its tokens at its new left-padded positions (or None)."""
        sources = [self._source(b) for b in batch]
        if any(s is None for s in sources):  # a new batch (first turn): prefill each distinct prompt once
            cache, rows, pads = self._prefill_distinct(model, batch)
            if cache is None:
                return None
            self._cache, self._rows, self._pads = cache, rows, pads
            sources = [self._source(b) for b in batch]
        assert all(s is not None for s in sources)
        kept = [min(length, len(b) - 1) for b, (_, length) in zip(batch, sources, strict=True)]  # type: ignore[misc]
        tail = max(len(b) - k for b, k in zip(batch, kept, strict=True))
        cached = width - tail
        if cached <= 0:
            return None
        import torch

        device = self._cache.layers[0].keys.device
        src_rows = torch.tensor([s[0] for s in sources], device=device)  # type: ignore[index]
        # new position t of row r holds its token t - pad_r, which sits at pad_m + (t - pad_r) in source row m
        offset = torch.tensor([self._pads[m] - (width - len(b)) for b, (m, _) in zip(batch, sources, strict=True)],  # type: ignore[misc]
                              device=device)
        index = torch.arange(cached, device=device)[None, :] + offset[:, None]
        pad = torch.tensor([width - len(b) for b in batch], device=device)
        index = torch.where(torch.arange(cached, device=device)[None, :] >= pad[:, None], index, 0)
        cache = self._cache
        for layer in cache.layers:
            for name in ("keys", "values"):
                tensor = getattr(layer, name).index_select(0, src_rows)
                gather = index[:, None, :, None].expand(-1, tensor.shape[1], -1, tensor.shape[3])
                setattr(layer, name, torch.gather(tensor, 2, gather))
        self._cache, self._rows, self._pads = None, [], []  # the layers now belong to the new batch
        return cache

    def _source(self, tokens: list[int]) -> tuple[int, int] | None:
        """(cache row, tokens it holds) of the longest cached row that is a prefix of ``tokens``."""
        best = None
        for m, row in enumerate(self._rows):
            if len(row) <= len(tokens) and tokens[: len(row)] == row and (best is None or len(row) > best[1]):
                best = (m, len(row))
        return best if best is not None and best[1] > 0 else None

    def _prefill_distinct(self, model: Any, batch: list[list[int]]) -> tuple[Any, list[list[int]], list[int]]:
        import torch

        distinct = list(dict.fromkeys(tuple(b[:-1]) for b in batch if len(b) > 1))
        if not distinct:
            return None, [], []
        width = max(len(d) for d in distinct)
        device = self.device or _device_of(model)
        ids = torch.tensor([[self.pad_id] * (width - len(d)) + list(d) for d in distinct], device=device)
        mask = torch.tensor([[0] * (width - len(d)) + [1] * len(d) for d in distinct], device=device)
        positions = (mask.cumsum(-1) - 1).masked_fill(mask == 0, 0)  # as generate derives them
        extra = {"logits_to_keep": 1} if _accepts(model, "logits_to_keep") else {}
        with torch.no_grad():
            out = model(input_ids=ids, attention_mask=mask, position_ids=positions, use_cache=True, **extra)
        self.prefilled_tokens += int(mask.sum())
        if not is_full_attention_cache(out.past_key_values):
            return None, [], []
        return out.past_key_values, [list(d) for d in distinct], [width - len(d) for d in distinct]


def is_full_attention_cache(cache: Any) -> bool:
    """Whether ``cache`` is a ``DynamicCache`` whose layers all hold full-attention keys and values (the layout
    whose rows can be selected and extended)."""
    from transformers.cache_utils import DynamicCache, DynamicLayer

    return (
        isinstance(cache, DynamicCache)
        and bool(cache.layers)
        and all(type(layer) is DynamicLayer and layer.keys is not None for layer in cache.layers)
    )


def _device_of(model: Any) -> Any:
    return next(model.parameters()).device


def _accepts(model: Any, name: str) -> bool:
    base = model.get_base_model() if hasattr(model, "get_base_model") else model
    try:
        return name in inspect.signature(base.forward).parameters
    except (TypeError, ValueError):
        return False
