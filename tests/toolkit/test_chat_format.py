"""toolkit.chat_format: one rendering of trajectories and prompts for training and evaluation."""

from __future__ import annotations

import copy

import pytest

from tests.trainers.helpers import PLAIN_NO_TOOLS, SECRET_A, SECRET_B, delegating_record, record, trl_template
from toolkit.chat_format import probe_template, prompt_for, render_chat, resolve_native, to_chat
from toolkit.errors import UserError
from toolkit.presentations import get_presentation


@pytest.fixture(scope="module")
def smol():
    from trainers.models import load_tokenizer

    return load_tokenizer("bundled")


@pytest.fixture
def qwen(smol):
    tok = copy.deepcopy(smol)
    tok.chat_template = trl_template("qwen2_5")
    return tok


@pytest.fixture
def plain(smol):
    tok = copy.deepcopy(smol)
    tok.chat_template = PLAIN_NO_TOOLS
    return tok


def test_probe_finds_smollm2_renders_the_tool_role_but_no_tools_or_calls(smol):
    support = probe_template(smol)
    assert (support.tools, support.tool_calls, support.tool_role) == (False, False, True)
    assert not support.native_tools
    assert "does not render the tools= list" in support.missing()


def test_probe_finds_a_tool_calling_template_native(qwen):
    support = probe_template(qwen)
    assert support.native_tools and support.missing() == []


def test_json_on_a_template_without_tools_falls_back_to_the_prompted_system_prompt(smol):
    traj = record()
    ex = to_chat(traj, "json", tokenizer=smol)
    pres = get_presentation("json")
    assert (ex.native, ex.tools) == (False, None)
    system = pres.system_prompt(traj.tools, preamble="You are terse.")
    assert ex.messages[0] == {"role": "system", "content": system}
    calls = traj.messages[2].calls()
    assert ex.messages[2]["content"] == pres.render_assistant("Working on it.", calls, traj.tools)
    assert [m["role"] for m in ex.messages] == ["system", "user", "assistant", "tool", "tool", "assistant", "tool",
                                                "assistant"]
    assert ex.messages[3] == {"role": "tool", "content": SECRET_A, "tool_call_id": "c1", "name": "add"}
    assert ex.messages[6]["name"] == "add"  # filled in from the call when the record's tool message lacks it


@pytest.mark.parametrize("presentation", ["python", "mcp"])
def test_prompted_presentations_write_calls_as_their_own_text(smol, presentation):
    traj = record()
    ex = to_chat(traj, presentation, tokenizer=smol)
    pres = get_presentation(presentation)
    assert not ex.native
    assert pres.name in ex.messages[0]["content"] or "```" in ex.messages[0]["content"]
    assert ex.messages[5]["content"] == pres.render_calls(traj.messages[5].calls(), traj.tools)
    assert ex.assistant_calls[5] == traj.messages[5].calls()


def test_json_on_a_tool_calling_template_is_native_with_dict_arguments(qwen):
    traj = record()
    ex = to_chat(traj, "json", tokenizer=qwen)
    assert ex.native
    assert [t["function"]["name"] for t in ex.tools] == ["add", "lookup"]
    assert ex.messages[0] == {"role": "system", "content": "You are terse."}
    call = ex.messages[2]["tool_calls"][0]
    assert call["function"] == {"name": "add", "arguments": {"a": 2, "b": 3}}
    assert ex.messages[3]["tool_call_id"] == "c1"
    text = render_chat(ex, qwen)
    assert '{"name": "add", "arguments": {"a": 2, "b": 3}}' in text


def test_tool_results_become_one_user_message_when_the_template_rejects_the_tool_role(plain):
    traj = record()
    ex = to_chat(traj, "python", tokenizer=plain)
    assert not ex.tool_role
    assert [m["role"] for m in ex.messages] == ["system", "user", "assistant", "user", "assistant", "user",
                                                "assistant"]
    pres = get_presentation("python")
    assert ex.messages[3]["content"] == (
        pres.render_result(SECRET_A, name="add") + "\n" + pres.render_result(SECRET_B, name="lookup")
    )
    render_chat(ex, plain)  # the template accepts the conversation


@pytest.mark.parametrize("presentation", ["json", "python", "mcp"])
@pytest.mark.parametrize("template", ["smollm2", "qwen2_5", "plain"])
def test_prompt_for_renders_exactly_the_training_text_before_each_assistant_turn(smol, presentation, template):
    tok = copy.deepcopy(smol)
    if template == "qwen2_5":
        tok.chat_template = trl_template("qwen2_5")
    elif template == "plain":
        tok.chat_template = PLAIN_NO_TOOLS
    traj = record()
    ex = to_chat(traj, presentation, tokenizer=tok)
    full = render_chat(ex, tok)
    chat_turns = iter(sorted(ex.assistant_calls))
    for k, m in enumerate(traj.messages):
        if m.role != "assistant":
            continue
        prompt = render_chat(prompt_for(traj.messages[:k], traj.tools, presentation, tokenizer=tok), tok,
                             add_generation_prompt=True)
        assert full.startswith(prompt)
        turn = ex.messages[next(chat_turns)]
        # what follows the prompt is this assistant turn, as training renders it
        expected = (m.content or "<tool_call>") if ex.native else turn["content"]
        assert full[len(prompt):].startswith(expected)


def test_prompt_for_refuses_a_history_that_ends_with_an_assistant_turn(smol):
    traj = record()
    with pytest.raises(UserError, match="ends with an assistant turn"):
        prompt_for(traj.messages[:3], traj.tools, "json", tokenizer=smol)


def test_prompt_for_accepts_openai_wire_messages_with_string_arguments(qwen):
    traj = record()
    history = [
        {"role": "user", "content": "Add 2 and 3."},
        {"role": "assistant", "content": None, "tool_calls": [
            {"id": "x1", "type": "function", "function": {"name": "add", "arguments": '{"a": 2, "b": 3}'}}]},
        {"role": "tool", "tool_call_id": "x1", "content": "5"},
    ]
    ex = prompt_for(history, traj.tools, "json", tokenizer=qwen)
    assert ex.messages[1]["tool_calls"][0]["function"]["arguments"] == {"a": 2, "b": 3}
    assert ex.messages[2]["name"] == "add"


def test_native_true_on_a_template_without_tool_support_is_refused_with_the_reason(smol):
    with pytest.raises(UserError, match="does not render the tools= list.*prompted json fallback"):
        to_chat(record(), "json", tokenizer=smol, native=True)
    with pytest.raises(UserError, match="always prompted"):
        resolve_native("python", smol, True)


def test_without_a_tokenizer_json_is_native_as_an_openai_compatible_api_expects():
    ex = to_chat(record(), "json")
    assert ex.native and ex.tools and ex.messages[2]["tool_calls"]
    assert not to_chat(record(), "mcp").native


def test_subagent_trajectories_render_with_their_own_tools(smol):
    child = delegating_record().subagents["p1"]
    ex = to_chat(child, "python", tokenizer=smol)
    assert "def add(" in ex.messages[0]["content"] and "delegate" not in ex.messages[0]["content"]


def test_unknown_presentation_and_missing_template_are_clear_errors(smol):
    with pytest.raises(UserError, match="unknown presentation"):
        to_chat(record(), "yaml", tokenizer=smol)
    bare = copy.deepcopy(smol)
    bare.chat_template = None
    with pytest.raises(UserError, match="no chat template"):
        to_chat(record(), "json", tokenizer=bare)
