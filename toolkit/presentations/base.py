"""The presentation interface: how tools are shown to a model, how its calls are written, how they are read.

Every presentation renders from the same :class:`~toolkit.specs.ToolSpec` objects (names and descriptions
are never edited) and parses model text into the same canonical :class:`~toolkit.specs.ToolCall` list, so
that only the format differs between arms of a Python-vs-MCP comparison.

Parsing always runs one set of leniency rules, shared by all presentations (:data:`LENIENCIES`). A strict
parse is the same parse with every rule counted as an error, so strict and lenient can never disagree about
*where* the calls are, only about whether a deviation from the documented format is forgiven.
"""

from __future__ import annotations

import bisect
import json
import re
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal

from toolkit.errors import ParseError, UserError
from toolkit.presentations._extract import Block, find_fences, find_tags, split_reasoning, unwrap_fence
from toolkit.presentations._index import SpecIndex
from toolkit.presentations._literals import LiteralError
from toolkit.specs import ToolCall, ToolResult, ToolSpec

__all__ = ["LENIENCIES", "ParseLimits", "ParseResult", "Presentation", "dumps_json", "fenced"]

LENIENCIES: dict[str, str] = {
    "unclosed_block": "a call block is missing its closing tag or fence (e.g. output cut at a stop word)",
    "foreign_delimiter": "calls are wrapped in another presentation's delimiter (<tool_call> tags vs a code "
    "fence, or a fence with another language)",
    "nested_delimiters": "a code fence inside a <tool_call> tag",
    "several_blocks": "parallel calls spread over several blocks where the format wants one block",
    "bare_calls": "calls with no delimiter at all (the reply, or its last lines, are the calls)",
    "python_style_json": "JSON with single quotes, trailing commas or True/False/None (read as Python)",
    "json_literals": "true/false/null in Python call syntax",
    "arguments_as_string": "arguments given as a JSON-encoded string instead of an object",
    "alternate_call_shape": "a JSON call object in another common shape (OpenAI 'function' wrapper, "
    "'parameters' instead of 'arguments', missing 'arguments', extra keys such as 'id')",
    "json_lines": "several JSON call objects one per line, without list brackets",
    "call_list_in_block": "a list of calls inside one <tool_call> block (one call per block is the format)",
    "python_call_list": "Python calls written as a list ([f(a=1), g(b=2)]) or several on one line",
    "positional_arguments": "positional Python arguments, bound to parameters in schema order",
    "constructor_call": "an object argument written as a constructor call (Point(x=1, y=2) or dict(x=1))",
    "dotted_name": "a tool name with dots written as an attribute path (files.read instead of files_read)",
}

_SEGMENT_SEPARATOR = "\n"
_MAX_BARE_STARTS = 16
_SURROGATE = re.compile("[\ud800-\udfff]")


def dumps_json(value: Any, *, indent: int | None = None) -> str:
    """JSON text as models see it: UTF-8 characters kept, lone surrogates escaped, NaN/infinity refused."""
    try:
        text = json.dumps(value, ensure_ascii=False, allow_nan=False, indent=indent)
    except (TypeError, ValueError) as exc:
        raise UserError(f"value cannot be written as JSON: {exc}") from None
    return _SURROGATE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def fenced(text: str, language: str) -> str:
    """``text`` in a Markdown code fence long enough that no backtick run inside it can close the fence."""
    longest = max((len(run) for run in re.findall("`+", text)), default=0)
    ticks = "`" * max(3, longest + 1)
    return f"{ticks}{language}\n{text}\n{ticks}"


@dataclass(frozen=True, kw_only=True)
class ParseLimits:
    """Bounds on the work done for one untrusted model output; anything over them is a parse error."""

    max_chars: int = field(default=100_000, metadata={"help": "Longest output text parsed, in characters."})
    max_depth: int = field(default=64, metadata={"help": "Deepest bracket nesting accepted in call text."})
    max_calls: int = field(default=128, metadata={"help": "Most calls accepted in one output."})

    def __post_init__(self) -> None:
        for name in ("max_chars", "max_depth", "max_calls"):
            if getattr(self, name) < 1:
                raise UserError(f"ParseLimits.{name} must be at least 1")


@dataclass(frozen=True, kw_only=True)
class ParseResult:
    """What one model output says: its calls, its prose, and whether the call syntax was broken.

    ``error`` is set when the output holds call syntax that could not be read (or, in strict mode, was not in
    the exact format); then ``calls`` is empty and ``had_call_syntax`` is true, so a broken call is never
    mistaken for a deliberate "no call". An output cut off inside its ``<think>`` block is an error too
    (with ``had_call_syntax`` false: there is no reply at all). ``leniencies`` names the
    :data:`LENIENCIES` rules the output needed.
    """

    calls: list[ToolCall] = field(default_factory=list)
    content: str = ""
    error: str | None = None
    had_call_syntax: bool = False
    leniencies: tuple[str, ...] = ()
    reasoning: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None

    @property
    def status(self) -> Literal["calls", "no_call", "error"]:
        if self.error is not None:
            return "error"
        return "calls" if self.calls else "no_call"

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready record of the parse, e.g. for an evaluation log."""
        return {
            "status": self.status,
            "calls": [call.to_dict() for call in self.calls],
            "content": self.content,
            "error": self.error,
            "had_call_syntax": self.had_call_syntax,
            "leniencies": list(self.leniencies),
            "reasoning": self.reasoning,
        }

    def raise_for_error(self) -> ParseResult:
        """Return self, or raise :class:`ParseError` with the parse error."""
        if self.error is not None:
            raise ParseError(self.error)
        return self


class _CallSyntaxError(Exception):
    """Call syntax was found but cannot be read."""


class Presentation(ABC):
    """One way of showing tools to a model and reading its calls. Instances are cheap and stateless."""

    name: ClassVar[str]
    #: The call block of the documented format: (``"tag"``, tag name) or (``"fence"``, language).
    delimiter: ClassVar[tuple[str, str]]
    #: Whether parallel calls take one block per call (True) or one block for all calls (False).
    block_per_call: ClassVar[bool]

    def __init__(self, *, limits: ParseLimits | None = None, include_output_schema: bool = False):
        self.limits = limits or ParseLimits()
        self.include_output_schema = include_output_schema

    # -- rendering -------------------------------------------------------------------------------------------

    @abstractmethod
    def render_tools(self, specs: Sequence[ToolSpec]) -> str:
        """The tool documentation for a system prompt (no instructions around it)."""

    @abstractmethod
    def render_calls(self, calls: Sequence[ToolCall], specs: Sequence[ToolSpec] | None = None) -> str:
        """The exact assistant text that makes these calls (what SFT trains on, prompted presentations)."""

    @abstractmethod
    def call_instructions(self) -> str:
        """How to write calls, in this presentation's terms, for the system prompt."""

    @abstractmethod
    def _wrap_tools(self, rendered: str) -> str:
        """The tool documentation as placed in the system prompt (in a fence or tags)."""

    def render_assistant(
        self, content: str | None, calls: Sequence[ToolCall], specs: Sequence[ToolSpec] | None = None
    ) -> str:
        """A whole assistant turn: optional prose, then the call block(s)."""
        parts = [content.strip()] if content and content.strip() else []
        if calls:
            parts.append(self.render_calls(calls, specs))
        return "\n".join(parts)

    def system_prompt(self, specs: Sequence[ToolSpec], *, preamble: str | None = None) -> str:
        """One prompt skeleton for every presentation; only the tool documentation and call format differ."""
        head = f"{preamble.strip()}\n\n" if preamble and preamble.strip() else ""
        return (
            f"{head}# Tools\n\n"
            "You may call one or more of the following tools to help with the user's request.\n\n"
            f"{self._wrap_tools(self.render_tools(specs))}\n\n{self.call_instructions()}\n"
            "If no tool fits the request, answer in plain text without any tool call."
        )

    def render_result(self, result: ToolResult | str, *, name: str | None = None) -> str:
        """A tool result as text for chat templates without a ``tool`` role; the same in all presentations.

        The Hermes layout (as ``toolkit.exporters`` writes it): ``{"name": ..., "content": ...}`` in
        ``<tool_response>`` tags when the tool's name is given, else the bare result text.
        """
        content = result.content if isinstance(result, ToolResult) else result
        body = dumps_json({"name": name, "content": content}) if name is not None else content
        return f"<tool_response>\n{body}\n</tool_response>"

    # -- parsing ---------------------------------------------------------------------------------------------

    @abstractmethod
    def _parse_block(self, body: str, index: SpecIndex, used: set[str], *, bare: bool) -> list[ToolCall]:
        """Calls in one block body; raise LiteralError when it is not call text. ``bare`` is set when the text
        had no delimiter, so implementations can demand stronger evidence that it is a call."""

    @abstractmethod
    def _is_call_syntax(self, body: str, index: SpecIndex) -> bool:
        """Whether an unreadable code-fence block was meant as calls. Fences are general Markdown: an answer
        may hold a code sample, which must stay prose, while a broken call must stay an error."""

    @abstractmethod
    def _bare_start(self, line: str) -> bool:
        """Whether a line could begin calls written without a delimiter."""

    def parse(self, text: str, specs: Sequence[ToolSpec] | None = None, *, strict: bool) -> ParseResult:
        """Read the calls in one model output. Never raises on bad model output: failures are in ``error``."""
        if not isinstance(text, str):
            raise UserError(f"parse() takes the model's text, got {type(text).__name__}")
        if len(text) > self.limits.max_chars:
            return ParseResult(
                error=f"output is {len(text)} characters, over the limit of {self.limits.max_chars}",
                had_call_syntax=True,
            )
        reasoning, reply = split_reasoning(text)
        if reasoning is not None and "</think>" not in text:
            # Cut off while reasoning (e.g. out of tokens): no answer at all is a failure, not an abstention.
            cut = "the reply ends inside its <think> block (no </think>)"
            return ParseResult(error=cut, reasoning=reasoning)
        index = SpecIndex(specs)
        used: set[str] = set()
        try:
            calls, content, had_syntax = self._parse_reply(reply, index, used)
        except _CallSyntaxError as exc:
            return ParseResult(
                error=str(exc), had_call_syntax=True, content=reply.strip(), reasoning=reasoning
            )
        leniencies = tuple(sorted(used))
        if strict and leniencies:
            problems = "; ".join(f"{rule} ({LENIENCIES[rule]})" for rule in leniencies)
            return ParseResult(
                error=f"not in the strict {self.name} format: {problems}",
                had_call_syntax=True,
                content=content,
                leniencies=leniencies,
                reasoning=reasoning,
            )
        if len(calls) > self.limits.max_calls:
            return ParseResult(
                error=f"{len(calls)} calls in one output, over the limit of {self.limits.max_calls}",
                had_call_syntax=True,
                content=content,
                reasoning=reasoning,
            )
        return ParseResult(
            calls=calls,
            content=content,
            had_call_syntax=had_syntax,
            leniencies=leniencies,
            reasoning=reasoning,
        )

    def _blocks(self, text: str) -> list[tuple[Block, Block | None]]:
        """Call-block candidates in order, each with the code fence wrapped around it, if any.

        Whichever delimiter opens first owns the region: a fence inside a tag is part of the tag's body, and a
        tag inside a fence is part of the fence's body (e.g. a string argument) unless the fence holds nothing
        but tags, in which case it is a wrapper around them (``nested_delimiters``).
        """
        tags = find_tags(text, "tool_call")  # disjoint and in order, so bisect finds those in a region
        starts = [tag.start for tag in tags]
        wrappers: dict[int, Block] = {}
        dropped: set[int] = set()
        fences: list[Block] = []
        for fence in find_fences(text):
            before = bisect.bisect_right(starts, fence.start) - 1
            if before >= 0 and fence.start < tags[before].end:
                continue  # a fence inside a tag
            inside = range(before + 1, bisect.bisect_left(starts, fence.end))
            if inside and _only_tags(text, fence, [tags[i] for i in inside]):
                wrappers.update((i, fence) for i in inside)
            else:
                dropped.update(inside)
                fences.append(fence)
        found = [(tag, wrappers.get(i)) for i, tag in enumerate(tags) if i not in dropped]
        found += [(fence, None) for fence in fences]
        return sorted(found, key=lambda pair: pair[0].start)

    def _parse_reply(self, text: str, index: SpecIndex, used: set[str]) -> tuple[list[ToolCall], str, bool]:
        calls: list[ToolCall] = []
        spans: list[tuple[int, int]] = []
        for n, (block, wrapper) in enumerate(self._blocks(text), start=1):
            own = (block.kind, block.label) == self.delimiter
            rules: set[str] = set() if own else {"foreign_delimiter"}
            if wrapper is not None:
                rules.add("nested_delimiters")
            body = block.body
            if block.kind == "tag" and (inner := unwrap_fence(body)) is not None:
                body = inner
                rules.add("nested_delimiters")
            if not block.closed:
                rules.add("unclosed_block")
            try:
                found = self._parse_block(body, index, rules, bare=False)
            except LiteralError as exc:
                # A broken call is a format failure, never a silent "no call" (which could score as a correct
                # abstention): a <tool_call> tag, a block in this presentation's call syntax, or one that calls a
                # known tool in any syntax. Anything else in a fence is an answer's code sample: prose.
                if block.kind == "tag" or self._is_call_syntax(body, index) or _names_known_tool(body, index):
                    raise _CallSyntaxError(f"{_describe(block)} (block {n}): {exc}") from None
                continue
            calls.extend(found)
            spans.append((block.start, block.end) if wrapper is None else (wrapper.start, wrapper.end))
            used |= rules
        if len(spans) > 1 and not self.block_per_call:
            used.add("several_blocks")
        if not spans:
            bare = self._parse_bare(text, index, used)
            if bare is not None:
                calls, start, end = bare
                spans.append((start, end))
        return calls, _outside(text, spans), bool(spans)

    def _parse_bare(
        self, text: str, index: SpecIndex, used: set[str]
    ) -> tuple[list[ToolCall], int, int] | None:
        starts: list[int] = []
        offset = 0
        error: Exception | None = None
        for line in text.splitlines(keepends=True):
            if line.strip() and self._bare_start(line.lstrip()):
                starts.append(offset)
                if len(starts) >= _MAX_BARE_STARTS:
                    break
            offset += len(line)
        for start in starts:
            # The calls run to the end, to the first blank line, or are the one line; prose may follow.
            paragraph, line_end = text.find("\n\n", start), text.find("\n", start)
            for end in dict.fromkeys(e for e in (len(text), paragraph, line_end) if e > start):
                rules = {"bare_calls"}
                try:
                    found = self._parse_block(text[start:end], index, rules, bare=True)
                except LiteralError as exc:
                    error = exc
                    continue
                used |= rules
                return found, start, end
        for start in starts:  # nothing parsed: a line that calls a known tool was a broken call, not prose
            line = text[start : text.find("\n", start) if "\n" in text[start:] else len(text)]
            if _names_known_tool(line, index):
                raise _CallSyntaxError(f"unreadable call without a delimiter: {line.strip()[:80]!r} ({error})")
        return None


def _names_known_tool(body: str, index: SpecIndex) -> bool:
    """Whether text calls one of the known tools, in Python (``name(``) or JSON (``"name": "tool"``) syntax."""
    for name in index.specs:
        ident = index.names.ident(name)
        for candidate in {name, ident}:
            escaped = re.escape(candidate)
            if re.search(rf"(?<![\w.]){escaped}\s*\(", body) or re.search(rf'"name"\s*:\s*"{escaped}"', body):
                return True
    return False


def _only_tags(text: str, fence: Block, tags: list[Block]) -> bool:
    """Whether a fence's body holds nothing but these tag blocks (and whitespace)."""
    pos, body_end = fence.body_at, fence.body_at + len(fence.body)
    for tag in tags:
        if tag.end > body_end or text[pos : tag.start].strip():
            return False
        pos = tag.end
    return not text[pos:body_end].strip()


def _describe(block: Block) -> str:
    return f"<{block.label}> block" if block.kind == "tag" else f"```{block.label} block"


def _outside(text: str, spans: list[tuple[int, int]]) -> str:
    segments, pos = [], 0
    for start, end in sorted(spans):
        segments.append(text[pos : max(pos, start)])
        pos = max(pos, end)
    segments.append(text[pos:])
    return _SEGMENT_SEPARATOR.join(s.strip() for s in segments if s.strip())
