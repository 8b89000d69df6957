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

:func:`render_tasks` fills slots from the environment's state (``from_state``, ``choices``, ``range``,
``provider``, ``value``), executes the gold calls on a fresh environment (a call must succeed, or fail when
``expect_error``) and stores the resulting snapshot as the task's gold end state. Problems in a file are
reported all at once, each naming the file, the template id and the field.
"""

from __future__ import annotations

import json
import random
import re
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from toolkit.environment import TASK_KINDS, Environment, GoldCall, NoSlotValue, Suite, Task, get_suite
from toolkit.errors import UserError
from toolkit.jsonschema_utils import validation_errors, validator_for
from toolkit.specs import ToolResult

__all__ = [
    "TemplateError",
    "SlotSpec",
    "CallTemplate",
    "TaskTemplate",
    "template_file_schema",
    "parse_templates",
    "load_templates",
    "check_templates",
    "render_template",
    "render_tasks",
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


class _Unrenderable(Exception):
    """This draw of slot values does not work for this state (a template may still work with another draw)."""


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


def _follow(root: Any, path: tuple[str, ...], label: str) -> Any:
    value = root
    for part in path:
        if isinstance(value, dict) and part in value:
            value = value[part]
        elif isinstance(value, list) and part.isdigit() and int(part) < len(value):
            value = value[int(part)]
        else:
            raise _Unrenderable(f"{label}: no {part!r} in {json.dumps(value, default=str)[:120]}")
    return value


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)
    if isinstance(value, list) and all(isinstance(v, (str, int, float)) for v in value):
        return ", ".join(_text(v) for v in value)  # how a person writes a list of numbers or names
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def _fill(value: Any, slots: dict[str, Any], results: list[dict[str, Any]]) -> Any:
    """Substitute placeholders in a JSON value (typed when a string is exactly one placeholder)."""
    if isinstance(value, dict):
        return {k: _fill(v, slots, results) for k, v in value.items()}
    if isinstance(value, list):
        return [_fill(v, slots, results) for v in value]
    if not isinstance(value, str):
        return value

    def lookup(inner: str) -> Any:
        ref = _REF.match(inner.strip())
        if ref is None:
            raise _Unrenderable(f"bad placeholder {{{inner}}}")
        path = tuple(p for p in ref.group(3).split(".") if p)
        if ref.group(1) is not None:
            n = int(ref.group(1))
            if n >= len(results):
                raise _Unrenderable(f"result ${n} is not available yet")
            return _follow(results[n], path, f"${n}")
        name = ref.group(2)
        if name not in slots:
            raise _Unrenderable(f"slot {name!r} is not filled yet")
        return _follow(slots[name], path, name)

    whole = _TOKEN.fullmatch(value)
    if whole is not None and whole.group(1) is not None:
        return lookup(whole.group(1))
    return _TOKEN.sub(lambda m: m.group(0)[0] if m.group(1) is None else _text(lookup(m.group(1))), value)


# ---- parsing and static checks -----------------------------------------------------------------------------


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


# ---- rendering ---------------------------------------------------------------------------------------------


def _draw_slot(name: str, spec: SlotSpec, env: Environment, rng: random.Random, slots: dict[str, Any],
               taken: dict[str, list[Any]]) -> Any:  # fmt: skip
    if spec.from_state is not None:
        table, *path = spec.from_state.split(".")
        rows = [r for r in env.state_tables().get(table, []) if _matches(r, spec.where)]
        fresh = [r for r in rows if r not in taken.get(table, [])]
        pool = fresh or rows
        if not pool:
            raise _Unrenderable(f"slot {name!r}: no row of {table!r} matches {spec.where}")
        row = rng.choice(pool)
        taken.setdefault(table, []).append(row)
        return _follow(row, tuple(path), name)
    if spec.choices is not None:
        return rng.choice(spec.choices)
    if spec.range is not None:
        lo, hi = spec.range["min"], spec.range["max"]
        step, decimals = spec.range.get("step"), spec.range.get("decimals")
        if step is not None:
            return lo + step * rng.randint(0, int((hi - lo) // step))
        if decimals is None and float(lo).is_integer() and float(hi).is_integer():
            return rng.randint(int(lo), int(hi))
        return round(rng.uniform(lo, hi), 2 if decimals is None else decimals)
    if spec.provider is not None:
        try:
            return env.slot_providers()[spec.provider](rng, dict(slots))
        except NoSlotValue as exc:
            raise _Unrenderable(f"slot {name!r}: provider {spec.provider!r} found no value ({exc})") from None
    return _fill(spec.value, slots, [])


def _matches(row: Any, where: dict[str, Any]) -> bool:
    if not isinstance(row, dict):
        return not where
    for key, want in where.items():
        have = row.get(key)
        if isinstance(want, list) and not isinstance(have, list):
            if have not in want:
                return False
        elif have != want:
            return False
    return True


def _result_view(result: ToolResult) -> dict[str, Any]:
    if result.is_error:
        return {"error": result.content}
    if result.structured is not None:
        return result.structured
    return {"result": result.content}


def render_template(template: TaskTemplate, env: Environment, *, task_id: str, suite: str, seed: int,
                    rng: random.Random) -> Task:  # fmt: skip
    """Render one task (resetting ``env`` to ``seed``); raises :class:`TemplateError` when no draw works."""
    specs = {s.name: s for s in env.specs()}
    last = "no attempt"
    for _ in range(_MAX_ATTEMPTS):
        env.reset(seed=seed)
        try:
            slots: dict[str, Any] = {}
            taken: dict[str, list[Any]] = {}
            for name, spec in template.slots.items():
                slots[name] = _draw_slot(name, spec, env, rng, slots, taken)
            turns = [_fill(rng.choice(template.phrasings), slots, [])]
            if template.follow_ups:
                turns.append(_fill(rng.choice(template.follow_ups), slots, []))
            gold: list[GoldCall] = []
            results: list[dict[str, Any]] = []
            for n, call in enumerate(template.calls):
                args = _fill(call.arguments, slots, results)
                problems = validation_errors(specs[call.name].input_schema, args)
                if problems:
                    detail = "; ".join(problems)
                    raise _Unrenderable(f"calls[{n}] arguments do not fit {call.name}'s schema: {detail}")
                result = env.call(call.name, args)
                if result.is_error != call.expect_error:
                    want = "fail" if call.expect_error else "succeed"
                    raise _Unrenderable(f"calls[{n}] {call.name} did not {want}: {result.content[:200]}")
                if call.expect_error and result.error_kind != "exception":
                    # error tasks teach reporting what the tool itself refused, not a malformed call
                    raise _Unrenderable(f"calls[{n}] {call.name} failed with {result.error_kind}, not a tool "
                                        f"error: {result.content[:200]}")  # fmt: skip
                results.append(_result_view(result))
                gold.append(GoldCall(name=call.name, arguments=args, expect_error=call.expect_error,
                                     ignore_arguments=list(call.ignore_arguments)))  # fmt: skip
            facts = [_text(_fill(f, slots, results)) for f in template.answer_facts]
            empty = [f for f, text in zip(template.answer_facts, facts) if text.strip() in ("", "None")]
            if empty:
                raise _Unrenderable(f"answer fact {empty[0]!r} is empty for this draw")
        except _Unrenderable as exc:
            last = str(exc)
            continue
        return Task(
            id=task_id,
            suite=suite,
            kind=template.kind,  # type: ignore[arg-type]
            turns=[_text(t) for t in turns],
            gold_calls=gold,
            gold_end_state=env.snapshot(),
            answer_facts=facts,
            seed=seed,
            template=template.id,
            missing_arguments=list(template.missing),
        )
    raise TemplateError([
        f"{template.where('calls')}: cannot render a working task after {_MAX_ATTEMPTS} draws "
        f"(seed {seed}); last problem: {last}"
    ])  # fmt: skip


def render_tasks(
    suite: str | Suite,
    env: Environment | None = None,
    n: int = 10,
    seed: int = 0,
    *,
    templates: list[TaskTemplate] | str | Path | None = None,
    kinds: list[str] | None = None,
) -> list[Task]:
    """Render ``n`` grounded tasks, cycling through the kinds (in :data:`TASK_KINDS` order) and, within a
    kind, through its templates. Deterministic for a given ``seed``.

    Args:
        suite: A suite name (``"calendar"``), module path or :class:`Suite`.
        env: The environment to render on (reset for every task); a new one of the suite by default.
        n: Number of tasks.
        seed: Seed of everything random (slot draws, phrasings, each task's environment seed).
        templates: Templates or a template file; the suite's own ``templates.yaml`` by default.
        kinds: Only these kinds.
    """
    suite = get_suite(suite) if not isinstance(suite, Suite) else suite
    env = env if env is not None else suite.create_environment()
    if templates is None:
        if suite.templates_path is None:
            raise UserError(f"suite {suite.name!r} has no templates.yaml; pass templates=PATH")
        templates = suite.templates_path
    if isinstance(templates, (str, Path)):
        templates = load_templates(templates)
    check_templates(templates, env)
    if kinds is not None:
        unknown = sorted(set(kinds) - set(TASK_KINDS))
        if unknown:
            raise UserError(f"unknown task kind(s) {', '.join(unknown)}; kinds: {', '.join(TASK_KINDS)}")
    by_kind = {k: [t for t in templates if t.kind == k] for k in TASK_KINDS if kinds is None or k in kinds}
    by_kind = {k: ts for k, ts in by_kind.items() if ts}
    if not by_kind:
        raise UserError(f"no templates of kind(s) {', '.join(kinds or TASK_KINDS)} for suite {suite.name!r}")
    order = list(by_kind)
    tasks: list[Task] = []
    seen: set[str] = set()
    used: dict[str, int] = {k: 0 for k in order}
    for i in range(n):
        kind = order[i % len(order)]
        pool = by_kind[kind]
        template = pool[used[kind] % len(pool)]
        used[kind] += 1
        for attempt in range(_MAX_DUPLICATE_RETRIES + 1):
            # A few fresh draws avoid repeating a task already in this batch; a template with fewer distinct
            # tasks than asked for repeats after that.
            rng = random.Random(f"{seed}/{i}/{template.id}" + (f"/{attempt}" if attempt else ""))
            task_seed = rng.randrange(1_000_000)
            task = render_template(template, env, task_id=f"{suite.name}/{template.id}/{seed}-{i}",
                                   suite=suite.name, seed=task_seed, rng=rng)  # fmt: skip
            calls = [c.model_dump() for c in task.gold_calls]
            key = json.dumps([task.turns, calls], sort_keys=True, default=str)
            if key not in seen:
                break
        seen.add(key)
        tasks.append(task)
    return tasks
