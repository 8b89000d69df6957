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


def test_eval_with_shots_and_sampled_trials_prints_pass_k(
    allow_model_requests: None, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    tasks = tmp_path / "tasks.jsonl"
    write_tasks(tasks)
    seen: list[dict] = []

    def answer(body: dict) -> Reply:
        seen.append(body)
        city = body["messages"][-1]["content"].split()[-1].rstrip("?")
        # Oslo is right only on the first trial (seed 7); the others always
        good = city != "Oslo" or body.get("seed") == 7
        return mcp_answer(city if good else "Bergen")

    out = tmp_path / "trials.jsonl"
    with OpenAILoopback(responder=answer) as server:
        code = main(
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
                "mcp",
                "--shots",
                "1",
                "--trials",
                "2",
                "--temperature",
                "0.5",
                "--seed",
                "7",
                "--out",
                str(out),
            ]
        )
    assert code == 0
    assert sorted(b["seed"] for b in seen) == [7, 7, 7, 8, 8, 8] and {b["temperature"] for b in seen} == {0.5}
    # one solved example (another task) precedes each task: its request and its call
    first = seen[0]["messages"]
    assert [m["role"] for m in first[1:4]] == ["user", "assistant", "user"]
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert [(r["task_id"], r["trial"]) for r in rows] == [
        ("t0", 0),
        ("t1", 0),
        ("t2", 0),
        ("t0", 1),
        ("t1", 1),
        ("t2", 1),
    ]
    assert all(len(r["shots"]) == 1 and r["shots"][0] != r["task_id"] for r in rows)
    printed = capsys.readouterr().out
    # t0, t1: 2 of 2; t2: 1 of 2 -> pass^1 5/6, pass^2 2/3, pass@2 1
    assert "pass^1" in printed and "83.3%" in printed
    assert "pass^2                          66.7%" in printed
    assert "pass@2                          100.0%" in printed


def test_greedy_trials_are_refused_with_the_fix(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    tasks = tmp_path / "tasks.jsonl"
    write_tasks(tasks)
    code = main(
        [
            "eval",
            "--model",
            "m",
            "--base-url",
            "http://127.0.0.1:9",
            "--no-api-key",
            "--tasks",
            str(tasks),
            "--presentation",
            "python",
            "--trials",
            "3",
        ]
    )
    assert code == 2 and "set a temperature above 0" in capsys.readouterr().err


def test_eval_loads_a_local_model_directory(
    allow_model_requests: None, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import torch
    from transformers import AutoTokenizer, LlamaConfig, LlamaForCausalLM

    from toolkit.backends import bundled_smollm2

    directory, gguf = bundled_smollm2()
    tokenizer = AutoTokenizer.from_pretrained(directory, gguf_file=gguf)
    torch.manual_seed(0)
    model = LlamaForCausalLM(
        LlamaConfig(
            vocab_size=len(tokenizer),
            hidden_size=16,
            intermediate_size=32,
            num_hidden_layers=1,
            num_attention_heads=2,
            num_key_value_heads=1,
            max_position_embeddings=1024,
            eos_token_id=tokenizer.eos_token_id,
            pad_token_id=tokenizer.pad_token_id,
        )
    )
    model.save_pretrained(tmp_path / "tiny")
    tokenizer.save_pretrained(tmp_path / "tiny")
    tasks = tmp_path / "tasks.jsonl"
    write_tasks(tasks)
    out = tmp_path / "local.jsonl"
    code = main(
        [
            "eval",
            "--model",
            str(tmp_path / "tiny"),
            "--tasks",
            str(tasks),
            "--presentation",
            "python",
            "--max-tokens",
            "3",
            "--out",
            str(out),
        ]
    )
    assert code == 0
    printed = capsys.readouterr().out
    assert printed.startswith(f"local model {tmp_path / 'tiny'}; 3 task(s)")
    assert "tokens (tokenizer)" in printed  # exact tool-definition counts with the model's tokenizer
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert all(r["steps"][0]["completion_tokens"] >= 1 for r in rows)
