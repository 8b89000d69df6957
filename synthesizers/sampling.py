"""Sample argument values that satisfy a JSON Schema, grounded in values that exist in the environment.

Used by the offline synthesizer for tools without templates (a user's own MCP server works out of the box).
Supported: types (incl. type lists), ``enum``/``const``, numeric ranges and ``multipleOf``, string lengths,
``format`` (date, date-time, time, email, uri, uuid, ipv4, hostname), simple ``pattern``s, nested objects with
required/optional properties, arrays with item counts and ``uniqueItems``, ``anyOf``/``oneOf``/``allOf``, and local
``$ref``s. Every sample is checked against the schema before it is returned; a schema the sampler cannot satisfy
raises :class:`SamplingError` with the reason, which the runner records as the sample's failure.
"""

from __future__ import annotations

import datetime as dt
import random

import string
import uuid
from collections.abc import Mapping, Sequence
from typing import Any

from toolkit.jsonschema_utils import inline_refs, validation_errors

__all__ = ["SamplingError", "sample_arguments", "sample_value"]

_WORDS = ("alpha", "report", "north", "quarterly", "budget", "river", "meeting", "draft", "summary", "paris",
          "invoice", "orange", "project", "lisbon", "kernel", "review", "garden", "delta", "harbor", "notes")


class SamplingError(Exception):
    """The sampler could not produce a value that satisfies the schema."""


_MAX_STRING = 4096  # longest string, array or pattern repetition the sampler will build (untrusted schemas)


def _bounded(n: int, what: str) -> int:
    if n > _MAX_STRING:
        raise SamplingError(f"{what} of {n} is larger than the sampler builds ({_MAX_STRING}); relax the schema")
    return n


def _words(rng: random.Random, k: int) -> str:
    return " ".join(rng.choice(_WORDS) for _ in range(k))


def _string_for_pattern(pattern: str, rng: random.Random) -> str:
    """Generate a string for simple regexes: literals, escapes, classes, groups of alternatives, quantifiers."""
    body = pattern.removeprefix("^").removesuffix("$")
    out: list[str] = []
    i = 0
    classes = {"d": string.digits, "w": string.ascii_letters + string.digits + "_", "s": " "}
    while i < len(body):
        ch = body[i]
        if ch == "\\" and i + 1 < len(body):
            nxt = body[i + 1]
            pool, i = (classes.get(nxt) or nxt), i + 2
        elif ch == "[":
            end = body.index("]", i + 1)
            spec, i = body[i + 1 : end], end + 1
            if spec.startswith("^"):
                raise SamplingError(f"negated character class in pattern {pattern!r} is not supported")
            pool_chars: list[str] = []
            j = 0
            while j < len(spec):
                if spec[j] == "\\" and j + 1 < len(spec):
                    pool_chars.extend(classes.get(spec[j + 1], spec[j + 1]))
                    j += 2
                elif j + 2 < len(spec) and spec[j + 1] == "-":
                    pool_chars.extend(chr(c) for c in range(ord(spec[j]), ord(spec[j + 2]) + 1))
                    j += 3
                else:
                    pool_chars.append(spec[j])
                    j += 1
            pool = "".join(pool_chars)
        elif ch == "(":
            end = body.index(")", i + 1)
            alts, i = body[i + 1 : end].split("|"), end + 1
            pool = [_string_for_pattern(a, rng) for a in alts]  # type: ignore[assignment]
        elif ch in ".":
            pool, i = string.ascii_lowercase, i + 1
        elif ch in "*+?{}|^$":
            raise SamplingError(f"pattern {pattern!r} is too complex to sample (at {ch!r})")
        else:
            pool, i = ch, i + 1
        lo = hi = 1
        if i < len(body) and body[i] in "*+?{":
            q = body[i]
            if q == "{":
                end = body.index("}", i)
                parts = body[i + 1 : end].split(",")
                lo = _bounded(int(parts[0]), "pattern repetition")
                hi = _bounded(int(parts[1]) if len(parts) > 1 and parts[1] else (lo if len(parts) == 1 else lo + 3),
                              "pattern repetition")
                i = end + 1
            else:
                lo, hi = {"*": (0, 3), "+": (1, 3), "?": (0, 1)}[q]
                i += 1
        out.extend(rng.choice(pool) for _ in range(rng.randint(lo, hi)))
    return "".join(out)


def _sample_string(schema: Mapping[str, Any], rng: random.Random, name: str) -> str:
    fmt = schema.get("format")
    base = dt.date(2026, 1, 5) + dt.timedelta(days=rng.randint(0, 300))
    if fmt == "date":
        return base.isoformat()
    if fmt == "date-time":
        return dt.datetime.combine(base, dt.time(rng.randint(8, 17), rng.choice((0, 15, 30, 45)))).isoformat() + "Z"
    if fmt == "time":
        return f"{rng.randint(8, 17):02d}:{rng.choice((0, 15, 30, 45)):02d}:00"
    if fmt == "email":
        return f"{rng.choice(('ana', 'li', 'sam', 'noor', 'kai'))}.{rng.choice(_WORDS)}@example.com"
    if fmt in ("uri", "url", "iri"):
        return f"https://example.com/{rng.choice(_WORDS)}/{rng.randint(1, 999)}"
    if fmt == "uuid":
        return str(uuid.UUID(int=rng.getrandbits(128), version=4))
    if fmt == "ipv4":
        return ".".join(str(rng.randint(1, 254)) for _ in range(4))
    if fmt == "hostname":
        return f"{rng.choice(_WORDS)}.example.com"
    if "pattern" in schema:
        try:
            return _string_for_pattern(schema["pattern"], rng)
        except (ValueError, IndexError) as exc:  # an unterminated class or group in an untrusted pattern
            raise SamplingError(f"cannot sample pattern {schema['pattern'][:60]!r}: {exc}") from None
    lo = _bounded(schema.get("minLength", 1), "minLength")
    hi = schema.get("maxLength", max(40, lo))
    text = _words(rng, rng.randint(1, 3)) if "name" not in name.lower() else rng.choice(_WORDS).title()
    if len(text) < lo:  # pad in one step: growing a string word by word is quadratic
        text = (text + " " + " ".join(rng.choice(_WORDS) for _ in range(lo // 4 + 1)))[: max(lo, len(text))]
    return text[:hi] if len(text) > hi else text


def _sample_number(schema: Mapping[str, Any], rng: random.Random, integer: bool) -> int | float:
    lo = schema.get("minimum", schema.get("exclusiveMinimum", 0 if integer else 0.0))
    hi = schema.get("maximum", schema.get("exclusiveMaximum", lo + 100))
    if "exclusiveMinimum" in schema:
        lo = lo + (1 if integer else 1e-6)
    if "exclusiveMaximum" in schema:
        hi = hi - (1 if integer else 1e-6)
    if hi < lo:
        raise SamplingError(f"empty numeric range [{lo}, {hi}]")
    step = schema.get("multipleOf")
    if integer:
        value: int | float = rng.randint(int(lo), int(hi))
        if step:
            value = int(step * max(1, round(value / step)))
        return value
    value = round(rng.uniform(lo, hi), 2)
    if step:
        value = step * round(value / step)
    return value


def sample_value(schema: Any, rng: random.Random, *, name: str = "", grounding: Mapping[str, Sequence[Any]] | None = None,
                 depth: int = 0) -> Any:
    """One value for ``schema``. ``grounding`` maps parameter names to values that exist in the environment."""
    if depth > 12:
        raise SamplingError("schema nests too deeply to sample")
    if schema is True or schema == {}:
        return _words(rng, 1)
    if not isinstance(schema, Mapping):
        raise SamplingError(f"cannot sample from schema {schema!r}")
    container = schema.get("type") in ("array", "object") or "properties" in schema
    if grounding and not container and grounding.get(name):
        return rng.choice(list(grounding[name]))
    if "const" in schema:
        return schema["const"]
    if "enum" in schema:
        return rng.choice(schema["enum"])
    for key in ("anyOf", "oneOf"):
        if key in schema:
            options = [o for o in schema[key] if o.get("type") != "null"] or schema[key]
            return sample_value(rng.choice(options), rng, name=name, grounding=grounding, depth=depth + 1)
    if "allOf" in schema:
        merged: dict[str, Any] = {}
        for part in schema["allOf"]:
            merged.update(part)
        return sample_value(merged, rng, name=name, grounding=grounding, depth=depth + 1)
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "null")
    if kind is None:
        kind = "object" if "properties" in schema else "string"
    if kind == "string":
        return _sample_string(schema, rng, name)
    if kind in ("integer", "number"):
        return _sample_number(schema, rng, kind == "integer")
    if kind == "boolean":
        return rng.random() < 0.5
    if kind == "null":
        return None
    if kind == "array":
        lo = _bounded(schema.get("minItems", 1), "minItems")
        hi = schema.get("maxItems", max(lo, 3))
        items = schema.get("items", {"type": "string"})
        values: list[Any] = []
        for _ in range(rng.randint(lo, max(lo, min(hi, lo + 3)))):
            v = sample_value(items, rng, name=name, grounding=grounding, depth=depth + 1)
            if schema.get("uniqueItems") and v in values:
                continue
            values.append(v)
        if len(values) < lo:
            raise SamplingError(f"could not draw {lo} unique items for {name or 'array'}")
        return values
    if kind == "object":
        return _sample_object(schema, rng, grounding, depth)
    raise SamplingError(f"unsupported type {kind!r}")


def _sample_object(schema: Mapping[str, Any], rng: random.Random, grounding: Mapping[str, Sequence[Any]] | None,
                   depth: int, optional_rate: float = 0.5) -> dict[str, Any]:
    props: Mapping[str, Any] = schema.get("properties", {})
    required = set(schema.get("required", []))
    out: dict[str, Any] = {}
    for key, sub in props.items():
        if key in required or rng.random() < optional_rate:
            out[key] = sample_value(sub, rng, name=key, grounding=grounding, depth=depth + 1)
    return out


def sample_arguments(input_schema: Mapping[str, Any], rng: random.Random, *, grounding: Mapping[str, Sequence[Any]] | None = None,
                     optional_rate: float = 0.5, attempts: int = 8) -> dict[str, Any]:
    """Arguments for a tool call that validate against ``input_schema`` (checked), or :class:`SamplingError`."""
    schema = inline_refs(dict(input_schema))
    last: list[str] = []
    for _ in range(attempts):
        args = _sample_object(schema, rng, grounding, 0, optional_rate)
        last = validation_errors(dict(input_schema), args)
        if not last:
            return args
    raise SamplingError("sampled arguments kept failing the schema: " + "; ".join(last[:3]))


