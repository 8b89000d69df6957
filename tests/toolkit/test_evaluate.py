"""The evaluator end to end with scripted model answers: prompts, strict/lenient parsing, scores, files,
comparison."""

from __future__ import annotations

import math
from typing import Any

import anyio
import pytest

from toolkit.backends import ChatResponse, ScriptedBackend, malformed_call_step, tool_call_step
from toolkit.evaluate import EvalConfig, evaluate, read_results
from toolkit.evaluate_report import compare, summarize
from toolkit.records import Expected, FunctionCall, Message, Scenario, ToolCallRecord, Trajectory
from toolkit.specs import ToolCall, ToolSpec

pytestmark = pytest.mark.anyio

WEATHER = ToolSpec(
    name="get_weather",
    description="Current weather for a city.",
    input_schema={"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
)
SYSTEM = Message(role="system", content="You are a weather assistant.")


def calls_msg(*cities: str, prefix: str) -> Message:
    return Message(
        role="assistant",
        tool_calls=[
            ToolCallRecord(
                id=f"{prefix}{i}", function=FunctionCall(name="get_weather", arguments={"city": c})
            )
            for i, c in enumerate(cities)
        ],
    )


def task(task_id: str, kind: str, messages: list[Message], gold: list[str]) -> Trajectory:
    return Trajectory(
        id=task_id,
        messages=messages,
        tools=[WEATHER],
        scenario=Scenario(kind=kind, suite="weather"),
        expected=Expected(calls=[FunctionCall(name="get_weather", arguments={"city": c}) for c in gold]),
    )


TASKS = [
    task(
        "single",
        "single",
        [
            SYSTEM,
            Message(role="user", content="Weather in Paris?"),
            calls_msg("Paris", prefix="a"),
            Message(role="tool", tool_call_id="a0", name="get_weather", content="sunny"),
            Message(role="assistant", content="It is sunny in Paris."),
        ],
        ["Paris"],
    ),
    task(
        "parallel",
        "parallel",
        [
            SYSTEM,
            Message(role="user", content="Weather in Paris and Rome?"),
            calls_msg("Paris", "Rome", prefix="b"),
            Message(role="tool", tool_call_id="b0", name="get_weather", content="sunny"),
            Message(role="tool", tool_call_id="b1", name="get_weather", content="rain"),
            Message(role="assistant", content="Sunny in Paris, rain in Rome."),
        ],
        ["Paris", "Rome"],
    ),
    task(
        "none",
        "no_tool",
        [
            SYSTEM,
            Message(role="user", content="Hi!"),
            Message(role="assistant", content="Hello!"),
        ],
        [],
    ),
    task("request_only", "single", [SYSTEM, Message(role="user", content="Weather in Oslo?")], ["Oslo"]),
]


async def run(backend: ScriptedBackend, presentation: str, **kwargs: Any) -> list[Any]:
    with anyio.fail_after(30):
        results = await evaluate(TASKS, backend, EvalConfig(presentation=presentation, **kwargs))
    backend.assert_complete()
    return results


PYTHON_ANSWERS = [
    "get_weather(city='paris')",  # single, turn 2: bare call (lenient only), lowercase city (lenient only)
    "It is sunny.",  # single, final answer: no call
    '```python\nget_weather(city="Rome")\nget_weather(city="Paris")\n```',  # parallel, other order: correct
    "Done.",
    # no-tool task: broken call syntax is a format failure, not an abstention
    "```python\nget_weather(city=\n```",
    '```python\nget_weather(city="Oslo")\n```',
]


async def test_python_arm_scores_each_decision_point_strict_and_lenient() -> None:
    backend = ScriptedBackend(PYTHON_ANSWERS)
    results = await run(backend, "python")
    by_id = {r.task_id: r for r in results}
    assert [len(r.steps) for r in results] == [2, 2, 1, 1]
    assert [[s.gold_kind for s in r.steps] for r in results] == [
        ["calls", "answer"],
        ["calls", "answer"],
        ["no_call"],
        ["calls"],
    ]
    assert {t: (r.correct("strict"), r.correct("lenient")) for t, r in by_id.items()} == {
        "single": (False, True),
        "parallel": (True, True),
        "none": (False, False),
        "request_only": (True, True),
    }
    first = by_id["single"].steps[0]
    assert first.lenient.calls == [ToolCall(name="get_weather", arguments={"city": "paris"})]
    assert "bare_calls" in (first.strict.error or "")
    assert by_id["none"].steps[0].lenient.reasons[0].startswith("format_failure")
    assert by_id["single"].cluster == "get_weather" and by_id["none"].cluster == "(no call)"


async def test_prompts_share_one_skeleton_and_prompted_arms_get_tool_results_as_user_text() -> None:
    backend = ScriptedBackend(PYTHON_ANSWERS)
    await run(backend, "python")
    first, final = backend.requests[0], backend.requests[1]
    assert first.tools is None
    system = first.messages[0]["content"]
    assert system.startswith("You are a weather assistant.") and "def get_weather(" in system
    assert first.messages[-1] == {"role": "user", "content": "Weather in Paris?"}
    # the final-answer step sees the gold call as python text and the result as a user turn (no API tool role)
    assert [m["role"] for m in final.messages] == ["system", "user", "assistant", "user"]
    assert 'get_weather(city="Paris")' in final.messages[2]["content"]
    assert "sunny" in final.messages[3]["content"]


async def test_native_json_arm_reads_the_tool_channel_and_flags_calls_written_as_text() -> None:
    backend = ScriptedBackend(
        [
            tool_call_step("get_weather", city="Paris"),
            "It is sunny.",
            (
                '<tool_call>\n{"name": "get_weather", "arguments": {"city": "Paris"}}\n</tool_call>\n'
                '<tool_call>\n{"name": "get_weather", "arguments": {"city": "Rome"}}\n</tool_call>'
            ),
            "Done.",
            "Hello there!",
            malformed_call_step("get_weather", '{"city": "Os'),
        ]
    )
    results = await run(backend, "json")
    by_id = {r.task_id: r for r in results}
    assert by_id["single"].native and by_id["single"].steps[0].native_channel
    assert backend.requests[0].tools is not None
    assert backend.requests[0].tools[0]["function"]["name"] == "get_weather"
    # the final-answer step replays the gold call natively, with a tool message answering it
    assert [m["role"] for m in backend.requests[1].messages] == ["system", "user", "assistant", "tool"]
    parallel = by_id["parallel"].steps[0]
    assert not parallel.strict.matched and "native tool calling was offered" in (parallel.strict.error or "")
    assert parallel.lenient.matched
    assert by_id["none"].correct("strict")
    oslo = by_id["request_only"].steps[0]
    assert not oslo.lenient.matched and "unreadable arguments" in (oslo.lenient.error or "")


async def test_infrastructure_failures_are_recorded_on_the_step() -> None:
    failed = ChatResponse(error="HTTP 500: boom (after 5 attempts)", error_kind="server_error", attempts=5)
    backend = ScriptedBackend([failed, "ok", "x", "y", "z", "w"])
    results = await run(backend, "mcp")
    step = results[0].steps[0]
    assert step.infra_error and not step.lenient.matched and results[0].infra_error
    assert step.lenient.error == "no answer: HTTP 500: boom (after 5 attempts)"


async def test_summary_and_paired_comparison_from_written_files(tmp_path: Any) -> None:
    py_file, js_file = tmp_path / "python.jsonl", tmp_path / "json.jsonl"
    with anyio.fail_after(30):
        await evaluate(TASKS, ScriptedBackend(PYTHON_ANSWERS), EvalConfig(presentation="python"), out=py_file)
        await evaluate(
            TASKS,
            ScriptedBackend(
                [
                    tool_call_step("get_weather", city="Paris"),
                    "Sunny.",
                    tool_call_step("get_weather", city="Paris"),
                    "Done.",
                    "Hello!",
                    tool_call_step("get_weather", city="Oslo"),
                ]
            ),
            EvalConfig(presentation="json"),
            out=js_file,
        )
    py_rows, js_rows = read_results(py_file), read_results(js_file)
    assert [r["task_id"] for r in py_rows] == ["single", "parallel", "none", "request_only"]

    s = summarize(py_rows, mode="lenient", specs=[WEATHER])
    # 6 steps: all but the broken no-tool answer match -> 5/6; one format failure. Abstention looks only at
    # the no-tool task's step (final answers after tool results are left out), and that one was a format
    # failure.
    assert (s.n_tasks, s.n_steps) == (4, 6)
    assert s.task_accuracy.estimate == pytest.approx(3 / 4)
    assert s.step_accuracy == pytest.approx(5 / 6)
    assert s.format_failure_rate == pytest.approx(1 / 6)
    assert (s.abstention.n_gold_no_call, s.abstention.irrelevance_accuracy) == (1, 0.0)
    assert s.schema is not None and s.schema.schema_compliance == 1.0

    c = compare(py_rows, js_rows, mode="lenient", n_resamples=1000)
    # lenient: python right on single, parallel, request_only; json right on single, none, request_only
    # (json called Paris only for the parallel task) -> only-python 1 (parallel), only-json 1 (none)
    assert (c.mcnemar.b, c.mcnemar.c, c.mcnemar.p_value) == (1, 1, 1.0)
    assert c.difference.estimate == 0.0 and c.difference.n_clusters == 2
    assert c.newcombe is not None and c.newcombe.low < 0 < c.newcombe.high
    assert (c.a, c.b) == ("python", "json")


def row(task_id: str, correct: bool, cluster: str) -> dict[str, Any]:
    read = {"calls": [], "error": None, "matched": correct, "reasons": [], "f1": float(correct)}
    gold = [{"name": cluster, "arguments": {}}]
    step = {"gold": gold, "gold_kind": "calls", "strict": read, "lenient": read}
    return {
        "task_id": task_id,
        "presentation": "python",
        "cluster": cluster,
        "correct": {"strict": correct, "lenient": correct},
        "steps": [step],
    }


def test_repeated_trials_give_rates_pass_hat_k_and_a_rate_comparison() -> None:
    # Task A right in 3 of 3 trials, task B in 1 of 3. Mean rate (1 + 1/3) / 2 = 2/3; pass^2: A C(3,2)/C(3,2)
    # = 1, B C(1,2)/C(3,2) = 0 -> 1/2; pass^3 likewise 1/2; B flips, A does not -> flip rate 1/2.
    arm_a = [row("A", True, "t1")] * 3 + [row("B", True, "t2"), row("B", False, "t2"), row("B", False, "t2")]
    s = summarize(arm_a)
    assert (s.n_tasks, s.trials_per_task) == (2, 3)
    assert s.task_accuracy.estimate == pytest.approx(2 / 3) and s.task_accuracy.method == "cluster bootstrap"
    assert s.pass_hat_k == pytest.approx({1: 2 / 3, 2: 0.5, 3: 0.5})
    assert s.flip_rate == 0.5
    # Arm B: A never right, B right once in 3 -> per-task differences 1 and 0 -> mean 0.5; no McNemar.
    arm_b = [row("A", False, "t1")] * 3 + [row("B", False, "t2"), row("B", True, "t2"), row("B", False, "t2")]
    c = compare(arm_a, arm_b, n_resamples=500)
    assert c.difference.estimate == pytest.approx(0.5)
    assert c.mcnemar is None and math.isnan(c.minimum_detectable_difference)


# ---- every presentation through the full path: right, wrong argument, wrong tool, unparseable, no call,
# ---- parallel out of order ---------------------------------------------------------------------------------

TIME = ToolSpec(
    name="get_time",
    description="Local time in a city.",
    input_schema={"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
)


def request_task(task_id: str, kind: str, prompt: str, gold: list[str]) -> Trajectory:
    return Trajectory(
        id=task_id,
        tools=[WEATHER, TIME],
        scenario=Scenario(kind=kind, suite="weather"),
        messages=[Message(role="user", content=prompt)],
        expected=Expected(calls=[FunctionCall(name="get_weather", arguments={"city": c}) for c in gold]),
    )


CASES = [
    request_task("right", "single", "Weather in Paris?", ["Paris"]),
    request_task("wrong_argument", "single", "Weather in Paris?", ["Paris"]),
    request_task("wrong_tool", "single", "Weather in Paris?", ["Paris"]),
    request_task("unparseable", "single", "Weather in Paris?", ["Paris"]),
    request_task("no_call", "single", "Weather in Paris?", ["Paris"]),
    request_task("parallel_swapped", "parallel", "Weather in Paris and Rome?", ["Paris", "Rome"]),
]


def python_call(name: str, city: str) -> str:
    return f'{name}(city="{city}")'


def fenced(lang: str, body: str) -> str:
    return f"```{lang}\n{body}\n```"


def mcp_call(name: str, city: str) -> str:
    return f'{{"name": "{name}", "arguments": {{"city": "{city}"}}}}'


ANSWERS = {
    "python": [
        fenced("python", python_call("get_weather", "Paris")),
        fenced("python", python_call("get_weather", "Rome")),
        fenced("python", python_call("get_time", "Paris")),
        fenced("python", "get_weather(city="),
        "I am not sure.",
        fenced("python", python_call("get_weather", "Rome") + "\n" + python_call("get_weather", "Paris")),
    ],
    "mcp": [
        fenced("json", mcp_call("get_weather", "Paris")),
        fenced("json", mcp_call("get_weather", "Rome")),
        fenced("json", mcp_call("get_time", "Paris")),
        fenced("json", '{"name": "get_weather", "arguments": {"city": '),
        "I am not sure.",
        fenced("json", "[" + mcp_call("get_weather", "Rome") + ", " + mcp_call("get_weather", "Paris") + "]"),
    ],
    "json": [
        tool_call_step("get_weather", city="Paris"),
        tool_call_step("get_weather", city="Rome"),
        tool_call_step("get_time", city="Paris"),
        malformed_call_step("get_weather", '{"city": '),
        "I am not sure.",
        ChatResponse(
            tool_calls=[
                ToolCall(name="get_weather", arguments={"city": "Rome"}, id="c1"),
                ToolCall(name="get_weather", arguments={"city": "Paris"}, id="c2"),
            ]
        ),
    ],
}


@pytest.mark.parametrize("presentation", ["python", "mcp", "json"])
async def test_each_outcome_is_scored_the_same_way_in_every_presentation(presentation: str) -> None:
    backend = ScriptedBackend(ANSWERS[presentation])
    with anyio.fail_after(30):
        results = await evaluate(CASES, backend, EvalConfig(presentation=presentation))
    backend.assert_complete()
    by_id = {r.task_id: r.steps[0].strict for r in results}
    assert {t: r.matched for t, r in by_id.items()} == {
        "right": True,
        "wrong_argument": False,
        "wrong_tool": False,
        "unparseable": False,
        "no_call": False,
        "parallel_swapped": True,
    }
    assert (
        "value_mismatch" in by_id["wrong_argument"].reasons[0]
        and 'got "Rome"' in by_id["wrong_argument"].reasons[0]
    )
    assert any("wrong_name" in r for r in by_id["wrong_tool"].reasons)
    assert by_id["unparseable"].error is not None and by_id["unparseable"].reasons[0].startswith(
        "format_failure"
    )
    assert by_id["no_call"].error is None and by_id["no_call"].calls == []
    assert any(r.startswith("wrong_count: expected 1 call(s), got 0") for r in by_id["no_call"].reasons)
    assert [c.arguments["city"] for c in by_id["parallel_swapped"].calls] == ["Rome", "Paris"]
    summary = summarize(results, mode="strict")
    assert summary.format_failure_rate == pytest.approx(1 / 6)
    assert summary.task_accuracy.estimate == pytest.approx(2 / 6)
    # every row records what the tool list costs in this presentation (approximated without a tokenizer)
    assert all(r.tool_tokens > 0 and r.tool_tokens_method == "chars/4" for r in results)
    assert {tuple(r.tools) for r in results} == {("get_weather",)}


# ---- few-shot examples -------------------------------------------------------------------------------------


async def test_shots_put_solved_examples_before_the_task_never_the_task_itself() -> None:
    pool = [request_task(f"p{i}", "single", f"Weather in City{i}?", [f"City{i}"]) for i in range(4)]
    tasks = [pool[0], request_task("q", "single", "Weather in Lima?", ["Lima"])]
    backend = ScriptedBackend(
        [
            fenced("python", python_call("get_weather", "City0")),
            fenced("python", python_call("get_weather", "Lima")),
        ]
    )
    with anyio.fail_after(30):
        results = await evaluate(
            tasks, backend, EvalConfig(presentation="python", shots=2, shot_seed=3), shot_pool=pool
        )
    backend.assert_complete()
    first, second = results
    assert len(first.shots) == 2 and "p0" not in first.shots  # leave-one-out: never the evaluated task
    assert len(second.shots) == 2
    request = backend.requests[0]
    roles = [m["role"] for m in request.messages]
    # system, then two examples (user, assistant call, results as user text), then the task
    assert roles == ["system", "user", "assistant", "user", "user", "assistant", "user", "user"]
    shot_prompts = [m["content"] for m in request.messages if m["role"] == "user"][::2][:2]
    assert all(p.startswith("Weather in City") and "City0" not in p for p in shot_prompts)
    assert request.messages[-1]["content"] == "Weather in City0?"
    # the same seed chooses the same examples again (every arm sees the same ones)
    again = ScriptedBackend(["x", "y"])
    with anyio.fail_after(30):
        same = await evaluate(
            tasks, again, EvalConfig(presentation="mcp", shots=2, shot_seed=3), shot_pool=pool
        )
    assert [r.shots for r in same] == [r.shots for r in results]
    assert all(r.correct("lenient") for r in results)


# ---- repeated trials ---------------------------------------------------------------------------------------


async def test_trials_repeat_each_task_with_its_own_seed_and_give_pass_k() -> None:
    from toolkit.backends import Decoding
    from toolkit.errors import UserError

    with pytest.raises(UserError, match="temperature"):
        EvalConfig(presentation="python", trials=3)
    tasks = CASES[:2]
    # trial 0: both right; trial 1: first right; trial 2: neither
    good, bad = fenced("python", python_call("get_weather", "Paris")), "no idea"
    backend = ScriptedBackend([good, good, good, bad, bad, bad])
    config = EvalConfig(presentation="python", trials=3, decoding=Decoding(temperature=0.8, seed=10))
    with anyio.fail_after(30):
        results = await evaluate(tasks, backend, config)
    assert [(r.task_id, r.trial) for r in results] == [
        ("right", 0),
        ("wrong_argument", 0),
        ("right", 1),
        ("wrong_argument", 1),
        ("right", 2),
        ("wrong_argument", 2),
    ]
    assert [r.decoding.seed for r in backend.requests] == [10, 10, 11, 11, 12, 12]
    s = summarize(results)
    # task "right": 2 of 3, task "wrong_argument": 1 of 3 -> mean 1/2; pass^2 = (C(2,2) + 0)/C(3,2) / 2 = 1/6;
    # pass@2 = ((1 - C(1,2)/3) + (1 - C(2,2)/3)) / 2 = (1 + 2/3) / 2 = 5/6
    assert s.task_accuracy.estimate == pytest.approx(0.5)
    assert s.pass_hat_k == pytest.approx({1: 0.5, 2: 1 / 6, 3: 0.0})
    assert s.pass_at_k == pytest.approx({1: 0.5, 2: 5 / 6, 3: 1.0})
    assert s.flip_rate == 1.0


def test_breakdowns_by_kind_and_by_tool_count_each_task_once_per_group() -> None:
    from toolkit.evaluate_report import breakdown

    rows = [row("a", True, "t1"), row("b", False, "t1"), row("c", True, "t2")]
    for r, kind, tools in zip(
        rows, ["single", "single", "parallel"], [["t1"], ["t1", "t2"], ["t2"]], strict=True
    ):
        r["kind"], r["tools"] = kind, tools
    kinds = {g.name: (g.n_tasks, g.accuracy.estimate) for g in breakdown(rows, by="kind")}
    assert kinds == {"parallel": (1, 1.0), "single": (2, 0.5)}
    tools = {g.name: (g.n_tasks, g.accuracy.estimate) for g in breakdown(rows, by="tool")}
    assert tools == {"t1": (2, 0.5), "t2": (2, 0.5)}
    # Wilson interval for 1 of 2
    single = next(g for g in breakdown(rows, by="kind") if g.name == "single")
    assert (round(single.accuracy.low, 4), round(single.accuracy.high, 4)) == (0.0945, 0.9055)
