"""Batched local generation vs one prompt at a time, on CPU, with identical greedy outputs.

Runs the evaluator's real prompts (tool-calling tasks rendered in a presentation through the model's chat
template)
through :class:`toolkit.backends.LocalBackend` twice — ``batch_size=B`` (left-padded batches) and
``batch_size=1``
— asserts that every greedy answer is the same, and prints completion tokens per second for both and the
speedup.

    python bench/batched_generation.py               # bundled SmolLM2-135M (GGUF, dequantised), batch 8
    python bench/batched_generation.py --tiny        # a tiny random Llama over SmolLM2's vocabulary (seconds)
    python bench/batched_generation.py --batch 8 --prompts 16 --max-tokens 48 --threads 2

Target: >= 3x at batch 8 on the bundled model. Figures are ratios measured in the same run, so they compare
across machines better than absolute rates.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import anyio

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from toolkit.backends import ChatRequest, Decoding, LocalBackend, bundled_smollm2
from toolkit.chat_format import prompt_for
from toolkit.records import Message
from toolkit.specs import ToolSpec

WEATHER = ToolSpec(
    name="get_weather",
    description="Current weather for a city.",
    input_schema={
        "type": "object",
        "properties": {
            "city": {"type": "string", "description": "City name."},
            "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
        },
        "required": ["city"],
    },
)
CONVERT = ToolSpec(
    name="convert_units",
    description="Convert a value between units.",
    input_schema={
        "type": "object",
        "properties": {
            "value": {"type": "number"},
            "from_unit": {"type": "string"},
            "to_unit": {"type": "string"},
        },
        "required": ["value", "from_unit", "to_unit"],
    },
)
QUESTIONS = [
    "What's the weather in Paris?",
    "Convert 12 km to miles.",
    "Is it raining in Oslo right now?",
    "How many pounds is 70 kg?",
    "Weather in Tokyo in fahrenheit, please.",
    "Turn 3 litres into gallons.",
    "Tell me a joke.",
    "What is the temperature in Lima and in Quito?",
    "Convert 100 F to C.",
    "Do I need an umbrella in London today?",
    "Convert 5 miles to kilometres.",
    "Weather in Cairo?",
    "How warm is it in Sydney?",
    "Convert 2.5 hours to minutes.",
    "What's the weather like in Seoul?",
    "How many metres are in 3 feet?",
]


def _backends(tiny: bool, batch: int) -> tuple[LocalBackend, LocalBackend, str]:
    from transformers import AutoTokenizer

    directory, gguf = bundled_smollm2()
    if not tiny:
        batched = LocalBackend.smollm2(batch_size=batch)
        single = LocalBackend(model=batched.model, tokenizer=batched.tokenizer, batch_size=1)
        return batched, single, f"SmolLM2-135M-Instruct ({gguf}, dequantised to float32)"
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    tokenizer = AutoTokenizer.from_pretrained(directory, gguf_file=gguf)
    torch.manual_seed(0)
    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=64,
        intermediate_size=128,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=2048,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
    )
    model = LlamaForCausalLM(config).eval()
    return (
        LocalBackend(model=model, tokenizer=tokenizer, batch_size=batch),
        LocalBackend(model=model, tokenizer=tokenizer, batch_size=1),
        "tiny random Llama (2 layers, d=64)",
    )


def _requests(n: int, presentation: str, tokenizer: object, max_tokens: int) -> list[ChatRequest]:
    out = []
    for i in range(n):
        example = prompt_for(
            [Message(role="user", content=QUESTIONS[i % len(QUESTIONS)])],
            [WEATHER, CONVERT],
            presentation,
            tokenizer=tokenizer,
        )
        out.append(
            ChatRequest(
                messages=example.messages, tools=example.tools, decoding=Decoding(max_tokens=max_tokens)
            )
        )
    return out


async def _timed(backend: LocalBackend, requests: list[ChatRequest], one_by_one: bool) -> tuple[list, float]:
    started = time.perf_counter()
    if one_by_one:
        responses = [(await backend.generate([r]))[0] for r in requests]
    else:
        responses = await backend.generate(requests)
    return responses, time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--tiny", action="store_true", help="a tiny random model instead of the bundled SmolLM2"
    )
    parser.add_argument("--batch", type=int, default=8, help="batch size (default 8)")
    parser.add_argument("--prompts", type=int, default=16, help="number of prompts (default 16)")
    parser.add_argument("--max-tokens", type=int, default=48, help="new tokens per prompt (default 48)")
    parser.add_argument("--presentation", default="python", choices=["python", "mcp", "json"])
    parser.add_argument(
        "--threads", type=int, default=None, help="torch CPU threads (default: torch's choice)"
    )
    args = parser.parse_args()

    import torch

    import toolkit.backends

    toolkit.backends.ALLOW_MODEL_REQUESTS = True
    if args.threads:
        torch.set_num_threads(args.threads)
    batched, single, label = _backends(args.tiny, args.batch)
    requests = _requests(args.prompts, args.presentation, batched.tokenizer, args.max_tokens)
    anyio.run(_timed, batched, requests[:1], False)  # warm-up (first-call allocations)

    together, t_batched = anyio.run(_timed, batched, requests, False)
    alone, t_single = anyio.run(_timed, single, requests, True)
    mismatched = [i for i, (a, b) in enumerate(zip(together, alone, strict=True)) if a.text != b.text]
    if mismatched:
        i = mismatched[0]
        print(
            f"FAIL: {len(mismatched)} of {len(requests)} greedy outputs differ; first at prompt {i}:\n"
            f"  batched: {together[i].text!r}\n  single:  {alone[i].text!r}"
        )
        return 1
    tokens = sum(r.usage.completion_tokens for r in together)
    assert tokens == sum(r.usage.completion_tokens for r in alone)
    prompt_tokens = [r.usage.prompt_tokens for r in together]
    print(f"model: {label}; device cpu, torch threads {torch.get_num_threads()}")
    print(
        f"{len(requests)} prompts ({args.presentation} presentation, "
        f"{min(prompt_tokens)}-{max(prompt_tokens)} "
        f"prompt tokens), up to {args.max_tokens} new tokens each, greedy; {tokens} completion tokens in all"
    )
    print(f"one at a time : {t_single:7.2f} s  {tokens / t_single:7.1f} tokens/s")
    print(f"batch of {args.batch:<4} : {t_batched:7.2f} s  {tokens / t_batched:7.1f} tokens/s")
    print(
        f"speedup       : {t_single / t_batched:.2f}x   (outputs identical: {len(requests)}/{len(requests)})"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
