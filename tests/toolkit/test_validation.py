"""The validation stages, on hand-made good and bad records, and replay on real Python and MCP tools."""

from __future__ import annotations

import copy
import json
import sys
from pathlib import Path

import anyio
import pytest

from tests.toolkit.data.ledger_tools import create_toolset
from toolkit.readers import read_records
from toolkit.records import Message, Trajectory
from toolkit.sources import open_registry
from toolkit.specs import ToolResult
from toolkit.toolsets import ToolRegistry
from toolkit.validation import (
    STATIC_STAGES,
    check_record,
    compare_result,
    json_shape,
    nondeterminism_rule,
    same_shape,
    validate_file,
    validate_records,
    validate_trajectory,
)

DATA = Path(__file__).parent / "data"
LEDGER = "py:tests.toolkit.data.ledger_tools"
TIME_SERVER = f"stdio:{sys.executable} -m mcp_server_time"


def _records(name: str) -> dict[str, dict]:
    return {r["id"]: r for r in (json.loads(x) for x in (DATA / name).read_text().splitlines())}


GOOD = _records("good.jsonl")


def _ledger_registry() -> ToolRegistry:
    return ToolRegistry([create_toolset()])


def _reasons(report, record_id: str) -> dict[str, list[str]]:
    rec = next(r for r in report.records if r.id == record_id)
    return {o.stage: o.reasons for o in rec.stages if not o.passed}


def test_good_records_pass_every_static_stage():
    report = validate_file(DATA / "good.jsonl")
    assert report.ok and report.passed == 6
    assert [s.stage for s in report.stage_stats()] == list(STATIC_STAGES)
    assert all(s.checked == 6 and s.failed == 0 for s in report.stage_stats())


BAD_CASES = [  # record id in bad.jsonl, the stage that must fail, the start of the reason it must give
    ("dangling-call", "structure",
     "dangling tool call: message 1: call 'c2' to 'deposit' is not answered"),
    ("unknown-call-id", "structure",
     "unknown call id: message 3: tool_call_id 'c9' is not the id of any call"),
    ("wrong-argument-type", "arguments",
     "invalid arguments: message 2, call 'c1' to 'deposit': amount: 'five' is not of type 'integer'"),
    ("missing-required-argument", "arguments",
     "invalid arguments: message 2, call 'c1' to 'deposit': (root): 'account' is a required property"),
    ("unknown-tool", "arguments",
     "unknown tool: message 2, call 'c1': no tool named 'withdraw'"),
    ("subagent-key-not-a-call", "structure",
     "unknown subagent key: conversation: subagents key 'ghost' is not the id of a call"),
    ("too-deep", "structure",
     "subagent too deep: subagent d1/d1/d1/d1 is nested 4 levels deep; the limit is 3"),
    ("child-used-ungranted-tool", "subagents",
     "ungranted tool: subagent d1: the child called 'deposit', which delegate call 'd1' did not grant "
     "(granted: balance)"),
    ("child-answered-without-tools", "subagents",
     "ungrounded subagent: subagent d1: the child answered without calling any tool"),
    ("parent-content-differs", "subagents",
     "subagent answer mismatch: subagent d1: the parent's result for 'd1' is 'Bob has 30.' but the child's "
     "final answer is \"Bob's balance is now 3.\""),
    ("result-breaks-output-schema", "results",
     "invalid result: message 3: result of call 'c1' to 'deposit' does not match its output schema: balance: "
     "'five' is not of type 'integer'"),
    ("ends-with-tool-message", "structure",
     "bad role order: message 3: the conversation ends with a tool message"),
    ("answered-twice", "structure",
     "call answered twice: message 4: call 'c1' was already answered in message 3"),
    ("role-not-allowed", "record",
     "schema violation: messages/1/role: 'bot' is not one of"),
    ("tool-without-call", "structure",
     "tool message without call: message 1: no assistant tool call precedes"),
    ("duplicate-call-id", "structure",
     "duplicate call id: message 1: call id 'c1' was already used"),
]


@pytest.fixture(scope="module")
def bad_report():
    return validate_file(DATA / "bad.jsonl")


@pytest.mark.parametrize(("record_id", "stage", "expected"), BAD_CASES, ids=[c[0] for c in BAD_CASES])
def test_each_hand_made_bad_record_fails_at_its_stage_with_its_reason(bad_report, record_id, stage, expected):
    failed = _reasons(bad_report, record_id)
    assert stage in failed, failed
    assert any(r.startswith(expected) for r in failed[stage]), failed[stage]


def test_every_bad_record_fails_and_keeps_its_line_number(bad_report):
    assert bad_report.failed == bad_report.total == len(BAD_CASES)
    lines = {r.id: r.line for r in bad_report.records}
    ids = [json.loads(x)["id"] for x in (DATA / "bad.jsonl").read_text().splitlines()]
    assert [lines[i] for i in ids] == list(range(1, len(ids) + 1))


def test_stages_after_a_failed_record_stage_are_skipped_and_the_others_all_run(bad_report):
    schema_fail = next(r for r in bad_report.records if r.id == "role-not-allowed")
    assert [o.stage for o in schema_fail.stages] == ["record"]
    dangling = next(r for r in bad_report.records if r.id == "dangling-call")
    assert [o.stage for o in dangling.stages] == list(STATIC_STAGES)


def test_schema_violations_in_tool_lists_are_reported_with_their_path_in_parent_and_child():
    rec = copy.deepcopy(GOOD["delegate"])
    rec["tools"][1]["input_schema"] = "not a schema"
    rec["subagents"]["d1"]["tools"][0]["deterministic"] = "no"
    for _ in range(2):  # the second time the tool lists' verdicts come from the cache
        failed = _reasons(validate_records([rec]), "delegate")
        assert failed == {"record": [
            "schema violation: subagents/d1/tools/0/deterministic: 'no' is not of type 'boolean'",
            "schema violation: tools/1/input_schema: 'not a schema' is not of type 'object'",
        ]}


def test_a_value_that_is_not_a_record_fails_the_record_stage():
    report = validate_records([["not", "a", "record"], "text"])
    assert [r.failed_stages for r in report.records] == [["record"], ["record"]]
    assert report.records[0].stages[0].reasons == [
        "schema violation: (root): ['not', 'a', 'record'] is not of type 'object'"
    ]


def test_the_depth_limit_is_configurable():
    report = validate_records([_records("bad.jsonl")["too-deep"]], max_depth=4)
    assert _reasons(report, "too-deep") == {}


def test_a_subagent_is_checked_against_its_own_tools():
    rec = copy.deepcopy(GOOD["delegate"])
    child = rec["subagents"]["d1"]
    child["tools"] = [t for t in child["tools"] if t["name"] != "deposit"]
    rec["messages"][2]["tool_calls"][0]["function"]["arguments"]["tools"] = ["balance"]
    failed = _reasons(validate_records([rec]), "delegate")
    assert failed["arguments"] == [
        "unknown tool: subagent d1, message 2, call 'k1': no tool named 'deposit' in tools "
        "(available: balance)"
    ]


def test_an_invalid_tool_schema_is_reported_not_raised():
    rec = copy.deepcopy(GOOD["single-deposit"])
    rec["tools"][0]["input_schema"] = {"type": "object", "properties": {"amount": {"type": "integr"}}}
    failed = _reasons(validate_records([rec]), "single-deposit")
    assert failed["arguments"][0].startswith(
        "invalid tool schema: conversation: tool 'deposit' has an invalid input schema"
    )


def test_arguments_are_checked_with_formats():
    rec = copy.deepcopy(GOOD["single-deposit"])
    rec["tools"][0]["input_schema"]["properties"]["account"]["format"] = "email"
    failed = _reasons(validate_records([rec]), "single-deposit")
    assert failed["arguments"] == [
        "invalid arguments: message 2, call 'c1' to 'deposit': account: 'alice' is not a 'email'"
    ]


def test_tool_schemas_with_refs_are_checked_including_recursive_ones():
    rec = copy.deepcopy(GOOD["single-deposit"])
    rec["tools"][0]["input_schema"] = {
        "type": "object",
        "properties": {"account": {"$ref": "#/$defs/name"}, "amount": {"type": "integer"},
                       "tree": {"$ref": "#/$defs/n"}},
        "$defs": {"name": {"type": "string", "minLength": 3},
                  "n": {"type": "object",
                        "properties": {"kids": {"type": "array", "items": {"$ref": "#/$defs/n"}}}}},
    }
    rec["messages"][2]["tool_calls"][0]["function"]["arguments"] = {"account": "al", "amount": 5,
                                                                    "tree": {"kids": [{"kids": 3}]}}
    failed = _reasons(validate_records([rec]), "single-deposit")["arguments"][0]
    assert "account: 'al' is too short" in failed and "tree/kids/0/kids: 3 is not of type 'array'" in failed


def test_a_schema_whose_refs_would_expand_exponentially_is_checked_without_expanding_it():
    defs = {f"d{i}": {"type": "array", "prefixItems": [{"$ref": f"#/$defs/d{i + 1}"}] * 2} for i in range(40)}
    defs["d40"] = {"type": "string"}
    rec = copy.deepcopy(GOOD["single-deposit"])
    rec["tools"][0]["input_schema"] = {"type": "object", "properties": {"account": {"$ref": "#/$defs/d0"}},
                                       "$defs": defs}
    failed = _reasons(validate_records([rec]), "single-deposit")["arguments"][0]
    assert failed.endswith("account: 'alice' is not of type 'array'")


def test_an_error_result_is_exempt_from_the_output_schema():
    assert validate_records([GOOD["error-recovery"]]).ok  # content is plain text and marked is_error
    rec = copy.deepcopy(GOOD["single-deposit"])
    rec["messages"][3].update(content='{"oops": 1}', is_error=True)
    assert "results" not in _reasons(validate_records([rec]), "single-deposit")


def test_a_record_without_tools_is_checked_against_fallback_tools():
    rec = copy.deepcopy(_records("bad.jsonl")["wrong-argument-type"])
    rec["tools"] = []
    specs = {t["name"]: t for t in GOOD["single-deposit"]["tools"]}
    from toolkit.specs import ToolSpec

    fallback = {k: ToolSpec.model_validate(v) for k, v in specs.items()}
    assert "the conversation lists no tools" in _reasons(validate_records([rec]), rec["id"])["arguments"][0]
    failed = _reasons(validate_records([rec], fallback_tools=fallback), rec["id"])
    assert failed["arguments"][0].startswith("invalid arguments:")


def test_check_record_accepts_a_trajectory_and_its_outcome_can_be_stored_on_the_record():
    traj = Trajectory.model_validate(GOOD["parallel-then-balance"])
    parsed, outcomes = check_record(traj)
    assert parsed is traj and all(o.passed for o in outcomes)
    report = validate_records([traj])
    stored = traj.model_copy(update={"validation": report.records[0].validation()})
    assert validate_records([stored]).ok  # a record carrying its own validation is still a valid record


# ---------------------------------------------------------------------------------------------------- replay


def test_replay_passes_for_recorded_results_on_fresh_python_tools():
    report = validate_file(DATA / "good.jsonl", sources=[LEDGER])
    assert report.ok
    assert all(any(o.stage == "replay" and o.passed for o in r.stages) for r in report.records)


def test_replay_fails_for_a_tampered_result_and_names_the_call():
    report = validate_file(DATA / "tampered.jsonl", sources=[LEDGER])
    assert _reasons(report, "tampered-balance")["replay"] == [
        "replay mismatch: message 5: call 'c3' to 'balance': at (root): recorded 13 but replay gave 12 "
        "(if 'balance' legitimately varies between calls, mark it non-deterministic: --nondeterministic "
        "balance)"
    ]


def test_each_trajectory_replays_on_its_own_fresh_tool_state():
    # Both deposit 5 into alice's account and recorded a balance of 5: shared state would give 10 the second
    # time.
    report = validate_records([GOOD["single-deposit"]] * 3, registry_factory=_ledger_registry, concurrency=1)
    assert report.ok and report.passed == 3


def test_a_non_deterministic_tool_is_compared_by_shape_not_value():
    rec = GOOD["ticket"]  # recorded ticket id 0f3a9c21b7de; replay makes a new random one
    assert validate_records([rec], registry_factory=_ledger_registry).ok
    wrong = copy.deepcopy(rec)
    wrong["messages"][2]["content"] = '{"ticket": 7, "subject": "missing deposit"}'
    failed = _reasons(validate_records([wrong], registry_factory=_ledger_registry), "ticket")
    assert failed["replay"] == [
        "replay mismatch: message 2: call 't1' to 'open_ticket': shape differs at ticket (non-deterministic "
        "tool, compared by shape): recorded a number but replay gave a string"
    ]


def test_an_error_result_must_replay_as_an_error():
    rec = copy.deepcopy(GOOD["error-recovery"])
    rec["messages"][2]["is_error"] = False
    failed = _reasons(validate_records([rec], registry_factory=_ledger_registry), "error-recovery")
    assert failed["replay"][0].startswith(
        "replay mismatch: message 2: call 'c1' to 'balance': recorded a success but replay gave an error"
    )


def test_calls_whose_failure_was_injected_at_synthesis_are_not_replayed():
    rec = copy.deepcopy(GOOD["single-deposit"])
    rec["messages"][3:4] = [
        {"role": "tool", "tool_call_id": "c1", "content": "Error: the tool timed out.", "is_error": True},
        {"role": "assistant", "tool_calls": [{
            "id": "c2", "type": "function",
            "function": {"name": "deposit", "arguments": {"account": "alice", "amount": 5}},
        }]},
        {"role": "tool", "tool_call_id": "c2", "content": '{"account":"alice","balance":5}'},
    ]
    failed = _reasons(validate_records([rec], registry_factory=_ledger_registry), "single-deposit")
    assert failed["replay"][0].startswith(
        "replay mismatch: message 3: call 'c1' to 'deposit': recorded an error"
    )
    rec["metadata"] = {"injected_failures": {"c1": "timeout"}}  # the synthesizer's note: c1 never ran
    assert validate_records([rec], registry_factory=_ledger_registry).ok


def test_a_subagent_replays_its_calls_in_place_of_the_delegate_call():
    rec = copy.deepcopy(GOOD["delegate"])
    rec["subagents"]["d1"]["messages"][3]["content"] = '{"account": "bob", "balance": 4}'
    failed = _reasons(validate_records([rec], registry_factory=_ledger_registry), "delegate")
    assert failed["replay"][0].startswith(
        "replay mismatch: subagent d1, message 3: call 'k1' to 'deposit': at balance"
    )


def test_validate_trajectory_uses_an_already_open_registry():
    good = Trajectory.model_validate(GOOD["parallel-then-balance"])
    tampered = Trajectory.model_validate(_records("tampered.jsonl")["tampered-balance"])

    async def main():
        with anyio.fail_after(30):
            async with _ledger_registry() as registry:
                ok = await validate_trajectory(good, registry=registry)
            async with _ledger_registry() as registry:
                bad = await validate_trajectory(tampered, registry=registry)
        return ok, bad

    ok, bad = anyio.run(main)
    assert ok.passed and [s.stage for s in ok.stages][-1] == "replay"
    assert not bad.passed and bad.stages[-1].reasons[0].startswith("replay mismatch: message 5: call 'c3'")


def test_static_validation_runs_inside_an_event_loop_without_starting_another():
    async def main():
        return validate_records([GOOD["no-tool"]])

    assert anyio.run(main).ok


def test_replaying_from_inside_an_event_loop_asks_for_the_async_api():
    from toolkit.errors import UserError

    async def main():
        with pytest.raises(UserError, match="use `await avalidate_records"):
            validate_records([GOOD["no-tool"]], registry_factory=_ledger_registry)

    anyio.run(main)


def test_compare_result_rules():
    rec = Message(role="tool", tool_call_id="c", content='{"a": 1, "b": [1, 2]}')
    same_json = ToolResult(content='{"b":[1,2],"a":1}')
    assert compare_result(rec, same_json, deterministic=True) is None  # key order and spacing do not matter
    other = ToolResult(content='{"a": 2.5, "b": [3]}')
    assert compare_result(rec, other, deterministic=True) == "at a: recorded 1 but replay gave 2.5"
    assert compare_result(rec, other, deterministic=False) is None  # same types and keys
    text = Message(role="tool", tool_call_id="c", content="it is 9:00")
    assert compare_result(text, ToolResult(content="it is 10:00"), deterministic=False) is None
    assert compare_result(text, ToolResult(content="{}"), deterministic=False).startswith("recorded text")


def test_json_shape_and_nondeterminism_patterns():
    assert json_shape({"x": 1, "y": [True]}) == json_shape({"x": 2.5, "y": [False, True]})
    assert json_shape({"x": 1}) != json_shape({"x": "1"})
    # arrays: items compared by shape, lengths free, an empty array matches any array
    assert same_shape({"hits": [{"id": 1}]}, {"hits": [{"id": 7}, {"id": 9.5}]})
    assert same_shape({"hits": []}, {"hits": [{"id": 7}]})
    assert not same_shape({"hits": [{"id": 1}]}, {"hits": [{"id": 1}, {"name": "x"}]})
    assert not same_shape([[1]], [["a"]]) and not same_shape({"a": None}, {"a": 1})
    rule = nondeterminism_rule(["get_current_*", "roll"])
    assert rule("get_current_time") and rule("roll") and not rule("roller") and not rule("convert_time")


# ------------------------------------------------------------------------------ third-party MCP server
# (stdio)


@pytest.mark.slow
def test_replay_over_mcp_server_time_passes_when_its_time_tool_is_marked_nondeterministic():
    report = validate_file(DATA / "time.jsonl", sources=[TIME_SERVER], nondeterministic=["get_current_time"])
    assert report.ok and report.passed == 3


@pytest.mark.slow
def test_replay_over_mcp_server_time_fails_on_the_changed_time_when_not_marked():
    report = validate_file(DATA / "time.jsonl", sources=[TIME_SERVER])
    failed = _reasons(report, "time-paris")["replay"][0]
    assert failed.startswith(
        "replay mismatch: message 2: call 'c1' to 'get_current_time': at datetime: recorded "
        "'2025-03-14T09:26:53+01:00' but replay gave"
    )
    assert failed.endswith("--nondeterministic get_current_time)")
    assert _reasons(report, "time-bad-zone") == {}  # the error text is the same every time


@pytest.mark.slow
def test_replay_over_mcp_server_time_catches_a_result_of_the_wrong_shape():
    report = validate_file(DATA / "time_wrong_shape.jsonl", sources=[TIME_SERVER],
                           nondeterministic=["get_current_time"])
    assert _reasons(report, "time-missing-keys")["replay"] == [
        "replay mismatch: message 2: call 'c1' to 'get_current_time': shape differs at (root) "
        "(non-deterministic tool, compared by shape): replay adds key(s) day_of_week, is_dst"
    ]


def test_worker_processes_give_the_same_report_as_one_process(tmp_path):
    big = tmp_path / "mixed.jsonl"
    parts = [(DATA / n).read_text() for n in ("good.jsonl", "bad.jsonl", "tampered.jsonl")]
    big.write_text("".join(parts * 3) + (DATA / "truncated.jsonl").read_text())  # ends with a torn line
    serial = validate_file(big, sources=[LEDGER])
    parallel = validate_file(big, sources=[LEDGER], workers=2)
    assert parallel.to_dict() == serial.to_dict()
    assert (serial.total, serial.passed) == (3 * (6 + 16 + 1) + 3, 3 * 6 + 1)
    assert serial.records[-1].line == 72 and serial.records[-1].failed_stages == ["record"]


def test_read_items_and_trajectories_mix_in_one_batch():
    items = list(read_records(DATA / "truncated.jsonl"))
    report = validate_records([*items, Trajectory.model_validate(GOOD["no-tool"])])
    assert [(r.line, r.passed) for r in report.records] == [(1, True), (2, False), (3, False), (None, True)]


def test_sources_that_cannot_open_are_a_usage_error():
    from toolkit.errors import UserError

    with pytest.raises(UserError, match="cannot import 'no_such_tools_module'"):
        validate_file(DATA / "good.jsonl", sources=["py:no_such_tools_module"])


def test_registry_factory_can_be_built_from_source_strings():
    report = validate_records([GOOD["single-deposit"]], registry_factory=lambda: open_registry([LEDGER]))
    assert report.ok


def test_a_rejected_wrong_call_kept_out_of_training_is_not_an_argument_error() -> None:
    from toolkit.records import FunctionCall, Message, ToolCallRecord, Trajectory
    from toolkit.specs import ToolSpec
    from toolkit.validation import check_record

    spec = ToolSpec(name="f", input_schema={"type": "object", "properties": {"n": {"type": "integer"}},
                                             "required": ["n"]})

    def traj(train: bool | None, is_error: bool | None) -> Trajectory:
        wrong = ToolCallRecord(id="c1", function=FunctionCall(name="f", arguments={"n": "two"}))
        right = ToolCallRecord(id="c2", function=FunctionCall(name="f", arguments={"n": 2}))
        return Trajectory(id="t", tools=[spec], messages=[
            Message(role="user", content="f of two"),
            Message(role="assistant", tool_calls=[wrong], train=train),
            Message(role="tool", tool_call_id="c1", name="f", content="n: 'two' is not an integer", is_error=is_error),
            Message(role="assistant", tool_calls=[right]),
            Message(role="tool", tool_call_id="c2", name="f", content="4"),
            Message(role="assistant", content="4"),
        ])

    def arguments_ok(t: Trajectory) -> bool:
        _, stages = check_record(t)
        return next(s for s in stages if s.stage == "arguments").passed

    assert arguments_ok(traj(train=False, is_error=True))
    assert not arguments_ok(traj(train=None, is_error=True))  # a trained wrong call is still a defect
    assert not arguments_ok(traj(train=False, is_error=None))  # and so is one the tool accepted
