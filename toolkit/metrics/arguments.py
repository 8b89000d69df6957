"""Partial credit for one call's arguments (Seal-Tools' parameter P/R/F1; evaluation.md §5 M7).

A dense signal for RL rewards and error analysis, where :func:`~toolkit.metrics.ast_match.match_call` gives
all-or-nothing. Each parameter is judged by the same rules as ``match_call`` (schema type with int→float
allowed, value among the gold's allowed values, strings standardised in lenient mode).

* ``correct``: given by the prediction, in the gold, right type and value;
* ``wrong``: given and in the gold, but of the wrong type or value;
* ``extra``: given but not in the gold (an optional parameter spelled out with its schema default counts as in
  the gold, as in ``match_call``);
* ``missing``: in the gold, not omittable, and not given.

precision = correct / given, recall = correct / (gold parameters that must be given, plus omittable ones that
were given). A wrong tool name scores 0 everywhere. A call with no arguments against a gold with none scores
1.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from toolkit.metrics.ast_match import OneOf, _properties, _type_problem, _value_mismatch, as_gold
from toolkit.specs import ToolCall, ToolSpec

__all__ = ["ArgumentScores", "argument_scores"]


@dataclass(frozen=True)
class ArgumentScores:
    correct: tuple[str, ...]
    wrong: tuple[str, ...]
    extra: tuple[str, ...]
    missing: tuple[str, ...]
    name_matched: bool

    @property
    def precision(self) -> float:
        given = len(self.correct) + len(self.wrong) + len(self.extra)
        if not self.name_matched:
            return 0.0
        return len(self.correct) / given if given else (1.0 if not self.missing else 0.0)

    @property
    def recall(self) -> float:
        needed = len(self.correct) + len(self.wrong) + len(self.missing)
        if not self.name_matched:
            return 0.0
        return len(self.correct) / needed if needed else (1.0 if not self.extra else 0.0)

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 0.0 if p + r == 0 else 2 * p * r / (p + r)


def argument_scores(pred: ToolCall, gold: Any, spec: ToolSpec | None = None, *, strict: bool = False
                    ) -> ArgumentScores:
    """Score ``pred``'s arguments parameter by parameter against ``gold`` (see the module docstring)."""
    gold_call = as_gold(gold, spec)
    needed = tuple(k for k, v in gold_call.arguments.items() if not (isinstance(v, OneOf) and v.omittable))
    if pred.name != gold_call.name or not isinstance(pred.arguments, dict):
        given = tuple(pred.arguments) if isinstance(pred.arguments, dict) else ()
        return ArgumentScores((), (), given, needed, name_matched=False)
    props = _properties(spec)
    correct, wrong, extra = [], [], []
    for key, value in pred.arguments.items():
        if key not in gold_call.arguments:
            extra.append(key)
            continue
        allowed = gold_call.arguments[key]
        bad = (key in props and _type_problem(value, props[key], allowed, key)) or _value_mismatch(
            value, allowed, strict, key
        )
        (wrong if bad else correct).append(key)
    missing = [k for k in needed if k not in pred.arguments]
    return ArgumentScores(tuple(correct), tuple(wrong), tuple(extra), tuple(missing), name_matched=True)
