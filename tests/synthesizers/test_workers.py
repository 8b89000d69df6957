"""Synthesis in worker processes (``workers: N``): same output as one process, deaths recorded, runs stopped."""

from __future__ import annotations

import json
from pathlib import Path

import anyio
import pytest

from synthesizers.config import SynthConfig
from synthesizers.factory import make_synthesizer
from synthesizers.outcome import SampleJob, SampleOutcome
from synthesizers.runner import RunAborted, RunOptions, run_synthesis
from synthesizers.workers import WorkerPool
from tests.toolkit.mcp_servers.helpers import child_processes
from toolkit.errors import UserError


@pytest.fixture(autouse=True)
def _no_worker_outlives_its_run() -> object:
    yield
    assert child_processes() == [], "a synthesis worker process outlived its run"


def _run(config: SynthConfig, out: Path, **options: object) -> object:
    opts = RunOptions(n=config.n, out=out, seed=config.seed, concurrency=config.concurrency, mix=config.mix,
                      sample_timeout=config.sample_timeout, progress=False, **options)  # type: ignore[arg-type]
    return anyio.run(run_synthesis, make_synthesizer(config), opts)


def test_two_workers_write_exactly_what_one_process_writes(tmp_path: Path) -> None:
    base = dict(suites=["calculator", "orders"], n=40, seed=5, concurrency=6)
    _run(SynthConfig(**base), tmp_path / "one.jsonl")
    report = _run(SynthConfig(**base, workers=2), tmp_path / "two.jsonl")
    one, two = (tmp_path / "one.jsonl").read_bytes(), (tmp_path / "two.jsonl").read_bytes()
    assert one and one == two
    assert (tmp_path / "one.failures.jsonl").read_bytes() == (tmp_path / "two.failures.jsonl").read_bytes()
    assert report.yields.written == len(one.splitlines())  # type: ignore[attr-defined]


def test_a_dead_worker_fails_only_its_samples_and_too_many_deaths_stop_the_run(tmp_path: Path,
                                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    flag = tmp_path / "crash-now"
    monkeypatch.setenv("TOOLGYM_TEST_CRASH_AFTER", str(flag))
    config = SynthConfig(tools=["py:tests.synthesizers.crashing_tools"], n=12, concurrency=2, workers=2,
                         mix={"single": 1})
    pool = make_synthesizer(config)
    assert isinstance(pool, WorkerPool)
    out = tmp_path / "data.jsonl"

    async def go() -> None:
        async with pool:  # workers start while the tool still works
            flag.write_text("")
            await run_synthesis(pool, RunOptions(n=12, out=out, concurrency=2, mix={"single": 1}, progress=False),
                                enter=False)

    with pytest.raises(RunAborted, match="died .* times"):
        anyio.run(go)
    failures = [json.loads(line) for line in (tmp_path / "data.failures.jsonl").read_text().splitlines()]
    assert failures and all("worker process died (exit code 3)" in f["reason"] for f in failures)
    assert not out.read_text()


def test_a_worker_that_cannot_start_stops_the_run_with_its_error(tmp_path: Path) -> None:
    config = SynthConfig(tools=["py:tests.synthesizers.no_such_module"], n=4, workers=2)
    with pytest.raises(RunAborted, match="could not start(.|\n)*no_such_module"):
        _run(config, tmp_path / "data.jsonl")


def test_run_aborted_passes_the_per_sample_boundary_and_keeps_what_was_written(tmp_path: Path) -> None:
    class StopsAtFive:
        async def __aenter__(self) -> StopsAtFive:
            return self

        async def __aexit__(self, *exc: object) -> None:
            return None

        async def synthesize(self, job: SampleJob) -> SampleOutcome:
            if job.index == 5:
                raise RunAborted("the endpoint is gone")
            if job.index > 5:
                await anyio.sleep(5)
            from toolkit.records import Message, Trajectory

            traj = Trajectory(id=job.id, messages=[Message(role="user", content=f"q{job.index}"),
                                                   Message(role="assistant", content="ok")])
            return SampleOutcome.success(job, traj)

    out = tmp_path / "data.jsonl"
    with pytest.raises(RunAborted, match="endpoint is gone"):
        anyio.run(run_synthesis, StopsAtFive(), RunOptions(n=10, out=out, concurrency=1, progress=False))
    assert len(out.read_text().splitlines()) == 5


def test_workers_must_be_positive() -> None:
    with pytest.raises(UserError, match="workers must be at least 1"):
        SynthConfig(suites=["calculator"], workers=0)


def test_synth_command_takes_workers(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from toolkit.cli import main

    out = tmp_path / "cli.jsonl"
    assert main(["synth", "--suite", "calculator", "--n", "8", "--workers", "2", "--out", str(out), "--quiet"]) == 0
    assert len(out.read_text().splitlines()) + len((tmp_path / "cli.failures.jsonl").read_text().splitlines()) == 8
    assert "wrote" in capsys.readouterr().out
