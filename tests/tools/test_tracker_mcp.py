"""The `tracker` suite: one implementation served in-process and as a real MCP server over stdio and HTTP."""

from __future__ import annotations

import subprocess
import sys
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import anyio
import pytest

from tests.toolkit.mcp_servers.helpers import run_within, child_processes
from toolkit.environment import get_suite
from toolkit.jsonschema_utils import validation_errors
from toolkit.mcp_tools import MCPToolset
from toolkit.template_rendering import render_tasks
from toolkit.templates import load_templates
from toolkit.toolsets import CallLimits, Toolset
from tools.tracker import TOOL_NAMES, TrackerEnvironment
from tools.tracker import tools as tracker_tools

REPO = Path(__file__).resolve().parents[2]
LIMITS = CallLimits(timeout=20.0)


def run(fn: Callable[[], Awaitable[None]], *, within: float = 60.0) -> None:
    run_within(fn, within)


@pytest.fixture(autouse=True)
def _no_leftover_server_processes() -> Any:
    yield
    assert [pid for pid, _state in child_processes()] == [], "a test left a server process (or zombie) behind"


@pytest.fixture
def env() -> TrackerEnvironment:
    return TrackerEnvironment()


def ok(env: TrackerEnvironment, name: str, /, **arguments: Any) -> Any:
    result = env.call(name, arguments)
    assert not result.is_error, result.content
    return result.structured


def refused(env: TrackerEnvironment, name: str, /, **arguments: Any) -> str:
    before = env.snapshot()
    result = env.call(name, arguments)
    assert result.is_error, f"{name}({arguments}) should have been refused: {result.content[:200]}"
    assert env.snapshot() == before, "a refused call must not change the state"
    return result.content


# ---- tools in-process ----------------------------------------------------------------------------------------------


def test_projects_list_their_members_and_open_issue_counts(env):
    projects = {p["key"]: p for p in ok(env, "list_projects")["projects"]}
    assert set(projects) == {"WEB", "API", "OPS"}
    assert projects["WEB"]["members"] == ["alice@acme.dev", "bob@acme.dev", "dan@acme.dev"]
    assert projects["WEB"]["open_issues"] == 4  # WEB-4 is done


def test_search_combines_filters_and_sorts_most_urgent_first(env):
    found = ok(env, "search_issues", project="API")
    assert [i["id"] for i in found["issues"]] == ["API-1", "API-3", "API-4", "API-2"]
    assert [i["id"] for i in ok(env, "search_issues", unassigned=True)["issues"]] == ["API-3", "OPS-3", "WEB-2", "WEB-5"]
    assert [i["id"] for i in ok(env, "search_issues", label="bug", status="in_progress")["issues"]] == ["API-1", "WEB-1"]
    assert [i["id"] for i in ok(env, "search_issues", text="safari login")["issues"]] == ["WEB-1"]
    capped = ok(env, "search_issues", limit=2)
    assert len(capped["issues"]) == 2 and capped["total"] == 12 and capped["truncated"]


def test_search_arguments_are_validated_against_their_enums_and_bounds(env):
    assert env.call("search_issues", {"status": "closed"}).error_kind == "invalid_arguments"
    assert env.call("search_issues", {"limit": 51}).error_kind == "invalid_arguments"
    assert env.call("search_issues", {"assignee": "Bob"}).error_kind == "invalid_arguments"
    assert "not both" in refused(env, "search_issues", assignee="bob@acme.dev", unassigned=True)
    assert "projects are WEB, API, OPS" in refused(env, "search_issues", project="MOBILE")


def test_an_issue_comes_with_its_comments_and_unknown_ids_say_how_to_find_issues(env):
    issue = ok(env, "get_issue", issue_id="API-1")
    assert [c["id"] for c in issue["comments"]] == ["API-1-c1", "API-1-c2"]
    assert "search_issues" in refused(env, "get_issue", issue_id="WEB-99")
    assert "must look like 'WEB-3'" in refused(env, "get_issue", issue_id="web three")


def test_creating_an_issue_numbers_it_in_its_project_and_checks_assignee_and_date(env):
    made = ok(env, "create_issue", project="OPS", title="Disk alerts are too noisy", priority="low",
              labels=["monitoring", "monitoring"], assignee="bob@acme.dev", due_date="2025-07-01")
    assert (made["id"], made["status"], made["labels"], made["reporter"]) == (
        "OPS-4", "todo", ["monitoring"], "assistant@acme.dev")
    assert "not a member of project OPS" in refused(env, "create_issue", project="OPS", title="X y z",
                                                     assignee="alice@acme.dev")
    assert "not a real date" in refused(env, "create_issue", project="OPS", title="X y z", due_date="2025-02-30")
    assert env.call("create_issue", {"project": "OPS", "title": "ab"}).error_kind == "invalid_arguments"
    assert env.call("create_issue", {"project": "OPS", "title": "Fine", "labels": ["Bad Label"]}).error_kind == (
        "invalid_arguments")


def test_update_applies_nested_changes_and_leaves_other_fields_alone(env):
    updated = ok(env, "update_issue", issue_id="WEB-1",
                 changes={"priority": "urgent", "labels": {"add": ["regression"], "remove": ["safari"]}})
    assert (updated["priority"], updated["labels"], updated["assignee"]) == ("urgent", ["bug", "regression"],
                                                                             "bob@acme.dev")
    assert updated["updated_on"] == "2025-06-16" and updated["title"].startswith("Login page")
    assert "not on WEB-1" in refused(env, "update_issue", issue_id="WEB-1", changes={"labels": {"remove": ["ios"]}})
    assert "changes is empty" in refused(env, "update_issue", issue_id="WEB-1", changes={})
    assert env.call("update_issue", {"issue_id": "WEB-1", "changes": {"colour": "red"}}).error_kind == (
        "invalid_arguments")


def test_status_moves_follow_the_workflow_and_work_statuses_need_an_assignee(env):
    skip = refused(env, "update_issue", issue_id="WEB-2", changes={"status": "done"})
    assert "cannot move WEB-2 from todo to done" in skip and "allowed next: in_progress" in skip
    assert "no assignee" in refused(env, "update_issue", issue_id="WEB-2", changes={"status": "in_progress"})
    ok(env, "update_issue", issue_id="WEB-2", changes={"status": "in_progress", "assignee": "dan@acme.dev"})
    ok(env, "update_issue", issue_id="WEB-2", changes={"status": "in_review"})
    ok(env, "update_issue", issue_id="WEB-2", changes={"status": "done"})
    assert "reopen it first" in refused(env, "update_issue", issue_id="WEB-2", changes={"priority": "low"})
    assert ok(env, "update_issue", issue_id="WEB-2", changes={"status": "todo"})["status"] == "todo"
    assert "no assignee" in refused(env, "update_issue", issue_id="WEB-1", changes={"unassign": True})
    assert ok(env, "update_issue", issue_id="WEB-5", changes={"assignee": "bob@acme.dev"})["assignee"] == "bob@acme.dev"
    assert ok(env, "update_issue", issue_id="WEB-5", changes={"unassign": True})["assignee"] is None


def test_comments_are_numbered_per_issue_and_blank_ones_are_refused(env):
    assert ok(env, "add_comment", issue_id="API-1", body="  Fixed in 2.4.1  ") == {
        "id": "API-1-c3", "author": "assistant@acme.dev", "body": "Fixed in 2.4.1", "created_on": "2025-06-16"}
    assert "must not be blank" in refused(env, "add_comment", issue_id="API-1", body="   ")
    assert env.call("add_comment", {"issue_id": "API-1", "body": "x" * 2001}).error_kind == "invalid_arguments"


def test_comments_per_issue_and_issues_in_all_are_capped(env, monkeypatch):
    monkeypatch.setattr(tracker_tools, "MAX_COMMENTS", 3)
    ok(env, "add_comment", issue_id="API-1", body="third")
    assert "already has 3 comments, the limit" in refused(env, "add_comment", issue_id="API-1", body="fourth")
    monkeypatch.setattr(tracker_tools, "MAX_ISSUES", 13)
    ok(env, "create_issue", project="WEB", title="Thirteenth")
    assert "holds 13 issues, its limit" in refused(env, "create_issue", project="WEB", title="Fourteenth")


def test_every_tool_publishes_an_output_schema_that_its_results_satisfy(env):
    specs = {s.name: s for s in env.specs()}
    assert list(specs) == list(TOOL_NAMES) and all(s.output_schema for s in specs.values())
    calls = {"list_projects": {}, "search_issues": {"project": "WEB"}, "get_issue": {"issue_id": "WEB-1"},
             "create_issue": {"project": "WEB", "title": "New thing"}, "add_comment": {"issue_id": "WEB-1", "body": "x"},
             "update_issue": {"issue_id": "WEB-1", "changes": {"priority": "low"}}}
    for name, arguments in calls.items():
        assert validation_errors(specs[name].output_schema, ok(env, name, **arguments)) == [], name


# ---- the MCP server --------------------------------------------------------------------------------------------------


SCRIPT: list[tuple[str, dict[str, Any]]] = [
    ("list_projects", {}),
    ("search_issues", {"unassigned": True, "limit": 3}),
    ("create_issue", {"project": "API", "title": "Webhook signatures", "labels": ["security"], "priority": "high"}),
    ("update_issue", {"issue_id": "API-5", "changes": {"assignee": "frank@acme.dev", "status": "in_progress"}}),
    ("add_comment", {"issue_id": "API-5", "body": "Started."}),
    ("update_issue", {"issue_id": "OPS-3", "changes": {"status": "done"}}),  # refused by the workflow
    ("get_issue", {"issue_id": "API-5"}),
]


async def assert_serves_the_same_tools_as_the_environment(served: Toolset) -> None:
    """Same tools, equivalent schemas, and the same results for a script that writes state and hits an error."""
    reference = TrackerEnvironment()
    theirs = {s.name: s for s in await served.list_tools()}
    assert list(theirs) == list(TOOL_NAMES)
    for spec in reference.specs():
        mcp_spec = theirs[spec.name]
        assert set(mcp_spec.input_schema["properties"]) == set(spec.input_schema["properties"]), spec.name
        assert set(mcp_spec.input_schema.get("required", [])) == set(spec.input_schema.get("required", []))
        assert mcp_spec.output_schema is not None and mcp_spec.description.split("\n")[0] == spec.description.split("\n")[0]
    for name, arguments in SCRIPT:
        want = reference.call(name, arguments)
        got = await served.call_tool(name, arguments, limits=LIMITS)
        assert got.is_error == want.is_error, (name, got.content)
        if want.is_error:
            assert (got.content, got.error_kind) == (want.content, "tool_error")  # the same words, no SDK prefix
        else:
            assert got.structured == want.structured, name


def test_the_mcp_server_over_stdio_serves_the_same_tools_and_state_changes():
    async def main() -> None:
        async with MCPToolset.stdio(sys.executable, ["-m", "tools.tracker"], cwd=REPO) as served:
            await assert_serves_the_same_tools_as_the_environment(served)

    run(main)


@asynccontextmanager
async def tracker_over_http() -> AsyncIterator[str]:
    """``python -m tools.tracker --transport http --port 0`` as a subprocess; yields the URL it prints."""
    command = [sys.executable, "-m", "tools.tracker", "--transport", "http", "--port", "0"]
    process = await anyio.open_process(command, cwd=REPO, stderr=subprocess.PIPE)
    try:
        assert process.stderr is not None
        seen = b""
        with anyio.fail_after(30):
            while b"\n" not in seen:
                seen += await process.stderr.receive()
        line = seen.decode().splitlines()[0]
        assert line.startswith("tracker MCP server at http://127.0.0.1:") and line.endswith("/mcp"), line
        yield line.rsplit(" ", 1)[1]
    finally:
        process.terminate()
        with anyio.fail_after(15):
            await process.wait()
        await process.aclose()


def test_the_mcp_server_over_streamable_http_serves_the_same_tools_and_state_changes():
    async def main() -> None:
        async with tracker_over_http() as url, MCPToolset.http(url) as served:
            await assert_serves_the_same_tools_as_the_environment(served)

    run(main)


def test_state_lives_in_the_server_process_shared_by_its_clients_and_fresh_in_a_new_one():
    async def main() -> None:
        async with tracker_over_http() as url:
            async with MCPToolset.http(url) as first:
                made = await first.call_tool("create_issue", {"project": "WEB", "title": "Shared"}, limits=LIMITS)
            async with MCPToolset.http(url) as second:
                seen = await second.call_tool("get_issue", {"issue_id": "WEB-6"}, limits=LIMITS)
        async with tracker_over_http() as url, MCPToolset.http(url) as fresh:
            gone = await fresh.call_tool("get_issue", {"issue_id": "WEB-6"}, limits=LIMITS)
        assert made.structured["id"] == "WEB-6" and seen.structured["title"] == "Shared"
        assert gone.is_error and "no issue 'WEB-6'" in gone.content

    run(main)


def test_concurrent_creates_over_mcp_get_distinct_consecutive_ids(env):
    made: list[str] = []

    async def create(served: Toolset, n: int) -> None:
        result = await served.call_tool("create_issue", {"project": "OPS", "title": f"Alert {n}"}, limits=LIMITS)
        made.append(result.structured["id"])

    async def main() -> None:
        async with MCPToolset.in_process(env.mcp_server()) as served, anyio.create_task_group() as tg:
            for n in range(20):
                tg.start_soon(create, served, n)

    run(main)
    assert sorted(made, key=lambda i: int(i.split("-")[1])) == [f"OPS-{n}" for n in range(4, 24)]
    assert len([i for i in env.snapshot()["issues"] if i["project"] == "OPS"]) == 23


def test_the_environment_can_serve_its_own_state_over_mcp_and_grade_from_its_snapshot(env):
    async def main() -> None:
        async with MCPToolset.in_process(env.mcp_server()) as served:
            await served.call_tool("add_comment", {"issue_id": "OPS-1", "body": "Renewed."}, limits=LIMITS)

    run(main)
    comments = next(i for i in env.snapshot()["issues"] if i["id"] == "OPS-1")["comments"]
    assert comments == [{"id": "OPS-1-c1", "author": "assistant@acme.dev", "body": "Renewed.", "created_on": "2025-06-16"}]


# ---- environment, grading, templates -------------------------------------------------------------------------------


def test_environments_are_isolated_and_reset_restores_the_seed():
    a, b = TrackerEnvironment(), TrackerEnvironment()
    seeded = b.snapshot()
    ok(a, "add_comment", issue_id="WEB-1", body="hi")
    assert b.snapshot() == seeded and a.snapshot() != seeded
    a.reset()
    assert a.snapshot() == seeded


def test_the_grader_passes_gold_and_fails_a_wrong_argument_and_a_wrong_end_state(env):
    task = next(t for t in render_tasks("tracker", env, n=12, seed=2, kinds=["chain"])
                if t.template == "assign_most_urgent_unassigned")
    gold = [c.to_call() for c in task.gold_calls]
    answer = f"Assigned {task.answer_facts[0]}."
    assert env.grade(task, gold, answer).passed
    with_limit = [{"name": "search_issues", "arguments": {**gold[0].arguments, "limit": 1}}, gold[1]]
    assert env.grade(task, with_limit, answer).passed  # limit is a free choice (ignore_arguments)
    without_limit = [{"name": "search_issues", "arguments": {"project": gold[0].arguments["project"], "unassigned": True}}]
    assert env.grade(task, without_limit + gold[1:], answer).passed
    other = {"name": "update_issue", "arguments": {**gold[1].arguments, "changes": {"assignee": "bob@acme.dev"}}}
    verdict = env.grade(task, [gold[0], other], answer)
    assert not verdict.checks["arguments"].passed
    extra = env.grade(task, gold + [{"name": "add_comment", "arguments": {"issue_id": "WEB-1", "body": "x"}}], answer)
    assert extra.checks["arguments"].passed and not extra.checks["end_state"].passed


def test_templates_cover_every_kind_and_render_to_tasks_whose_gold_calls_replay_to_the_gold_end_state(env):
    suite = get_suite("tracker")
    templates = load_templates(suite.templates_path)
    assert {t.kind for t in templates} == {"single", "parallel", "chain", "missing_argument", "no_tool", "error"}
    specs = {s.name: s for s in env.specs()}
    tasks = render_tasks(suite, env, n=6 * max(Counter(t.kind for t in templates).values()), seed=5)
    assert {t.template for t in tasks} == {t.id for t in templates}
    for task in tasks:
        for call in task.gold_calls:
            assert validation_errors(specs[call.name].input_schema, call.arguments) == [], task.id
        env.reset(task)
        results = env.run_calls(task.gold_calls)
        assert [r.is_error for r in results] == [c.expect_error for c in task.gold_calls], task.id
        assert env.snapshot() == task.gold_end_state, task.id


def test_the_seed_redraws_priorities_and_todo_owners_but_keeps_ids_statuses_and_unassigned_issues():
    seed0, seed7 = TrackerEnvironment().snapshot()["issues"], TrackerEnvironment()
    seed7.reset(seed=7)
    varied = seed7.snapshot()["issues"]
    same = ("id", "title", "status", "labels", "comments")
    assert [{k: i[k] for k in same} for i in varied] == [{k: i[k] for k in same} for i in seed0]
    assert [i["id"] for i in varied if i["assignee"] is None] == [i["id"] for i in seed0 if i["assignee"] is None]
    assert [i["priority"] for i in varied] != [i["priority"] for i in seed0]
    again = TrackerEnvironment()
    again.reset(seed=7)
    assert again.snapshot()["issues"] == varied


def test_rendered_gold_calls_replay_to_the_same_results_against_a_stdio_server_with_the_task_seed():
    """A task rendered in-process means the same thing against `stdio:python -m tools.tracker --seed SEED`."""
    env = TrackerEnvironment()
    rendered = render_tasks("tracker", env, n=4, seed=4, kinds=["chain", "error"])
    tasks = [next(t for t in rendered if t.kind == kind) for kind in ("chain", "error")]  # one server each
    assert all(t.seed != 0 for t in tasks)

    async def main() -> None:
        for task in tasks:
            env.reset(task)
            args = ["-m", "tools.tracker", "--seed", str(task.seed)]
            async with MCPToolset.stdio(sys.executable, args, cwd=REPO) as served:
                listed = await served.call_tool("search_issues", {"limit": 50}, limits=LIMITS)
                assert listed.structured == env.call("search_issues", {"limit": 50}).structured
                for call in task.gold_calls:
                    want = env.call(call.name, call.arguments)
                    got = await served.call_tool(call.name, call.arguments, limits=LIMITS)
                    assert (got.is_error, got.structured) == (want.is_error, want.structured), task.id

    run(main, within=120)
