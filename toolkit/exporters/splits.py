"""Train/test splits of trajectory records, deterministic from a seed.

Every split works on whole records: a record's subagent trajectories always land in the same split as the
record, so a parent's row and its children's rows are never separated.

Determinism: which records land in test depends only on the seed, the fraction and the *set* of records, never
on their order in the file: records are ranked by a SHA-256 of ``(seed, record id)`` (ties between duplicate
ids broken by a hash of the record's JSON). Output keeps the input order inside each split.

* ``random`` — the ``round(n * fraction)`` lowest-ranked records go to test.
* ``kind`` — stratified by ``scenario.kind`` (missing kind counts as ``"unknown"``): each kind gives
  ``floor(n_kind * fraction)`` records, and the remaining test slots go to the kinds with the largest
  remainders, so the total matches ``random`` and every kind's share is within one record of the fraction.
* ``held-out-tools`` — no tool used in test is used in train. Tools are taken, one at a time in a
  seed-determined order, into a held-out set until the records that use *only* held-out tools reach the
  fraction; those are test, records using *no* held-out tool are train, and records mixing both cannot be
  assigned cleanly and are dropped (counted in :attr:`Split.dropped`). Records that call no tool carry no tool
  to leak and are split at random. "Use" means *called* (by the agent or any subagent) by default;
  ``match="offered"`` uses the tools listed in the record instead, a stricter split in which test tools are
  not even shown in train.
"""

from __future__ import annotations

import hashlib
import math
from collections import Counter
from collections.abc import Callable, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from typing import Literal

from toolkit.errors import UserError
from toolkit.records import Trajectory

__all__ = [
    "Split",
    "SPLITS",
    "split_records",
    "split_random",
    "split_by_kind",
    "split_held_out_tools",
    "tools_used",
]

ToolMatch = Literal["called", "offered"]


@dataclass
class Split:
    """The outcome of a split; ``dropped`` holds the records no split could take (held-out-tools only)."""

    method: str
    seed: int
    test_fraction: float
    train: list[Trajectory] = field(default_factory=list)
    test: list[Trajectory] = field(default_factory=list)
    dropped: list[Trajectory] = field(default_factory=list)
    held_out_tools: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def tools_used(record: Trajectory, match: ToolMatch = "called") -> set[str]:
    """Names of the tools a record calls (or offers), its subagents included."""
    names = {c.name for c in record.tool_calls()} if match == "called" else {t.name for t in record.tools}
    for child in record.subagents.values():
        names |= tools_used(child, match)
    return names


def _h(*parts: object) -> str:
    return hashlib.sha256("\x00".join(str(p) for p in parts).encode("utf-8")).hexdigest()


def _rank(records: Sequence[Trajectory], seed: int) -> list[int]:
    """Indices of ``records`` in seed order (independent of input order)."""
    counts = Counter(r.id for r in records)

    def key(i: int) -> tuple[str, str]:
        r = records[i]
        # Only records sharing an id need the (costlier) content hash to order them without regard to input order.
        return _h(seed, r.id), _h(r.to_json()) if counts[r.id] > 1 else ""

    return sorted(range(len(records)), key=key)


def _check(records: Sequence[Trajectory], test_fraction: float) -> None:
    if not 0.0 < test_fraction < 1.0:
        raise UserError(f"test fraction must be between 0 and 1 (exclusive), got {test_fraction}; e.g. 0.2")
    if len(records) < 2:
        raise UserError(f"a split needs at least 2 records, got {len(records)}; export without --split")


def _n_test(n: int, fraction: float) -> int:
    return min(n - 1, max(1, math.floor(n * fraction + 0.5))) if n >= 2 else 0


def _assemble(
    split: Split, records: Sequence[Trajectory], test_idx: set[int], drop_idx: AbstractSet[int] = frozenset()
) -> Split:
    for i, r in enumerate(records):
        (split.dropped if i in drop_idx else split.test if i in test_idx else split.train).append(r)
    return split


def split_random(records: Sequence[Trajectory], *, test_fraction: float = 0.2, seed: int = 0) -> Split:
    """A seeded random split: ``round(n * test_fraction)`` records in test, at least one in each split."""
    _check(records, test_fraction)
    test = set(_rank(records, seed)[: _n_test(len(records), test_fraction)])
    return _assemble(Split("random", seed, test_fraction), records, test)


def split_by_kind(records: Sequence[Trajectory], *, test_fraction: float = 0.2, seed: int = 0) -> Split:
    """A seeded split stratified by scenario kind (largest-remainder allocation of the test slots)."""
    _check(records, test_fraction)
    groups: dict[str, list[int]] = {}
    ranked = _rank(records, seed)
    for i in ranked:
        kind = records[i].scenario.kind if records[i].scenario else "unknown"
        groups.setdefault(kind, []).append(i)
    total = _n_test(len(records), test_fraction)
    quota = {k: math.floor(len(v) * test_fraction) for k, v in groups.items()}
    spare = total - sum(quota.values())
    remainder = {k: len(v) * test_fraction - quota[k] for k, v in groups.items()}
    by_remainder = sorted(groups, key=lambda k: (-remainder[k], _h(seed, "kind", k)))
    for k in by_remainder:
        if spare <= 0:
            break
        if quota[k] < len(groups[k]):
            quota[k] += 1
            spare -= 1
    test = {i for k, idx in groups.items() for i in idx[: quota[k]]}
    split = _assemble(Split("kind", seed, test_fraction), records, test)
    only_train = sorted(k for k in groups if quota[k] == 0)
    if only_train:
        split.notes.append(f"kinds with no test record (too few records): {', '.join(only_train)}")
    return split


def split_held_out_tools(
    records: Sequence[Trajectory], *, test_fraction: float = 0.2, seed: int = 0, match: ToolMatch = "called"
) -> Split:
    """A split in which the tools used in test and in train are disjoint (procedure: see the module doc)."""
    _check(records, test_fraction)
    used = [tools_used(r, match) for r in records]
    universe = sorted(set().union(*used))
    if len(universe) < 2:
        raise UserError(
            "a held-out-tools split needs records that use at least 2 distinct tools; these use "
            f"{universe or 'none'}; use --split random or --split kind"
        )
    tooled = [i for i, u in enumerate(used) if u]
    held, test, touched = _hold_out(used, tooled, universe, test_fraction * len(tooled), seed)
    if not test:
        raise UserError(
            "no tool can be held out cleanly: every record that uses a candidate tool also uses others; "
            "use --split random or --split kind, or generate records that use fewer tools each"
        )
    dropped = touched - test
    toolless = [i for i, u in enumerate(used) if not u]
    if toolless:
        sub = [records[i] for i in toolless]
        ranked = _rank(sub, seed)
        k = math.floor(len(sub) * test_fraction + 0.5)
        test |= {toolless[j] for j in ranked[:k]}
    split = _assemble(Split("held-out-tools", seed, test_fraction), records, test, dropped)
    split.held_out_tools = sorted(held)
    if dropped:
        split.notes.append(
            f"{len(dropped)} record(s) use both held-out and training tools and were dropped from both splits"
        )
    return split


def _hold_out(
    used: list[set[str]], tooled: list[int], universe: list[str], target: float, seed: int
) -> tuple[set[str], set[int], set[int]]:
    """Grow the held-out set one tool at a time: the first tool in seed order that moves at least one more
    record into test without leaving train empty. Returns (held-out tools, test records, records touching
    them)."""
    by_tool: dict[str, list[int]] = {t: [] for t in universe}
    for i in tooled:
        for t in used[i]:
            by_tool[t].append(i)
    remaining = {i: len(used[i]) for i in tooled}  # tools of record i not yet held out
    order = sorted(universe, key=lambda t: _h(seed, "tool", t))
    held: set[str] = set()
    test: set[int] = set()
    touched: set[int] = set()
    while len(test) < target:
        for tool in order:
            if tool in held:
                continue
            gain = sum(1 for i in by_tool[tool] if remaining[i] == 1)
            if gain and len(touched.union(by_tool[tool])) < len(tooled):
                break
        else:
            break  # no tool moves another record into test without emptying train
        held.add(tool)
        touched.update(by_tool[tool])
        for i in by_tool[tool]:
            remaining[i] -= 1
            if remaining[i] == 0:
                test.add(i)
    return held, test, touched


SPLITS: dict[str, Callable[..., Split]] = {
    "random": split_random,
    "kind": split_by_kind,
    "held-out-tools": split_held_out_tools,
}


def split_records(
    records: Sequence[Trajectory], method: str, *, test_fraction: float = 0.2, seed: int = 0
) -> Split:
    """Split by method name (``random``, ``kind`` or ``held-out-tools``)."""
    try:
        fn = SPLITS[method]
    except KeyError:
        raise UserError(f"unknown split {method!r}; choose one of: {', '.join(SPLITS)}") from None
    return fn(records, test_fraction=test_fraction, seed=seed)
