"""TRL conversational rows: ``{"messages": [...], "tools": [...], "metadata": {...}}``.

This is the shape ``trl.SFTTrainer`` (and DPO/KTO/Reward) read: OpenAI chat messages with call ``arguments``
as objects (what HF chat templates expect) and a per-row ``tools`` list of OpenAI function tools.

Arrow trap: loading such rows with a plain ``Dataset.from_list`` / ``load_dataset("json", ...)`` unifies every
``arguments`` dict into one struct type, so ``{"a": 1}`` comes back as ``{"a": 1, "query": None, ...}`` and
the chat template renders those nulls into the training text. :func:`to_hf_dataset` and :func:`load_trl_jsonl`
store the nested columns as ``datasets.Json()`` instead, which round-trips every dict exactly.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from toolkit.errors import UserError
from toolkit.exporters._common import RowLink, chat_messages, flatten_subagents, openai_tool
from toolkit.records import Trajectory

if TYPE_CHECKING:  # datasets is an optional ("train") dependency, imported only when used
    from datasets import Dataset

__all__ = ["export_trl", "trl_row", "to_hf_dataset", "load_trl_jsonl", "TRL_JSON_COLUMNS"]

# Columns stored as datasets.Json(): everything whose nested dicts differ from row to row.
TRL_JSON_COLUMNS = ("messages", "tools", "metadata")


def export_trl(trajectory: Trajectory) -> list[dict[str, Any]]:
    """One TRL row per agent: the record, then each subagent (own tools and messages), linked by ``metadata``.

    Call arguments stay JSON objects, as HF chat templates expect; load the rows with :func:`to_hf_dataset`.
    """
    return [trl_row(node, link) for node, link in flatten_subagents(trajectory)]


def trl_row(node: Trajectory, link: RowLink) -> dict[str, Any]:
    """The TRL row of one agent's conversation (no subagents: :func:`export_trl` flattens those)."""
    return {
        "messages": chat_messages(node, string_arguments=False, tool_name=True),
        "tools": [openai_tool(t) for t in node.tools],
        "metadata": link.to_dict(),
    }


def to_hf_dataset(rows: Iterable[dict[str, Any]]) -> Dataset:
    """A ``datasets.Dataset`` of TRL rows whose nested columns are ``Json()``, so no argument dict is
    null-filled.

    Columns other than ``messages`` / ``tools`` / ``metadata`` keep the types ``datasets`` infers for them.
    """
    try:
        from datasets import Dataset, Features, Json, List
    except ImportError as exc:  # pragma: no cover - depends on the install
        raise UserError("to_hf_dataset needs the 'datasets' package: pip install 'toolgym[train]'") from exc
    rows = list(rows)
    if not rows:
        raise UserError("to_hf_dataset got no rows; export at least one record first")
    missing = [i for i, r in enumerate(rows) if "messages" not in r]
    if missing:
        raise UserError(f"rows {missing[:5]} have no 'messages' column; pass rows made by export_trl")
    columns = list(dict.fromkeys(k for r in rows for k in r))
    spec: dict[str, Any] = {}
    for col in columns:
        if col in ("messages", "tools"):
            spec[col] = List(Json())
        elif col == "metadata":
            spec[col] = Json()
    # Infer the remaining (flat) columns, then pin the nested ones to Json.
    flat = [c for c in columns if c not in spec]
    if flat:
        inferred = Dataset.from_list([{c: r.get(c) for c in flat} for r in rows]).features
        spec.update({c: inferred[c] for c in flat})
    features = Features({c: spec[c] for c in columns})
    return Dataset.from_list([{c: r.get(c) for c in columns} for r in rows], features=features)


def load_trl_jsonl(path: str | Path) -> Dataset:
    """Load a TRL JSONL file written by ``toolgym export --format trl`` without null-filling arguments."""
    p = Path(path)
    if not p.is_file():
        raise UserError(f"{p}: no such file; pass a train/test/all.jsonl that toolgym export wrote")
    rows = []
    with p.open(encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError as exc:
                raise UserError(f"{p}:{n}: not valid JSON ({exc.msg}); re-run toolgym export") from exc
    return to_hf_dataset(rows)
