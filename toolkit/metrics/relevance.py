"""Relevance and abstention (BFCL ``irrelevance`` / ``live_relevance``; evaluation.md §2.5 and §5 M3).

BFCL counts an output as "no call" whenever decoding fails or yields nothing, so unparseable text scores as a
correct abstention and format failures inflate irrelevance accuracy. Here every function takes a
``parse_error`` flag and a format failure is never a correct no-call (nor a correct call).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from toolkit.errors import UserError

__all__ = ["no_call_correct", "relevance_correct", "AbstentionScores", "abstention_scores"]


def no_call_correct(n_calls: int, *, parse_error: bool) -> bool:
    """Gold is "no call": correct iff the output parsed cleanly and holds no call (BFCL irrelevance, minus the
    "unparseable counts as abstention" loophole)."""
    return not parse_error and n_calls == 0


def relevance_correct(n_calls: int, *, parse_error: bool) -> bool:
    """Gold is "some call" (names and arguments unchecked, as BFCL live_relevance): at least one parsed
    call."""
    return not parse_error and n_calls > 0


@dataclass(frozen=True)
class AbstentionScores:
    """Abstention as a detection problem over a set of outputs.

    ``irrelevance_accuracy``: of the tasks whose gold is no call, the fraction answered with a well-formed
    no-call (format failures count as wrong). ``irrelevance_accuracy_format_ok``: the same over well-formed
    outputs only. ``abstention_precision``: of the well-formed no-calls, the fraction where no call was right
    (NaN when the model never abstained). ``abstention_recall`` equals ``irrelevance_accuracy``.
    ``format_failure_rate`` is over all outputs.
    """

    n: int
    n_gold_no_call: int
    n_pred_no_call: int
    n_format_failures: int
    irrelevance_accuracy: float
    irrelevance_accuracy_format_ok: float
    abstention_precision: float
    abstention_recall: float
    format_failure_rate: float


def abstention_scores(
    gold_no_call: Sequence[bool], n_calls: Sequence[int], parse_error: Sequence[bool]
) -> AbstentionScores:
    """Score abstention over outputs: per output, whether the gold is no call, how many calls were parsed, and
    whether parsing failed. Rates with an empty denominator are NaN (never silently 0 or 1)."""
    if not (len(gold_no_call) == len(n_calls) == len(parse_error)):
        raise UserError("gold_no_call, n_calls and parse_error must have one entry per output")
    n = len(gold_no_call)
    pred_no_call = [not err and k == 0 for k, err in zip(n_calls, parse_error, strict=True)]
    gold_idx = [i for i in range(n) if gold_no_call[i]]
    gold_ok_idx = [i for i in gold_idx if not parse_error[i]]
    abstained = [i for i in range(n) if pred_no_call[i]]
    hits = sum(1 for i in gold_idx if pred_no_call[i])
    return AbstentionScores(
        n=n,
        n_gold_no_call=len(gold_idx),
        n_pred_no_call=len(abstained),
        n_format_failures=sum(bool(e) for e in parse_error),
        irrelevance_accuracy=_rate(hits, len(gold_idx)),
        irrelevance_accuracy_format_ok=_rate(hits, len(gold_ok_idx)),
        abstention_precision=_rate(sum(1 for i in abstained if gold_no_call[i]), len(abstained)),
        abstention_recall=_rate(hits, len(gold_idx)),
        format_failure_rate=_rate(sum(bool(e) for e in parse_error), n),
    )


def _rate(num: int, den: int) -> float:
    return num / den if den else float("nan")
