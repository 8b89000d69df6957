"""Fixtures for trainer tests: the bundled SmolLM2 tokenizer (loaded once) and tiny random models."""

from __future__ import annotations

import copy

import pytest


@pytest.fixture(scope="session")
def smol_tokenizer_session():
    from trainers.models import load_tokenizer

    return load_tokenizer("bundled")


@pytest.fixture
def smol_tokenizer(smol_tokenizer_session):
    """A fresh copy per test, so a test that swaps the chat template cannot leak it into another."""
    return copy.deepcopy(smol_tokenizer_session)


@pytest.fixture(scope="session")
def tiny_model_factory(smol_tokenizer_session):
    """Builds a 2-layer Llama with hidden size 64 over SmolLM2's vocabulary, randomly initialised (seed 0)."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    def make():
        torch.manual_seed(0)
        tok = smol_tokenizer_session
        config = LlamaConfig(
            vocab_size=len(tok), hidden_size=64, intermediate_size=128, num_hidden_layers=2,
            num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=2048, tie_word_embeddings=True,
            pad_token_id=tok.pad_token_id, eos_token_id=tok.eos_token_id, bos_token_id=tok.bos_token_id,
        )
        return LlamaForCausalLM(config)

    return make


@pytest.fixture
def tiny_model(tiny_model_factory):
    return tiny_model_factory()
