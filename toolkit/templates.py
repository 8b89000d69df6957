"""Task templates: YAML files that render to grounded, verified :class:`~toolkit.environment.Task`s.

A suite ships ``tools/<suite>/templates.yaml``; users can write their own (same format, validated against
``toolkit/schemas/task_templates.schema.json``)::

    suite: calendar
    templates:
      - id: cancel_one
        kind: single
        phrasings:
          - "Please cancel the {event.title} meeting."
          - "Call off {event.title}, it's not happening."
        slots:
          event: {from_state: events, where: {status: confirmed}}
        calls:
          - name: cancel_event
            arguments: {event_id: "{event.id}"}
        answer_facts: ["{event.title}"]

Placeholders are ``{slot}`` / ``{slot.field.0}`` (slot values, with a dotted path into objects and lists) and
``{$N.field}`` (the structured result of gold call ``N``; in later calls and in answer facts). An argument
value that is exactly one placeholder keeps the value's type; inside longer text it is written as text.
``{{``/``}}`` are literal braces. Nothing is evaluated: a path is only keys and list indexes.

:func:`toolkit.template_rendering.render_tasks` fills slots from the environment's state (``from_state``,
``choices``, ``range``, ``provider``, ``value``), executes the gold calls on a fresh environment (a call must
succeed, or fail when ``expect_error``) and stores the resulting snapshot as the task's gold end state. Problems in
a file are reported all at once, each naming the file, the template id and the field.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from toolkit.environment import Environment
from toolkit.errors import UserError
from toolkit.jsonschema_utils import validator_for

__all__ = [
    "TemplateError",
    "SlotSpec",
    "CallTemplate",
    "TaskTemplate",
    "template_file_schema",
    "parse_templates",
    "load_templates",
    "check_templates",
]

_TOKEN = re.compile(r"\{\{|\}\}|\{([^{}]*)\}")
_REF = re.compile(r"^(?:\$(\d+)|([A-Za-z_][A-Za-z0-9_]*))((?:\.[A-Za-z0-9_-]+)*)$")
_MAX_ATTEMPTS = 25  # draws per task before a template is declared unrenderable for this state
_MAX_DUPLICATE_RETRIES = 10  # fresh draws per task to avoid repeating one already rendered in the batch


class TemplateError(UserError):
    """A template file (or one template) is invalid; ``problems`` lists every problem, each locating
    itself."""

    def __init__(self, problems: list[str]):
        self.problems = list(problems)
        lines = "\n".join(f"  - {p}" for p in self.problems)
        super().__init__(f"invalid task templates ({len(self.problems)} problem(s)):\n{lines}")


@dataclass(frozen=True)
class SlotSpec:
    """Where one slot's value comes from (exactly one source)."""

    from_state: str | None = None
    where: dict[str, Any] = field(default_factory=dict)
    choices: list[Any] | None = None
    range: dict[str, Any] | None = None
    provider: str | None = None
    value: Any = None
    has_value: bool = False


@dataclass(frozen=True)
class CallTemplate:
    name: str
    arguments: dict[str, Any]
    expect_error: bool = False
    ignore_arguments: tuple[str, ...] = ()


@dataclass(frozen=True)
class TaskTemplate:
    """One template, as parsed from a file (``source`` names the file for error messages)."""

    id: str
    kind: str
    phrasings: tuple[str, ...]
    slots: dict[str, SlotSpec]
    calls: tuple[CallTemplate, ...]
    answer_facts: tuple[str, ...] = ()
    follow_ups: tuple[str, ...] = ()
    missing: tuple[str, ...] = ()
    description: str = ""
    source: str = "<templates>"

    def where(self, field_name: str) -> str:
        return f"{self.source}: template {self.id!r}: field {field_name!r}"


# ---- placeholders ------------------------------------------------------------------------------------------


def _refs(text: str) -> list[tuple[str | None, int | None, tuple[str, ...]] | str]:
    """Placeholders in ``text``: (slot, None, path) or (None, call index, path); a bad one is its raw text."""
    out: list[Any] = []
    for m in _TOKEN.finditer(text):
        if m.group(1) is None:
            continue
        ref = _REF.match(m.group(1).strip())
        if ref is None:
            out.append(m.group(0))
            continue
        path = tuple(p for p in ref.group(3).split(".") if p)
        if ref.group(1) is not None:
            out.append((None, int(ref.group(1)), path))
        else:
            out.append((ref.group(2), None, path))
    return out


def _strings(value: Any, where: str) -> list[tuple[str, str]]:
    """Every string inside a JSON value, with its field path."""
    if isinstance(value, str):
        return [(where, value)]
    if isinstance(value, dict):
        return [s for k, v in value.items() for s in _strings(v, f"{where}.{k}")]
    if isinstance(value, list):
        return [s for i, v in enumerate(value) for s in _strings(v, f"{where}[{i}]")]
    return []


def _slot_refs(value: Any) -> set[str]:
    """Names of the slots a JSON value's strings refer to."""
    return {r[0] for _, s in _strings(value, "") for r in _refs(s) if isinstance(r, tuple) and r[0]}


@lru_cache(maxsize=1)
def template_file_schema() -> dict[str, Any]:
    """The JSON Schema of a template file (shipped as ``toolkit/schemas/task_templates.schema.json``)."""
    path = resources.files("toolkit").joinpath("schemas/task_templates.schema.json")
    text = path.read_text(encoding="utf-8")
    return json.loads(text)


def _field_path(path: list[Any]) -> str:
    out = ""
    for p in path:
        out += f"[{p}]" if isinstance(p, int) else (f".{p}" if out else str(p))
    return out or "(root)"


def _schema_problems(data: Any, source: str) -> tuple[list[str], set[int]]:
    """Schema problems, each located, and the indexes of the templates that have any."""
    problems, bad = [], set()
    errors = validator_for(template_file_schema()).iter_errors(data)
    for err in sorted(errors, key=lambda e: [str(p) for p in e.absolute_path]):
        path = list(err.absolute_path)
        if len(path) >= 2 and path[0] == "templates" and isinstance(path[1], int):
            bad.add(path[1])
            raw = data["templates"][path[1]]
            tid = raw.get("id") if isinstance(raw, dict) else None
            label = f"template {tid!r}" if isinstance(tid, str) else f"templates[{path[1]}]"
            problems.append(f"{source}: {label}: field {_field_path(path[2:])!r}: {err.message}")
        else:
            bad.add(-1)
            problems.append(f"{source}: field {_field_path(path)!r}: {err.message}")
        if len(problems) >= 50:
            break
    return problems, bad


def _build(raw: dict[str, Any], source: str) -> TaskTemplate:
    slots = {}
    for name, spec in (raw.get("slots") or {}).items():
        slots[name] = SlotSpec(
            from_state=spec.get("from_state"),
            where=dict(spec.get("where") or {}),
            choices=spec.get("choices"),
            range=spec.get("range"),
            provider=spec.get("provider"),
            value=spec.get("value"),
            has_value="value" in spec,
        )
    calls = tuple(
        CallTemplate(
            name=c["name"],
            arguments=dict(c.get("arguments") or {}),
            expect_error=bool(c.get("expect_error", False)),
            ignore_arguments=tuple(c.get("ignore_arguments") or ()),
        )
        for c in raw.get("calls") or []
    )
    return TaskTemplate(
        id=raw["id"],
        kind=raw["kind"],
        phrasings=tuple(raw["phrasings"]),
        slots=slots,
        calls=calls,
        answer_facts=tuple(raw.get("answer_facts") or ()),
        follow_ups=tuple(raw.get("follow_ups") or ()),
        missing=tuple(raw.get("missing") or ()),
        description=raw.get("description", ""),
        source=source,
    )


def _static_problems(t: TaskTemplate) -> list[str]:
    """Placeholders, references and kind rules that need no environment."""
    problems: list[str] = []
    slot_names = list(t.slots)

    def check_text(where: str, text: str, *, slots_ok: list[str], max_call: int) -> set[str]:
        used = set()
        for ref in _refs(text):
            if isinstance(ref, str):
                problems.append(
                    f"{t.where(where)}: bad placeholder {ref}; write {{slot}}, {{slot.field}} or {{$N.field}}"
                )
                continue
            slot, call, _ = ref
            if slot is not None:
                used.add(slot)
                if slot not in slots_ok:
                    known = ", ".join(slots_ok) or "(none)"
                    problems.append(f"{t.where(where)}: unknown slot {slot!r} (available here: {known})")
            elif call is not None and call >= max_call:
                problems.append(
                    f"{t.where(where)}: ${call} refers to a call that has not run yet "
                    + ("(results are not available here)" if max_call == 0 else f"(use $0..${max_call - 1})")
                )
        return used

    for i, (name, spec) in enumerate(t.slots.items()):
        if spec.has_value:
            for where, text in _strings(spec.value, f"slots.{name}.value"):
                check_text(where, text, slots_ok=slot_names[:i], max_call=0)
        if spec.range is not None and spec.range["min"] > spec.range["max"]:
            lo, hi = spec.range["min"], spec.range["max"]
            problems.append(f"{t.where(f'slots.{name}.range')}: min {lo} > max {hi}")
        if spec.where and spec.from_state is None:
            problems.append(f"{t.where(f'slots.{name}.where')}: 'where' only applies with 'from_state'")
    in_prompt: set[str] = set()
    for i, text in enumerate(t.phrasings):
        in_prompt |= check_text(f"phrasings[{i}]", text, slots_ok=slot_names, max_call=0)
    in_follow: list[set[str]] = []
    for i, text in enumerate(t.follow_ups):
        in_follow.append(check_text(f"follow_ups[{i}]", text, slots_ok=slot_names, max_call=0))
    has_result_ref = False
    for n, call in enumerate(t.calls):
        for where, text in _strings(call.arguments, f"calls[{n}].arguments"):
            check_text(where, text, slots_ok=slot_names, max_call=n)
            uses_result = any(isinstance(r, tuple) and r[1] is not None for r in _refs(text))
            has_result_ref = has_result_ref or uses_result
    for i, text in enumerate(t.answer_facts):
        check_text(f"answer_facts[{i}]", text, slots_ok=slot_names, max_call=len(t.calls))

    def rule(ok: bool, where: str, message: str) -> None:
        if not ok:
            problems.append(f"{t.where(where)}: {message}")

    k, n_calls = t.kind, len(t.calls)
    rule(k == "missing_argument" or not (t.follow_ups or t.missing), "follow_ups",
         "follow_ups and missing are only for kind missing_argument")  # fmt: skip
    rule(k == "error" or not any(c.expect_error for c in t.calls), "calls",
         "expect_error is only for kind error")  # fmt: skip
    if k == "single":
        rule(n_calls == 1, "calls", f"kind single needs exactly 1 call, found {n_calls}")
    elif k == "parallel":
        rule(n_calls >= 2, "calls", f"kind parallel needs at least 2 calls, found {n_calls}")
        rule(not has_result_ref, "calls",
             "parallel calls are independent: use kind chain when a call uses $N results")  # fmt: skip
    elif k == "chain":
        rule(n_calls >= 2, "calls", f"kind chain needs at least 2 calls, found {n_calls}")
        rule(has_result_ref, "calls",
             "kind chain needs a later call that uses an earlier result ({$N.field})")  # fmt: skip
    elif k == "no_tool":
        rule(n_calls == 0, "calls", f"kind no_tool takes no calls, found {n_calls}")
    elif k == "error":
        rule(any(c.expect_error for c in t.calls), "calls", "kind error needs a call with expect_error: true")
    elif k == "missing_argument":
        rule(n_calls >= 1, "calls", "kind missing_argument needs at least 1 call")
        rule(bool(t.follow_ups), "follow_ups",
             "kind missing_argument needs follow_ups that supply the argument")  # fmt: skip
        rule(bool(t.missing), "missing", "kind missing_argument needs 'missing': the argument names left out")
        # A slot given as `value: "{other...}"` derives from `other`; a follow-up may give a missing argument
        # through a sibling derived from the same slot (the call takes "mi", the user says "miles").
        roots = {n: _slot_refs(spec.value) for n, spec in t.slots.items() if spec.has_value}

        def gives(used: set[str], needed: set[str]) -> bool:
            return all(n in used or any(roots.get(n, {n}) & roots.get(u, {u}) for u in used) for n in needed)

        for name in t.missing:
            args = [c.arguments[name] for c in t.calls if name in c.arguments]
            if not args:
                problems.append(f"{t.where('missing')}: {name!r} is not an argument of any call")
                continue
            needed = set().union(*(_slot_refs(a) for a in args))
            leaked = sorted(needed & in_prompt)
            rule(not leaked, "phrasings",
                 f"the phrasings must not give the missing {name!r} (they use {leaked})")  # fmt: skip
            for i, used in enumerate(in_follow):
                rule(gives(used, needed), f"follow_ups[{i}]", f"the follow-up must give the missing {name!r} "
                     f"(use {', '.join('{' + s + '}' for s in sorted(needed))})")  # fmt: skip
    return problems


def parse_templates(data: Any, *, source: str = "<templates>") -> list[TaskTemplate]:
    """Templates from already-loaded YAML/JSON data; raises :class:`TemplateError` listing every problem."""
    problems, bad = _schema_problems(data, source)
    if -1 in bad:
        raise TemplateError(problems)
    # Templates that pass the schema are checked further, so one run reports every problem of the file.
    templates = [_build(raw, source) for i, raw in enumerate(data["templates"]) if i not in bad]
    seen: set[str] = set()
    for t in templates:
        if t.id in seen:
            problems.append(
                f"{source}: template {t.id!r}: field 'id': duplicate id; ids must be unique in a file"
            )
        seen.add(t.id)
        problems.extend(_static_problems(t))
    if problems:
        raise TemplateError(problems)
    return templates


def load_templates(path: str | Path) -> list[TaskTemplate]:
    """Read and check a template file (YAML or JSON)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise UserError(f"cannot read task templates {path}: {exc.strerror or exc}; check the path") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise TemplateError([f"{path}:{where}: not valid YAML: {problem}"]) from None
    return parse_templates(data, source=str(path))


def check_templates(templates: list[TaskTemplate], env: Environment) -> None:
    """Checks that need the environment: tools and their arguments exist, slot tables and providers exist."""
    specs = {s.name: s for s in env.specs()}
    tables = env.state_tables()
    providers = env.slot_providers()
    problems: list[str] = []
    for t in templates:
        for name, spec in t.slots.items():
            if spec.from_state is not None:
                table, *rest = spec.from_state.split(".")
                if table not in tables:
                    problems.append(f"{t.where(f'slots.{name}.from_state')}: no state table {table!r} "
                                    f"(tables: {', '.join(sorted(tables)) or '(none)'})")  # fmt: skip
                elif rest and tables[table] and rest[0] not in tables[table][0]:
                    problems.append(f"{t.where(f'slots.{name}.from_state')}: table {table!r} has no field "
                                    f"{rest[0]!r} (fields: {', '.join(tables[table][0])})")  # fmt: skip
            if spec.provider is not None and spec.provider not in providers:
                problems.append(f"{t.where(f'slots.{name}.provider')}: no provider {spec.provider!r} "
                                f"(providers: {', '.join(sorted(providers)) or '(none)'})")  # fmt: skip
        for n, call in enumerate(t.calls):
            if call.name not in specs:
                problems.append(
                    f"{t.where(f'calls[{n}].name')}: no tool {call.name!r} in suite {env.suite!r} "
                    f"(tools: {', '.join(specs)})"
                )
                continue
            props = specs[call.name].input_schema.get("properties", {})
            for arg in [*call.arguments, *call.ignore_arguments]:
                if arg not in props:
                    problems.append(f"{t.where(f'calls[{n}].arguments.{arg}')}: {call.name} has no argument "
                                    f"{arg!r} (arguments: {', '.join(props)})")  # fmt: skip
    if problems:
        raise TemplateError(problems)
