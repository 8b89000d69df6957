from __future__ import annotations

from pathlib import Path

import pytest

from toolkit.cli import main as toolgym


def test_train_rl_help_lists_every_setting(capsys: pytest.CaptureFixture[str]) -> None:
    assert toolgym(["train", "rl", "--help"]) == 0
    out = capsys.readouterr().out
    assert "samples/train_rl.yaml" in out and "num_generations" in out


def test_train_rl_reports_a_bad_setting_as_a_usage_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "rl.yaml"
    config.write_text("no_such_setting: 1\n")
    assert toolgym(["train", "rl", str(config)]) == 2
    assert "no_such_setting" in capsys.readouterr().err
