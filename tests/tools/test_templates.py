"""Task templates: the file format, its validation errors, and rendering to grounded, replayable tasks."""

from __future__ import annotations

from pathlib import Path

import pytest

from toolkit.environment import TASK_KINDS, get_suite
from toolkit.errors import UserError
from toolkit.jsonschema_utils import validation_errors
from toolkit.template_rendering import render_tasks
from toolkit.templates import (
    TemplateError,
    check_templates,
    load_templates,
    parse_templates,
    template_file_schema,
)

SUITES = ["calculator", "calendar", "retrieval"]


def _template(**kw):
    base = {"id": "t", "kind": "single", "phrasings": ["Cancel {e.title}."],
            "slots": {"e": {"from_state": "events", "where": {"status": "confirmed"}}},
            "calls": [{"name": "cancel_event", "arguments": {"event_id": "{e.id}"}}]}  # fmt: skip
    base.update(kw)
    return base


def _problems(data, source="my.yaml"):
    with pytest.raises(TemplateError) as info:
        parse_templates(data, source=source)
    return info.value.problems


@pytest.mark.parametrize("suite", SUITES)
def test_each_bundled_template_file_is_valid_and_covers_all_six_kinds(suite):
    templates = load_templates(get_suite(suite).templates_path)
    assert {t.kind for t in templates} == set(TASK_KINDS)
    check_templates(templates, get_suite(suite).create_environment())


@pytest.mark.parametrize("suite", SUITES)
def test_every_template_renders_tasks_whose_gold_calls_fit_the_schemas_and_replay_to_the_gold_state(suite):
    s = get_suite(suite)
    env = s.create_environment()
    specs = {spec.name: spec for spec in env.specs()}
    templates = load_templates(s.templates_path)
    fresh = s.create_environment()
    for seed in range(3):
        for template in templates:
            (task,) = render_tasks(s, env, n=1, seed=seed, templates=[template])
            assert task.template == template.id and task.kind == template.kind and task.suite == suite
            assert task.gold_end_state is not None
            for call in task.gold_calls:
                assert validation_errors(specs[call.name].input_schema, call.arguments) == [], (task.id, call)
            fresh.reset(task)
            results = fresh.run_calls(task.gold_calls)
            assert [r.is_error for r in results] == [c.expect_error for c in task.gold_calls], task.id
            assert fresh.snapshot() == task.gold_end_state, task.id
            assert "{" not in " ".join(task.turns + task.answer_facts), task.id


@pytest.mark.parametrize("suite", SUITES)
def test_rendered_gold_trajectories_pass_the_grader(suite):
    s = get_suite(suite)
    env = s.create_environment()
    for task in render_tasks(s, env, n=12, seed=11):
        calls = [c.to_call() for c in task.gold_calls]
        answer = "Result: " + "; ".join(task.answer_facts)
        turn_calls = [[], calls] if task.kind == "missing_argument" else None
        grade = env.grade(task, calls, answer, turn_calls=turn_calls)
        assert grade.passed, grade.summary()


def test_rendering_is_deterministic_and_cycles_through_the_kinds():
    first = render_tasks("calendar", n=12, seed=5)
    again = render_tasks("calendar", n=12, seed=5)
    other = render_tasks("calendar", n=12, seed=6)
    assert [t.model_dump() for t in first] == [t.model_dump() for t in again]
    assert [t.model_dump() for t in first] != [t.model_dump() for t in other]
    assert [t.kind for t in first[:6]] == list(TASK_KINDS)
    assert len({t.id for t in first}) == 12


def test_kinds_can_be_selected_and_unknown_kinds_are_rejected():
    tasks = render_tasks("calculator", n=5, seed=0, kinds=["chain", "error"])
    assert {t.kind for t in tasks} == {"chain", "error"}
    with pytest.raises(UserError, match="unknown task kind"):
        render_tasks("calculator", n=1, kinds=["multi_hop"])


def test_chain_calls_use_the_earlier_result():
    (task,) = render_tasks("calculator", n=1, seed=0, kinds=["chain"])
    assert task.template == "total_then_convert"
    env = get_suite("calculator").create_environment()
    total = env.call("calculate", task.gold_calls[0].arguments).structured
    assert task.gold_calls[1].arguments["value"] == total["value"]


def test_missing_argument_tasks_hold_back_the_value_until_the_follow_up():
    for task in render_tasks("calendar", n=24, seed=2, kinds=["missing_argument"]):
        assert len(task.turns) == 2 and task.missing_arguments
        for name in task.missing_arguments:
            value = str(task.gold_calls[0].arguments[name])
            assert value not in task.turns[0]
        if task.template == "create_missing_timezone":
            assert task.gold_calls[0].arguments["timezone"] in task.turns[1]


def test_a_user_written_template_file_renders(tmp_path: Path):
    path = tmp_path / "mine.yaml"
    path.write_text(
        "templates:\n"
        "  - id: cancel_by_id\n"
        "    kind: single\n"
        "    phrasings: ['Cancel event {e.id} please.']\n"
        "    slots:\n"
        "      e: {from_state: events, where: {status: confirmed}}\n"
        "    calls:\n"
        "      - name: cancel_event\n"
        "        arguments: {event_id: '{e.id}'}\n"
        "    answer_facts: ['{$0.title}']\n",
        encoding="utf-8",
    )
    tasks = render_tasks("calendar", n=3, seed=0, templates=path)
    assert all(t.template == "cancel_by_id" for t in tasks)
    for t in tasks:
        event_id = t.gold_calls[0].arguments["event_id"]
        event = next(e for e in t.gold_end_state["events"] if e["id"] == event_id)
        assert event["status"] == "cancelled" and t.answer_facts == [event["title"]]


def test_an_exact_placeholder_keeps_its_type_and_braces_can_be_escaped():
    data = {"templates": [{
        "id": "typed", "kind": "single", "phrasings": ["Stats of {xs} {{literally}}"],
        "slots": {"xs": {"choices": [[1, 2, 3.5]]}, "n": {"range": {"min": 2, "max": 2}}},
        "calls": [{"name": "statistics", "arguments": {"values": "{xs}", "measures": ["mean"]}},
                  ],
    }]}  # fmt: skip
    (task,) = render_tasks("calculator", n=1, templates=parse_templates(data))
    assert task.gold_calls[0].arguments["values"] == [1, 2, 3.5]
    assert task.turns == ["Stats of 1, 2, 3.5 {literally}"]


def test_a_yaml_syntax_error_names_the_file_and_line(tmp_path: Path):
    path = tmp_path / "broken.yaml"
    path.write_text("templates:\n  - id: a\n    kind: [single\n", encoding="utf-8")
    with pytest.raises(TemplateError, match=r"broken\.yaml: line \d+"):
        load_templates(path)


def test_schema_errors_name_the_file_the_template_and_the_field():
    problems = _problems({"templates": [_template(id="bad_kind", kind="multi"),
                                        _template(id="no_phrasing", phrasings=[])]})  # fmt: skip
    assert any(p.startswith("my.yaml: template 'bad_kind': field 'kind':") for p in problems)
    assert any(p.startswith("my.yaml: template 'no_phrasing': field 'phrasings':") for p in problems)
    slot = _problems({"templates": [_template(slots={"e": {"from_state": "events", "choices": [1]}})]})
    assert any("field 'slots.e'" in p for p in slot)
    assert any("field 'templates'" in p for p in _problems({"templates": []}))


def test_reference_problems_are_all_reported_at_once():
    problems = _problems({"templates": [
        _template(id="a", phrasings=["Cancel {evnt.title}."]),
        _template(id="b", calls=[{"name": "cancel_event", "arguments": {"event_id": "{$1.id}"}}]),
        _template(id="c", phrasings=["Cancel {e.title + 1}."]),
        _template(id="a"),
    ]})  # fmt: skip
    text = "\n".join(problems)
    assert "template 'a': field 'phrasings[0]': unknown slot 'evnt' (available here: e)" in text
    assert "template 'b': field 'calls[0].arguments.event_id': $1 refers to a call that has not run" in text
    assert "template 'c': field 'phrasings[0]': bad placeholder {e.title + 1}" in text
    assert "template 'a': field 'id': duplicate id" in text


def test_kind_rules_are_enforced():
    chain = _problems({"templates": [_template(kind="chain")]})
    assert any("kind chain needs at least 2 calls" in p for p in chain)
    no_tool = _problems({"templates": [_template(kind="no_tool")]})
    assert any("kind no_tool takes no calls" in p for p in no_tool)
    error = _problems({"templates": [_template(kind="error")]})
    assert any("expect_error: true" in p for p in error)
    missing = {"kind": "missing_argument", "missing": ["event_id"]}
    leaky = _template(**missing, follow_ups=["{e.id}"], phrasings=["Cancel {e.id}."])
    leak = _problems({"templates": [leaky]})
    assert any("must not give the missing 'event_id'" in p for p in leak)
    mute = _template(**missing, follow_ups=["Yes."], phrasings=["Cancel a meeting."])
    silent = _problems({"templates": [mute]})
    assert any("follow-up must give the missing 'event_id'" in p for p in silent)


def test_environment_checks_name_unknown_tools_arguments_tables_and_providers():
    templates = parse_templates({"templates": [
        _template(id="tool", calls=[{"name": "delete_event", "arguments": {}}]),
        _template(id="arg", calls=[{"name": "cancel_event",
                                    "arguments": {"event_id": "{e.id}", "force": True}}]),
        _template(id="table", slots={"e": {"from_state": "meetings"}}),
        _template(id="prov", slots={"e": {"provider": "nowhere"}}),
    ]}, source="user.yaml")  # fmt: skip
    with pytest.raises(TemplateError) as info:
        check_templates(templates, get_suite("calendar").create_environment())
    text = str(info.value)
    assert "user.yaml: template 'tool': field 'calls[0].name': no tool 'delete_event' in suite" in text
    assert "cancel_event has no argument 'force'" in text
    assert "no state table 'meetings'" in text and "no provider 'nowhere'" in text


def test_a_template_that_never_produces_a_working_task_is_reported():
    templates = parse_templates({"templates": [_template(
        id="wrong_expectation", kind="error",
        calls=[{"name": "cancel_event", "arguments": {"event_id": "{e.id}"}, "expect_error": True}],
    )]})  # fmt: skip
    with pytest.raises(TemplateError, match="template 'wrong_expectation'.*did not fail"):
        render_tasks("calendar", n=1, templates=templates)


def test_the_published_schema_is_a_valid_json_schema():
    schema = template_file_schema()
    assert schema["$defs"]["template"]["properties"]["kind"]["enum"] == list(TASK_KINDS)
    assert validation_errors(schema, {"templates": [_template()]}) == []


def test_error_results_can_be_quoted_in_facts():
    templates = parse_templates({"templates": [{
        "id": "bad_zone", "kind": "error", "phrasings": ["Book it in Mars time."],
        "calls": [{"name": "create_event", "expect_error": True, "arguments": {
            "title": "Launch", "start": "2026-03-20T10:00", "end": "2026-03-20T11:00",
            "timezone": "Mars/Olympus", "attendees": ["alice.nguyen@example.com"]}}],
        "answer_facts": ["{$0.error}"],
    }]})  # fmt: skip
    (task,) = render_tasks("calendar", n=1, templates=templates)
    assert task.answer_facts[0].startswith("unknown time zone 'Mars/Olympus'")
    assert task.gold_calls[0].expect_error


def test_a_batch_avoids_repeating_a_task_while_the_template_has_fresh_ones():
    tasks = render_tasks("calculator", n=30, seed=0, kinds=["no_tool"])
    prompts = [t.turns[0] for t in tasks]
    assert len(set(prompts[:5])) == 5  # six phrasings: the first five tasks are all different
    assert len(set(prompts)) == 6  # then repeats are allowed
