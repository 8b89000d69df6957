"""Import BFCL (Berkeley Function-Calling Leaderboard) entries as ToolGym task records.

A question file holds one JSON object per line: ``id``, ``question`` (v3: a list of turns, each a list of
``{role, content}`` messages; v1: one string) and ``function`` (a list of function docs, or one). A
possible-answer
file holds ``{"id", "ground_truth": [{function: {param: [allowed values]}}]}`` per line (v1 files: the answer
object itself, line-aligned with the questions). Irrelevance categories have no answers: the gold is "no
call".

Function docs use BFCL's type dialect, translated to JSON Schema the way BFCL's own OpenAI-style handlers do,
with
two deliberate differences: ``any`` becomes an unconstrained schema (not ``string``), and no type hints are
appended to descriptions (ToolGym keeps descriptions identical across presentations).

=========================  ========================
BFCL                       JSON Schema
=========================  ========================
dict, object, HashMap      object
float, double, number      number
integer, int, long, short  integer
tuple, list, array, ...    array
boolean, bool              boolean
string, str, char          string
any                        (no type)
=========================  ========================

Names are made legal in every presentation (``^[a-zA-Z0-9_-]{1,64}$``): ``math.factorial`` becomes
``math_factorial`` in the specs *and* in the possible answers (the map is kept in provenance), as BFCL's
function-calling handlers do.

Each record carries the possible-answer lists in ``provenance.extra["bfcl_possible_answer"]``; the evaluator
scores against them with the same checker as every other task (BFCL's string standardisation in the lenient
reading, exact values in the strict one). ``expected.calls`` holds the first allowed value of each parameter,
so
the record is also a valid training example.

Run ``python -m toolkit.bfcl QUESTIONS [ANSWERS] -o tasks.jsonl`` to convert files.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from toolkit.errors import UserError
from toolkit.evaluate_gold import POSSIBLE_ANSWERS_KEY
from toolkit.records import Expected, FunctionCall, Message, Provenance, Scenario, Trajectory
from toolkit.specs import ToolSpec

__all__ = ["bfcl_records", "bfcl_schema", "bfcl_spec", "load_bfcl", "main"]

_TYPES = {
    "dict": "object",
    "object": "object",
    "hashmap": "object",
    "hashtable": "object",
    "float": "number",
    "double": "number",
    "number": "number",
    "integer": "integer",
    "int": "integer",
    "long": "integer",
    "short": "integer",
    "byte": "integer",
    "bigint": "integer",
    "tuple": "array",
    "list": "array",
    "array": "array",
    "arraylist": "array",
    "queue": "array",
    "stack": "array",
    "boolean": "boolean",
    "bool": "boolean",
    "string": "string",
    "str": "string",
    "char": "string",
}
_MAX_DEPTH = 32
_LEGAL = re.compile(r"[^a-zA-Z0-9_-]")


def bfcl_schema(schema: Any, where: str = "parameters", depth: int = 0) -> dict[str, Any]:
    """One BFCL parameter schema as JSON Schema (recursively: properties, items)."""
    if depth > _MAX_DEPTH:
        raise UserError(f"{where}: schema nested deeper than {_MAX_DEPTH} levels")
    if not isinstance(schema, dict):
        raise UserError(f"{where}: a BFCL schema is an object, got {type(schema).__name__}")
    out: dict[str, Any] = {}
    for key, value in schema.items():
        if key == "type":
            name = str(value).lower()
            if name == "any":
                continue
            if name not in _TYPES:
                raise UserError(
                    f"{where}: unknown BFCL type {value!r}; known: any, {', '.join(sorted(_TYPES))}"
                )
            out["type"] = _TYPES[name]
        elif key == "properties" and isinstance(value, dict):
            out["properties"] = {k: bfcl_schema(v, f"{where}.{k}", depth + 1) for k, v in value.items()}
        elif key == "items" and isinstance(value, dict):
            out["items"] = bfcl_schema(value, f"{where}[]", depth + 1)
        elif key == "optional":  # some BFCL docs mark optional parameters inline; JSON Schema has `required`
            continue
        else:
            out[key] = value
    if out.get("type") == "object" and "properties" not in out and depth == 0:
        out["properties"] = {}
    return out


def _legal(name: str) -> str:
    return _LEGAL.sub("_", name)[:64]


def bfcl_spec(doc: dict[str, Any]) -> ToolSpec:
    """One BFCL function doc (``name``, ``description``, ``parameters``) as a :class:`ToolSpec`."""
    if not isinstance(doc, dict) or not isinstance(doc.get("name"), str):
        raise UserError("a BFCL function doc is an object with a name, description and parameters")
    params = doc.get("parameters") or {"type": "dict", "properties": {}}
    schema = bfcl_schema(params, f"{doc['name']}.parameters")
    schema["type"] = "object"
    return ToolSpec(
        name=_legal(doc["name"]), description=str(doc.get("description") or ""), input_schema=schema
    )


def _read_lines(path: str | Path) -> list[dict[str, Any]]:
    p = Path(path)
    if not p.is_file():
        raise UserError(f"{p} does not exist")
    text = p.read_text(encoding="utf-8").strip()
    if text.startswith("["):  # some copies are one JSON array instead of JSON lines
        data = json.loads(text)
        if not all(isinstance(x, dict) for x in data):
            raise UserError(f"{p}: expected an array of objects")
        return data
    rows = []
    for n, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise UserError(f"{p}:{n} is not JSON ({exc.msg})") from None
        if not isinstance(row, dict):
            raise UserError(f"{p}:{n} is not a JSON object")
        rows.append(row)
    return rows


def _category(entry_id: str) -> str:
    """``simple_12`` -> ``simple``; ``live_parallel_multiple_3-1-0`` -> ``live_parallel_multiple``."""
    return re.sub(r"_\d[\w-]*$", "", entry_id) or entry_id


def _messages(question: Any, entry_id: str) -> list[Message]:
    if isinstance(question, str):
        return [Message(role="user", content=question)]
    if not isinstance(question, list) or not question:
        raise UserError(f"{entry_id}: question must be a string or a list of turns")
    turns = question if isinstance(question[0], list) else [question]
    if len(turns) > 1:
        raise UserError(
            f"{entry_id}: multi-turn BFCL entries need BFCL's executable environments; import the "
            "single-turn categories (simple, multiple, parallel, parallel_multiple, irrelevance, live_*)"
        )
    out = []
    for m in turns[0]:
        if not isinstance(m, dict) or m.get("role") not in ("system", "user", "assistant"):
            raise UserError(f"{entry_id}: each question message needs a role (system, user) and content")
        out.append(Message(role=m["role"], content=str(m.get("content") or "")))
    return out


def _rename_answer(answer: dict[str, Any], entry_id: str) -> dict[str, Any]:
    if not isinstance(answer, dict) or len(answer) != 1:
        raise UserError(
            f"{entry_id}: a possible answer is a one-key object {{function: {{param: [values]}}}}"
        )
    ((name, params),) = answer.items()
    return {_legal(str(name)): params}


def _first(values: Any) -> Any:
    """The first allowed value, recursively (BFCL nests {key: [values]} inside dict values)."""
    if isinstance(values, dict):
        return {k: _first_of_list(v) for k, v in values.items() if _first_of_list(v) is not _OMIT}
    if isinstance(values, list):
        return [_first(v) for v in values]
    return values


_OMIT = object()


def _first_of_list(values: Any) -> Any:
    if not isinstance(values, list):
        return values
    kept = [v for v in values if v != ""]
    return _first(kept[0]) if kept else _OMIT


def _expected_call(answer: dict[str, Any]) -> FunctionCall:
    ((name, params),) = answer.items()
    args = {}
    for key, values in (params or {}).items():
        value = _first_of_list(values)
        if value is not _OMIT:
            args[key] = value
    return FunctionCall(name=name, arguments=args)


def bfcl_records(
    questions: Iterable[dict[str, Any]], answers: Sequence[dict[str, Any]] | None = None
) -> list[Trajectory]:
    """Task records from parsed question rows and possible-answer rows (matched by ``id``, else by
    position)."""
    questions = list(questions)
    by_id: dict[str, Any] = {}
    positional: list[Any] = []
    for row in answers or []:
        if "ground_truth" in row:
            truth = row["ground_truth"]
            by_id[str(row.get("id"))] = truth if isinstance(truth, list) else [truth]
        else:
            positional.append([row])
    records = []
    for i, q in enumerate(questions):
        entry_id = str(q.get("id") or f"bfcl_{i}")
        docs = q.get("function")
        if docs is None:
            raise UserError(f"{entry_id}: no 'function' list")
        docs = docs if isinstance(docs, list) else [docs]
        specs = [bfcl_spec(d) for d in docs]
        names = {d["name"]: s.name for d, s in zip(docs, specs, strict=True) if d["name"] != s.name}
        category = _category(entry_id)
        if entry_id in by_id:
            truth = by_id[entry_id]
        elif i < len(positional):
            truth = positional[i]
        elif "irrelevance" in category:
            truth = []
        else:
            raise UserError(f"{entry_id}: no possible answer; pass the category's possible-answer file")
        answer = [_rename_answer(a, entry_id) for a in truth]
        records.append(
            Trajectory(
                id=f"bfcl/{entry_id}",
                messages=_messages(q.get("question"), entry_id),
                tools=specs,
                scenario=Scenario(kind=category, suite="bfcl"),
                expected=Expected(calls=[_expected_call(a) for a in answer]),
                provenance=Provenance(
                    generator="import:bfcl",
                    source_line=i + 1,
                    extra={POSSIBLE_ANSWERS_KEY: answer, "bfcl_id": entry_id, "name_map": names},
                ),
            )
        )
    return records


def load_bfcl(questions: str | Path, answers: str | Path | None = None) -> list[Trajectory]:
    """Task records from a BFCL question file and its possible-answer file (none for irrelevance)."""
    return bfcl_records(_read_lines(questions), _read_lines(answers) if answers else None)


def is_bfcl_file(path: str | Path) -> bool:
    """True when the file's first row looks like a BFCL question (``question`` and ``function`` keys)."""
    try:
        with Path(path).open(encoding="utf-8") as fh:
            first = fh.readline().strip()
        row = json.loads(first) if first else None
    except (OSError, json.JSONDecodeError):
        return False
    return isinstance(row, dict) and "question" in row and "function" in row


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m toolkit.bfcl",
        description="Convert BFCL question + possible-answer files to task records.",
        epilog="example: python -m toolkit.bfcl BFCL_v3_simple.json "
        "possible_answer/BFCL_v3_simple.json -o simple.jsonl",
    )
    parser.add_argument("questions")
    parser.add_argument("answers", nargs="?")
    parser.add_argument("-o", "--out", required=True)
    args = parser.parse_args(argv)
    try:
        records = load_bfcl(args.questions, args.answers)
    except UserError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    Path(args.out).write_text("".join(r.to_json() + "\n" for r in records), encoding="utf-8")
    print(f"{len(records)} task(s) -> {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
