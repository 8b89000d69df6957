"""Write a validated file back out as ToolGym records carrying their verdict (``validation``).

The report keeps no records (a large file would not fit), so the file is read a second time and matched to the
report line by line. Third-party rows come out converted to ToolGym records; lines that never became a record
(bad JSON, a failed ``record`` stage) cannot be written and are counted instead.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from toolkit.errors import UserError
from toolkit.readers import read_records
from toolkit.validation.report import ValidationReport

__all__ = ["AnnotateResult", "write_annotated"]


@dataclass(frozen=True, kw_only=True)
class AnnotateResult:
    written: int
    """Records written."""
    unwritable: int
    """Lines that are not records (they failed the ``record`` stage)."""
    left_out: int
    """Records that failed a later stage and were left out (``only_passed``)."""


def write_annotated(
    source: str | Path, report: ValidationReport, out: str | Path, *, only_passed: bool = False
) -> AnnotateResult:
    """Write ``source``'s records to ``out`` (JSONL) with ``validation`` set from ``report``.

    ``report`` must come from validating ``source`` as it is now. With ``only_passed``, records that failed
    are left out. The write is atomic (a temporary file renamed into place): a crash leaves no half-written
    dataset.
    """
    src, dst = Path(source), Path(out)
    if dst.exists() and src.exists() and dst.resolve() == src.resolve():
        raise UserError(f"refusing to overwrite the file being validated ({src}); write to another path")
    if dst.parent and not dst.parent.exists():
        raise UserError(f"directory {dst.parent} does not exist; create it or choose another output path")
    written = unwritable = left_out = 0
    tmp = dst.with_name(dst.name + ".tmp")
    records = iter(report.records)
    with tmp.open("w", encoding="utf-8") as handle:
        for item in read_records(src):
            verdict = next(records, None)
            if verdict is None or verdict.line != item.line:
                tmp.unlink(missing_ok=True)
                raise UserError(f"{src} changed since it was validated (line {item.line}); validate it again")
            if item.record is None or verdict.failed_stages[:1] == ["record"]:
                unwritable += 1
                continue
            if only_passed and not verdict.passed:
                left_out += 1
                continue
            traj = item.to_trajectory().model_copy(update={"validation": verdict.validation()})
            handle.write(traj.to_json() + "\n")
            written += 1
    os.replace(tmp, dst)
    return AnnotateResult(written=written, unwritable=unwritable, left_out=left_out)
