"""Exporters from trajectory records to training formats (TRL, OpenAI fine-tuning, ShareGPT, Hermes) and
splits.

Every exporter is ``export_<format>(trajectory) -> list[dict]``: one row for the record and one per nested
subagent (depth first), linked by ``id`` / ``parent_id`` / ``parent_call_id`` (see :class:`RowLink`).
``EXPORTERS`` maps format names to them. Splits keep a record and its subagents together and are deterministic
from a seed.
"""

from toolkit.exporters._common import ExportError, RowLink, flatten_subagents, openai_tool
from toolkit.exporters.hermes import export_hermes, hermes_row, hermes_system_prompt
from toolkit.exporters.openai_ft import export_openai, export_openai_with_links, openai_row
from toolkit.exporters.registry import EXPORTERS, Exporter, get_exporter
from toolkit.exporters.sharegpt import export_sharegpt, sharegpt_row
from toolkit.exporters.splits import (
    SPLITS,
    Split,
    split_by_kind,
    split_held_out_tools,
    split_random,
    split_records,
    tools_used,
)
from toolkit.exporters.trl import export_trl, load_trl_jsonl, to_hf_dataset, trl_row

__all__ = [
    "EXPORTERS",
    "SPLITS",
    "ExportError",
    "Exporter",
    "RowLink",
    "Split",
    "export_hermes",
    "export_openai",
    "export_openai_with_links",
    "export_sharegpt",
    "export_trl",
    "flatten_subagents",
    "get_exporter",
    "hermes_row",
    "hermes_system_prompt",
    "load_trl_jsonl",
    "openai_row",
    "openai_tool",
    "sharegpt_row",
    "split_by_kind",
    "split_held_out_tools",
    "split_random",
    "split_records",
    "to_hf_dataset",
    "tools_used",
    "trl_row",
]
