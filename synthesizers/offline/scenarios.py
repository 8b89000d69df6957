"""One function per scenario kind. Each builds an :class:`Episode` with real tool execution and returns a draft.

Kinds: single, distractors, parallel, parallel_multi, chain, multi_turn, missing_argument, no_tool,
error_recovery, delegate. A kind a universe cannot support (no template of that shape and no generic fallback)
raises :class:`Unsupported`, recorded as a failure at the 'generated' stage so the yield table shows it.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass, field
from typing import Any


from synthesizers.offline.episode import Episode
from synthesizers.offline.no_tool import no_tool_pair
from synthesizers.offline.phrasing import answer_stating, arg_phrase, ask_for, request_for
from synthesizers.offline.universe import Universe
from toolkit.delegation import DELEGATE_SPEC, SUBAGENT_SYSTEM
from toolkit.environment import Environment, GoldCall, Task
from toolkit.specs import ToolCall, ToolResult, ToolSpec

__all__ = ["Draft", "Unsupported", "SCENARIOS"]

class Unsupported(Exception):
    """This universe cannot produce this scenario kind."""


@dataclass
class Draft:
    episode: Episode
    gold: list[GoldCall] = field(default_factory=list)
    facts: list[str] = field(default_factory=list)
    task: Task | None = None
    templates: list[str] = field(default_factory=list)
    phrasings: list[str] = field(default_factory=list)
    env: Environment | None = None


@dataclass
class Ctx:
    universe: Universe
    others: list[Universe]
    rng: random.Random
    job_id: str
    max_depth: int = 2
    distractors: int = 4
    system: str | None = None


def _calls(gold: list[GoldCall]) -> list[ToolCall]:
    return [c.to_call() for c in gold]


def _answer(ep: Episode, specs: dict[str, ToolSpec], pairs: list[tuple[ToolCall, ToolResult]], facts: list[str],
            rng: random.Random) -> str:
    return answer_stating([(specs[c.name], r) for c, r in pairs if c.name in specs], facts, rng)


def _task(ctx: Ctx, env: Environment | None, kind: str, *, allow_generic: bool = True) -> tuple[Task, str]:
    """A task of ``kind`` from a template; a generic single call when the universe has no such template."""
    u = ctx.universe
    pool = u.templates_of(kind)
    if pool and env is not None:
        template = ctx.rng.choice(pool)
        return u.render(template, env, ctx.rng, f"{ctx.job_id}/{template.id}"), f"template:{template.id}"
    if allow_generic and kind == "single":
        return u.generic_task(ctx.rng, ctx.job_id)
    raise Unsupported(f"{u.name} has no {kind!r} templates")


async def _run_task(ep: Episode, task: Task, *, sequential: bool) -> list[tuple[ToolCall, ToolResult]]:
    calls = _calls(task.gold_calls)
    errors = [c.expect_error for c in task.gold_calls]
    if not sequential:
        return list(zip(calls, await ep.act(calls, expect_error=errors)))
    out = []
    for c, e in zip(calls, errors):
        out.extend(zip([c], await ep.act([c], expect_error=[e])))
    return out


def _specs(u: Universe) -> dict[str, ToolSpec]:
    return {s.name: s for s in u.specs}


async def single(ctx: Ctx, ep: Episode, env: Environment | None, *, kind: str = "single") -> Draft:
    task, phrasing = _task(ctx, env, kind)
    ep.user(task.turns[0])
    pairs = await _run_task(ep, task, sequential=kind in ("chain", "error"))
    ep.say(_answer(ep, _specs(ctx.universe), pairs, task.answer_facts, ctx.rng))
    return Draft(ep, gold=list(task.gold_calls), facts=list(task.answer_facts), task=task,
                 templates=[task.template] if task.template else [], phrasings=[phrasing], env=env)


async def distractors(ctx: Ctx, ep: Episode, env: Environment | None) -> Draft:
    pool = [s for o in ctx.others for s in o.specs if s.name not in _specs(ctx.universe)]
    if not pool:
        raise Unsupported("distractors need a second suite or source to draw extra tools from")
    extra = ctx.rng.sample(pool, min(ctx.distractors, len(pool)))
    ep.tools = ep.tools + extra
    ctx.rng.shuffle(ep.tools)
    return await single(ctx, ep, env)


async def parallel(ctx: Ctx, ep: Episode, env: Environment | None) -> Draft:
    if ctx.universe.templates_of("parallel") and env is not None:
        return await single(ctx, ep, env, kind="parallel")
    return await _generic_parallel(ctx, ep, env)


async def chain(ctx: Ctx, ep: Episode, env: Environment | None) -> Draft:
    if ctx.universe.templates_of("chain") and env is not None:
        return await single(ctx, ep, env, kind="chain")
    return await _generic_chain(ctx, ep, env)


async def _generic_parallel(ctx: Ctx, ep: Episode, env: Environment | None) -> Draft:
    """Two or three calls to one tool with different arguments, asked for in one message."""
    u = ctx.universe
    spec = ctx.rng.choice([s for s in u.specs if s.input_schema.get("properties")] or u.specs)
    calls: list[ToolCall] = []
    texts: list[str] = []
    for _ in range(12):
        args = u.sample_args(spec, ctx.rng)
        if all(args != c.arguments for c in calls):
            calls.append(ToolCall(name=spec.name, arguments=args))
            texts.append(arg_phrase(args, ctx.rng))
        if len(calls) == ctx.rng.choice((2, 3)):
            break
    if len(calls) < 2:
        raise Unsupported(f"could not draw two different argument sets for {spec.name}")
    text, phrasing = request_for(spec, {}, ctx.rng)
    ep.user(f"{text.rstrip('.?!')} — for each of these: " + "; ".join(texts) + ".")
    results = await ep.act(calls)
    ep.say(_answer(ep, _specs(u), list(zip(calls, results)), [], ctx.rng))
    gold = [GoldCall(name=c.name, arguments=c.arguments) for c in calls]
    return Draft(ep, gold=gold, phrasings=[phrasing, "generic:parallel"], env=env)


async def _generic_chain(ctx: Ctx, ep: Episode, env: Environment | None) -> Draft:
    """A finds a value, B needs it: call A, read the value from its real result, call B with it."""
    u = ctx.universe
    pairs = u.chain_pairs()
    if not pairs:
        raise Unsupported(f"{u.name} has no 'chain' templates and no tool whose results feed another's arguments")
    a, b, field_name = ctx.rng.choice(pairs)
    first = ToolCall(name=a.name, arguments=u.sample_args(a, ctx.rng))
    text_a, phrasing = request_for(a, first.arguments, ctx.rng)
    verb_b = request_for(b, {}, ctx.rng)[0].rstrip(".?!")
    ep.user(f"{text_a.rstrip('.?!')}, then use the {field_name.replace('_', ' ')} you find: {verb_b[0].lower()}{verb_b[1:]}.")
    [result_a] = await ep.act([first])
    value = _first_value(result_a, field_name)
    if value is None:
        raise Unsupported(f"{a.name} returned no {field_name!r} to feed {b.name}")
    second = ToolCall(name=b.name, arguments=u.sample_args(b, ctx.rng, **{field_name: value}))
    [result_b] = await ep.act([second])
    ep.say(_answer(ep, _specs(u), [(first, result_a), (second, result_b)], [str(value)], ctx.rng))
    gold = [GoldCall(name=c.name, arguments=c.arguments) for c in (first, second)]
    return Draft(ep, gold=gold, facts=[str(value)], phrasings=[phrasing, "generic:chain"], env=env)


def _first_value(result: ToolResult, key: str) -> Any:
    data: Any = result.structured
    if data is None:
        try:
            data = json.loads(result.content)
        except (ValueError, TypeError):
            return None
    stack = [data]
    while stack:
        node = stack.pop(0)
        if isinstance(node, dict):
            if key in node and isinstance(node[key], (str, int)) and not isinstance(node[key], bool):
                return node[key]
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node[:20])
    return None


async def parallel_multi(ctx: Ctx, ep: Episode, env: Environment | None) -> Draft:
    u = ctx.universe
    first, p1 = _task(ctx, env, "single")
    names = {c.name for c in first.gold_calls}
    second: Task | None = None
    p2 = ""
    for _ in range(6):
        cand, p2 = _task(ctx, env, "single")
        if not names & {c.name for c in cand.gold_calls}:
            second = cand
            break
    if second is None:
        second, p2 = u.generic_task(ctx.rng, ctx.job_id + "/b", exclude=names)
        if names & {c.name for c in second.gold_calls}:
            raise Unsupported(f"{u.name} has only one tool; parallel calls to different tools need two")
    if env is not None:
        env.reset(seed=u.env_seed)
    joiner = ctx.rng.choice((" Also, ", " And while you're at it: ", "\nSecond thing: "))
    ep.user(first.turns[0] + joiner + second.turns[0][0].lower() + second.turns[0][1:])
    gold = list(first.gold_calls) + list(second.gold_calls)
    results = await ep.act(_calls(gold), expect_error=[c.expect_error for c in gold])
    facts = list(first.answer_facts) + list(second.answer_facts)
    ep.say(_answer(ep, _specs(u), list(zip(_calls(gold), results)), facts, ctx.rng))
    return Draft(ep, gold=gold, facts=facts, templates=[t for t in (first.template, second.template) if t],
                 phrasings=[p1, p2], env=env)


async def multi_turn(ctx: Ctx, ep: Episode, env: Environment | None) -> Draft:
    u = ctx.universe
    correction = ctx.rng.random() < 0.4
    first, p1 = _task(ctx, env, "single")
    if correction and first.template:
        template = next(t for t in u.templates if t.id == first.template)
        second = u.render(template, env, ctx.rng, ctx.job_id + "/b") if env is not None else first
        lead = ctx.rng.choice(("Sorry, I got that wrong. ", "Actually, scratch that — ", "My mistake. "))
    else:
        second, _ = _task(ctx, env, "single")
        lead = ctx.rng.choice(("Thanks! Next: ", "Great. One more thing: ", "Perfect. Now, "))
    if second.turns[0] == first.turns[0]:
        raise Unsupported("follow-up came out identical to the first request")
    if env is not None:
        env.reset(seed=u.env_seed)
    specs = _specs(u)
    ep.user(first.turns[0])
    pairs = await _run_task(ep, first, sequential=True)
    ep.say(_answer(ep, specs, pairs, first.answer_facts, ctx.rng))
    ep.user(lead + second.turns[0][0].lower() + second.turns[0][1:])
    pairs = await _run_task(ep, second, sequential=True)
    ep.say(_answer(ep, specs, pairs, second.answer_facts, ctx.rng))
    return Draft(ep, gold=list(first.gold_calls) + list(second.gold_calls),
                 facts=list(first.answer_facts) + list(second.answer_facts),
                 templates=[t for t in (first.template, second.template) if t], phrasings=[p1], env=env)


async def missing_argument(ctx: Ctx, ep: Episode, env: Environment | None) -> Draft:
    u = ctx.universe
    pool = u.templates_of("missing_argument")
    if pool and env is not None:
        template = ctx.rng.choice(pool)
        task = u.render(template, env, ctx.rng, f"{ctx.job_id}/{template.id}")
        first_turn, follow_up, missing = task.turns[0], task.turns[1], list(task.missing_arguments)
        phrasing = f"template:{template.id}"
    else:
        needy = {s.name for s in u.specs if not s.input_schema.get("required")}
        task, phrasing = u.generic_task(ctx.rng, ctx.job_id, exclude=needy)
        call = task.gold_calls[0]
        spec = _specs(u)[call.name]
        required = [r for r in spec.input_schema.get("required", []) if r in call.arguments]
        if not required:
            raise Unsupported(f"{call.name} has no required argument to leave out")
        missing = [ctx.rng.choice(required)]
        kept = {k: v for k, v in call.arguments.items() if k not in missing}
        first_turn, _ = request_for(spec, kept, ctx.rng)
        follow_up = "Use " + arg_phrase({m: call.arguments[m] for m in missing}, ctx.rng) + "."
    spec = _specs(u)[task.gold_calls[0].name]
    ep.user(first_turn)
    ep.say(ask_for(spec, missing, ctx.rng))
    ep.user(follow_up)
    pairs = await _run_task(ep, task, sequential=True)
    ep.say(_answer(ep, _specs(u), pairs, task.answer_facts, ctx.rng))
    return Draft(ep, gold=list(task.gold_calls), facts=list(task.answer_facts), task=task,
                 templates=[task.template] if task.template else [], phrasings=[phrasing], env=env)


async def no_tool(ctx: Ctx, ep: Episode, env: Environment | None) -> Draft:
    question, answer, phrasing = no_tool_pair(ctx.rng)
    ep.user(question)
    ep.say(answer)
    return Draft(ep, gold=[], facts=[], phrasings=[phrasing], env=env)


def _corrupt(call: ToolCall, spec: ToolSpec, rng: random.Random) -> ToolCall | None:
    """A plausible wrong first attempt that the real tool rejects: a wrong type or an out-of-range value."""
    props = spec.input_schema.get("properties", {})
    candidates = [k for k in call.arguments if isinstance(props.get(k), dict)]
    rng.shuffle(candidates)
    for key in candidates:
        prop, value = props[key], call.arguments[key]
        if "enum" in prop:
            bad: Any = str(value).upper() + "_X" if isinstance(value, str) else "unknown"
        elif prop.get("type") in ("integer", "number") and not isinstance(value, bool):
            bad = str(value)  # a number sent as a string
        elif prop.get("type") == "array":
            bad = value[0] if value else "x"
        elif prop.get("type") == "string" and "format" in prop:
            bad = "tomorrow-ish"
        else:
            continue
        return ToolCall(name=call.name, arguments={**call.arguments, key: bad})
    required = spec.input_schema.get("required", [])
    if required:
        drop = rng.choice(required)
        return ToolCall(name=call.name, arguments={k: v for k, v in call.arguments.items() if k != drop})
    return None


async def error_recovery(ctx: Ctx, ep: Episode, env: Environment | None) -> Draft:
    u = ctx.universe
    mode = ctx.rng.choice(("tool_error", "bad_argument", "timeout", "malformed"))
    if mode == "tool_error" and u.templates_of("error") and env is not None:
        return await single(ctx, ep, env, kind="error")
    task, phrasing = _task(ctx, env, "single")
    gold = task.gold_calls[0]
    spec = _specs(u)[gold.name]
    ep.user(task.turns[0])
    if mode in ("bad_argument", "tool_error"):
        wrong = _corrupt(gold.to_call(), spec, ctx.rng)
        if wrong is None:
            raise Unsupported(f"no way to make a wrong call to {gold.name}")
        # The real tool rejects it (a real error message); the wrong turn is shown but not trained on.
        await ep.act([wrong], expect_error=[True], train=False)
    else:
        message = ("Error: the tool timed out after 30 s without answering." if mode == "timeout"
                   else "Error: the tool returned a malformed result that could not be decoded.")
        kind = "timeout" if mode == "timeout" else "malformed_result"
        await ep.act([gold.to_call()], inject={0: ToolResult.error(kind, message)})
    pairs = await _run_task(ep, task, sequential=True)
    ep.say(_answer(ep, _specs(u), pairs, task.answer_facts, ctx.rng))
    return Draft(ep, gold=list(task.gold_calls), facts=list(task.answer_facts), task=task,
                 templates=[task.template] if task.template else [], phrasings=[phrasing, f"recovery:{mode}"], env=env)


async def delegate(ctx: Ctx, ep: Episode, env: Environment | None, depth: int = 1) -> Draft:
    u = ctx.universe
    kind = ctx.rng.choice([k for k in ("single", "chain", "parallel") if k == "single" or u.templates_of(k)])
    task, phrasing = _task(ctx, env, kind)
    names = list(dict.fromkeys(c.name for c in task.gold_calls))
    spare = [s.name for s in u.specs if s.name not in names]
    granted = names + ctx.rng.sample(spare, min(len(spare), ctx.rng.randint(0, 2)))
    nested = depth < ctx.max_depth and ctx.rng.random() < 0.25  # the subagent hands the job on once more
    grant = granted + ["delegate"] if nested else granted
    ep.tools = ep.tools + [DELEGATE_SPEC]
    ep.user(task.turns[0])
    brief = task.turns[0] if len(task.turns) == 1 else " ".join(task.turns)
    specs = _specs(u)

    async def run_child(call: ToolCall, call_id: str) -> str:
        child = Episode(registry=ep.registry, tools=[specs[n] for n in granted], system=SUBAGENT_SYSTEM,
                        id_prefix=f"{call_id}_sub")
        child.user(brief)
        if nested:
            answer = await _delegate_inner(ctx, child, task, granted)
        else:
            pairs = await _run_task(child, task, sequential=kind == "chain")
            answer = _answer(child, specs, pairs, task.answer_facts, ctx.rng)
            child.say(answer)
        ep.subagents[call_id] = child.trajectory(f"{ctx.job_id}/{call_id}")
        ep.injected.update({k: v for k, v in child.injected.items()})
        return answer

    results = await ep.act([ToolCall(name="delegate", arguments={"task": brief, "tools": grant})],
                           delegate=run_child)
    ep.say(results[0].content)
    return Draft(ep, gold=[GoldCall(name="delegate", arguments={"task": brief, "tools": grant})],
                 facts=list(task.answer_facts), task=task, templates=[task.template] if task.template else [],
                 phrasings=[phrasing, "delegate"], env=env)


async def _delegate_inner(ctx: Ctx, child: Episode, task: Task, granted: list[str]) -> str:
    """A subagent that hands the whole job on to a sub-subagent (up to the depth limit), then relays its report."""
    specs = {s.name: s for s in ctx.universe.specs}
    child.tools = child.tools + [DELEGATE_SPEC]
    brief = child.messages[-1].content or ""

    async def run_grandchild(call: ToolCall, call_id: str) -> str:
        grand = Episode(registry=child.registry, tools=[specs[n] for n in granted], system=SUBAGENT_SYSTEM,
                        id_prefix=f"{call_id}_sub")
        grand.user(brief)
        pairs = await _run_task(grand, task, sequential=True)
        answer = _answer(grand, specs, pairs, task.answer_facts, ctx.rng)
        grand.say(answer)
        child.subagents[call_id] = grand.trajectory(f"{ctx.job_id}/{call_id}")
        return answer

    results = await child.act([ToolCall(name="delegate", arguments={"task": brief, "tools": granted})],
                              delegate=run_grandchild)
    child.say(results[0].content)
    return results[0].content


SCENARIOS = {
    "single": single,
    "distractors": distractors,
    "parallel": parallel,
    "parallel_multi": parallel_multi,
    "chain": chain,
    "multi_turn": multi_turn,
    "missing_argument": missing_argument,
    "no_tool": no_tool,
    "error_recovery": error_recovery,
    "delegate": delegate,
}
