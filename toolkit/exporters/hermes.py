"""Hermes function-calling rows (NousResearch ``hermes-function-calling-v1`` layout).

``{"conversations": [{"from": "system"|"human"|"gpt"|"tool", "value": str}, ...], "metadata": {...}}``

* The system turn lists the tools as JSON inside ``<tools></tools>`` and says how to call them; a system
  prompt of the record's own follows it after a blank line.
* Each call is ``<tool_call>\\n{"name": ..., "arguments": {...}}\\n</tool_call>`` in the ``gpt`` turn (several
  blocks for parallel calls, after any text the assistant wrote).
* The answers to one assistant turn form one ``tool`` turn of
  ``<tool_response>\\n{"name": ..., "content": ...}\\n</tool_response>`` blocks; ``content`` is the result
  text exactly as the model saw it.
* Subagent links go in the extra ``metadata`` key.
"""

from __future__ import annotations

from typing import Any

from toolkit.exporters._common import RowLink, dumps, flatten_subagents, openai_tool
from toolkit.exporters._common import tool_names_by_call_id as _names
from toolkit.records import Trajectory

__all__ = ["export_hermes", "hermes_row", "hermes_system_prompt"]

_PREAMBLE = (
    "You are a function-calling assistant. The functions you may call are described as JSON signatures "
    "inside <tools></tools> XML tags. Call a function only when it helps answer the user, and never invent "
    "argument values the user has not given. Available functions:\n<tools>\n{tools}\n</tools>\n"
    "For each call, write a JSON object with the function's name and its arguments inside "
    "<tool_call></tool_call> XML tags:\n"
    '<tool_call>\n{{"name": <function-name>, "arguments": <args-object>}}\n</tool_call>\n'
    "Results come back inside <tool_response></tool_response> XML tags."
)


def hermes_system_prompt(tools: list[dict[str, Any]], extra: str | None = None) -> str:
    """The system turn for a list of OpenAI function tools, then the record's own system prompt if any."""
    text = _PREAMBLE.format(tools="\n".join(dumps(t) for t in tools))
    return f"{text}\n\n{extra}" if extra else text


def _conversations(node: Trajectory) -> list[dict[str, str]]:
    names = _names(node.messages)
    own_system = "\n\n".join(m.content or "" for m in node.messages if m.role == "system") or None
    turns: list[dict[str, str]] = []
    if node.tools or own_system:
        tools = [openai_tool(t) for t in node.tools]
        value = hermes_system_prompt(tools, own_system) if tools else own_system or ""
        turns.append({"from": "system", "value": value})
    responses: list[str] = []

    def flush() -> None:
        if responses:
            turns.append({"from": "tool", "value": "\n".join(responses)})
            responses.clear()

    for m in node.messages:
        if m.role == "system":
            continue
        if m.role == "tool":
            name = m.name or names.get(m.tool_call_id or "", "")
            body = dumps({"name": name, "content": m.content or ""})
            responses.append(f"<tool_response>\n{body}\n</tool_response>")
            continue
        flush()
        if m.role == "user":
            turns.append({"from": "human", "value": m.content or ""})
            continue
        parts = [m.content] if m.content else []
        for tc in m.tool_calls or []:
            body = dumps({"name": tc.function.name, "arguments": tc.function.arguments})
            parts.append(f"<tool_call>\n{body}\n</tool_call>")
        turns.append({"from": "gpt", "value": "\n".join(parts)})
    flush()
    return turns


def export_hermes(trajectory: Trajectory) -> list[dict[str, Any]]:
    """One Hermes row per agent (record first, then subagents depth first)."""
    return [hermes_row(node, link) for node, link in flatten_subagents(trajectory)]


def hermes_row(node: Trajectory, link: RowLink) -> dict[str, Any]:
    """The Hermes row of one agent's conversation (no subagents: :func:`export_hermes` flattens those)."""
    return {"conversations": _conversations(node), "metadata": link.to_dict()}
