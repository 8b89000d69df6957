"""`toolgym inspect FILE` — one trajectory as a readable tree, subagents nested under their delegate call."""

from __future__ import annotations

import argparse
import json
from typing import Any

from toolkit.errors import UserError
from toolkit.readers import ReadItem, read_records
from toolkit.records import Message, Trajectory
from toolkit.validation import check_record

EXAMPLE = """examples:
  toolgym inspect data/train.jsonl                 # the first record
  toolgym inspect data/train.jsonl --index 41      # the 42nd record (0-based, counting every non-blank line)
  toolgym inspect data/train.jsonl --id delegate-0007 --max-chars 0"""


def add_parser(sub: Any) -> argparse.ArgumentParser:
    p = sub.add_parser(
        "inspect",
        help="show one trajectory as a tree (messages, calls, results, subagents)",
        description="Print one record of a JSONL dataset (ToolGym, TRL or OpenAI format) as a tree: "
                    "messages with roles, calls with their arguments and results, subagents under their "
                    "delegate call, and the scenario and expected outcome.",
        epilog=EXAMPLE,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("file", metavar="FILE", help="JSONL dataset")
    where = p.add_mutually_exclusive_group()
    where.add_argument("--index", type=int, default=None, metavar="N",
                       help="0-based record index (default 0)")
    where.add_argument("--id", default=None, metavar="ID", help="record id")
    p.add_argument("--max-chars", type=int, default=200, metavar="N",
                   help="cut texts and results longer than N characters (0: never cut; default 200)")
    return p


def _find(path: str, index: int | None, record_id: str | None) -> ReadItem:
    count = 0
    for i, item in enumerate(read_records(path)):
        count += 1
        if record_id is not None:
            if item.record is not None and item.record.get("id") == record_id:
                return item
        elif i == (index or 0):
            return item
    if record_id is not None:
        raise UserError(f"no record with id {record_id!r} in {path} ({count} record(s)); list ids with "
                        "`toolgym validate --json` or pick one by --index")
    if count == 0:
        raise UserError(f"{path} holds no records")
    raise UserError(f"--index {index} is out of range: {path} has {count} record(s) (indexes 0-{count - 1})")


class _Tree:
    def __init__(self, max_chars: int):
        self.lines: list[str] = []
        self.max_chars = max_chars

    def cut(self, text: str) -> str:
        text = text.replace("\n", "⏎ ")
        if self.max_chars and len(text) > self.max_chars:
            return text[: self.max_chars] + f"… [{len(text) - self.max_chars} more chars]"
        return text

    def add(self, prefix: str, last: bool, text: str) -> str:
        self.lines.append(f"{prefix}{'└─ ' if last else '├─ '}{text}")
        return prefix + ("   " if last else "│  ")


def _args(arguments: dict[str, Any]) -> str:
    return ", ".join(f"{k}={json.dumps(v, ensure_ascii=False)}" for k, v in arguments.items())


def _header(traj: Trajectory) -> list[str]:
    out = [f"trajectory {traj.id}"]
    if traj.scenario:
        s = traj.scenario
        bits = [f"kind={s.kind}"] + [f"{k}={v}" for k, v in (("suite", s.suite), ("seed", s.seed),
                                                                ("template", s.template)) if v is not None]
        out.append("scenario: " + ", ".join(bits))
    out.append("tools: " + (", ".join(t.name + ("" if t.deterministic else " (non-deterministic)")
                                      for t in traj.tools) or "(none)"))
    if traj.expected:
        e = traj.expected
        parts = []
        if e.calls is not None:
            names = ": " + ", ".join(c.name for c in e.calls) if e.calls else ""
            parts.append(f"{len(e.calls)} call(s){names}")
        if e.answer_facts:
            parts.append("answer facts: " + "; ".join(e.answer_facts))
        if e.final_state is not None:
            parts.append(f"final state with {len(e.final_state)} key(s)")
        out.append("expected: " + (", ".join(parts) or "(nothing)"))
    if traj.provenance:
        out.append(f"provenance: {traj.provenance.generator}"
                   + (f", line {traj.provenance.source_line}" if traj.provenance.source_line else ""))
    if traj.validation:
        failed = [s.stage for s in traj.validation.stages if not s.passed]
        verdict = "passed" if traj.validation.passed else "failed at " + ", ".join(failed)
        out.append(f"validation: {verdict}")
    return out


_MAX_NESTING = 20  # deeper trees are cut, not rendered into a stack overflow


def _conversation(tree: _Tree, traj: Trajectory, prefix: str, depth: int = 0) -> None:
    if depth > _MAX_NESTING:
        tree.add(prefix, True, f"… subagents nested deeper than {_MAX_NESTING} levels are not shown")
        return
    called = {tc.id for m in traj.messages for tc in m.tool_calls or []}
    answers: dict[str, tuple[int, Message]] = {}  # first result of each call, shown under the call
    for i, m in enumerate(traj.messages):
        if m.role == "tool" and m.tool_call_id in called and m.tool_call_id not in answers:
            answers[m.tool_call_id] = (i, m)
    under_calls = {i for i, _ in answers.values()}
    rows = [(i, m) for i, m in enumerate(traj.messages) if i not in under_calls]
    orphans = [k for k in traj.subagents if k not in called]
    for n, (i, m) in enumerate(rows):
        last = n == len(rows) - 1 and not orphans
        if m.role == "tool":  # a second result, or one no call of this conversation asked for
            text = tree.cut(m.content or "")
            tree.add(prefix, last, f"[{i}] tool (answers {m.tool_call_id!r}, unmatched): {text}")
            continue
        label = f"[{i}] {m.role}"
        if m.content:
            label += f": {tree.cut(m.content)}"
        if m.tool_calls:
            label += f"{'  ' if m.content else ''} → {len(m.tool_calls)} call(s)"
        inner = tree.add(prefix, last, label)
        calls = m.tool_calls or []
        for k, tc in enumerate(calls):
            signature = f"{tc.function.name}({tree.cut(_args(tc.function.arguments))})"
            call_prefix = tree.add(inner, k == len(calls) - 1, f"call {tc.id}: {signature}")
            found = answers.get(tc.id)
            child = traj.subagents.get(tc.id)
            if found is None:
                tree.add(call_prefix, child is None, "(no result)")
            else:
                at, answer = found
                kind = "error" if answer.is_error else "result"
                tree.add(call_prefix, child is None, f"{kind} [{at}]: {tree.cut(answer.content or '')}")
            if child is not None:
                tools = ", ".join(t.name for t in child.tools) or "(none)"
                child_prefix = tree.add(call_prefix, True, f"subagent {child.id} (tools: {tools})")
                _conversation(tree, child, child_prefix, depth + 1)
    for n, k in enumerate(orphans):
        child = traj.subagents[k]
        label = f"subagent {child.id} under unknown call {k!r}"
        child_prefix = tree.add(prefix, n == len(orphans) - 1, label)
        _conversation(tree, child, child_prefix, depth + 1)


def render(traj: Trajectory, *, max_chars: int = 200) -> str:
    """The tree of one trajectory, as ``toolgym inspect`` prints it."""
    tree = _Tree(max_chars)
    tree.lines.extend(_header(traj))
    _conversation(tree, traj, "")
    return "\n".join(tree.lines)


def run(args: argparse.Namespace) -> int:
    if args.index is not None and args.index < 0:
        raise UserError(f"--index must be 0 or more, not {args.index}")
    if args.max_chars < 0:
        raise UserError(f"--max-chars must be 0 or more, not {args.max_chars}")
    item = _find(args.file, args.index, args.id)
    try:
        traj = item.to_trajectory()
    except UserError as exc:
        print(f"line {item.line} cannot be shown: {str(exc).split(': ', 1)[-1]}")
        print("run `toolgym validate` on the file for every problem")
        return 1
    print(f"line {item.line} ({item.format})")
    print(render(traj, max_chars=args.max_chars))
    print(_checks(item))
    return 0


def _checks(item: ReadItem) -> str:
    """The static validation stages' verdict on the shown record, so a failing record shows why."""
    _, outcomes = check_record(item.record or {})
    failed = [o for o in outcomes if not o.passed]
    if not failed:
        return f"checks: {', '.join(o.stage for o in outcomes)} passed (replay needs `toolgym validate --tools`)"
    lines = ["checks failed:"]
    for outcome in failed:
        lines.extend(f"  [{outcome.stage}] {why}" for why in outcome.reasons)
    return "\n".join(lines)
