"""Where tools and tasks come from: a bundled/user suite (environment + templates) or any tool source."""

from __future__ import annotations

import json
import random
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from synthesizers.offline.phrasing import description_examples, request_for
from synthesizers.sampling import sample_arguments
from toolkit.environment import Environment, GoldCall, Suite, Task, get_suite
from toolkit.sources import ToolSource, parse_source
from toolkit.specs import ToolResult, ToolSpec
from toolkit.template_rendering import render_template
from toolkit.templates import TaskTemplate, load_templates
from toolkit.toolsets import ToolRegistry

__all__ = ["Universe", "open_universes"]


@dataclass
class Universe:
    """One suite or source. Suites give each sample a fresh environment; sources share one open registry."""

    name: str
    suite: Suite | None = None
    source: ToolSource | None = None
    env_seed: int = 0
    templates: list[TaskTemplate] = field(default_factory=list)
    specs: list[ToolSpec] = field(default_factory=list)
    shared: ToolRegistry | None = None
    observed: dict[str, list[Any]] = field(default_factory=dict)
    """Values seen in tool results, by field name (ids that exist), used to ground sampled arguments."""
    observed_from: dict[str, set[str]] = field(default_factory=dict)
    """Which tools' results carried each field (chain candidates)."""

    async def open(self) -> None:
        if self.suite is not None:
            env = self.suite.create_environment()
            try:
                self.specs = env.specs()
            finally:
                _close_env(env)
            if self.suite.templates_path is not None:
                self.templates = load_templates(self.suite.templates_path)
        else:
            assert self.source is not None
            self.shared = ToolRegistry([self.source.make()])
            await self.shared.open()
            self.specs = self.shared.specs()
            await self._probe()

    async def _probe(self) -> None:
        """Call the read-only-looking tools that need no arguments once, to learn values that exist (product ids,
        project names) before any request is phrased. Names decide what looks read-only: list/search/get/find."""
        assert self.shared is not None
        for spec in self.specs:
            required = spec.input_schema.get("required") or []
            if required or not _READ_ONLY.match(spec.name):
                continue
            result = await self.shared.call(spec.name, {})
            if not result.is_error:
                self.observe(spec.name, result)

    def observe(self, tool: str, result: ToolResult) -> None:
        """Remember scalar values by field name from a successful result (bounded per field)."""
        value: Any = result.structured
        if value is None:
            try:
                value = json.loads(result.content)
            except (ValueError, TypeError):
                return
        stack: list[tuple[str | None, Any, int]] = [(None, value, 0)]
        while stack:
            key, node, depth = stack.pop()
            if depth > 6:
                continue
            if isinstance(node, dict):
                stack.extend((k, v, depth + 1) for k, v in node.items())
            elif isinstance(node, list):
                stack.extend((key, v, depth + 1) for v in node[:50])
            elif key is not None and isinstance(node, (str, int)) and not isinstance(node, bool):
                pool = self.observed.setdefault(key, [])
                if node not in pool and len(pool) < 64:
                    pool.append(node)
                self.observed_from.setdefault(key, set()).add(tool)

    async def close(self) -> None:
        if self.shared is not None:
            await self.shared.close()

    def templates_of(self, kind: str) -> list[TaskTemplate]:
        return [t for t in self.templates if t.kind == kind]

    @asynccontextmanager
    async def session(self) -> AsyncIterator[tuple[ToolRegistry, Environment | None]]:
        """A registry for one sample: over a fresh environment (suites), a fresh server or module instance
        (``stdio:``/``py:`` sources, so every sample starts from the same state and replays exactly), or the one
        shared session of an HTTP server (whose state cannot be reset from here)."""
        if self.suite is None:
            assert self.source is not None and self.shared is not None
            if self.source.kind == "http":
                yield self.shared, None
                return
            async with ToolRegistry([self.source.make()]) as registry:
                yield registry, None
            return
        env = self.suite.create_environment()
        env.reset(seed=self.env_seed)
        try:
            async with ToolRegistry([env.toolset()]) as registry:
                yield registry, env
        finally:
            _close_env(env)

    def render(self, template: TaskTemplate, env: Environment, rng: random.Random, task_id: str) -> Task:
        """A grounded task from ``template``, on this universe's fixed initial state (so replay on a fresh default
        state reproduces every result); ``env`` is left reset to that state."""
        task = render_template(template, env, task_id=task_id, suite=self.name, seed=self.env_seed, rng=rng)
        env.reset(task)
        return task

    def generic_task(self, rng: random.Random, task_id: str, *, exclude: set[str] | None = None) -> tuple[Task, str]:
        """A single-call task for a tool without templates: schema-sampled arguments, phrasing from name and
        description. Returns the task and its phrasing id."""
        pool = [s for s in self.specs if not exclude or s.name not in exclude] or self.specs
        spec = rng.choice(pool)
        args = self.sample_args(spec, rng)
        text, phrasing = request_for(spec, args, rng)
        task = Task(id=task_id, suite=self.name, kind="single", turns=[text],
                    gold_calls=[GoldCall(name=spec.name, arguments=args)], seed=self.env_seed)
        return task, phrasing

    def sample_args(self, spec: ToolSpec, rng: random.Random, **fixed: Any) -> dict[str, Any]:
        """Schema-valid arguments grounded in what the tool suggests and in values seen in results."""
        grounding = {**_grounding(spec), **{k: v for k, v in self.observed.items() if v}}
        grounding.update({k: [v] for k, v in fixed.items()})
        return sample_arguments(spec.input_schema, rng, grounding=grounding)

    def chain_pairs(self) -> list[tuple[ToolSpec, ToolSpec, str]]:
        """(A, B, field): B requires ``field`` and A's results have carried it, so A's result can feed B."""
        out = []
        by_name = {s.name: s for s in self.specs}
        for b in self.specs:
            for param in b.input_schema.get("required") or []:
                for a_name in sorted(self.observed_from.get(param, ())):
                    if a_name != b.name and a_name in by_name:
                        out.append((by_name[a_name], b, param))
        return out


_TIMEZONES = ["Europe/London", "America/New_York", "Asia/Tokyo", "Europe/Berlin", "Australia/Sydney",
              "America/Los_Angeles", "Asia/Kolkata", "Europe/Warsaw", "America/Sao_Paulo", "Africa/Nairobi"]
_SEMANTIC: list[tuple[re.Pattern[str], list[Any]]] = [
    (re.compile(r"\bHH:MM\b|24-hour", re.I), ["09:30", "14:00", "16:45", "08:15", "23:05", "12:00"]),
    (re.compile(r"\b(IANA|time ?zone)\b", re.I), _TIMEZONES),
    (re.compile(r"\bYYYY-MM-DD\b", re.I), ["2026-03-14", "2026-07-01", "2026-11-30", "2027-01-15"]),
    (re.compile(r"\b(ISO ?4217|currency code)\b", re.I), ["USD", "EUR", "GBP", "JPY", "CHF"]),
    (re.compile(r"\b(ISO 3166|country code)\b", re.I), ["US", "FR", "DE", "JP", "BR"]),
]


_READ_ONLY = re.compile(r"^(list|search|get|find|query|describe|show|lookup)[_\-.]?", re.I)


def _grounding(spec: ToolSpec) -> dict[str, list[Any]]:
    """Values the tool itself suggests: defaults, schema examples, examples quoted in descriptions, and common
    value kinds its description names (HH:MM times, IANA time zones, ISO dates, currency and country codes)."""
    out: dict[str, list[Any]] = {}
    for name, prop in (spec.input_schema.get("properties") or {}).items():
        if not isinstance(prop, dict):
            continue
        values: list[Any] = list(prop.get("examples") or [])
        if "default" in prop and prop["default"] is not None:
            values.append(prop["default"])
        if prop.get("type") in (None, "string") and "enum" not in prop and "format" not in prop:
            text = f"{name.replace('_', ' ')} {prop.get('description', '')}"
            values.extend(description_examples(text))
            for pattern, pool in _SEMANTIC:
                if pattern.search(text):
                    values.extend(pool)
                    break
        if values:
            out[name] = values
    return out


def _close_env(env: Environment) -> None:
    close = getattr(env, "close", None)
    if callable(close):
        close()


async def open_universes(suites: list[str], sources: list[str], env_seed: int = 0) -> list[Universe]:
    universes: list[Universe] = []
    try:
        for name in suites:
            u = Universe(name=name, suite=get_suite(name), env_seed=env_seed)
            await u.open()
            universes.append(u)
        for text in sources:
            source = parse_source(text)
            u = Universe(name=source.label, source=source, env_seed=env_seed)
            await u.open()
            universes.append(u)
    except BaseException:
        for u in universes:
            await u.close()
        raise
    return universes
