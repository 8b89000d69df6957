"""JSON Schema -> Python type annotations, with nested objects as ``TypedDict`` classes.

Covers the subset tools use: scalars, ``enum``/``const`` (as ``Literal``), nullable and union types
(``type`` lists, ``anyOf``/``oneOf``), arrays (``list[T]``, ``prefixItems`` as ``tuple``), objects with
properties (``TypedDict``; the functional form when a key is not an identifier), free-form objects
(``dict[str, T]``) and local ``$ref``s (a ``$defs`` object becomes a class of that name, so recursive schemas
render too).
"""

from __future__ import annotations

import json
import keyword
import re
from typing import Any

from toolkit.errors import UserError
from toolkit.presentations.base import dumps_json

__all__ = ["ClassBook", "TypeRenderer", "constraint_note", "describe", "docstring", "py_literal"]

_SCALARS = {"string": "str", "integer": "int", "number": "float", "boolean": "bool", "null": "None"}
_CONSTRAINTS = (
    "format", "pattern", "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf",
    "minLength", "maxLength", "minItems", "maxItems", "uniqueItems", "minProperties", "maxProperties",
)  # fmt: skip
_WORDS = re.compile(r"[A-Za-z0-9]+")


def py_literal(value: Any) -> str:
    """A JSON value as Python literal text that :func:`ast.parse` reads back to the same value."""
    if value is None or isinstance(value, bool):
        return repr(value)
    if isinstance(value, int):
        return repr(value)
    if isinstance(value, float):
        return dumps_json(value)  # refuses NaN and infinities, which have no literal
    if isinstance(value, str):
        return dumps_json(value)  # a JSON string is a valid Python string with the same value
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(py_literal(v) for v in value) + "]"
    if isinstance(value, dict):
        items = []
        for key, item in value.items():
            if not isinstance(key, str):
                raise UserError(f"object key {key!r} is not a string; arguments must be JSON")
            items.append(f"{dumps_json(key)}: {py_literal(item)}")
        return "{" + ", ".join(items) + "}"
    raise UserError(f"{type(value).__name__} value {value!r} is not JSON; arguments must be JSON values")


def one_line(text: str) -> str:
    return " ".join(text.split())


def constraint_note(schema: Any) -> str:
    """``format: date; minimum: 1`` for the validation keywords Python annotations cannot show."""
    if not isinstance(schema, dict):
        return ""
    return "; ".join(
        f"{key}: {schema[key] if isinstance(schema[key], str) else dumps_json(schema[key])}"
        for key in _CONSTRAINTS
        if key in schema
    )


def _camel(text: str) -> str:
    words = _WORDS.findall(text)
    name = "".join(w[:1].upper() + w[1:] for w in words) or "Object"
    return "_" + name if name[0].isdigit() else name


class ClassBook:
    """The TypedDict classes a rendering needs, in definition order (a class after the classes it uses), with
    names unique across all tools. Identical schemas share one class."""

    def __init__(self) -> None:
        self._keys: dict[str, str] = {}
        self.sources: dict[str, str] = {}
        self.typing: set[str] = set()

    def claim(self, base: str, key: str) -> tuple[str, bool]:
        """The class name for the schema identified by ``key``, and whether it still has to be rendered."""
        name, n = base, 2
        while name in self._keys and self._keys[name] != key:
            name, n = f"{base}{n}", n + 1
        fresh = name not in self._keys
        self._keys[name] = key
        return name, fresh


class TypeRenderer:
    """Annotations for the schemas inside one root schema (whose ``$defs`` resolve its ``$ref``s)."""

    def __init__(self, root: dict[str, Any], book: ClassBook):
        defs = root.get("$defs") if isinstance(root.get("$defs"), dict) else root.get("definitions")
        self.defs: dict[str, Any] = defs if isinstance(defs, dict) else {}
        self.book = book
        self._defs_key = json.dumps(self.defs, sort_keys=True)
        self._resolving: set[str] = set()

    def annotation(self, schema: Any, hint: str) -> str:
        if schema is True or schema == {} or not isinstance(schema, dict):
            return self._typing("Any")
        if isinstance(schema.get("$ref"), str):
            return self._ref(schema["$ref"], hint)
        if "const" in schema:
            return self._literal([schema["const"]], schema, hint)
        if isinstance(schema.get("enum"), list) and schema["enum"]:
            return self._literal(schema["enum"], schema, hint)
        for key in ("anyOf", "oneOf"):
            if isinstance(schema.get(key), list) and schema[key]:
                base = {k: v for k, v in schema.items() if k not in (key, "description", "title")}
                branches = [{**base, **s} if isinstance(s, dict) else s for s in schema[key]]
                return self._union([self.annotation(branch, hint) for branch in branches])
        parts = schema.get("allOf")
        if isinstance(parts, list) and parts and all(isinstance(p, dict) for p in parts):
            return self.annotation(_merge_all_of(schema, parts), hint)
        kind = schema.get("type")
        if isinstance(kind, list):
            return self._union([self.annotation({**schema, "type": t}, hint) for t in kind])
        if kind is None and "properties" in schema:
            kind = "object"
        if kind in _SCALARS:
            return _SCALARS[kind]
        if kind == "array":
            return self._array(schema, hint)
        if kind == "object":
            return self._object(schema, hint)
        return self._typing("Any")

    def _typing(self, name: str) -> str:
        self.book.typing.add(name)
        return name

    def _union(self, parts: list[str]) -> str:
        unique = list(dict.fromkeys(parts))
        if "Any" in unique:
            return "Any"
        if "None" in unique:  # the Optional convention: None last
            unique = [p for p in unique if p != "None"] + ["None"]
        return " | ".join(unique)

    def _literal(self, values: list[Any], schema: dict[str, Any], hint: str) -> str:
        if any(isinstance(v, (dict, list)) for v in values):
            rest = {k: v for k, v in schema.items() if k not in ("enum", "const")}
            return self.annotation(rest, hint)
        return f"{self._typing('Literal')}[{', '.join(py_literal(v) for v in values)}]"

    def _array(self, schema: dict[str, Any], hint: str) -> str:
        prefix = schema.get("prefixItems")
        if isinstance(prefix, list) and prefix and schema.get("items") is False:
            return f"tuple[{', '.join(self.annotation(s, hint + 'Item') for s in prefix)}]"
        return f"list[{self.annotation(schema.get('items', True), hint + 'Item')}]"

    def _ref(self, ref: str, hint: str) -> str:
        key = ref.rsplit("/", 1)[-1]
        if not ref.startswith(("#/$defs/", "#/definitions/")) or key not in self.defs:
            return self._typing("Any")
        target = self.defs[key]
        if isinstance(target, dict) and isinstance(target.get("properties"), dict) and target["properties"]:
            return self._object(target, key, name_base=_camel(key), key=f"def:{key}:{self._defs_key}")
        if key in self._resolving:  # a recursive non-object alias has no finite annotation
            return self._typing("Any")
        self._resolving.add(key)
        try:
            return self.annotation(target, hint)
        finally:
            self._resolving.discard(key)

    def _object(
        self, schema: dict[str, Any], hint: str, *, name_base: str | None = None, key: str = ""
    ) -> str:
        props = schema.get("properties")
        if not isinstance(props, dict) or not props:
            extra = schema.get("additionalProperties", True)
            value = self.annotation(extra, hint + "Value") if isinstance(extra, dict) else self._typing("Any")
            return f"dict[str, {value}]"
        title = schema.get("title")
        base = name_base or _camel(title if isinstance(title, str) and title else hint)
        key = key or "inline:" + json.dumps([schema, self._defs_key], sort_keys=True)
        name, fresh = self.book.claim(base, key)
        if not fresh:  # already rendered, or being rendered further up (a recursive reference)
            return name if name in self.book.sources else f'"{name}"'
        self._typing("TypedDict")
        required = set(schema.get("required") or ())
        fields = []
        for prop, sub in props.items():
            ann = self.annotation(sub, hint + _camel(prop))
            if prop not in required:
                ann = f"{self._typing('NotRequired')}[{ann}]"
            fields.append((prop, ann, describe(sub)))
        doc = one_line(schema["description"]) if isinstance(schema.get("description"), str) else ""
        self.book.sources[name] = _class_source(name, fields, doc)
        return name


def _merge_all_of(schema: dict[str, Any], parts: list[dict[str, Any]]) -> dict[str, Any]:
    """One schema for ``allOf`` parts: properties and required lists united, other keywords first-wins."""
    merged = {k: v for k, v in schema.items() if k != "allOf"}
    for part in parts:
        for key, value in part.items():
            if key == "properties" and isinstance(value, dict):
                merged["properties"] = {**merged.get("properties", {}), **value}
            elif key == "required" and isinstance(value, list):
                merged["required"] = list(dict.fromkeys([*merged.get("required", []), *value]))
            else:
                merged.setdefault(key, value)
    return merged


def _class_source(name: str, fields: list[tuple[str, str, str]], doc: str) -> str:
    if all(k.isidentifier() and not keyword.iskeyword(k) for k, _, _ in fields):
        lines = [f"class {name}(TypedDict):"]
        if doc:
            lines.append(f"    {docstring(doc)}")
        lines += [f"    {k}: {ann}" + (f"  # {note}" if note else "") for k, ann, note in fields]
        return "\n".join(lines)
    lines = [f"{name} = TypedDict(", f"    {dumps_json(name)},", "    {"]
    if doc:
        lines.insert(0, f"# {doc}")
    lines += [f"        {dumps_json(k)}: {ann}," + (f"  # {note}" if note else "") for k, ann, note in fields]
    lines += ["    },", ")"]
    return "\n".join(lines)


def docstring(text: str, indent: str = "    ") -> str:
    """A triple-quoted docstring holding ``text`` verbatim, escaped only where Python syntax needs it."""
    body = text.replace("\\", "\\\\").replace('"""', '\\"\\"\\"')
    if body.endswith('"'):
        body = body[:-1] + '\\"'
    lines = body.split("\n")
    if len(lines) == 1:
        return f'"""{body}"""'
    indented = "\n".join(indent + line if line.strip() else "" for line in lines[1:])
    return f'"""{lines[0]}\n{indented}\n{indent}"""'


def describe(schema: Any) -> str:
    """A schema's description on one line, followed by its constraints in parentheses."""
    text = schema.get("description") if isinstance(schema, dict) else None
    desc = one_line(text) if isinstance(text, str) else ""
    note = constraint_note(schema)
    return f"{desc} ({note})" if desc and note else desc or (f"({note})" if note else "")
