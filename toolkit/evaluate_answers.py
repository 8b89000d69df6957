"""Reading one model answer: the native tool channel or the presentation's parser, strictly or leniently.

Shared by turn evaluation (:mod:`toolkit.evaluate`) and environment evaluation (:mod:`toolkit.evaluate_env`),
so both read answers by the same rules.
"""

from __future__ import annotations

from typing import Any, Literal

from toolkit.backends.base import ChatResponse
from toolkit.presentations.base import Presentation
from toolkit.specs import ToolCall, ToolSpec

__all__ = ["Mode", "prompted_tool_results", "read_answer"]

Mode = Literal["strict", "lenient"]


def prompted_tool_results(messages: list[dict[str, Any]], pres: Presentation) -> list[dict[str, Any]]:
    """APIs take ``tool`` messages only after native ``tool_calls``; prompted arms get results as user text.

    Consecutive results merge into one user message, each rendered by the presentation's ``render_result``.
    """
    out: list[dict[str, Any]] = []
    for m in messages:
        if m.get("role") == "tool":
            text = pres.render_result(m.get("content") or "", name=m.get("name"))
            if out and out[-1].get("role") == "user" and out[-1].get("_results"):
                out[-1]["content"] += "\n" + text
            else:
                out.append({"role": "user", "content": text, "_results": True})
        else:
            out.append(m)
    return [{k: v for k, v in m.items() if k != "_results"} for m in out]


def read_answer(
    response: ChatResponse,
    pres: Presentation,
    specs: list[ToolSpec],
    *,
    native: bool,
    channel: bool,
    mode: Mode,
) -> tuple[list[ToolCall], str | None, bool]:
    """(calls, parse error, came through the native channel) for one answer read in ``mode``.

    ``channel`` says the backend has a tool-call channel apart from the text (an API); a local model's native
    calls are text in its template's syntax, so for it the text is the channel.
    """
    if response.error is not None:
        return [], f"no answer: {response.error}", False
    if response.tool_calls or response.malformed_tool_calls:
        if response.malformed_tool_calls:
            bad = response.malformed_tool_calls[0]
            return [], f"native tool call {bad.name!r} has unreadable arguments: {bad.error}", True
        return list(response.tool_calls), None, True
    parsed = pres.parse(response.text, specs, strict=mode == "strict")
    if parsed.error is not None:
        return [], parsed.error, False
    if native and channel and mode == "strict" and parsed.had_call_syntax:
        return [], "calls written as text although native tool calling was offered", False
    return list(parsed.calls), None, False
