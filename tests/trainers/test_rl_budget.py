"""The token budget: a rollout that runs out of max_completion_length is flagged, and the pre-flight check finds the
tasks whose gold solution does not fit before any training step is spent on them."""

from __future__ import annotations

import pytest

from tests.trainers.test_demonstrations import GIVE_UP, _guided, _rows
from tests.trainers.test_rl_env import ScriptedPolicy, tool_call
from toolkit.template_rendering import render_tasks
from trainers import rl_budget
from trainers.monitors import monitor_values
from trainers.rl_budget import check_budget
from trainers.rl_rollout import ToolRollout


def _rollout(tokenizer, budget: int, policy=None, guidance: str = "gold", presentation: str = "python") -> ToolRollout:
    policy = policy or ScriptedPolicy(tokenizer, lambda ctx, n: GIVE_UP)
    return ToolRollout(presentation=presentation, tokenizer=tokenizer, max_completion_length=budget,
                       guidance=guidance, group_size=2, generate=policy)


def test_the_gold_length_is_exactly_the_budget_a_demonstration_needs(smol_tokenizer):
    task = render_tasks("retrieval", n=3, seed=7, kinds=["chain"])[0]
    n = _rollout(smol_tokenizer, 64).gold_length(_rows(task, 1)[0])
    assert n is not None and n > 200  # two calls, their results and the answer
    fits = _guided(smol_tokenizer, "python", ScriptedPolicy(smol_tokenizer, lambda ctx, k: GIVE_UP),
                   max_completion_length=n)(_rows(task, 2), None)["toolgym_episode"]
    short = _guided(smol_tokenizer, "python", ScriptedPolicy(smol_tokenizer, lambda ctx, k: GIVE_UP),
                    max_completion_length=n - 1)(_rows(task, 2), None)["toolgym_episode"]
    assert fits[1].demonstration and fits[1].solved and not fits[1].out_of_budget
    assert not short[1].demonstration
    no_tool = render_tasks("calculator", n=1, seed=0, kinds=["no_tool"])[0]
    assert _rollout(smol_tokenizer, 64).gold_length(_rows(no_tool, 1)[0]) is None


def test_a_rollout_whose_tool_results_do_not_fit_is_out_of_budget_and_the_monitor_counts_it(smol_tokenizer):
    task = render_tasks("calculator", n=1, seed=0, kinds=["single"])[0]
    call = tool_call("calculate", **task.gold_calls[0].arguments)

    def policy(ctx: str, n: int) -> str:  # row 0 calls the tool, row 1 answers at once
        return call if n % 2 == 0 else GIVE_UP

    call_tokens = len(smol_tokenizer(call, add_special_tokens=False)["input_ids"])
    rollout = _rollout(smol_tokenizer, call_tokens + 8, ScriptedPolicy(smol_tokenizer, policy), guidance="none",
                       presentation="json")
    calling, answering = rollout(_rows(task, 2), None)["toolgym_episode"]
    assert calling.out_of_budget and not calling.finished and len(calling.calls) == 1  # ran; no room for its result
    assert not answering.out_of_budget and answering.finished
    assert monitor_values([calling, answering])["monitor/out_of_budget_rate"] == 0.5

    roomy = _rollout(smol_tokenizer, 2048, ScriptedPolicy(smol_tokenizer, policy), guidance="none", presentation="json")
    assert not any(ep.out_of_budget for ep in roomy(_rows(task, 2), None)["toolgym_episode"])


def test_a_turn_cut_off_by_the_budget_is_out_of_budget(smol_tokenizer):
    task = render_tasks("calculator", n=1, seed=0, kinds=["single"])[0]
    rambling = smol_tokenizer("I will think about this at length. " * 20, add_special_tokens=False)["input_ids"]

    def cut(batch, budgets):  # a model that has not stopped when the budget runs out
        return [rambling[:b] for b in budgets]

    (episode,) = _rollout(smol_tokenizer, 16, cut, guidance="none")(_rows(task, 1), None)["toolgym_episode"]
    assert episode.out_of_budget and episode.turns[-1].truncated and not episode.finished


def test_the_check_names_the_tasks_that_do_not_fit_and_the_budget_that_would(smol_tokenizer):
    tasks = render_tasks("retrieval", n=6, seed=7, kinds=["chain", "single"])
    prompts = [_rows(t, 1)[0] for t in tasks]
    lengths = [_rollout(smol_tokenizer, 64).gold_length(p) for p in prompts]
    budget = sorted(lengths)[len(lengths) // 2]  # about half the tasks fit
    report = check_budget(_rollout(smol_tokenizer, budget), tasks, prompts)
    expected = sorted(t.id for t, n in zip(tasks, lengths, strict=True) if n > budget)
    assert report.over == expected and 0 < len(expected) < len(tasks)
    assert report.longest == max(lengths)
    message = report.message()
    assert f"max_completion_length {budget}" in message and f"{len(expected)} of {len(tasks)} measured" in message
    assert f"Raise max_completion_length to at least {max(lengths)}" in message
    summary = report.to_dict()
    assert summary["over_budget"] == len(expected) and summary["longest"] == max(lengths)
    assert check_budget(_rollout(smol_tokenizer, max(lengths)), tasks, prompts).message() is None


def test_a_large_task_pool_is_checked_on_a_seeded_sample(smol_tokenizer, monkeypatch):
    monkeypatch.setattr(rl_budget, "MAX_CHECKED", 3)
    tasks = render_tasks("calculator", n=8, seed=0, kinds=["single"])
    prompts = [_rows(t, 1)[0] for t in tasks]
    a = check_budget(_rollout(smol_tokenizer, 32), tasks, prompts, seed=1)
    b = check_budget(_rollout(smol_tokenizer, 32), tasks, prompts, seed=1)
    assert a.sampled and len(a.lengths) == 3 and a.lengths == b.lengths
    assert "(a sample of 8)" in a.message()


@pytest.mark.parametrize("presentation", ["json", "mcp"])
def test_gold_lengths_are_measured_in_every_presentation(smol_tokenizer, presentation):
    task = render_tasks("files", n=2, seed=3, kinds=["chain"])[0]
    rollout = ToolRollout(presentation=presentation, tokenizer=smol_tokenizer, max_completion_length=64)
    assert rollout.gold_length(_rows(task, 1)[0]) > 64
