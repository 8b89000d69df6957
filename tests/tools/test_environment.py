"""The Environment abstraction: fresh isolated state, tools over that state, snapshots, diffs and grading."""

from __future__ import annotations

import json
from typing import Any

import anyio
import pytest

from toolkit.environment import (
    Environment,
    GoldCall,
    Task,
    diff_snapshots,
    fact_in_answer,
    get_suite,
    list_suites,
)
from toolkit.errors import ToolError, UserError
from toolkit.python_tools import load_python_toolset, tool
from toolkit.records import Expected, Scenario
from toolkit.specs import ToolCall
from toolkit.toolsets import ToolRegistry
from tools.calendar import CalendarEnvironment


class Shelf(Environment):
    """A tiny environment written the way a suite writes one."""

    suite = "shelf"

    def _build_state(self, seed: int, setup: dict[str, Any]) -> None:
        self.books = {f"b{i}": {"id": f"b{i}", "title": f"Book {seed}-{i}", "shelf": "A"} for i in range(3)}

    def snapshot(self) -> dict[str, Any]:
        return {"books": [dict(b) for _, b in sorted(self.books.items())]}

    @tool
    def move_book(self, book_id: str, shelf: str, when: str = "2026-01-01T00:00") -> dict:
        """Move a book to another shelf.

        Args:
            book_id: The book, e.g. "b1".
            shelf: Target shelf letter.
            when: When it was moved (ISO date-time).
        """
        if book_id not in self.books:
            raise ToolError(f"no book {book_id!r}; books: {', '.join(self.books)}")
        self.books[book_id]["shelf"] = shelf
        return dict(self.books[book_id])


def _task(**kw: Any) -> Task:
    base: dict[str, Any] = {
        "id": "shelf/t1",
        "suite": "shelf",
        "kind": "single",
        "turns": ["Put b1 on shelf C."],
        "gold_calls": [GoldCall(name="move_book", arguments={"book_id": "b1", "shelf": "C"})],
        "answer_facts": ["shelf C"],
        "seed": 4,
    }
    base.update(kw)
    return Task(**base)


def test_reset_gives_a_fresh_state_determined_by_the_seed():
    env = CalendarEnvironment()
    env.reset(seed=7)
    first = env.snapshot()
    env.call("cancel_event", {"event_id": first["events"][0]["id"]})
    assert env.snapshot() != first
    env.reset(seed=7)
    assert env.snapshot() == first
    env.reset(seed=8)
    assert env.snapshot() != first


def test_two_environments_side_by_side_do_not_share_state():
    a, b = CalendarEnvironment(), CalendarEnvironment()
    before = b.snapshot()
    event_id = a.snapshot()["events"][0]["id"]
    result = a.call("cancel_event", {"event_id": event_id})
    assert not result.is_error
    assert b.snapshot() == before
    assert a.snapshot() != before


def test_reset_with_a_task_uses_its_seed_and_returns_its_prompt():
    env = Shelf()
    prompt = env.reset(_task().model_dump())
    assert prompt == "Put b1 on shelf C."
    assert env.snapshot()["books"][0]["title"] == "Book 4-0"
    assert env.task is not None and env.task.id == "shelf/t1"


def test_the_toolset_acts_on_the_environments_state_through_a_registry():
    env = Shelf()

    async def main() -> None:
        async with ToolRegistry([env.toolset()]) as registry:
            assert registry.names() == ["move_book"]
            result = await registry.call("move_book", {"book_id": "b2", "shelf": "Z"})
            assert not result.is_error
            assert result.structured == {"id": "b2", "title": "Book 0-2", "shelf": "Z"}
            missing = await registry.call("move_book", {"book_id": "b9", "shelf": "Z"})
            assert missing.is_error and "books: b0, b1, b2" in missing.content

    anyio.run(main)
    assert env.snapshot()["books"][2]["shelf"] == "Z"
    env.reset()
    assert env.snapshot()["books"][2]["shelf"] == "A"  # the same toolset now sees the fresh state
    assert not env.call("move_book", {"book_id": "b2", "shelf": "Q"}).is_error
    assert env.snapshot()["books"][2]["shelf"] == "Q"


def test_every_instance_offers_the_same_tool_names_and_schemas():
    a, b = CalendarEnvironment(), CalendarEnvironment()
    b.reset(seed=3)
    assert [s.signature() for s in a.specs()] == [s.signature() for s in b.specs()]


def test_tools_are_documented_methods_an_rl_adapter_can_expose():
    env = CalendarEnvironment()
    methods = env.tools()
    assert [m.__name__ for m in methods] == [s.name for s in env.specs()]
    for spec in env.specs():
        assert spec.description
        for name, prop in spec.input_schema["properties"].items():
            assert prop.get("description"), f"{spec.name}.{name} has no description"


def test_sync_call_works_inside_a_running_event_loop():
    env = Shelf()

    async def main() -> str:
        return env.call("move_book", {"book_id": "b0", "shelf": "D"}).content

    assert json.loads(anyio.run(main))["shelf"] == "D"


def test_invalid_arguments_come_back_as_error_results_not_exceptions():
    env = Shelf()
    result = env.call("move_book", {"book_id": 3})
    assert result.is_error and result.error_kind == "invalid_arguments"
    assert "shelf" in result.content


def test_snapshot_is_json_and_diff_names_each_change():
    env = CalendarEnvironment()
    before = env.snapshot()
    assert json.loads(json.dumps(before)) == before
    first = before["events"][0]["id"]
    env.call("cancel_event", {"event_id": first, "reason": "clash"})
    created = env.call(
        "create_event",
        {"title": "Late sync", "start": "2026-03-20T22:00", "end": "2026-03-20T22:30", "timezone": "UTC",
         "attendees": ["zoe@example.com"]},
    ).structured
    changes = env.diff(before, env.snapshot())
    assert f'events[{first}].status: "confirmed" -> "cancelled"' in changes
    assert any(c.startswith(f"events[{created['event_id']}]: added") for c in changes)
    assert env.diff(before, before) == []
    assert diff_snapshots({"rows": [{"id": 1}]}, {"rows": []}) == ['rows[1]: removed (was {"id": 1})']


def test_a_correct_trajectory_passes_every_check():
    env = Shelf()
    task = _task()
    calls = [ToolCall(name="move_book", arguments={"book_id": "b1", "shelf": "C"})]
    grade = env.grade(task, calls, "Done: b1 is on Shelf C.")
    assert grade.passed and grade.score == 1.0, grade.summary()
    assert set(grade.checks) == {"tool_choice", "arguments", "end_state", "answer"}
    assert all(c.passed for c in grade.checks.values())


def test_a_wrong_argument_fails_arguments_and_end_state_with_reasons():
    env = Shelf()
    calls = [{"name": "move_book", "arguments": {"book_id": "b2", "shelf": "C"}}]
    grade = env.grade(_task(), calls, "Moved to shelf C.")
    assert not grade.passed
    assert grade.checks["tool_choice"].passed
    assert not grade.checks["arguments"].passed
    assert any("book_id" in r and "b1" in r for r in grade.checks["arguments"].reasons)
    assert not grade.checks["end_state"].passed
    assert any("books[b2].shelf" in r for r in grade.checks["end_state"].reasons)
    assert grade.checks["answer"].passed
    assert 0 < grade.score < 1


def test_right_call_plus_a_harmful_extra_call_fails_only_the_end_state():
    env = Shelf()
    calls = [
        ToolCall(name="move_book", arguments={"book_id": "b1", "shelf": "C"}),
        ToolCall(name="move_book", arguments={"book_id": "b0", "shelf": "X"}),
    ]
    grade = env.grade(_task(), calls, "b1 is on shelf C")
    assert grade.checks["arguments"].passed and grade.checks["tool_choice"].passed
    assert not grade.checks["end_state"].passed and not grade.passed
    assert grade.reasons and grade.reasons[0].startswith("end_state:")


def test_missing_answer_facts_fail_the_answer_check():
    calls = [ToolCall(name="move_book", arguments={"book_id": "b1", "shelf": "C"})]
    grade = Shelf().grade(_task(), calls, "Done.")
    assert not grade.checks["answer"].passed
    assert grade.checks["answer"].reasons == ["final answer does not state 'shelf C'"]


def test_calling_a_tool_on_a_no_tool_task_fails_tool_choice():
    task = _task(kind="no_tool", gold_calls=[], answer_facts=[])
    env = Shelf()
    assert env.grade(task, [], "I can't help with that here.").passed
    grade = env.grade(task, [ToolCall(name="move_book", arguments={"book_id": "b1", "shelf": "C"})], "ok")
    assert not grade.checks["tool_choice"].passed
    assert not grade.checks["arguments"].applicable


def test_missing_argument_task_fails_when_the_agent_guesses_before_asking():
    task = _task(kind="missing_argument", turns=["Move b1.", "To shelf C."], missing_arguments=["shelf"])
    good = [ToolCall(name="move_book", arguments={"book_id": "b1", "shelf": "C"})]
    env = Shelf()
    asked = env.grade(task, good, "b1 is now on shelf C", turn_calls=[[], good])
    assert asked.passed, asked.summary()
    guessed = env.grade(task, good, "b1 is now on shelf C", turn_calls=[good, []])
    assert not guessed.checks["tool_choice"].passed
    assert "before the user gave shelf" in guessed.checks["tool_choice"].reasons[0]


def test_grade_messages_reads_openai_shaped_conversations():
    task = _task(kind="missing_argument", turns=["Move b1.", "To shelf C."], missing_arguments=["shelf"])
    messages = [
        {"role": "user", "content": "Move b1."},
        {"role": "assistant", "content": "Which shelf?"},
        {"role": "user", "content": "To shelf C."},
        {"role": "assistant", "tool_calls": [{"id": "c1", "type": "function", "function": {
            "name": "move_book", "arguments": '{"book_id": "b1", "shelf": "C"}'}}]},
        {"role": "tool", "tool_call_id": "c1", "content": "{}"},
        {"role": "assistant", "content": "b1 is on shelf C now."},
    ]
    assert Shelf().grade_messages(task, messages).passed


def test_malformed_agent_calls_are_graded_not_crashed_on():
    calls = [{"name": "move_book", "arguments": ["b1", "C"]}, {"name": "fly_away", "arguments": None}, {}]
    grade = Shelf().grade(_task(), calls, "shelf C")
    assert not grade.passed
    assert "called unknown tool(s) (unnamed), fly_away" in grade.checks["tool_choice"].reasons[-1]
    assert not grade.checks["end_state"].passed


def test_grading_never_touches_the_environments_own_state():
    env = Shelf()
    before = env.snapshot()
    env.grade(_task(), [ToolCall(name="move_book", arguments={"book_id": "b0", "shelf": "Z"})], "")
    assert env.snapshot() == before


def test_a_live_end_state_is_graded_as_given():
    env = Shelf()
    env.reset(_task())
    env.call("move_book", {"book_id": "b1", "shelf": "C"})
    grade = env.grade(_task(), [], "shelf C", end_state=env.snapshot())
    assert grade.checks["end_state"].passed
    assert not grade.checks["tool_choice"].passed  # the calls were not reported


def test_arguments_compare_canonically():
    env = Shelf()
    args = {"book_id": "b1", "shelf": "C"}
    task = _task(gold_calls=[GoldCall(name="move_book", arguments={**args, "when": "2026-02-01T10:00"})])
    same = ToolCall(name="move_book", arguments={**args, "when": "2026-02-01T10:00:00"})
    assert env.grade(task, [same], "shelf C").checks["arguments"].passed
    default = _task()  # the gold leaves `when` at its default; saying the default explicitly is the same call
    explicit = ToolCall(name="move_book", arguments={**args, "when": "2026-01-01T00:00"})
    assert env.grade(default, [explicit], "shelf C").checks["arguments"].passed
    free = _task(gold_calls=[GoldCall(name="move_book", arguments=args, ignore_arguments=["shelf"])])
    other = ToolCall(name="move_book", arguments={"book_id": "b1", "shelf": "Q"})
    assert env.grade(free, [other], "shelf C").checks["arguments"].passed


def test_fact_matching_is_normalised_and_numbers_compare_by_value():
    assert fact_in_answer("Budget Review", "I cancelled the **budget review**.")
    assert fact_in_answer("1326", "The average is 1,326.")
    assert fact_in_answer("3.10686", "That's about 3.11 miles.")
    assert not fact_in_answer("3.10686", "That's about 3 miles.")
    assert fact_in_answer("-15.13", "Revenue fell 15.13%.")
    assert not fact_in_answer("8", "It is 18.")
    assert not fact_in_answer("evt-020", "Created evt-002.")


def test_a_task_carries_its_record_blocks():
    task = _task(gold_end_state={"books": []})
    scenario, expected = task.scenario(), task.expected()
    assert isinstance(scenario, Scenario) and scenario.kind == "single" and scenario.template is None
    assert Task.model_validate(scenario.task) == task
    assert isinstance(expected, Expected) and expected.calls[0].name == "move_book"
    assert expected.answer_facts == ["shelf C"] and expected.final_state == {"books": []}


def test_gold_end_state_is_computed_when_the_task_has_none():
    env = Shelf()
    state = env.gold_end_state(_task())
    assert state["books"][1]["shelf"] == "C" and state["books"][1]["title"] == "Book 4-1"


def test_bundled_suites_are_listed_and_found_by_name():
    names = list_suites()
    assert {"calculator", "calendar", "retrieval"} <= set(names)
    suite = get_suite("calendar")
    assert suite.name == "calendar" and suite.templates_path is not None
    assert isinstance(suite.create_environment(), CalendarEnvironment)
    assert get_suite("tools.retrieval").create_environment().suite == "retrieval"


def test_an_unknown_suite_is_a_user_error_naming_the_bundled_ones():
    with pytest.raises(UserError, match="bundled suites: .*calendar"):
        get_suite("nonexistent_suite_xyz")
    with pytest.raises(UserError, match="lacks create_environment"):
        get_suite("toolkit.specs")


@pytest.mark.parametrize("suite", ["calculator", "calendar", "retrieval"])
def test_py_source_lists_each_suites_tools(suite):
    toolset = load_python_toolset(f"tools.{suite}")
    assert toolset.names() == [s.name for s in get_suite(suite).create_environment().specs()]


def test_an_answer_states_an_id_only_as_a_whole_word() -> None:
    from toolkit.environment import fact_in_answer

    assert not fact_in_answer("O-5001", "refunded order o-50012")
    assert fact_in_answer("O-5001", "Refunded order O-5001.")
