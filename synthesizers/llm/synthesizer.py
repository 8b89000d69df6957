"""The LLM-driven synthesizer: a teacher model behind any OpenAI-compatible endpoint writes tasks from the tool
catalogue (optionally judged), plays the agent against the real tools, plays the user from a persona for
multi-turn and missing-argument scenarios, runs subagents through the same loop, and keeps only trajectories that
pass validation (schema, structure, execution, grounding, and optionally a judge of the final answer)."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any

from synthesizers.config import SynthConfig
from synthesizers.llm.agent import SampleFailed, Teacher, ask, run_agent
from synthesizers.llm.prompts import (AGENT_SYSTEM, answer_judge_messages, task_judge_messages, task_writer_messages,
                                      user_simulator_messages)
from synthesizers.offline.episode import Episode
from synthesizers.offline.universe import Universe, open_universes
from synthesizers.outcome import SampleJob, SampleOutcome
from toolkit.backends import Decoding, OpenAIBackend, OpenAIConfig
from toolkit.delegation import DELEGATE_SPEC
from toolkit.records import Expected, FunctionCall, Provenance, Scenario
from toolkit.specs import ToolResult
from toolkit.validation import validate_trajectory

__all__ = ["LLMSynthesizer"]

_VERSION = "toolgym-llm/1"
_MIN_TASK_SCORE = 3


@dataclass(kw_only=True)
class LLMSynthesizer:
    teacher: Teacher
    suites: list[str] = field(default_factory=list)
    sources: list[str] = field(default_factory=list)
    judge: bool = False
    max_delegate_depth: int = 2
    distractors: int = 4
    max_user_turns: int = 3
    model_name: str = "teacher"
    universes: list[Universe] = field(default_factory=list)

    @classmethod
    def from_config(cls, config: SynthConfig) -> LLMSynthesizer:
        t = config.teacher
        assert t is not None  # SynthConfig refuses an llm run without a teacher
        backend = OpenAIBackend(OpenAIConfig(model=t.model, base_url=t.base_url, api_key_env=t.api_key_env or None,
                                             max_concurrency=max(1, config.concurrency)))
        teacher = Teacher(backend=backend, decoding=Decoding(temperature=t.temperature, max_tokens=t.max_tokens),
                          native=t.native_tools, presentation=t.presentation)
        return cls(teacher=teacher, suites=list(config.suites), sources=list(config.tools), judge=t.judge,
                   max_delegate_depth=config.max_delegate_depth, distractors=config.distractors, model_name=t.model)

    async def __aenter__(self) -> LLMSynthesizer:
        self.universes = await open_universes(self.suites, self.sources)
        return self

    async def __aexit__(self, *exc: object) -> None:
        for u in self.universes:
            await u.close()
        self.universes = []
        await self.teacher.backend.aclose()

    async def synthesize(self, job: SampleJob) -> SampleOutcome:
        rng = random.Random(job.seed)
        universe = rng.choice(self.universes)
        try:
            return await self._sample(job, universe, rng)
        except SampleFailed as exc:
            return SampleOutcome.failure(job, exc.stage, exc.reason)

    async def _sample(self, job: SampleJob, u: Universe, rng: random.Random) -> SampleOutcome:
        tools = list(u.specs)
        if job.kind == "distractors":
            pool = [s for o in self.universes if o is not u for s in o.specs]
            tools += rng.sample(pool, min(self.distractors, len(pool)))
        task = await ask(self.teacher, task_writer_messages(tools, job.kind, job.seed % 100_000))
        request = str(task.get("request") or "").strip()
        if not request:
            raise SampleFailed("parsed", "the task writer gave no request")
        needs_tools = bool(task.get("needs_tools", job.kind != "no_tool"))
        if self.judge:
            verdict = await ask(self.teacher, task_judge_messages(tools, request, job.kind))
            score = verdict.get("score")
            if not isinstance(score, int) or score < _MIN_TASK_SCORE:
                raise SampleFailed("generated", f"task judge rejected the task (score {score}): {verdict.get('reason', '')}"[:160])
        async with u.session() as (registry, env):
            system = AGENT_SYSTEM + (" Hand self-contained work to a subagent with the delegate tool."
                                     if job.kind == "delegate" else "")
            ep = Episode(registry=registry, tools=tools + ([DELEGATE_SPEC] if job.kind == "delegate" else []),
                         system=system)
            ep.user(request)
            inject = None
            if job.kind == "error_recovery":
                kind = rng.choice(("timeout", "malformed_result"))
                inject = ToolResult.error(kind, "Error: the tool timed out after 30 s without answering." if kind == "timeout"
                                          else "Error: the tool returned a malformed result that could not be decoded.")
            answer = await run_agent(self.teacher, ep, inject_first=inject, max_depth=self.max_delegate_depth,
                                     job_id=job.id)
            if job.kind == "missing_argument" and ep.calls_made and ep.messages[-1].content == answer \
                    and not any(m.role == "assistant" and not m.tool_calls for m in ep.messages[:-1]):
                raise SampleFailed("verified", "the agent guessed instead of asking for the missing value")
            if job.kind in ("multi_turn", "missing_argument"):
                answer = await self._converse(ep, task, request)
            end_state = env.snapshot() if env is not None else None
        return await self._verify(job, u, ep, needs_tools, request, answer, end_state)

    async def _converse(self, ep: Episode, task: dict[str, Any], request: str) -> str:
        answer = ep.messages[-1].content or ""
        for _ in range(self.max_user_turns - 1):
            transcript = [{"role": m.role, "content": m.content or ""} for m in ep.messages
                          if m.role in ("user", "assistant") and m.content]
            reply = await ask_text(self.teacher, user_simulator_messages(
                str(task.get("persona") or "a busy professional"), request, task.get("hidden_details"),
                task.get("follow_up_goal"), transcript))
            if reply.strip().upper().startswith("DONE") or not reply.strip():
                break
            ep.user(reply.strip())
            answer = await run_agent(self.teacher, ep, max_depth=self.max_delegate_depth)
        return answer

    async def _verify(self, job: SampleJob, u: Universe, ep: Episode, needs_tools: bool, request: str, answer: str,
                      end_state: dict[str, Any] | None) -> SampleOutcome:
        if needs_tools and not ep.calls_made:
            raise SampleFailed("verified", "the task needs tools but the agent answered without calling any")
        if not needs_tools and ep.calls_made:
            raise SampleFailed("verified", "no tool applies but the agent called one")
        pairs = list(zip(ep.calls_made, ep.results_seen))
        mistakes = [c.name for c, r in pairs if r.error_kind in ("unknown_tool", "invalid_arguments")]
        if mistakes:  # a model's wrong call would be trained on as if it were right
            raise SampleFailed("verified", f"the agent made a wrong call ({mistakes[0]}): not a clean example")
        if job.kind == "error_recovery":
            first = next((i for i, (_, r) in enumerate(pairs) if r.is_error), None)
            recovered = first is not None and any(
                c.name == pairs[first][0].name and not r.is_error for c, r in pairs[first + 1 :])
            if not recovered:
                raise SampleFailed("verified", "after the tool failed, the agent did not call it again successfully")
        traj = ep.trajectory(
            job.id,
            scenario=Scenario(kind=job.kind, suite=u.name),
            expected=Expected(calls=[FunctionCall(name=c.name, arguments=c.arguments)
                                     for c, r in zip(ep.calls_made, ep.results_seen) if not r.is_error],
                              final_state=end_state),
            provenance=Provenance(generator="llm", generator_version=_VERSION, teacher=self.model_name),
        )
        validation = await validate_trajectory(traj, stages=("record", "structure", "arguments", "results", "subagents"))
        failed = [o for o in validation.stages if not o.passed]
        if failed:
            raise SampleFailed("verified", f"{failed[0].stage}: {'; '.join(failed[0].reasons[:2])}")
        if self.judge and ep.calls_made:
            shown = "\n".join(f"{m.name}: {(m.content or '')[:500]}" for m in ep.messages if m.role == "tool")
            verdict = await ask(self.teacher, answer_judge_messages(request, shown, answer))
            if str(verdict.get("verdict", "")).lower() != "pass":
                raise SampleFailed("verified", f"answer judge: {verdict.get('reason', 'fail')}"[:160])
        return SampleOutcome.success(job, traj.model_copy(update={"validation": validation}))


async def ask_text(teacher: Teacher, messages: list[dict[str, str]]) -> str:
    from toolkit.backends import ChatRequest

    [response] = await teacher.backend.generate([ChatRequest(messages=messages, decoding=teacher.decoding)])
    if not response.ok:
        raise SampleFailed("generated", f"teacher request failed: {response.error_kind}: {response.error}")
    return response.text or ""
