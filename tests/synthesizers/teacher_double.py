"""A scripted teacher for the LLM-driven synthesizer: answers each role's request from its content.

It plays the task writer, the judges, the user simulator and the agent over the calculator suite, the way a real
teacher would shape its replies. It scripts *model outputs* only; the HTTP server, client, retries, tools and
validation around it are all real.
"""

from __future__ import annotations

import json
from typing import Any

from tests.toolkit.openai_loopback import Reply

CONVERSIONS = [(5, "km", "mi"), (12, "kg", "lb"), (100, "C", "F"), (3, "ft", "m"), (250, "g", "oz")]


def _variation(body: dict[str, Any]) -> int:
    text = body["messages"][-1].get("content") or ""
    marker = "Variation seed: "
    if marker in text:
        return int(text.split(marker, 1)[1].split(".", 1)[0])
    return 0


def teacher(body: dict[str, Any]) -> Reply:
    messages = body["messages"]
    system = messages[0].get("content") or ""
    if system.startswith("You write realistic"):
        value, src, dst = CONVERSIONS[_variation(body) % len(CONVERSIONS)]
        return Reply.text(json.dumps({"request": f"How much is {value} {src} in {dst}?", "needs_tools": True,
                                      "persona": "a traveller", "hidden_details": None, "follow_up_goal": None}))
    if system.startswith("You rate test requests"):
        return Reply.text('{"score": 4, "reason": "specific and answerable"}')
    if system.startswith("You play a user"):
        return Reply.text("DONE")
    if system.startswith("You check an AI assistant"):
        return Reply.text('{"verdict": "pass", "reason": "matches the tool result"}')
    last = messages[-1]
    if last["role"] == "tool":
        return Reply.text(f"The conversion gives {json.loads(last['content'])['result']}.")
    request = next(m["content"] for m in messages if m["role"] == "user")
    words = request.split()
    value, src, dst = float(words[3]), words[4], words[6].rstrip("?")
    return Reply.tool_calls(("convert_units", {"value": value, "from_unit": src, "to_unit": dst}))
