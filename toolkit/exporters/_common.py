"""What every exporter shares: subagent flattening, row links, OpenAI-shaped tools and messages."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from toolkit.errors import ToolGymError
from toolkit.records import Message, Trajectory
from toolkit.specs import openai_tool

__all__ = [
    "ExportError",
    "RowLink",
    "flatten_subagents",
    "openai_tool",
    "chat_messages",
    "dumps",
    "tool_names_by_call_id",
]


class ExportError(ToolGymError):
    """One record cannot be written in the chosen format; the message names the record, problem and fix.

    A bad record is data: the ``toolgym export`` command reports it, skips it and counts it in the manifest.
    """

    def __init__(self, record_id: str, problem: str):
        self.record_id = record_id
        self.problem = problem
        super().__init__(f"record {record_id!r}: {problem}")


@dataclass(frozen=True)
class RowLink:
    """Where an exported row sits in its record's agent tree.

    ``parent_id`` / ``parent_call_id`` are None for the top-level agent; a subagent's row names the record of
    the agent that launched it and the id of the delegate call that did. ``root_id`` is the id of the record
    on disk, so every row of one record can be found again after export (and splits never separate them).
    """

    id: str
    parent_id: str | None
    parent_call_id: str | None
    root_id: str
    depth: int

    def to_dict(self) -> dict[str, Any]:
        # All keys always present: rows of one file then share one shape, which Arrow-based loaders need.
        return {
            "id": self.id,
            "parent_id": self.parent_id,
            "parent_call_id": self.parent_call_id,
            "root_id": self.root_id,
            "depth": self.depth,
        }


def flatten_subagents(trajectory: Trajectory) -> list[tuple[Trajectory, RowLink]]:
    """The record and every nested subagent trajectory, depth first, in the order of the delegate calls.

    Raises :class:`ExportError` when a subagent is keyed by an id that no tool call of its parent carries,
    since its link would point nowhere.
    """
    out: list[tuple[Trajectory, RowLink]] = []

    def visit(node: Trajectory, link: RowLink) -> None:
        out.append((node, link))
        call_ids = [c.id for m in node.messages for c in m.tool_calls or []]
        unknown = sorted(set(node.subagents) - set(call_ids))
        if unknown:
            raise ExportError(
                link.root_id,
                f"subagent(s) {unknown} of {node.id!r} are keyed by ids that none of its tool calls carries; "
                "key each subagent by the id of the delegate call that launched it",
            )
        for call_id in call_ids:
            child = node.subagents.get(call_id)
            if child is not None:
                visit(child, RowLink(child.id, node.id, call_id, link.root_id, link.depth + 1))

    visit(trajectory, RowLink(trajectory.id, None, None, trajectory.id, 0))
    return out


def dumps(value: Any) -> str:
    """Compact-but-readable JSON as exported text: ", " / ": " separators, non-ASCII kept, key order kept."""
    return json.dumps(value, ensure_ascii=False)


def tool_names_by_call_id(messages: list[Message]) -> dict[str, str]:
    return {tc.id: tc.function.name for m in messages for tc in m.tool_calls or []}


def chat_messages(trajectory: Trajectory, *, string_arguments: bool, tool_name: bool) -> list[dict[str, Any]]:
    """The record's messages in OpenAI chat shape, with only the keys chat formats know.

    ``string_arguments`` writes call arguments as JSON strings (OpenAI's wire format) instead of objects.
    ``tool_name`` puts the tool's name on tool messages (filled in from the call when the record lacks it),
    which several HF chat templates print. ``is_error`` is dropped: the error text is in the content the model
    saw.
    """
    names = tool_names_by_call_id(trajectory.messages)
    out: list[dict[str, Any]] = []
    for m in trajectory.messages:
        row: dict[str, Any] = {"role": m.role}
        if m.content is not None:
            row["content"] = m.content
        if m.role == "assistant" and m.tool_calls:
            row["tool_calls"] = [
                {
                    "id": tc.id,
                    "type": "function",
                    "function": {
                        "name": tc.function.name,
                        "arguments": (
                            dumps(tc.function.arguments) if string_arguments else tc.function.arguments
                        ),
                    },
                }
                for tc in m.tool_calls
            ]
        if m.role == "tool":
            if m.tool_call_id is None:
                raise ExportError(
                    trajectory.id, "a tool message has no tool_call_id; set it to the answered call's id",
                )
            row["tool_call_id"] = m.tool_call_id
            row.setdefault("content", "")
            name = m.name or names.get(m.tool_call_id)
            if tool_name and name is not None:
                row["name"] = name
        out.append(row)
    return out
