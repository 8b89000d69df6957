"""What the teacher is asked to do, per role: write a task, judge it, play the user, judge the answer."""

from __future__ import annotations

import json
from collections.abc import Sequence

from synthesizers.llm.memo import memo_by_tools
from toolkit.specs import ToolSpec

__all__ = ["KIND_BRIEFS", "task_writer_messages", "task_judge_messages", "user_simulator_messages",
           "answer_judge_messages", "AGENT_SYSTEM"]

KIND_BRIEFS: dict[str, str] = {
    "single": "a request that needs exactly one call to one of the tools",
    "distractors": "a request that needs exactly one call to one of the tools (several other tools are offered too)",
    "parallel": "a request that needs two or three independent calls that can all be made at once",
    "parallel_multi": "a request that needs two different tools, called independently at the same time",
    "chain": "a request where the result of one call is needed as an argument of a second call",
    "multi_turn": "an opening request for a conversation of two or three user turns; give a follow_up_goal the user "
    "pursues after the first answer (a follow-up question or a correction)",
    "missing_argument": "a request that leaves out a value a tool requires, so the assistant must ask for it; put the "
    "missing value in hidden_details",
    "no_tool": "a request that none of the tools can help with (small talk or general knowledge); needs_tools=false",
    "error_recovery": "a request that needs one call to one of the tools",
    "delegate": "a self-contained request that needs one or two tool calls, suitable to hand to a helper agent",
}

AGENT_SYSTEM = ("You are a helpful assistant with tools. Call a tool whenever the request needs data or an action "
                "the tools provide; use exact values from tool results; ask the user when a required value is "
                "missing; answer directly when no tool applies; if a tool fails, correct the call or say honestly "
                "what went wrong.")


@memo_by_tools
def _catalogue(specs: Sequence[ToolSpec]) -> str:
    return json.dumps([{"name": s.name, "description": s.description, "parameters": s.input_schema} for s in specs],
                      ensure_ascii=False, indent=1)


def task_writer_messages(specs: Sequence[ToolSpec], kind: str, seed: int) -> list[dict[str, str]]:
    brief = KIND_BRIEFS.get(kind, KIND_BRIEFS["single"])
    return [
        {"role": "system", "content": "You write realistic, specific user requests for testing an AI assistant "
         "that has tools. Use concrete values (names, numbers, dates, ids) that the tools could plausibly accept. "
         "Reply with one JSON object only."},
        {"role": "user", "content": f"Tools:\n{_catalogue(specs)}\n\nWrite {brief}.\nVariation seed: {seed}.\n"
         'Reply as JSON: {"request": str, "needs_tools": bool, "persona": str, "hidden_details": str|null, '
         '"follow_up_goal": str|null}'},
    ]


def task_judge_messages(specs: Sequence[ToolSpec], request: str, kind: str) -> list[dict[str, str]]:
    return [
        {"role": "system", "content": "You rate test requests for an AI assistant with tools. Reply with JSON only."},
        {"role": "user", "content": f"Tools:\n{_catalogue(specs)}\n\nIntended scenario: {KIND_BRIEFS.get(kind, kind)}"
         f"\nRequest: {request}\n\nRate 1-5 how realistic, specific and answerable with these tools (as intended) "
         'it is. Reply as JSON: {"score": int, "reason": str}'},
    ]


def user_simulator_messages(persona: str, request: str, hidden: str | None, goal: str | None,
                            transcript: Sequence[dict[str, str]]) -> list[dict[str, str]]:
    lines = "\n".join(f"{m['role']}: {m['content']}" for m in transcript)
    return [
        {"role": "system", "content": f"You play a user of an AI assistant. Persona: {persona}. Your first request "
         f"was: {request}. Details only you know: {hidden or 'none'}. What you want next: {goal or 'nothing more'}. "
         "Reply with the user's next message only, one or two sentences. If you have what you wanted, reply "
         "exactly DONE."},
        {"role": "user", "content": f"Conversation so far:\n{lines}\n\nYour next message:"},
    ]


def answer_judge_messages(request: str, transcript: str, answer: str) -> list[dict[str, str]]:
    return [
        {"role": "system", "content": "You check an AI assistant's final answer against the tool results it saw. "
         "Reply with JSON only."},
        {"role": "user", "content": f"Request: {request}\n\nTool calls and results:\n{transcript}\n\nFinal answer: "
         f"{answer}\n\nIs the answer correct, complete and grounded in the tool results (no invented facts)? "
         'Reply as JSON: {"verdict": "pass"|"fail", "reason": str}'},
    ]
