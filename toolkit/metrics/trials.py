"""Repeated-trial reliability: pass@k and pass^k (evaluation.md §5 M6).

For a task run ``n`` times with ``c`` successes, the unbiased combinatorial estimators are

* pass@k = 1 - C(n-c, k) / C(n, k): the chance that at least one of k trials drawn without replacement
  succeeds (Chen et al. 2021, HumanEval);
* pass^k = C(c, k) / C(n, k): the chance that all k drawn trials succeed (tau-bench
  ``run.py::display_metrics``, tau2 ``pass_hat_k``).

Both are averaged over tasks. ``flip_rate`` is the fraction of tasks whose outcome is not the same on every
trial.
"""

from __future__ import annotations

from collections.abc import Sequence
from math import comb

from toolkit.errors import UserError

__all__ = ["pass_at_k", "pass_hat_k", "mean_pass_at_k", "mean_pass_hat_k", "flip_rate"]


def _check(n: int, c: int, k: int) -> None:
    if not (0 <= c <= n):
        raise UserError(f"successes c={c} must lie between 0 and the number of trials n={n}")
    if not (1 <= k <= n):
        raise UserError(
            f"k={k} must lie between 1 and the number of trials n={n}; run more trials or lower k"
        )


def pass_at_k(n: int, c: int, k: int) -> float:
    """Probability that at least one of ``k`` of the ``n`` trials (``c`` successful) succeeds."""
    _check(n, c, k)
    return 1.0 - comb(n - c, k) / comb(n, k)


def pass_hat_k(n: int, c: int, k: int) -> float:
    """Probability that all ``k`` of ``k`` trials drawn from the ``n`` (``c`` successful) succeed."""
    _check(n, c, k)
    return comb(c, k) / comb(n, k)


def _per_task(trials: Sequence[tuple[int, int]]) -> Sequence[tuple[int, int]]:
    if not trials:
        raise UserError("no tasks given")
    return trials


def mean_pass_at_k(trials: Sequence[tuple[int, int]], k: int) -> float:
    """Mean pass@k over tasks given as ``(n, c)`` pairs."""
    return sum(pass_at_k(n, c, k) for n, c in _per_task(trials)) / len(trials)


def mean_pass_hat_k(trials: Sequence[tuple[int, int]], k: int) -> float:
    """Mean pass^k over tasks given as ``(n, c)`` pairs (k must not exceed the smallest n, as in tau2)."""
    return sum(pass_hat_k(n, c, k) for n, c in _per_task(trials)) / len(trials)


def flip_rate(trials: Sequence[tuple[int, int]]) -> float:
    """Fraction of tasks with 0 < c < n: their verdict changes between identical trials."""
    return sum(1 for n, c in _per_task(trials) if 0 < c < n) / len(trials)
