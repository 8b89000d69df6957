"""JSON Schema helpers shared by registration, validation, presentations and synthesis.

Validators are compiled once per distinct schema and cached: building a validator costs far more than running one,
and a dataset checks the same few schemas millions of times. Schemas can come from untrusted MCP servers, so every
schema is bounded in size and depth before use.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from functools import lru_cache
from typing import Any
from urllib.parse import unquote

from jsonschema import Draft202012Validator, FormatChecker, validators
from jsonschema.exceptions import SchemaError, ValidationError

from toolkit.errors import UserError
from toolkit.jsonschema_fast import compile_check
from toolkit.regex_safety import REGEX_TIME_BUDGET_S, pattern_search, unsafe_pattern_reason

__all__ = [
    "MAX_SCHEMA_NODES",
    "MAX_SCHEMA_DEPTH",
    "SchemaValidator",
    "check_schema_bounds",
    "validator_for",
    "validation_errors",
    "inline_refs",
]

MAX_SCHEMA_NODES = 20_000
MAX_SCHEMA_DEPTH = 64


def check_schema_bounds(schema: Any, *, max_nodes: int = MAX_SCHEMA_NODES, max_depth: int = MAX_SCHEMA_DEPTH) -> None:
    """Raise :class:`UserError` if a schema (or any JSON value) is too large or too deeply nested to handle."""
    nodes = 0
    stack: list[tuple[Any, int]] = [(schema, 1)]
    while stack:
        value, depth = stack.pop()
        nodes += 1
        if depth > max_depth:
            raise UserError(f"schema nested deeper than {max_depth} levels; flatten it or raise the depth limit")
        if nodes > max_nodes:
            raise UserError(f"schema has more than {max_nodes} nodes; simplify it or raise the size limit")
        if isinstance(value, dict):
            _check_patterns(value)
            stack.extend((v, depth + 1) for v in value.values())
        elif isinstance(value, list):
            stack.extend((v, depth + 1) for v in value)


def _check_patterns(node: dict[str, Any]) -> None:
    # jsonschema runs `pattern`s with Python's backtracking `re` (holding the GIL): an exponential pattern in an
    # untrusted schema would freeze validation, so such schemas are refused when they are read.
    patterns = [node["pattern"]] if isinstance(node.get("pattern"), str) else []
    if isinstance(node.get("patternProperties"), dict):
        patterns.extend(k for k in node["patternProperties"] if isinstance(k, str))
    for pattern in patterns:
        why = unsafe_pattern_reason(pattern)
        if why:
            raise UserError(f"schema pattern {pattern[:60]!r} is refused: {why}; rewrite it without nested or "
                            "overlapping adjacent repeats and backreferences, or drop the pattern")


class SchemaValidator:
    """A compiled schema: ``jsonschema``'s Draft 2020-12 validator (with format checks), fronted by a closure
    check (:mod:`toolkit.jsonschema_fast`) that answers "valid" about ten times faster. ``jsonschema`` decides every
    instance the fast check does not pass, and explains every failure, so verdicts and messages are its own."""

    __slots__ = ("jsonschema", "schema", "_fast")

    def __init__(self, validator: Draft202012Validator):
        self.jsonschema = validator
        self.schema = validator.schema
        self._fast = compile_check(validator.schema, format_checker=validator.format_checker)

    def is_valid(self, instance: Any) -> bool:
        return (self._fast is not None and self._fast(instance)) or self.jsonschema.is_valid(instance)

    def iter_errors(self, instance: Any) -> Iterator[ValidationError]:
        if self._fast is not None and self._fast(instance):
            return iter(())
        return self.jsonschema.iter_errors(instance)


def _too_slow(pattern: str, text: str) -> str:
    return (f"{text[:60]!r}{'...' if len(text) > 60 else ''} could not be checked against {pattern!r} within "
            f"{REGEX_TIME_BUDGET_S:g} s (the pattern backtracks too much on it); simplify the schema's pattern")


def _pattern(validator: Any, pattern: str, instance: Any, schema: Any) -> Iterator[ValidationError]:
    if validator.is_type(instance, "string"):
        found = pattern_search(pattern, instance)
        if found is None:
            yield ValidationError(_too_slow(pattern, instance))
        elif not found:
            yield ValidationError(f"{instance!r} does not match {pattern!r}")


def _pattern_properties(validator: Any, patterns: dict[str, Any], instance: Any, schema: Any
                        ) -> Iterator[ValidationError]:
    if not validator.is_type(instance, "object"):
        return
    for pattern, subschema in patterns.items():
        for key, value in instance.items():
            found = pattern_search(pattern, key)
            if found is None:
                yield ValidationError("property name " + _too_slow(pattern, key))
            elif found:
                yield from validator.descend(value, subschema, path=key, schema_path=pattern)


# jsonschema runs `pattern` with re, which holds the GIL and cannot be stopped: a schema pattern that passed the static
# check can still backtrack for minutes on a long value. These two keywords run on a deadline instead.
_Validator = validators.extend(Draft202012Validator, {"pattern": _pattern, "patternProperties": _pattern_properties})


@lru_cache(maxsize=4096)
def _compiled(schema_json: str) -> SchemaValidator:
    schema = json.loads(schema_json)
    check_schema_bounds(schema)
    try:
        Draft202012Validator.check_schema(schema)
    except SchemaError as exc:
        raise UserError(f"invalid JSON Schema: {exc.message} (at {'/'.join(map(str, exc.path)) or 'root'})") from None
    try:
        # Following a $ref costs a registry lookup on every check; most tool schemas (pydantic's among them) use
        # refs only to share definitions, so inlining them once makes every check cheaper. Recursive refs stay
        # refs, and a schema whose refs would expand too far is validated with its refs as they are.
        schema = inline_refs(schema)
    except UserError:
        pass
    return SchemaValidator(_Validator(schema, format_checker=FormatChecker()))


def validator_for(schema: dict[str, Any]) -> SchemaValidator:
    """A compiled Draft 2020-12 validator (with format checks) for ``schema``, cached by its canonical JSON."""
    return _compiled(json.dumps(schema, sort_keys=True, separators=(",", ":")))


def validation_errors(schema: dict[str, Any], instance: Any, *, limit: int = 5) -> list[str]:
    """Human- and model-readable problems of ``instance`` against ``schema`` (empty when valid)."""
    out: list[str] = []
    for err in validator_for(schema).iter_errors(instance):
        where = "/".join(str(p) for p in err.absolute_path)
        out.append(f"{where or '(root)'}: {err.message}")
        if len(out) >= limit:
            break
    return sorted(out)


# Keywords that only describe: a ref's sibling may override the target's (a field's own description wins).
_ANNOTATIONS = frozenset({"title", "description", "default", "examples", "$comment", "deprecated", "readOnly",
                          "writeOnly"})
_DEF_CONTAINERS = ("$defs", "definitions")  # 2020-12's name, and draft-07's (zod-to-json-schema emits it)


def _def_ref(ref: str) -> tuple[str, str] | None:
    """``(container, name)`` for a ref of the form ``#/$defs/Name`` or ``#/definitions/Name``, else None."""
    if not ref.startswith("#/"):
        return None
    parts = unquote(ref[2:]).split("/")
    if len(parts) != 2 or parts[0] not in _DEF_CONTAINERS:
        return None  # e.g. "#/$defs/A/properties/b": not a whole definition, so it is left as a ref
    return parts[0], parts[1].replace("~1", "/").replace("~0", "~")


def inline_refs(schema: dict[str, Any]) -> dict[str, Any]:
    """Return a copy with local ``$ref``s to ``$defs``/``definitions`` replaced by their targets.

    Recursive references (and any ref that cannot be inlined) are left in place, and then the root's definition
    containers are kept as they are, under their own names, so that every remaining ref still resolves.
    """
    containers = {c: schema[c] for c in _DEF_CONTAINERS if isinstance(schema.get(c), dict)}
    if not containers:
        return copy.deepcopy(schema)
    kept_ref = False
    nodes = 0

    def resolve(node: Any, seen: tuple[tuple[str, str], ...]) -> Any:
        nonlocal kept_ref, nodes
        nodes += 1
        if nodes > MAX_SCHEMA_NODES:  # nested refs can expand exponentially: stop counting, report at the end
            return {}
        if isinstance(node, dict):
            ref = node.get("$ref")
            where = _def_ref(ref) if isinstance(ref, str) else None
            if where is not None and where not in seen and where[1] in containers.get(where[0], {}):
                target = resolve(containers[where[0]][where[1]], seen + (where,))
                siblings = {k: resolve(v, seen) for k, v in node.items() if k != "$ref"}
                if not isinstance(target, dict):  # a boolean schema: `true` leaves the siblings to constrain
                    return (siblings or True) if target is True else target
                if (set(siblings) & set(target)) - _ANNOTATIONS:  # both constrain: a merge would drop the target's
                    return {"allOf": [target], **siblings}
                return {**target, **siblings}
            if isinstance(ref, str):
                kept_ref = True  # recursive, dangling or not a whole definition: it needs the containers below
            return {k: resolve(v, seen) for k, v in node.items()}
        if isinstance(node, list):
            return [resolve(v, seen) for v in node]
        return node

    # Only the root's containers are dropped: a nested "definitions" may be a property name, or a ref's target.
    out = resolve({k: v for k, v in schema.items() if k not in containers}, ())
    if nodes > MAX_SCHEMA_NODES:
        raise UserError(f"schema's $refs expand to more than {MAX_SCHEMA_NODES} nodes when inlined; it is too large "
                        "to use (simplify its definitions)")
    if kept_ref and isinstance(out, dict):
        out.update(copy.deepcopy(containers))
    return out
