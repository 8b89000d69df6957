"""ToolGym's multi-turn rollout for TRL GRPO (``GRPOTrainer(rollout_func=...)``): the policy acts on a live suite
environment, in any presentation, with prompts rendered exactly as SFT and evaluation render them.

Per rollout: reset a :class:`~trainers.rl_env.ToolGymEnv` to the row's task; render the prompt with
:func:`toolkit.chat_format.prompt_for`; then repeat — generate one assistant turn, read it with the
presentation's parser (strict and lenient; the lenient calls are executed, as a forgiving runtime would), run
the calls on the environment (recorded, capped), and append the tool results. Token ids are built by
**concatenation** (token in, token out): the generated ids are kept as generated and only the template text
*after* the assistant's end-of-turn token (tool results, the next generation prompt, a simulated user's
follow-up) is tokenized and appended with ``env_mask`` 0, so the loss never trains on tool output. A
``missing_argument`` task's follow-up turn is sent when the policy answers in text (it asked for the missing
value).

Returned to TRL: ``prompt_ids``, ``completion_ids``, ``logprobs`` (None: TRL recomputes them), ``env_mask``
and ``toolgym_episode`` (one :class:`Episode` per rollout, forwarded to the reward functions).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from toolkit.chat_format import render_chat, resolve_native, to_chat_messages
from toolkit.environment import Grade, Task
from toolkit.errors import UserError
from toolkit.presentations import get_presentation
from toolkit.specs import ToolCall, ToolSpec
from trainers.demonstrations import GUIDANCE, demonstration_message
from trainers.rl_env import (
    CallRecord,
    ToolGymEnv,
    calls_of,
    environment_class,
    invoke,
    snapshot_of,
    suite_env_of,
)

__all__ = ["TASK_KEY", "Episode", "GenerateFn", "ToolRollout", "Turn"]

TASK_KEY = "toolgym_task"
"""Key of the prompt's user message that carries the task JSON (``rollout_func`` receives only the prompts)."""

GenerateFn = Callable[[list[list[int]], list[int]], list[list[int]]]


@dataclass
class Turn:
    """One assistant turn: its raw text and how the presentation's parser read it."""

    text: str
    calls: list[ToolCall]
    strict_ok: bool
    lenient_error: str | None
    leniencies: tuple[str, ...] = ()
    had_call_syntax: bool = False
    content: str = ""
    truncated: bool = False


@dataclass
class Episode:
    """A finished rollout: the task, every turn, every call and the state the policy left behind."""

    task: Task
    turns: list[Turn]
    calls: list[CallRecord]
    end_state: dict[str, Any]
    final_answer: str | None
    specs: list[ToolSpec]
    grader: Any = field(repr=False)
    max_calls: int = 8
    demonstration: bool = False  # the gold demonstration that replaced a rollout (guidance), not the policy's
    out_of_budget: bool = False  # ended because max_completion_length ran out (mid-turn, or no room for results)

    @property
    def executed_calls(self) -> list[CallRecord]:
        return [c for c in self.calls if not c.refused]

    @property
    def finished(self) -> bool:
        """The policy handed the turn back: its last turn is a readable reply with no call, not cut off. A rollout
        that ended at the tool-round or token limit while still calling tools, mid-turn, or on unreadable call
        syntax is unfinished."""
        if not self.turns:
            return False
        last = self.turns[-1]
        return not last.calls and not last.truncated and last.lenient_error is None

    @property
    def solved(self) -> bool:
        """Finished, passed every check, and made no call past the cap: what the ``outcome`` reward pays."""
        return self.finished and not any(c.refused for c in self.calls) and self.grade.passed

    def turn_calls(self) -> list[list[ToolCall]]:
        """The executed calls split per user turn the policy reached (for ``missing_argument`` grading)."""
        out: list[list[ToolCall]] = [[] for _ in range(max([1] + [c.turn + 1 for c in self.calls]))]
        for c in self.executed_calls:
            out[c.turn].append(ToolCall(name=c.name, arguments=c.arguments))
        return out

    @cached_property
    def grade(self) -> Grade:
        """``Environment.grade`` on the live end state (the evaluator's checks and metrics)."""
        calls = [ToolCall(name=c.name, arguments=c.arguments) for c in self.executed_calls]
        return self.grader.grade(
            self.task, calls, self.final_answer, end_state=self.end_state, turn_calls=self.turn_calls()
        )


def _stop_texts(tokenizer: Any, stop_ids: Sequence[int]) -> list[str]:
    texts = {tokenizer.convert_ids_to_tokens(int(i)) for i in stop_ids}
    return sorted((t for t in texts if t), key=len, reverse=True)


@dataclass
class _State:
    adapter: ToolGymEnv
    task: Task
    history: list[dict[str, Any]]
    prompt_ids: list[int]
    completion_ids: list[int] = field(default_factory=list)
    env_mask: list[int] = field(default_factory=list)
    turns: list[Turn] = field(default_factory=list)
    user_turn: int = 0
    tool_rounds: int = 0
    final_answer: str | None = None
    done: bool = False
    out_of_budget: bool = False
    limit: int = 0  # the rollout's token budget (max_completion_length; unbounded when measuring a demonstration)


class ToolRollout:
    """The ``rollout_func`` for ``GRPOTrainer``: ``rollout(prompts, trainer) -> dict``.

    Args:
        presentation: ``json``, ``mcp`` or ``python``.
        tokenizer: The policy's tokenizer, with the run's chat template installed.
        max_completion_length: Token budget of one rollout (model and environment tokens, as in TRL).
        max_tool_rounds: Most rounds of tool execution per rollout (TRL's ``max_tool_calling_iterations``).
        max_calls: Most tool calls executed per rollout; later calls are refused.
        native: json only: native template tool calling (None: probe the template).
        guidance: ``gold``: in each group of ``group_size`` rollouts of one task where none is
            :attr:`~Episode.solved`, the last is replaced by the task's gold demonstration
            (:mod:`trainers.demonstrations`) when that passes; ``none``: rollouts only.
        group_size: Rollouts per task, consecutive in the batch (GRPO's ``num_generations``).
        generate: ``fn(batch_ids, max_new_tokens) -> new_ids`` (each ending at its stop token when it
        stopped);
            default: sample from ``trainer.model``. Tests pass a scripted one (model outputs only).
    """

    def __init__(
        self,
        *,
        presentation: str,
        tokenizer: Any,
        max_completion_length: int,
        max_tool_rounds: int = 4,
        max_calls: int = 8,
        native: bool | None = None,
        guidance: str = "none",
        group_size: int = 1,
        generate: GenerateFn | None = None,
    ) -> None:
        if guidance not in GUIDANCE:
            raise UserError(f"guidance must be one of {', '.join(GUIDANCE)}, got {guidance!r}")
        self.presentation = presentation
        self.parser = get_presentation(presentation)
        self.tokenizer = tokenizer
        self.native, _ = resolve_native(presentation, tokenizer, native)
        self.max_completion_length = max_completion_length
        self.max_tool_rounds = max_tool_rounds
        self.max_calls = max_calls
        self.guidance = guidance
        self.group_size = group_size
        self.generate = generate
        self._pools: dict[str, list[ToolGymEnv]] = {}

    # -- TRL entry point -----------------------------------------------------------------------------------------

    def __call__(self, prompts: list[list[dict[str, Any]]], trainer: Any = None) -> dict[str, Any]:
        generate = self.generate or _model_generator(trainer)
        stop_ids = _stop_ids(self.tokenizer, trainer)
        used: dict[str, int] = {}
        states = [self._state(p, used) for p in prompts]
        # Several processes (accelerate): generation under ZeRO-3 / FSDP gathers parameters collectively, so every
        # rank takes part in every turn until all ranks are done; a finished rank generates one dummy token.
        accelerator = getattr(trainer, "accelerator", None) if self.generate is None else None
        synced = accelerator is not None and accelerator.num_processes > 1
        while True:
            active = [s for s in states if not s.done]
            if synced:
                import torch

                if (
                    accelerator.gather(torch.tensor([len(active)], device=accelerator.device)).sum().item()
                    == 0
                ):
                    break
                if not active:
                    generate([[int(self.tokenizer.eos_token_id)]], [1])
                    continue
            elif not active:
                break
            budgets = [s.limit - len(s.completion_ids) for s in active]
            new = generate([s.prompt_ids + s.completion_ids for s in active], budgets)
            for s, ids, budget in zip(active, new, budgets, strict=True):
                self._step(s, list(ids)[:budget], budget, stop_ids)
        episodes = [self._episode(s) for s in states]
        if self.guidance == "gold":
            self._guide(prompts, states, episodes, used, stop_ids)
        return {
            "prompt_ids": [s.prompt_ids for s in states],
            "completion_ids": [s.completion_ids for s in states],
            "logprobs": None,
            "env_mask": [s.env_mask for s in states],
            "toolgym_episode": episodes,
        }

    # -- internals -----------------------------------------------------------------------------------------------

    def _adapter(self, suite: str, used: dict[str, int]) -> ToolGymEnv:
        pool = self._pools.setdefault(suite, [])
        i = used.get(suite, 0)
        if i == len(pool):
            pool.append(environment_class(suite, max_calls=self.max_calls)())
        used[suite] = i + 1
        return pool[i]

    def _state(self, prompt: list[dict[str, Any]], used: dict[str, int]) -> _State:
        """A new rollout of ``prompt`` on an environment reset to the task its user message carries."""
        from trainers.rl_env import task_from_row

        carrier = next((m for m in prompt if isinstance(m, Mapping) and m.get(TASK_KEY)), None)
        if carrier is None:
            raise UserError(
                f"a prompt carries no task: its user message needs a {TASK_KEY!r} key with the task "
                "JSON (build the dataset with trainers.rl.build_dataset)"
            )
        task = task_from_row({"task": carrier[TASK_KEY]})
        adapter = self._adapter(task.suite, used)
        adapter.reset(task=task)
        history = [{k: v for k, v in m.items() if k in ("role", "content")} for m in prompt]
        ids = self._encode(self._render(history, adapter, gen=True))
        return _State(adapter=adapter, task=task, history=history, prompt_ids=ids, limit=self.max_completion_length)

    def _guide(
        self,
        prompts: list[list[dict[str, Any]]],
        states: list[_State],
        episodes: list[Episode],
        used: dict[str, int],
        stop_ids: set[int],
    ) -> None:
        """Replace the last rollout of every unsolved group by a passing gold demonstration, in place. A slice of
        rows that is not one task's group (a group split across processes) is left alone."""
        g = self.group_size
        for start in range(0, len(states) - g + 1, g):
            group = episodes[start : start + g]
            if g < 2 or len({ep.task.id for ep in group}) != 1 or any(ep.solved for ep in group):
                continue
            demo = self._demonstrate(prompts[start + g - 1], used, stop_ids)
            if demo is not None:
                states[start + g - 1], episodes[start + g - 1] = demo

    def gold_length(self, prompt: list[dict[str, Any]]) -> int | None:
        """Completion tokens (the assistant's and the environment's, as ``max_completion_length`` counts them) that
        the gold demonstration of the task ``prompt`` carries takes with no budget; None when it has none that
        passes. A rollout with less budget than this cannot solve the task the way its gold solution does."""
        demo = self._demonstrate(prompt, {}, _stop_ids(self.tokenizer, None), limit=1 << 30)
        return len(demo[0].completion_ids) if demo is not None else None

    def _demonstrate(
        self, prompt: list[dict[str, Any]], used: dict[str, int], stop_ids: set[int], limit: int | None = None
    ) -> tuple[_State, Episode] | None:
        """The task's gold demonstration as a rollout (same rendering, execution and masks), if it passes."""
        s = self._state(prompt, used)
        if limit is not None:
            s.limit = limit
        specs = {spec.name: spec for spec in s.adapter._env.specs()}
        while not s.done:
            message = demonstration_message(s.task, s.user_turn, calls_of(s.adapter), specs)
            if message is None:
                return None
            budget = s.limit - len(s.completion_ids)
            self._step(s, self._assistant_ids(s, message)[:budget], budget, stop_ids)
        episode = self._episode(s)
        episode.demonstration = True
        return (s, episode) if episode.solved else None

    def _assistant_ids(self, s: _State, message: dict[str, Any]) -> list[int]:
        """The tokens of ``message`` as the policy would write them after the generation prompt, through its end-of-turn
        token (the text the chat template renders for that assistant turn)."""
        prompt = self._render(s.history, s.adapter, gen=True)
        full = self._render(s.history + [message], s.adapter, gen=False)
        if not full.startswith(prompt):
            raise UserError(
                "the chat template is not prefix-preserving: an assistant turn re-renders the generation prompt, so "
                "a demonstration cannot be appended to it; use a prefix-preserving chat_template or guidance: none"
            )
        return self._encode(full[len(prompt) : self._turn_end(full)])

    def _render(self, messages: list[dict[str, Any]], adapter: ToolGymEnv, *, gen: bool) -> str:
        """The conversation through the chat template, rendered as SFT and evaluation render it."""
        example = to_chat_messages(
            messages, adapter._env.specs(), self.presentation, tokenizer=self.tokenizer, native=self.native
        )
        return render_chat(example, self.tokenizer, add_generation_prompt=gen)

    def _encode(self, text: str) -> list[int]:
        return list(self.tokenizer(text, add_special_tokens=False)["input_ids"])

    def _step(self, s: _State, ids: list[int], budget: int, stop_ids: set[int]) -> None:
        stopped = bool(ids) and ids[-1] in stop_ids
        s.completion_ids += ids
        s.env_mask += [1] * len(ids)
        text = self.tokenizer.decode(ids, skip_special_tokens=True)
        specs = s.adapter._env.specs()
        strict = self.parser.parse(text, specs, strict=True)
        lenient = self.parser.parse(text, specs, strict=False)
        turn = Turn(
            text=text,
            calls=list(lenient.calls),
            strict_ok=strict.ok,
            lenient_error=lenient.error,
            leniencies=lenient.leniencies,
            had_call_syntax=lenient.had_call_syntax,
            content=lenient.content,
            truncated=not stopped,
        )
        s.turns.append(turn)
        if not stopped:  # out of budget (or the model never stopped): the rollout ends here
            s.out_of_budget = len(ids) >= budget
            s.done = True
            return
        if lenient.error is not None:  # unreadable call syntax: no call ran and no answer was given
            s.done = True
            return
        if not lenient.calls:
            s.final_answer = lenient.content or text
            if s.user_turn + 1 < len(
                s.task.turns
            ):  # the simulated user answers the question the policy asked
                s.user_turn += 1
                s.adapter._turn = s.user_turn
                follow = [
                    {"role": "assistant", "content": turn.content or text},
                    {"role": "user", "content": s.task.turns[s.user_turn]},
                ]
                self._append_external(s, follow)
                return
            s.done = True
            return
        if s.tool_rounds >= self.max_tool_rounds:
            s.done = True
            return
        tool_calls, tool_msgs = [], []
        for k, call in enumerate(lenient.calls):
            call_id = f"call_{len(s.turns)}_{k}"
            result = invoke(s.adapter, call.name, call.arguments, turn=s.user_turn)
            tool_calls.append(
                {
                    "id": call_id,
                    "type": "function",
                    "function": {"name": call.name, "arguments": dict(call.arguments)},
                }
            )
            tool_msgs.append(
                {"role": "tool", "tool_call_id": call_id, "name": call.name, "content": result.content}
            )
        s.tool_rounds += 1
        self._append_external(
            s, [{"role": "assistant", "content": lenient.content, "tool_calls": tool_calls}, *tool_msgs]
        )

    def _append_external(self, s: _State, new: list[dict[str, Any]]) -> None:
        """Append template text after the assistant's end-of-turn token (tool results, a user follow-up, the next
        generation prompt) as environment tokens (mask 0). Ends the rollout when it would not fit."""
        before = self._render(s.history + new[:1], s.adapter, gen=False)
        after = self._render(s.history + new, s.adapter, gen=True)
        cut = self._turn_end(before)
        if not after.startswith(before[:cut]):
            raise UserError(
                "the chat template is not prefix-preserving: appending tool results re-renders the assistant's "
                "earlier turn, so token ids cannot be concatenated; use a prefix-preserving chat_template"
            )
        suffix = self._encode(after[cut:])
        if len(s.completion_ids) + len(suffix) >= s.limit:
            s.done = s.out_of_budget = True  # no room for the results and another turn
            return
        s.history = s.history + new
        s.completion_ids += suffix
        s.env_mask += [0] * len(suffix)

    def _turn_end(self, rendered: str) -> int:
        """Character offset just after the last assistant turn's end-of-turn token in ``rendered``."""
        stops = self._stop_texts
        best = max((rendered.rfind(t) + len(t) for t in stops if rendered.rfind(t) >= 0), default=-1)
        if best < 0:
            raise UserError(
                "cannot find the end-of-turn token in the rendered assistant turn; the chat template must end "
                f"assistant turns with one of {stops} (the generation stop tokens)"
            )
        return best

    @cached_property
    def _stop_texts(self) -> list[str]:
        return _stop_texts(self.tokenizer, sorted(_stop_ids(self.tokenizer, None)))

    def _episode(self, s: _State) -> Episode:
        return Episode(
            task=s.task,
            turns=s.turns,
            calls=calls_of(s.adapter),
            end_state=snapshot_of(s.adapter),
            final_answer=s.final_answer,
            specs=s.adapter._env.specs(),
            grader=suite_env_of(s.adapter),
            max_calls=self.max_calls,
            out_of_budget=s.out_of_budget,
        )


def _stop_ids(tokenizer: Any, trainer: Any) -> set[int]:
    ids = set(getattr(trainer, "eos_token_ids", None) or [])
    if tokenizer.eos_token_id is not None:
        ids.add(int(tokenizer.eos_token_id))
    return ids


def _model_generator(trainer: Any) -> GenerateFn:
    """Sample from the trainer's policy as TRL's own transformers path does (its ``generation_config``: temperature,
    top-p/k, stop tokens; ZeRO-3 parameters gathered, FSDP parameters summoned), one turn per call. Within one rollout
    batch the attention cache carries over from turn to turn (:class:`~trainers.rl_sampler.TurnSampler`); with
    several processes every turn is prefilled in full (cache reuse is not exercised under ZeRO-3/FSDP)."""
    if trainer is None:
        raise UserError("ToolRollout needs the trainer (or a generate function) to produce completions")
    import contextlib

    from trl.models import unwrap_model_for_generation

    from trainers.rl_sampler import TurnSampler

    tok = trainer.processing_class
    stop = sorted(_stop_ids(tok, trainer))
    sampler = TurnSampler(
        trainer.generation_config,
        pad_id=tok.pad_token_id if tok.pad_token_id is not None else stop[0],
        stop_ids=stop,
        reuse_cache=trainer.accelerator.num_processes == 1,
        device=trainer.accelerator.device,
    )

    def generate(batch: list[list[int]], budgets: list[int]) -> list[list[int]]:
        dist = getattr(trainer, "_dist", None)  # FSDP: gather full parameters for generation, as TRL does
        summon = (
            dist.summon_full_params(trainer.model_wrapped, recurse=False)
            if dist
            else contextlib.nullcontext()
        )
        with (
            unwrap_model_for_generation(
                trainer.model_wrapped,
                trainer.accelerator,
                gather_deepspeed3_params=trainer.args.ds3_gather_for_generation,
                generation_kwargs=trainer.generation_kwargs,
                gradient_checkpointing_kwargs=trainer.args.gradient_checkpointing_kwargs,
            ) as model,
            summon,
        ):
            return sampler(model, batch, budgets)

    return generate
