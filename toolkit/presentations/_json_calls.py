"""Reading ``{"name": ..., "arguments": {...}}`` call objects (the json and mcp presentations share this)."""

from __future__ import annotations

from typing import Any

from toolkit.presentations._index import SpecIndex
from toolkit.presentations._literals import LiteralError, load_json
from toolkit.specs import ToolCall

__all__ = ["calls_from_json_text", "json_block_is_call_syntax", "looks_like_json_call"]

_CALL_KEYS = {"name", "arguments"}


def looks_like_json_call(line: str) -> bool:
    return line.startswith(("{", "["))


def json_block_is_call_syntax(body: str, index: SpecIndex) -> bool:
    """Whether an unreadable JSON code block was meant as calls (else it is an answer's code sample)."""
    text = body.lstrip()
    if not text.startswith(("{", "[")):
        return False
    if "".join(text.split()) in ("[]", "{}"):
        return True  # the call format with nothing in it: an error, not an abstention
    if "name" in text and ("arguments" in text or "parameters" in text):
        return True
    return any(f'"{name}"' in text or f"'{name}'" in text for name in index.specs)


def calls_from_json_text(
    body: str, index: SpecIndex, used: set[str], *, max_depth: int, bare: bool, list_rule: str | None
) -> list[ToolCall]:
    """Calls in a JSON body: one call object, or a list of them. ``list_rule`` names the leniency a list needs
    (``None`` when a list is the documented format)."""
    text = body.strip()
    if not text:
        raise LiteralError("empty call block")
    try:
        value = load_json(text, lenient=True, max_depth=max_depth, leniencies=used)
    except LiteralError:
        objects = _json_lines(text, used, max_depth=max_depth)
        if objects is None:
            raise
        return [_call_from_object(item, index, used, max_depth=max_depth, bare=bare) for item in objects]
    if isinstance(value, list):
        if not value:
            raise LiteralError("empty list of calls; to call no tool, answer in plain text")
        if list_rule is not None:
            used.add(list_rule)
        items = value
    else:
        items = [value]
    return [_call_from_object(item, index, used, max_depth=max_depth, bare=bare) for item in items]


def _json_lines(text: str, used: set[str], *, max_depth: int) -> list[Any] | None:
    """Several call objects one per line, without list brackets (``None`` when the text is not that)."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    if len(lines) < 2 or not all(line.startswith("{") for line in lines):
        return None
    rules: set[str] = set()
    try:
        objects = [load_json(line, lenient=True, max_depth=max_depth, leniencies=rules) for line in lines]
    except LiteralError:
        return None
    used |= rules | {"json_lines"}
    return objects


def _call_from_object(obj: Any, index: SpecIndex, used: set[str], *, max_depth: int, bare: bool) -> ToolCall:
    if not isinstance(obj, dict):
        got = type(obj).__name__
        raise LiteralError(f"a call must be a JSON object with 'name' and 'arguments', got {got}")
    if "name" not in obj and isinstance(obj.get("function"), dict):
        used.add("alternate_call_shape")  # OpenAI shape: {"type": "function", "function": {...}, "id": ...}
        obj = obj["function"]
    name = obj.get("name")
    if not isinstance(name, str) or not name:
        raise LiteralError("a call object needs a non-empty string 'name'")
    if bare and index and name not in index.specs:
        raise LiteralError(f"not a call: no tool named {name!r}")
    if obj.keys() - _CALL_KEYS:
        used.add("alternate_call_shape")
    if "arguments" in obj:
        args = obj["arguments"]
    elif "parameters" in obj:
        args = obj["parameters"]
    elif index and name in index.specs:
        used.add("alternate_call_shape")
        args = {}
    else:  # answers may be JSON objects with a "name" key: without arguments, only a known tool makes a call
        raise LiteralError(f"a call object needs 'arguments' (no known tool is named {name!r})")
    if isinstance(args, str):
        used.add("arguments_as_string")
        args = load_json(args, lenient=True, max_depth=max_depth, leniencies=used) if args.strip() else {}
    elif args is None:
        used.add("alternate_call_shape")
        args = {}
    if not isinstance(args, dict):
        raise LiteralError(f"'arguments' of {name!r} must be a JSON object, got {type(args).__name__}")
    return ToolCall(name=name, arguments=args)
