"""A library of tool input schemas covering the JSON Schema that real tools use, and a hypothesis strategy
that draws argument objects satisfying them.

Tool names deliberately include dashes, dots and a Python keyword (MCP allows all three), and one schema has
property names that are not Python identifiers, so every presentation's name handling is exercised.
"""

from __future__ import annotations

import datetime as dt
import string
from typing import Any

from hypothesis import strategies as st

from toolkit.specs import ToolSpec

__all__ = ["SAMPLE_SCHEMAS", "SAMPLE_TOOL_NAMES", "arguments_for", "sample_specs", "values_for"]

_ADDRESS = {
    "type": "object",
    "description": "A postal address.",
    "properties": {
        "street": {"type": "string", "description": "Street and number."},
        "city": {"type": "string"},
        "zip": {"type": "string", "pattern": "^[0-9]{5}$"},
        "geo": {
            "type": "object",
            "properties": {
                "lat": {"type": "number", "minimum": -90, "maximum": 90},
                "lon": {"type": "number"},
            },
            "required": ["lat", "lon"],
        },
    },
    "required": ["street", "city"],
}

SAMPLE_SCHEMAS: dict[str, dict[str, Any]] = {
    "scalars": {
        "type": "object",
        "properties": {
            "text": {"type": "string", "description": "Any text, quotes and newlines included."},
            "count": {"type": "integer", "description": "How many."},
            "ratio": {"type": "number"},
            "flag": {"type": "boolean"},
        },
        "required": ["text", "count", "ratio", "flag"],
    },
    "enums_and_defaults": {
        "type": "object",
        "properties": {
            "unit": {"type": "string", "enum": ["celsius", "fahrenheit"], "default": "celsius"},
            "level": {"type": "integer", "enum": [1, 2, 3]},
            "days": {"type": "integer", "minimum": 1, "maximum": 14, "default": 3},
            "mode": {"const": "fast"},
            "verbose": {"type": "boolean", "default": False},
        },
        "required": ["level"],
    },
    "all_optional": {
        "type": "object",
        "properties": {
            "query": {"type": "string", "minLength": 1, "maxLength": 40},
            "limit": {"type": "integer", "exclusiveMinimum": 0, "maximum": 100},
            "offset": {"type": "integer", "minimum": 0},
        },
    },
    "no_parameters": {"type": "object", "properties": {}, "additionalProperties": False},
    "nested_object": {
        "type": "object",
        "properties": {
            "name": {"type": "string"},
            "address": _ADDRESS,
            "tags": {"type": "array", "items": {"type": "string"}, "maxItems": 4},
        },
        "required": ["name", "address"],
    },
    "array_of_objects": {
        "type": "object",
        "properties": {
            "items": {
                "type": "array",
                "minItems": 1,
                "items": {
                    "type": "object",
                    "properties": {
                        "sku": {"type": "string", "pattern": "^[A-Z]{3}-[0-9]{3}$"},
                        "qty": {"type": "integer", "minimum": 1},
                        "options": {"type": "object", "additionalProperties": {"type": "string"}},
                    },
                    "required": ["sku", "qty"],
                    "additionalProperties": False,
                },
            },
            "matrix": {"type": "array", "items": {"type": "array", "items": {"type": "integer"}}},
        },
        "required": ["items"],
    },
    "refs": {
        "type": "object",
        "$defs": {
            "Point": {
                "type": "object",
                "properties": {"x": {"type": "number"}, "y": {"type": "number"}},
                "required": ["x", "y"],
            },
            "Tree": {
                "type": "object",
                "properties": {
                    "label": {"type": "string"},
                    "children": {"type": "array", "items": {"$ref": "#/$defs/Tree"}},
                },
                "required": ["label"],
            },
        },
        "properties": {
            "start": {"$ref": "#/$defs/Point"},
            "end": {"$ref": "#/$defs/Point", "description": "Where the path ends."},
            "tree": {"$ref": "#/$defs/Tree"},
        },
        "required": ["start", "end"],
    },
    "unions": {
        "type": "object",
        "properties": {
            "key": {"anyOf": [{"type": "string"}, {"type": "integer"}], "description": "Name or numeric id."},
            "shape": {
                "oneOf": [
                    {
                        "type": "object",
                        "properties": {
                            "kind": {"const": "circle"},
                            "radius": {"type": "number", "minimum": 0},
                        },
                        "required": ["kind", "radius"],
                        "additionalProperties": False,
                    },
                    {
                        "type": "object",
                        "properties": {"kind": {"const": "square"}, "side": {"type": "number", "minimum": 0}},
                        "required": ["kind", "side"],
                        "additionalProperties": False,
                    },
                ]
            },
        },
        "required": ["key", "shape"],
    },
    "nullable": {
        "type": "object",
        "properties": {
            "note": {"type": ["string", "null"], "description": "A note, or null to clear it."},
            "score": {"anyOf": [{"type": "number"}, {"type": "null"}]},
            "due": {"type": "string", "format": "date"},
        },
        "required": ["note"],
    },
    "formats": {
        "type": "object",
        "properties": {
            "day": {"type": "string", "format": "date"},
            "at": {"type": "string", "format": "date-time"},
            "email": {"type": "string", "format": "email"},
            "id": {"type": "string", "format": "uuid"},
        },
        "required": ["day", "email"],
    },
    "odd_names": {
        "type": "object",
        "properties": {
            "first-name": {"type": "string", "description": "Not an identifier."},
            "first_name": {"type": "string", "description": "Collides with first-name once sanitized."},
            "user.id": {"type": "integer"},
            "class": {"type": "string", "description": "A Python keyword."},
            "2fa": {"type": "boolean"},
            "type": {"type": "string"},
        },
        "required": ["first-name", "class"],
    },
    "free_form": {
        "type": "object",
        "properties": {
            "counts": {"type": "object", "additionalProperties": {"type": "integer"}},
            "payload": {"type": "object"},
            "point": {
                "type": "array",
                "prefixItems": [{"type": "number"}, {"type": "number"}],
                "items": False,
            },
        },
        "required": ["payload"],
    },
}

SAMPLE_TOOL_NAMES: dict[str, str] = {
    "scalars": "echo_scalars",
    "enums_and_defaults": "get-weather",
    "all_optional": "search.docs",
    "no_parameters": "ping",
    "nested_object": "crm.create-contact",
    "array_of_objects": "place_order",
    "refs": "draw-path",
    "unions": "lookup",
    "nullable": "tasks.update",
    "formats": "class",
    "odd_names": "set-user",
    "free_form": "store.put",
}


def sample_specs() -> list[ToolSpec]:
    return [
        ToolSpec(
            name=SAMPLE_TOOL_NAMES[key],
            description=f"Sample tool: {key.replace('_', ' ')}.",
            input_schema=schema,
        )
        for key, schema in SAMPLE_SCHEMAS.items()
    ]


# -- values -----------------------------------------------------------------------------------------------

_MAX_DEPTH = 3
_KEYS = st.text(alphabet=string.ascii_letters + string.digits + "-_.", min_size=1, max_size=8)
_JSON_SCALARS = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=8)
)
_FORMATS = {
    "date": st.dates().map(dt.date.isoformat),
    "date-time": st.datetimes(timezones=st.just(dt.UTC)).map(lambda d: d.isoformat()),
    "email": st.emails(),
    "uuid": st.uuids().map(str),
}


def values_for(schema: Any, root: dict[str, Any], depth: int = 0) -> st.SearchStrategy[Any]:
    """Values valid against ``schema`` (the subset :data:`SAMPLE_SCHEMAS` uses); refs resolve in ``root``."""
    if schema is True or schema == {} or not isinstance(schema, dict):
        return st.recursive(
            _JSON_SCALARS,
            lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_KEYS, inner, max_size=3),
            max_leaves=5,
        )
    if "$ref" in schema:
        target = root["$defs"][schema["$ref"].rsplit("/", 1)[-1]]
        return values_for(target, root, depth + 1)
    if "const" in schema:
        return st.just(schema["const"])
    if "enum" in schema:
        return st.sampled_from(schema["enum"])
    for key in ("anyOf", "oneOf"):
        if key in schema:
            return st.one_of([values_for(branch, root, depth) for branch in schema[key]])
    kind = schema.get("type", "object")
    if isinstance(kind, list):
        return st.one_of([values_for({**schema, "type": t}, root, depth) for t in kind])
    if kind == "string":
        if "format" in schema:
            return _FORMATS[schema["format"]]
        if "pattern" in schema:
            return st.from_regex(schema["pattern"], fullmatch=True)
        return st.text(min_size=schema.get("minLength", 0), max_size=schema.get("maxLength", 24))
    if kind == "integer":
        low = schema.get("minimum", schema.get("exclusiveMinimum", -(10**12) - 1) + 1)
        return st.integers(min_value=low, max_value=schema.get("maximum", 10**12))
    if kind == "number":
        return st.floats(
            min_value=schema.get("minimum"),
            max_value=schema.get("maximum"),
            allow_nan=False,
            allow_infinity=False,
        )
    if kind == "boolean":
        return st.booleans()
    if kind == "null":
        return st.none()
    if kind == "array":
        if "prefixItems" in schema:
            return st.tuples(*(values_for(s, root, depth + 1) for s in schema["prefixItems"])).map(list)
        high = 0 if depth >= _MAX_DEPTH else min(schema.get("maxItems", 3), 3)
        low = schema.get("minItems", 0)
        if max(low, high) == 0:  # no item strategy at all: recursive item schemas must stop somewhere
            return st.just([])
        items = values_for(schema.get("items", True), root, depth + 1)
        return st.lists(items, min_size=low, max_size=max(low, high))
    return _object(schema, root, depth)


def _object(schema: dict[str, Any], root: dict[str, Any], depth: int) -> st.SearchStrategy[dict[str, Any]]:
    props = schema.get("properties", {})
    required = set(schema.get("required", ()))
    extra = schema.get("additionalProperties")
    if not props and extra is False:
        return st.just({})
    if not props:
        value = values_for(extra if isinstance(extra, dict) else True, root, depth + 1)
        return st.dictionaries(_KEYS, value, max_size=0 if depth >= _MAX_DEPTH else 3)
    if depth >= _MAX_DEPTH:  # deep down, only what is required (recursive schemas end here)
        props = {k: s for k, s in props.items() if k in required}
    fields = {k: values_for(s, root, depth + 1) for k, s in props.items()}
    optional = [k for k in props if k not in required]

    @st.composite
    def build(draw: st.DrawFn) -> dict[str, Any]:
        chosen = set(draw(st.lists(st.sampled_from(optional), unique=True))) if optional else set()
        return {k: draw(fields[k]) for k in props if k in required or k in chosen}

    return build()


def arguments_for(spec: ToolSpec) -> st.SearchStrategy[dict[str, Any]]:
    return values_for(spec.input_schema, spec.input_schema)
