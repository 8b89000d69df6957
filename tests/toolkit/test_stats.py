"""Statistics against numbers worked by hand (each expected value's arithmetic is in the comment above it)."""

from __future__ import annotations

import math

import pytest

from toolkit.errors import UserError
from toolkit.stats import (
    binomial_test,
    bootstrap_interval,
    holm_adjust,
    mcnemar_exact,
    mcnemar_test,
    newcombe_paired_interval,
    minimum_detectable_difference,
    paired_difference,
    required_tasks,
    sign_test,
    wilson_interval,
)


def test_exact_mcnemar_with_one_against_nine_discordant_pairs() -> None:
    # n = 10 discordant; P(X <= 1) = (C(10,0) + C(10,1)) / 2^10 = 11/1024; two-sided: 22/1024 = 0.021484375
    assert mcnemar_exact(1, 9) == 0.021484375
    assert mcnemar_exact(9, 1) == 0.021484375


def test_exact_mcnemar_edge_cases() -> None:
    # 0 vs 6: 2 * 1/64 = 0.03125; balanced counts cap at 1; no discordant pairs means no evidence.
    assert mcnemar_exact(0, 6) == 0.03125
    assert mcnemar_exact(5, 5) == 1.0
    assert mcnemar_exact(0, 0) == 1.0


def test_mcnemar_test_counts_discordant_pairs_from_paired_outcomes() -> None:
    a = {"t1": True, "t2": True, "t3": False, "t4": False, "t5": True}
    b = {"t1": True, "t2": False, "t3": True, "t4": False, "t5": False}
    result = mcnemar_test(a, b)
    # only A: t2, t5; only B: t3 -> b=2, c=1, n=3: 2 * (C(3,0)+C(3,1)) / 8 = 1 (capped)
    assert (result.b, result.c, result.n_discordant, result.n_tasks) == (2, 1, 3, 5)
    assert result.p_value == 1.0
    with pytest.raises(UserError, match="same tasks"):
        mcnemar_test({"t1": True}, {"t2": True})


def test_binomial_test_sums_outcomes_no_more_likely_than_the_observed_one() -> None:
    # n=3, p=0.2: P = 0.512, 0.384, 0.096, 0.008. Observing 2: 0.096 + 0.008 = 0.104.
    assert binomial_test(2, 3, 0.2) == pytest.approx(0.104, abs=1e-12)
    # Observing 0 (the most likely outcome): every outcome counts, p = 1.
    assert binomial_test(0, 3, 0.2) == pytest.approx(1.0)
    # p = 1/2 equals the doubled tail: 2 successes of 10 -> 2 * (1 + 10 + 45)/1024 = 0.109375
    assert binomial_test(2, 10) == 0.109375 == mcnemar_exact(2, 8)


def test_sign_test_reproduces_the_bfcl_all_python_vs_all_json_count() -> None:
    # 26 vs 11 models (evaluation.md §4.3, "p≈0.02"): 2 * sum_{i<=11} C(37,i) / 2^37
    expected = 2 * sum(math.comb(37, i) for i in range(12)) / 2**37
    assert sign_test(26, 11) == pytest.approx(expected, rel=1e-12)
    assert sign_test(26, 11) == pytest.approx(0.0201, abs=1e-4)


def test_holm_adjusted_p_values_keep_input_order_and_monotonicity() -> None:
    # sorted 0.01, 0.03, 0.04 -> 3*0.01 = 0.03; 2*0.03 = 0.06; max(0.06, 1*0.04) = 0.06
    assert holm_adjust([0.01, 0.04, 0.03]) == pytest.approx([0.03, 0.06, 0.06])
    assert holm_adjust([0.5, 0.9]) == pytest.approx([1.0, 1.0])


def test_wilson_interval_matches_the_hand_computed_bounds() -> None:
    # 61/82, z = 1.95996: denom = 1 + z^2/82 = 1.046848; center = (0.743902 + 0.023424)/denom = 0.732997;
    # half = z * sqrt(0.743902*0.256098/82 + z^2/(4*82^2)) / denom = 0.092965 -> [0.6400, 0.8260]
    ci = wilson_interval(61, 82)
    assert (ci.low, ci.high) == (pytest.approx(0.64001, abs=1e-5), pytest.approx(0.82596, abs=1e-5))
    # 0/10: center = half = (z^2/20)/(1 + z^2/10) = 0.138766 -> [0, 0.27753]
    zero = wilson_interval(0, 10)
    assert zero.low == 0.0 and zero.high == pytest.approx(0.27753, abs=1e-5)
    assert wilson_interval(10, 10).high == 1.0


def test_wilson_rejects_impossible_counts() -> None:
    with pytest.raises(UserError):
        wilson_interval(5, 3)


def test_required_tasks_reproduces_the_mcnemar_sample_size_table() -> None:
    # psi = 0.15, z_a = 1.959964, z_b = 0.841621, delta = 0.10:
    # (1.959964*sqrt(0.15) + 0.841621*sqrt(0.14))^2 / 0.01 = (0.759091 + 0.314901)^2 / 0.01 = 115.35 -> 116
    assert required_tasks(0.10) == 116
    # delta = 0.05: (0.759091 + 0.841621*sqrt(0.1475))^2 / 0.0025 = 468.57 -> 469
    assert required_tasks(0.05) == 469
    assert required_tasks(-0.05) == 469
    with pytest.raises(UserError, match="discordance"):
        required_tasks(0.2, discordance=0.15)


def test_minimum_detectable_difference_inverts_the_sample_size_formula() -> None:
    # 115.35 tasks detect exactly 10 pp, so 116 detect slightly less; 469 detect just under 5 pp.
    assert minimum_detectable_difference(116) == pytest.approx(0.0997, abs=1e-4)
    assert minimum_detectable_difference(469) == pytest.approx(0.04998, abs=1e-4)
    for n in (50, 200, 1000):
        assert required_tasks(minimum_detectable_difference(n)) <= n
    # Two tasks cannot resolve any difference the 15% discordance allows.
    assert math.isnan(minimum_detectable_difference(2))


def test_paired_bootstrap_standard_error_matches_the_analytic_value() -> None:
    # 100 tasks: 30 with diff +1, 10 with -1, 60 with 0 -> mean 0.2, population variance 0.4 - 0.04 = 0.36,
    # standard error sqrt(0.36/100) = 0.06, so the 95% interval is about 0.2 +- 0.118.
    a = {i: 1.0 if i < 30 else 0.0 for i in range(100)}
    b = {i: 1.0 if 30 <= i < 40 else 0.0 for i in range(100)}
    d = paired_difference(a, b, n_resamples=20_000, seed=1)
    assert d.estimate == pytest.approx(0.2)
    assert d.standard_error == pytest.approx(0.06, abs=0.002)
    assert d.low == pytest.approx(0.082, abs=0.015) and d.high == pytest.approx(0.318, abs=0.015)
    assert d.excludes_zero and d.n_clusters == 100


def test_clustered_bootstrap_widens_the_interval_when_tasks_of_a_tool_move_together() -> None:
    # 10 tools x 10 tasks; arm A wins every task of tools 0-2 and nothing else differs. Tool means are
    # 1,1,1,0,...,0: their variance is 0.21, so the clustered standard error is sqrt(0.21/10) = 0.1449,
    # against sqrt(0.21/100) = 0.0458 when the 100 tasks are (wrongly) treated as independent.
    a = {i: 1.0 if i < 30 else 0.0 for i in range(100)}
    b = {i: 0.0 for i in range(100)}
    tools = {i: f"tool{i // 10}" for i in range(100)}
    clustered = paired_difference(a, b, clusters=tools, n_resamples=20_000, seed=0)
    naive = paired_difference(a, b, n_resamples=20_000, seed=0)
    assert clustered.n_clusters == 10
    assert clustered.standard_error == pytest.approx(0.1449, abs=0.006)
    assert naive.standard_error == pytest.approx(0.0458, abs=0.003)
    assert clustered.low <= 0.0 < naive.low


def test_paired_bootstrap_is_reproducible_from_its_seed() -> None:
    a = {f"t{i}": float(i % 3 == 0) for i in range(40)}
    b = {f"t{i}": float(i % 4 == 0) for i in range(40)}
    tools = {f"t{i}": i % 5 for i in range(40)}
    first = paired_difference(a, b, clusters=tools, n_resamples=2000, seed=7)
    again = paired_difference(a, b, clusters=tools, n_resamples=2000, seed=7)
    other = paired_difference(a, b, clusters=tools, n_resamples=2000, seed=8)
    assert first == again
    assert (first.low, first.high, first.standard_error) != (other.low, other.high, other.standard_error)


def test_constant_differences_give_a_zero_width_interval() -> None:
    d = paired_difference({1: 1.0, 2: 1.0, 3: 1.0}, {1: 0.5, 2: 0.5, 3: 0.5}, n_resamples=500)
    assert (d.estimate, d.low, d.high) == (0.5, 0.5, 0.5)


def test_paired_difference_refuses_unpaired_tasks_or_tasks_without_a_tool() -> None:
    with pytest.raises(UserError, match="unpaired"):
        paired_difference({1: 1.0, 2: 0.0}, {1: 1.0}, n_resamples=500)
    with pytest.raises(UserError, match="no cluster"):
        paired_difference({1: 1.0, 2: 0.0}, {1: 1.0, 2: 1.0}, clusters={1: "a"}, n_resamples=500)


def test_bootstrap_interval_for_one_arm_accuracy_brackets_the_mean() -> None:
    values = [1.0] * 70 + [0.0] * 30
    ci = bootstrap_interval(values, n_resamples=5000, seed=3)
    # standard error sqrt(0.7*0.3/100) = 0.0458 -> roughly [0.61, 0.79]
    assert ci.estimate == pytest.approx(0.7)
    assert ci.low == pytest.approx(0.61, abs=0.02) and ci.high == pytest.approx(0.79, abs=0.02)
    with pytest.raises(UserError, match="one cluster id per value"):
        bootstrap_interval(values, clusters=[0, 1], n_resamples=500)


def test_newcombe_paired_interval_matches_the_hand_computed_bounds() -> None:
    # r=12 both right, s=9 only A, t=2 only B, u=21 neither; n=44.
    # p1 = 21/44 = 0.477273, p2 = 14/44 = 0.318182, difference 7/44 = 0.159091.
    # Wilson: 21/44 -> [0.337550, 0.620645]; 14/44 -> [0.199993, 0.465569].
    # ru - st = 252 - 18 = 234 > n/2 = 22, so C = 212; margins (r+s)(t+u)(r+t)(s+u) = 21*23*14*30 = 202860;
    # phi = 212 / sqrt(202860) = 0.470693.
    # low:  p1-l1 = 0.139723, u2-p2 = 0.147387; 0.019522 - 0.019386 + 0.021723 = 0.021859; sqrt 0.147848
    #       -> 0.159091 - 0.147848 = 0.011243
    # high: p2-l2 = 0.118189, u1-p1 = 0.143372; 0.013969 - 0.015952 + 0.020556 = 0.018573; sqrt 0.136283
    #       -> 0.159091 + 0.136283 = 0.295374 (0.295372 before rounding the intermediates)
    outcomes = [(True, True)] * 12 + [(True, False)] * 9 + [(False, True)] * 2 + [(False, False)] * 21
    a = {i: x for i, (x, _) in enumerate(outcomes)}
    b = {i: y for i, (_, y) in enumerate(outcomes)}
    ci = newcombe_paired_interval(a, b)
    assert ci.estimate == pytest.approx(7 / 44)
    assert (ci.low, ci.high) == (pytest.approx(0.011243, abs=1e-6), pytest.approx(0.295372, abs=1e-6))
    swapped = newcombe_paired_interval(b, a)
    assert (swapped.low, swapped.high) == (pytest.approx(-ci.high), pytest.approx(-ci.low))
