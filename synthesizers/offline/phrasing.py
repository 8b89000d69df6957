"""Natural-ish user requests and agent answers for tools that have no task templates.

A user's own MCP server works out of the box: requests are derived from the tool's name, description and the
sampled arguments, in several phrasings (so the data does not teach one fixed sentence), and answers restate the
result's key facts so that grounding checks have something to find.
"""

from __future__ import annotations

import json
import random
import re
from collections.abc import Mapping
from typing import Any

from toolkit.facts import fact_in_answer
from toolkit.specs import ToolResult, ToolSpec

__all__ = [
    "answer_for", "answer_stating", "arg_phrase", "ask_for", "description_examples", "request_for", "result_facts",
]

_EXAMPLE = re.compile(r"""(?:e\.g\.|for example|such as|like)[,:]?\s*\(?\s*((?:['"][^'"]{1,60}['"][,\s/or]*)+)""", re.I)
_QUOTED = re.compile(r"""['"]([^'"]{1,60})['"]""")

_REQUEST_PATTERNS = (
    "Can you {verb}{for_args}?",
    "Please {verb}{for_args}.",
    "I need you to {verb}{for_args}.",
    "{Verb}{for_args}, please.",
    "Could you help me {verb}{for_args}?",
    "{Desc}{with_args}.",
    "Quick one: {verb}{for_args}.",
    "I'd like to {verb}{for_args}.",
)


def description_examples(text: str) -> list[str]:
    """Example values quoted in a description, e.g. "IANA name (e.g., 'America/New_York')" → ['America/New_York']."""
    out: list[str] = []
    for m in _EXAMPLE.finditer(text or ""):
        out.extend(_QUOTED.findall(m.group(1)))
    return out


def _human(name: str) -> str:
    words = re.sub(r"([a-z0-9])([A-Z])", r"\1 \2", name).replace("_", " ").replace("-", " ").replace(".", " ")
    return " ".join(words.split()).lower()


def _value_text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "yes" if value else "no"
    return json.dumps(value, ensure_ascii=False)


def arg_phrase(arguments: Mapping[str, Any], rng: random.Random) -> str:
    """'timezone Europe/Paris and unit celsius' — argument names humanised, in a random but seeded order."""
    items = list(arguments.items())
    rng.shuffle(items)
    parts = [f"{_human(k)} {_value_text(v)}" for k, v in items]
    if not parts:
        return ""
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]


def _first_sentence(text: str) -> str:
    sentence = re.split(r"(?<=[.!?])\s|\n", (text or "").strip(), maxsplit=1)[0].rstrip(".!? ")
    return sentence


def request_for(spec: ToolSpec, arguments: Mapping[str, Any], rng: random.Random) -> tuple[str, str]:
    """A user request for calling ``spec`` with ``arguments``; returns (text, phrasing id)."""
    verb = _human(spec.name)
    desc = _first_sentence(spec.description) or verb.capitalize()
    args = arg_phrase(arguments, rng)
    idx = rng.randrange(len(_REQUEST_PATTERNS))
    pattern = _REQUEST_PATTERNS[idx]
    text = pattern.format(
        verb=verb, Verb=verb.capitalize(), Desc=desc[0].upper() + desc[1:],
        for_args=f" for {args}" if args else "", with_args=f" — {args}" if args else "",
    )
    return text, f"generic:{idx}"


def result_facts(result: ToolResult, limit: int = 3) -> list[str]:
    """Short facts from a result that a faithful answer should repeat (scalar fields, or the text itself)."""
    data: Any = result.structured
    if isinstance(data, dict) and set(data) == {"result"}:
        data = data["result"]
    if data is None:
        try:
            data = json.loads(result.content)
        except (ValueError, TypeError):
            text = result.content.strip()
            return [text[:80]] if text and len(text) <= 80 else []
    facts: list[str] = []

    def visit(value: Any) -> None:
        if len(facts) >= limit:
            return
        if isinstance(value, dict):
            for v in value.values():
                visit(v)
        elif isinstance(value, list):
            for v in value[:2]:
                visit(v)
        elif isinstance(value, (str, int, float)) and not isinstance(value, bool):
            text = str(value)
            if 0 < len(text) <= 60:
                facts.append(text)

    visit(data)
    return facts


def _summary(result: ToolResult) -> str:
    data: Any = result.structured
    if isinstance(data, dict) and set(data) == {"result"}:
        data = data["result"]
    if data is None:
        text = " ".join(result.content.split())
        return text if len(text) <= 300 else text[:297] + "..."
    if isinstance(data, dict):
        pairs = [f"{_human(k)}: {_value_text(v)}" for k, v in data.items() if not isinstance(v, (dict, list))]
        nested = [k for k, v in data.items() if isinstance(v, (dict, list))]
        text = "; ".join(pairs[:6])
        if nested:
            text += ("; " if text else "") + ", ".join(f"{_human(k)} ({len(data[k])} item(s))" for k in nested[:3])
        return text or json.dumps(data, ensure_ascii=False)[:300]
    if isinstance(data, list):
        shown = ", ".join(_value_text(v) if not isinstance(v, dict) else _value_text(next(iter(v.values()), "")) for v in data[:5])
        return f"{len(data)} item(s): {shown}" if data else "no results"
    return _value_text(data)


def answer_for(calls_results: list[tuple[ToolSpec, ToolResult]], rng: random.Random) -> str:
    """A final answer that restates each result (errors reported honestly)."""
    parts = []
    for spec, result in calls_results:
        if result.is_error:
            parts.append(f"{_human(spec.name).capitalize()} failed: {result.content.strip()[:200]}")
        else:
            parts.append(f"{_human(spec.name).capitalize()} → {_summary(result)}")
    lead = rng.choice(("Here is what I found.", "Done.", "Here are the results.", "All set."))
    return lead + "\n" + "\n".join(f"- {p}" for p in parts)


def answer_stating(calls_results: list[tuple[ToolSpec, ToolResult]], facts: list[str], rng: random.Random) -> str:
    """:func:`answer_for`, with any of ``facts`` it does not already state added as bullets (the task's answer check
    wants them all)."""
    text = answer_for(calls_results, rng)
    missing = [f for f in facts if not fact_in_answer(f, text)]
    return text + "".join(f"\n- {f}" for f in missing)


def ask_for(spec: ToolSpec, missing: list[str], rng: random.Random) -> str:
    """The agent's question when a required argument is missing."""
    names = " and ".join(_human(m) for m in missing)
    return rng.choice((
        f"Sure — which {names} should I use?",
        f"I can do that. What {names} would you like?",
        f"Before I {_human(spec.name)}, I need the {names}. What should it be?",
    ))
