"""Validation results: one :class:`RecordReport` per record, and the :class:`ValidationReport` over a dataset.

The report is the yield table that APIGen-style pipelines publish: for each stage, how many records it
checked, passed and failed, how many are still passing after it (the funnel), and the most common failure
kinds.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from toolkit.records import StageOutcome, Validation
from toolkit.tables import format_table
from toolkit.validation.stages import STAGES, reason_kind

__all__ = ["RecordReport", "StageStats", "ValidationReport"]

_HEADERS = ("stage", "checked", "passed", "failed", "still passing", "top failure reasons")


@dataclass(kw_only=True)
class RecordReport:
    """The stage outcomes of one record. ``line`` is its line in the file, when it came from one."""

    index: int
    line: int | None = None
    id: str | None = None
    format: str | None = None
    stages: list[StageOutcome] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return bool(self.stages) and all(s.passed for s in self.stages)

    @property
    def failed_stages(self) -> list[str]:
        return [s.stage for s in self.stages if not s.passed]

    def validation(self) -> Validation:
        """The outcome in the shape records store in their ``validation`` field."""
        return Validation(passed=self.passed, stages=list(self.stages))

    def to_dict(self) -> dict[str, Any]:
        return {
            "index": self.index,
            "line": self.line,
            "id": self.id,
            "format": self.format,
            "passed": self.passed,
            "failed_stages": self.failed_stages,
            "reasons": {s.stage: list(s.reasons) for s in self.stages if not s.passed},
        }


@dataclass(kw_only=True)
class StageStats:
    stage: str
    checked: int
    passed: int
    failed: int
    still_passing: int
    """Records that passed this stage and every stage before it."""
    top_reasons: list[tuple[str, int]]
    """The most common failure kinds, with the number of records that showed each."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "stage": self.stage,
            "checked": self.checked,
            "passed": self.passed,
            "failed": self.failed,
            "still_passing": self.still_passing,
            "top_reasons": [{"reason": k, "records": n} for k, n in self.top_reasons],
        }


@dataclass(kw_only=True)
class ValidationReport:
    records: list[RecordReport] = field(default_factory=list)
    source: str | None = None
    """What was validated (a file path), for the report's header."""

    @property
    def total(self) -> int:
        return len(self.records)

    @property
    def passed(self) -> int:
        return sum(1 for r in self.records if r.passed)

    @property
    def failed(self) -> int:
        return self.total - self.passed

    @property
    def ok(self) -> bool:
        """True when every record passed (an empty dataset is not ok: there is nothing to train on)."""
        return self.total > 0 and self.failed == 0

    @property
    def yield_rate(self) -> float:
        return self.passed / self.total if self.total else 0.0

    def failures(self) -> list[RecordReport]:
        return [r for r in self.records if not r.passed]

    def stage_stats(self, top: int = 3) -> list[StageStats]:
        present = [s for s in STAGES if any(o.stage == s for r in self.records for o in r.stages)]
        alive = {r.index for r in self.records}
        out = []
        for stage in present:
            checked = passed = 0
            kinds: Counter[str] = Counter()
            for r in self.records:
                outcome = next((o for o in r.stages if o.stage == stage), None)
                if outcome is None:
                    continue
                checked += 1
                if outcome.passed:
                    passed += 1
                else:
                    alive.discard(r.index)
                    kinds.update({reason_kind(x) for x in outcome.reasons})
            # Records skipped at this stage (after a failed record stage) are already out of the funnel.
            alive -= {r.index for r in self.records if not any(o.stage == stage for o in r.stages)}
            out.append(StageStats(
                stage=stage, checked=checked, passed=passed, failed=checked - passed,
                still_passing=len(alive),
                top_reasons=sorted(kinds.items(), key=lambda kv: (-kv[1], kv[0]))[:top],
            ))
        return out

    def to_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "total": self.total,
            "passed": self.passed,
            "failed": self.failed,
            "yield": round(self.yield_rate, 6),
            "stages": [s.to_dict() for s in self.stage_stats()],
            "failures": [r.to_dict() for r in self.failures()],
        }

    def to_json(self, indent: int | None = 2) -> str:
        return json.dumps(self.to_dict(), indent=indent, ensure_ascii=False)

    def format_table(self, *, examples: int = 5) -> str:
        """The per-stage table, then the first failing records with their first reason."""
        rows = []
        for s in self.stage_stats():
            top = ", ".join(f"{k} ({n})" for k, n in s.top_reasons)
            rows.append((s.stage, s.checked, s.passed, s.failed, s.still_passing, top))
        head = f"{self.source}: " if self.source else ""
        lines = [
            format_table(rows, _HEADERS, max_width=90),
            "",
            f"{head}{self.passed}/{self.total} record(s) passed ({self.yield_rate:.1%})",
        ]
        failures = self.failures()
        if failures:
            lines.append("")
            lines.append("first failures:")
            for r in failures[:examples]:
                first = next(o for o in r.stages if not o.passed)
                label = f"line {r.line}" if r.line is not None else f"record {r.index}"
                ident = f" ({r.id})" if r.id else ""
                why = first.reasons[0] if first.reasons else "failed"
                lines.append(f"  {label}{ident} [{first.stage}] {why}")
            if len(failures) > examples:
                lines.append(f"  … and {len(failures) - examples} more (use --json for all)")
        return "\n".join(lines)
