"""Per-stage yield accounting (generated → parsed → schema-valid → executed → verified → unique → written)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from synthesizers.outcome import STAGES, SampleOutcome
from toolkit.tables import format_table

__all__ = ["YieldTable"]


@dataclass
class YieldTable:
    """Counts how many samples reached each stage, and why the others stopped there."""

    reached: Counter[str] = field(default_factory=Counter)
    reasons: dict[str, Counter[str]] = field(default_factory=dict)
    kinds: Counter[str] = field(default_factory=Counter)
    written_kinds: Counter[str] = field(default_factory=Counter)

    def add(self, outcome: SampleOutcome, *, written: bool) -> None:
        self.kinds[outcome.job.kind] += 1
        for stage in outcome.passed:
            self.reached[stage] += 1
        if outcome.failed_stage:
            reason = (outcome.reason or "unknown").splitlines()[0][:120]
            self.reasons.setdefault(outcome.failed_stage, Counter())[reason] += 1
        if written:
            self.written_kinds[outcome.job.kind] += 1

    @property
    def attempted(self) -> int:
        return sum(self.kinds.values())

    @property
    def written(self) -> int:
        return self.reached["written"]

    @property
    def failed(self) -> int:
        return self.attempted - self.written

    def render(self) -> str:
        rows = []
        prev = self.attempted
        for stage in STAGES:
            n = self.reached[stage]
            top = self.reasons.get(stage, Counter()).most_common(3)
            why = "; ".join(f"{r} ×{c}" for r, c in top)
            rate = f"{100 * n / prev:.1f}%" if prev else "-"
            rows.append((stage, n, rate, why))
            prev = n
        table = format_table(rows, ("stage", "passed", "of previous", "top failure reasons"), max_width=90)
        total = f"{self.written}/{self.attempted} written ({100 * self.written / max(1, self.attempted):.1f}% yield)"
        return f"{table}\n{total}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "attempted": self.attempted,
            "written": self.written,
            "stages": {s: self.reached[s] for s in STAGES},
            "failure_reasons": {s: dict(c.most_common(10)) for s, c in self.reasons.items()},
            "kinds_attempted": dict(self.kinds),
            "kinds_written": dict(self.written_kinds),
        }
