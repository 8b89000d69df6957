"""The README's main command, `toolgym demo`, end to end on a tiny model: every stage runs and the report holds
the measured before/after table. (The full-size run on SmolLM2-135M is the same code with bigger numbers.)"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from toolkit.cli import main as toolgym

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("allow_model_requests")]


@pytest.fixture
def tiny_model_dir(tmp_path: Path, tiny_model_factory, smol_tokenizer) -> Path:  # type: ignore[no-untyped-def]
    path = tmp_path / "tiny"
    tiny_model_factory().save_pretrained(path)
    smol_tokenizer.save_pretrained(path)
    return path


def test_the_demo_runs_every_stage_and_reports_base_vs_tuned(tmp_path: Path, tiny_model_dir: Path,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "demo"
    rc = toolgym(["demo", "--out", str(out), "--model", str(tiny_model_dir), "--n", "40", "--max-steps", "2",
                  "--eval-tasks", "6", "--quiet"])
    assert rc == 0
    printed = capsys.readouterr().out
    for stage in ("[1/6]", "[2/6]", "[3/6]", "[4/6]", "[5/6]", "[6/6]"):
        assert stage in printed
    assert "tuned (lenient)" in printed
    report = (out / "report.md").read_text()
    assert "## Before / after (held-out tasks)" in report and "McNemar" in report
    trained = json.loads((out / "sft" / "run.json").read_text())["data"]["train"]
    assert f"- SFT data: {trained['rows']} rows, {trained['trained_tokens']:,} of {trained['tokens']:,}" in report
    assert (out / "accuracy.png").stat().st_size > 0
    assert (out / "sft" / "adapter_config.json").exists() or any((out / "sft").rglob("adapter_config.json"))
    summary = json.loads((out / "demo.json").read_text())
    assert summary["validation"]["passed"] == summary["validation"]["total"] > 0
    assert {r["presentation"] for r in summary["table"]} == {"python", "mcp"}
    for pres in ("python", "mcp"):
        for label in ("base", "tuned"):
            rows = (out / f"eval-{label}-{pres}.jsonl").read_text().splitlines()
            assert len(rows) == 6
