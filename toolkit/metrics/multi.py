"""Matching predicted calls against gold calls (BFCL parallel / multiple; Seal-Tools P/R/F1).

Parallel calls have no order, so predictions and golds are paired by a **maximum bipartite matching** on the
graph whose edges are single-call matches (:func:`~toolkit.metrics.ast_match.match_call`). BFCL's
``parallel_function_checker_no_order`` instead pairs greedily (each gold takes the first unused prediction
that matches), which can miss a perfect pairing when one prediction fits two golds; ``method="greedy"``
reproduces it for conformance runs.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from toolkit.metrics.ast_match import CallMatch, GoldCall, as_gold, match_call
from toolkit.specs import ToolCall, ToolSpec

__all__ = ["CallsMatch", "match_calls", "max_bipartite_matching", "specs_by_name"]


@dataclass(frozen=True)
class CallsMatch:
    """The pairing of predicted and gold calls, with set-level scores.

    ``pairs`` holds ``(pred_index, gold_index)`` for each matched pair. ``unmatched_gold`` explains each gold
    call left unpaired with the reasons of its closest prediction (same name first), so a failure says what
    was wrong.

    Precision is matched / predicted and recall is matched / gold. With no predictions precision is 1.0 when
    there is also no gold (a correct no-call) and 0.0 otherwise; likewise recall with no gold. F1 is 0 when
    both are 0. ``all_matched`` is BFCL's verdict: as many predictions as golds and every one paired.
    """

    pairs: tuple[tuple[int, int], ...]
    n_pred: int
    n_gold: int
    unmatched_gold: tuple[tuple[int, CallMatch], ...] = ()
    unmatched_pred: tuple[int, ...] = ()

    @property
    def matched(self) -> int:
        return len(self.pairs)

    @property
    def precision(self) -> float:
        if self.n_pred == 0:
            return 1.0 if self.n_gold == 0 else 0.0
        return self.matched / self.n_pred

    @property
    def recall(self) -> float:
        if self.n_gold == 0:
            return 1.0 if self.n_pred == 0 else 0.0
        return self.matched / self.n_gold

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 0.0 if p + r == 0 else 2 * p * r / (p + r)

    @property
    def all_matched(self) -> bool:
        return self.n_pred == self.n_gold and self.matched == self.n_gold

    @property
    def reasons(self) -> tuple[str, ...]:
        out = [f"gold call {g}: {r}" for g, m in self.unmatched_gold for r in m.reasons]
        if self.n_pred != self.n_gold:
            out.insert(0, f"wrong_count: expected {self.n_gold} call(s), got {self.n_pred}")
        out += [f"extra_call: prediction {p} matches no gold call" for p in self.unmatched_pred]
        return tuple(out)


def specs_by_name(specs: Mapping[str, ToolSpec] | Sequence[ToolSpec] | None) -> dict[str, ToolSpec]:
    if specs is None:
        return {}
    if isinstance(specs, Mapping):
        return dict(specs)
    return {s.name: s for s in specs}


def match_calls(
    pred: Sequence[ToolCall],
    gold: Sequence[Any],
    specs: Mapping[str, ToolSpec] | Sequence[ToolSpec] | None = None,
    *,
    strict: bool = False,
    method: Literal["bipartite", "greedy"] = "bipartite",
) -> CallsMatch:
    """Pair predicted calls with gold calls, order-free, and score the pairing (see :class:`CallsMatch`)."""
    by_name = specs_by_name(specs)
    golds: list[GoldCall] = []
    for g in gold:
        name = g.name if hasattr(g, "name") else None
        golds.append(as_gold(g, by_name.get(name) if isinstance(name, str) else None))
    results = [
        [match_call(p, g, by_name.get(g.name), strict=strict) for g in golds]
        for p in pred
    ]
    edges = [[j for j, r in enumerate(row) if r.matched] for row in results]
    gold_of = _greedy(edges, len(golds)) if method == "greedy" else max_bipartite_matching(edges, len(golds))
    pairs = tuple(sorted((p, g) for p, g in enumerate(gold_of) if g is not None))
    used_gold = {g for _, g in pairs}
    used_pred = {p for p, _ in pairs}
    unmatched_gold = []
    for j in range(len(golds)):
        if j not in used_gold:
            unmatched_gold.append((j, _closest(results, j, used_pred, golds[j].name)))
    return CallsMatch(
        pairs=pairs,
        n_pred=len(pred),
        n_gold=len(golds),
        unmatched_gold=tuple(unmatched_gold),
        unmatched_pred=tuple(p for p in range(len(pred)) if p not in used_pred),
    )


def max_bipartite_matching(edges: list[list[int]], n_right: int) -> list[int | None]:
    """Kuhn's augmenting-path algorithm: for each left node (``edges[i]`` lists the right nodes it may pair with),
    the right node it is paired with in a maximum matching, or None."""
    owner: list[int | None] = [None] * n_right

    def augment(left: int, seen: set[int]) -> bool:
        for right in edges[left]:
            if right in seen:
                continue
            seen.add(right)
            if owner[right] is None or augment(owner[right], seen):  # type: ignore[arg-type]
                owner[right] = left
                return True
        return False

    for left in range(len(edges)):
        augment(left, set())
    pair: list[int | None] = [None] * len(edges)
    for right, left in enumerate(owner):
        if left is not None:
            pair[left] = right
    return pair


def _greedy(edges: list[list[int]], n_gold: int) -> list[int | None]:
    """BFCL's order: each gold, in order, takes the first unused prediction that matches it."""
    gold_of: list[int | None] = [None] * len(edges)
    for g in range(n_gold):
        for p, row in enumerate(edges):
            if gold_of[p] is None and g in row:
                gold_of[p] = g
                break
    return gold_of


def _closest(results: list[list[CallMatch]], g: int, used_pred: set[int], name: str) -> CallMatch:
    """The most informative failed match for gold ``g``: an unused prediction of the same name with fewest
    reasons."""
    candidates = [row[g] for p, row in enumerate(results) if p not in used_pred]
    if not candidates:
        return CallMatch(False, (f"missing_call: no prediction left for {name!r}",))
    same_name = [c for c in candidates if "wrong_name" not in c.codes]
    return min(same_name or candidates, key=lambda c: len(c.reasons))
