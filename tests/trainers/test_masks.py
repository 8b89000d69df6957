"""Loss masks: only what the assistant writes is trained, for any chat template, checked token by token."""

from __future__ import annotations

import pytest

from tests.trainers.helpers import (
    NOT_PREFIX,
    PLAIN_NO_TOOLS,
    SECRET_A,
    SECRET_B,
    delegating_record,
    record,
    trl_template,
)
from toolkit.chat_format import render_chat, to_chat
from toolkit.errors import UserError
from trainers.masks import IGNORE_INDEX, tokenize_example

STOPS = {"smollm2": "<|im_end|>", "plain": "<|endoftext|>"}


def _use(tok, template: str):
    if template == "plain":
        tok.chat_template = PLAIN_NO_TOOLS
    elif template == "qwen2_5":
        tok.chat_template = trl_template("qwen2_5")
    return tok


def _expected_labels(tok, text: str, trained_texts: list[str]) -> list[int]:
    """Labels built independently: find each assistant text in order, train the tokens inside it."""
    ranges, cursor = [], 0
    for t in trained_texts:
        pos = text.find(t, cursor)
        assert pos >= 0, f"assistant text {t!r} not in rendering"
        ranges.append((pos, pos + len(t)))
        cursor = pos + len(t)
    enc = tok(text, add_special_tokens=False, return_offsets_mapping=True)
    return [
        tid if any(a <= s and e <= b for a, b in ranges) else IGNORE_INDEX
        for tid, (s, e) in zip(enc["input_ids"], enc["offset_mapping"])
    ]


def _runs(tok, ex) -> list[str]:
    runs, cur = [], []
    for tid, label in zip(ex.input_ids, ex.labels):
        if label != IGNORE_INDEX:
            cur.append(tid)
        elif cur:
            runs.append(tok.decode(cur))
            cur = []
    if cur:
        runs.append(tok.decode(cur))
    return runs


@pytest.mark.parametrize("presentation", ["json", "python", "mcp"])
@pytest.mark.parametrize("template", ["smollm2", "plain"])
def test_labels_are_exactly_the_assistant_turns_and_their_stop_token(smol_tokenizer, presentation, template):
    tok = _use(smol_tokenizer, template)
    chat = to_chat(record(), presentation, tokenizer=tok)
    assert not chat.native
    out = tokenize_example(chat, tok)
    stop = STOPS[template]
    turns = [chat.messages[k]["content"] + stop for k in sorted(chat.assistant_calls)]
    # token by token, against labels built without the incremental renderer
    assert out.labels == _expected_labels(tok, out.text, turns)
    # the ids are what inference tokenization gives
    assert out.input_ids == tok.apply_chat_template(chat.messages, tokenize=True, return_dict=True)["input_ids"]
    assert _runs(tok, out) == turns
    stop_id = tok.convert_tokens_to_ids(stop)
    for n, (tid, label) in enumerate(zip(out.input_ids, out.labels)):
        if label != IGNORE_INDEX and (n + 1 == len(out.labels) or out.labels[n + 1] == IGNORE_INDEX):
            assert tid == stop_id  # every trained run ends with the end-of-turn token
    assert out.mixed_tokens == 0 and not out.truncated


@pytest.mark.parametrize("presentation", ["json", "python", "mcp"])
@pytest.mark.parametrize("template", ["smollm2", "plain", "qwen2_5"])
def test_tool_results_system_and_user_text_are_never_trained(smol_tokenizer, presentation, template):
    tok = _use(smol_tokenizer, template)
    chat = to_chat(record(), presentation, tokenizer=tok)
    out = tokenize_example(chat, tok)
    for needle in (SECRET_A, SECRET_B, "RESULTSECRET gamma", "You are terse.", "Add 2 and 3"):
        start = out.text.index(needle)
        covered = [
            label for label, (s, e) in zip(out.labels, out.offsets) if s < start + len(needle) and e > start
        ]
        assert covered and all(label == IGNORE_INDEX for label in covered), needle
    assert all("RESULTSECRET" not in run for run in _runs(tok, out))


def test_native_template_trains_its_own_call_format_and_end_of_turn(smol_tokenizer):
    tok = _use(smol_tokenizer, "qwen2_5")
    chat = to_chat(record(), "json", tokenizer=tok)
    assert chat.native
    out = tokenize_example(chat, tok)
    runs = _runs(tok, out)
    assert len(runs) == 3 and all(r.endswith("<|im_end|>") for r in runs)
    assert runs[0].startswith("Working on it.")
    assert '<tool_call>\n{"name": "add", "arguments": {"a": 2, "b": 3}}\n</tool_call>' in runs[0]
    assert '{"name": "lookup", "arguments": {"word": "cat"}}' in runs[0]
    assert runs[2] == "5.5, and a cat is a feline.<|im_end|>"
    # the newline the template writes after <|im_end|> is not trained: the model stops at the token
    end_id = tok.convert_tokens_to_ids("<|im_end|>")
    for n, (tid, label) in enumerate(zip(out.input_ids, out.labels)):
        if tid == end_id and label != IGNORE_INDEX:
            assert tok.decode([out.input_ids[n + 1]]) == "\n" and out.labels[n + 1] == IGNORE_INDEX


def test_subagent_rows_are_masked_the_same_way(smol_tokenizer):
    child = delegating_record().subagents["p1"]
    out = tokenize_example(to_chat(child, "python", tokenizer=smol_tokenizer), smol_tokenizer)
    assert _runs(smol_tokenizer, out) == ['```python\nadd(a=1, b=1)\n```<|im_end|>', "Two.<|im_end|>"]


def test_a_template_that_rerenders_earlier_turns_is_refused_naming_the_message(smol_tokenizer):
    smol_tokenizer.chat_template = NOT_PREFIX
    with pytest.raises(UserError, match=r"not prefix-preserving.*\(message 2\)"):
        tokenize_example(to_chat(record(), "python", tokenizer=smol_tokenizer), smol_tokenizer)


def test_max_length_keeps_the_start_and_says_it_cut(smol_tokenizer):
    chat = to_chat(record(), "json", tokenizer=smol_tokenizer)
    full = tokenize_example(chat, smol_tokenizer)
    cut = tokenize_example(chat, smol_tokenizer, max_length=len(full.input_ids) - 10)
    assert cut.truncated and cut.input_ids == full.input_ids[: len(full.input_ids) - 10]
    assert cut.labels == full.labels[: len(cut.labels)]


def test_the_rendered_text_is_the_chat_format_rendering(smol_tokenizer):
    chat = to_chat(record(), "mcp", tokenizer=smol_tokenizer)
    assert tokenize_example(chat, smol_tokenizer).text == render_chat(chat, smol_tokenizer)


@pytest.mark.parametrize("presentation", ["json", "python"])
def test_a_turn_the_record_marks_train_false_is_shown_but_never_trained(smol_tokenizer, presentation):
    traj = record()
    traj.messages[2].train = False  # e.g. the deliberately wrong call of an error-recovery example
    chat = to_chat(traj, presentation, tokenizer=smol_tokenizer)
    out = tokenize_example(chat, smol_tokenizer)
    runs = _runs(smol_tokenizer, out)
    assert len(runs) == 2 and chat.messages[2]["content"] in out.text
    assert all("Working on it." not in r for r in runs)
    assert runs[-1] == "5.5, and a cat is a feline.<|im_end|>"
    from trainers.gate import check_examples

    report = check_examples(smol_tokenizer, [("r", traj, chat)], presentation=presentation)
    assert report.ok, report.render()
