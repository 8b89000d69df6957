"""BFCL import: hand-written entries in BFCL's exact format become task records scored by the same checker."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import anyio
import pytest

from tests.toolkit.openai_loopback import OpenAILoopback, Reply
from toolkit.backends import ScriptedBackend
from toolkit.bfcl import bfcl_schema, is_bfcl_file, load_bfcl
from toolkit.bfcl import main as bfcl_main
from toolkit.cli import main
from toolkit.errors import UserError
from toolkit.evaluate import EvalConfig, evaluate
from toolkit.records import Trajectory

DATA = Path(__file__).parent / "data"


def load(category: str) -> list[Trajectory]:
    answers = DATA / f"bfcl_sample_possible_answer_{category}.json"
    return load_bfcl(DATA / f"bfcl_sample_{category}.json", answers if answers.exists() else None)


def test_bfcl_types_become_json_schema() -> None:
    schema = bfcl_schema(
        {
            "type": "dict",
            "properties": {
                "a": {"type": "float"},
                "b": {"type": "tuple", "items": {"type": "integer"}},
                "c": {"type": "any"},
                "d": {"type": "dict", "properties": {"e": {"type": "boolean"}}},
                "f": {"type": "string", "optional": True},
            },
            "required": ["a"],
        }
    )
    assert schema == {
        "type": "object",
        "properties": {
            "a": {"type": "number"},
            "b": {"type": "array", "items": {"type": "integer"}},
            "c": {},
            "d": {"type": "object", "properties": {"e": {"type": "boolean"}}},
            "f": {"type": "string"},
        },
        "required": ["a"],
    }
    with pytest.raises(UserError, match="unknown BFCL type 'complex'"):
        bfcl_schema({"type": "complex"})


def test_import_keeps_possible_answers_and_maps_dotted_names_everywhere() -> None:
    simple = load("simple")
    assert [r.id for r in simple] == ["bfcl/simple_0", "bfcl/simple_1", "bfcl/simple_2"]
    assert {r.scenario.kind for r in simple} == {"simple"} and simple[0].scenario.suite == "bfcl"
    factorial = simple[1]
    assert factorial.tools[0].name == "math_factorial"
    assert factorial.provenance.extra["bfcl_possible_answer"] == [{"math_factorial": {"number": [5]}}]
    assert factorial.provenance.extra["name_map"] == {"math.factorial": "math_factorial"}
    # expected.calls: the first allowed value, "" (may be omitted) left out
    assert [c.model_dump() for c in simple[0].expected.calls] == [
        {"name": "calculate_triangle_area", "arguments": {"base": 10, "height": 5, "unit": "units"}}
    ]
    weather = simple[2].expected.calls[0].arguments
    assert weather == {
        "city": "New York City",
        "unit": "fahrenheit",
        "threshold": 0.5,
        "coordinates": [40.7, -74.0],
    }
    nested = load("multiple")[1].expected.calls[0].arguments["details"]
    assert nested == {"time": "19:30", "outdoor": True}
    (irrelevant,) = load("irrelevance")
    assert irrelevant.expected.calls == [] and irrelevant.provenance.extra["bfcl_possible_answer"] == []
    assert is_bfcl_file(DATA / "bfcl_sample_simple.json") and not is_bfcl_file(DATA / "good.jsonl")


def test_a_question_without_an_answer_is_refused() -> None:
    with pytest.raises(UserError, match="simple_0: no possible answer"):
        load_bfcl(DATA / "bfcl_sample_simple.json")


def py(text: str) -> str:
    return f"```python\n{text}\n```"


SCRIPT = {
    "simple": [
        py("calculate_triangle_area(base=10, height=5)"),  # unit omitted: "" is allowed
        py("math_factorial(number=5)"),
        # "nyc" matches "NYC" only after BFCL's string standardisation (lenient); the tuple is a list
        py('weather_lookup(city="nyc", unit="fahrenheit", threshold=0.5, coordinates=[40.7, -74.0])'),
    ],
    "multiple": [
        py("circle_properties_get(radius=5.0)"),  # wrong tool among the candidates
        py(
            'restaurant_book(cuisine="Italian", city="Berlin", party_size=4, details={"time": "19:30", '
            '"outdoor": True})'
        ),
    ],
    "parallel": [
        # out of order, still a perfect matching
        py('spotify_play(artist="Maroon 5", duration=15)\nspotify_play(artist="Taylor Swift", duration=20)'),
        # integers for float parameters are accepted (BFCL's int -> float coercion); one wrong currency
        py(
            'currency_convert(amount=10, from_currency="USD", to_currency="EUR")\n'
            'currency_convert(amount=25, from_currency="USD", to_currency="GBP")'
        ),
    ],
    "irrelevance": ["None of the tools can compute a triangle's area."],
}
EXPECTED = {
    "bfcl/simple_0": (True, True),
    "bfcl/simple_1": (True, True),
    "bfcl/simple_2": (False, True),
    "bfcl/multiple_0": (False, False),
    "bfcl/multiple_1": (True, True),
    "bfcl/parallel_0": (True, True),
    "bfcl/parallel_1": (False, False),
    "bfcl/irrelevance_0": (True, True),
}


@pytest.mark.anyio
async def test_imported_tasks_are_scored_against_the_possible_answers() -> None:
    outcomes: dict[str, tuple[bool, bool]] = {}
    reasons: dict[str, list[str]] = {}
    for category, answers in SCRIPT.items():
        backend = ScriptedBackend(answers)
        with anyio.fail_after(30):
            results = await evaluate(load(category), backend, EvalConfig(presentation="python"))
        backend.assert_complete()
        for r in results:
            outcomes[r.task_id] = (r.correct("strict"), r.correct("lenient"))
            reasons[r.task_id] = r.steps[0].lenient.reasons
    assert outcomes == EXPECTED
    assert any("wrong_name" in x for x in reasons["bfcl/multiple_0"])
    assert any("'to_currency'" in x and "GBP" in x for x in reasons["bfcl/parallel_1"])


def test_eval_scores_a_bfcl_file_from_the_command_line(
    allow_model_requests: None, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    replies = {
        "Find the area": '{"name": "calculate_triangle_area", "arguments": {"base": 10, "height": 5}}',
        "Calculate the factorial": '{"name": "math_factorial", "arguments": {"number": 6}}',
        "What's the weather": '{"name": "weather_lookup", "arguments": {"city": "NYC", '
        '"coordinates": [40.7, -74.0], "unit": "fahrenheit", "threshold": 0.5}}',
    }

    def respond(body: dict[str, Any]) -> Reply:
        question = body["messages"][-1]["content"]
        return Reply.text(
            "```json\n" + next(v for k, v in replies.items() if question.startswith(k)) + "\n```"
        )

    out = tmp_path / "bfcl.jsonl"
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
                "mcp",
                "--tasks",
                str(DATA / "bfcl_sample_simple.json"),
                "--bfcl-answers",
                str(DATA / "bfcl_sample_possible_answer_simple.json"),
                "--out",
                str(out),
            ]
        )
    assert code == 0
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["correct"]["lenient"] for r in rows] == [True, False, True]
    assert rows[0]["steps"][0]["gold"] == [
        {"calculate_triangle_area": {"base": [10], "height": [5], "unit": ["units", ""]}}
    ]
    printed = capsys.readouterr().out
    assert "\nsimple  3  " in printed  # the breakdown by kind names the BFCL category


def test_the_converter_writes_records_that_round_trip(tmp_path: Path) -> None:
    out = tmp_path / "parallel.jsonl"
    assert (
        bfcl_main(
            [
                str(DATA / "bfcl_sample_parallel.json"),
                str(DATA / "bfcl_sample_possible_answer_parallel.json"),
                "-o",
                str(out),
            ]
        )
        == 0
    )
    lines = out.read_text().splitlines()
    assert [Trajectory.model_validate_json(x).id for x in lines] == ["bfcl/parallel_0", "bfcl/parallel_1"]
