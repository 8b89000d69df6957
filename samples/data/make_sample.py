"""Regenerate ``sample_trajectories.jsonl``: 12 hand-written trajectories over four small tools.

The conversations are written by hand; every tool result in them is computed here by running the tool, every
call's arguments are checked against the tool's input schema, and every call is paired with exactly one
answering tool message. The record's ``validation`` block lists those three checks. Run from the repository
root::

    python samples/data/make_sample.py            # rewrite the file
    python samples/data/make_sample.py --check    # exit 1 if the file on disk differs
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import jsonschema

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # run from a checkout without installing

from toolkit.records import Expected, FunctionCall, Message, Provenance, Scenario, Trajectory, Validation
from toolkit.records import StageOutcome, ToolCallRecord
from toolkit.specs import ToolSpec

OUT = Path(__file__).with_name("sample_trajectories.jsonl")
CREATED = "2026-11-22T00:00:00Z"  # fixed, so that regenerating gives the same bytes
UNITS = ["mm", "cm", "m", "km", "in", "ft", "mi", "g", "kg", "lb", "C", "F"]

ADD = ToolSpec(
    name="add",
    description="Add two numbers and return the exact sum.",
    input_schema={
        "type": "object",
        "properties": {"a": {"type": "number", "description": "First addend."},
                       "b": {"type": "number", "description": "Second addend."}},
        "required": ["a", "b"],
        "additionalProperties": False,
    },
)
CONVERT = ToolSpec(
    name="convert_units",
    description="Convert a quantity between units of length, mass or temperature.",
    input_schema={
        "type": "object",
        "properties": {
            "value": {"type": "number", "description": "The quantity to convert."},
            "from_unit": {"type": "string", "enum": UNITS, "description": "Unit of `value`."},
            "to_unit": {"type": "string", "enum": UNITS, "description": "Unit to convert to."},
        },
        "required": ["value", "from_unit", "to_unit"],
        "additionalProperties": False,
    },
)
SEARCH = ToolSpec(
    name="search_docs",
    description="Search the HTTP client library's documentation and return the best-matching passages.",
    input_schema={
        "type": "object",
        "properties": {
            "query": {"type": "string", "description": "What to look for."},
            "section": {"type": "string", "description": "Search only this section ('http', 'auth', 'cli')."},
            "limit": {"type": "integer", "minimum": 1, "maximum": 5, "default": 2,
                      "description": "How many passages to return."},
        },
        "required": ["query"],
        "additionalProperties": False,
    },
)
DELEGATE = ToolSpec(
    name="delegate",
    description="Hand a self-contained task to a subagent that may use the listed tools; returns its answer.",
    input_schema={
        "type": "object",
        "properties": {
            "task": {"type": "string", "description": "The task, with all that the subagent needs to know."},
            "tools": {"type": "array", "items": {"type": "string"}, "description": "Tools it may use."},
        },
        "required": ["task", "tools"],
        "additionalProperties": False,
    },
)
CALC_TOOLS = [ADD, CONVERT]
ALL_TOOLS = [ADD, CONVERT, SEARCH]

DOCS = {
    "http": [
        ("Retries", "Pass retries=Retry(total=3, backoff_factor=0.5) to Client to retry failed requests; "
                    "only idempotent methods are retried by default."),
        ("Timeouts", "Client(timeout=10.0) sets connect, read and write timeouts; use Timeout(connect=2.0, "
                     "read=30.0) to set them separately."),
        ("Rate limits", "On HTTP 429 the client honours the Retry-After header when retries are enabled; "
                        "set respect_retry_after=False to fail fast instead."),
    ],
    "auth": [
        ("Tokens", "Client(auth=BearerAuth(token)) adds an Authorization header to every request."),
        ("Refresh", "BearerAuth(token, refresh=callback) calls callback() once on HTTP 401 and retries."),
    ],
    "cli": [("Proxy", "Set HTTPS_PROXY or pass --proxy URL to route requests through a proxy.")],
}
_TO_BASE = {"mm": 0.001, "cm": 0.01, "m": 1.0, "km": 1000.0, "in": 0.0254, "ft": 0.3048, "mi": 1609.344,
            "g": 0.001, "kg": 1.0, "lb": 0.45359237}
_DIM = {"mm": "length", "cm": "length", "m": "length", "km": "length", "in": "length", "ft": "length",
        "mi": "length", "g": "mass", "kg": "mass", "lb": "mass", "C": "temperature", "F": "temperature"}


class ToolFailure(Exception):
    pass


def _num(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else repr(round(x, 6))


def run_tool(name: str, args: dict[str, Any]) -> str:
    if name == "add":
        return _num(args["a"] + args["b"])
    if name == "convert_units":
        v, f, t = args["value"], args["from_unit"], args["to_unit"]
        if _DIM[f] != _DIM[t]:
            raise ToolFailure(f"cannot convert {_DIM[f]} ({f}) to {_DIM[t]} ({t})")
        if _DIM[f] == "temperature":
            c = v if f == "C" else (v - 32) * 5 / 9
            return _num(c if t == "C" else c * 9 / 5 + 32)
        return _num(v * _TO_BASE[f] / _TO_BASE[t])
    if name == "search_docs":
        section = args.get("section")
        if section is not None and section not in DOCS:
            raise ToolFailure(f"unknown section {section!r}; sections are: {', '.join(DOCS)}")
        words = {w.strip("?.,").lower() for w in args["query"].split() if len(w) > 3}
        hits = []
        for sec, passages in DOCS.items():
            if section and sec != section:
                continue
            for title, text in passages:
                score = sum(w in (title + " " + text).lower() for w in words)
                if score:
                    hits.append((-score, sec, title, text))
        hits.sort()
        found = [{"section": s, "title": ti, "text": tx} for _, s, ti, tx in hits[: args.get("limit", 2)]]
        return json.dumps({"results": found}, ensure_ascii=False)
    raise ToolFailure(f"unknown tool {name!r}")


class Builder:
    """Builds one trajectory: calls are executed as they are added, so results cannot drift from the tools."""

    def __init__(self, rid: str, tools: list[ToolSpec], system: str | None = None):
        self.rid, self.tools, self.n = rid, tools, 0
        self.messages: list[Message] = [Message(role="system", content=system)] if system else []
        self.subagents: dict[str, Trajectory] = {}
        self.calls: list[FunctionCall] = []

    def user(self, text: str) -> Builder:
        self.messages.append(Message(role="user", content=text))
        return self

    def say(self, text: str) -> Builder:
        self.messages.append(Message(role="assistant", content=text))
        return self

    def call(self, *calls: tuple[str, dict[str, Any]], child: Trajectory | None = None) -> Builder:
        records, answers = [], []
        for name, args in calls:
            self.n += 1
            cid = f"call_{self.rid.replace('-', '_')}_{self.n}"
            records.append(ToolCallRecord(id=cid, function=FunctionCall(name=name, arguments=args)))
            self.calls.append(FunctionCall(name=name, arguments=args))
            if name == "delegate":
                assert child is not None
                self.subagents[cid] = child
                content, err = child.final_answer() or "", None
            else:
                try:
                    content, err = run_tool(name, args), None
                except ToolFailure as exc:
                    content, err = f"Error: {exc}", True
            answers.append(Message(role="tool", tool_call_id=cid, name=name, content=content, is_error=err))
        self.messages.append(Message(role="assistant", tool_calls=records))
        self.messages.extend(answers)
        return self

    def done(self, kind: str, answer: str, facts: list[str]) -> Trajectory:
        self.say(answer)
        traj = Trajectory(
            id=self.rid,
            messages=self.messages,
            tools=self.tools,
            subagents=self.subagents,
            scenario=Scenario(kind=kind, suite="samples", seed=0),
            expected=Expected(calls=self.calls, answer_facts=facts),
            provenance=Provenance(generator="hand-written", generator_version="1", created_at=CREATED),
        )
        return traj.model_copy(update={"validation": check(traj)})


def check(traj: Trajectory) -> Validation:
    """Schema, pairing and execution checks over the record and its subagents."""
    schema_errors, pairing_errors, exec_errors = [], [], []
    specs = {t.name: t for t in traj.tools}
    pending: dict[str, tuple[str, dict[str, Any]]] = {}
    for m in traj.messages:
        for tc in m.tool_calls or []:
            spec = specs.get(tc.function.name)
            if spec is None:
                schema_errors.append(f"{tc.id}: tool {tc.function.name!r} not offered")
            else:
                validator = jsonschema.Draft202012Validator(spec.input_schema)
                for err in validator.iter_errors(tc.function.arguments):
                    schema_errors.append(f"{tc.id}: {err.message}")
            pending[tc.id] = (tc.function.name, tc.function.arguments)
        if m.role == "tool":
            if m.tool_call_id not in pending:
                pairing_errors.append(f"tool message answers unknown call {m.tool_call_id!r}")
                continue
            name, args = pending.pop(m.tool_call_id)
            if name == "delegate":
                child = traj.subagents.get(m.tool_call_id)
                if child is None or child.final_answer() != m.content:
                    exec_errors.append(f"{m.tool_call_id}: delegate result is not the subagent's answer")
                continue
            try:
                expected = run_tool(name, args)
            except ToolFailure as exc:
                expected = f"Error: {exc}"
            if expected != m.content:
                exec_errors.append(f"{m.tool_call_id}: result does not reproduce")
    pairing_errors += [f"call {cid} has no answer" for cid in pending]
    stages = [
        StageOutcome(stage="schema", passed=not schema_errors, reasons=schema_errors),
        StageOutcome(stage="structure", passed=not pairing_errors, reasons=pairing_errors),
        StageOutcome(stage="execution", passed=not exec_errors, reasons=exec_errors),
    ]
    for child in traj.subagents.values():
        child_stages = (child.validation or check(child)).stages
        stages += [s.model_copy(update={"stage": f"subagent:{s.stage}"}) for s in child_stages]
    return Validation(passed=all(s.passed for s in stages), stages=stages)


def build() -> list[Trajectory]:
    calc = (
        "You are a careful assistant. Use the tools for arithmetic and unit conversion; "
        "never compute in your head."
    )
    docs = (
        "You answer questions about the HTTP client library. "
        "Cite the documentation; use search_docs to find it."
    )
    out = [
        Builder("s01-single-add", CALC_TOOLS, calc)
        .user("What is 1234.5 plus 987.25?")
        .call(("add", {"a": 1234.5, "b": 987.25}))
        .done("single", "1234.5 + 987.25 = 2221.75.", ["2221.75"]),
        Builder("s02-single-convert", CALC_TOOLS)
        .user("How many kilometres is a marathon's 26.2 miles?")
        .call(("convert_units", {"value": 26.2, "from_unit": "mi", "to_unit": "km"}))
        .done("single", "26.2 miles is about 42.16 km.", ["42.16"]),
        Builder("s03-parallel-convert", CALC_TOOLS, calc)
        .user("Convert 100 °F to Celsius and 5 kg to pounds.")
        .call(
            ("convert_units", {"value": 100, "from_unit": "F", "to_unit": "C"}),
            ("convert_units", {"value": 5, "from_unit": "kg", "to_unit": "lb"}),
        )
        .done("parallel", "100 °F is about 37.78 °C, and 5 kg is about 11.02 lb.", ["37.78", "11.02"]),
        Builder("s04-chain-run-distance", CALC_TOOLS, calc)
        .user("I ran 3.5 km this morning and 1200 m this evening. How many miles is that in total?")
        .call(("convert_units", {"value": 1200, "from_unit": "m", "to_unit": "km"}))
        .call(("add", {"a": 3.5, "b": 1.2}))
        .call(("convert_units", {"value": 4.7, "from_unit": "km", "to_unit": "mi"}))
        .done("chain", "That's 4.7 km in total, about 2.92 miles.", ["4.7", "2.92"]),
        Builder("s05-single-search", ALL_TOOLS, docs)
        .user("How do I configure retries for failed requests?")
        .call(("search_docs", {"query": "configure retries for failed requests"}))
        .done(
            "single",
            "Pass retries=Retry(total=3, backoff_factor=0.5) when you create the Client. Only idempotent "
            "methods are retried by default.",
            ["Retry(total=3, backoff_factor=0.5)", "idempotent"],
        ),
        Builder("s06-no-tool-python", ALL_TOOLS)
        .user("What's the difference between a list and a tuple in Python?")
        .done(
            "no_tool",
            "A list is mutable (you can append, remove or change items), a tuple is immutable. Tuples are "
            "hashable when their items are, so they can be dict keys; lists cannot.",
            ["mutable", "immutable"],
        ),
        Builder("s07-no-tool-thanks", CALC_TOOLS, calc)
        .user("Thanks, that's all I needed!")
        .done("no_tool", "You're welcome! Ask any time you need another calculation.", []),
        Builder("s08-missing-height", CALC_TOOLS, calc)
        .user("Convert my height to centimetres.")
        .say("Sure. What is your height, and in which unit (feet, inches or metres)?")
        .user("5.9 feet")
        .call(("convert_units", {"value": 5.9, "from_unit": "ft", "to_unit": "cm"}))
        .done("missing_argument", "5.9 ft is about 179.8 cm.", ["179.8"]),
        Builder("s09-error-bad-section", ALL_TOOLS, docs)
        .user("What do the docs say about rate limits in the networking section?")
        .call(("search_docs", {"query": "rate limit 429 Retry-After", "section": "networking"}))
        .call(("search_docs", {"query": "rate limit 429 Retry-After", "section": "http"}))
        .done(
            "error_recovery",
            "There is no 'networking' section; rate limits are covered under 'http'. On HTTP 429 the client "
            "honours the Retry-After header when retries are enabled; set respect_retry_after=False to fail "
            "fast instead.",
            ["Retry-After", "respect_retry_after=False"],
        ),
        Builder("s10-multi-turn-distance", CALC_TOOLS, calc)
        .user("Add 12.4 km and 8.75 km.")
        .call(("add", {"a": 12.4, "b": 8.75}))
        .say("12.4 km + 8.75 km = 21.15 km.")
        .user("And how much is that in miles?")
        .call(("convert_units", {"value": 21.15, "from_unit": "km", "to_unit": "mi"}))
        .done("multi_turn", "21.15 km is about 13.14 miles.", ["21.15", "13.14"]),
        _delegation(docs),
        Builder("s12-parallel-search", ALL_TOOLS, docs)
        .user("Where do I set a proxy, and how do I add a bearer token to requests?")
        .call(
            ("search_docs", {"query": "proxy settings", "section": "cli", "limit": 1}),
            ("search_docs", {"query": "bearer token authorization header", "section": "auth", "limit": 1}),
        )
        .done(
            "parallel",
            "Set HTTPS_PROXY (or pass --proxy URL) to use a proxy, and pass auth=BearerAuth(token) to the "
            "Client to add an Authorization header to every request.",
            ["HTTPS_PROXY", "BearerAuth(token)"],
        ),
    ]
    return out


SUBAGENT_SYSTEM = (
    "You are a research subagent. Use search_docs, then reply with a short answer to the task "
    "and nothing else."
)


def _delegation(docs: str) -> Trajectory:
    task = (
        "Find in the HTTP client docs how the client handles HTTP 429 (rate limiting) and HTTP 401 (expired "
        "tokens). Reply with two sentences, one per status code."
    )
    child = (
        Builder("s11-delegate-research.sub1", [SEARCH], SUBAGENT_SYSTEM)
        .user(task)
        .call(
            ("search_docs", {"query": "rate limit 429 Retry-After", "section": "http", "limit": 1}),
            ("search_docs", {"query": "token refresh on 401", "section": "auth", "limit": 1}),
        )
        .done(
            "parallel",
            "On HTTP 429 the client waits as the Retry-After header says when retries are enabled "
            "(respect_retry_after=False fails fast). On HTTP 401, BearerAuth(token, refresh=callback) calls "
            "the callback once to refresh the token and retries the request.",
            ["Retry-After", "refresh=callback"],
        )
    )
    parent = Builder("s11-delegate-research", [*ALL_TOOLS, DELEGATE], docs)
    parent.user("Our service keeps hitting HTTP 429 and the occasional 401. How does the client handle each?")
    parent.call(("delegate", {"task": task, "tools": ["search_docs"]}), child=child)
    return parent.done(
        "delegate",
        "For 429s, enable retries and the client will wait as long as the server's Retry-After header asks "
        "(or set respect_retry_after=False to fail fast). For 401s, construct BearerAuth with a refresh "
        "callback: it is called once to get a new token and the request is retried.",
        ["Retry-After", "refresh"],
    )


def render() -> str:
    return "".join(t.to_json() + "\n" for t in build())


def main(argv: list[str]) -> int:
    records = build()
    bad = [t.id for t in records if not (t.validation and t.validation.passed)]
    if bad:
        print(f"records failing their own checks: {bad}", file=sys.stderr)
        return 1
    text = render()
    if "--check" in argv:
        same = OUT.is_file() and OUT.read_text(encoding="utf-8") == text
        print("up to date" if same else f"{OUT} is stale: run python samples/data/make_sample.py")
        return 0 if same else 1
    OUT.write_text(text, encoding="utf-8")
    print(f"wrote {len(records)} records to {OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
