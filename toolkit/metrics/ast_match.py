"""Single-call matching by BFCL's AST rules (``simple_function_checker``), explained.

A predicted :class:`~toolkit.specs.ToolCall` is compared with a gold call, optionally under the tool's
:class:`~toolkit.specs.ToolSpec`. The rules follow BFCL's ``ast_checker.py`` (gorilla ``6ea57973``):

1. the names are equal;
2. every parameter the schema requires is present;
3. every parameter given exists in the schema *and* in the gold answer (``unexpected_param``);
4. each value has the schema's type; an integer is accepted where a number (BFCL ``float``) is expected, never
   the reverse (``5.0`` for an integer fails), and a bool is never a number;
5. each value is among the gold's allowed values: strings compared after BFCL's ``standardize_string``
   (lenient mode), lists element by element in order, dicts key by key;
6. a gold parameter missing from the prediction is allowed only when the gold marks it omittable.

Two places go beyond BFCL, both stricter-or-equal for BFCL-shaped data: nested values (lists of lists, dicts
in dicts) are typed and compared recursively where BFCL stops one level down, and BFCL's ``""`` "may be
omitted" marker is not kept as a literal allowed value (so a prediction of ``""`` matches only if ``""`` was
listed apart).

``strict=True`` drops the string standardisation: values must be equal as canonical JSON (``5 == 5.0`` still
holds, since JSON has one number type; ``"Paris" != "paris"``).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from toolkit.errors import UserError
from toolkit.specs import ToolCall, ToolSpec

__all__ = ["OneOf", "GoldCall", "CallMatch", "match_call", "standardize_string", "as_gold"]

_BFCL_STRIP = re.compile(r"[ ,./\-_*^]")


def standardize_string(text: str) -> str:
    """BFCL's ``standardize_string``: drop spaces and ``,./-_*^``, lowercase, and turn ``'`` into ``"``."""
    return _BFCL_STRIP.sub("", text).lower().replace("'", '"')


@dataclass(frozen=True)
class OneOf:
    """Alternatives for one gold value (BFCL's per-parameter possible-answer list).

    ``omittable`` means the parameter (or dict key) may be left out entirely: BFCL writes this as ``""`` in
    the list.
    """

    values: tuple[Any, ...]
    omittable: bool = False

    def __init__(self, *values: Any, omittable: bool = False):
        object.__setattr__(self, "values", tuple(values))
        object.__setattr__(self, "omittable", omittable)

    def __repr__(self) -> str:
        inner = ", ".join(repr(v) for v in self.values)
        return f"OneOf({inner}{', omittable=True' if self.omittable else ''})"


@dataclass(frozen=True, kw_only=True)
class GoldCall:
    """A gold call whose argument values may be plain JSON values or :class:`OneOf` alternatives (at any
    depth)."""

    name: str
    arguments: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def from_call(cls, call: Any, spec: ToolSpec | None = None) -> GoldCall:
        """A canonical gold call as a possible-answer set.

        With a spec, a gold value equal to the parameter's schema ``default`` becomes omittable (leaving it
        out means the same call), and optional parameters with a default that the gold leaves out may be given
        explicitly with exactly their default value.
        """
        props = _properties(spec)
        required = set(_required(spec))
        args: dict[str, Any] = {}
        for key, value in dict(call.arguments).items():
            sub = props.get(key)
            default = sub.get("default", _MISSING) if isinstance(sub, dict) else _MISSING
            omittable = (
                key not in required and default is not _MISSING and _canonical(default) == _canonical(value)
            )
            args[key] = OneOf(value, omittable=omittable)
        for key, sub in props.items():
            if key not in args and key not in required and isinstance(sub, dict) and "default" in sub:
                args[key] = OneOf(sub["default"], omittable=True)
        return cls(name=call.name, arguments=args)

    @classmethod
    def from_bfcl(cls, answer: Mapping[str, Any]) -> GoldCall:
        """Read one BFCL possible answer, ``{"func": {"param": [allowed, ...]}}``; ``""`` marks "may be
        omitted"."""
        if not isinstance(answer, Mapping) or len(answer) != 1:
            raise UserError("a BFCL possible answer is a one-key object {function_name: {param: [values]}}")
        ((name, params),) = answer.items()
        if not isinstance(params, Mapping):
            raise UserError(
                f"BFCL possible answer for {name!r} must map parameter names to lists of allowed values"
            )
        return cls(name=name, arguments={k: _bfcl_alternatives(v, k) for k, v in params.items()})


def _bfcl_alternatives(values: Any, where: str) -> OneOf:
    if not isinstance(values, list):
        raise UserError(
            f"BFCL possible answer for {where!r} must be a list of allowed values, got {values!r}"
        )
    kept = tuple(_bfcl_value(v, where) for v in values if v != "")
    return OneOf(*kept, omittable=len(kept) < len(values))


def _bfcl_value(value: Any, where: str) -> Any:
    # Inside an allowed value, BFCL writes dicts as {key: [allowed values]} and lists as literal element
    # lists.
    if isinstance(value, dict):
        return {k: _bfcl_alternatives(v, f"{where}.{k}") for k, v in value.items()}
    if isinstance(value, list):
        return [_bfcl_value(v, where) for v in value]
    return value


def as_gold(gold: Any, spec: ToolSpec | None = None) -> GoldCall:
    """Accept a :class:`GoldCall`, a :class:`ToolCall` (or anything with ``name``/``arguments``), or a BFCL
    answer."""
    if isinstance(gold, GoldCall):
        return gold
    if isinstance(gold, Mapping):
        if set(gold) >= {"name"} and set(gold) <= {"name", "arguments", "id"}:
            call = ToolCall(name=gold["name"], arguments=dict(gold.get("arguments") or {}))
            return GoldCall.from_call(call, spec)
        return GoldCall.from_bfcl(gold)
    if hasattr(gold, "name") and hasattr(gold, "arguments"):
        return GoldCall.from_call(gold, spec)
    raise UserError(
        f"cannot use {type(gold).__name__} as a gold call; give a ToolCall, GoldCall or BFCL answer"
    )


@dataclass(frozen=True)
class CallMatch:
    """Whether a predicted call matches its gold call, and every reason it does not.

    Each reason reads ``"<code>: <detail>"``; codes are ``wrong_name``, ``missing_required``,
    ``missing_param``, ``unexpected_param``, ``type_error`` and ``value_mismatch``.
    """

    matched: bool
    reasons: tuple[str, ...] = ()

    @property
    def codes(self) -> tuple[str, ...]:
        return tuple(r.split(":", 1)[0] for r in self.reasons)


def match_call(pred: ToolCall, gold: Any, spec: ToolSpec | None = None, *, strict: bool = False) -> CallMatch:
    """Match one predicted call against one gold call (see the module docstring for the rules)."""
    gold_call = as_gold(gold, spec)
    if spec is not None and spec.name != gold_call.name:
        raise UserError(
            f"spec {spec.name!r} given for gold call {gold_call.name!r}; pass the gold tool's spec"
        )
    if pred.name != gold_call.name:
        return CallMatch(False, (f"wrong_name: expected {gold_call.name!r}, got {pred.name!r}",))
    reasons: list[str] = []
    props = _properties(spec)
    required = _required(spec)
    # BFCL requires every given parameter to be declared, so a schema without an explicit additionalProperties
    # counts as closed here (JSON Schema itself would leave it open).
    closed = (
        spec is not None and bool(props) and spec.input_schema.get("additionalProperties") in (None, False)
    )
    if not isinstance(pred.arguments, Mapping):
        kind = type(pred.arguments).__name__
        return CallMatch(False, (f"type_error: arguments are a {kind}, not an object",))
    args = pred.arguments
    for key in required:
        if key not in args:
            reasons.append(f"missing_required: {key!r}")
    for key, value in args.items():
        if closed and key not in props:
            reasons.append(f"unexpected_param: {key!r} is not a parameter of {gold_call.name!r}")
            continue
        if key not in gold_call.arguments:
            reasons.append(f"unexpected_param: {key!r} is not in the gold call")
            continue
        allowed = gold_call.arguments[key]
        if key in props:
            problem = _type_problem(value, props[key], allowed, key)
            if problem:
                reasons.append(f"type_error: {problem}")
                continue
        mismatch = _value_mismatch(value, allowed, strict, key)
        if mismatch:
            reasons.append(f"value_mismatch: {mismatch}")
    for key, allowed in gold_call.arguments.items():
        if key not in args and key not in required and not (isinstance(allowed, OneOf) and allowed.omittable):
            reasons.append(f"missing_param: {key!r} is in the gold call and may not be omitted")
    return CallMatch(not reasons, tuple(reasons))


# ---- helpers -----------------------------------------------------------------------------------------------

_MISSING = object()


def _properties(spec: ToolSpec | None) -> dict[str, Any]:
    if spec is None:
        return {}
    props = spec.input_schema.get("properties")
    return props if isinstance(props, dict) else {}


def _required(spec: ToolSpec | None) -> list[str]:
    if spec is None:
        return []
    req = spec.input_schema.get("required")
    return [r for r in req if isinstance(r, str)] if isinstance(req, list) else []


def _canonical(value: Any) -> str:
    """Canonical JSON of a value; integral floats print as integers, as JSON has a single number type."""

    def norm(v: Any) -> Any:
        if isinstance(v, float) and math.isfinite(v) and v.is_integer():
            return int(v)
        if isinstance(v, Mapping):
            return {str(k): norm(x) for k, x in v.items()}
        if isinstance(v, (list, tuple)):
            return [norm(x) for x in v]
        return v

    return json.dumps(norm(value), sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=repr)


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, (list, tuple)):
        return "array"
    if isinstance(value, Mapping):
        return "object"
    return type(value).__name__


# BFCL's own type names (Gorilla format) next to JSON Schema's.
_TYPE_ALIASES = {"dict": "object", "float": "number", "tuple": "array", "list": "array", "int": "integer",
                 "str": "string", "bool": "boolean", "any": None}


def _kind_fits(kind: str, schema_type: str | None) -> bool:
    if schema_type is None:
        return True
    if kind == schema_type:
        return True
    return kind == "integer" and schema_type == "number"  # int -> float allowed; float -> int is not


def _schema_types(schema: dict[str, Any]) -> list[str | None] | None:
    raw = schema.get("type")
    if raw is None:
        return None
    names = raw if isinstance(raw, list) else [raw]
    return [_TYPE_ALIASES.get(n, n) if isinstance(n, str) else None for n in names]


def _conforms(value: Any, schema: Any, depth: int = 0) -> str | None:
    """The first type problem of ``value`` under ``schema`` (recursing into items and properties), or None."""
    if not isinstance(schema, dict) or depth > 64:
        return None
    for combiner in ("anyOf", "oneOf"):
        branches = schema.get(combiner)
        if isinstance(branches, list) and branches:
            if all(_conforms(value, b, depth + 1) for b in branches):
                return f"{_kind(value)} value matches none of the {combiner} alternatives"
    types = _schema_types(schema)
    kind = _kind(value)
    if types is not None and not any(_kind_fits(kind, t) for t in types):
        wanted = " or ".join(t or "any" for t in types)
        return f"expected {wanted}, got {kind} {_short(value)}"
    if kind == "array" and isinstance(schema.get("items"), dict):
        for i, item in enumerate(value):
            problem = _conforms(item, schema["items"], depth + 1)
            if problem:
                return f"item {i}: {problem}"
    if kind == "object" and isinstance(schema.get("properties"), dict):
        for key, item in value.items():
            problem = _conforms(item, schema["properties"].get(key), depth + 1)
            if problem:
                return f"key {key!r}: {problem}"
    return None


def _type_problem(value: Any, schema: Any, allowed: Any, key: str) -> str | None:
    problem = _conforms(value, schema)
    if problem is None:
        return None
    # BFCL's "variable" escape hatch: when the gold's own values are not of the schema's type (e.g. a variable
    # name given as a string for an integer), a value of the gold's type is accepted.
    alternatives = allowed.values if isinstance(allowed, OneOf) else (allowed,)
    for alt in alternatives:
        if _kind(alt) == _kind(value) and _conforms(alt, schema) is not None:
            return None
    return f"{key!r}: {problem}"


def _short(value: Any, limit: int = 60) -> str:
    text = _canonical(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _value_mismatch(pred: Any, gold: Any, strict: bool, where: str) -> str | None:
    """Why ``pred`` does not match ``gold`` (plain value or :class:`OneOf`, nested), or None when it does."""
    if isinstance(gold, OneOf):
        if not gold.values:
            return f"{where!r}: no value is allowed (the gold only allows omitting it)"
        problems = [_value_mismatch(pred, alt, strict, where) for alt in gold.values]
        if any(p is None for p in problems):
            return None
        if len(problems) == 1:
            return problems[0]
        allowed = ", ".join(_short(_plain(v)) for v in gold.values)
        return f"{where!r}: {_short(pred)} is not among the allowed values [{allowed}]"
    if isinstance(gold, Mapping):
        if not isinstance(pred, Mapping):
            return f"{where!r}: expected an object, got {_short(pred)}"
        for key in pred:
            if key not in gold:
                return f"{where}.{key}: unexpected key"
        for key, sub in gold.items():
            if key not in pred:
                if isinstance(sub, OneOf) and sub.omittable:
                    continue
                return f"{where}.{key}: missing key"
            problem = _value_mismatch(pred[key], sub, strict, f"{where}.{key}")
            if problem:
                return problem
        return None
    if isinstance(gold, (list, tuple)):
        if not isinstance(pred, (list, tuple)):
            return f"{where!r}: expected a list, got {_short(pred)}"
        if len(pred) != len(gold):
            return f"{where!r}: expected {len(gold)} items, got {len(pred)}"
        for i, (p, g) in enumerate(zip(pred, gold, strict=True)):
            problem = _value_mismatch(p, g, strict, f"{where}[{i}]")
            if problem:
                return problem
        return None
    if _scalar_equal(pred, gold, strict):
        return None
    return f"{where!r}: expected {_short(gold)}, got {_short(pred)}"


def _scalar_equal(pred: Any, gold: Any, strict: bool) -> bool:
    if isinstance(gold, bool) or isinstance(pred, bool):
        return isinstance(gold, bool) and isinstance(pred, bool) and pred == gold
    if isinstance(gold, (int, float)):
        return isinstance(pred, (int, float)) and pred == gold
    if isinstance(gold, str):
        if not isinstance(pred, str):
            return False
        return pred == gold if strict else standardize_string(pred) == standardize_string(gold)
    return _canonical(pred) == _canonical(gold)


def _plain(value: Any) -> Any:
    """A gold value with :class:`OneOf` markers replaced by their first alternative, for messages."""
    if isinstance(value, OneOf):
        return _plain(value.values[0]) if value.values else None
    if isinstance(value, Mapping):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value
