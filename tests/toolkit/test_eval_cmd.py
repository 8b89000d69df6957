"""`toolgym eval`: run against a real loopback endpoint, then summary and compare from the written files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.toolkit.openai_loopback import OpenAILoopback, Reply
from toolkit.cli import main
from toolkit.records import Expected, FunctionCall, Message, Trajectory
from toolkit.specs import ToolSpec

WEATHER = ToolSpec(
    name="get_weather",
    description="Current weather for a city.",
    input_schema={"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
)


def write_tasks(path: Path) -> None:
    rows = []
    for i, city in enumerate(["Paris", "Rome", "Oslo"]):
        rows.append(
            Trajectory(
                id=f"t{i}",
                tools=[WEATHER],
                messages=[Message(role="user", content=f"Weather in {city}?")],
                expected=Expected(calls=[FunctionCall(name="get_weather", arguments={"city": city})]),
            ).to_json()
        )
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")


def mcp_answer(city: str) -> Reply:
    return Reply.text(f'```json\n{{"name": "get_weather", "arguments": {{"city": "{city}"}}}}\n```')


def test_eval_run_summary_and_compare_from_the_command_line(
    allow_model_requests: None, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    tasks = tmp_path / "tasks.jsonl"
    write_tasks(tasks)
    mcp_out, native_out = tmp_path / "mcp.jsonl", tmp_path / "json.jsonl"

    def by_city(body: dict) -> Reply:
        city = body["messages"][-1]["content"].split()[-1].rstrip("?")
        return mcp_answer(city if city != "Oslo" else "Bergen")  # one wrong answer

    with OpenAILoopback(responder=by_city) as server:
        code = main(
            [
                "eval",
                "run",
                str(tasks),
                "--presentation",
                "mcp",
                "--model",
                "m",
                "--base-url",
                server.base_url,
                "--no-api-key",
                "--concurrency",
                "2",
                "--out",
                str(mcp_out),
            ]
        )
    assert code == 0
    printed = capsys.readouterr().out
    assert "task accuracy (95% CI)          66.7% [20.8%, 93.9%]" in printed
    assert [json.loads(line)["correct"]["lenient"] for line in mcp_out.read_text().splitlines()] == [
        True,
        True,
        False,
    ]

    replies = [Reply.tool_calls(("get_weather", {"city": c})) for c in ("Paris", "Rome", "Oslo")]
    with OpenAILoopback(
        responder=lambda body: replies[
            ["Paris", "Rome", "Oslo"].index(body["messages"][-1]["content"].split()[-1].rstrip("?"))
        ]
    ) as server:
        assert (
            main(
                [
                    "eval",
                    "run",
                    str(tasks),
                    "--presentation",
                    "json",
                    "--model",
                    "m",
                    "--base-url",
                    server.base_url,
                    "--no-api-key",
                    "--out",
                    str(native_out),
                ]
            )
            == 0
        )
        assert all("tools" in r.body for r in server.completions)
    capsys.readouterr()

    assert main(["eval", "summary", str(mcp_out), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["n_tasks"] == 3 and summary["task_accuracy"]["estimate"] == pytest.approx(2 / 3)

    assert main(["eval", "compare", str(native_out), str(mcp_out), "--resamples", "500"]) == 0
    text = capsys.readouterr().out
    assert "json minus mcp (lenient), 3 paired task(s)" in text
    assert "only json right: 1, only mcp right: 0, p = 1" in text


def test_eval_run_without_a_model_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    tasks = tmp_path / "tasks.jsonl"
    write_tasks(tasks)
    code = main(["eval", "run", str(tasks), "--presentation", "python", "--out", str(tmp_path / "o.jsonl")])
    assert code == 2
    assert "--model" in capsys.readouterr().err
