"""Join shard outputs into one file: no duplicate ids, index order, dedupe re-applied across shards."""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from pathlib import Path

from synthesizers.dedupe import Deduplicator
from synthesizers.sink import JsonlSink
from toolkit.errors import UserError
from toolkit.records import Trajectory

__all__ = ["MergeReport", "merge_shards"]

_ID = re.compile(r"^s(-?\d+)-(\d+)-")


class MergeReport:
    def __init__(self) -> None:
        self.read = self.written = self.duplicate_ids = self.near_duplicates = self.malformed = 0

    def __str__(self) -> str:
        return (f"read {self.read}, wrote {self.written}; dropped {self.duplicate_ids} repeated id(s), "
                f"{self.near_duplicates} duplicate(s) across shards, {self.malformed} malformed line(s)")


def _order_key(traj: Trajectory) -> tuple[int, int, str]:
    m = _ID.match(traj.id)
    return (int(m.group(1)), int(m.group(2)), traj.id) if m else (0, 1 << 62, traj.id)


def merge_shards(inputs: Sequence[Path], out: Path, *, near_dup_threshold: float | None = 0.9) -> MergeReport:
    """Merge JSONL shard files into ``out`` (which must not exist yet).

    The merge is written beside ``out`` and renamed into place at the end, so an interrupted merge never leaves a
    partial file that looks like a finished dataset.
    """
    if out.exists() and out.stat().st_size > 0:
        raise UserError(f"{out} already exists; delete it or choose another --out for the merged file")
    report = MergeReport()
    by_id: dict[str, Trajectory] = {}
    for path in inputs:
        if not path.exists():
            raise UserError(f"shard file {path} does not exist; check the paths passed to merge")
        with path.open(encoding="utf-8") as fh:
            for line in fh:
                if not line.strip():
                    continue
                try:
                    traj = Trajectory.model_validate_json(line)
                except ValueError:
                    report.malformed += 1
                    continue
                report.read += 1
                if traj.id in by_id:
                    report.duplicate_ids += 1
                    continue
                by_id[traj.id] = traj
    dedupe = Deduplicator(threshold=near_dup_threshold)
    partial = out.with_name(out.name + ".partial")
    partial.unlink(missing_ok=True)  # left by an interrupted merge; it is rebuilt from the shards
    try:
        with JsonlSink(partial, resume=False) as sink:
            for traj in sorted(by_id.values(), key=_order_key):
                if dedupe.check(traj):
                    report.near_duplicates += 1
                    continue
                sink.write(traj.to_dict())
                report.written += 1
        os.replace(partial, out)
    finally:
        partial.unlink(missing_ok=True)
    return report
