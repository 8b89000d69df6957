"""`toolgym compare`: three presentations against a real loopback endpoint, checked against hand-worked paired
outcomes (McNemar p, Holm, the paired difference and its interval), and the report and charts it writes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.toolkit.openai_loopback import OpenAILoopback, Reply
from toolkit.cli import main
from toolkit.compare_report import compare_arms
from toolkit.evaluate import read_results
from toolkit.records import Expected, FunctionCall, Message, Scenario, Trajectory
from toolkit.specs import ToolSpec
from toolkit.stats import paired_difference

TOOLS = [
    ToolSpec(
        name=name,
        description=f"The {what} of a city.",
        input_schema={"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
    )
    for name, what in (
        ("get_weather", "weather"),
        ("get_time", "local time"),
        ("get_population", "population"),
    )
]
CITIES = ["Paris", "Rome", "Oslo", "Lima", "Quito", "Cairo", "Delhi", "Tokyo", "Seoul", "Accra"]
# Which tasks each arm gets right (by index). Hand-worked:
#   python vs mcp : only python right on 2..7 -> b=6, c=0 -> p = 2 * 2^-6 = 0.03125; difference (8-2)/10 =
# +0.6
#   python vs json: only json right on 8       -> b=0, c=1 -> p = 1
#   mcp vs json   : only json right on 2..8    -> b=0, c=7 -> p = 2 * 2^-7 = 0.015625
# Holm over (0.03125, 1, 0.015625): sorted 0.015625*3 = 0.046875, 0.03125*2 = 0.0625, 1*1 = 1.
RIGHT = {"python": set(range(8)), "mcp": {0, 1}, "json": set(range(9))}


def tool_of(i: int) -> ToolSpec:
    return TOOLS[i % 3]


def write_tasks(path: Path) -> None:
    rows = []
    for i, city in enumerate(CITIES):
        tool = tool_of(i)
        rows.append(
            Trajectory(
                id=f"t{i}",
                tools=TOOLS,
                scenario=Scenario(kind="single" if i < 6 else "lookup", suite="cities"),
                messages=[Message(role="user", content=f"{tool.name} for {city}")],
                expected=Expected(calls=[FunctionCall(name=tool.name, arguments={"city": city})]),
            ).to_json()
        )
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")


def responder(body: dict[str, Any]) -> Reply:
    name, _, city = body["messages"][-1]["content"].partition(" for ")
    i = CITIES.index(city)
    system = body["messages"][0]["content"] if body["messages"][0]["role"] == "system" else ""
    arm = "json" if "tools" in body else ("python" if f"def {name}(" in system else "mcp")
    answer = city if i in RIGHT[arm] else "Nowhere"
    if arm == "json":
        return Reply.tool_calls((name, {"city": answer}))
    if arm == "python":
        return Reply.text(f'```python\n{name}(city="{answer}")\n```')
    return Reply.text(f'```json\n{{"name": "{name}", "arguments": {{"city": "{answer}"}}}}\n```')


def test_compare_runs_every_presentation_and_reports_hand_worked_statistics(
    allow_model_requests: None, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    tasks, run_dir = tmp_path / "tasks.jsonl", tmp_path / "run"
    write_tasks(tasks)
    with OpenAILoopback(responder=responder) as server:
        code = main(
            [
                "compare",
                "--model",
                "m",
                "--base-url",
                server.base_url,
                "--no-api-key",
                "--tasks",
                str(tasks),
                "--presentations",
                "python,mcp,json",
                "--out",
                str(run_dir),
                "--resamples",
                "2000",
            ]
        )
        bodies = [r.body for r in server.completions]
    assert code == 0
    # identical decoding and one skeleton for every arm: same temperature and token limit, 10 requests per arm
    assert len(bodies) == 30
    assert {
        (b.get("temperature"), b.get("max_tokens") or b.get("max_completion_tokens")) for b in bodies
    } == {(0.0, 512)}
    printed = capsys.readouterr().out
    assert "python - mcp" in printed and "+60.0 pp" in printed

    rows = {arm: read_results(run_dir / f"results-{arm}.jsonl") for arm in ("python", "mcp", "json")}
    for arm, right in RIGHT.items():
        assert {r["task_id"] for r in rows[arm] if r["correct"]["lenient"]} == {f"t{i}" for i in right}

    report = (run_dir / "report.md").read_text()
    assert "| python − mcp | +60.0 pp [" in report
    line = next(x for x in report.splitlines() if x.startswith("| python − mcp |"))
    cells = [c.strip() for c in line.strip("|").split("|")]
    assert cells[3:6] == ["6 / 0", "0.03125", "0.0625"]
    assert cells[-1] == "10 / 3"
    # the interval in the report is the cluster bootstrap by tool, reproduced here from the outcomes
    diff = paired_difference(
        {f"t{i}": float(i in RIGHT["python"]) for i in range(10)},
        {f"t{i}": float(i in RIGHT["mcp"]) for i in range(10)},
        clusters={f"t{i}": tool_of(i).name for i in range(10)},
        n_resamples=2000,
        seed=0,
    )
    assert cells[1] == f"+60.0 pp [{100 * diff.low:+.1f}, {100 * diff.high:+.1f}]"
    mcp_json = next(x for x in report.splitlines() if x.startswith("| mcp − json |"))
    assert "| 0 / 7 | 0.01562 | 0.04688 |" in mcp_json
    py_json = next(x for x in report.splitlines() if x.startswith("| python − json |"))
    assert "| 0 / 1 | 1 | 1 |" in py_json
    # breakdowns, format failures, token costs, validity notes and verbatim prompts are all there
    for heading in (
        "## By scenario kind",
        "## By tool",
        "## Format failures: strict vs lenient",
        "## Token costs",
        "## Threats to validity",
        "## Example prompts",
    ):
        assert heading in report
    assert "| lookup |" in report and "| get_population |" in report
    assert "Only 3 tool(s) form the bootstrap clusters" in report
    assert "chars/4" in report
    for name in ("accuracy.png", "by_kind.png", "by_tool.png"):
        assert (run_dir / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    data = json.loads((run_dir / "comparison.json").read_text())
    assert [(p["a"], p["b"], p["p_holm"]) for p in data["pairs"]] == [
        ("python", "mcp", 0.0625),
        ("python", "json", 1.0),
        ("mcp", "json", 0.046875),
    ]


def test_compare_rebuilds_the_report_from_result_files(
    allow_model_requests: None, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    tasks = tmp_path / "tasks.jsonl"
    write_tasks(tasks)
    with OpenAILoopback(responder=responder) as server:
        for arm in ("python", "mcp"):
            assert (
                main(
                    [
                        "eval",
                        "--model",
                        "m",
                        "--base-url",
                        server.base_url,
                        "--no-api-key",
                        "--tasks",
                        str(tasks),
                        "--presentation",
                        arm,
                        "--out",
                        str(tmp_path / f"{arm}.jsonl"),
                    ]
                )
                == 0
            )
    code = main(
        [
            "compare",
            "--from-results",
            str(tmp_path / "python.jsonl"),
            str(tmp_path / "mcp.jsonl"),
            "--out",
            str(tmp_path / "rep"),
            "--resamples",
            "500",
        ]
    )
    assert code == 0
    report = (tmp_path / "rep" / "report.md").read_text()
    line = next(x for x in report.splitlines() if x.startswith("| python − mcp |"))
    assert "| 6 / 0 | 0.03125 | 0.03125 |" in line  # one pair: Holm changes nothing


def test_arms_holding_different_tasks_cannot_be_paired(tmp_path: Path) -> None:
    def row(task: str) -> dict[str, Any]:
        read = {"calls": [], "error": None, "matched": True, "reasons": [], "f1": 1.0}
        return {
            "task_id": task,
            "presentation": "x",
            "cluster": "t",
            "correct": {"strict": True, "lenient": True},
            "steps": [{"gold": [], "gold_kind": "no_call", "strict": read, "lenient": read}],
        }

    from toolkit.errors import UserError

    with pytest.raises(UserError, match="hold different tasks"):
        compare_arms({"python": [row("a"), row("b")], "mcp": [row("a"), row("c")]})


def test_compare_needs_two_distinct_presentations(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    tasks = tmp_path / "tasks.jsonl"
    write_tasks(tasks)
    code = main(
        [
            "compare",
            "--model",
            "m",
            "--base-url",
            "http://127.0.0.1:9",
            "--no-api-key",
            "--tasks",
            str(tasks),
            "--presentations",
            "python,python",
        ]
    )
    assert code == 2 and "at least two distinct" in capsys.readouterr().err


def test_compare_in_env_mode_pairs_episodes_on_a_suite(
    allow_model_requests: None, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from toolkit.presentations import get_presentation
    from toolkit.template_rendering import render_tasks

    tasks = render_tasks("calendar", n=3, seed=0)  # what --suite calendar --n 3 renders

    def respond(body: dict[str, Any]) -> Reply:
        system, request = body["messages"][0]["content"], body["messages"][1]["content"]
        task = next(t for t in tasks if t.turns[0] == request)
        arm = "python" if "def create_event(" in system else "mcp"
        if body["messages"][-1]["content"] != request:  # results came back: answer
            return Reply.text("Done: " + ", ".join(task.answer_facts))
        calls = [c.to_call() for c in task.gold_calls]
        if arm == "mcp" and task is not tasks[0]:  # mcp gets one task right, python all three
            calls = [
                c.__class__(name=c.name, arguments={**c.arguments, "title": "Wrong title"}) for c in calls
            ]
        return Reply.text(get_presentation(arm).render_calls(calls))

    run_dir = tmp_path / "env"
    with OpenAILoopback(responder=respond) as server:
        code = main(
            [
                "compare",
                "--model",
                "m",
                "--base-url",
                server.base_url,
                "--no-api-key",
                "--mode",
                "env",
                "--suite",
                "calendar",
                "--n",
                "3",
                "--presentations",
                "python,mcp",
                "--out",
                str(run_dir),
                "--resamples",
                "500",
            ]
        )
    assert code == 0
    rows = read_results(run_dir / "results-mcp.jsonl")
    assert [r["passed"] for r in rows] == [True, False, False]
    assert any(r.startswith("end_state:") for r in rows[1]["reasons"])
    report = (run_dir / "report.md").read_text()
    assert "mode `env`" in report and "suite calendar (n=3, seed 0)" in report
    line = next(x for x in report.splitlines() if x.startswith("| python − mcp |"))
    assert "| +66.7 pp [" in line and "| 2 / 0 | 0.5 | 0.5 |" in line  # exact McNemar: 2 * 2^-2


def test_the_report_pins_the_serving_stack(allow_model_requests: None, tmp_path: Path) -> None:
    tasks = tmp_path / "tasks.jsonl"
    write_tasks(tasks)
    with OpenAILoopback(responder=responder) as server:
        url = server.base_url
        assert (
            main(
                [
                    "compare",
                    "--model",
                    "m",
                    "--base-url",
                    url,
                    "--no-api-key",
                    "--tasks",
                    str(tasks),
                    "--presentations",
                    "python,mcp",
                    "--out",
                    str(tmp_path / "r"),
                    "--resamples",
                    "200",
                    "--quiet",
                ]
            )
            == 0
        )
    report = (tmp_path / "r" / "report.md").read_text()
    line = next(x for x in report.splitlines() if x.startswith("- serving: "))
    assert f"endpoint {url}" in line and "openai " in line
