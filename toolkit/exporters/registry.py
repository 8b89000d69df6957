"""Exporters by name: what ``toolgym export --format`` chooses from."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from toolkit.errors import UserError
from toolkit.exporters._common import RowLink, flatten_subagents
from toolkit.exporters.hermes import hermes_row
from toolkit.exporters.openai_ft import openai_row
from toolkit.exporters.sharegpt import sharegpt_row
from toolkit.exporters.trl import trl_row
from toolkit.records import Trajectory

__all__ = ["Exporter", "EXPORTERS", "get_exporter"]


@dataclass(frozen=True, kw_only=True)
class Exporter:
    """A named target format: ``row(agent_trajectory, link)`` writes one agent's conversation as one row."""

    name: str
    description: str
    row: Callable[[Trajectory, RowLink], dict[str, Any]]
    links_in_row: bool  # False: the format has no slot for row metadata; links go to a sidecar file

    def export(self, trajectory: Trajectory) -> list[dict[str, Any]]:
        """One row per agent: the record, then its subagents depth first."""
        return [self.row(node, link) for node, link in flatten_subagents(trajectory)]

    def export_with_links(self, trajectory: Trajectory) -> list[tuple[dict[str, Any], RowLink]]:
        """Like :meth:`export`, with each row's link beside it (for formats that cannot carry it)."""
        return [(self.row(node, link), link) for node, link in flatten_subagents(trajectory)]


EXPORTERS: dict[str, Exporter] = {
    e.name: e
    for e in (
        Exporter(
            name="trl",
            description="TRL conversational rows: messages (arguments as objects) + per-row function tools",
            row=trl_row,
            links_in_row=True,
        ),
        Exporter(
            name="openai",
            description="OpenAI chat fine-tuning JSONL: JSON-string arguments, tools, parallel_tool_calls",
            row=openai_row,
            links_in_row=False,
        ),
        Exporter(
            name="sharegpt",
            description="LLaMA-Factory ShareGPT: human/gpt/function_call/observation turns, tools as text",
            row=sharegpt_row,
            links_in_row=True,
        ),
        Exporter(
            name="hermes",
            description="Hermes function calling: <tools> system prompt, <tool_call> / <tool_response> tags",
            row=hermes_row,
            links_in_row=True,
        ),
    )
}


def get_exporter(name: str) -> Exporter:
    try:
        return EXPORTERS[name]
    except KeyError:
        raise UserError(f"unknown export format {name!r}; choose one of: {', '.join(EXPORTERS)}") from None
