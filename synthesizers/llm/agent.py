"""The agent loop played by the teacher model against the real tools, with subagents through the same loop."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from synthesizers.llm.memo import memo_by_tools
from synthesizers.offline.episode import Episode
from toolkit.backends import Backend, ChatRequest, Decoding, openai_tools
from toolkit.delegation import SUBAGENT_SYSTEM
from toolkit.jsonschema_utils import validation_errors
from toolkit.specs import ToolCall, ToolResult, ToolSpec

__all__ = ["SampleFailed", "Teacher", "run_agent", "ask"]

_request_tools = memo_by_tools(openai_tools)


class SampleFailed(Exception):
    """The sample stops at ``stage`` for ``reason`` (recorded in the yield table)."""

    def __init__(self, stage: str, reason: str):
        super().__init__(reason)
        self.stage, self.reason = stage, reason


@dataclass
class Teacher:
    backend: Backend
    decoding: Decoding
    native: bool = True
    presentation: str = "json"
    max_turns: int = 6

    def _prompted(self, messages: list[dict[str, Any]], specs: Sequence[ToolSpec]) -> list[dict[str, Any]]:
        """Record-shaped messages as plain text for a model prompted in a presentation (no native tools)."""
        from toolkit.presentations import get_presentation

        p = get_presentation(self.presentation)
        out: list[dict[str, Any]] = []
        system = "\n\n".join(m["content"] for m in messages if m["role"] == "system" and m.get("content"))
        out.append({"role": "system", "content": p.system_prompt(specs, preamble=system or None)})
        for m in messages:
            if m["role"] == "assistant":
                calls = [ToolCall(name=tc["function"]["name"], arguments=tc["function"]["arguments"])
                         for tc in m.get("tool_calls") or []]
                out.append({"role": "assistant", "content": p.render_assistant(m.get("content"), calls, specs)})
            elif m["role"] == "tool":
                out.append({"role": "user", "content": p.render_result(m.get("content") or "", name=m.get("name"))})
            elif m["role"] == "user":
                out.append({"role": "user", "content": m.get("content") or ""})
        return out

    async def turn(self, messages: list[dict[str, Any]], specs: Sequence[ToolSpec]) -> tuple[str, list[ToolCall]]:
        """One agent turn: the text it wrote and the calls it made (validated against the tools)."""
        if self.native:
            request = ChatRequest(messages=messages, tools=_request_tools(specs) or None, decoding=self.decoding)
        else:
            request = ChatRequest(messages=self._prompted(messages, specs), decoding=self.decoding)
        [response] = await self.backend.generate([request])
        if not response.ok:
            raise SampleFailed("generated", f"teacher request failed: {response.error_kind}: {response.error}")
        if response.malformed_tool_calls:
            bad = response.malformed_tool_calls[0]
            raise SampleFailed("parsed", f"malformed tool call to {bad.name!r}: {bad.error}")
        calls, text = list(response.tool_calls), response.text or ""
        if not self.native:
            from toolkit.presentations import get_presentation

            parsed = get_presentation(self.presentation).parse(text, specs, strict=False)
            if parsed.error:
                raise SampleFailed("parsed", f"unparseable {self.presentation} call: {parsed.error}")
            calls, text = parsed.calls, parsed.content
        by_name = {s.name: s for s in specs}
        for c in calls:
            if c.name not in by_name:
                raise SampleFailed("schema_valid", f"called unknown tool {c.name!r}")
            problems = validation_errors(by_name[c.name].input_schema, c.arguments)
            if problems:
                raise SampleFailed("schema_valid", f"{c.name}: {problems[0]}")
        return text, calls


async def ask(teacher: Teacher, messages: list[dict[str, Any]]) -> dict[str, Any]:
    """A teacher request whose answer must be one JSON object (task writing, judging)."""
    [response] = await teacher.backend.generate([ChatRequest(messages=messages, decoding=teacher.decoding)])
    if not response.ok:
        raise SampleFailed("generated", f"teacher request failed: {response.error_kind}: {response.error}")
    text = (response.text or "").strip()
    if text.startswith("```"):
        text = text.strip("`").removeprefix("json").strip()
    start, end = text.find("{"), text.rfind("}")
    try:
        value = json.loads(text[start : end + 1]) if start >= 0 else None
    except json.JSONDecodeError:
        value = None
    if not isinstance(value, dict):
        raise SampleFailed("parsed", f"teacher did not answer with a JSON object: {text[:80]!r}")
    return value


async def run_agent(teacher: Teacher, ep: Episode, *, inject_first: ToolResult | None = None,
                    depth: int = 0, max_depth: int = 2, job_id: str = "") -> str:
    """Let the teacher act until it answers in text; returns that answer (already appended to ``ep``)."""
    injected = inject_first
    for _ in range(teacher.max_turns):
        messages = [m.model_dump(exclude_none=True) for m in ep.messages]
        text, calls = await teacher.turn(messages, ep.tools)
        if not calls:
            if not text.strip():
                raise SampleFailed("verified", "the agent gave an empty answer")
            ep.say(text)
            return text

        async def delegate(call: ToolCall, call_id: str) -> str:
            return await _run_child(teacher, ep, call, call_id, depth=depth, max_depth=max_depth, job_id=job_id)

        inject = {0: injected} if injected is not None else None
        injected = None
        await ep.act(calls, inject=inject, delegate=delegate, check=False, content=text.strip() or None)
    raise SampleFailed("verified", f"no final answer within {teacher.max_turns} turns")


async def _run_child(teacher: Teacher, parent: Episode, call: ToolCall, call_id: str, *, depth: int, max_depth: int,
                     job_id: str) -> str:
    task = str(call.arguments.get("task", "")).strip()
    names = call.arguments.get("tools") or []
    specs = {s.name: s for s in parent.tools if s.name != "delegate" or depth + 1 < max_depth}
    unknown = [n for n in names if n not in specs]
    if not task or not names or unknown:
        raise SampleFailed("schema_valid", f"bad delegation: task={task[:40]!r}, unknown tools {unknown}")
    child = Episode(registry=parent.registry, tools=[specs[n] for n in names], system=SUBAGENT_SYSTEM,
                    id_prefix=f"{call_id}_sub")
    child.user(task)
    answer = await run_agent(teacher, child, depth=depth + 1, max_depth=max_depth, job_id=job_id)
    if not child.calls_made:
        raise SampleFailed("verified", "the subagent answered without calling any tool (fabricated report)")
    parent.subagents[call_id] = child.trajectory(f"{job_id}/{call_id}")
    return answer

