"""Statistics for accuracy reports and paired comparisons (evaluation.md §7.6).

* :func:`wilson_interval` — a proportion's confidence interval (Wilson score; good coverage at small n and
  near 0/1, unlike the Wald interval).
* :func:`bootstrap_interval` — a percentile bootstrap interval for a mean, optionally clustered.
* :func:`paired_difference` — the mean within-task difference between two presentations (arms), with a
  percentile interval from a **two-stage cluster bootstrap**: resample tools with replacement, then each drawn
  tool's tasks with replacement. Tasks that share a tool are correlated, so resampling tasks alone understates
  the uncertainty.
* :func:`newcombe_paired_interval` — the analytic alternative for one binary outcome per task, unclustered:
  Newcombe's (1998) square-and-add interval for a paired difference of proportions (his method 10), built from
  the two Wilson intervals and the phi correlation of the paired outcomes.
* :func:`mcnemar_exact` / :func:`mcnemar_test` — the exact McNemar test: a two-sided exact binomial test
  (p = 1/2) on the discordant pairs (b = only arm A right, c = only arm B right).
* :func:`binomial_test`, :func:`sign_test`, :func:`holm_adjust` — building blocks for per-model win/loss
  counts and multiplicity control.
* :func:`required_tasks` / :func:`minimum_detectable_difference` — sample size for a paired comparison of two
  proportions (Connor 1987, the standard McNemar power formula)::

      n = ( z_{1-alpha/2} * sqrt(psi) + z_{1-beta} * sqrt(psi - delta**2) )**2 / delta**2

  where psi is the discordance (the fraction of tasks on which the two arms disagree) and delta the difference
  in accuracy. With psi = 0.15, alpha = 0.05 and power = 0.8 this gives 116 tasks for 10 pp, 469 for 5 pp.

Everything is pure Python plus numpy; normal quantiles come from :class:`statistics.NormalDist`.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction
from statistics import NormalDist

import numpy as np

from toolkit.errors import UserError

__all__ = [
    "Interval",
    "PairedDifference",
    "McNemarResult",
    "wilson_interval",
    "bootstrap_interval",
    "paired_difference",
    "newcombe_paired_interval",
    "binomial_test",
    "sign_test",
    "mcnemar_exact",
    "mcnemar_test",
    "holm_adjust",
    "required_tasks",
    "minimum_detectable_difference",
]


@dataclass(frozen=True)
class Interval:
    """A point estimate with a two-sided confidence interval."""

    estimate: float
    low: float
    high: float
    confidence: float
    method: str
    n: int

    @property
    def half_width(self) -> float:
        return (self.high - self.low) / 2


@dataclass(frozen=True)
class PairedDifference:
    """Mean of (arm A − arm B) over tasks, with a cluster-bootstrap percentile interval.

    ``n_clusters`` equals ``n_tasks`` when no clusters were given. ``standard_error`` is the standard
    deviation of the bootstrap replicates. ``seed`` and ``n_resamples`` make the interval reproducible.
    """

    estimate: float
    low: float
    high: float
    confidence: float
    standard_error: float
    n_tasks: int
    n_clusters: int
    n_resamples: int
    seed: int

    @property
    def excludes_zero(self) -> bool:
        return self.low > 0 or self.high < 0


@dataclass(frozen=True)
class McNemarResult:
    """Exact McNemar test: ``b`` tasks only arm A got right, ``c`` only arm B; two-sided ``p_value``."""

    b: int
    c: int
    p_value: float
    n_tasks: int

    @property
    def n_discordant(self) -> int:
        return self.b + self.c


def _z(confidence: float) -> float:
    if not 0 < confidence < 1:
        raise UserError(f"confidence must be between 0 and 1 (e.g. 0.95), got {confidence}")
    return NormalDist().inv_cdf(0.5 + confidence / 2)


def wilson_interval(successes: int, n: int, *, confidence: float = 0.95) -> Interval:
    """Wilson score interval for ``successes`` out of ``n``."""
    if n <= 0 or not 0 <= successes <= n:
        raise UserError(f"need 0 <= successes <= n and n > 0, got successes={successes}, n={n}")
    z = _z(confidence)
    p = successes / n
    denom = 1 + z * z / n
    center = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    # At 0 or n successes the bound is exactly 0 or 1; computing it would leave float noise like 2.8e-17.
    low = 0.0 if successes == 0 else max(0.0, center - half)
    high = 1.0 if successes == n else min(1.0, center + half)
    return Interval(p, low, high, confidence, "wilson", n)


def _cluster_bootstrap(
    values: np.ndarray, cluster_ids: Sequence[Hashable], n_resamples: int, seed: int
) -> np.ndarray:
    """Replicates of the mean of ``values`` under a two-stage bootstrap (clusters, then members within each).

    Each replicate draws as many clusters as there are, with replacement, then for every drawn cluster as many
    of its members as it has, with replacement, and averages all drawn values. Resamples are made in chunks so
    memory stays bounded for large task sets; the chunking is fixed, so a seed always gives the same
    replicates.
    """
    rng = np.random.default_rng(seed)
    order: dict[Hashable, list[int]] = {}
    for i, cid in enumerate(cluster_ids):
        order.setdefault(cid, []).append(i)
    groups = [values[idx] for idx in order.values()]
    n_groups = len(groups)
    out = np.empty(n_resamples)
    chunk = max(1, 2_000_000 // n_groups)
    for start in range(0, n_resamples, chunk):
        r = min(chunk, n_resamples - start)
        chosen = rng.integers(0, n_groups, size=(r, n_groups))
        flat = (chosen + np.arange(r)[:, None] * n_groups).ravel()
        # times[i, g]: how often resample i drew cluster g
        times = np.bincount(flat, minlength=r * n_groups).reshape(r, n_groups)
        sums = np.zeros(r)
        counts = np.zeros(r)
        for g, members in enumerate(groups):
            col = times[:, g]
            total = int(col.sum())
            if total == 0:
                continue
            picks = rng.integers(0, len(members), size=(total, len(members)))
            owner = np.repeat(np.arange(r), col)
            sums += np.bincount(owner, weights=members[picks].sum(axis=1), minlength=r)
            counts += col * len(members)
        out[start : start + r] = sums / counts
    return out


def _percentiles(replicates: np.ndarray, confidence: float) -> tuple[float, float]:
    tail = (1 - confidence) / 2 * 100
    low, high = np.percentile(replicates, [tail, 100 - tail])
    return float(low), float(high)


def _check_resampling(n_resamples: int) -> None:
    if n_resamples < 100:
        raise UserError(f"n_resamples={n_resamples} is too few for a percentile interval; use 1000 or more")


def bootstrap_interval(
    values: Sequence[float],
    *,
    clusters: Sequence[Hashable] | None = None,
    confidence: float = 0.95,
    n_resamples: int = 10_000,
    seed: int = 0,
) -> Interval:
    """Percentile bootstrap interval for the mean of ``values`` (e.g. per-task success 0/1 or success rates).

    With ``clusters`` (one id per value), the two-stage cluster bootstrap of :func:`paired_difference` is
    used.
    """
    if not values:
        raise UserError("no values to bootstrap")
    _z(confidence)
    _check_resampling(n_resamples)
    arr = np.asarray(values, dtype=float)
    ids = list(clusters) if clusters is not None else list(range(len(arr)))
    if len(ids) != len(arr):
        raise UserError(f"clusters has {len(ids)} ids for {len(arr)} values; give one cluster id per value")
    reps = _cluster_bootstrap(arr, ids, n_resamples, seed)
    low, high = _percentiles(reps, confidence)
    method = "cluster bootstrap" if clusters is not None else "bootstrap"
    return Interval(float(arr.mean()), low, high, confidence, method, len(arr))


def paired_difference(
    a: Mapping[Hashable, float],
    b: Mapping[Hashable, float],
    *,
    clusters: Mapping[Hashable, Hashable] | None = None,
    confidence: float = 0.95,
    n_resamples: int = 10_000,
    seed: int = 0,
) -> PairedDifference:
    """Mean of ``a[task] - b[task]`` over tasks, with a cluster-bootstrap interval.

    ``a`` and ``b`` map task ids to an outcome (0/1, or a success rate over repeated trials) for two arms on
    the same tasks. ``clusters`` maps each task id to its tool (or server); without it each task is its own
    cluster.
    """
    if set(a) != set(b):
        only = sorted(map(str, set(a) ^ set(b)))[:5]
        raise UserError(f"a paired comparison needs the same tasks in both arms; unpaired task ids: {only}")
    if not a:
        raise UserError("no tasks to compare")
    _z(confidence)
    _check_resampling(n_resamples)
    tasks = sorted(a, key=str)
    diffs = np.array([float(a[t]) - float(b[t]) for t in tasks])
    if clusters is not None:
        missing = [t for t in tasks if t not in clusters]
        if missing:
            raise UserError(f"no cluster (tool) given for tasks {sorted(map(str, missing))[:5]}")
        ids: list[Hashable] = [clusters[t] for t in tasks]
    else:
        ids = list(range(len(tasks)))
    reps = _cluster_bootstrap(diffs, ids, n_resamples, seed)
    low, high = _percentiles(reps, confidence)
    return PairedDifference(
        estimate=float(diffs.mean()),
        low=low,
        high=high,
        confidence=confidence,
        standard_error=float(reps.std(ddof=1)),
        n_tasks=len(tasks),
        n_clusters=len(set(ids)),
        n_resamples=n_resamples,
        seed=seed,
    )


def newcombe_paired_interval(
    a: Mapping[Hashable, bool], b: Mapping[Hashable, bool], *, confidence: float = 0.95
) -> Interval:
    """Newcombe's square-and-add interval for P(A right) − P(B right) from paired binary outcomes.

    With r tasks both right, s only A, t only B, u neither (n in all): p1 = (r+s)/n, p2 = (r+t)/n, Wilson
    intervals (l1, u1) and (l2, u2), and phi = C / sqrt((r+s)(t+u)(r+t)(s+u)) where C = ru − st − n/2 when
    ru − st > n/2, C = ru − st when that is negative, else 0. Then the interval is
    ``p1 − p2 − sqrt((p1−l1)² − 2·phi·(p1−l1)(u2−p2) + (u2−p2)²)`` to
    ``p1 − p2 + sqrt((p2−l2)² − 2·phi·(p2−l2)(u1−p1) + (u1−p1)²)``.
    """
    if set(a) != set(b):
        only = sorted(map(str, set(a) ^ set(b)))[:5]
        raise UserError(f"a paired interval needs the same tasks in both arms; unpaired task ids: {only}")
    if not a:
        raise UserError("no tasks to compare")
    r = sum(1 for t in a if a[t] and b[t])
    s = sum(1 for t in a if a[t] and not b[t])
    t_ = sum(1 for t in a if b[t] and not a[t])
    u = len(a) - r - s - t_
    n = len(a)
    w1 = wilson_interval(r + s, n, confidence=confidence)
    w2 = wilson_interval(r + t_, n, confidence=confidence)
    p1, p2 = w1.estimate, w2.estimate
    margins = (r + s) * (t_ + u) * (r + t_) * (s + u)
    cross = r * u - s * t_
    c = cross - n / 2 if cross > n / 2 else (cross if cross < 0 else 0.0)
    phi = c / math.sqrt(margins) if margins > 0 else 0.0
    d1, e2 = p1 - w1.low, w2.high - p2
    d2, e1 = p2 - w2.low, w1.high - p1
    low = (p1 - p2) - math.sqrt(max(0.0, d1 * d1 - 2 * phi * d1 * e2 + e2 * e2))
    high = (p1 - p2) + math.sqrt(max(0.0, d2 * d2 - 2 * phi * d2 * e1 + e1 * e1))
    return Interval(p1 - p2, max(-1.0, low), min(1.0, high), confidence, "newcombe paired", n)


def binomial_test(k: int, n: int, p: float = 0.5) -> float:
    """Exact two-sided binomial test of ``k`` successes in ``n`` trials.

    The p-value sums the probabilities of every outcome no more likely than the one observed (the "minlike"
    rule of R's ``binom.test`` and SciPy). For p = 1/2 this equals twice the smaller tail, capped at 1. Exact
    rational arithmetic is used, so the result carries no rounding error before the final conversion.
    """
    if n < 0 or not 0 <= k <= n:
        raise UserError(f"need 0 <= k <= n, got k={k}, n={n}")
    if not 0 < p < 1:
        raise UserError(f"p must lie strictly between 0 and 1, got {p}")
    if n == 0:
        return 1.0
    q = Fraction(p).limit_denominator(10**12)
    probs = [math.comb(n, i) * q**i * (1 - q) ** (n - i) for i in range(n + 1)]
    observed = probs[k]
    # Relative tolerance as in R, so outcomes equally likely up to float noise in p count as "as extreme".
    limit = observed * (1 + Fraction(1, 10**7))
    return float(min(Fraction(1), sum(pr for pr in probs if pr <= limit)))


def sign_test(wins: int, losses: int) -> float:
    """Two-sided sign test (ties dropped beforehand): e.g. models where arm A beat arm B vs the reverse."""
    return binomial_test(wins, wins + losses)


def mcnemar_exact(b: int, c: int) -> float:
    """Exact two-sided McNemar p-value from the discordant counts ``b`` and ``c``."""
    if b < 0 or c < 0:
        raise UserError(f"discordant counts must be non-negative, got b={b}, c={c}")
    n = b + c
    if n == 0:
        return 1.0
    tail = sum(math.comb(n, i) for i in range(min(b, c) + 1))
    return float(min(Fraction(1), Fraction(2 * tail, 2**n)))


def mcnemar_test(a: Mapping[Hashable, bool], b: Mapping[Hashable, bool]) -> McNemarResult:
    """Exact McNemar test on paired binary outcomes (task id -> correct) of arms A and B."""
    if set(a) != set(b):
        only = sorted(map(str, set(a) ^ set(b)))[:5]
        raise UserError(f"McNemar's test needs the same tasks in both arms; unpaired task ids: {only}")
    only_a = sum(1 for t in a if a[t] and not b[t])
    only_b = sum(1 for t in a if b[t] and not a[t])
    return McNemarResult(b=only_a, c=only_b, p_value=mcnemar_exact(only_a, only_b), n_tasks=len(a))


def holm_adjust(p_values: Sequence[float]) -> list[float]:
    """Holm–Bonferroni adjusted p-values, in the input order (reject where adjusted p <= alpha)."""
    m = len(p_values)
    order = sorted(range(m), key=lambda i: p_values[i])
    adjusted = [0.0] * m
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (m - rank) * p_values[i]))
        adjusted[i] = running
    return adjusted


def _check_design(discordance: float, alpha: float, power: float) -> None:
    if not 0 < discordance <= 1:
        raise UserError(f"discordance (share of tasks the arms disagree on) must be in (0, 1]: {discordance}")
    if not 0 < alpha < 1 or not 0 < power < 1:
        raise UserError(f"alpha and power must lie in (0, 1), got alpha={alpha}, power={power}")


def required_tasks(
    delta: float, *, discordance: float = 0.15, alpha: float = 0.05, power: float = 0.8
) -> int:
    """Paired tasks needed to detect an accuracy difference ``delta`` (Connor 1987, see the module doc)."""
    _check_design(discordance, alpha, power)
    if not 0 < abs(delta) <= discordance:
        raise UserError(
            f"|delta| must be in (0, discordance={discordance}]: the arms differ only where they disagree"
        )
    d = abs(delta)
    z_a, z_b = NormalDist().inv_cdf(1 - alpha / 2), NormalDist().inv_cdf(power)
    n = (z_a * math.sqrt(discordance) + z_b * math.sqrt(discordance - d * d)) ** 2 / (d * d)
    return math.ceil(n - 1e-9)


def minimum_detectable_difference(
    n_tasks: int, *, discordance: float = 0.15, alpha: float = 0.05, power: float = 0.8
) -> float:
    """Smallest accuracy difference ``n_tasks`` paired tasks detect with the given power (the inverse of
    :func:`required_tasks`, solved by bisection on the same formula). NaN when even ``delta = discordance``,
    the largest difference the discordance allows, needs more tasks."""
    _check_design(discordance, alpha, power)
    if n_tasks <= 0:
        raise UserError(f"n_tasks must be positive, got {n_tasks}")
    z_a, z_b = NormalDist().inv_cdf(1 - alpha / 2), NormalDist().inv_cdf(power)

    def needed(d: float) -> float:
        return (z_a * math.sqrt(discordance) + z_b * math.sqrt(max(0.0, discordance - d * d))) ** 2 / (d * d)

    if needed(discordance) > n_tasks:
        return float("nan")
    lo, hi = 1e-9, discordance
    for _ in range(200):
        mid = (lo + hi) / 2
        if needed(mid) > n_tasks:
            lo = mid
        else:
            hi = mid
    return hi
