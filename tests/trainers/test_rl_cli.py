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


@pytest.mark.slow
def test_train_rl_runs_and_reports_where_groups_had_an_outcome_to_learn_from(
    tmp_path: Path, tiny_model, smol_tokenizer, capsys: pytest.CaptureFixture[str]
) -> None:
    tiny_model.save_pretrained(tmp_path / "tiny")
    smol_tokenizer.save_pretrained(tmp_path / "tiny")
    config = tmp_path / "rl.yaml"
    config.write_text(
        f"model: {tmp_path / 'tiny'}\nsuites: [calculator]\nkinds: [single]\nnum_tasks: 1\nnum_generations: 2\n"
        f"batch_size: 2\nmax_steps: 1\nmax_completion_length: 16\nlora_r: 4\noutput_dir: {tmp_path / 'run'}\n"
    )
    # 16 tokens cannot hold the task's call, its result and an answer: the run says so before training
    with pytest.warns(UserWarning, match=r"max_completion_length 16 is shorter than the gold solution of 1 of 1"):
        assert toolgym(["train", "rl", str(config), "--quiet"]) == 0
    out = capsys.readouterr().out
    # a random model solves nothing: its one group had no outcome to learn from, and the report says so
    assert "groups with a solved and a failed rollout: single 0/1" in out
    # the summary line leads with the reward, its components and the monitors
    assert "last logged: reward " in out and "rewards/outcome/mean" in out and "monitor/unfinished_rate" in out
    assert "rollouts.jsonl" in out and len((tmp_path / "run" / "rollouts.jsonl").read_text().splitlines()) == 2
