"""The template gate: checks, run before any training, that the chat template and the loss masks teach what the
data says (reference: training.md §6.1.2).

Checks (each on a sample of the data, subagent rows included):

* ``tool rendering`` — native json: the template renders the tools list, tool calls and tool results; otherwise
  the prompted fallback is in use (reported, not a failure).
* ``messages rendered`` — every message's text appears in the rendering, in order (a template that drops tool
  results or assistant turns fails here).
* ``prefix property`` — every assistant turn can be located (see :mod:`trainers.masks`).
* ``masks`` — the trained tokens are exactly the assistant turns: one trained span per assistant message, the
  labels equal the input ids there and are ``-100`` everywhere else, no system/user/tool text is trained, and
  no token straddles a turn boundary.
* ``no null leakage`` — a trained turn holds no ``null``/``None`` its calls did not have (the Arrow
  struct-unification hazard of training.md §1.4).
* ``round trip`` — each trained turn, read back with the presentation's *strict* parser, gives the record's
  calls (names and arguments).
* ``stop token`` — each trained turn ends with a special end-of-turn token, so the model learns to stop.
"""

from __future__ import annotations

import json
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from toolkit.chat_format import ChatExample, TemplateSupport, probe_template, to_chat
from toolkit.errors import UserError
from toolkit.exporters import ExportError, flatten_subagents
from toolkit.presentations import get_presentation
from toolkit.records import Trajectory
from toolkit.tables import format_table
from trainers.masks import IGNORE_INDEX, TokenizedExample, special_token_texts, tokenize_example

__all__ = ["GateCheck", "GateReport", "CHECKS", "run_gate", "check_examples"]

CHECKS = (
    "tool rendering",
    "messages rendered",
    "prefix property",
    "masks",
    "no null leakage",
    "round trip",
    "stop token",
)
_MAX_LISTED = 5


@dataclass
class GateCheck:
    name: str
    failures: list[str] = field(default_factory=list)
    checked: int = 0
    note: str = ""

    @property
    def passed(self) -> bool:
        return not self.failures


@dataclass
class GateReport:
    """Outcome of the gate; :meth:`raise_for_failures` stops a run with every failed check listed."""

    checks: dict[str, GateCheck]
    examples: int
    native: bool
    presentation: str
    support: TemplateSupport
    stop_tokens: list[str]

    @property
    def ok(self) -> bool:
        return all(c.passed for c in self.checks.values())

    def failed(self) -> list[GateCheck]:
        return [c for c in self.checks.values() if not c.passed]

    def render(self) -> str:
        rows = [
            (c.name, "ok" if c.passed else f"FAILED ({len(c.failures)})", c.checked,
             c.note or (c.failures[0] if c.failures else ""))
            for c in self.checks.values()
        ]
        return format_table(rows, ["check", "result", "checked", "detail"], max_width=90)

    def raise_for_failures(self) -> GateReport:
        if self.ok:
            return self
        lines = []
        for c in self.failed():
            shown = c.failures[:_MAX_LISTED]
            more = f" (and {len(c.failures) - len(shown)} more)" if len(c.failures) > len(shown) else ""
            lines.append(f"  - {c.name}: " + "; ".join(shown) + more)
        raise UserError(
            f"the template gate failed on {len(self.failed())} check(s) over {self.examples} example(s) "
            f"({self.presentation}, {'native' if self.native else 'prompted'}):\n" + "\n".join(lines) + "\n"
            "Fix the chat template (chat_template setting), the presentation, or the data before training."
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "examples": self.examples,
            "native": self.native,
            "presentation": self.presentation,
            "template_support": self.support.to_dict(),
            "stop_tokens": self.stop_tokens,
            "checks": {n: {"passed": c.passed, "checked": c.checked, "failures": c.failures[:20], "note": c.note}
                       for n, c in self.checks.items()},
        }


def _nulls(text: str) -> int:
    return text.count("null") + text.count("None")


def _check_one(
    tid: str, traj: Trajectory, example: ChatExample, tok: TokenizedExample, checks: dict[str, GateCheck]
) -> None:
    text = tok.text
    trained = {s.message: s for s in tok.trained_spans()}
    # messages rendered, and untrained text stays untrained (in message order, so an answer that repeats a tool
    # result is not mistaken for the result itself)
    checks["messages rendered"].checked += 1
    checks["masks"].checked += 1
    cursor = 0
    for j, msg in enumerate(example.messages):
        content = msg.get("content") or ""
        if msg["role"] == "assistant" and example.native:
            continue  # the template writes native turns in its own format; checked by round trip below
        if not content.strip():
            continue
        pos = text.find(content, cursor)
        if pos < 0:
            checks["messages rendered"].failures.append(
                f"{tid}: message {j} ({msg['role']}) is missing from the rendering: {content[:50]!r}"
            )
            continue
        span = (pos, pos + len(content))
        cursor = span[1]
        seg = trained.get(j)
        if msg["role"] == "assistant" and j not in example.untrained:
            if seg is None or not (seg.start <= span[0] and span[1] <= seg.end):
                checks["masks"].failures.append(f"{tid}: assistant message {j} is not inside its trained span")
        elif any(s.start < span[1] and span[0] < s.end for s in trained.values()):
            checks["masks"].failures.append(f"{tid}: {msg['role']} message {j} text is trained: {content[:50]!r}")
    assistants = sorted(set(example.assistant_calls) - example.untrained)
    if sorted(trained) != assistants:
        checks["masks"].failures.append(
            f"{tid}: trained spans cover messages {sorted(trained)}, assistant turns are {assistants}"
        )
    if tok.offsets is not None:
        for n, (tid_, label, (s, e)) in enumerate(zip(tok.input_ids, tok.labels, tok.offsets)):
            inside = any(seg.start < e and s < seg.end for seg in trained.values()) if e > s else False
            if (label != IGNORE_INDEX) != inside or (label != IGNORE_INDEX and label != tid_):
                checks["masks"].failures.append(f"{tid}: token {n} ({text[s:e]!r}) has label {label}")
                break
    if tok.mixed_tokens:
        checks["masks"].failures.append(
            f"{tid}: {tok.mixed_tokens} token(s) straddle a prompt/assistant boundary; the generation prompt ends "
            "mid-token, so trained tokens differ from generated ones"
        )
    pres = get_presentation("json" if example.native else example.presentation)
    # The record is the truth: compare each turn with the record's message, not with the example built from it
    # (an example can carry damage, e.g. arguments null-filled by Arrow storage).
    truth = [m for m in traj.messages if m.role == "assistant"]
    if len(truth) != len(example.assistant_calls):
        checks["masks"].failures.append(
            f"{tid}: the example has {len(example.assistant_calls)} assistant turns, the record {len(truth)}"
        )
        return
    for k, source_msg in zip(sorted(example.assistant_calls), truth):
        calls = source_msg.calls()
        seg = trained.get(k)
        if seg is None:
            continue
        stop = tok.stop_tokens.get(k, "")
        checks["stop token"].checked += 1
        if not stop:
            checks["stop token"].failures.append(
                f"{tid}: assistant message {k} ends without a special end-of-turn token "
                f"({text[seg.end - 20:seg.end]!r}); the model would never learn to stop"
            )
        body = text[seg.start:seg.end - len(stop)]
        source = json.dumps([c.arguments for c in calls]) + (source_msg.content or "")
        checks["no null leakage"].checked += 1
        if calls and _nulls(body) > _nulls(source):
            checks["no null leakage"].failures.append(
                f"{tid}: assistant message {k} renders null/None its calls do not have: {body[:80]!r}; store "
                "arguments with datasets.Json() (toolkit.exporters.to_hf_dataset), not plain Arrow structs"
            )
        checks["round trip"].checked += 1
        parsed = pres.parse(body, example.specs, strict=True)
        got = [(c.name, c.arguments) for c in parsed.calls]
        want = [(c.name, c.arguments) for c in calls]
        if not parsed.ok or got != want:
            why = parsed.error or f"parsed {got}"
            checks["round trip"].failures.append(
                f"{tid}: assistant message {k} does not parse back to {want} with the strict {pres.name} parser "
                f"({why})"
            )


def check_examples(
    tokenizer: Any, items: Sequence[tuple[str, Trajectory, ChatExample]], *, presentation: str
) -> GateReport:
    """Run every check on ready-made ``(row id, trajectory, chat example)`` items."""
    checks = {name: GateCheck(name) for name in CHECKS}
    support = probe_template(tokenizer)
    native = bool(items) and items[0][2].native
    rendering = checks["tool rendering"]
    rendering.checked = 1
    if native:
        if not support.native_tools:
            missing = ", ".join(support.missing())
            rendering.failures.append(f"native tool calling is in use but the template {missing}")
        else:
            rendering.note = "native: the template renders tools, tool calls and tool results"
    else:
        rendering.note = (
            f"prompted {presentation} presentation"
            + (f" (json fallback: the template {', '.join(support.missing())})" if presentation == "json" else "")
            + ("; tool results as tool messages" if support.tool_role else "; tool results as user messages")
        )
    specials = special_token_texts(tokenizer)
    stops: set[str] = set()
    for tid, traj, example in items:
        checks["prefix property"].checked += 1
        try:
            tok = tokenize_example(example, tokenizer, specials=specials)
        except UserError as exc:
            checks["prefix property"].failures.append(f"{tid}: {exc}")
            continue
        stops |= {s for s in tok.stop_tokens.values() if s}
        _check_one(tid, traj, example, tok, checks)
    return GateReport(checks, len(items), native, presentation, support, sorted(stops))


def run_gate(
    tokenizer: Any,
    records: Sequence[Trajectory],
    presentation: str,
    *,
    native: bool | None = None,
    sample: int = 64,
    seed: int = 0,
) -> GateReport:
    """Render a seeded sample of ``records`` (and their subagents) and run every check on them."""
    if not records:
        raise UserError("the template gate got no records; check the training file")
    rng = random.Random(seed)
    chosen = list(records) if len(records) <= sample else rng.sample(list(records), sample)
    items = []
    for record in chosen:
        try:
            nodes = flatten_subagents(record)
        except ExportError:
            continue  # a broken record tree is reported (and skipped) when the data is encoded
        for node, link in nodes:
            items.append((link.id, node, to_chat(node, presentation, tokenizer=tokenizer, native=native)))
    if not items:
        raise UserError("no record in the gate's sample could be read as an agent tree; check the data")
    return check_examples(tokenizer, items, presentation=presentation)
