"""The offline programmatic synthesizer: the embedded default, no model needed.

For each job it picks a universe (suite or tool source), builds the scenario kind the runner asked for with real
tool execution, and verifies the result before handing it back: the record validates (schema, structure, arguments
against input schemas, results against output schemas, subagent consistency), every answer fact is in the final
answer, and for single-task scenarios the environment's end state equals the template's gold end state.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any

from synthesizers.offline.episode import Episode, ExecutionFailed
from synthesizers.offline.scenarios import SCENARIOS, Ctx, Draft, Unsupported
from synthesizers.offline.universe import Universe, open_universes
from synthesizers.outcome import SampleJob, SampleOutcome
from synthesizers.sampling import SamplingError
from toolkit.delegation import DELEGATE_TOOL
from toolkit.environment import diff_snapshots
from toolkit.specs import ToolSpec
from toolkit.errors import UserError
from toolkit.records import Expected, FunctionCall, Provenance, Scenario
from toolkit.templates import TemplateError
from toolkit.validation import validate_trajectory

__all__ = ["OfflineSynthesizer"]


def _offered(draft: Draft, limit: int, rng: random.Random) -> list[ToolSpec]:
    """The tools the sample needs (called, or granted to a subagent) plus others drawn at random, up to ``limit``
    (never fewer than it needs), in their original order."""
    tools = draft.episode.tools
    needed = {c.name for c in draft.episode.calls_made}
    for c in draft.episode.calls_made:
        if c.name == DELEGATE_TOOL:
            needed.update(str(n) for n in c.arguments.get("tools") or [])
    others = [t.name for t in tools if t.name not in needed]
    keep = needed | set(rng.sample(others, max(0, min(len(others), limit - len(needed)))))
    return [t for t in tools if t.name in keep]


def _decoy_pool(universes: list[Universe]) -> list[Universe]:
    """With a single source there is nothing to draw distractor tools from, so offer the bundled suites' tool
    specs (listed to the model, never called)."""
    from toolkit.environment import get_suite, list_suites

    taken = {s.name for u in universes for s in u.specs}
    pool = []
    for name in list_suites():
        env = get_suite(name).create_environment()
        try:
            specs = [s for s in env.specs() if s.name not in taken]
        finally:
            close = getattr(env, "close", None)
            if callable(close):
                close()
        pool.append(Universe(name=f"decoys:{name}", specs=specs))
    return pool

_VERSION = "toolgym-offline/1"


@dataclass(kw_only=True)
class OfflineSynthesizer:
    suites: list[str] = field(default_factory=list)
    sources: list[str] = field(default_factory=list)
    env_seed: int = 0
    max_delegate_depth: int = 2
    distractors: int = 4
    system_prompt: str | None = None
    max_tools: int | None = None
    """Offer each sample at most this many tools: the ones it calls plus a random few (shorter prompts)."""
    universes: list[Universe] = field(default_factory=list)
    _decoys: list[Universe] = field(default_factory=list)

    async def __aenter__(self) -> OfflineSynthesizer:
        if not self.suites and not self.sources:
            raise UserError("the offline synthesizer needs at least one suite or tool source")
        self.universes = await open_universes(self.suites, self.sources, self.env_seed)
        self._decoys = _decoy_pool(self.universes) if len(self.universes) == 1 else []
        return self

    async def __aexit__(self, *exc: object) -> None:
        for u in self.universes:
            await u.close()
        self.universes = []

    async def synthesize(self, job: SampleJob) -> SampleOutcome:
        rng = random.Random(job.seed)
        universe = rng.choice(self.universes)
        build = SCENARIOS.get(job.kind)
        if build is None:
            return SampleOutcome.failure(job, "generated", f"unknown scenario kind {job.kind!r}; kinds: {', '.join(SCENARIOS)}")
        others = [u for u in self.universes if u is not universe] or self._decoys
        ctx = Ctx(universe=universe, others=others, rng=rng, job_id=job.id, max_depth=self.max_delegate_depth,
                  distractors=self.distractors, system=self.system_prompt)
        async with universe.session() as (registry, env):
            episode = Episode(registry=registry, tools=list(universe.specs), system=self.system_prompt,
                              observer=universe.observe if universe.suite is None else None)
            try:
                draft = await build(ctx, episode, env)
            except Unsupported as exc:
                return SampleOutcome.failure(job, "generated", str(exc))
            except (TemplateError, SamplingError) as exc:
                return SampleOutcome.failure(job, "generated", f"{universe.name}: {exc}")
            except ExecutionFailed as exc:
                return SampleOutcome.failure(job, "executed", f"{universe.name}: {exc}")
            end_state = env.snapshot() if env is not None else None
        return await self._verify(job, universe, draft, end_state)

    async def _verify(self, job: SampleJob, universe: Universe, draft: Draft, end_state: dict[str, Any] | None) -> SampleOutcome:
        if self.max_tools is not None:
            draft.episode.tools = _offered(draft, self.max_tools, random.Random(job.seed ^ 0x5EED))
        traj = draft.episode.trajectory(
            job.id,
            scenario=Scenario(kind=job.kind, suite=universe.name, seed=self.env_seed,
                              template=draft.templates[0] if draft.templates else None,
                              task=draft.task.model_dump(mode="json") if draft.task is not None else None),
            expected=Expected(calls=[FunctionCall(name=c.name, arguments=c.arguments) for c in draft.gold],
                              final_state=end_state, answer_facts=list(draft.facts)),
            provenance=Provenance(generator="offline", generator_version=_VERSION,
                                  extra={"phrasings": draft.phrasings, "templates": draft.templates}),
        )
        validation = await validate_trajectory(traj, stages=("record", "structure", "arguments", "results", "subagents"))
        traj = traj.model_copy(update={"validation": validation})
        failed = [o for o in validation.stages if not o.passed]
        if failed:
            stage = "schema_valid" if failed[0].stage in ("record", "arguments") else "verified"
            return SampleOutcome.failure(job, stage, f"{failed[0].stage}: {'; '.join(failed[0].reasons[:2])}")
        if draft.task is not None and end_state is not None and draft.task.gold_end_state is not None \
                and job.kind in ("single", "distractors", "parallel", "chain", "missing_argument", "error_recovery"):
            changes = diff_snapshots(draft.task.gold_end_state, end_state)
            if changes:
                return SampleOutcome.failure(job, "verified", f"end state differs from the gold end state: {changes[0]}")
        return SampleOutcome.success(job, traj)
