"""Trajectory records: the on-disk format of every dataset ToolGym writes.

A record is one conversation in OpenAI chat shape, with tool-call ``arguments`` stored as JSON objects (never as
JSON strings: exporters convert where a target format wants strings). Subagent conversations are stored nested in
``subagents``, keyed by the id of the parent's delegate call. The format is versioned (``schema_version``) and
published as ``toolkit/schemas/trajectory.schema.json``; ``python -m toolkit.records`` regenerates that file and a
test keeps the two in step.
"""

from __future__ import annotations

import json
import sys
from importlib import resources
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from toolkit.specs import ToolCall, ToolSpec

__all__ = [
    "SCHEMA_VERSION",
    "INJECTED_FAILURES_KEY",
    "FunctionCall",
    "ToolCallRecord",
    "Message",
    "Scenario",
    "Expected",
    "Provenance",
    "StageOutcome",
    "Validation",
    "Trajectory",
    "record_json_schema",
    "published_schema",
]

SCHEMA_VERSION = "toolgym.trajectory/1"

# Trajectory.metadata key: {call_id: failure kind} for tool results that were injected (a simulated timeout or a
# malformed result in an error-recovery example) rather than produced by the tool. Replay skips those calls.
INJECTED_FAILURES_KEY = "injected_failures"


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class FunctionCall(_Model):
    name: str = Field(description="Tool name.")
    arguments: dict[str, Any] = Field(default_factory=dict, description="Arguments as a JSON object.")


class ToolCallRecord(_Model):
    id: str = Field(description="Call id; the answering tool message carries it as tool_call_id.")
    type: Literal["function"] = "function"
    function: FunctionCall

    def to_call(self) -> ToolCall:
        return ToolCall(name=self.function.name, arguments=self.function.arguments, id=self.id)

    @classmethod
    def from_call(cls, call: ToolCall, call_id: str) -> ToolCallRecord:
        return cls(id=call.id or call_id, function=FunctionCall(name=call.name, arguments=call.arguments))


class Message(_Model):
    role: Literal["system", "user", "assistant", "tool"]
    content: str | None = None
    tool_calls: list[ToolCallRecord] | None = Field(default=None, description="Assistant messages only.")
    tool_call_id: str | None = Field(default=None, description="Tool messages only: the call this answers.")
    name: str | None = Field(default=None, description="Tool messages: the tool's name.")
    is_error: bool | None = Field(default=None, description="Tool messages: the result was an error.")
    train: bool | None = Field(
        default=None,
        description="Assistant messages: false keeps this turn out of the training loss (e.g. a deliberately wrong "
        "call in an error-recovery example, which the model should see but not learn to make).",
    )

    def calls(self) -> list[ToolCall]:
        return [tc.to_call() for tc in self.tool_calls or []]


class Scenario(_Model):
    kind: str = Field(description="Scenario kind, e.g. single, parallel, chain, multi_turn, no_tool, delegate.")
    suite: str | None = Field(default=None, description="Tool suite or source the task was drawn from.")
    seed: int | None = None
    template: str | None = Field(default=None, description="Task template id, when one was used.")
    task: dict[str, Any] | None = Field(default=None, description="The task as the environment needs it to reset.")


class Expected(_Model):
    calls: list[FunctionCall] | None = Field(default=None, description="Gold calls, in order; [] means no call.")
    final_state: dict[str, Any] | None = Field(default=None, description="Gold end state of the environment.")
    answer_facts: list[str] = Field(default_factory=list, description="Facts the final answer must state.")


class Provenance(_Model):
    generator: str = Field(description="What wrote the record, e.g. 'offline', 'llm', 'import:trl'.")
    generator_version: str | None = None
    created_at: str | None = None
    teacher: str | None = Field(default=None, description="Teacher model, for LLM-driven synthesis.")
    source_line: int | None = Field(default=None, description="Line number in an imported file.")
    extra: dict[str, Any] = Field(default_factory=dict)


class StageOutcome(_Model):
    stage: str
    passed: bool
    reasons: list[str] = Field(default_factory=list)


class Validation(_Model):
    passed: bool
    stages: list[StageOutcome] = Field(default_factory=list)


class Trajectory(_Model):
    schema_version: Literal["toolgym.trajectory/1"] = SCHEMA_VERSION
    id: str = Field(description="Stable id (from seed and index for synthesized data).")
    messages: list[Message]
    tools: list[ToolSpec] = Field(default_factory=list, description="Tools the agent was given.")
    subagents: dict[str, Trajectory] = Field(
        default_factory=dict, description="Child trajectories, keyed by the parent's delegate call id."
    )
    scenario: Scenario | None = None
    expected: Expected | None = None
    provenance: Provenance | None = None
    validation: Validation | None = None
    metadata: dict[str, Any] = Field(default_factory=dict)

    def tool_calls(self) -> list[ToolCall]:
        """Every call the agent made in this trajectory (not its subagents'), in order."""
        return [c for m in self.messages if m.role == "assistant" for c in m.calls()]

    def final_answer(self) -> str | None:
        for m in reversed(self.messages):
            if m.role == "assistant":
                return m.content if not m.tool_calls else None
        return None

    def to_json(self) -> str:
        return self.model_dump_json(exclude_none=True)

    def to_dict(self) -> dict[str, Any]:
        return self.model_dump(mode="json", exclude_none=True)


def record_json_schema() -> dict[str, Any]:
    """The JSON Schema of a record, generated from the models."""
    schema = Trajectory.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = "https://toolgym.dev/schemas/trajectory-1.json"
    schema["title"] = f"ToolGym trajectory record ({SCHEMA_VERSION})"
    return schema


def published_schema() -> dict[str, Any]:
    """The JSON Schema file shipped inside the package."""
    text = resources.files("toolkit").joinpath("schemas/trajectory.schema.json").read_text(encoding="utf-8")
    return json.loads(text)


def _write_schema(path: Path) -> None:
    path.write_text(json.dumps(record_json_schema(), indent=2, sort_keys=True) + "\n", encoding="utf-8")


if __name__ == "__main__":
    _write_schema(Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).parent / "schemas/trajectory.schema.json")
