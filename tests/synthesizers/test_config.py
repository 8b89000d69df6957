from __future__ import annotations

from pathlib import Path

import pytest

from synthesizers.config import load_config
from toolkit.cli import main as toolgym
from toolkit.errors import UserError


def test_a_misspelled_scenario_kind_is_a_usage_error_listing_the_kinds(tmp_path: Path) -> None:
    config = tmp_path / "c.yaml"
    config.write_text("suites: [calculator]\nmix: {singel: 1}\n")
    with pytest.raises(UserError, match="unknown scenario kind.*singel.*kinds: single"):
        load_config(config, {})


def test_teacher_on_the_command_line_keeps_the_rest_of_the_teacher_block(tmp_path: Path) -> None:
    config = tmp_path / "c.yaml"
    config.write_text("synthesizer: llm\nsuites: [calculator]\nteacher: {base_url: http://a/v1, model: m, judge: true, "
                      "temperature: 0.3}\n")
    cfg = load_config(config, {"teacher": {"base_url": "http://b/v1", "model": "other", "api_key_env": None}})
    assert cfg.teacher is not None
    assert (cfg.teacher.base_url, cfg.teacher.model, cfg.teacher.judge, cfg.teacher.temperature) == (
        "http://b/v1", "other", True, 0.3)
    assert cfg.teacher.api_key_env is None


def test_unknown_settings_and_a_missing_tool_source_say_what_to_write(tmp_path: Path) -> None:
    config = tmp_path / "c.yaml"
    config.write_text("sutes: [calculator]\n")
    with pytest.raises(UserError, match="unknown setting.*sutes"):
        load_config(config, {})
    with pytest.raises(UserError, match="no tools to synthesize from"):
        load_config(None, {})


def test_a_refused_rerun_keeps_the_failure_records_of_the_first_run(tmp_path: Path) -> None:
    out = tmp_path / "d.jsonl"
    assert toolgym(["synth", "--suite", "calculator", "--n", "30", "--out", str(out), "--quiet"]) == 0
    failures = tmp_path / "d.failures.jsonl"
    before = failures.read_text()
    assert toolgym(["synth", "--suite", "calculator", "--n", "30", "--out", str(out), "--quiet"]) == 2
    assert failures.read_text() == before
