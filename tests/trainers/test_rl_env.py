"""The TRL environment adapter over ToolGym suites, and the token-in/token-out rollout that drives it."""

from __future__ import annotations

import inspect
import json
import warnings

import pytest

from toolkit.environment import Task, get_suite, list_suites
from toolkit.errors import UserError
from toolkit.template_rendering import render_tasks
from trainers.rl_env import calls_of, environment_class, environment_factory, invoke, snapshot_of
from trainers.rl_rollout import TASK_KEY, ToolRollout

END = "<|im_end|>"


class ScriptedPolicy:
    """Model-output test double: ``reply(context_text, n_call) -> text`` per generation, ended with the stop token.
    Fails when a reply would not fit the budget, so a test never silently trains on a cut reply."""

    def __init__(self, tokenizer, reply):
        self.tokenizer, self.reply, self.n = tokenizer, reply, 0

    def __call__(self, batch, budgets):
        out = []
        for ids, budget in zip(batch, budgets, strict=True):
            text = self.reply(self.tokenizer.decode(ids), self.n)
            self.n += 1
            new = self.tokenizer(text + END, add_special_tokens=False)["input_ids"]
            assert len(new) <= budget, f"scripted reply of {len(new)} tokens over the budget of {budget}"
            out.append(new)
        return out


def run_episode(
    tokenizer,
    task: Task,
    replies: list[str],
    *,
    presentation: str = "json",
    max_calls: int = 8,
    max_completion_length: int = 1024,
):
    """One rollout of ``task`` with scripted replies (in order); returns (rollout output, episode)."""
    queue = list(replies)
    policy = ScriptedPolicy(tokenizer, lambda ctx, n: queue.pop(0))
    rollout = ToolRollout(
        presentation=presentation,
        tokenizer=tokenizer,
        max_completion_length=max_completion_length,
        max_calls=max_calls,
        generate=policy,
    )
    out = rollout([[{"role": "user", "content": task.prompt, TASK_KEY: task.model_dump_json()}]], None)
    assert not queue, f"scripted replies left over: {queue}"
    return out, out["toolgym_episode"][0]


def tool_call(name: str, **arguments) -> str:
    return f"<tool_call>\n{json.dumps({'name': name, 'arguments': arguments})}\n</tool_call>"


def _task(suite: str, template: str, n: int = 12) -> Task:
    return next(t for t in render_tasks(suite, n=n, seed=0) if t.template == template)


def _public_functions(cls) -> list[str]:
    """The members TRL turns into tools (grpo_trainer: class functions minus reset/get_reward/_private)."""
    return sorted(
        n
        for n, _ in inspect.getmembers(cls, predicate=inspect.isfunction)
        if n not in ("reset", "get_reward") and not n.startswith("_")
    )


@pytest.mark.parametrize("suite", list_suites())
def test_adapter_exposes_exactly_the_suites_tools_with_schemas_trl_can_build(suite):
    from transformers.utils import get_json_schema

    cls = environment_class(suite)
    specs = {s.name: s for s in get_suite(suite).create_environment().specs()}
    assert _public_functions(cls) == sorted(specs)
    for name, spec in specs.items():
        schema = get_json_schema(getattr(cls(), name))["function"]
        assert schema["name"] == name
        assert set(schema["parameters"]["properties"]) == set(spec.input_schema.get("properties", {}))
        assert set(schema["parameters"].get("required", [])) == set(spec.input_schema.get("required", []))


def test_adapter_keeps_the_tool_methods_signature_and_docstring_when_trl_reads_them():
    from tools.calculator import CalculatorEnvironment

    method = environment_class("calculator").calculate
    assert str(inspect.signature(method)) == "(self, expression: str) -> str"
    assert method.__doc__ == inspect.getdoc(CalculatorEnvironment.calculate)


def test_nested_object_parameters_fall_back_to_the_spec_and_become_plain_objects():
    from transformers.utils import get_json_schema

    schema = get_json_schema(environment_class("orders")().refund_order)["function"]["parameters"]
    assert schema["properties"]["items"]["type"] == "array"
    assert schema["properties"]["reason"]["enum"] == [
        "damaged",
        "wrong_item",
        "not_as_described",
        "changed_mind",
    ]


def test_tool_methods_return_json_text_and_record_every_call():
    task = _task("orders", "lookup_customer")
    env = environment_class("orders")()
    env.reset(task=task.model_dump_json())
    text = env.find_customer(email="ben.okafor@example.com")
    assert json.loads(text)["customers"][0]["customer_id"] == "C-1002"
    bad = env.get_order(order_id="O-0000")
    assert "O-0000" in bad
    assert [(c.name, c.is_error) for c in calls_of(env)] == [("find_customer", False), ("get_order", True)]


def test_rollout_environments_are_isolated_and_reset_restores_the_task_state():
    task = _task("orders", "cancel_which_order")
    cls = environment_class("orders")
    a, b = cls(), cls()
    a.reset(task=task)
    b.reset(task=task)
    before = snapshot_of(b)
    result = invoke(a, "cancel_order", {"order_id": "O-5006"})
    assert not result.is_error
    assert snapshot_of(a) != before
    assert snapshot_of(b) == before
    a.reset(task=task)
    assert snapshot_of(a) == before and calls_of(a) == []


def test_calls_past_the_cap_are_refused_without_touching_the_state():
    task = _task("orders", "cancel_which_order")
    env = environment_class("orders", max_calls=1)()
    env.reset(task=task)
    invoke(env, "get_order", {"order_id": "O-5006"})
    before = snapshot_of(env)
    refused = invoke(env, "cancel_order", {"order_id": "O-5006"})
    assert refused.is_error and "call limit" in refused.content
    assert snapshot_of(env) == before
    assert [c.refused for c in calls_of(env)] == [False, True]


def test_reset_refuses_a_task_of_another_suite_and_a_row_without_a_task():
    env = environment_class("calculator")()
    with pytest.raises(UserError, match="belongs to suite 'orders'"):
        env.reset(task=_task("orders", "lookup_customer"))
    with pytest.raises(UserError, match="carries no task"):
        env.reset(prompt=[{"role": "user", "content": "hi"}])


def test_trl_grpo_trainer_takes_the_adapter_as_its_environment_factory(smol_tokenizer, tiny_model, tmp_path):
    from trl import GRPOConfig, GRPOTrainer

    from trainers.rewards import reward_functions

    smol_tokenizer.chat_template = (trl_dir() / "qwen2_5.jinja").read_text()  # a tool-capable ChatML template
    funcs, weights = reward_functions()
    args = GRPOConfig(
        output_dir=str(tmp_path),
        num_generations=2,
        per_device_train_batch_size=2,
        max_steps=1,
        report_to="none",
        reward_weights=weights,
        activation_checkpointing=False,
        bf16=False,
    )
    factory = environment_factory(["calculator", "orders"])
    with warnings.catch_warnings():
        warnings.filterwarnings(
            "ignore", message=r"You are using 'environment_factory'", category=UserWarning
        )
        trainer = GRPOTrainer(
            model=tiny_model,
            reward_funcs=funcs,
            args=args,
            processing_class=smol_tokenizer,
            train_dataset=_routing_dataset(),
            environment_factory=factory,
        )
    assert sorted(t.__name__ for t in trainer._env_tools["orders"]) == _public_functions(factory["orders"])
    assert [t.__name__ for t in trainer._env_tools["calculator"]] == _public_functions(factory["calculator"])


def trl_dir():
    from pathlib import Path

    import trl

    return Path(trl.__file__).parent / "chat_templates"


def _routing_dataset():
    from datasets import Dataset

    tasks = render_tasks("calculator", n=1, seed=0) + render_tasks("orders", n=1, seed=0)
    return Dataset.from_list(
        [
            {
                "prompt": [{"role": "user", "content": t.prompt}],
                "task": t.model_dump_json(),
                "environment": t.suite,
            }
            for t in tasks
        ]
    )


@pytest.mark.parametrize("presentation", ["json", "python", "mcp"])
def test_rollout_masks_exactly_the_tool_result_tokens(smol_tokenizer, presentation):
    task = _task("calculator", "arithmetic", n=1)
    expr = task.gold_calls[0].arguments["expression"]
    call = {
        "json": tool_call("calculate", expression=expr),
        "python": f'```python\ncalculate(expression="{expr}")\n```',
        "mcp": f"```json\n{json.dumps({'name': 'calculate', 'arguments': {'expression': expr}})}\n```",
    }[presentation]
    out, ep = run_episode(
        smol_tokenizer, task, [call, f"It is {task.answer_facts[0]}."], presentation=presentation
    )
    ids, mask = out["completion_ids"][0], out["env_mask"][0]
    assert len(ids) == len(mask)
    masked = smol_tokenizer.decode([t for t, m in zip(ids, mask) if m == 0])
    trained = smol_tokenizer.decode([t for t, m in zip(ids, mask) if m == 1])
    result = calls_of_episode(ep)[0]
    assert result in masked and result not in trained
    assert trained.startswith(call) and trained.endswith(f"It is {task.answer_facts[0]}.{END}")
    assert ep.turns[0].strict_ok and ep.grade.passed


def calls_of_episode(ep):
    return [c.content for c in ep.calls]


def test_rollout_ids_are_the_generated_ids_and_the_tool_text_appended_by_concatenation(smol_tokenizer):
    task = _task("calculator", "arithmetic", n=1)
    reply = tool_call("calculate", expression=task.gold_calls[0].arguments["expression"])
    out, _ = run_episode(smol_tokenizer, task, [reply, "Done."])
    generated = smol_tokenizer(reply + END, add_special_tokens=False)["input_ids"]
    assert out["completion_ids"][0][: len(generated)] == generated
    full = smol_tokenizer.decode(out["prompt_ids"][0] + out["completion_ids"][0])
    assert full.endswith(f"<|im_start|>assistant\nDone.{END}")
    assert f"{END}\n<|im_start|>tool\n" in full


def test_a_missing_argument_task_gets_the_users_follow_up_after_the_policy_asks(smol_tokenizer):
    task = _task("orders", "cancel_which_order")
    out, ep = run_episode(
        smol_tokenizer,
        task,
        ["Which order should I cancel?", tool_call("cancel_order", order_id="O-5006"), "Cancelled."],
    )
    masked = smol_tokenizer.decode(
        [t for t, m in zip(out["completion_ids"][0], out["env_mask"][0]) if m == 0]
    )
    assert task.turns[1] in masked
    assert [c.turn for c in ep.calls] == [1]
    assert ep.grade.passed, ep.grade.summary()


def test_a_rollout_stops_at_the_tool_round_limit(smol_tokenizer):
    task = _task("calculator", "arithmetic", n=1)
    reply = tool_call("calculate", expression="1 + 1")
    policy = ScriptedPolicy(smol_tokenizer, lambda ctx, n: reply)
    rollout = ToolRollout(
        presentation="json",
        tokenizer=smol_tokenizer,
        max_completion_length=2048,
        max_tool_rounds=2,
        generate=policy,
    )
    out = rollout([[{"role": "user", "content": task.prompt, TASK_KEY: task.model_dump_json()}]], None)
    assert len(out["toolgym_episode"][0].calls) == 2 and policy.n == 3


def test_a_prompt_without_its_task_is_refused_with_the_fix(smol_tokenizer):
    rollout = ToolRollout(
        presentation="json",
        tokenizer=smol_tokenizer,
        max_completion_length=64,
        generate=lambda b, n: [[] for _ in b],
    )
    with pytest.raises(UserError, match="build_dataset"):
        rollout([[{"role": "user", "content": "hi"}]], None)
