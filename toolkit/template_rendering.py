"""Rendering task templates into grounded tasks: slots drawn from the environment's state, gold calls executed
on a fresh environment for their results and the gold end state. Templates are parsed and checked in
:mod:`toolkit.templates`; this module turns them into :class:`~toolkit.environment.Task` objects."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

from toolkit.environment import TASK_KINDS, Environment, GoldCall, NoSlotValue, Suite, Task, get_suite
from toolkit.errors import UserError
from toolkit.jsonschema_utils import validation_errors
from toolkit.specs import ToolResult
from toolkit.templates import (_MAX_ATTEMPTS, _MAX_DUPLICATE_RETRIES, _REF, _TOKEN, SlotSpec, TaskTemplate,
                               TemplateError, check_templates, load_templates)

__all__ = ["render_template", "render_tasks"]


class _Unrenderable(Exception):
    """This draw of slot values does not work for this state (a template may still work with another draw)."""


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
