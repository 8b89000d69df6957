"""``resolve_resume``: which checkpoint a run resumes from, and the errors and notes around it (no trainer)."""

from __future__ import annotations

import json

import pytest

from toolkit.errors import UserError
from trainers.checkpoints import resolve_resume


def _checkpoint(folder, step, max_steps):
    folder.mkdir(parents=True)
    (folder / "trainer_state.json").write_text(json.dumps({"global_step": step, "max_steps": max_steps}))
    return folder


def test_no_resume_setting_means_a_fresh_run(tmp_path):
    assert resolve_resume(None, tmp_path, 10) is None


def test_latest_is_the_highest_numbered_checkpoint(tmp_path):
    for step in (2, 10, 4):
        _checkpoint(tmp_path / "checkpoints" / f"checkpoint-{step}", step, 20)
    resume = resolve_resume("latest", tmp_path, 20)
    assert resume.path.endswith("checkpoint-10") and resume.step == 10 and resume.planned_steps == 20
    assert resume.schedule_note(20) is None


def test_going_on_past_the_planned_length_is_noted(tmp_path):
    resume = resolve_resume(str(_checkpoint(tmp_path / "checkpoint-40", 40, 40)), tmp_path, 80)
    note = resume.schedule_note(80)
    assert "step 40 of a 40-step run" in note and "trains to 80" in note
    assert resume.to_dict(80)["schedule_note"] == note
    assert resume.schedule_note(-1) is None  # epoch-based runs: the length is not known here


@pytest.mark.parametrize(("resume", "message"), [
    ("latest", "latest found no checkpoint in .*checkpoints; train once first or unset resume"),
    ("{tmp}/nowhere", "nowhere is not a checkpoint directory \\(no trainer_state.json\\); pass checkpoint-N"),
])
def test_a_missing_checkpoint_says_what_to_do(tmp_path, resume, message):
    with pytest.raises(UserError, match=message):
        resolve_resume(resume.format(tmp=tmp_path), tmp_path, 10)


def test_a_checkpoint_with_nothing_left_to_train_is_refused(tmp_path):
    path = _checkpoint(tmp_path / "checkpoint-40", 40, 40)
    with pytest.raises(UserError, match="already at step 40 and max_steps is 40.*raise max_steps above 40"):
        resolve_resume(str(path), tmp_path, 40)


def test_an_unreadable_trainer_state_is_named(tmp_path):
    folder = tmp_path / "checkpoint-3"
    folder.mkdir()
    (folder / "trainer_state.json").write_text("{not json")
    with pytest.raises(UserError, match="trainer_state.json is not a readable trainer state"):
        resolve_resume(str(folder), tmp_path, 10)
