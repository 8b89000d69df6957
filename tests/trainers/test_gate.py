"""The template gate: run before training, it stops on templates and data that would teach the wrong thing."""

from __future__ import annotations

import pytest

from tests.trainers.helpers import (
    DROPS_CALLS,
    NO_STOP,
    NOT_PREFIX,
    PLAIN_NO_TOOLS,
    delegating_record,
    record,
    trl_template,
)
from toolkit.chat_format import to_chat_messages
from toolkit.errors import UserError
from toolkit.exporters import export_trl
from trainers.gate import CHECKS, check_examples, run_gate

RECORDS = [record("r1"), record("r2"), delegating_record("d1")]


@pytest.mark.parametrize("presentation", ["json", "python", "mcp"])
@pytest.mark.parametrize("template", ["smollm2", "plain", "qwen2_5"])
def test_the_gate_passes_sound_templates_for_every_presentation(smol_tokenizer, presentation, template):
    if template == "plain":
        smol_tokenizer.chat_template = PLAIN_NO_TOOLS
    elif template == "qwen2_5":
        smol_tokenizer.chat_template = trl_template("qwen2_5")
    report = run_gate(smol_tokenizer, RECORDS, presentation)
    assert report.ok, report.render()
    assert set(report.checks) == set(CHECKS)
    assert report.examples == 4  # three records plus one subagent row
    assert report.checks["round trip"].checked == 10  # every assistant turn (3 + 3 + 2 + 2 in the subagent)
    assert report.native == (presentation == "json" and template == "qwen2_5")
    report.raise_for_failures()


def test_the_gate_records_that_the_json_fallback_is_in_use(smol_tokenizer):
    report = run_gate(smol_tokenizer, RECORDS, "json")
    note = report.checks["tool rendering"].note
    assert "json fallback" in note and "does not render the tools= list" in note


def test_a_template_that_drops_tool_calls_is_stopped_with_the_checks_it_failed(smol_tokenizer):
    smol_tokenizer.chat_template = DROPS_CALLS
    report = run_gate(smol_tokenizer, RECORDS, "json")
    assert not report.ok
    failed = {c.name for c in report.failed()}
    assert {"messages rendered", "round trip"} <= failed
    with pytest.raises(UserError) as err:
        report.raise_for_failures()
    message = str(err.value)
    assert "template gate failed" in message and "round trip" in message
    assert "assistant message 2 does not parse back to [('add', {'a': 2, 'b': 3})" in message
    assert "Fix the chat template" in message


def test_a_template_whose_turns_end_without_a_special_token_fails_the_stop_token_check(smol_tokenizer):
    smol_tokenizer.chat_template = NO_STOP
    report = run_gate(smol_tokenizer, RECORDS, "python")
    assert [c.name for c in report.failed()] == ["stop token"]
    assert "never learn to stop" in report.checks["stop token"].failures[0]


def test_a_template_that_is_not_prefix_preserving_fails_the_prefix_check(smol_tokenizer):
    smol_tokenizer.chat_template = NOT_PREFIX
    report = run_gate(smol_tokenizer, RECORDS, "mcp")
    assert "prefix property" in {c.name for c in report.failed()}
    assert "not prefix-preserving" in report.checks["prefix property"].failures[0]


def test_a_generation_prompt_that_ends_mid_token_fails_the_mask_check(smol_tokenizer):
    # "ASSISTANT: " + "Working" tokenizes as "ASSISTANT:" + " Working": the trained token holds prompt text
    smol_tokenizer.chat_template = PLAIN_NO_TOOLS.replace("'ASSISTANT:\\n'", "'ASSISTANT: '")
    report = run_gate(smol_tokenizer, [record()], "python")
    assert any("straddle" in f for f in report.checks["masks"].failures)


@pytest.mark.parametrize("template", ["smollm2", "qwen2_5"])
def test_arguments_null_filled_by_plain_arrow_storage_are_caught(smol_tokenizer, template):
    from datasets import Dataset

    if template == "qwen2_5":
        smol_tokenizer.chat_template = trl_template("qwen2_5")
    traj = record()
    rows = export_trl(traj)
    # The trap of training.md §1.4: a plain Dataset unifies every arguments dict into one struct.
    stored = Dataset.from_list([{"messages": rows[0]["messages"]}])[0]["messages"]
    leaked = stored[2]["tool_calls"][0]["function"]["arguments"]
    assert leaked == {"a": 2, "b": 3, "word": None}
    example = to_chat_messages(stored, traj.tools, "json", tokenizer=smol_tokenizer)
    report = check_examples(smol_tokenizer, [("r1", traj, example)], presentation="json")
    failures = report.checks["no null leakage"].failures
    assert failures and "datasets.Json()" in failures[0]


def test_the_gate_refuses_an_empty_dataset(smol_tokenizer):
    with pytest.raises(UserError, match="no records"):
        run_gate(smol_tokenizer, [], "json")
