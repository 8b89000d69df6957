"""ShareGPT rows as LLaMA-Factory reads them (``formatting: sharegpt`` with a ``tools`` column).

``{"conversations": [{"from": "human"|"gpt"|"function_call"|"observation", "value": str}, ...],
"system": str, "tools": "<JSON string: list of function objects>", "metadata": {...}}``

* An assistant turn with calls becomes one ``function_call`` turn whose value is the JSON of
  ``{"name", "arguments"}`` (a JSON *list* of them for parallel calls, which LLaMA-Factory accepts).
* The tool messages answering that turn become one ``observation`` turn: the result text for a single call,
  and for parallel calls a JSON list of ``{"name", "content"}`` in call order.
* LLaMA-Factory requires turns to alternate (human/observation, then gpt/function_call) and to end on the
  assistant's side; a record that does not is refused with :class:`ExportError` rather than silently repaired.
* Text that an assistant writes *beside* its calls has no slot in a ``function_call`` turn; it is refused too
  (export to ``trl`` or ``hermes``, which keep it).
* Subagent links go in the extra ``metadata`` column, which LLaMA-Factory ignores unless it is mapped.
"""

from __future__ import annotations

from typing import Any

from toolkit.exporters._common import ExportError, RowLink, dumps, flatten_subagents, openai_tool
from toolkit.exporters._common import tool_names_by_call_id as _names
from toolkit.records import Trajectory

__all__ = ["export_sharegpt", "sharegpt_row"]

_ODD = ("human", "observation")  # turns 0, 2, 4, ... (LLaMA-Factory's alternation rule)
_EVEN = ("gpt", "function_call")


def _system(node: Trajectory) -> str:
    systems = [i for i, m in enumerate(node.messages) if m.role == "system"]
    if not systems:
        return ""
    if systems != [0]:
        raise ExportError(
            node.id, "ShareGPT keeps one system prompt, first; this record has a system message elsewhere"
        )
    return node.messages[0].content or ""


def _conversations(node: Trajectory) -> list[dict[str, str]]:
    names = _names(node.messages)
    turns: list[dict[str, str]] = []
    pending: list[dict[str, str]] = []  # tool results of the current assistant turn

    def flush() -> None:
        if not pending:
            return
        value = pending[0]["content"] if len(pending) == 1 else dumps(pending)
        turns.append({"from": "observation", "value": value})
        pending.clear()

    for m in node.messages:
        if m.role == "system":
            continue
        if m.role == "tool":
            name = m.name or names.get(m.tool_call_id or "", "")
            pending.append({"name": name, "content": m.content or ""})
            continue
        flush()
        if m.role == "user":
            turns.append({"from": "human", "value": m.content or ""})
        elif m.tool_calls:
            if m.content and m.content.strip():
                raise ExportError(
                    node.id,
                    "an assistant message has both text and tool calls; ShareGPT's function_call turn holds "
                    "only calls: export this record as trl or hermes, or move the text into its own turn",
                )
            calls = [{"name": tc.function.name, "arguments": tc.function.arguments} for tc in m.tool_calls]
            turns.append({"from": "function_call", "value": dumps(calls[0] if len(calls) == 1 else calls)})
        else:
            turns.append({"from": "gpt", "value": m.content or ""})
    flush()
    for i, t in enumerate(turns):
        allowed = _ODD if i % 2 == 0 else _EVEN
        if t["from"] not in allowed:
            raise ExportError(
                node.id,
                f"turn {i} is {t['from']!r} but LLaMA-Factory's ShareGPT needs one of {allowed} there (turns "
                "must alternate user/tool side and assistant side); merge or drop the offending message",
            )
    if not turns or turns[-1]["from"] not in _EVEN:
        raise ExportError(node.id, "ShareGPT rows must end with an assistant turn (gpt or function_call)")
    return turns


def export_sharegpt(trajectory: Trajectory) -> list[dict[str, Any]]:
    """One LLaMA-Factory ShareGPT row per agent (record first, then subagents depth first)."""
    return [sharegpt_row(node, link) for node, link in flatten_subagents(trajectory)]


def sharegpt_row(node: Trajectory, link: RowLink) -> dict[str, Any]:
    """The ShareGPT row of one agent's conversation; :class:`ExportError` if the format cannot hold it."""
    return {
        "conversations": _conversations(node),
        "system": _system(node),
        "tools": dumps([openai_tool(t)["function"] for t in node.tools]),
        "metadata": link.to_dict(),
    }
