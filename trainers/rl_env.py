"""A ToolGym :class:`~toolkit.environment.Environment` as a TRL GRPO environment (``environment_factory``).

TRL 1.16's contract (``GRPOTrainer(environment_factory=...)``): a zero-argument factory returns an object with
``reset(**row) -> str | None``; every public *function defined on its class* (``inspect.getmembers(type(env),
inspect.isfunction)``, minus ``reset``/``get_reward``) becomes a tool whose schema TRL builds with
``transformers.utils.get_json_schema`` from the signature, type hints and Google docstring, and which TRL
calls with keyword arguments, putting ``str(result)`` into the ``tool`` message.

:func:`environment_class` therefore builds, per suite, a subclass of :class:`ToolGymEnv` with one real
function per suite tool: same name, same parameters and hints, same docstring, returning the result as JSON
text (never a Python ``repr``). Each call goes through the suite's registry path (:meth:`Environment.call`:
argument validation, errors as results, size cap), is recorded on the instance (:func:`calls_of`, for rewards
and monitors), and calls past ``max_calls`` are refused without running. One instance per rollout;
:meth:`ToolGymEnv.reset` rebuilds the suite state from the row's task, so rollouts never share state.

``trainers.rl`` drives the same objects from its own rollout loop (see ``docs/rl.md`` for why); TRL users with
a tool-capable chat template can pass :func:`environment_factory` straight to ``GRPOTrainer``.
"""

from __future__ import annotations

import inspect
import json
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from toolkit.environment import Environment, Task, get_suite
from toolkit.errors import UserError
from toolkit.python_tools import marked_options
from toolkit.specs import ToolResult, ToolSpec

__all__ = [
    "CallRecord",
    "ToolGymEnv",
    "calls_of",
    "environment_class",
    "environment_factory",
    "invoke",
    "snapshot_of",
    "suite_env_of",
    "task_from_row",
    "task_of",
]

_RESERVED = {"reset", "get_reward"}
_CLASSES: dict[tuple[str, int], type[ToolGymEnv]] = {}


@dataclass(frozen=True)
class CallRecord:
    """One call the policy made. ``refused``: over the call cap, so it was not executed."""

    name: str
    arguments: dict[str, Any]
    content: str
    is_error: bool
    refused: bool = False
    turn: int = 0

    def key(self) -> str:
        """Canonical text of the call (name + sorted arguments), to spot repeats."""
        return self.name + json.dumps(self.arguments, sort_keys=True, ensure_ascii=False, default=str)


def task_from_row(row: Mapping[str, Any]) -> Task:
    """The task a dataset row carries: ``task`` as a :class:`Task`, its dict or its JSON text (how ``run_rl`` stores
    it, so Arrow never merges argument dicts across rows), or a record's ``scenario.task``."""
    raw = row.get("task")
    if raw is None and isinstance(row.get("scenario"), Mapping):
        raw = row["scenario"].get("task")
    if raw is None:
        raise UserError(
            "the dataset row carries no task: give it a 'task' column (a toolkit Task as JSON) or a record's "
            f"'scenario.task'; row keys: {', '.join(sorted(row))}"
        )
    if isinstance(raw, Task):
        return raw
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise UserError(f"the row's task is not JSON: {exc.msg}") from None
    return Task.model_validate(raw)


class ToolGymEnv:
    """Base of the per-suite adapters made by :func:`environment_class`; not used directly.

    Only ``reset`` and the suite's tools are public functions on the class (TRL turns every other public
    function into a tool); the call log and state are read with :func:`calls_of`, :func:`task_of` and
    :func:`snapshot_of`.
    """

    suite: str = ""
    max_calls: int = 8

    def __init__(self) -> None:
        self._env: Environment = get_suite(self.suite).create_environment()
        self._task: Task | None = None
        self._calls: list[CallRecord] = []
        self._turn = 0

    def reset(self, **row: Any) -> str | None:
        """Reset the suite state to the row's task (its seed and setup) and forget earlier calls.

        Returns None: the task's first user message is already the row's prompt.
        """
        task = task_from_row(row)
        if get_suite(task.suite).name != self.suite:
            raise UserError(
                f"task {task.id} belongs to suite {task.suite!r}, but this environment is {self.suite!r}; "
                "route rows with an 'environment' column naming the suite"
            )
        self._env.reset(task)
        self._task = task
        self._calls = []
        self._turn = 0
        return None


def invoke(adapter: ToolGymEnv, name: str, arguments: Any, *, turn: int = 0) -> ToolResult:
    """Run one call as the policy made it on ``adapter``'s suite state: recorded, refused past the cap, and never
    raising on a bad call (unknown tool, bad arguments and tool errors are error results)."""
    args = dict(arguments) if isinstance(arguments, Mapping) else {}
    executed = sum(not c.refused for c in adapter._calls)
    if executed >= adapter.max_calls:
        result = ToolResult.error(
            "invalid_arguments",
            f"call limit reached: at most {adapter.max_calls} tool calls per episode; answer with what you have",
        )
        adapter._calls.append(CallRecord(name, args, result.content, True, refused=True, turn=turn))
        return result
    if not isinstance(arguments, Mapping):
        result = ToolResult.error("invalid_arguments", "arguments must be a JSON object")
    else:
        result = adapter._env.call(name, args)
    adapter._calls.append(CallRecord(name, args, result.content, result.is_error, turn=turn))
    return result


def calls_of(adapter: ToolGymEnv) -> list[CallRecord]:
    """Every call made since the last reset, in order (refused ones included)."""
    return list(adapter._calls)


def task_of(adapter: ToolGymEnv) -> Task:
    """The task the adapter was last reset to."""
    if adapter._task is None:
        raise UserError("the environment has not been reset to a task yet")
    return adapter._task


def snapshot_of(adapter: ToolGymEnv) -> dict[str, Any]:
    """The suite state now (what the end-state check compares with the gold end state)."""
    return adapter._env.snapshot()


def suite_env_of(adapter: ToolGymEnv) -> Environment:
    """The wrapped suite environment (for grading)."""
    return adapter._env


_JSON_TYPES: dict[str, Any] = {
    "string": str,
    "integer": int,
    "number": float,
    "boolean": bool,
    "array": list,
    "object": dict,
    "null": type(None),
}


def _union(hints: tuple[Any, ...]) -> Any:
    hints = tuple(dict.fromkeys(hints))
    return hints[0] if len(hints) == 1 else typing.Union[hints]  # noqa: UP007


def _hint_for(schema: Any) -> Any:
    """A Python hint that ``get_json_schema`` can read for a JSON-schema property: primitives, Literal enums,
    lists of those and ``| None``; nested objects flatten to ``dict`` (TRL callables cannot express more)."""
    if not isinstance(schema, Mapping):
        return Any
    enum = schema.get("enum")
    if enum and all(isinstance(v, (str, int, bool)) for v in enum):
        return typing.Literal[tuple(enum)]
    options = schema.get("anyOf") or schema.get("oneOf")
    if isinstance(options, list) and options:
        return _union(tuple(_hint_for(o) for o in options))
    kind = schema.get("type")
    if isinstance(kind, list):
        return _union(tuple(_JSON_TYPES.get(k, Any) for k in kind))
    if kind == "array":
        inner = _hint_for(schema.get("items"))
        return list if inner in (Any, dict) else list[inner]  # type: ignore[valid-type]
    return _JSON_TYPES.get(kind, Any) if isinstance(kind, str) else Any


def _spec_signature(spec: ToolSpec) -> tuple[list[inspect.Parameter], dict[str, Any], str]:
    """Parameters, hints and a Google docstring built from the tool's spec: the fallback when the method's own hints
    or docstring are more than TRL's schema builder reads (nested objects, MCP-style schemas)."""
    props = spec.input_schema.get("properties") or {}
    required = set(spec.input_schema.get("required") or [])
    params, hints, lines = [], {}, []
    for pname, prop in props.items():
        hint = _hint_for(prop)
        default = inspect.Parameter.empty if pname in required else (prop or {}).get("default")
        if pname not in required and default is None and hint is not Any:
            hint = typing.Optional[hint]  # noqa: UP045
        hints[pname] = hint
        params.append(
            inspect.Parameter(pname, inspect.Parameter.KEYWORD_ONLY, default=default, annotation=hint)
        )
        desc = " ".join(str((prop or {}).get("description") or pname).split())
        lines.append(f"    {pname}: {desc}")
    doc = (spec.description or spec.name).strip()
    if lines:
        doc += "\n\nArgs:\n" + "\n".join(lines)
    return params, hints, doc


def _trl_can_read(fn: Callable[..., Any]) -> bool:
    try:
        from transformers.utils import get_json_schema
    except ImportError:  # no transformers: nothing to check against
        return True
    from transformers.utils.chat_template_utils import DocstringParsingException, TypeHintParsingException

    try:
        get_json_schema(fn)
    except (DocstringParsingException, TypeHintParsingException, TypeError, ValueError):
        return False
    return True


def _method_signature(
    original: Callable[..., Any], spec: ToolSpec
) -> tuple[list[inspect.Parameter], dict[str, Any], str]:
    sig = inspect.signature(original)
    hints = typing.get_type_hints(original)
    params = [
        p.replace(annotation=hints.get(p.name, p.annotation))
        for p in sig.parameters.values()
        if p.name != "self"
    ]
    return params, {p.name: hints[p.name] for p in params if p.name in hints}, inspect.getdoc(original) or ""


def _tool_function(name: str, original: Callable[..., Any], spec: ToolSpec) -> Callable[..., str]:
    """A class-level function named like the tool that runs the call through :func:`invoke` and returns the result
    text (JSON for structured results). It keeps ``original``'s parameters, resolved hints and docstring when
    TRL can build a schema from them, else takes them from ``spec`` (nested objects become ``dict``)."""

    def call(self: ToolGymEnv, **kwargs: Any) -> str:
        return invoke(self, name, kwargs, turn=self._turn).content

    call.__name__ = name
    call.__qualname__ = name
    self_param = inspect.Parameter("self", inspect.Parameter.POSITIONAL_OR_KEYWORD)
    builders = (lambda: _method_signature(original, spec), lambda: _spec_signature(spec))
    for n, build in enumerate(builders):
        try:
            params, annotations, doc = build()
        except (
            NameError,
            TypeError,
            ValueError,
        ):  # unresolvable hints on the method: the spec still describes it
            if n == len(builders) - 1:
                raise
            continue
        call.__doc__ = doc
        call.__annotations__ = {**annotations, "return": str}
        call.__signature__ = inspect.Signature([self_param, *params], return_annotation=str)  # type: ignore[attr-defined]
        if n == len(builders) - 1 or _trl_can_read(call):
            break
    return call


def environment_class(suite: str, *, max_calls: int = 8) -> type[ToolGymEnv]:
    """The adapter class for a suite (cached): zero-argument constructible, so the class is the factory."""
    if max_calls < 1:
        raise UserError(f"max_calls must be at least 1, got {max_calls}")
    resolved = get_suite(suite)
    key = (resolved.name, max_calls)
    if key in _CLASSES:
        return _CLASSES[key]
    probe = resolved.create_environment()
    specs = {s.name: s for s in probe.specs()}
    members: dict[str, Any] = {"suite": resolved.name, "max_calls": max_calls, "__module__": __name__}
    for bound in probe.tools():
        method = getattr(type(probe), bound.__name__)
        options = marked_options(method)
        name = (options.name if options is not None else None) or bound.__name__
        if name in _RESERVED or name.startswith("_") or hasattr(ToolGymEnv, name):
            raise UserError(
                f"suite {resolved.name!r} has a tool named {name!r}, which TRL reserves or the adapter "
                "uses; rename the tool with @tool(name=...)"
            )
        if name not in specs:
            raise UserError(
                f"suite {resolved.name!r}: tool method {bound.__name__} has no spec named {name!r}"
            )
        members[name] = _tool_function(name, method, specs[name])
    cls_name = "".join(part.title() for part in resolved.name.replace(".", "_").split("_")) + "ToolGymEnv"
    cls = type(cls_name, (ToolGymEnv,), members)
    _CLASSES[key] = cls
    return cls


def environment_factory(suites: list[str] | str, *, max_calls: int = 8) -> Any:
    """What ``GRPOTrainer(environment_factory=...)`` takes: the adapter class for one suite, or ``{suite: class}``
    for several (rows then need an ``environment`` column naming their suite)."""
    names = [suites] if isinstance(suites, str) else list(suites)
    if not names:
        raise UserError("environment_factory needs at least one suite")
    classes = {get_suite(s).name: environment_class(s, max_calls=max_calls) for s in names}
    return next(iter(classes.values())) if len(classes) == 1 else classes
