"""The offline synthesizer over real suites and real MCP servers; every written record must pass validation with
execution replay on fresh tools."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import anyio
import pytest

from synthesizers.config import DEFAULT_MIX
from synthesizers.offline import OfflineSynthesizer
from synthesizers.runner import RunOptions, run_synthesis
from toolkit.cli import main as toolgym
from toolkit.environment import list_suites
from toolkit.records import Trajectory

TIME_SERVER = f"stdio:{sys.executable} -m mcp_server_time"


def _synth(tmp_path: Path, name: str, n: int, **kw: object) -> tuple[Path, object]:
    out = tmp_path / f"{name}.jsonl"
    synth = OfflineSynthesizer(suites=kw.pop("suites", []), sources=kw.pop("sources", []))  # type: ignore[arg-type]
    report = anyio.run(run_synthesis, synth, RunOptions(n=n, out=out, progress=False, concurrency=4, **kw))  # type: ignore[arg-type]
    return out, report


def _records(path: Path) -> list[Trajectory]:
    return [Trajectory.model_validate_json(line) for line in path.read_text().splitlines()]


@pytest.mark.parametrize("suite", list_suites())
def test_every_bundled_suite_yields_records_that_replay_exactly(tmp_path: Path, suite: str, capsys: pytest.CaptureFixture[str]) -> None:
    out, report = _synth(tmp_path, suite, 30, suites=[suite], mix=DEFAULT_MIX, seed=2)
    records = _records(out)
    assert len(records) >= 15, report.yields.render()  # type: ignore[attr-defined]
    kinds = {r.scenario.kind for r in records if r.scenario}
    assert {"single", "no_tool", "delegate"} & kinds
    assert toolgym(["validate", str(out), "--tools", f"py:tools.{suite}"]) == 0, capsys.readouterr().out


def test_all_scenario_kinds_come_out_of_a_mixed_run(tmp_path: Path) -> None:
    out, report = _synth(tmp_path, "mixed", 120, suites=["calculator", "orders"], mix=DEFAULT_MIX, seed=5)
    records = _records(out)
    kinds = {r.scenario.kind for r in records if r.scenario}
    assert kinds == set(DEFAULT_MIX), report.yields.render()  # type: ignore[attr-defined]
    delegated = [r for r in records if r.subagents]
    assert delegated and all(r.scenario and r.scenario.kind == "delegate" for r in delegated)
    for r in delegated:
        call_id, child = next(iter(r.subagents.items()))
        answer = next(m for m in r.messages if m.role == "tool" and m.tool_call_id == call_id).content
        assert answer == child.final_answer()
        assert child.tool_calls(), "a subagent must act, not fabricate a report"
    no_tool = [r for r in records if r.scenario and r.scenario.kind == "no_tool"]
    assert no_tool and all(not r.tool_calls() for r in no_tool)
    asks = [r for r in records if r.scenario and r.scenario.kind == "missing_argument"]
    assert asks and all([m.role for m in r.messages[:3]] == ["user", "assistant", "user"] for r in asks)
    recovery = [r for r in records if r.scenario and r.scenario.kind == "error_recovery"]
    assert any(m.role == "tool" and m.is_error for r in recovery for m in r.messages)


def test_a_third_party_mcp_server_over_stdio_synthesizes_without_templates(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out, report = _synth(tmp_path, "time", 16, sources=[TIME_SERVER], mix={"single": 3, "missing_argument": 1, "distractors": 1})
    records = _records(out)
    assert len(records) >= 10, report.yields.render()  # type: ignore[attr-defined]
    assert {c.name for r in records for c in r.tool_calls()} <= {"get_current_time", "convert_time"}
    rc = toolgym(["validate", str(out), "--tools", TIME_SERVER, "--nondeterministic", "get_current_time",
                  "--nondeterministic", "convert_time"])
    assert rc == 0, capsys.readouterr().out


def test_the_cli_prints_the_yield_table_and_diversity_and_writes_a_summary(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "cli.jsonl"
    assert toolgym(["synth", "--suite", "calculator", "--n", "12", "--out", str(out), "--quiet"]) == 0
    text = capsys.readouterr().out
    assert "schema_valid" in text and "diversity:" in text
    summary = json.loads((tmp_path / "cli.summary.json").read_text())
    assert summary["diversity"]["records"] == summary["written"] > 0
    assert summary["diversity"]["distinct_tools"] >= 2


def test_credentials_in_a_source_url_never_reach_the_records(tmp_path: Path) -> None:
    from toolkit.mcp_serve import running_http_server
    from tools.calculator import create_toolset

    out = tmp_path / "http.jsonl"

    async def main() -> None:
        async with running_http_server(create_toolset()) as url:
            secret_url = url.replace("http://", "http://alice:s3cret@") + "?token=SECRET123"
            synth = OfflineSynthesizer(sources=[secret_url])
            await run_synthesis(synth, RunOptions(n=4, out=out, progress=False, mix={"single": 1}))

    anyio.run(main)
    text = out.read_text() + (tmp_path / "http.summary.json").read_text()
    assert out.read_text().strip(), "no record was written"
    assert "s3cret" not in text and "SECRET123" not in text


def test_credentials_in_a_stdio_source_command_never_reach_records_or_failures(tmp_path: Path) -> None:
    server = Path(__file__).with_name("leaky_server.py")
    source = f"stdio:env API_TOKEN=s3cr3t-tok {sys.executable} {server} --api-key SECRET456"
    out, report = _synth(tmp_path, "leaky", 4, sources=[source], mix={"single": 1}, seed=3)
    failures = tmp_path / "leaky.failures.jsonl"
    text = out.read_text() + failures.read_text() + (tmp_path / "leaky.summary.json").read_text()
    records = _records(out)
    # Records mean the real command ran (env, server, args); only the label used for names is masked.
    assert records and failures.read_text().strip(), report.yields.render()  # type: ignore[attr-defined]
    assert "s3cr3t" not in text and "SECRET456" not in text
    assert all(r.scenario and "API_TOKEN=***" in r.scenario.suite for r in records)
    assert "--api-key ***: crash failed" in failures.read_text()
