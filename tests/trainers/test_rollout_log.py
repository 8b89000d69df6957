"""The rollout log's rows and its resume rule, without a trainer (tests/trainers/test_rl.py runs it in GRPO)."""

from __future__ import annotations

import json
from types import SimpleNamespace

from toolkit.environment import Task
from trainers.rl_env import CallRecord
from trainers.rl_rollout import Turn
from trainers.rollout_log import (
    contrast_by_kind,
    prepare_rollout_log,
    read_rollout_log,
    rollout_log_path,
    rollout_rows,
)


def _episode(answer: str, arguments: dict) -> SimpleNamespace:
    task = Task(id="calculator/add/0-1", suite="calculator", kind="single", turns=["What is 1 + 1?"])
    return SimpleNamespace(
        task=task,
        calls=[CallRecord(name="calculate", arguments=arguments, content="{}", is_error=False)],
        final_answer=answer,
        turns=[Turn(text="x" * 5000, calls=[], strict_ok=True, lenient_error=None)],
        grade=SimpleNamespace(passed=True),
        solved=True,
    )


def test_a_row_bounds_model_text_masks_url_credentials_and_weighs_the_components():
    secret = "see https://bob:hunter2@example.com/doc?token=abc"
    rows = rollout_rows(
        step=3, episodes=[_episode(secret, {"expression": "1 + 1"})], rewards=[[1.0, float("nan"), 0.0]],
        names=["outcome", "end_state", "monitors"], weights=[1.0, 0.5, 0.0], advantages=[0.75], first_row=5,
        group_size=4, filtered=[False],
    )
    (row,) = rows
    assert row["step"] == 3 and row["group"] == 1 and row["reward"] == 1.0 and row["advantage"] == 0.75
    assert row["rewards"] == {"outcome": 1.0, "end_state": None}  # NaN: not applicable; weight-0 monitors left out
    assert "hunter2" not in row["final_answer"] and "abc" not in row["final_answer"]
    assert len(row["turns"][0]["text"]) < 2100 and row["turns"][0]["text"].endswith("[3000 more chars]")
    assert json.loads(row["calls"][0]["arguments"]) == {"expression": "1 + 1"} and row["filtered"] is False


def test_resuming_keeps_the_checkpointed_steps_and_drops_the_rest(tmp_path):
    log = rollout_log_path(tmp_path)
    assert log.name == "rollouts.jsonl" and rollout_log_path(tmp_path, 2).name == "rollouts-rank2.jsonl"
    log.write_text("".join(json.dumps({"step": s}) + "\n" for s in (1, 1, 2, 2, 3)) + '{"step": 3, "gr')
    assert [r["step"] for r in read_rollout_log(log)] == [1, 1, 2, 2, 3]  # the torn line is skipped
    prepare_rollout_log(log, resumed_step=2)
    assert log.read_text() == "".join(json.dumps({"step": s}) + "\n" for s in (1, 1, 2, 2))
    prepare_rollout_log(log, resumed_step=None)  # a fresh run
    assert log.read_text() == ""
    prepare_rollout_log(tmp_path / "new" / "rollouts.jsonl", resumed_step=None)
    assert not (tmp_path / "new").exists()


def test_groups_are_counted_by_kind_as_solved_in_none_some_or_all_rollouts():
    def row(step, group, kind, passed):
        return {"step": step, "group": group, "task": {"kind": kind}, "passed": passed}

    rows = [row(1, 0, "chain", False), row(1, 0, "chain", False), row(1, 1, "single", True), row(1, 1, "single", False),
            row(2, 0, "single", True), row(2, 0, "single", True), row(2, 1, "chain", True), row(2, 1, "chain", False)]
    assert contrast_by_kind(rows) == {
        "chain": {"groups": 2, "none": 1, "some": 1, "all": 0, "guided": 0},
        "single": {"groups": 2, "none": 0, "some": 1, "all": 1, "guided": 0},  # step 1's group 1, step 2's group 0
    }


def test_a_demonstration_is_counted_as_guidance_not_as_a_solved_rollout():
    rows = [{"step": 1, "group": 0, "task": {"kind": "chain"}, "passed": False},
            {"step": 1, "group": 0, "task": {"kind": "chain"}, "passed": True, "demonstration": True}]
    assert contrast_by_kind(rows) == {"chain": {"groups": 1, "none": 1, "some": 0, "all": 0, "guided": 1}}
