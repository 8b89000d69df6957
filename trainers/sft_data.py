"""SFT data: read records, split off validation, render every agent's row and tokenize it with loss masks.

Every record becomes one row per agent (the record, then each nested subagent, via
``toolkit.exporters.flatten_subagents``), so the model learns both to delegate and to be the subagent. Rows are
``{"input_ids", "labels"}`` ready for TRL's ``SFTTrainer`` (pre-tokenized: TRL neither re-renders nor re-masks
them).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from toolkit.chat_format import to_chat
from toolkit.errors import UserError
from toolkit.exporters import ExportError, flatten_subagents, split_records
from toolkit.progress import Progress
from toolkit.readers import load_trajectories
from toolkit.records import Trajectory
from trainers.masks import special_token_texts, tokenize_example

__all__ = ["EncodedSplit", "read_training_records", "split_for_validation", "encode_records", "file_hash"]


@dataclass
class EncodedSplit:
    """Tokenized rows of one split and what happened on the way."""

    rows: list[dict[str, list[int]]] = field(default_factory=list)
    records: int = 0
    agent_rows: int = 0
    subagent_rows: int = 0
    truncated: int = 0
    dropped_no_target: int = 0
    failed: list[str] = field(default_factory=list)
    tokens: int = 0
    trained_tokens: int = 0

    def counts(self) -> dict[str, Any]:
        return {
            "records": self.records,
            "rows": len(self.rows),
            "agent_rows": self.agent_rows,
            "subagent_rows": self.subagent_rows,
            "truncated": self.truncated,
            "dropped_no_target": self.dropped_no_target,
            "failed": len(self.failed),
            "tokens": self.tokens,
            "trained_tokens": self.trained_tokens,
        }


def file_hash(*paths: Path | None) -> str:
    """SHA-256 over the bytes of the given files (in order), for run.json."""
    h = hashlib.sha256()
    for p in paths:
        if p is not None:
            h.update(Path(p).read_bytes())
            h.update(b"\x00")
    return h.hexdigest()


def read_training_records(path: Path, *, only_passed: bool) -> tuple[list[Trajectory], dict[str, int]]:
    """Records of a JSONL file; unreadable lines and (with ``only_passed``) records that failed validation are
    skipped and counted. A file with no usable record is a :class:`UserError`."""
    if not Path(path).is_file():
        raise UserError(f"{path}: no such file; set train_file/validation_file to a ToolGym JSONL (toolgym synth)")
    records, bad = load_trajectories(path)
    failed = [r for r in records if only_passed and r.validation is not None and not r.validation.passed]
    kept = [r for r in records if not (only_passed and r.validation is not None and not r.validation.passed)]
    if not kept:
        detail = f"; first problem: line {bad[0].line}: {bad[0].error}" if bad else ""
        raise UserError(
            f"{path}: no usable record ({len(bad)} unreadable, {len(failed)} failed validation){detail}; "
            "check the file with toolgym validate"
        )
    return kept, {"read": len(records) + len(bad), "unreadable": len(bad), "failed_validation": len(failed)}


def split_for_validation(
    records: Sequence[Trajectory], method: str, fraction: float, seed: int
) -> tuple[list[Trajectory], list[Trajectory], list[str]]:
    """``(train, validation, notes)``; ``method="none"`` or too few records gives no validation split."""
    if method == "none":
        return list(records), [], ["no validation split (split: none)"]
    if len(records) < 2:
        return list(records), [], ["too few records to hold any out for validation"]
    split = split_records(records, method, test_fraction=fraction, seed=seed)
    return split.train, split.test, list(split.notes)


def encode_records(
    records: Sequence[Trajectory],
    tokenizer: Any,
    *,
    presentation: str,
    native: bool | None,
    max_length: int,
    label: str,
    progress: bool = True,
) -> EncodedSplit:
    """Render and tokenize every agent row. A record or row that cannot be rendered (a subagent keyed by an unknown
    call id, a conversation the template rejects) is skipped and named in ``failed``; a row whose assistant
    turns are all cut by ``max_length`` is dropped and counted."""
    out = EncodedSplit(records=len(records))
    specials = special_token_texts(tokenizer)
    bar = Progress(len(records), label, enabled=progress, unit="records")
    for record in records:
        try:
            nodes = flatten_subagents(record)
        except ExportError as exc:
            out.failed.append(str(exc))
            bar.advance(ok=False)
            continue
        for node, link in nodes:
            try:
                example = to_chat(node, presentation, tokenizer=tokenizer, native=native)
                tok = tokenize_example(example, tokenizer, max_length=max_length, specials=specials)
            except UserError as exc:  # a row the template cannot render is data: skip it, name it
                out.failed.append(f"{link.id}: {exc}")
                continue
            if link.depth == 0:
                out.agent_rows += 1
            else:
                out.subagent_rows += 1
            out.truncated += tok.truncated
            if tok.n_trained == 0:
                out.dropped_no_target += 1
                continue
            out.rows.append({"input_ids": tok.input_ids, "labels": tok.labels})
            out.tokens += len(tok.input_ids)
            out.trained_tokens += tok.n_trained
        bar.advance()
    bar.close()
    return out
