"""OpenAI chat fine-tuning JSONL: ``{"messages": [...], "tools": [...], "parallel_tool_calls": true?}``.

Follows OpenAI's supervised chat fine-tuning input: call ``arguments`` are JSON *strings*, every call has an
``id`` and its tool message a matching ``tool_call_id``, and ``tools`` lists OpenAI function tools.
``parallel_tool_calls`` is written (as ``true``) only on rows where one assistant message makes several calls;
elsewhere it is left out, so the API default applies. An assistant turn the record keeps out of training
(``train: false``, e.g. the wrong first try of an error-recovery example) gets OpenAI's ``"weight": 0``.

The format has no place for extra keys, so the subagent links (``id``, ``parent_id``, ``parent_call_id``) are
not in the row: :func:`export_openai_with_links` returns them beside the rows, and ``toolgym export`` writes
them to a line-aligned ``<split>.links.jsonl`` sidecar.
"""

from __future__ import annotations

from typing import Any

from toolkit.exporters._common import RowLink, chat_messages, flatten_subagents, openai_tool
from toolkit.records import Trajectory

__all__ = ["export_openai", "export_openai_with_links", "openai_row"]


def openai_row(node: Trajectory, link: RowLink | None = None) -> dict[str, Any]:
    """The fine-tuning row of one agent's conversation; ``link`` is accepted for symmetry and not written."""
    messages = chat_messages(node, string_arguments=True, tool_name=False)
    for exported, message in zip(messages, node.messages, strict=True):
        if message.role == "assistant" and message.train is False:
            exported["weight"] = 0  # OpenAI's per-message switch: shown in context, not trained on
    row: dict[str, Any] = {"messages": messages}
    if node.tools:
        row["tools"] = [openai_tool(t) for t in node.tools]
    if any(len(m.tool_calls or []) > 1 for m in node.messages):
        row["parallel_tool_calls"] = True
    return row


def export_openai_with_links(trajectory: Trajectory) -> list[tuple[dict[str, Any], RowLink]]:
    """Rows for the record and each subagent, each with the link that the row itself cannot carry."""
    return [(openai_row(node), link) for node, link in flatten_subagents(trajectory)]


def export_openai(trajectory: Trajectory) -> list[dict[str, Any]]:
    """One OpenAI fine-tuning row per agent (record first, then subagents depth first)."""
    return [row for row, _ in export_openai_with_links(trajectory)]
