"""Reward components and hacking monitors on hand-made completions, scored from real tool execution."""

from __future__ import annotations

import json

import pytest

from tests.trainers.test_rl_env import _task, run_episode, tool_call
from toolkit.errors import UserError
from trainers.monitors import monitor_function, monitor_values
from trainers.rewards import (
    DEFAULT_WEIGHTS,
    RewardSettings,
    component_scores,
    reward_functions,
    rows_without_outcome_contrast,
)
from trainers.rl_rollout import TASK_KEY, ToolRollout


@pytest.fixture(scope="module")
def calc():
    return _task("calculator", "arithmetic", n=1)


def scores(tok, task, replies, **kw):
    _, ep = run_episode(tok, task, replies, **kw)
    return component_scores(ep), ep


def test_a_correct_call_and_answer_earn_every_component(smol_tokenizer, calc):
    got, _ = scores(
        smol_tokenizer,
        calc,
        [tool_call("calculate", **calc.gold_calls[0].arguments), f"The result is {calc.answer_facts[0]}."],
    )
    assert got == {
        "format": 1.0,
        "tool_choice": 1.0,
        "arguments": 1.0,
        "end_state": 1.0,
        "answer": 1.0,
        "outcome": 1.0,
        "total": pytest.approx(sum(DEFAULT_WEIGHTS.values())),
    }


def test_a_wrong_argument_gets_tool_choice_credit_only_at_the_failed_outcome_rate(smol_tokenizer, calc):
    got, ep = scores(
        smol_tokenizer, calc, [tool_call("calculate", expression="725 * 46 + 3920"), "The result is 37270."]
    )
    assert not ep.calls[0].is_error  # the call really ran: the wrong value came from the tool
    assert got["arguments"] == 0.0 and got["answer"] == 0.0 and got["outcome"] == 0.0
    assert got["tool_choice"] == 0.25 and got["format"] == 0.25


def test_a_wrong_tool_earns_no_choice_argument_or_outcome_credit(smol_tokenizer, calc):
    got, _ = scores(smol_tokenizer, calc, [tool_call("round_number", value=37328.0, places=0), "37328"])
    assert (got["tool_choice"], got["arguments"], got["end_state"], got["answer"], got["outcome"]) == (
        0,
        0,
        0,
        0,
        0,
    )


def test_unparseable_call_syntax_is_a_format_failure_and_never_a_correct_no_call(smol_tokenizer, calc):
    got, ep = scores(
        smol_tokenizer, calc, ['<tool_call>\n{"name": "calculate", "arguments": {"expression": </tool_call>']
    )
    assert ep.turns[0].lenient_error is not None and ep.calls == []
    assert got["format"] == 0.0 and got["tool_choice"] == 0.0 and got["outcome"] == 0.0


def test_answering_without_the_needed_call_is_not_rewarded_even_when_the_fact_is_right(smol_tokenizer, calc):
    got, ep = scores(smol_tokenizer, calc, [f"The result is {calc.answer_facts[0]}."])
    assert ep.grade.checks["answer"].passed  # the fact is there ...
    assert got["answer"] == 0.0 and got["end_state"] == 0.0 and got["outcome"] == 0.0  # ... but ungrounded
    assert monitor_values([ep])["monitor/ungrounded_answer_rate"] == 1.0


def test_reporting_an_expected_tool_error_is_a_grounded_answer(smol_tokenizer):
    task = _task("calculator", "divide_by_zero", n=24)
    got, ep = scores(smol_tokenizer, task, [tool_call("calculate", **task.gold_calls[0].arguments),
                                            "That divides by zero, so it has no result."])
    assert ep.calls[0].is_error and got["outcome"] == 1.0
    assert monitor_values([ep])["monitor/ungrounded_answer_rate"] == 0.0
    _, guessed = scores(smol_tokenizer, task, ["That divides by zero."])
    assert monitor_values([guessed])["monitor/ungrounded_answer_rate"] == 1.0


def test_a_no_tool_task_pays_for_not_calling(smol_tokenizer):
    task = _task("orders", "small_talk")
    got, _ = scores(smol_tokenizer, task, ["You're welcome! Anything else?"])
    assert got["outcome"] == 1.0 and got["tool_choice"] == 1.0 and got["arguments"] is None
    got, _ = scores(smol_tokenizer, task, [tool_call("get_policy", topic="returns"), "Here is our policy."])
    assert got["outcome"] == 0.0 and got["tool_choice"] == 0.0


def test_end_state_is_checked_against_the_gold_state_after_real_calls(smol_tokenizer):
    task = _task("orders", "cancel_which_order")
    right, _ = scores(
        smol_tokenizer, task, ["Which order?", tool_call("cancel_order", order_id="O-5006"), "Done."]
    )
    wrong, ep = scores(
        smol_tokenizer, task, ["Which order?", tool_call("cancel_order", order_id="O-5010"), "Done."]
    )
    assert right["end_state"] == 1.0 and right["outcome"] == 1.0
    assert not ep.calls[0].is_error and wrong["end_state"] == 0.0 and wrong["outcome"] == 0.0


def test_calling_before_the_user_gave_the_missing_argument_fails_tool_choice(smol_tokenizer):
    task = _task("orders", "cancel_which_order")
    # the follow-up still comes after the text answer; the policy has already guessed by then
    got, _ = scores(
        smol_tokenizer, task, [tool_call("cancel_order", order_id="O-5006"), "Done.", "Already done."]
    )
    assert got["outcome"] == 0.0 and got["tool_choice"] <= 0.5 * 0.25


def test_a_win_in_the_lenient_format_only_gets_partial_format_credit_and_is_monitored(smol_tokenizer, calc):
    expr = calc.gold_calls[0].arguments["expression"]
    bare = json.dumps({"name": "calculate", "arguments": {"expression": expr}})
    got, ep = scores(smol_tokenizer, calc, [bare, f"It is {calc.answer_facts[0]}."])
    assert ep.grade.passed and not ep.turns[0].strict_ok
    assert got["format"] == pytest.approx(0.75)  # (0.5 lenient + 1.0 strict) / 2 turns
    assert monitor_values([ep])["monitor/lenient_only_win_rate"] == 1.0


def test_spraying_calls_to_hit_the_gold_one_lowers_the_argument_reward(smol_tokenizer, calc):
    expr = calc.gold_calls[0].arguments["expression"]
    spray = "\n".join(tool_call("calculate", expression=e) for e in (expr, "1 + 1", "2 + 2", "3 + 3"))
    got, _ = scores(smol_tokenizer, calc, [spray, f"It is {calc.answer_facts[0]}."])
    assert got["arguments"] == pytest.approx(2 * 1.0 * 0.25 / 1.25)


def test_hitting_the_call_cap_or_repeating_a_call_zeroes_process_credit(smol_tokenizer, calc):
    call = tool_call("calculate", **calc.gold_calls[0].arguments)
    capped, ep_cap = scores(
        smol_tokenizer,
        calc,
        [call + "\n" + call + "\n" + call, f"It is {calc.answer_facts[0]}."],
        max_calls=2,
    )
    assert (
        capped["outcome"] == 0.0 and capped["format"] == capped["tool_choice"] == capped["arguments"] == 0.0
    )
    values = monitor_values([ep_cap])
    assert values["monitor/over_cap_rate"] == 1.0 and values["monitor/repeated_call_rate"] == 1.0


def test_reward_functions_are_batched_trl_functions_named_after_their_component(smol_tokenizer, calc):
    good = run_episode(
        smol_tokenizer, calc, [tool_call("calculate", **calc.gold_calls[0].arguments), "37328"]
    )[1]
    bad = run_episode(smol_tokenizer, calc, ["No idea."])[1]
    funcs, weights = reward_functions(RewardSettings(weights={**DEFAULT_WEIGHTS, "format": 0.0}))
    assert [f.__name__ for f in funcs] == ["tool_choice", "arguments", "end_state", "answer", "outcome"]
    assert weights == [0.2, 0.3, 0.5, 0.5, 1.0]
    outcome = funcs[-1](prompts=[[], []], completions=[[], []], toolgym_episode=[good, bad])
    assert outcome == [1.0, 0.0]
    logged = {}
    zeros = monitor_function()(
        prompts=[[]],
        completions=[[]],
        toolgym_episode=[bad],
        log_metric=lambda k, v: logged.__setitem__(k, v),
    )
    assert zeros == [0.0] and logged["monitor/pass_rate"] == 0.0 and "monitor/over_cap_rate" in logged


def test_reward_settings_refuse_farmable_or_unknown_weights():
    with pytest.raises(UserError, match="outcome component"):
        RewardSettings(weights={"format": 1.0, "tool_choice": 1.0})
    with pytest.raises(UserError, match="unknown reward component"):
        RewardSettings(weights={"outcome": 1.0, "style": 1.0})


def test_groups_that_all_solved_or_all_failed_are_the_rows_without_outcome_contrast():
    import torch

    nan = float("nan")
    names = ["format", "tool_choice", "outcome", "monitors"]
    rewards = torch.tensor([
        [0.10, 0.05, 0.0, 0.0],  # group 1: both failed, process credit differs
        [0.25, 0.00, 0.0, 0.0],
        [1.00, 1.00, 1.0, 0.0],  # group 2: one solved, one did not: contrast
        [0.25, 0.05, 0.0, 0.0],
        [1.00, 1.00, 1.0, 0.0],  # group 3: both solved, one only in the lenient format
        [0.50, 1.00, 1.0, 0.0],
        [nan, nan, nan, nan],  # group 4: one rollout could not be scored (TRL zeroes its advantage itself)
        [0.10, 0.05, 0.0, 0.0],
    ])
    flat = rows_without_outcome_contrast(rewards, names, 2)
    assert flat.tolist() == [True, True, False, False, True, True, False, False]
    with pytest.raises(UserError, match="outcome reward component"):
        rows_without_outcome_contrast(rewards[:, :2], names[:2], 2)


def test_rewards_read_trls_own_tool_loop_through_the_environments_it_passes(calc):
    from trainers.rl_env import environment_class

    env = environment_class("calculator")()
    env.reset(task=calc.model_dump_json())
    result = env.calculate(**calc.gold_calls[0].arguments)  # what TRL's loop does with a parsed tool call
    call = {"type": "function", "function": {"name": "calculate", "arguments": calc.gold_calls[0].arguments}}
    completion = [
        {"role": "assistant", "content": "", "tool_calls": [call]},
        {"role": "tool", "name": "calculate", "content": result},
        {"role": "assistant", "content": f"It is {calc.answer_facts[0]}."},
    ]
    funcs, _ = reward_functions()
    by_name = {f.__name__: f(prompts=[[]], completions=[completion], environments=[env])[0] for f in funcs}
    assert by_name == {"format": 1.0, "tool_choice": 1.0, "arguments": 1.0, "end_state": 1.0, "answer": 1.0,
                       "outcome": 1.0}  # fmt: skip
    with pytest.raises(UserError, match="ToolRollout"):
        funcs[0](prompts=[[]], completions=[completion])


def test_a_rollout_that_never_hands_back_earns_nothing_and_scores_below_a_wrong_answer(smol_tokenizer, calc):
    call = tool_call("calculate", **calc.gold_calls[0].arguments)
    # the right call, then the same loop until the rollout's limit of 4 tool rounds: no answer is ever given
    loop = [tool_call("calculate", expression=f"{i} + 1") for i in range(4)]
    looping, ep = scores(smol_tokenizer, calc, [call, *loop])
    assert not ep.finished and ep.grade.checks["tool_choice"].passed and ep.grade.checks["end_state"].passed
    assert looping["total"] == 0.0 and looping["end_state"] == 0.0 and looping["outcome"] == 0.0
    wrong, answered = scores(smol_tokenizer, calc, [call, "The result is 12."])
    assert answered.finished and wrong["outcome"] == 0.0 and wrong["total"] > looping["total"]
    assert monitor_values([ep, answered])["monitor/unfinished_rate"] == 0.5
    # the old behaviour, kept behind the switch, pays the grounded loop for the state it left
    old = component_scores(ep, RewardSettings(require_finish=False))
    assert old["end_state"] == 1.0 and old["total"] >= 0.5


def test_a_reply_cut_off_by_the_token_budget_is_unfinished(smol_tokenizer, calc):
    words = smol_tokenizer(f"The result is {calc.answer_facts[0]}, " + "very " * 400, add_special_tokens=False)
    rollout = ToolRollout(presentation="json", tokenizer=smol_tokenizer, max_completion_length=64,
                          generate=lambda batch, budgets: [words["input_ids"][:b] for b in budgets])  # no stop token
    ep = rollout([[{"role": "user", "content": calc.prompt, TASK_KEY: calc.model_dump_json()}]], None)[
        "toolgym_episode"][0]
    assert ep.turns[-1].truncated and not ep.finished and component_scores(ep)["total"] == 0.0


def test_a_rollout_that_passes_the_checks_but_never_answers_is_not_counted_as_solved(smol_tokenizer):
    from trainers.rollout_log import contrast_by_kind, rollout_rows

    task = _task("files", "archive_one", n=40)  # no answer facts: the grade needs no final answer
    gold = task.gold_calls[0]
    # the right call, then the same read-only call until the round limit: it never hands the turn back
    replies = [tool_call(gold.name, **gold.arguments)] + [tool_call("list_directory", path="/")] * 4
    got, ep = scores(smol_tokenizer, task, replies)
    assert ep.grade.passed and not ep.finished and got["outcome"] == 0.0
    values = monitor_values([ep])
    assert values["monitor/pass_rate"] == 0.0 and values["monitor/unfinished_rate"] == 1.0
    (row,) = rollout_rows(step=1, episodes=[ep], rewards=[[0.0]], names=["outcome"], weights=[1.0],
                          advantages=[0.0], first_row=0, group_size=1)
    assert row["passed"] and not row["solved"]
    assert contrast_by_kind([row])[task.kind]["none"] == 1
