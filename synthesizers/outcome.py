"""What one synthesized sample comes to: a trajectory, or the stage where it failed and why."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from toolkit.records import Trajectory

__all__ = ["STAGES", "SampleJob", "SampleOutcome", "sample_id"]

# The yield funnel, in order. Generators report how far a sample got up to "verified"; the runner owns the last two.
STAGES: tuple[str, ...] = ("generated", "parsed", "schema_valid", "executed", "verified", "unique", "written")


def sample_id(seed: int, index: int) -> str:
    """Stable sample id from the run seed and the sample index: the same on every machine, shard and resume."""
    digest = hashlib.sha1(f"toolgym:{seed}:{index}".encode()).hexdigest()[:10]
    return f"s{seed}-{index:06d}-{digest}"


@dataclass(frozen=True, kw_only=True)
class SampleJob:
    """One unit of work: which sample to make, with its own derived seed and scenario kind."""

    index: int
    id: str
    seed: int
    kind: str


@dataclass(kw_only=True)
class SampleOutcome:
    """A generator's answer for one job.

    ``passed`` lists the stages the sample passed, in order; a failed sample also names the ``failed_stage`` (the
    first stage it did not pass) and a short ``reason``. A successful sample carries its ``trajectory``.
    """

    job: SampleJob
    trajectory: Trajectory | None = None
    passed: list[str] = field(default_factory=list)
    failed_stage: str | None = None
    reason: str | None = None

    @classmethod
    def failure(cls, job: SampleJob, stage: str, reason: str, passed: list[str] | None = None) -> SampleOutcome:
        if stage not in STAGES:
            raise ValueError(f"unknown stage {stage!r}; stages are {', '.join(STAGES)}")
        before = list(STAGES[: STAGES.index(stage)]) if passed is None else passed
        return cls(job=job, passed=before, failed_stage=stage, reason=reason)

    @classmethod
    def success(cls, job: SampleJob, trajectory: Trajectory) -> SampleOutcome:
        return cls(job=job, trajectory=trajectory, passed=list(STAGES[: STAGES.index("verified") + 1]))

    @property
    def ok(self) -> bool:
        return self.failed_stage is None and self.trajectory is not None
