"""How many prompt tokens the tool definitions cost in a presentation (evaluation.md §7.3 item 8, M10).

With a tokenizer (a local model) the count is exact for that model: the same one-message conversation is
rendered through the chat template with and without the tools, and the difference in tokens is the tools'
cost (system-prompt wrapper and instructions included, since they exist only because tools are offered).

Without a tokenizer (an API renders the prompt server-side) it is an approximation, documented as such:
characters / 4 (rounded up) of the text the tools add — the prompted system prompt's extra text, or for native
calling the JSON of the ``tools`` list, which is what the server renders from (its real template adds its own
wrapper, not counted).
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from typing import Any

from toolkit.chat_format import prompt_for, render_chat
from toolkit.presentations import get_presentation
from toolkit.specs import ToolSpec

__all__ = ["CHARS_PER_TOKEN", "tool_definition_tokens"]

CHARS_PER_TOKEN = 4
_PROBE = [{"role": "user", "content": "x"}]


def tool_definition_tokens(
    specs: Sequence[ToolSpec], presentation: str, *, tokenizer: Any = None, native: bool | None = None
) -> tuple[int, str]:
    """``(tokens, method)``; method is ``"tokenizer"`` (exact) or ``"chars/4"`` (approximation)."""
    specs = list(specs)
    if not specs:
        return 0, "tokenizer" if tokenizer is not None else f"chars/{CHARS_PER_TOKEN}"
    if tokenizer is not None:
        with_tools = prompt_for(_PROBE, specs, presentation, tokenizer=tokenizer, native=native)
        without = prompt_for(_PROBE, [], presentation, tokenizer=tokenizer, native=False)
        a = render_chat(with_tools, tokenizer, add_generation_prompt=True)
        b = render_chat(without, tokenizer, add_generation_prompt=True)
        n = len(tokenizer(a, add_special_tokens=False)["input_ids"])
        m = len(tokenizer(b, add_special_tokens=False)["input_ids"])
        return max(0, n - m), "tokenizer"
    example = prompt_for(_PROBE, specs, presentation, native=native)
    if example.tools:
        text = json.dumps(example.tools, ensure_ascii=False)
    else:
        text = get_presentation(presentation).system_prompt(specs)
    return math.ceil(len(text) / CHARS_PER_TOKEN), f"chars/{CHARS_PER_TOKEN}"
