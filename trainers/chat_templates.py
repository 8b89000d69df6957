"""Which chat template a run uses, a fallback for tokenizers without one, and saving it next to the weights.

Evaluation and serving must render prompts with the template training used, so a run writes the exact template
text (``chat_template.jinja``) and what was decided about it (``template.json``: native tool calling or the
prompted fallback, the presentation, the end-of-turn tokens generation must stop on).

The fallbacks carry ``{% generation %}`` markers, so TRL's ``assistant_only_loss`` works with them too; ToolGym's
own masks (:mod:`trainers.masks`) do not need the markers.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from toolkit.errors import UserError

__all__ = [
    "CHATML_TEMPLATE",
    "PLAIN_TEMPLATE",
    "TemplateChoice",
    "fallback_template",
    "choose_template",
    "save_template",
    "load_template_info",
]

# ChatML, for tokenizers that have <|im_start|>/<|im_end|> as tokens. Tool results keep the `tool` role.
CHATML_TEMPLATE = (
    "{% for message in messages %}"
    "{% if message['role'] == 'assistant' %}"
    "{{ '<|im_start|>assistant\\n' }}{% generation %}{{ message['content'] }}{{ '<|im_end|>' }}{% endgeneration %}"
    "{{ '\\n' }}"
    "{% else %}"
    "{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>\\n' }}"
    "{% endif %}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}"
)

# Plain role headers and the tokenizer's EOS as the end of an assistant turn, for any other tokenizer.
PLAIN_TEMPLATE = (
    "{% for message in messages %}"
    "{% if message['role'] == 'assistant' %}"
    "{{ '### assistant\\n' }}{% generation %}{{ message['content'] }}{{ eos_token }}{% endgeneration %}"
    "{{ '\\n' }}"
    "{% else %}"
    "{{ '### ' + message['role'] + '\\n' + message['content'] + '\\n' }}"
    "{% endif %}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '### assistant\\n' }}{% endif %}"
)


@dataclass(frozen=True)
class TemplateChoice:
    """The template text a run uses and where it came from (``tokenizer``, ``file:PATH``, ``inline``,
    ``fallback:chatml`` or ``fallback:plain``)."""

    text: str
    source: str


def _has_token(tokenizer: Any, token: str) -> bool:
    vocab = tokenizer.get_vocab() if hasattr(tokenizer, "get_vocab") else {}
    return token in vocab


def fallback_template(tokenizer: Any) -> TemplateChoice:
    """ChatML when the tokenizer knows its tokens, else plain headers ending assistant turns with EOS."""
    if _has_token(tokenizer, "<|im_start|>") and _has_token(tokenizer, "<|im_end|>"):
        return TemplateChoice(CHATML_TEMPLATE, "fallback:chatml")
    if not getattr(tokenizer, "eos_token", None):
        raise UserError(
            "the tokenizer has no chat template and no EOS token, so no turn can end; set chat_template to a "
            "template file, or use a model with a chat template"
        )
    return TemplateChoice(PLAIN_TEMPLATE, "fallback:plain")


def choose_template(tokenizer: Any, chat_template: str | None = None) -> TemplateChoice:
    """Pick the run's template and install it on ``tokenizer``.

    ``chat_template``: None (the tokenizer's own, or a fallback when it has none), ``"chatml"`` / ``"plain"``
    (a bundled fallback), a path to a ``.jinja`` file, or the template text itself.
    """
    if chat_template is None:
        own = getattr(tokenizer, "chat_template", None)
        if isinstance(own, dict):  # named templates: tool calling uses the tool_use one, else the default
            own = own.get("tool_use") or own.get("default")
        choice = TemplateChoice(own, "tokenizer") if own else fallback_template(tokenizer)
    elif chat_template == "chatml":
        choice = TemplateChoice(CHATML_TEMPLATE, "fallback:chatml")
    elif chat_template == "plain":
        choice = TemplateChoice(PLAIN_TEMPLATE, "fallback:plain")
    elif "{%" in chat_template or "{{" in chat_template:
        choice = TemplateChoice(chat_template, "inline")
    else:
        path = Path(chat_template)
        if not path.is_file():
            raise UserError(
                f"chat_template {chat_template!r} is neither a file nor template text; pass a .jinja file, "
                "'chatml', 'plain', or leave it unset to use the tokenizer's template"
            )
        choice = TemplateChoice(path.read_text(encoding="utf-8"), f"file:{path}")
    tokenizer.chat_template = choice.text
    return choice


def save_template(directory: Path, choice: TemplateChoice, info: dict[str, Any]) -> None:
    """Write ``chat_template.jinja`` and ``template.json`` (``info`` plus the template's source)."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "chat_template.jinja").write_text(choice.text, encoding="utf-8")
    payload = {"source": choice.source, **info}
    (directory / "template.json").write_text(json.dumps(payload, indent=2, sort_keys=True) + "\n", encoding="utf-8")


def load_template_info(directory: str | Path) -> tuple[str, dict[str, Any]]:
    """The template text and decisions a training run saved (for evaluation and serving)."""
    d = Path(directory)
    try:
        text = (d / "chat_template.jinja").read_text(encoding="utf-8")
        info = json.loads((d / "template.json").read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise UserError(
            f"{d} has no saved chat template ({exc.filename}); pass a run directory of toolgym train"
        ) from None
    return text, info
