"""``TurnSampler``: rollout turns sampled with the attention cache carried across a group and across turns give
the tokens a full prefill gives, while running far fewer tokens through the model."""

from __future__ import annotations

import pytest

from trainers.rl_sampler import TurnSampler


@pytest.fixture
def model(smol_tokenizer):
    """A tiny random Llama with large initial weights, so its greedy tokens depend on every token of the context (at
    the default scale it repeats one token whatever it is given, and a broken cache would go unnoticed)."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(0)
    tok = smol_tokenizer
    config = LlamaConfig(
        vocab_size=len(tok), hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=4,
        num_key_value_heads=2, max_position_embeddings=2048, tie_word_embeddings=True, initializer_range=0.3,
        pad_token_id=tok.pad_token_id, eos_token_id=tok.eos_token_id, bos_token_id=tok.bos_token_id,
    )
    return LlamaForCausalLM(config).eval()


def _greedy(tokenizer):
    from transformers import GenerationConfig

    return GenerationConfig(do_sample=False, pad_token_id=tokenizer.pad_token_id, eos_token_id=tokenizer.eos_token_id)


def _turns(model, sampler, first, suffixes, budgets):
    """Two turns of a rollout batch: sample, append each row's turn and a per-row suffix (tool results), sample."""
    out1 = sampler(model, first, budgets)
    second = [p + n + s for p, n, s in zip(first, out1, suffixes, strict=True)]
    out2 = sampler(model, second, budgets)
    return out1, out2


@pytest.mark.parametrize("long_tail_last", [False, True])
@pytest.mark.parametrize("stop_early", [False, True])
def test_reused_caches_give_the_tokens_a_full_prefill_gives(model, smol_tokenizer, stop_early, long_tail_last):
    tok = smol_tokenizer
    a = tok("Compute 17 * 23 with the calculator, please.")["input_ids"]
    b = tok("What is the weather like in Paris today? Use the tools you have.")["input_ids"]
    first = [a, a, b, b]  # two GRPO groups of two rollouts, different prompt lengths
    texts = ["<tool> 391", "<tool> error: bad input here", "<tool> 12 C", "ok"]
    if long_tail_last:  # the longest tail on a row that used its whole budget: every cached token of it is reused
        texts.reverse()
    suffixes = [tok(s)["input_ids"] for s in texts]
    budgets = [6, 6, 8, 8]
    plain = TurnSampler(_greedy(tok), pad_id=tok.pad_token_id, stop_ids=[tok.eos_token_id], reuse_cache=False)
    expected = _turns(model, plain, first, suffixes, budgets)
    stop = [tok.eos_token_id]
    if stop_early:  # row 2 stops after one token in both turns' reckoning; the others run on past it
        stop.append(expected[0][2][0])
        plain = TurnSampler(_greedy(tok), pad_id=tok.pad_token_id, stop_ids=stop, reuse_cache=False)
        expected = _turns(model, plain, first, suffixes, budgets)
        assert len(expected[0][2]) == 1 and max(len(r) for r in expected[0]) > 1
    reuse = TurnSampler(_greedy(tok), pad_id=tok.pad_token_id, stop_ids=stop, reuse_cache=True)
    got = _turns(model, reuse, first, suffixes, budgets)
    assert got == expected
    # first turn: each distinct prompt once (not four times); second turn: only the new tails
    assert reuse.prefilled_tokens < plain.prefilled_tokens / 2


def test_a_batch_of_new_prompts_starts_from_a_fresh_prefill(model, smol_tokenizer):
    tok = smol_tokenizer
    sampler = TurnSampler(_greedy(tok), pad_id=tok.pad_token_id, stop_ids=[tok.eos_token_id])
    plain = TurnSampler(_greedy(tok), pad_id=tok.pad_token_id, stop_ids=[tok.eos_token_id], reuse_cache=False)
    one = [tok("first prompt here")["input_ids"]] * 2
    two = [tok("an unrelated second prompt, longer than the first")["input_ids"]] * 2
    assert sampler(model, one, [4, 4]) == plain(model, one, [4, 4])
    assert sampler(model, two, [5, 5]) == plain(model, two, [5, 5])  # nothing of batch one leaks into batch two
