"""Reading ``{"name": ..., "arguments": {...}}`` call objects (the json and mcp presentations share this)."""

from __future__ import annotations

from typing import Any

from toolkit.presentations._index import SpecIndex
from toolkit.presentations._literals import LiteralError, load_json
from toolkit.specs import ToolCall

__all__ = ["calls_from_json_text", "looks_like_json_call"]

_CALL_KEYS = {"name", "arguments"}


def looks_like_json_call(line: str) -> bool:
    return line.startswith(("{", "["))


def calls_from_json_text(
    body: str, index: SpecIndex, used: set[str], *, max_depth: int, bare: bool, list_rule: str | None
) -> list[ToolCall]:
    """Calls in a JSON body: one call object, or a list of them. ``list_rule`` names the leniency a list needs
    (``None`` when a list is the documented format)."""
    text = body.strip()
    if not text:
        raise LiteralError("empty call block")
    value = load_json(text, lenient=True, max_depth=max_depth, leniencies=used)
    if isinstance(value, list):
        if not value:
            raise LiteralError("empty list of calls; to call no tool, answer in plain text")
        if list_rule is not None:
            used.add(list_rule)
        items = value
    else:
        items = [value]
    return [_call_from_object(item, index, used, max_depth=max_depth, bare=bare) for item in items]


def _call_from_object(obj: Any, index: SpecIndex, used: set[str], *, max_depth: int, bare: bool) -> ToolCall:
    if not isinstance(obj, dict):
        raise LiteralError(f"a call must be a JSON object with 'name' and 'arguments', got {type(obj).__name__}")
    if "name" not in obj and isinstance(obj.get("function"), dict):
        used.add("alternate_call_shape")  # OpenAI shape: {"type": "function", "function": {...}, "id": ...}
        obj = obj["function"]
    name = obj.get("name")
    if not isinstance(name, str) or not name:
        raise LiteralError("a call object needs a non-empty string 'name'")
    if bare and not ({"arguments", "parameters"} & obj.keys()):
        raise LiteralError("not a call: no 'arguments'")  # prose answers may well be JSON with a "name" key
    if bare and index and name not in index.specs:
        raise LiteralError(f"not a call: no tool named {name!r}")
    if obj.keys() - _CALL_KEYS:
        used.add("alternate_call_shape")
    if "arguments" in obj:
        args = obj["arguments"]
    elif "parameters" in obj:
        args = obj["parameters"]
    else:
        used.add("alternate_call_shape")
        args = {}
    if isinstance(args, str):
        used.add("arguments_as_string")
        args = load_json(args, lenient=True, max_depth=max_depth, leniencies=used) if args.strip() else {}
    elif args is None:
        used.add("alternate_call_shape")
        args = {}
    if not isinstance(args, dict):
        raise LiteralError(f"'arguments' of {name!r} must be a JSON object, got {type(args).__name__}")
    return ToolCall(name=name, arguments=args)
