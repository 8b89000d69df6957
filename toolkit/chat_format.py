"""Chat messages for a chat template, shared by training and evaluation so that both see identical prompts.

One function family turns a :class:`~toolkit.records.Trajectory` (or the messages of a task so far) plus a
presentation name into the ``messages`` (and ``tools``) that ``tokenizer.apply_chat_template`` takes:

* ``json`` with **native** tool support — OpenAI-shape messages (``tool_calls`` with ``arguments`` as dicts,
  ``tool`` messages with ``tool_call_id`` and ``name``) and ``tools=`` for the template. The template decides how
  tools, calls and results look.
* ``json`` **fallback** (a template that cannot render tools) and the prompted ``python`` / ``mcp``
  presentations — a system message from ``presentation.system_prompt(specs, preamble=<the record's system
  message>)``, assistant turns as text from ``render_assistant``, and tool results as ``tool`` messages when the
  template renders that role, else as one ``user`` message per run of results holding ``render_result`` texts.

Whether a template is native is decided by rendering sentinel conversations (:func:`probe_template`), never by
the model's name; the decision travels with every :class:`ChatExample` (``native``, ``tool_role``) so a run can
record it and evaluation can reuse it. Only the tokenizer passed in is used (duck-typed), so this module needs
neither torch nor transformers.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from toolkit.errors import UserError
from toolkit.presentations import get_presentation
from toolkit.presentations.json_format import JsonPresentation
from toolkit.records import Message, Trajectory
from toolkit.specs import ToolCall, ToolSpec

__all__ = [
    "ChatExample",
    "TemplateSupport",
    "probe_template",
    "resolve_native",
    "to_chat",
    "to_chat_messages",
    "prompt_for",
    "render_chat",
]


@dataclass(frozen=True, kw_only=True)
class TemplateSupport:
    """What a chat template renders, found by rendering sentinel conversations through it.

    ``tools``: the ``tools=`` list shows up; ``tool_calls``: an assistant's ``tool_calls`` (name and argument
    values) show up; ``tool_results``: a ``tool`` message answering a call shows up; ``tool_role``: a ``tool``
    message after a plain-text assistant turn shows up (what prompted presentations need). ``errors`` holds
    what the template raised while probing, by probe name.
    """

    tools: bool
    tool_calls: bool
    tool_results: bool
    tool_role: bool
    errors: dict[str, str] = field(default_factory=dict)

    @property
    def native_tools(self) -> bool:
        """True when native function calling works end to end: tools, calls and results all render."""
        return self.tools and self.tool_calls and self.tool_results

    def missing(self) -> list[str]:
        """What native function calling lacks, as readable phrases (empty when it works)."""
        out = []
        for ok, what in (
            (self.tools, "the tools= list"),
            (self.tool_calls, "assistant tool_calls"),
            (self.tool_results, "tool results"),
        ):
            if not ok:
                out.append(f"does not render {what}")
        return out

    def to_dict(self) -> dict[str, Any]:
        return {
            "tools": self.tools,
            "tool_calls": self.tool_calls,
            "tool_results": self.tool_results,
            "tool_role": self.tool_role,
            "native_tools": self.native_tools,
            "errors": dict(self.errors),
        }


@dataclass(frozen=True, kw_only=True)
class ChatExample:
    """One conversation ready for ``apply_chat_template(messages, tools=tools)``.

    ``assistant_calls`` maps the index of each assistant message in ``messages`` to the canonical calls it makes
    (``[]`` for a plain answer), so a gate can check that what the template renders parses back to them.
    ``untrained`` holds the assistant messages the record keeps out of the loss (``Message.train == False``).
    """

    messages: list[dict[str, Any]]
    tools: list[dict[str, Any]] | None
    presentation: str
    native: bool
    tool_role: bool
    specs: list[ToolSpec] = field(default_factory=list)
    assistant_calls: dict[int, list[ToolCall]] = field(default_factory=dict)
    untrained: frozenset[int] = frozenset()
    """Indices of assistant messages the record marks ``train: false`` (shown to the model, never trained)."""

    def template_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for ``apply_chat_template`` besides the messages."""
        return {"tools": self.tools} if self.tools else {}


# -- probing ---------------------------------------------------------------------------------------------------

_FN, _DESC, _ARG, _VALUE, _RESULT = (
    "toolgym_probe_fn",
    "toolgym_probe_description",
    "toolgym_probe_arg",
    "toolgym_probe_value",
    "toolgym_probe_result",
)
_PROBE_TOOLS = [
    {
        "type": "function",
        "function": {
            "name": _FN,
            "description": _DESC,
            "parameters": {"type": "object", "properties": {_ARG: {"type": "string"}}, "required": [_ARG]},
        },
    }
]
_PROBE_CALL = {
    "role": "assistant",
    "content": "",
    "tool_calls": [
        {"id": "call_probe_1", "type": "function", "function": {"name": _FN, "arguments": {_ARG: _VALUE}}}
    ],
}
_PROBE_USER = {"role": "user", "content": "toolgym probe question"}
_PROBE_TOOL_MSG = {"role": "tool", "tool_call_id": "call_probe_1", "name": _FN, "content": _RESULT}
_PROBE_CACHE: dict[tuple[str, str, str], TemplateSupport] = {}


def _template_key(tokenizer: Any) -> tuple[str, str, str]:
    template = getattr(tokenizer, "chat_template", None)
    if not template:
        raise UserError(
            "the tokenizer has no chat template; set tokenizer.chat_template (trainers.chat_templates has a "
            "fallback) or pass a model whose tokenizer ships one"
        )
    if not isinstance(template, str):  # several named templates: the tool_use one is what tools= picks
        template = json.dumps(template, sort_keys=True)
    return template, str(getattr(tokenizer, "bos_token", "")), str(getattr(tokenizer, "eos_token", ""))


def probe_template(tokenizer: Any) -> TemplateSupport:
    """Render sentinel conversations through ``tokenizer``'s chat template and report what shows up.

    Results are cached per template text. A template that raises on a probe counts as not supporting it.
    """
    key = _template_key(tokenizer)
    if key in _PROBE_CACHE:
        return _PROBE_CACHE[key]
    errors: dict[str, str] = {}

    def renders(name: str, messages: list[dict[str, Any]], needles: Sequence[str], tools: Any = None) -> bool:
        try:
            text = tokenizer.apply_chat_template(messages, tools=tools, tokenize=False)
        except Exception as exc:  # third-party template code: any failure means "not supported"
            errors[name] = f"{type(exc).__name__}: {exc}"
            return False
        return all(n in str(text) for n in needles)

    support = TemplateSupport(
        tools=renders("tools", [_PROBE_USER], [_FN, _DESC], _PROBE_TOOLS),
        tool_calls=renders("tool_calls", [_PROBE_USER, _PROBE_CALL], [_FN, _VALUE], _PROBE_TOOLS),
        tool_results=renders(
            "tool_results", [_PROBE_USER, _PROBE_CALL, _PROBE_TOOL_MSG], [_RESULT], _PROBE_TOOLS
        ),
        tool_role=renders(
            "tool_role",
            [_PROBE_USER, {"role": "assistant", "content": "toolgym probe call"}, _PROBE_TOOL_MSG],
            [_RESULT],
        ),
        errors=errors,
    )
    _PROBE_CACHE[key] = support
    return support


def resolve_native(presentation: str, tokenizer: Any = None, native: bool | None = None) -> tuple[bool, bool]:
    """Decide ``(native, tool_role)`` for a presentation and template.

    Only ``json`` can be native. ``native=None`` probes the template: native when it renders tools, calls and
    results. Without a tokenizer (an OpenAI-compatible API renders the prompt server-side) ``json`` is native and
    the ``tool`` role is assumed. ``native=True`` on a template that cannot do it is refused with the reason.
    """
    get_presentation(presentation)  # refuses unknown names
    if presentation != "json" and native:
        raise UserError(
            f"the {presentation} presentation is always prompted (tools in the system prompt); native=True only "
            "applies to json"
        )
    if tokenizer is None:
        return (presentation == "json" if native is None else bool(native)), True
    support = probe_template(tokenizer)
    if presentation != "json":
        return False, support.tool_role
    if native is None:
        return support.native_tools, support.tool_role
    if native and not support.native_tools:
        raise UserError(
            f"native tool calling was asked for, but the chat template {', '.join(support.missing())}; "
            "set native to null (auto) or false to use the prompted json fallback, or use another chat template"
        )
    return bool(native), support.tool_role


# -- conversion ------------------------------------------------------------------------------------------------


def _as_message(m: Message | Mapping[str, Any], n: int) -> Message:
    if isinstance(m, Message):
        return m
    if not isinstance(m, Mapping):
        raise UserError(f"message {n} is a {type(m).__name__}; pass toolkit.records.Message objects or dicts")
    data = dict(m)
    calls = data.get("tool_calls")
    if calls:  # OpenAI wire format carries arguments as JSON text
        fixed = []
        for c in calls:
            c = dict(c)
            fn = dict(c.get("function") or {})
            if isinstance(fn.get("arguments"), str):
                try:
                    fn["arguments"] = json.loads(fn["arguments"] or "{}")
                except json.JSONDecodeError as exc:
                    raise UserError(f"message {n}: tool call arguments are not JSON ({exc.msg})") from None
            c["function"] = fn
            c.setdefault("id", f"call_{n}_{len(fixed) + 1}")
            fixed.append(c)
        data["tool_calls"] = fixed
    try:
        return Message.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = "/".join(str(p) for p in first["loc"]) or "(root)"
        raise UserError(f"message {n} is not a chat message: {where}: {first['msg']}") from None


def to_chat_messages(
    messages: Sequence[Message | Mapping[str, Any]],
    specs: Sequence[ToolSpec],
    presentation: str,
    *,
    tokenizer: Any = None,
    native: bool | None = None,
) -> ChatExample:
    """The chat-template form of ``messages`` (records' :class:`Message` objects or dicts in the same shape)."""
    pres = get_presentation(presentation)
    native, tool_role = resolve_native(presentation, tokenizer, native)
    msgs = [_as_message(m, n) for n, m in enumerate(messages)]
    specs = list(specs)
    names = {tc.id: tc.function.name for m in msgs for tc in m.tool_calls or []}
    out: list[dict[str, Any]] = []
    calls_at: dict[int, list[ToolCall]] = {}
    tools: list[dict[str, Any]] | None = None
    if native:
        tools = JsonPresentation().tools_for_template(specs) or None
    elif specs:
        preamble = msgs[0].content if msgs and msgs[0].role == "system" else None
        if msgs and msgs[0].role == "system":
            msgs = msgs[1:]
        out.append({"role": "system", "content": pres.system_prompt(specs, preamble=preamble)})
    untrained: set[int] = set()
    pending: list[str] = []  # tool results waiting to become one user message (no tool role)

    def flush() -> None:
        if pending:
            out.append({"role": "user", "content": "\n".join(pending)})
            pending.clear()

    for m in msgs:
        if m.role == "tool":
            name = m.name or names.get(m.tool_call_id or "")
            if native or tool_role:
                row: dict[str, Any] = {"role": "tool", "content": m.content or ""}
                if m.tool_call_id is not None:
                    row["tool_call_id"] = m.tool_call_id
                if name is not None:
                    row["name"] = name
                out.append(row)
            else:
                pending.append(pres.render_result(m.content or "", name=name))
            continue
        flush()
        if m.role != "assistant":
            out.append({"role": m.role, "content": m.content or ""})
            continue
        calls = m.calls()
        calls_at[len(out)] = calls
        if m.train is False:
            untrained.add(len(out))
        if native:
            row = {"role": "assistant", "content": m.content or ""}
            if m.tool_calls:
                row["tool_calls"] = [
                    {"id": tc.id, "type": "function",
                     "function": {"name": tc.function.name, "arguments": dict(tc.function.arguments)}}
                    for tc in m.tool_calls
                ]
            out.append(row)
        else:
            out.append({"role": "assistant", "content": pres.render_assistant(m.content, calls, specs)})
    flush()
    return ChatExample(
        messages=out, tools=tools, presentation=presentation, native=native, tool_role=tool_role,
        specs=specs, assistant_calls=calls_at, untrained=frozenset(untrained),
    )


def to_chat(
    traj: Trajectory, presentation: str, *, tokenizer: Any = None, native: bool | None = None
) -> ChatExample:
    """One trajectory (not its subagents: flatten them with ``toolkit.exporters.flatten_subagents``) as chat."""
    if not isinstance(traj, Trajectory):
        raise UserError(f"to_chat takes a Trajectory, got {type(traj).__name__}")
    return to_chat_messages(traj.messages, traj.tools, presentation, tokenizer=tokenizer, native=native)


def prompt_for(
    messages_so_far: Sequence[Message | Mapping[str, Any]],
    specs: Sequence[ToolSpec],
    presentation: str,
    *,
    tokenizer: Any = None,
    native: bool | None = None,
) -> ChatExample:
    """The prompt for the model's next assistant turn, rendered exactly as training renders the same history.

    ``messages_so_far`` must not end with an assistant message. Render it with
    ``render_chat(example, tokenizer, add_generation_prompt=True)`` or send ``messages``/``tools`` to an API.
    """
    if not messages_so_far:
        raise UserError("prompt_for needs at least one message (the user's request)")
    last = messages_so_far[-1]
    role = last.role if isinstance(last, Message) else dict(last).get("role")
    if role == "assistant":
        raise UserError("prompt_for: the history ends with an assistant turn; pass the messages before it")
    return to_chat_messages(messages_so_far, specs, presentation, tokenizer=tokenizer, native=native)


def render_chat(example: ChatExample, tokenizer: Any, *, add_generation_prompt: bool = False) -> str:
    """The example's text through ``tokenizer``'s chat template (``tools=`` included when native)."""
    _template_key(tokenizer)
    try:
        text = tokenizer.apply_chat_template(
            example.messages, tokenize=False, add_generation_prompt=add_generation_prompt,
            **example.template_kwargs(),
        )
    except Exception as exc:  # third-party template code
        raise UserError(
            f"the chat template failed on a {example.presentation} conversation: {type(exc).__name__}: {exc}; "
            "check the template handles these roles, or pass another chat template"
        ) from exc
    return str(text)
