"""Records and chat templates for the trainer and chat-format tests."""

from __future__ import annotations

import json
from pathlib import Path

import trl

from toolkit.records import Trajectory

ADD = {
    "name": "add",
    "description": "Add two numbers.",
    "input_schema": {
        "type": "object",
        "properties": {"a": {"type": "number"}, "b": {"type": "number"}},
        "required": ["a", "b"],
    },
}
LOOKUP = {
    "name": "lookup",
    "description": "Look a word up.",
    "input_schema": {
        "type": "object",
        "properties": {"word": {"type": "string"}, "lang": {"type": "string"}},
        "required": ["word"],
    },
}
DELEGATE = {
    "name": "delegate",
    "description": "Hand a task to a subagent.",
    "input_schema": {"type": "object", "properties": {"task": {"type": "string"}}, "required": ["task"]},
}

# Tool results that must never be trained; "RESULTSECRET" never appears in an assistant turn.
SECRET_A = "RESULTSECRET alpha 7"
SECRET_B = "RESULTSECRET beta 9"


def call(cid: str, name: str, **arguments: object) -> dict:
    return {"id": cid, "type": "function", "function": {"name": name, "arguments": arguments}}


def record(rid: str = "r1") -> Trajectory:
    """System, user, a parallel call turn with prose, two results, a chained call, a result, a final answer."""
    return Trajectory.model_validate({
        "id": rid,
        "messages": [
            {"role": "system", "content": "You are terse."},
            {"role": "user", "content": "Add 2 and 3, and look up 'cat'."},
            {"role": "assistant", "content": "Working on it.",
             "tool_calls": [call("c1", "add", a=2, b=3), call("c2", "lookup", word="cat")]},
            {"role": "tool", "tool_call_id": "c1", "name": "add", "content": SECRET_A},
            {"role": "tool", "tool_call_id": "c2", "name": "lookup", "content": SECRET_B},
            {"role": "assistant", "tool_calls": [call("c3", "add", a=5, b=0.5)]},
            {"role": "tool", "tool_call_id": "c3", "content": "RESULTSECRET gamma"},
            {"role": "assistant", "content": "5.5, and a cat is a feline."},
        ],
        "tools": [ADD, LOOKUP],
    })


def delegating_record(rid: str = "d1") -> Trajectory:
    child = {
        "id": f"{rid}-sub",
        "messages": [
            {"role": "user", "content": "Sum 1 and 1."},
            {"role": "assistant", "tool_calls": [call("s1", "add", a=1, b=1)]},
            {"role": "tool", "tool_call_id": "s1", "name": "add", "content": "RESULTSECRET two"},
            {"role": "assistant", "content": "Two."},
        ],
        "tools": [ADD],
    }
    return Trajectory.model_validate({
        "id": rid,
        "messages": [
            {"role": "user", "content": "Ask a helper to sum 1 and 1."},
            {"role": "assistant", "tool_calls": [call("p1", "delegate", task="Sum 1 and 1.")]},
            {"role": "tool", "tool_call_id": "p1", "name": "delegate", "content": "RESULTSECRET helper said two"},
            {"role": "assistant", "content": "The helper says two."},
        ],
        "tools": [ADD, DELEGATE],
        "subagents": {"p1": child},
    })


def write_jsonl(path: Path, records: list[Trajectory]) -> Path:
    path.write_text("".join(r.to_json() + "\n" for r in records), encoding="utf-8")
    return path


def trl_template(name: str) -> str:
    return (Path(trl.__file__).parent / "chat_templates" / f"{name}.jinja").read_text(encoding="utf-8")


# A second template family: no tool support, no {% generation %} markers, no ChatML, <|endoftext|> ends turns.
PLAIN_NO_TOOLS = (
    "{% for m in messages %}"
    "{% if m['role'] == 'system' %}{{ 'SYSTEM: ' + m['content'] + '\\n\\n' }}"
    "{% elif m['role'] == 'user' %}{{ 'USER: ' + m['content'] + '\\n\\n' }}"
    "{% elif m['role'] == 'assistant' %}{{ 'ASSISTANT:\\n' + m['content'] + '<|endoftext|>\\n\\n' }}"
    "{% else %}{{ raise_exception('unsupported role ' + m['role']) }}{% endif %}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ 'ASSISTANT:\\n' }}{% endif %}"
)

# Like SmolLM2's, but drops tool-call text from assistant turns (what a reasoning-stripping template might do).
DROPS_CALLS = (
    "{% for message in messages %}"
    "{{ '<|im_start|>' + message['role'] + '\\n' }}"
    "{% if message['role'] == 'assistant' %}{{ message['content'].split('<tool_call>')[0] }}"
    "{% else %}{{ message['content'] }}{% endif %}"
    "{{ '<|im_end|>\\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}"
)

# Assistant turns end with blank lines, never with a special token: the model could not learn to stop.
NO_STOP = (
    "{% for message in messages %}"
    "{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '\\n\\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}"
)

# Re-renders the last assistant turn differently from earlier ones: not prefix-preserving.
NOT_PREFIX = (
    "{% for message in messages %}"
    "{{ '<|im_start|>' + message['role'] + '\\n' }}"
    "{% if message['role'] == 'assistant' and not loop.last %}{{ '[old] ' }}{% endif %}"
    "{{ message['content'] + '<|im_end|>\\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}"
)


def dumps(obj: object) -> str:
    return json.dumps(obj, ensure_ascii=False)


def watch_lm_head_rows(monkeypatch) -> list[int]:
    """Rows TRL's chunked log-prob kernel receives, one entry per call (the positions the LM head projects)."""
    from trl.kernels.chunked_logprob import ChunkedLogProbFunction

    rows: list[int] = []
    kernel = ChunkedLogProbFunction.apply

    def spy(hidden, *args):
        rows.append(hidden.shape[0])
        return kernel(hidden, *args)

    monkeypatch.setattr(ChunkedLogProbFunction, "apply", staticmethod(spy))
    return rows
