"""Environment evaluation: scripted models act in the real calendar suite; end state and answer are graded."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import anyio
import pytest

from toolkit.backends import ChatResponse, Decoding, ScriptedBackend
from toolkit.cli import main
from toolkit.environment import Task
from toolkit.evaluate_env import EnvEvalConfig, evaluate_env, summarize_env, tasks_from_records
from toolkit.presentations import get_presentation
from toolkit.records import Expected, Message, Trajectory
from toolkit.specs import ToolCall
from toolkit.template_rendering import render_tasks

pytestmark = pytest.mark.anyio

TASKS = {t.kind: t for t in render_tasks("calendar", n=6, seed=0)}


def calls_text(presentation: str, calls: list[ToolCall]) -> str:
    return get_presentation(presentation).render_calls(calls)


def gold(task: Task) -> list[ToolCall]:
    return [c.to_call() for c in task.gold_calls]


def answer(task: Task) -> str:
    return "Done: " + ", ".join(task.answer_facts) + "."


async def run(
    tasks: list[Any], steps: list[Any], presentation: str = "python", **kw: Any
) -> tuple[list[Any], Any]:
    backend = ScriptedBackend(steps)
    with anyio.fail_after(60):
        results = await evaluate_env(tasks, backend, EnvEvalConfig(presentation=presentation, **kw))
    backend.assert_complete()
    return results, backend


@pytest.mark.parametrize("presentation", ["python", "mcp"])
async def test_correct_calls_leave_the_gold_end_state_and_pass(presentation: str) -> None:
    task = TASKS["chain"]
    # the chain's second call depends on the first's result; the gold already holds the right slot
    steps = [calls_text(presentation, gold(task)[:1]), calls_text(presentation, gold(task)[1:]), answer(task)]
    (result,), backend = await run([task], steps, presentation)
    assert result.passed, result.reasons
    assert result.checks["end_state"]["passed"] and result.checks["answer"]["passed"]
    assert (result.turns, len(result.calls)) == (3, 2)
    # results are fed back in the same presentation: the second prompt holds the first call's real result
    second = backend.requests[1].messages
    assert "2026-03-09T09:00" in second[-1]["content"]
    assert result.tool_tokens > 0 and result.prompt_tokens == 0  # scripted answers carry no usage


async def test_a_wrong_argument_fails_on_the_end_state_with_the_reason() -> None:
    task = TASKS["single"]
    wrong = [
        ToolCall(name="create_event", arguments={**gold(task)[0].arguments, "start": "2026-03-13T10:00"})
    ]
    (result,), _ = await run([task], [calls_text("python", wrong), answer(task)])
    assert not result.passed
    assert not result.checks["end_state"]["passed"]
    assert any(r.startswith("end_state:") and "2026-03-13T10:00" in r for r in result.reasons)
    assert any(r.startswith("arguments:") for r in result.reasons)


async def test_native_json_calls_and_results_use_the_tool_channel() -> None:
    task = TASKS["parallel"]
    steps = [ChatResponse(tool_calls=gold(task)), answer(task)]
    (result,), backend = await run([task], steps, "json")
    assert result.passed, result.reasons
    second = backend.requests[1]
    assert second.tools is not None
    assert [m["role"] for m in second.messages] == ["user", "assistant", "tool", "tool"]
    assert json.loads(second.messages[2]["content"])["status"] == "cancelled"


async def test_missing_argument_tasks_get_the_follow_up_after_the_agent_asks() -> None:
    task = TASKS["missing_argument"]
    steps = ["Which time zone should I use?", calls_text("python", gold(task)), answer(task)]
    (result,), backend = await run([task], steps)
    assert result.passed, result.reasons
    assert backend.requests[1].messages[-1]["content"] == "Use Asia/Tokyo."
    # guessing the time zone before asking fails tool choice
    steps = [calls_text("python", gold(task)), answer(task), "ok"]
    (guessed,), _ = await run([task], steps)
    assert not guessed.passed and not guessed.checks["tool_choice"]["passed"]


async def test_unreadable_answers_are_fed_back_and_counted_and_the_turn_limit_fails() -> None:
    task = TASKS["single"]
    steps = ["```python\ncreate_event(title=\n```", calls_text("python", gold(task)), answer(task)]
    (result,), backend = await run([task], steps)
    assert result.passed and result.format_failures == 1
    assert "could not be read" in backend.requests[1].messages[-1]["content"]
    looping = [calls_text("python", [ToolCall(name="list_events", arguments={"date": "2026-03-13"})])] * 2
    (limited,), _ = await run([task], looping, max_turns=2)
    assert not limited.passed and limited.hit_turn_limit
    assert limited.reasons[0] == "turn limit: no final answer within 2 model turns"


async def test_delegation_runs_a_subagent_and_checks_it_was_grounded() -> None:
    task = TASKS["single"]
    delegate = ToolCall(name="delegate", arguments={"task": task.turns[0], "tools": ["create_event"]})

    def parent_sees_delegate_tool(request: Any) -> str:
        assert "def delegate(" in request.messages[0]["content"]
        return calls_text("python", [delegate])

    def child_has_only_granted_tools(request: Any) -> str:
        system = request.messages[0]["content"]
        assert system.startswith("You are a subagent.") and "def create_event(" in system
        assert "def delete_event(" not in system and "def delegate(" not in system
        return calls_text("python", gold(task))

    steps = [parent_sees_delegate_tool, child_has_only_granted_tools, answer(task), answer(task)]
    (result,), _ = await run([(task, "delegate")], steps)
    assert result.passed, result.reasons
    assert {n: result.checks[n]["passed"] for n in ("delegated", "grant", "child_grounded")} == {
        "delegated": True,
        "grant": True,
        "child_grounded": True,
    }
    assert result.delegation["subagents"][0]["granted"] == ["create_event"]

    # doing the work itself instead of delegating: end state fine, delegation check fails
    (direct,), _ = await run([(task, "delegate")], [calls_text("python", gold(task)), answer(task)])
    assert not direct.passed and direct.checks["end_state"]["passed"]
    assert "delegated: the task should have been handed to a subagent" in " ".join(direct.reasons)

    # a subagent that answers without calling anything made its report up
    steps = [calls_text("python", [delegate]), answer(task), answer(task)]
    (ungrounded,), _ = await run([(task, "delegate")], steps)
    assert not ungrounded.passed
    assert any("called no tool" in r for r in ungrounded.checks["child_grounded"]["reasons"])


async def test_trials_give_pass_k_and_the_summary_reports_costs() -> None:
    task = TASKS["single"]
    right, wrong = calls_text("python", gold(task)), "I booked it."
    steps = [right, answer(task), wrong, right, answer(task)]
    results, backend = await run([task], steps, trials=3, decoding=Decoding(temperature=0.7, seed=5))
    assert [r.passed for r in results] == [True, False, True]
    assert [r.decoding.seed for r in backend.requests] == [5, 5, 6, 7, 7]
    s = summarize_env(results)
    # one task, 2 of 3 trials: pass^1 2/3, pass^2 C(2,2)/C(3,2) = 1/3, pass^3 0; pass@2 1 - C(1,2)/3 = 1
    assert s.pass_hat_k == pytest.approx({1: 2 / 3, 2: 1 / 3, 3: 0.0})
    assert s.pass_at_k == pytest.approx({1: 2 / 3, 2: 1.0, 3: 1.0})
    assert s.mean_turns == pytest.approx(5 / 3) and s.mean_calls == pytest.approx(2 / 3)
    assert s.check_pass_rates["answer"] == pytest.approx(2 / 3)


def test_tasks_come_from_records_carrying_the_task() -> None:
    task = TASKS["single"]
    record = Trajectory(
        id="rec-1",
        messages=[Message(role="user", content=task.turns[0])],
        scenario=task.scenario(),
        expected=task.expected(),
    )
    ((loaded, kind),) = tasks_from_records([record])
    assert (loaded.id, kind, loaded.gold_calls) == ("rec-1", "single", task.gold_calls)
    from toolkit.errors import UserError

    with pytest.raises(UserError, match="no scenario.task"):
        tasks_from_records(
            [Trajectory(id="x", messages=[Message(role="user", content="hi")], expected=Expected(calls=[]))]
        )


def test_eval_env_mode_from_the_command_line(
    allow_model_requests: None, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from tests.toolkit.openai_loopback import OpenAILoopback, Reply

    tasks = render_tasks("calendar", n=2, seed=0)

    def respond(body: dict[str, Any]) -> Reply:
        last = body["messages"][-1]
        task = next(t for t in tasks if t.turns[0] == body["messages"][1]["content"])
        if last["role"] == "user" and last["content"] == task.turns[0]:
            return Reply.text(calls_text("python", gold(task)))
        return Reply.text(answer(task))

    out = tmp_path / "env.jsonl"
    with OpenAILoopback(responder=respond) as server:
        code = main(
            [
                "eval",
                "--model",
                "m",
                "--base-url",
                server.base_url,
                "--no-api-key",
                "--presentation",
                "python",
                "--mode",
                "env",
                "--suite",
                "calendar",
                "--n",
                "2",
                "--out",
                str(out),
            ]
        )
    assert code == 0
    printed = capsys.readouterr().out
    assert "success (95% CI)" in printed and "100.0% [34.2%, 100.0%]" in printed
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["passed"] for r in rows] == [True, True] and rows[0]["mode"] == "env"
    assert rows[0]["prompt_tokens"] > 0  # the endpoint's usage is summed over the episode's requests
    capsys.readouterr()
    assert main(["eval", "summary", str(out), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["n_tasks"] == 2 and summary["success"]["estimate"] == 1.0
    assert summary["check_pass_rates"]["end_state"] == 1.0
