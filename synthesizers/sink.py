"""Crash-safe JSONL output.

Records are appended one line at a time and flushed to the OS as they go, so a run killed at any moment (SIGKILL,
OOM) leaves every finished line intact and at most one torn last line. ``fsync`` runs at most once per
``fsync_interval`` seconds and at close, bounding what a power loss could take without paying a disk flush per line. On resume the torn tail is cut off before anything is
appended, and the ids already present are skipped: nothing written before a crash is lost or duplicated.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import IO, Any

__all__ = ["JsonlSink", "UnwritableRecord", "scan_ids", "repair_torn_tail"]


class UnwritableRecord(ValueError):
    """A record that cannot be stored as UTF-8 JSON (e.g. a lone surrogate from a teacher's escaped output)."""


def repair_torn_tail(path: Path) -> int:
    """Cut a last line that has no newline or is not valid JSON; return how many bytes were removed."""
    if not path.exists() or path.stat().st_size == 0:
        return 0
    with path.open("rb+") as fh:
        data = fh.read()
        cut = len(data)
        if not data.endswith(b"\n"):
            cut = data.rfind(b"\n") + 1  # 0 when there is no complete line at all
        else:
            last_start = data.rfind(b"\n", 0, len(data) - 1) + 1
            try:
                json.loads(data[last_start:])
            except ValueError:
                cut = last_start
        if cut != len(data):
            fh.truncate(cut)
        return len(data) - cut


def scan_ids(path: Path, key: str = "id") -> set[str]:
    """Ids of the complete records in a JSONL file (malformed lines are ignored here; readers report them)."""
    ids: set[str] = set()
    if not path.exists():
        return ids
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            if not line.endswith("\n"):
                break
            try:
                value = json.loads(line).get(key)
            except (ValueError, AttributeError):
                continue
            if isinstance(value, str):
                ids.add(value)
    return ids


class JsonlSink:
    """Append-only JSONL writer; one line per record, flushed after each write, fsynced periodically and at close."""

    def __init__(self, path: Path, *, resume: bool, fsync_interval: float | None = 1.0):
        self.path = path
        self.fsync_interval = fsync_interval
        self._last_sync = time.monotonic()
        path.parent.mkdir(parents=True, exist_ok=True)
        if resume:
            repair_torn_tail(path)
        elif path.exists() and path.stat().st_size > 0:
            from toolkit.errors import UserError

            raise UserError(f"{path} already exists; pass --resume to continue that run or choose another --out")
        self._fh: IO[str] | None = path.open("a", encoding="utf-8")

    @staticmethod
    def dumps(record: dict[str, Any]) -> str:
        """One JSONL line for ``record``; raises :class:`UnwritableRecord` before anything reaches the file."""
        line = json.dumps(record, ensure_ascii=False, separators=(",", ":")) + "\n"
        try:
            line.encode("utf-8")
        except UnicodeEncodeError as exc:
            raise UnwritableRecord(
                f"record {record.get('id', '?')!r} holds text that is not valid Unicode ({exc.reason} near character "
                f"{exc.start} of its JSON line); it was not written. Lone surrogates usually come from a teacher "
                "emitting half of an escaped emoji; the sample is dropped, the rest of the run goes on") from None
        return line

    def write(self, record: dict[str, Any]) -> None:
        self.write_line(self.dumps(record))

    def write_line(self, line: str) -> None:
        """Append a line made by :meth:`dumps`."""
        if self._fh is None:
            raise RuntimeError("sink is closed")
        self._fh.write(line)
        self._fh.flush()
        if self.fsync_interval is not None and time.monotonic() - self._last_sync >= self.fsync_interval:
            os.fsync(self._fh.fileno())
            self._last_sync = time.monotonic()

    def close(self) -> None:
        if self._fh is not None:
            if self.fsync_interval is not None:
                os.fsync(self._fh.fileno())
            self._fh.close()
            self._fh = None

    def __enter__(self) -> JsonlSink:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
