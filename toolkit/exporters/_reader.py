"""A minimal tolerant reader for ToolGym's own JSONL records (used until ``toolkit.readers`` covers it).

A torn or malformed line is reported with its line number and skipped; it never stops the read.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import ValidationError

from toolkit.errors import UserError
from toolkit.records import Trajectory

__all__ = ["ReadResult", "read_records"]


@dataclass
class ReadResult:
    records: list[Trajectory] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # "line N: what is wrong", one per skipped line

    @property
    def lines_skipped(self) -> int:
        return len(self.problems)


def _first_error(exc: ValidationError) -> str:
    err = exc.errors()[0]
    where = ".".join(str(p) for p in err.get("loc", ())) or "record"
    more = f" (+{exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
    return f"{where}: {err.get('msg', 'invalid')}{more}"


def read_records(path: str | Path) -> ReadResult:
    """Read trajectory records from a JSONL file, skipping (and reporting) lines that are not valid records."""
    p = Path(path)
    if not p.is_file():
        raise UserError(f"{p}: no such file; pass a JSONL file of trajectory records")
    out = ReadResult()
    with p.open("rb") as f:
        for n, raw in enumerate(f, 1):
            if raw.strip():
                problem = _parse_line(raw, n, out.records)
                if problem:
                    out.problems.append(f"line {n}: {problem}")
    return out


def _parse_line(raw: bytes, n: int, records: list[Trajectory]) -> str | None:
    try:
        data = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        return "not UTF-8 text"
    except json.JSONDecodeError as exc:
        torn = "" if raw.endswith(b"\n") else " (torn last line: was the file cut off while being written?)"
        return f"not valid JSON: {exc.msg} at column {exc.colno}{torn}"
    if not isinstance(data, dict):
        return f"expected a JSON object, got {type(data).__name__}"
    try:
        records.append(Trajectory.model_validate(data))
    except ValidationError as exc:
        return f"not a ToolGym trajectory record: {_first_error(exc)}"
    return None
