"""The evaluator on a tiny real transformers model: the batched path, exact tool-definition token counts, and
an
SFT run directory (LoRA adapter + saved chat template) loaded exactly as trained."""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import Any

import anyio
import pytest

from tests.toolkit import backend_helpers
from toolkit.backends import ChatRequest, Decoding, LocalBackend
from toolkit.chat_format import prompt_for, render_chat
from toolkit.evaluate import EvalConfig, evaluate
from toolkit.evaluate_models import load_backend
from toolkit.evaluate_tokens import tool_definition_tokens
from toolkit.records import Expected, FunctionCall, Message, Trajectory
from toolkit.specs import ToolSpec

pytestmark = pytest.mark.anyio

WEATHER = ToolSpec(
    name="get_weather",
    description="Current weather for a city.",
    input_schema={"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
)
TASKS = [
    Trajectory(
        id=f"t{i}",
        tools=[WEATHER],
        messages=[Message(role="user", content=f"Weather in {city}?")],
        expected=Expected(calls=[FunctionCall(name="get_weather", arguments={"city": city})]),
    )
    for i, city in enumerate(
        ["Paris", "Rome", "Oslo", "Lima", "a much longer city name, Llanfairpwllgwyngyll"]
    )
]


@pytest.fixture(scope="module")
def tokenizer() -> Any:
    return backend_helpers.smollm2_tokenizer()


@pytest.fixture(scope="module")
def tiny(tokenizer: Any) -> Any:
    return backend_helpers.tiny_llama(tokenizer, context=2048)


@pytest.mark.parametrize("presentation", ["python", "mcp", "json"])
async def test_batched_evaluation_on_a_tiny_model_matches_one_at_a_time(
    allow_model_requests: None, tiny: Any, tokenizer: Any, presentation: str
) -> None:
    config = EvalConfig(presentation=presentation, decoding=Decoding(max_tokens=5), batch_size=8)
    with anyio.fail_after(300):
        batched = await evaluate(TASKS, LocalBackend(model=tiny, tokenizer=tokenizer, batch_size=5), config)
        single = await evaluate(TASKS, LocalBackend(model=tiny, tokenizer=tokenizer, batch_size=1), config)
    assert [r.steps[0].text for r in batched] == [r.steps[0].text for r in single]
    assert [r.steps[0].prompt_tokens for r in batched] == [r.steps[0].prompt_tokens for r in single]
    assert all(r.steps[0].completion_tokens >= 1 for r in batched)
    # SmolLM2's template cannot render tools=, so json falls back to the prompted form (decided by probing)
    assert not any(r.native for r in batched)
    # the tool list's cost is counted with the model's own tokenizer, and it is exactly the prompt difference
    with_tools = render_chat(
        prompt_for([{"role": "user", "content": "x"}], [WEATHER], presentation, tokenizer=tokenizer),
        tokenizer,
        add_generation_prompt=True,
    )
    bare = render_chat(
        prompt_for([{"role": "user", "content": "x"}], [], presentation, tokenizer=tokenizer),
        tokenizer,
        add_generation_prompt=True,
    )
    expected = len(tokenizer(with_tools)["input_ids"]) - len(tokenizer(bare)["input_ids"])
    assert expected > 50
    assert {(r.tool_tokens, r.tool_tokens_method) for r in batched} == {(expected, "tokenizer")}


def test_token_counts_differ_between_presentations_and_the_approximation_is_documented(
    tokenizer: Any,
) -> None:
    counts = {
        p: tool_definition_tokens([WEATHER], p, tokenizer=tokenizer)[0] for p in ("python", "mcp", "json")
    }
    assert len(set(counts.values())) == 3  # three different renderings of one spec
    approx, method = tool_definition_tokens([WEATHER], "mcp")
    assert method == "chars/4" and approx > 0
    assert tool_definition_tokens([], "python", tokenizer=tokenizer) == (0, "tokenizer")


@pytest.fixture(scope="module")
def sft_run(tmp_path_factory: pytest.TempPathFactory, tiny: Any, tokenizer: Any) -> Path:
    """A run directory in the layout `toolgym train sft` writes, made with the trainers' own save_template."""
    from peft import LoraConfig, get_peft_model

    from trainers.chat_templates import PLAIN_TEMPLATE, TemplateChoice, save_template

    root = tmp_path_factory.mktemp("sft")
    base = root / "base"
    tiny.save_pretrained(base)
    tokenizer.save_pretrained(base)
    run = root / "run"
    # init_lora_weights=False: random B, so the adapter really changes the model's outputs
    with warnings.catch_warnings():  # peft's own use of a deprecated transformers property
        warnings.filterwarnings("ignore", message=".*is_gradient_checkpointing.*", category=FutureWarning)
        lora = get_peft_model(
            tiny, LoraConfig(r=4, target_modules=["q_proj", "v_proj"], init_lora_weights=False)
        )
    lora.save_pretrained(run / "adapter")
    lora.unload()  # leave the shared tiny model as it was
    tokenizer.save_pretrained(run / "adapter")
    save_template(
        run,
        TemplateChoice(PLAIN_TEMPLATE, "fallback:plain"),
        {"presentation": "python", "native": False, "stop_tokens": ["<|im_end|>"]},
    )
    (run / "run.json").write_text(json.dumps({"model": {"location": str(base), "gguf_file": None}}))
    return run


async def test_an_sft_run_directory_loads_with_its_adapter_and_saved_chat_template(
    allow_model_requests: None, sft_run: Path, tiny: Any, tokenizer: Any
) -> None:
    import torch

    backend, info = load_backend(str(sft_run), batch_size=2)
    assert (
        info.kind == "sft_run"
        and info.trained_presentation == "python"
        and info.template_source == "fallback:plain"
    )
    assert not type(backend.model).__name__.startswith("PeftModel"), "the adapter is merged for generation"
    # prompts are rendered with the template training saved, not the tokenizer's own
    prompt = backend.render_prompt(ChatRequest(messages=[{"role": "user", "content": "Hi"}]))
    assert prompt == "### user\nHi\n### assistant\n"
    # generation stops on the run's end-of-turn token as well as EOS
    im_end = tokenizer.convert_tokens_to_ids("<|im_end|>")
    eos = backend.model.generation_config.eos_token_id
    assert im_end in (eos if isinstance(eos, list) else [eos])
    # the adapter is applied: the loaded model's logits differ from the base model's, and equal (to float rounding)
    # those of the base with the adapter attached unmerged, as training ran it
    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    ids = tokenizer("Weather in Paris?", return_tensors="pt")["input_ids"]
    unmerged = PeftModel.from_pretrained(AutoModelForCausalLM.from_pretrained(str(sft_run.parent / "base")),
                                         str(sft_run / "adapter")).eval()
    with torch.inference_mode():
        merged_logits = backend.model(ids).logits
        assert not torch.allclose(merged_logits, tiny(ids).logits)
        torch.testing.assert_close(merged_logits, unmerged(ids).logits, rtol=1e-4, atol=1e-4)
    with anyio.fail_after(300):
        results = await evaluate(
            TASKS[:2], backend, EvalConfig(presentation="python", decoding=Decoding(max_tokens=4))
        )
    assert len(results) == 2 and all(r.steps[0].completion_tokens >= 1 for r in results)


def test_a_bare_adapter_directory_is_refused_with_the_fix(sft_run: Path) -> None:
    from toolkit.errors import UserError

    with pytest.raises(UserError, match="pass the SFT run directory above it"):
        load_backend(str(sft_run / "adapter"))
