"""Subagent delegation: the ``delegate`` tool every part of ToolGym offers, and what a subagent is told.

One definition for synthesis (the parent calls it; a child trajectory answers), evaluation (did the model delegate
when it should; was the child grounded) and validation (the child only used the tools granted in the call).
"""

from __future__ import annotations

from toolkit.specs import ToolSpec

__all__ = ["DELEGATE_TOOL", "DELEGATE_SPEC", "SUBAGENT_SYSTEM"]

DELEGATE_TOOL = "delegate"

DELEGATE_SPEC = ToolSpec(
    name=DELEGATE_TOOL,
    description="Hand a self-contained task to a subagent that can use only the listed tools. Returns the "
    "subagent's final report.",
    input_schema={
        "type": "object",
        "properties": {
            "task": {"type": "string", "description": "What the subagent must do, with every detail it needs."},
            "tools": {"type": "array", "items": {"type": "string"}, "minItems": 1,
                      "description": "Names of the tools the subagent may use."},
        },
        "required": ["task", "tools"],
        "additionalProperties": False,
    },
)

SUBAGENT_SYSTEM = ("You are a subagent. Complete the task you are given using only your tools, then reply with a "
                   "short factual report of what you found or did.")
