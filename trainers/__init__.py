"""Training on ToolGym trajectories: chat-template handling, loss masks, the template gate, and SFT.

Importing this package loads neither torch nor transformers; :func:`trainers.sft.run_sft` does, when it runs.
"""

from trainers.chat_templates import (
    CHATML_TEMPLATE,
    PLAIN_TEMPLATE,
    TemplateChoice,
    choose_template,
    load_template_info,
)
from trainers.gate import GateReport, check_examples, run_gate
from trainers.lm_head import compact_lm_head
from trainers.masks import IGNORE_INDEX, TokenizedExample, tokenize_example
from trainers.models import ModelRef, bundled_gguf, load_model, load_tokenizer, resolve_model
from trainers.sft_config import SFTRunConfig, load_sft_config

__all__ = [
    "CHATML_TEMPLATE",
    "IGNORE_INDEX",
    "PLAIN_TEMPLATE",
    "GateReport",
    "ModelRef",
    "SFTRunConfig",
    "TemplateChoice",
    "TokenizedExample",
    "bundled_gguf",
    "check_examples",
    "choose_template",
    "compact_lm_head",
    "load_model",
    "load_sft_config",
    "load_template_info",
    "load_tokenizer",
    "resolve_model",
    "run_gate",
    "tokenize_example",
]
