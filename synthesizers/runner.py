"""The synthesis runner: bounded concurrency, per-sample time limits, crash-safe output, resume, shards, dedupe.

Any synthesizer (offline programmatic or LLM-driven) plugs in by implementing :class:`Synthesizer`. The runner
decides *which* samples to make (ids and scenario kinds are derived from the run seed and the sample index, so they
are identical on every machine, shard and resume), runs them concurrently, and writes them **in index order**
through a small reorder window: the written file, and which of two near-duplicates survives, do not depend on
timing, so an interrupted-then-resumed run ends with the same records as an uninterrupted one.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import random
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import anyio

from synthesizers.dedupe import Deduplicator
from synthesizers.outcome import SampleJob, SampleOutcome, sample_id
from synthesizers.sink import JsonlSink, UnwritableRecord, scan_ids
from synthesizers.yields import YieldTable
from toolkit.errors import UserError
from toolkit.progress import Progress
from toolkit.records import Trajectory
from toolkit.sources import redact_secrets

__all__ = ["Synthesizer", "RunOptions", "RunReport", "RunAborted", "plan_jobs", "run_sample", "run_synthesis",
           "parse_shard", "side_paths"]


class RunAborted(Exception):
    """Raised by a synthesizer when the whole run must stop (not one sample): it passes the per-sample boundary.
    What was written so far stays, in order; ``--resume`` continues from there."""


class Synthesizer(Protocol):
    """What the runner drives. Open resources in ``__aenter__`` (registries, clients); make one sample per call."""

    async def __aenter__(self) -> Synthesizer: ...

    async def __aexit__(self, *exc: object) -> None: ...

    async def synthesize(self, job: SampleJob) -> SampleOutcome: ...


@dataclass(kw_only=True)
class RunOptions:
    n: int = field(metadata={"help": "number of samples to attempt (before sharding)"})
    out: Path = field(metadata={"help": "output JSONL of written trajectories"})
    seed: int = field(default=0, metadata={"help": "run seed: fixes every sample id, kind and sampled value"})
    concurrency: int = field(default=8, metadata={"help": "samples in flight at once"})
    resume: bool = field(default=False, metadata={"help": "continue a run: skip ids already written or failed"})
    shard: tuple[int, int] | None = field(default=None, metadata={"help": "(k, N): make only indices i with i % N == k"})
    sample_timeout: float = field(default=300.0, metadata={"help": "seconds one sample may take"})
    mix: Mapping[str, float] = field(default_factory=lambda: {"single": 1.0}, metadata={"help": "kind → weight"})
    near_dup_threshold: float | None = field(default=0.9, metadata={"help": "MinHash Jaccard; None: exact only"})
    progress: bool = field(default=True, metadata={"help": "show a progress bar on stderr"})

    def __post_init__(self) -> None:
        if self.n < 0:
            raise UserError(f"n must be >= 0, got {self.n}")
        if self.concurrency < 1:
            raise UserError(f"concurrency must be >= 1, got {self.concurrency}")
        if not self.mix or any(w < 0 for w in self.mix.values()) or sum(self.mix.values()) <= 0:
            raise UserError(f"mix must map scenario kinds to non-negative weights with a positive sum, got {dict(self.mix)}")
        if self.shard is not None:
            k, total = self.shard
            if not (total >= 1 and 0 <= k < total):
                raise UserError(f"shard must be k/N with 0 <= k < N, got {k}/{total}")


@dataclass
class RunReport:
    yields: YieldTable
    skipped: int
    seconds: float
    out: Path

    @property
    def samples_per_second(self) -> float:
        return self.yields.attempted / self.seconds if self.seconds > 0 else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {**self.yields.to_dict(), "skipped_already_done": self.skipped, "seconds": round(self.seconds, 3),
                "samples_per_second": round(self.samples_per_second, 3), "out": str(self.out)}


def parse_shard(text: str) -> tuple[int, int]:
    """Parse ``k/N`` (0-based k)."""
    try:
        k, n = (int(x) for x in text.split("/"))
    except ValueError:
        raise UserError(f"--shard must look like k/N, e.g. 0/4 (got {text!r})") from None
    if not (n >= 1 and 0 <= k < n):
        raise UserError(f"--shard k/N needs 0 <= k < N (got {text!r})")
    return k, n


def side_paths(out: Path) -> tuple[Path, Path]:
    """Where a run keeps its failure records and its summary, next to the output file."""
    stem = out.name[: -len(".jsonl")] if out.name.endswith(".jsonl") else out.name
    return out.with_name(stem + ".failures.jsonl"), out.with_name(stem + ".summary.json")


def _derive(seed: int, index: int, salt: str) -> int:
    return int.from_bytes(hashlib.sha256(f"{salt}:{seed}:{index}".encode()).digest()[:8], "big")


def plan_jobs(options: RunOptions) -> list[SampleJob]:
    """Every job of the run (this shard only), in index order; independent of resume state."""
    kinds = sorted(options.mix)
    weights = [options.mix[k] for k in kinds]
    jobs = []
    for i in range(options.n):
        if options.shard is not None and i % options.shard[1] != options.shard[0]:
            continue
        kind = random.Random(_derive(options.seed, i, "kind")).choices(kinds, weights)[0]
        jobs.append(SampleJob(index=i, id=sample_id(options.seed, i), seed=_derive(options.seed, i, "sample"), kind=kind))
    return jobs


async def run_sample(synth: Synthesizer, job: SampleJob, timeout: float) -> SampleOutcome:
    """One sample under its time limit; any failure but :class:`RunAborted` becomes a recorded outcome."""
    try:
        with anyio.fail_after(timeout):
            outcome = await synth.synthesize(job)
    except RunAborted:
        raise
    except TimeoutError:
        return SampleOutcome.failure(job, "generated", f"sample time limit of {timeout:g}s exceeded")
    except Exception as exc:  # the batch boundary: one failed sample never stops the run
        return SampleOutcome.failure(job, "generated", f"{type(exc).__name__}: {exc}")
    if outcome.ok and outcome.trajectory is not None and outcome.trajectory.id != job.id:
        outcome.trajectory = outcome.trajectory.model_copy(update={"id": job.id})
    return outcome


def _load_existing(out: Path, dedupe: Deduplicator) -> None:
    if not out.exists():
        return
    with out.open(encoding="utf-8") as fh:
        for line in fh:
            try:
                dedupe.check(Trajectory.model_validate_json(line))
            except ValueError:
                continue


def _recordable(reason: str | None) -> str | None:
    """A failure reason fit for *.failures.jsonl and the summary, whatever the synthesizer: reasons quote source
    names, tool errors, server stderr and teacher text, so credentials are masked and broken Unicode escaped."""
    if reason is None:
        return None
    return redact_secrets(reason).encode("utf-8", "backslashreplace").decode("utf-8")


async def run_synthesis(synth: Synthesizer, options: RunOptions, *, enter: bool = True) -> RunReport:
    """Run the whole job; returns the yield report (also written next to the output as ``*.summary.json``).

    ``enter=False`` uses a synthesizer the caller has already entered (and will close), e.g. to reuse one
    worker pool for several runs or to keep its start-up out of a measurement.
    """
    failures_path, summary_path = side_paths(options.out)
    if not options.resume and options.out.exists() and options.out.stat().st_size > 0:
        raise UserError(f"{options.out} already exists; pass --resume to continue that run or choose another --out")
    jobs = plan_jobs(options)
    done: set[str] = set()
    dedupe = Deduplicator(threshold=options.near_dup_threshold)
    if options.resume:
        from synthesizers.sink import repair_torn_tail

        repair_torn_tail(options.out)
        repair_torn_tail(failures_path)
        done = scan_ids(options.out) | scan_ids(failures_path)
        _load_existing(options.out, dedupe)
    elif failures_path.exists():
        failures_path.unlink()
    todo = [j for j in jobs if j.id not in done]
    table = YieldTable()
    progress = Progress(len(todo), "synth", enabled=options.progress)
    start = time.monotonic()
    window = max(4 * options.concurrency, 16)
    with JsonlSink(options.out, resume=options.resume) as sink, JsonlSink(failures_path, resume=True) as fail_sink:
        results: dict[int, SampleOutcome] = {}
        next_pos = 0
        slots = anyio.Semaphore(window)
        limiter = anyio.CapacityLimiter(options.concurrency)

        def flush_ready() -> None:
            nonlocal next_pos
            while next_pos < len(todo) and next_pos in results:
                outcome = results.pop(next_pos)
                written = False
                if outcome.ok and outcome.trajectory is not None:
                    try:
                        line = sink.dumps(outcome.trajectory.to_dict())
                    except UnwritableRecord as exc:
                        outcome.failed_stage, outcome.reason = "written", str(exc)
                    else:
                        dup = dedupe.check(outcome.trajectory)
                        if dup:
                            outcome.failed_stage, outcome.reason = "unique", dup
                        else:
                            outcome.passed += ["unique", "written"]
                            sink.write_line(line)
                            written = True
                if not written:
                    outcome.reason = _recordable(outcome.reason)
                    fail_sink.write({"id": outcome.job.id, "index": outcome.job.index, "kind": outcome.job.kind,
                                     "stage": outcome.failed_stage or "verified", "reason": outcome.reason})
                table.add(outcome, written=written)
                progress.advance(ok=written)
                next_pos += 1
                slots.release()

        async def worker(pos: int, job: SampleJob) -> None:
            async with limiter:
                results[pos] = await run_sample(synth, job, options.sample_timeout)
            flush_ready()

        try:
            async with synth if enter else contextlib.nullcontext():
                start = time.monotonic()  # samples/s counts from when the synthesizer (and its workers) is ready
                async with anyio.create_task_group() as tg:
                    for pos, job in enumerate(todo):
                        await slots.acquire()
                        tg.start_soon(worker, pos, job)
        except BaseExceptionGroup as group:  # a stopped run says why plainly, not as a group of identical errors
            aborted = group.subgroup(RunAborted)
            while isinstance(aborted, BaseExceptionGroup):
                aborted = aborted.exceptions[0]
            if aborted is None:
                raise
            raise aborted from None
    progress.close()
    report = RunReport(yields=table, skipped=len(jobs) - len(todo), seconds=time.monotonic() - start, out=options.out)
    summary_path.write_text(json.dumps(report.to_dict(), indent=2) + "\n", encoding="utf-8")
    return report

