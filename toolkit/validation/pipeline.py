"""Run the stages over one trajectory or a whole dataset.

* :func:`check_record` — the static stages (``record``, ``structure``, ``arguments``, ``results``,
  ``subagents``) of one record, synchronous and cheap.
* :func:`validate_trajectory` — one :class:`Trajectory`, adding ``replay`` on a registry the caller has open
  (the synthesizers' path: validate before writing).
* :func:`avalidate_records` / :func:`validate_records` — many records, replaying each on a *fresh* registry
  from ``registry_factory`` so that no trajectory sees another's tool state.
* :func:`validate_file` — a JSONL file in any format :mod:`toolkit.readers` reads; tool sources as text.

Stages after a failed ``record`` stage are skipped (there is no trajectory to check); every other stage runs,
so one report shows all of a record's problems.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence, Sized
from pathlib import Path
from typing import Any

import anyio

from toolkit.errors import UserError
from toolkit.progress import Progress
from toolkit.readers import ReadItem, read_records
from toolkit.records import StageOutcome, Trajectory, Validation
from toolkit.sources import ToolSource, open_registry, parse_source
from toolkit.specs import ToolSpec
from toolkit.toolsets import CallLimits, ToolRegistry
from toolkit.validation.arguments import arguments_stage, results_stage
from toolkit.validation.replay import nondeterminism_rule, replay_trajectory
from toolkit.validation.report import RecordReport, ValidationReport
from toolkit.validation.stages import DEFAULT_MAX_DEPTH, STAGES, STATIC_STAGES, record_stage
from toolkit.validation.structure import structure_stage
from toolkit.validation.subagents import subagents_stage

__all__ = ["check_record", "validate_trajectory", "avalidate_records", "validate_records", "validate_file"]

RecordInput = Trajectory | Mapping[str, Any] | ReadItem


def _check_stages(stages: Collection[str] | None) -> frozenset[str]:
    if stages is None:
        return frozenset(STAGES)
    unknown = sorted(set(stages) - set(STAGES))
    if unknown:
        raise UserError(f"unknown validation stage(s) {', '.join(unknown)}; choose from {', '.join(STAGES)}")
    return frozenset(stages) | {"record"}


def check_record(
    record: Trajectory | Mapping[str, Any],
    *,
    max_depth: int = DEFAULT_MAX_DEPTH,
    fallback_tools: Mapping[str, ToolSpec] | None = None,
    stages: Collection[str] | None = None,
) -> tuple[Trajectory | None, list[StageOutcome]]:
    """The static stages of one record: its trajectory (``None`` if ``record`` failed) and the outcomes."""
    if max_depth < 0:
        raise UserError(f"max_depth must be 0 or more, not {max_depth}")
    wanted = _check_stages(stages)
    traj, first = record_stage(record)
    outcomes = [first]
    if traj is None:
        return None, outcomes
    if "structure" in wanted:
        outcomes.append(structure_stage(traj, max_depth=max_depth))
    if "arguments" in wanted:
        outcomes.append(arguments_stage(traj, fallback=fallback_tools, max_depth=max_depth))
    if "results" in wanted:
        outcomes.append(results_stage(traj, fallback=fallback_tools, max_depth=max_depth))
    if "subagents" in wanted:
        outcomes.append(subagents_stage(traj, max_depth=max_depth))
    return traj, outcomes


async def validate_trajectory(
    traj: Trajectory,
    *,
    registry: ToolRegistry | None = None,
    max_depth: int = DEFAULT_MAX_DEPTH,
    nondeterministic: Collection[str] = (),
    stages: Collection[str] | None = None,
) -> Validation:
    """Validate one trajectory; with an open ``registry``, replay its calls on it too (state is not reset).

    Store the result on the record: ``traj.validation = await validate_trajectory(traj, registry=registry)``.
    """
    fallback = {s.name: s for s in registry.specs()} if registry is not None else None
    parsed, outcomes = check_record(traj, max_depth=max_depth, fallback_tools=fallback, stages=stages)
    if parsed is not None and registry is not None and "replay" in _check_stages(stages):
        outcomes.append(await replay_trajectory(
            parsed, registry, nondeterministic=nondeterminism_rule(nondeterministic), max_depth=max_depth
        ))
    return Validation(passed=all(o.passed for o in outcomes), stages=outcomes)


def static_report(
    index: int,
    item: RecordInput,
    max_depth: int,
    fallback: Mapping[str, ToolSpec] | None,
    stages: frozenset[str],
) -> tuple[RecordReport, Trajectory | None]:
    """One record's report after the static stages, and its trajectory if the ``record`` stage passed."""
    if isinstance(item, ReadItem):
        report = RecordReport(index=index, line=item.line, format=item.format)
        if item.record is None:
            failed = StageOutcome(stage="record", passed=False, reasons=[item.error or "unreadable line"])
            report.stages = [failed]
            return report, None
        data: Trajectory | Mapping[str, Any] = item.record
    else:
        report = RecordReport(index=index, format="toolgym")
        data = item
    if isinstance(data, Trajectory):
        raw_id: Any = data.id
    else:
        raw_id = data.get("id") if isinstance(data, Mapping) else None
    report.id = raw_id if isinstance(raw_id, str) else None
    traj, report.stages = check_record(data, max_depth=max_depth, fallback_tools=fallback, stages=stages)
    return report, traj


async def _probe(registry_factory: Callable[[], ToolRegistry]) -> dict[str, ToolSpec]:
    """Open the sources once up front: a source that cannot start is a usage error, not N failed records."""
    try:
        async with registry_factory() as registry:
            return {s.name: s for s in registry.specs()}
    except UserError:
        raise
    except Exception as exc:
        raise UserError(
            f"could not open the tool sources for replay: {type(exc).__name__}: {exc}; check that each "
            "source starts on its own with `toolgym tools SOURCE`"
        ) from None


def _bar(progress: bool, label: str, total: int, unit: str) -> Progress | None:
    return Progress(total, label, unit=unit) if progress else None


def _collect(
    checked: Iterable[tuple[RecordReport, Trajectory | None]], replaying: bool, bar: Progress | None = None
) -> tuple[list[RecordReport], list[tuple[RecordReport, Trajectory]]]:
    reports: list[RecordReport] = []
    to_replay: list[tuple[RecordReport, Trajectory]] = []
    for report, traj in checked:
        reports.append(report)
        if replaying and traj is not None:
            to_replay.append((report, traj))
        if bar is not None:
            bar.advance(ok=report.passed)
    if bar is not None:
        bar.close()
    return reports, to_replay


async def _replay_all(
    to_replay: list[tuple[RecordReport, Trajectory]],
    factory: Callable[[], ToolRegistry],
    *,
    nondeterministic: Collection[str],
    concurrency: int,
    max_depth: int,
    progress: bool = False,
) -> None:
    rule = nondeterminism_rule(nondeterministic)
    limiter = anyio.CapacityLimiter(concurrency)
    bar = _bar(progress, "replay", len(to_replay), "trajectories")

    async def one(report: RecordReport, traj: Trajectory) -> None:
        async with limiter:
            outcome = await _replay_fresh(traj, factory, rule, max_depth)
            report.stages.append(outcome)
            if bar is not None:
                bar.advance(ok=outcome.passed)

    async with anyio.create_task_group() as tg:
        for report, traj in to_replay:
            tg.start_soon(one, report, traj)
    if bar is not None:
        bar.close()


async def _replay_fresh(
    traj: Trajectory, factory: Callable[[], ToolRegistry], rule: Callable[[str], bool], max_depth: int
) -> StageOutcome:
    try:
        async with factory() as registry:
            return await replay_trajectory(traj, registry, nondeterministic=rule, max_depth=max_depth)
    except Exception as exc:  # batch boundary: one record's broken tool state must not stop the others
        return StageOutcome(stage="replay", passed=False,
                            reasons=[f"replay setup failed: {type(exc).__name__}: {exc}"])


def _check_options(max_depth: int, concurrency: int) -> None:
    if max_depth < 0:
        raise UserError(f"max_depth must be 0 or more, not {max_depth}")
    if concurrency < 1:
        raise UserError(f"concurrency must be at least 1, not {concurrency}")


async def avalidate_records(
    records: Iterable[RecordInput],
    *,
    registry_factory: Callable[[], ToolRegistry] | None = None,
    max_depth: int = DEFAULT_MAX_DEPTH,
    nondeterministic: Collection[str] = (),
    fallback_tools: Mapping[str, ToolSpec] | None = None,
    stages: Collection[str] | None = None,
    concurrency: int = 4,
    source: str | None = None,
    progress: bool = False,
) -> ValidationReport:
    """Validate records (trajectories, record dicts, or :class:`ReadItem` lines from a file).

    With ``registry_factory`` (a zero-argument callable returning an *unopened* :class:`ToolRegistry`, e.g.
    ``lambda: open_registry(["py:mytools"])``) every record that parses is also replayed, on its own fresh
    registry, ``concurrency`` records at a time. The factory's tools also stand in for records that list none.
    ``progress`` draws progress bars on stderr (the static stages only when ``records`` has a length).
    """
    _check_options(max_depth, concurrency)
    wanted = _check_stages(stages)
    replaying = registry_factory is not None and "replay" in wanted
    if replaying and fallback_tools is None:
        fallback_tools = await _probe(registry_factory)
    checked = (static_report(i, item, max_depth, fallback_tools, wanted) for i, item in enumerate(records))
    reports, to_replay = _collect(checked, replaying, _static_bar(progress, records))
    if to_replay:
        await _replay_all(
            to_replay, registry_factory, nondeterministic=nondeterministic, concurrency=concurrency,
            max_depth=max_depth, progress=progress,
        )
    return ValidationReport(records=reports, source=source)


def _static_bar(progress: bool, records: Iterable[RecordInput]) -> Progress | None:
    if not progress or not isinstance(records, Sized):
        return None
    return _bar(progress, "validate", len(records), "records")


def validate_records(records: Iterable[RecordInput], **kwargs: Any) -> ValidationReport:
    """Synchronous :func:`avalidate_records`; without ``registry_factory`` it starts no event loop."""
    if kwargs.get("registry_factory") is None:
        return _run_static(records, **kwargs)
    _no_running_loop()
    return anyio.run(lambda: avalidate_records(records, **kwargs))


def _no_running_loop() -> None:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return
    raise UserError("validation with replay cannot start its own event loop inside a running one; "
                    "use `await avalidate_records(...)` there")


def _run_static(
    records: Iterable[RecordInput],
    *,
    registry_factory: None = None,
    max_depth: int = DEFAULT_MAX_DEPTH,
    nondeterministic: Collection[str] = (),
    fallback_tools: Mapping[str, ToolSpec] | None = None,
    stages: Collection[str] | None = None,
    concurrency: int = 4,
    source: str | None = None,
    progress: bool = False,
) -> ValidationReport:
    _check_options(max_depth, concurrency)
    wanted = _check_stages(stages) & frozenset(STATIC_STAGES)
    checked = (static_report(i, item, max_depth, fallback_tools, wanted) for i, item in enumerate(records))
    reports, _ = _collect(checked, False, _static_bar(progress, records))
    return ValidationReport(records=reports, source=source)


def validate_file(
    path: str | Path,
    *,
    sources: Sequence[str | ToolSource] = (),
    timeout: float | None = None,
    workers: int = 1,
    progress: bool = False,
    **kwargs: Any,
) -> ValidationReport:
    """Validate a JSONL dataset; with ``sources`` (``py:...``, ``stdio:...``, URLs) replay it on fresh tools.

    ``workers`` > 1 runs the static stages on that many processes (worth it from some thousands of records).
    ``progress`` draws progress bars on stderr. Other keyword arguments are those of
    :func:`avalidate_records`.
    """
    parsed = [s if isinstance(s, ToolSource) else parse_source(s) for s in sources]
    items = read_records(path)  # lazy: a large file is checked line by line, not loaded whole
    if parsed:
        limits = CallLimits(timeout=timeout) if timeout is not None else None
        kwargs["registry_factory"] = lambda: open_registry(parsed, limits=limits)
    if workers < 1:
        raise UserError(f"workers must be at least 1, not {workers}")
    if workers == 1:
        lines = _Counted(items, _count_records(Path(path))) if progress else items
        return validate_records(lines, source=str(path), progress=progress, **kwargs)
    return _validate_file_parallel(Path(path), workers, progress=progress, **kwargs)


class _Counted:
    """A lazy iterable of lines that knows how many there are (for a progress bar's total)."""

    def __init__(self, items: Iterable[ReadItem], total: int):
        self._items, self._total = items, total

    def __len__(self) -> int:
        return self._total

    def __iter__(self) -> Iterator[ReadItem]:
        return iter(self._items)


def _count_records(path: Path) -> int:
    with path.open("rb") as handle:
        return sum(1 for line in handle if line.strip())


def _validate_file_parallel(
    path: Path,
    workers: int,
    *,
    registry_factory: Callable[[], ToolRegistry] | None = None,
    max_depth: int = DEFAULT_MAX_DEPTH,
    nondeterministic: Collection[str] = (),
    fallback_tools: Mapping[str, ToolSpec] | None = None,
    stages: Collection[str] | None = None,
    concurrency: int = 4,
    progress: bool = False,
) -> ValidationReport:
    from toolkit.validation.parallel import check_file_parallel

    _check_options(max_depth, concurrency)
    wanted = _check_stages(stages)
    replaying = registry_factory is not None and "replay" in wanted
    if replaying:
        _no_running_loop()
        if fallback_tools is None:
            fallback_tools = anyio.run(_probe, registry_factory)
    raw = check_file_parallel(path, workers=workers, max_depth=max_depth, fallback=fallback_tools,
                              stages=wanted & frozenset(STATIC_STAGES), keep_records=replaying)
    # Records that passed `record` in a worker are valid, so rebuilding their trajectories here cannot fail.
    checked = ((r, Trajectory.model_validate(rec) if rec is not None else None) for r, rec in raw)
    bar = _bar(progress, "validate", _count_records(path), "records")
    reports, to_replay = _collect(checked, replaying, bar)
    if to_replay:
        anyio.run(lambda: _replay_all(to_replay, registry_factory, nondeterministic=nondeterministic,
                                      concurrency=concurrency, max_depth=max_depth, progress=progress))
    return ValidationReport(records=reports, source=str(path))
