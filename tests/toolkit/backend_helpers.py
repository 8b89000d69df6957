"""What the backend and local-evaluation tests share: one tool, a one-message request, the bundled tokenizer and a
tiny randomly initialised Llama built from a config."""

from __future__ import annotations

from typing import Any

from toolkit.backends import ChatRequest, bundled_smollm2
from toolkit.specs import ToolSpec

WEATHER = ToolSpec(
    name="get_weather",
    description="Weather for a city.",
    input_schema={"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
)


def ask(text: str, **kwargs: Any) -> ChatRequest:
    return ChatRequest(messages=[{"role": "user", "content": text}], **kwargs)


def smollm2_tokenizer() -> Any:
    from transformers import AutoTokenizer

    directory, gguf = bundled_smollm2()
    return AutoTokenizer.from_pretrained(directory, gguf_file=gguf)


def tiny_llama(tokenizer: Any, context: int) -> Any:
    """Two layers, d = 32, seeded: fast enough for every test, random enough never to emit a gold call."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(0)
    config = LlamaConfig(
        vocab_size=len(tokenizer), hidden_size=32, intermediate_size=64, num_hidden_layers=2,
        num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=context,
        eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id,
    )
    return LlamaForCausalLM(config).eval()
