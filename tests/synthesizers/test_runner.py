from __future__ import annotations

import json
from pathlib import Path

import anyio
import pytest

from synthesizers.outcome import SampleJob, SampleOutcome
from synthesizers.runner import RunOptions, parse_shard, plan_jobs, run_synthesis, side_paths
from synthesizers.merge import merge_shards
from toolkit.errors import UserError
from toolkit.records import Message, Trajectory


class CountingSynth:
    """A synthesizer whose samples are determined by the job alone; some fail, some repeat, one hangs."""

    def __init__(self, *, fail_every: int = 0, repeat_every: int = 0, hang_index: int | None = None):
        self.fail_every, self.repeat_every, self.hang_index = fail_every, repeat_every, hang_index
        self.entered = self.exited = 0
        self.calls: list[int] = []

    async def __aenter__(self) -> CountingSynth:
        self.entered += 1
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.exited += 1

    async def synthesize(self, job: SampleJob) -> SampleOutcome:
        self.calls.append(job.index)
        await anyio.sleep(0)  # yield so samples really interleave
        if job.index == self.hang_index:
            await anyio.Event().wait()
        if self.fail_every and job.index % self.fail_every == 0:
            return SampleOutcome.failure(job, "executed", "tool said no")
        if job.index == 7:
            raise RuntimeError("generator bug")
        topic = "same question" if self.repeat_every and job.index % self.repeat_every == 1 else f"question {job.index} about {job.seed % 997}"
        traj = Trajectory(id=job.id, messages=[Message(role="user", content=topic), Message(role="assistant", content="ok")])
        return SampleOutcome.success(job, traj)


def _ids(path: Path) -> list[str]:
    return [json.loads(line)["id"] for line in path.read_text().splitlines()]


def test_jobs_are_identical_across_runs_and_shards_partition_them() -> None:
    opts = dict(n=40, out=Path("x.jsonl"), seed=3, mix={"single": 1, "parallel": 1})
    full = plan_jobs(RunOptions(**opts))
    assert full == plan_jobs(RunOptions(**opts))
    shards = [plan_jobs(RunOptions(**opts, shard=(k, 3))) for k in range(3)]
    assert sorted(j.index for s in shards for j in s) == list(range(40))
    assert {j.id for s in shards for j in s} == {j.id for j in full}
    assert {j.kind for j in full} == {"single", "parallel"}


def test_a_run_writes_successes_in_index_order_and_records_failures_with_their_stage(tmp_path: Path) -> None:
    out = tmp_path / "data.jsonl"
    synth = CountingSynth(fail_every=5, repeat_every=4, hang_index=11)
    report = anyio.run(run_synthesis, synth, RunOptions(n=20, out=out, concurrency=4, sample_timeout=0.5, progress=False))
    written = _ids(out)
    assert written == sorted(written)
    failures = {json.loads(l)["index"]: json.loads(l) for l in (tmp_path / "data.failures.jsonl").read_text().splitlines()}
    assert failures[0]["stage"] == "executed" and failures[5]["reason"] == "tool said no"
    assert failures[7]["stage"] == "generated" and "RuntimeError: generator bug" in failures[7]["reason"]
    assert "time limit" in failures[11]["reason"]
    assert failures[5]["stage"] == "executed"
    # indices 1, 5(failed), 9, 13, 17 ask "same question": only the first survives dedupe
    assert failures[9]["stage"] == "unique" and failures[9]["reason"] == "exact duplicate"
    assert len(written) + len(failures) == 20
    assert report.yields.written == len(written)
    summary = json.loads((tmp_path / "data.summary.json").read_text())
    assert summary["stages"]["written"] == len(written) and summary["attempted"] == 20
    assert synth.entered == synth.exited == 1
    assert "unique" in report.yields.render() and "exact duplicate" in report.yields.render()


def test_resume_skips_done_samples_repairs_a_torn_line_and_never_duplicates(tmp_path: Path) -> None:
    reference = tmp_path / "ref.jsonl"
    anyio.run(run_synthesis, CountingSynth(fail_every=6), RunOptions(n=30, out=reference, progress=False))
    out = tmp_path / "run.jsonl"
    lines = reference.read_text().splitlines(keepends=True)
    out.write_text("".join(lines[:10]) + lines[10][: len(lines[10]) // 2])  # a crash mid-write
    synth = CountingSynth(fail_every=6)
    report = anyio.run(run_synthesis, synth, RunOptions(n=30, out=out, resume=True, progress=False))
    assert _ids(out) == _ids(reference)
    assert report.skipped == 10
    assert not set(synth.calls) & {int(i.split("-")[1]) for i in _ids(reference)[:10]}


def test_starting_over_an_existing_output_without_resume_is_refused(tmp_path: Path) -> None:
    out = tmp_path / "run.jsonl"
    out.write_text('{"id": "x"}\n')
    with pytest.raises(UserError, match="--resume"):
        anyio.run(run_synthesis, CountingSynth(), RunOptions(n=2, out=out, progress=False))


def test_shards_merge_into_the_same_records_as_one_run(tmp_path: Path) -> None:
    single = tmp_path / "all.jsonl"
    anyio.run(run_synthesis, CountingSynth(fail_every=4, repeat_every=5), RunOptions(n=24, out=single, progress=False))
    parts = []
    for k in range(3):
        part = tmp_path / f"part{k}.jsonl"
        anyio.run(run_synthesis, CountingSynth(fail_every=4, repeat_every=5),
                  RunOptions(n=24, out=part, shard=(k, 3), progress=False))
        parts.append(part)
    merged = tmp_path / "merged.jsonl"
    report = merge_shards(parts + [parts[0]], merged)  # a shard passed twice is harmless
    assert _ids(merged) == _ids(single)
    assert report.duplicate_ids == len(_ids(parts[0]))


def test_bad_options_are_user_errors_that_say_what_to_write() -> None:
    with pytest.raises(UserError, match="k/N"):
        parse_shard("2")
    with pytest.raises(UserError, match="0 <= k < N"):
        parse_shard("3/3")
    with pytest.raises(UserError, match="mix"):
        RunOptions(n=1, out=Path("x"), mix={"single": 0})
    assert side_paths(Path("d/train.jsonl")) == (Path("d/train.failures.jsonl"), Path("d/train.summary.json"))


class BrokenTextSynth(CountingSynth):
    """Sample 2's answer holds a lone surrogate, as a teacher's half-escaped emoji decodes to."""

    async def synthesize(self, job: SampleJob) -> SampleOutcome:
        text = "half an emoji \ud83d" if job.index == 2 else f"answer {job.index}"
        traj = Trajectory(id=job.id, messages=[Message(role="user", content=f"question {job.index}"),
                                               Message(role="assistant", content=text)])
        return SampleOutcome.success(job, traj)


def test_a_sample_that_is_not_valid_unicode_is_recorded_as_failed_and_the_run_goes_on(tmp_path: Path) -> None:
    out = tmp_path / "data.jsonl"
    report = anyio.run(run_synthesis, BrokenTextSynth(), RunOptions(n=5, out=out, progress=False,
                                                                     near_dup_threshold=None))
    assert len(_ids(out)) == 4 and report.yields.written == 4
    (failure,) = [json.loads(line) for line in (tmp_path / "data.failures.jsonl").read_text().splitlines()]
    assert failure["index"] == 2 and failure["stage"] == "written" and "not valid Unicode" in failure["reason"]
    out.read_text(encoding="utf-8")  # every written line is valid UTF-8


class LeakyReasonSynth(CountingSynth):
    """Failure reasons as any synthesizer may write them: quoting a teacher's error with a key, a server's stderr
    with a token, and broken teacher text."""

    async def synthesize(self, job: SampleJob) -> SampleOutcome:
        if job.index == 0:
            reason = "teacher said: Authorization: Bearer sk-live-abcdef0123456789"
            return SampleOutcome.failure(job, "generated", reason)
        if job.index == 1:
            raise RuntimeError("server stderr: API_TOKEN=ghp_0123456789abcdefghijABCDEFGHIJ012345 rejected")
        return SampleOutcome.failure(job, "verified", "answer quotes \ud83d half an emoji")


def test_failure_reasons_from_any_synthesizer_are_recorded_with_secrets_masked_and_unicode_escaped(
    tmp_path: Path,
) -> None:
    out = tmp_path / "data.jsonl"
    report = anyio.run(run_synthesis, LeakyReasonSynth(), RunOptions(n=3, out=out, progress=False))
    raw = (tmp_path / "data.failures.jsonl").read_text(encoding="utf-8")  # strict UTF-8: no lone surrogate left
    reasons = [json.loads(line)["reason"] for line in raw.splitlines()]
    assert len(reasons) == 3 and report.yields.written == 0
    shown = raw + (tmp_path / "data.summary.json").read_text() + report.yields.render()
    assert "sk-live-abcdef0123456789" not in shown and "ghp_0123456789abcdef" not in shown
    assert "Bearer" in reasons[0] and "API_TOKEN=" in reasons[1] and "\\ud83d" in reasons[2]


def test_merge_refuses_an_existing_output_and_leaves_no_partial_file_when_it_fails(tmp_path: Path) -> None:
    part = tmp_path / "part.jsonl"
    anyio.run(run_synthesis, CountingSynth(), RunOptions(n=6, out=part, progress=False))
    merged = tmp_path / "merged.jsonl"
    merged.write_text("{}\n")
    with pytest.raises(UserError, match="delete it or choose another --out"):
        merge_shards([part], merged)
    merged.unlink()
    with pytest.raises(UserError, match="does not exist"):
        merge_shards([part, tmp_path / "missing.jsonl"], merged)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["part.failures.jsonl", "part.jsonl", "part.summary.json"]
    merge_shards([part], merged)
    assert _ids(merged) == _ids(part) and not (tmp_path / "merged.jsonl.partial").exists()
