"""Argument-validation throughput: compiled, cached validators vs ``jsonschema.validate`` per call.

Both sides check the same calls against the same realistic tool schemas with the same Draft 2020-12 format
checks, and must reach the same verdict on every call. ``jsonschema.validate`` checks the schema and builds a
validator on every call, which is what code that validates calls one at a time without a cache pays. The
cached side is what the ``arguments`` stage does: look up the compiled validator
(``toolkit.validation.arguments.compiled_validator``, built on ``toolkit.jsonschema_utils.validator_for``) and
run it. A third figure shows the whole static pipeline (all five stages) in records per second.

    python bench/validation_throughput.py [--calls 3000] [--rounds 3] [--seed 0]

Each side runs ``--rounds`` times, alternating, and the fastest round counts (as ``timeit`` does): on a shared
machine the slow rounds measure the neighbours, not the code.
"""

from __future__ import annotations

import argparse
import random
import time
from typing import Any

import jsonschema
from jsonschema import FormatChecker

from toolkit.validation import check_record
from toolkit.validation.arguments import compiled_validator

SCHEMAS: dict[str, dict[str, Any]] = {
    "get_weather": {
        "type": "object",
        "properties": {
            "city": {"type": "string", "minLength": 1},
            "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
            "days": {"type": "integer", "minimum": 1, "maximum": 14},
        },
        "required": ["city"],
        "additionalProperties": False,
    },
    "create_event": {
        "type": "object",
        "properties": {
            "title": {"type": "string", "maxLength": 200},
            "start": {"type": "string", "format": "date-time"},
            "end": {"type": "string", "format": "date-time"},
            "attendees": {"type": "array", "items": {"type": "string", "format": "email"}, "maxItems": 50},
            "location": {
                "type": "object",
                "properties": {"room": {"type": "string"}, "floor": {"type": "integer"}},
                "required": ["room"],
            },
            "reminders": {"type": "array", "items": {"type": "integer", "minimum": 0}},
        },
        "required": ["title", "start", "end"],
        "additionalProperties": False,
    },
    "search_docs": {
        "type": "object",
        "properties": {
            "query": {"type": "string", "minLength": 2},
            "top_k": {"type": "integer", "minimum": 1, "maximum": 100},
            "filters": {
                "type": "object",
                "properties": {
                    "tag": {"type": "string", "pattern": "^[a-z][a-z0-9_-]*$"},
                    "after": {"type": "string", "format": "date"},
                },
                "additionalProperties": False,
            },
        },
        "required": ["query"],
    },
    "write_file": {
        "type": "object",
        "properties": {
            "path": {"type": "string", "pattern": "^[^/].*"},
            "content": {"oneOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}]},
            "mode": {"type": "string", "enum": ["overwrite", "append"]},
        },
        "required": ["path", "content"],
    },
    "run_query": {
        "$defs": {
            "condition": {
                "type": "object",
                "properties": {
                    "column": {"type": "string"},
                    "op": {"enum": ["=", "<", ">", "in"]},
                    "value": {"type": ["string", "number", "array"]},
                },
                "required": ["column", "op", "value"],
            }
        },
        "type": "object",
        "properties": {
            "table": {"type": "string"},
            "where": {"type": "array", "items": {"$ref": "#/$defs/condition"}},
            "limit": {"type": "integer", "minimum": 1},
        },
        "required": ["table"],
    },
}


def _call(name: str, rng: random.Random) -> dict[str, Any]:
    bad = rng.random() < 0.2  # about one call in five breaks its schema somewhere
    if name == "get_weather":
        args: dict[str, Any] = {"city": rng.choice(["Paris", "Lima", "Oslo"]), "unit": "celsius",
                                "days": rng.randint(1, 14)}
        if bad:
            args["days"] = "three"
    elif name == "create_event":
        args = {"title": "Sync", "start": "2025-03-14T09:00:00+01:00", "end": "2025-03-14T10:00:00+01:00",
                "attendees": [f"user{k}@example.com" for k in range(rng.randint(1, 6))],
                "location": {"room": "B2", "floor": 3}, "reminders": [10, 5]}
        if bad:
            args["attendees"].append("not-an-email")
    elif name == "search_docs":
        args = {"query": "refund policy", "top_k": rng.randint(1, 20),
                "filters": {"tag": "billing", "after": "2024-01-31"}}
        if bad:
            args["filters"]["after"] = "31/01/2024"
    elif name == "write_file":
        args = {"path": "notes/today.md", "content": ["line one", "line two"], "mode": "append"}
        if bad:
            args["path"] = "/etc/passwd"
    else:
        args = {"table": "orders", "where": [{"column": "status", "op": "=", "value": "open"},
                                             {"column": "total", "op": ">", "value": 100}], "limit": 50}
        if bad:
            args["where"][1]["op"] = "LIKE"
    return args


def _baseline(calls: list[tuple[str, dict[str, Any]]]) -> tuple[float, int]:
    checker = FormatChecker()
    invalid = 0
    start = time.perf_counter()
    for name, args in calls:
        try:
            jsonschema.validate(
                args, SCHEMAS[name], cls=jsonschema.Draft202012Validator, format_checker=checker
            )
        except jsonschema.ValidationError:
            invalid += 1
    return time.perf_counter() - start, invalid


def _cached(calls: list[tuple[str, dict[str, Any]]]) -> tuple[float, int]:
    invalid = 0
    start = time.perf_counter()
    for name, args in calls:
        if next(compiled_validator(SCHEMAS[name]).iter_errors(args), None) is not None:
            invalid += 1
    return time.perf_counter() - start, invalid


def _records(calls: list[tuple[str, dict[str, Any]]], per_record: int = 4) -> list[dict[str, Any]]:
    tools = [{"name": n, "description": n, "input_schema": s} for n, s in SCHEMAS.items()]
    out = []
    for r in range(0, len(calls), per_record):
        chunk = calls[r:r + per_record]
        tcs = [{"id": f"c{k}", "type": "function", "function": {"name": n, "arguments": a}}
               for k, (n, a) in enumerate(chunk)]
        msgs = [{"role": "user", "content": "Do these."}, {"role": "assistant", "tool_calls": tcs}]
        msgs += [{"role": "tool", "tool_call_id": tc["id"], "content": "ok"} for tc in tcs]
        msgs.append({"role": "assistant", "content": "Done."})
        out.append(
            {"schema_version": "toolgym.trajectory/1", "id": f"r{r}", "messages": msgs, "tools": tools}
        )
    return out


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--calls", type=int, default=3000, help="number of calls (default 3000)")
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds per side (default 3)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    names = list(SCHEMAS)
    calls = [(name, _call(name, rng)) for name in (rng.choice(names) for _ in range(args.calls))]

    compiled_validator(SCHEMAS["get_weather"])  # warm the import paths, not the cache of every schema
    base_s = cached_s = float("inf")
    for _ in range(max(1, args.rounds)):
        seconds, base_invalid = _baseline(calls)
        base_s = min(base_s, seconds)
        seconds, cached_invalid = _cached(calls)
        cached_s = min(cached_s, seconds)
    if base_invalid != cached_invalid:
        raise SystemExit(
            f"verdicts differ: baseline found {base_invalid} invalid calls, cached {cached_invalid}"
        )
    records = _records(calls)
    pipe_s = float("inf")
    for _ in range(max(1, args.rounds)):
        start = time.perf_counter()
        passed = sum(all(o.passed for o in check_record(r)[1]) for r in records)
        pipe_s = min(pipe_s, time.perf_counter() - start)

    print(f"{len(calls)} calls over {len(SCHEMAS)} schemas, {cached_invalid} invalid "
          f"(same verdicts on both sides); best of {max(1, args.rounds)} alternating rounds")
    print(f"jsonschema.validate per call : {len(calls) / base_s:12,.0f} calls/s")
    print(f"compiled cached validators   : {len(calls) / cached_s:12,.0f} calls/s")
    print(f"speed-up                     : {base_s / cached_s:12.1f}x  (target >= 20x)")
    print(f"static pipeline, 5 stages    : {len(records) / pipe_s:12,.0f} records/s "
          f"({len(records)} records of 4 calls, {passed} passed)")


if __name__ == "__main__":
    main()
