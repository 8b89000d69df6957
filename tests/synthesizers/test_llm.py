"""The LLM-driven synthesizer against a real HTTP server speaking the OpenAI chat API (scripted replies)."""

from __future__ import annotations

import json
from pathlib import Path

import anyio
import pytest

from synthesizers.llm import LLMSynthesizer
from synthesizers.llm.agent import Teacher
from synthesizers.runner import RunOptions, run_synthesis
from tests.synthesizers.teacher_double import teacher
from tests.toolkit.openai_loopback import OpenAILoopback, Reply
from toolkit.backends import Decoding, OpenAIBackend, OpenAIConfig
from toolkit.cli import main as toolgym
from toolkit.records import Trajectory

pytestmark = pytest.mark.usefixtures("allow_model_requests")


async def _no_wait(seconds: float) -> None:
    return None


def _synth(server: OpenAILoopback, *, judge: bool = False, concurrency: int = 1) -> LLMSynthesizer:
    backend = OpenAIBackend(OpenAIConfig(model="teacher", base_url=server.base_url, api_key_env=None, max_retries=3,
                                         request_timeout=5, max_concurrency=concurrency), sleep=_no_wait)
    return LLMSynthesizer(teacher=Teacher(backend=backend, decoding=Decoding(temperature=0.7, max_tokens=256)),
                          suites=["calculator"], judge=judge, model_name="teacher")


def _run(synth: LLMSynthesizer, out: Path, n: int, **kw: object) -> object:
    return anyio.run(run_synthesis, synth, RunOptions(n=n, out=out, progress=False, **kw))  # type: ignore[arg-type]


def test_a_teacher_writes_tasks_acts_with_real_tools_and_only_valid_records_are_kept(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "llm.jsonl"
    with OpenAILoopback(responder=teacher) as server:
        report = _run(_synth(server, judge=True), out, 6, mix={"single": 1})
    records = [Trajectory.model_validate_json(line) for line in out.read_text().splitlines()]
    yields = report.yields  # type: ignore[attr-defined]
    assert yields.reached["verified"] == 6, yields.render()  # every sample passed; repeats of a task are deduped
    assert len(records) == yields.written >= 3
    first = records[0]
    assert [m.role for m in first.messages] == ["system", "user", "assistant", "tool", "assistant"]
    assert first.tool_calls()[0].name == "convert_units"
    result = json.loads(first.messages[3].content or "{}")["result"]
    assert str(result) in (first.final_answer() or "")  # the answer is grounded in the real tool result
    assert first.provenance and first.provenance.generator == "llm" and first.provenance.teacher == "teacher"
    assert toolgym(["validate", str(out), "--tools", "py:tools.calculator"]) == 0, capsys.readouterr().out


def test_rate_limits_server_errors_malformed_calls_and_slow_answers_are_survived_and_recorded(tmp_path: Path) -> None:
    out = tmp_path / "faults.jsonl"
    script = [
        Reply.error(429, "slow down", retry_after=0),  # sample 0: retried, then the task
        Reply.text('{"request": "How much is 5 km in mi?", "needs_tools": true, "persona": "x"}'),
        Reply.error(500, "boom"),  # the agent turn: retried after a server error
        Reply.tool_calls(("convert_units", {"value": 5, "from_unit": "km", "to_unit": "mi"})),
        Reply.text("That is about 3.1 miles."),
        Reply.text('{"request": "How much is 12 kg in lb?", "needs_tools": true, "persona": "x"}'),  # sample 1
        Reply.tool_calls(("convert_units", '{"value": 12, "from_unit": ')),  # malformed JSON arguments
        Reply.text('{"request": "How much is 3 ft in m?", "needs_tools": true, "persona": "x"}'),  # sample 2
        Reply.tool_calls(("convert_units", {"value": 3, "from_unit": "ft", "to_unit": "m"})).slow(30),
    ]
    with OpenAILoopback(script) as server:
        report = _run(_synth(server), out, 3, mix={"single": 1}, sample_timeout=2, concurrency=1)
        server.assert_complete()
        statuses = [r.body for r in server.completions]
    assert len(statuses) == 9
    written = [json.loads(line)["id"] for line in out.read_text().splitlines()]
    failures = [json.loads(line) for line in (tmp_path / "faults.failures.jsonl").read_text().splitlines()]
    assert len(written) == 1 and len(failures) == 2
    by_stage = {f["stage"]: f["reason"] for f in failures}
    assert "malformed tool call" in by_stage["parsed"]
    assert "time limit" in by_stage["generated"]
    reached = report.yields.reached  # type: ignore[attr-defined]
    assert (reached["generated"], reached["parsed"], reached["written"]) == (2, 1, 1)


def test_concurrent_samples_share_one_endpoint(tmp_path: Path) -> None:
    out = tmp_path / "many.jsonl"
    with OpenAILoopback(responder=teacher) as server:
        _run(_synth(server, concurrency=8), out, 24, mix={"single": 1}, concurrency=8)
    assert len(out.read_text().splitlines()) >= 5  # duplicates of the five scripted requests are removed


def test_an_agent_that_gives_up_after_an_injected_failure_is_not_kept(tmp_path: Path) -> None:
    out = tmp_path / "gave_up.jsonl"
    script = [
        Reply.text('{"request": "How much is 5 km in mi?", "needs_tools": true, "persona": "x"}'),
        Reply.tool_calls(("convert_units", {"value": 5, "from_unit": "km", "to_unit": "mi"})),
        Reply.text("Sorry, the tool is not working right now."),
    ]
    with OpenAILoopback(script) as server:
        _run(_synth(server), out, 1, mix={"error_recovery": 1}, concurrency=1)
        server.assert_complete()
    assert out.read_text() == ""
    [failure] = [json.loads(line) for line in (tmp_path / "gave_up.failures.jsonl").read_text().splitlines()]
    assert failure["stage"] == "verified" and "did not call it again" in failure["reason"]
