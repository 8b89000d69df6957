"""Guidance: gold demonstrations stand in for one rollout of a GRPO group that no rollout solved."""

from __future__ import annotations

import json

import pytest

from tests.trainers.test_rl_env import ScriptedPolicy, tool_call
from toolkit.environment import list_suites
from toolkit.errors import UserError
from toolkit.template_rendering import render_tasks
from trainers.demonstrations import DEMONSTRABLE_KINDS, demonstration_message, rows_beside_demonstrations
from trainers.monitors import monitor_values
from trainers.rl import build_tasks
from trainers.rl_config import RLRunConfig
from trainers.rl_rollout import TASK_KEY, ToolRollout

GIVE_UP = "I cannot help with that."


def _rows(task, n: int) -> list:
    return [[{"role": "user", "content": task.prompt, TASK_KEY: task.model_dump_json()}]] * n


def _guided(tokenizer, presentation: str, generate, group_size: int = 2, max_completion_length: int = 2048):
    return ToolRollout(presentation=presentation, tokenizer=tokenizer, max_completion_length=max_completion_length,
                       guidance="gold", group_size=group_size, generate=generate)


def _demonstrable_tasks() -> list:
    tasks = []
    for suite in list_suites():
        for kind in DEMONSTRABLE_KINDS:
            tasks += render_tasks(suite, n=2, seed=3, kinds=[kind])[:1]
    return tasks


@pytest.mark.parametrize("presentation", ["python", "json", "mcp"])
def test_every_bundled_suites_gold_demonstration_passes_in_every_presentation(smol_tokenizer, presentation):
    tasks = _demonstrable_tasks()
    assert {t.kind for t in tasks} >= {"single", "chain", "error", "missing_argument", "parallel"}
    for task in tasks:
        rollout = _guided(smol_tokenizer, presentation, ScriptedPolicy(smol_tokenizer, lambda ctx, n: GIVE_UP))
        out = rollout(_rows(task, 2), None)
        sampled, demo = out["toolgym_episode"]
        assert not sampled.demonstration and not sampled.solved, task.id
        assert demo.demonstration and demo.solved, (task.id, [t.text for t in demo.turns], demo.grade.reasons)
        assert all(t.strict_ok for t in demo.turns), (task.id, [t.text for t in demo.turns])
        assert [c.name for c in demo.executed_calls] == [c.name for c in task.gold_calls], task.id
        # the demonstration is a rollout like any other: the policy's tokens trained, tool results masked
        mask, ids = out["env_mask"][1], out["completion_ids"][1]
        assert len(mask) == len(ids) <= 2048 and mask[0] == 1 and 0 in mask, task.id
        trained = smol_tokenizer.decode([i for i, m in zip(ids, mask, strict=True) if m])
        assert demo.final_answer and demo.final_answer.strip()[:40] in trained, task.id
        masked = smol_tokenizer.decode([i for i, m in zip(ids, mask, strict=True) if not m])
        assert demo.calls[0].content[:40] in masked, task.id


def test_a_group_with_a_solved_rollout_and_a_no_tool_task_are_left_alone(smol_tokenizer):
    cfg = RLRunConfig(suites=["calculator"], kinds=["single"], num_tasks=1, num_generations=2, batch_size=2)
    task = build_tasks(cfg)[0]

    def reply(ctx: str, n: int) -> str:  # even rows solve the task, odd rows give up
        last = ctx.rsplit("<|im_start|>", 2)[-2]
        if last.startswith("tool"):
            return "The result is " + json.loads(last.split("\n", 1)[1].split("<|im_end|>")[0])["result"] + "."
        return tool_call("calculate", **task.gold_calls[0].arguments) if n % 2 == 0 else GIVE_UP

    out = _guided(smol_tokenizer, "json", ScriptedPolicy(smol_tokenizer, reply))(_rows(task, 2), None)
    solved, failed = out["toolgym_episode"]
    assert solved.solved and not failed.solved and not failed.demonstration

    no_tool = render_tasks("calculator", n=1, seed=0, kinds=["no_tool"])[0]
    assert demonstration_message(no_tool, 0, [], {}) is None
    out = _guided(smol_tokenizer, "json", ScriptedPolicy(smol_tokenizer, lambda ctx, n: GIVE_UP))(
        _rows(no_tool, 2), None)
    assert not any(ep.demonstration for ep in out["toolgym_episode"])


def test_rows_that_are_not_one_tasks_group_get_no_demonstration(smol_tokenizer):
    a, b = render_tasks("calculator", n=2, seed=0, kinds=["single"])
    rows = _rows(a, 1) + _rows(b, 1)  # a group split across processes: its slice here mixes two tasks
    out = _guided(smol_tokenizer, "json", ScriptedPolicy(smol_tokenizer, lambda ctx, n: GIVE_UP))(rows, None)
    assert not any(ep.demonstration for ep in out["toolgym_episode"])


def test_a_demonstration_that_does_not_fit_the_token_budget_is_dropped(smol_tokenizer):
    task = render_tasks("calendar", n=2, seed=3, kinds=["chain"])[0]
    policy = ScriptedPolicy(smol_tokenizer, lambda ctx, n: "No.")
    prompt_room = 12  # room for the policy's short reply, not for a chain of calls and their results
    out = _guided(smol_tokenizer, "json", policy, max_completion_length=prompt_room)(_rows(task, 2), None)
    assert not any(ep.demonstration for ep in out["toolgym_episode"])


def test_monitors_describe_the_sampled_rollouts_and_count_demonstrations(smol_tokenizer):
    task = render_tasks("calendar", n=2, seed=3, kinds=["chain"])[0]
    out = _guided(smol_tokenizer, "python", ScriptedPolicy(smol_tokenizer, lambda ctx, n: GIVE_UP), group_size=4)(
        _rows(task, 4), None)
    values = monitor_values(out["toolgym_episode"])
    assert values["monitor/demonstration_rate"] == 0.25
    assert values["monitor/pass_rate"] == 0.0 and values["monitor/calls_per_episode"] == 0.0


def test_guidance_settings_are_checked():
    with pytest.raises(UserError, match="guidance must be one of none, gold"):
        RLRunConfig(guidance="expert")
    with pytest.raises(UserError, match="guidance must be one of none, gold"):
        ToolRollout(presentation="json", tokenizer=None, max_completion_length=8, guidance="always")
    with pytest.raises(UserError, match="guidance_negatives: false only changes guided groups; set guidance: gold"):
        RLRunConfig(guidance_negatives=False)
    assert not RLRunConfig(guidance="gold", guidance_negatives=False).guidance_negatives


def test_the_sampled_rollouts_beside_a_demonstration_are_the_ones_flagged():
    # two groups of three: the first guided (its last rollout replaced), the second left alone
    assert rows_beside_demonstrations([False, False, True, False, False, False], 3) == [True, True, False] + [False] * 3
    assert rows_beside_demonstrations([True, False], 2) == [False, True]
    # a batch that is not whole groups is never guided, so it is never flagged
    assert rows_beside_demonstrations([False, True, False], 2) == [False, False, False]
