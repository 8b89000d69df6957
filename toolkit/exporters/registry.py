"""Exporters by name: what ``toolgym export --format`` chooses from."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from toolkit.errors import UserError
from toolkit.exporters.hermes import export_hermes
from toolkit.exporters.openai_ft import export_openai
from toolkit.exporters.sharegpt import export_sharegpt
from toolkit.exporters.trl import export_trl
from toolkit.records import Trajectory

__all__ = ["Exporter", "EXPORTERS", "get_exporter"]


@dataclass(frozen=True, kw_only=True)
class Exporter:
    """A named target format; ``export(trajectory)`` gives one row per agent (record, then subagents)."""

    name: str
    description: str
    export: Callable[[Trajectory], list[dict[str, Any]]]
    links_in_row: bool  # False: the format has no slot for row metadata; links go to a sidecar file


EXPORTERS: dict[str, Exporter] = {
    e.name: e
    for e in (
        Exporter(
            name="trl",
            description="TRL conversational rows: messages (arguments as objects) + per-row function tools",
            export=export_trl,
            links_in_row=True,
        ),
        Exporter(
            name="openai",
            description="OpenAI chat fine-tuning JSONL: JSON-string arguments, tools, parallel_tool_calls",
            export=export_openai,
            links_in_row=False,
        ),
        Exporter(
            name="sharegpt",
            description="LLaMA-Factory ShareGPT: human/gpt/function_call/observation turns, tools as text",
            export=export_sharegpt,
            links_in_row=True,
        ),
        Exporter(
            name="hermes",
            description="Hermes function calling: <tools> system prompt, <tool_call> / <tool_response> tags",
            export=export_hermes,
            links_in_row=True,
        ),
    )
}


def get_exporter(name: str) -> Exporter:
    try:
        return EXPORTERS[name]
    except KeyError:
        raise UserError(f"unknown export format {name!r}; choose one of: {', '.join(EXPORTERS)}") from None
