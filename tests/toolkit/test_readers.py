"""Reading datasets: our records, TRL rows and OpenAI fine-tuning rows, with bad lines reported by number."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from toolkit.errors import UserError
from toolkit.readers import load_trajectories, parse_line, read_records

DATA = Path(__file__).parent / "data"


def _items(name: str):
    return list(read_records(DATA / name))


def test_toolgym_records_are_kept_exactly_as_written():
    items = _items("good.jsonl")
    raw = [json.loads(line) for line in (DATA / "good.jsonl").read_text().splitlines()]
    assert [i.line for i in items] == [1, 2, 3, 4, 5, 6]
    assert all(i.format == "toolgym" and i.ok for i in items)
    assert [i.record for i in items] == raw


def test_trl_rows_get_generated_ids_and_tool_messages_paired_with_their_calls_in_order():
    first, second, third = (i.to_trajectory() for i in _items("trl.jsonl"))
    assert first.provenance.generator == "import:trl" and first.provenance.source_line == 1
    call = first.messages[2].tool_calls[0]
    assert call.function.arguments == {"account": "alice", "amount": 5}
    assert first.messages[3].tool_call_id == call.id
    # two calls to the same tool in one turn: answered in order
    calls = second.messages[1].tool_calls
    assert [m.tool_call_id for m in second.messages[2:4]] == [calls[0].id, calls[1].id]
    assert len({c.id for c in calls}) == 2
    # `tools` given as a JSON string becomes ToolSpecs
    assert [t.name for t in second.tools] == ["deposit"]
    assert second.tools[0].input_schema["required"] == ["account", "amount"]
    # prompt + completion rows are one conversation
    assert [m.role for m in third.messages] == ["user", "assistant", "tool", "assistant"]


def test_openai_rows_parse_string_arguments_and_keep_their_call_ids():
    items = _items("openai.jsonl")
    traj = items[0].to_trajectory()
    assert items[0].format == "openai"
    call = traj.messages[2].tool_calls[0]
    assert (call.id, call.function.arguments) == ("call_abc", {"account": "alice", "amount": 5})
    assert traj.messages[3].tool_call_id == "call_abc"
    assert traj.metadata == {"parallel_tool_calls": False}
    assert traj.messages[4].train is True  # the fine-tuning `weight: 1`
    # an explicit id that answers nothing is kept as written, so validation can catch it
    assert items[3].to_trajectory().messages[2].tool_call_id == "call_z"


def _conversation(traj):
    """Roles, texts, calls and which call each result answers (by position, since ids may be regenerated).
    Training formats have no error flag, so ``is_error`` is not compared."""
    order = {tc.id: n for n, tc in enumerate(tc for m in traj.messages for tc in m.tool_calls or [])}
    return [
        (m.role, m.content or None, [(tc.function.name, tc.function.arguments) for tc in m.tool_calls or []],
         order.get(m.tool_call_id))
        for m in traj.messages
    ]


@pytest.mark.parametrize("fmt", ["trl", "openai"])
def test_our_own_trl_and_openai_exports_read_back_to_the_same_conversations(fmt):
    from toolkit.exporters import export_openai, export_trl
    from toolkit.records import Trajectory
    from toolkit.validation import validate_records

    export = export_trl if fmt == "trl" else export_openai
    for line in (DATA / "good.jsonl").read_text().splitlines():
        original = Trajectory.model_validate_json(line)
        agents = [original, *original.subagents.values()]
        rows = export(original)
        items = [parse_line(json.dumps(row), n) for n, row in enumerate(rows, 1)]
        back = [item.to_trajectory() for item in items]
        assert [_conversation(t) for t in back] == [_conversation(t) for t in agents]
        assert [[t.name for t in b.tools] for b in back] == [[t.name for t in a.tools] for a in agents]
        assert validate_records(items).ok


def test_openai_weight_and_our_train_flag_both_become_the_train_flag():
    row = {"messages": [{"role": "user", "content": "Hi"},
                        {"role": "assistant", "content": "Wrong.", "weight": 0},
                        {"role": "user", "content": "Again"},
                        {"role": "assistant", "content": "Right.", "train": True}]}
    traj = parse_line(json.dumps(row), 1).to_trajectory()
    assert [m.train for m in traj.messages] == [None, False, None, True]


def test_message_keys_a_record_cannot_hold_are_dropped_and_listed():
    row = {"messages": [{"role": "user", "content": "Hi"},
                        {"role": "assistant", "content": "Hello.", "reasoning_content": "greet back"}]}
    traj = parse_line(json.dumps(row), 1).to_trajectory()
    assert traj.provenance.extra["dropped"] == ["message key 'reasoning_content'"]


def test_legacy_openai_function_call_rows_become_a_linked_call_and_result():
    traj = _items("openai.jsonl")[1].to_trajectory()
    call = traj.messages[1].tool_calls[0]
    assert (call.function.name, call.function.arguments) == ("balance", {"account": "alice"})
    assert traj.messages[2].role == "tool" and traj.messages[2].tool_call_id == call.id
    assert [t.name for t in traj.tools] == ["balance"]


def test_arguments_that_are_not_json_make_that_line_fail_with_its_number_and_the_rest_is_still_read():
    items = _items("openai.jsonl")
    assert [i.ok for i in items] == [True, True, False, True]
    assert items[2].line == 3
    assert items[2].error.startswith(
        "bad arguments: message 1 call 0 (deposit): arguments are not valid JSON"
    )


def test_a_torn_last_line_is_reported_as_truncated_and_earlier_lines_are_still_read(tmp_path):
    items = _items("truncated.jsonl")
    assert [(i.line, i.ok) for i in items] == [(1, True), (2, False), (3, False)]
    assert items[1].error.startswith("bad JSON: ")
    assert items[2].error.startswith("truncated line: the last line has no newline")


def test_blank_lines_are_skipped_without_shifting_line_numbers(tmp_path):
    good = (DATA / "good.jsonl").read_text().splitlines()
    path = tmp_path / "gaps.jsonl"
    path.write_text(good[0] + "\n\n   \n" + good[1] + "\n\n")
    assert [i.line for i in read_records(path)] == [1, 4]


def test_a_line_that_is_not_utf8_is_reported_and_the_next_line_is_read(tmp_path):
    good = (DATA / "good.jsonl").read_bytes().splitlines()[0]
    path = tmp_path / "latin1.jsonl"
    path.write_bytes(b'{"messages": "caf\xe9"}\n' + good + b"\n")
    first, second = read_records(path)
    assert first.error.startswith("bad encoding: ") and second.ok


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ('[1, 2]', "bad shape: a row must be a JSON object, not an array"),
        ('{"query": "x", "answers": []}', "unknown row shape: expected a ToolGym record"),
        ('{"schema_version": "toolgym.trajectory/9", "id": "x", "messages": []}',
         "unsupported schema version"),
        ('{"messages": [{"role": "user", "content": NaN}]}', "bad JSON: non-standard JSON constant NaN"),
        ('{"messages": [{"role": "narrator", "content": "x"}]}',
         "bad message: message 0 has role 'narrator'"),
        ('{"messages": [{"role": "user", "content": [{"type": "image_url"}]}]}',
         "bad content: message 0 has a 'image_url' content part"),
        ('{"messages": [], "tools": "[{"}', "bad tools: 'tools' is a string but not valid JSON"),
        ('{"messages": [{"role": "assistant", "tool_calls": '
         '[{"function": {"name": "f", "arguments": "[1]"}}]}]}',
         "bad arguments: message 0 call 0 (f): arguments must be a JSON object, not an array"),
    ],
)
def test_rows_of_the_wrong_shape_are_reported_with_the_problem(line, expected):
    item = parse_line(line, 7)
    assert item.line == 7 and item.record is None
    assert item.error.startswith(expected), item.error


def test_text_content_parts_are_joined_and_developer_messages_become_system_messages():
    row = {"messages": [{"role": "developer", "content": "Be brief."},
                        {"role": "user",
                         "content": [{"type": "text", "text": "Hi "}, {"type": "text", "text": "you"}]},
                        {"role": "assistant", "content": "Hello."}]}
    traj = parse_line(json.dumps(row), 1).to_trajectory()
    assert [(m.role, m.content) for m in traj.messages] == [("system", "Be brief."), ("user", "Hi you"),
                                                            ("assistant", "Hello.")]


def test_other_row_fields_are_kept_in_the_record_metadata():
    row = {"messages": [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello."}],
           "category": "smalltalk", "source": {"dataset": "x", "row": 12}}
    traj = parse_line(json.dumps(row), 1).to_trajectory()
    assert traj.metadata == {"category": "smalltalk", "source": {"dataset": "x", "row": 12}}


def test_a_missing_file_is_a_user_error_raised_before_iteration(tmp_path):
    with pytest.raises(UserError, match="file not found: .*nope.jsonl"):
        read_records(tmp_path / "nope.jsonl")


def test_load_trajectories_splits_readable_records_from_bad_lines():
    good, bad = load_trajectories(DATA / "truncated.jsonl")
    assert [t.id for t in good] == ["single-deposit"]
    assert [b.line for b in bad] == [2, 3]
