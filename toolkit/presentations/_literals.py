"""Safe decoding of untrusted literal text: JSON, and Python literals read from an ``ast`` tree (never
``eval``).

Every decoder here is bounded: the caller caps the text length, :func:`check_nesting` refuses deep bracket
nesting before any recursive parser runs, and decoded values are re-checked for depth and for non-JSON numbers
(NaN, infinities), so a hostile model output costs at most one linear scan and one bounded parse.
"""

from __future__ import annotations

import ast
import json
import math
import warnings
from typing import Any

__all__ = ["LiteralError", "check_nesting", "check_value", "load_json", "parse_python", "python_literal"]

_JSON_NAMES = {"true": True, "false": False, "null": None}


class LiteralError(ValueError):
    """Text that is not an acceptable literal; the message says what is wrong, for the parse error."""


def check_nesting(text: str, max_depth: int) -> None:
    """Refuse text whose brackets nest deeper than ``max_depth``, counting outside quoted strings only.

    A linear scan that runs before ``json.loads``/``ast.parse`` so that neither recurses on hostile input.
    Triple-quoted strings scan as an empty string followed by a quoted one, which counts the same brackets.
    """
    depth = 0
    quote = ""
    escaped = False
    for ch in text:
        if quote:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == quote or ch == "\n":
                quote = ""
        elif ch in "\"'":
            quote = ch
        elif ch in "([{":
            depth += 1
            if depth > max_depth:
                raise LiteralError(f"nested deeper than {max_depth} levels")
        elif ch in ")]}":
            depth = max(0, depth - 1)


def check_value(value: Any, max_depth: int) -> None:
    """Refuse decoded values nested deeper than ``max_depth`` or holding NaN/infinite numbers (not JSON)."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if depth > max_depth:
            raise LiteralError(f"nested deeper than {max_depth} levels")
        if isinstance(item, float) and not math.isfinite(item):
            raise LiteralError(f"number {item!r} is not valid JSON")
        if isinstance(item, dict):
            stack.extend((v, depth + 1) for v in item.values())
        elif isinstance(item, list):
            stack.extend((v, depth + 1) for v in item)


def _pairs_without_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise LiteralError(f"duplicate key {key!r}")
        out[key] = value
    return out


def _refuse_constant(name: str) -> Any:
    raise LiteralError(f"{name} is not valid JSON")


def load_json(text: str, *, lenient: bool, max_depth: int, leniencies: set[str]) -> Any:
    """Decode JSON. Lenient mode falls back to Python literal syntax (single quotes, trailing commas,
    True/False/None) read with ``ast``, and records ``python_style_json`` in ``leniencies`` when it does."""
    check_nesting(text, max_depth)
    try:
        value = json.loads(text, object_pairs_hook=_pairs_without_duplicates, parse_constant=_refuse_constant)
    except json.JSONDecodeError as exc:
        if not lenient:
            raise LiteralError(f"invalid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})") from None
        try:
            tree = parse_python(text.strip(), mode="eval")
            value = python_literal(tree.body, json_names=True, leniencies=set())
        except LiteralError:
            raise LiteralError(f"invalid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})") from None
        leniencies.add("python_style_json")
    except LiteralError:
        raise
    except (ValueError, RecursionError) as exc:  # e.g. an integer over Python's digit limit
        raise LiteralError(f"invalid JSON: {exc}") from None
    check_value(value, max_depth)
    return value


def parse_python(text: str, *, mode: str) -> Any:
    """``ast.parse``; every failure (syntax, huge numbers, recursion, memory) is a :class:`LiteralError`."""
    try:
        with warnings.catch_warnings():
            # Invalid escapes like "\d" warn at compile time; the text keeps Python's meaning either way.
            # (catch_warnings is not thread-safe before Python 3.14; parsing is synchronous CPU work.)
            warnings.simplefilter("ignore")
            return ast.parse(text, mode=mode)
    except SyntaxError as exc:
        where = f" (line {exc.lineno}, column {exc.offset})" if exc.lineno else ""
        raise LiteralError(f"invalid Python syntax: {exc.msg}{where}") from None
    except (RecursionError, MemoryError):
        raise LiteralError("Python text too complex to parse (nested or chained too deeply)") from None
    except ValueError as exc:  # e.g. an integer over Python's digit limit, or a NUL character
        raise LiteralError(f"invalid Python syntax: {exc}") from None


def _describe(node: ast.AST) -> str:
    try:
        return ast.unparse(node)[:60]
    except Exception:  # unparse of a hostile tree must not turn a parse error into a crash
        return type(node).__name__


def python_literal(
    node: ast.AST, *, json_names: bool, leniencies: set[str], constructors: bool = False
) -> Any:
    """The JSON value of a Python literal expression; anything that would need evaluating is refused.

    Accepted: strings, ints, finite floats, bools, None, signed numbers, lists, tuples (as lists), dicts with
    string keys. With ``json_names``, the bare names ``true``/``false``/``null`` too (recorded in
    ``leniencies`` as ``json_literals``). With ``constructors``, an object written as a call with keyword
    arguments only to ``dict`` or a capitalised name (``Point(x=1)``, as the stubs' TypedDict classes invite)
    is read as that object (recorded as ``constructor_call``); nothing is called. Refused with a clear
    message: other calls, names, attributes, operators, f-strings, sets, bytes, complex numbers, ``**``
    unpacking, duplicate keys.
    """

    def inner(child: ast.AST) -> Any:
        return python_literal(child, json_names=json_names, leniencies=leniencies, constructors=constructors)

    if isinstance(node, ast.Constant):
        value = node.value
        if value is None or isinstance(value, (str, bool, int)):
            return value
        if isinstance(value, float):
            if not math.isfinite(value):
                raise LiteralError(f"number {_describe(node)} is not valid JSON")
            return value
        raise LiteralError(f"{type(value).__name__} literal {_describe(node)} is not a JSON value")
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        operand = node.operand
        if isinstance(operand, ast.Constant) and type(operand.value) in (int, float):
            number = inner(operand)
            return -number if isinstance(node.op, ast.USub) else number
        raise LiteralError(f"expression {_describe(node)} is not a literal (only numbers can be signed)")
    if isinstance(node, (ast.List, ast.Tuple)):
        return [inner(e) for e in node.elts]
    if isinstance(node, ast.Dict):
        out: dict[str, Any] = {}
        for key_node, value_node in zip(node.keys, node.values, strict=True):
            if key_node is None:
                raise LiteralError("'**' unpacking is not allowed in arguments")
            if not (isinstance(key_node, ast.Constant) and isinstance(key_node.value, str)):
                raise LiteralError(f"dict key {_describe(key_node)} is not a string")
            if key_node.value in out:
                raise LiteralError(f"duplicate key {key_node.value!r}")
            out[key_node.value] = inner(value_node)
        return out
    if isinstance(node, ast.Name):
        if json_names and node.id in _JSON_NAMES:
            leniencies.add("json_literals")
            return _JSON_NAMES[node.id]
        hint = " (use True/False/None)" if node.id in _JSON_NAMES else ""
        raise LiteralError(f"name {node.id!r} is not a literal value{hint}; write the value itself")
    if isinstance(node, ast.Call):
        if constructors and _is_constructor(node):
            leniencies.add("constructor_call")
            fields: dict[str, Any] = {}
            for kw in node.keywords:
                if kw.arg in fields:
                    raise LiteralError(f"duplicate key {kw.arg!r}")
                fields[str(kw.arg)] = inner(kw.value)
            return fields
        raise LiteralError(f"function call {_describe(node)} inside arguments is not allowed; write literals")
    if isinstance(node, ast.Set):
        raise LiteralError(f"set {_describe(node)} is not a JSON value; use a list")
    if isinstance(node, ast.JoinedStr):
        raise LiteralError(f"f-string {_describe(node)} is not a literal")
    raise LiteralError(f"expression {_describe(node)} is not a literal value")


def _is_constructor(node: ast.Call) -> bool:
    func = node.func
    named = isinstance(func, ast.Name) and (func.id == "dict" or func.id[:1].isupper())
    return named and not node.args and all(kw.arg is not None for kw in node.keywords)
