"""Metrics: hand-made cases for BFCL's AST rules, multi-call matching, abstention, schema validity and
pass@k/pass^k."""

from __future__ import annotations

import math
from typing import Any

import pytest

from toolkit.errors import UserError
from toolkit.metrics import (
    GoldCall,
    OneOf,
    abstention_scores,
    argument_scores,
    call_schema_problems,
    flip_rate,
    match_call,
    match_calls,
    mean_pass_at_k,
    mean_pass_hat_k,
    no_call_correct,
    pass_at_k,
    pass_hat_k,
    relevance_correct,
    schema_validity,
    standardize_string,
)
from toolkit.specs import ToolCall, ToolSpec

AREA = ToolSpec(
    name="triangle_area",
    description="Area of a triangle.",
    input_schema={
        "type": "object",
        "properties": {
            "base": {"type": "number"},
            "height": {"type": "integer"},
            "unit": {"type": "string", "default": "units"},
        },
        "required": ["base", "height"],
    },
)

BOOK = ToolSpec(
    name="book_trip",
    input_schema={
        "type": "object",
        "properties": {
            "city": {"type": "string"},
            "stops": {"type": "array", "items": {"type": "string"}},
            "options": {
                "type": "object",
                "properties": {"seat": {"type": "string"}, "bags": {"type": "integer"}},
            },
            "legs": {"type": "array", "items": {"type": "array", "items": {"type": "integer"}}},
            "note": {"type": "string"},
        },
        "required": ["city"],
    },
)

WEATHER = ToolSpec(
    name="get_weather",
    input_schema={"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
)


def call(name: str, **arguments: object) -> ToolCall:
    return ToolCall(name=name, arguments=dict(arguments))


def area(**arguments: object) -> ToolCall:
    return call("triangle_area", **arguments)


def trip(**arguments: object) -> ToolCall:
    return call("book_trip", **arguments)


def weather(**arguments: object) -> ToolCall:
    return call("get_weather", **arguments)


# ---- single-call AST rules ---------------------------------------------------------------------------------


def test_identical_call_matches_with_no_reasons() -> None:
    result = match_call(area(base=10, height=5), area(base=10, height=5), AREA)
    assert result.matched and result.reasons == ()


def test_wrong_tool_name_fails_with_wrong_name_reason() -> None:
    result = match_call(weather(city="Paris"), area(base=10, height=5), AREA)
    assert not result.matched
    assert result.codes == ("wrong_name",)


def test_integer_is_accepted_for_a_number_parameter() -> None:
    assert match_call(area(base=10, height=5), area(base=10.0, height=5), AREA).matched


def test_float_is_rejected_for_an_integer_parameter_even_when_integral() -> None:
    result = match_call(area(base=10, height=5.0), area(base=10, height=5), AREA)
    assert result.codes == ("type_error",)
    assert "'height'" in result.reasons[0]


def test_string_digits_are_not_coerced_to_numbers() -> None:
    result = match_call(area(base="10", height=5), area(base=10, height=5), AREA)
    assert result.codes == ("type_error",)


def test_bool_is_not_a_number() -> None:
    result = match_call(area(base=True, height=5), area(base=1, height=5), AREA)
    assert result.codes == ("type_error",)


def test_lenient_mode_ignores_case_spaces_and_bfcl_punctuation_in_strings() -> None:
    assert standardize_string("New York, N.Y.") == "newyorkny"
    gold = weather(city="new york ny")
    assert match_call(weather(city="New-York, N.Y."), gold, WEATHER).matched
    assert match_call(weather(city="It's"), weather(city='it"s'), WEATHER).matched


def test_strict_mode_compares_strings_exactly() -> None:
    gold = weather(city="Paris")
    assert match_call(weather(city="Paris"), gold, WEATHER, strict=True).matched
    result = match_call(weather(city="paris"), gold, WEATHER, strict=True)
    assert result.codes == ("value_mismatch",)


def test_strict_mode_still_treats_integral_float_and_int_as_one_json_number() -> None:
    gold = area(base=10.0, height=5)
    assert match_call(area(base=10, height=5), gold, AREA, strict=True).matched


def test_missing_required_parameter_fails() -> None:
    result = match_call(area(base=10), area(base=10, height=5), AREA)
    assert result.codes == ("missing_required",)


def test_parameter_outside_the_schema_fails_as_unexpected() -> None:
    result = match_call(
        area(base=10, height=5, colour="red"), area(base=10, height=5), AREA
    )
    assert result.codes == ("unexpected_param",)
    assert "not a parameter" in result.reasons[0]


def test_schema_parameter_absent_from_gold_fails_as_unexpected() -> None:
    result = match_call(trip(city="Rome", note="hi"), trip(city="Rome"), BOOK)
    assert result.codes == ("unexpected_param",)
    assert "not in the gold call" in result.reasons[0]


def test_optional_parameter_equal_to_its_default_may_be_omitted_or_given() -> None:
    gold = area(base=10, height=5, unit="units")
    assert match_call(area(base=10, height=5), gold, AREA).matched
    # and the other way round: gold omits it, the prediction spells out the default
    assert match_call(
        area(base=10, height=5, unit="units"), area(base=10, height=5), AREA
    ).matched


def test_optional_parameter_with_a_non_default_gold_value_may_not_be_omitted() -> None:
    gold = area(base=10, height=5, unit="cm")
    result = match_call(area(base=10, height=5), gold, AREA)
    assert result.codes == ("missing_param",)


def test_explicit_non_default_value_for_an_omitted_optional_parameter_fails() -> None:
    result = match_call(
        area(base=10, height=5, unit="cm"), area(base=10, height=5), AREA
    )
    assert result.codes == ("value_mismatch",)


def test_bfcl_possible_answer_lists_accept_any_listed_value_and_empty_string_means_omittable() -> None:
    gold = GoldCall.from_bfcl({"triangle_area": {"base": [10], "height": [5], "unit": ["units", "cm", ""]}})
    assert gold.arguments["unit"] == OneOf("units", "cm", omittable=True)
    for unit in ("units", "CM"):
        assert match_call(area(base=10, height=5, unit=unit), gold, AREA).matched
    assert match_call(area(base=10, height=5), gold, AREA).matched
    result = match_call(area(base=10, height=5, unit="m"), gold, AREA)
    assert result.codes == ("value_mismatch",) and "not among the allowed values" in result.reasons[0]


def test_bfcl_answer_without_empty_string_requires_an_optional_parameter() -> None:
    gold = GoldCall.from_bfcl({"triangle_area": {"base": [10], "height": [5], "unit": ["units"]}})
    assert match_call(area(base=10, height=5), gold, AREA).codes == ("missing_param",)


def test_lists_match_element_by_element_in_order_with_string_normalisation() -> None:
    gold = trip(city="Rome", stops=["Pisa", "San Marino"])
    assert match_call(trip(city="rome", stops=["pisa", "san-marino"]), gold, BOOK).matched
    swapped = match_call(trip(city="Rome", stops=["San Marino", "Pisa"]), gold, BOOK)
    assert swapped.codes == ("value_mismatch",)
    shorter = match_call(trip(city="Rome", stops=["Pisa"]), gold, BOOK)
    assert "expected 2 items, got 1" in shorter.reasons[0]


def test_nested_dicts_match_key_by_key_and_reject_extra_or_missing_keys() -> None:
    gold = trip(city="Rome", options={"seat": "aisle", "bags": 2})
    assert match_call(trip(city="Rome", options={"bags": 2, "seat": "Aisle"}), gold, BOOK).matched
    extra = match_call(trip(city="Rome", options={"seat": "aisle", "bags": 2, "x": 1}), gold, BOOK)
    assert extra.codes == ("value_mismatch",) and "unexpected key" in extra.reasons[0]
    missing = match_call(trip(city="Rome", options={"seat": "aisle"}), gold, BOOK)
    assert "options.bags: missing key" in missing.reasons[0]


def test_nested_values_are_type_checked_recursively() -> None:
    gold = trip(city="Rome", options={"seat": "aisle", "bags": 2}, legs=[[1, 2], [3]])
    bad_bags = match_call(trip(city="Rome", options={"seat": "aisle", "bags": 2.0}, legs=[[1, 2], [3]]),
                          gold, BOOK)
    assert bad_bags.codes == ("type_error",) and "'bags'" in bad_bags.reasons[0]
    bad_leg = match_call(trip(city="Rome", options={"seat": "aisle", "bags": 2}, legs=[[1, "2"], [3]]),
                         gold, BOOK)
    assert bad_leg.codes == ("type_error",) and "item 0" in bad_leg.reasons[0]


def test_bfcl_dict_answers_carry_alternatives_per_key() -> None:
    gold = GoldCall.from_bfcl(
        {"book_trip": {"city": ["Rome"], "options": [{"seat": ["aisle", "window"], "bags": [2, ""]}]}}
    )
    assert match_call(trip(city="Rome", options={"seat": "window"}), gold, BOOK).matched
    assert not match_call(trip(city="Rome", options={"seat": "middle"}), gold, BOOK).matched


def test_all_problems_are_reported_together() -> None:
    result = match_call(area(height="5", colour="red"), area(base=1, height=5), AREA)
    assert sorted(result.codes) == ["missing_required", "type_error", "unexpected_param"]


def test_bfcl_variable_escape_hatch_accepts_the_gold_values_own_type() -> None:
    # The gold itself gives a string for an integer parameter (a variable name); a string prediction is then
    # allowed.
    gold = GoldCall.from_bfcl({"triangle_area": {"base": [10], "height": ["h"]}})
    assert match_call(area(base=10, height="h"), gold, AREA).matched


def test_without_a_spec_only_the_gold_constrains_parameters() -> None:
    gold = weather(city="Paris")
    assert match_call(weather(city="PARIS"), gold).matched
    assert match_call(weather(), gold).codes == ("missing_param",)
    assert match_call(weather(city="Paris", days=3), gold).codes == ("unexpected_param",)


def test_arguments_that_are_not_an_object_never_match() -> None:
    listed = ToolCall(name="get_weather", arguments=["Paris"])  # type: ignore[arg-type]
    result = match_call(listed, weather(), WEATHER)
    assert result.codes == ("type_error",) and "not an object" in result.reasons[0]


def test_a_spec_for_another_tool_is_a_user_error() -> None:
    with pytest.raises(UserError):
        match_call(weather(city="x"), weather(city="x"), AREA)


# ---- multi-call matching -----------------------------------------------------------------------------------


def test_parallel_calls_match_in_any_order() -> None:
    gold = [weather(city="Paris"), weather(city="Rome")]
    pred = [weather(city="Rome"), weather(city="Paris")]
    result = match_calls(pred, gold, [WEATHER])
    assert result.all_matched
    assert result.pairs == ((0, 1), (1, 0))
    assert (result.precision, result.recall, result.f1) == (1.0, 1.0, 1.0)


def test_bipartite_matching_finds_the_pairing_that_greedy_bfcl_misses() -> None:
    # gold 0 allows Paris or Rome, gold 1 only Paris. Greedy gives gold 0 the first prediction (Paris) and
    # leaves gold 1 without a partner; the maximum matching pairs gold 0 with Rome instead.
    gold = [
        GoldCall(name="get_weather", arguments={"city": OneOf("Paris", "Rome")}),
        GoldCall(name="get_weather", arguments={"city": OneOf("Paris")}),
    ]
    pred = [weather(city="Paris"), weather(city="Rome")]
    assert match_calls(pred, gold, [WEATHER]).all_matched
    greedy = match_calls(pred, gold, [WEATHER], method="greedy")
    assert not greedy.all_matched and greedy.matched == 1


def test_partial_parallel_match_gives_precision_recall_and_f1() -> None:
    gold = [weather(city="Paris"), weather(city="Rome"), weather(city="Oslo")]
    pred = [weather(city="Rome"), weather(city="Lima")]
    result = match_calls(pred, gold, [WEATHER])
    # 1 pair out of 2 predictions and 3 golds: P = 1/2, R = 1/3, F1 = 2*(1/2)(1/3)/(5/6) = 0.4
    assert result.matched == 1
    assert result.precision == pytest.approx(0.5)
    assert result.recall == pytest.approx(1 / 3)
    assert result.f1 == pytest.approx(0.4)
    assert not result.all_matched
    assert result.unmatched_pred == (1,)
    assert result.reasons[0] == "wrong_count: expected 3 call(s), got 2"
    assert 'gold call 0: value_mismatch: \'city\': expected "Paris", got "Lima"' in result.reasons


def test_extra_call_breaks_all_matched_but_keeps_full_recall() -> None:
    gold = [weather(city="Paris")]
    pred = [weather(city="Paris"), weather(city="Paris")]
    result = match_calls(pred, gold, [WEATHER])
    assert not result.all_matched
    assert (result.precision, result.recall) == (0.5, 1.0)


def test_multiple_tools_choose_the_spec_by_gold_name() -> None:
    gold = [area(base=3, height=4), weather(city="Paris")]
    pred = [weather(city="paris"), area(base=3.0, height=4)]
    assert match_calls(pred, gold, [AREA, WEATHER]).all_matched
    bad = match_calls([area(base=3, height=4.0)], gold[:1], [AREA, WEATHER])
    assert "type_error" in bad.reasons[0]


def test_no_predictions_and_no_gold_is_a_perfect_match() -> None:
    result = match_calls([], [], [WEATHER])
    assert result.all_matched and (result.precision, result.recall, result.f1) == (1.0, 1.0, 1.0)


def test_no_predictions_against_gold_scores_zero() -> None:
    result = match_calls([], [weather(city="Paris")], [WEATHER])
    assert (result.precision, result.recall, result.f1) == (0.0, 0.0, 0.0)
    assert "missing_call" in result.reasons[-1]


def test_gold_may_be_given_as_record_shaped_dicts() -> None:
    gold = [{"name": "get_weather", "arguments": {"city": "Paris"}}]
    assert match_calls([weather(city="Paris")], gold, [WEATHER]).all_matched


# ---- relevance / abstention --------------------------------------------------------------------------------


def test_format_failure_is_never_a_correct_no_call() -> None:
    assert no_call_correct(0, parse_error=False)
    assert not no_call_correct(0, parse_error=True)
    assert not no_call_correct(1, parse_error=False)
    assert relevance_correct(2, parse_error=False)
    assert not relevance_correct(1, parse_error=True)


def test_abstention_scores_count_format_failures_as_wrong() -> None:
    # Four no-call golds: one clean abstention, one call, two format failures; two call golds: one abstained
    # wrongly.
    gold_no_call = [True, True, True, True, False, False]
    n_calls = [0, 1, 0, 0, 0, 1]
    parse_error = [False, False, True, True, False, False]
    s = abstention_scores(gold_no_call, n_calls, parse_error)
    assert s.irrelevance_accuracy == pytest.approx(1 / 4)
    assert s.irrelevance_accuracy_format_ok == pytest.approx(1 / 2)
    assert s.abstention_precision == pytest.approx(1 / 2)  # two clean no-calls, one of them right
    assert s.format_failure_rate == pytest.approx(2 / 6)
    assert (s.n_pred_no_call, s.n_format_failures) == (2, 2)


def test_abstention_rates_without_denominator_are_nan() -> None:
    s = abstention_scores([False], [1], [False])
    assert math.isnan(s.irrelevance_accuracy) and math.isnan(s.abstention_precision)


# ---- schema validity ---------------------------------------------------------------------------------------


def test_schema_validity_counts_unknown_names_and_invalid_arguments() -> None:
    calls = [
        weather(city="Paris"),
        weather(),
        call("get_wether", city="Paris"),
        area(base=1, height=2),
    ]
    v = schema_validity(calls, [WEATHER, AREA])
    assert (v.n_calls, v.n_known_name, v.n_valid) == (4, 3, 2)
    assert v.valid_name_rate == pytest.approx(3 / 4)
    assert v.schema_compliance == pytest.approx(2 / 3)
    assert [i for i, _ in v.problems] == [1, 2]
    assert call_schema_problems(call("get_wether"), [WEATHER]) == ["unknown_tool: 'get_wether'"]
    assert "'city' is a required property" in call_schema_problems(weather(), [WEATHER])[0]


# ---- pass@k / pass^k ---------------------------------------------------------------------------------------


def test_pass_at_k_and_pass_hat_k_match_hand_computed_values() -> None:
    # n=4 trials, c=2 successes, k=2: C(4,2)=6 pairs; both succeed in 1 pair, neither in 1 pair.
    assert pass_hat_k(4, 2, 2) == pytest.approx(1 / 6)
    assert pass_at_k(4, 2, 2) == pytest.approx(5 / 6)
    assert pass_hat_k(4, 2, 1) == pytest.approx(0.5) == pass_at_k(4, 2, 1)
    assert pass_hat_k(5, 5, 3) == 1.0 and pass_at_k(5, 0, 3) == 0.0
    # n=5, c=3, k=2: pass^2 = C(3,2)/C(5,2) = 3/10; pass@2 = 1 - C(2,2)/C(5,2) = 9/10
    assert pass_hat_k(5, 3, 2) == pytest.approx(0.3)
    assert pass_at_k(5, 3, 2) == pytest.approx(0.9)


def test_task_means_and_flip_rate() -> None:
    trials = [(4, 4), (4, 2), (4, 0)]
    assert mean_pass_hat_k(trials, 2) == pytest.approx((1 + 1 / 6 + 0) / 3)
    assert mean_pass_at_k(trials, 2) == pytest.approx((1 + 5 / 6 + 0) / 3)
    assert flip_rate(trials) == pytest.approx(1 / 3)


def test_k_larger_than_the_trial_count_is_a_user_error() -> None:
    with pytest.raises(UserError, match="k=5"):
        pass_hat_k(4, 2, 5)
    with pytest.raises(UserError):
        pass_at_k(3, 4, 1)


# ---- properties --------------------------------------------------------------------------------------------

from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

_scalars = st.one_of(
    st.integers(-10**6, 10**6),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=12),
    st.booleans(),
    st.none(),
)
_values = st.recursive(
    _scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=8,
)
_calls = st.builds(
    lambda name, args: ToolCall(name=name, arguments=args),
    st.sampled_from(["f", "g"]), st.dictionaries(st.text(min_size=1, max_size=6), _values, max_size=4),
)


@settings(max_examples=150, deadline=None)
@given(_calls)
def test_every_call_matches_itself_in_both_modes(c: ToolCall) -> None:
    assert match_call(c, c).matched
    assert match_call(c, c, strict=True).matched


@settings(max_examples=100, deadline=None)
@given(st.lists(_calls, max_size=4), st.lists(_calls, max_size=4), st.randoms(use_true_random=False))
def test_multi_call_score_does_not_depend_on_prediction_order(pred: list[ToolCall], gold: list[ToolCall],
                                                              rnd: Any) -> None:
    shuffled = list(pred)
    rnd.shuffle(shuffled)
    a, b = match_calls(pred, gold), match_calls(shuffled, gold)
    assert (a.matched, a.all_matched) == (b.matched, b.all_matched)
    assert match_calls(gold, gold).all_matched


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=30))
def test_standardize_string_is_idempotent(text: str) -> None:
    assert standardize_string(standardize_string(text)) == standardize_string(text)


# ---- argument-level partial credit ----------------------------------------------------------------------


def test_argument_scores_give_partial_credit_per_parameter() -> None:
    gold = trip(city="Rome", stops=["Pisa"], note="window seat")
    pred = trip(city="rome", stops=["Siena"], options={"seat": "aisle"})
    s = argument_scores(pred, gold, BOOK)
    # city right (lenient), stops wrong, options extra, note missing:
    # precision = 1 correct / 3 given, recall = 1 correct / 3 needed (city, stops, note), F1 = 1/3
    assert (s.correct, s.wrong, s.extra, s.missing) == (("city",), ("stops",), ("options",), ("note",))
    assert (s.precision, s.recall, s.f1) == (pytest.approx(1 / 3), pytest.approx(1 / 3), pytest.approx(1 / 3))
    assert argument_scores(pred, gold, BOOK, strict=True).correct == ()


def test_argument_scores_follow_match_call_on_types_defaults_and_names() -> None:
    # height 5.0 for an integer is wrong; the default unit spelled out is not extra. Given: 3, correct: 2.
    # Needed: base and height (required) plus unit (omittable, but given) = 3 -> precision = recall = 2/3.
    s = argument_scores(area(base=10, height=5.0, unit="units"), area(base=10, height=5), AREA)
    assert (s.correct, s.wrong, s.extra, s.missing) == (("base", "unit"), ("height",), (), ())
    assert (s.precision, s.recall) == (pytest.approx(2 / 3), pytest.approx(2 / 3))
    wrong_tool = argument_scores(weather(city="Paris"), area(base=10, height=5), AREA)
    assert (wrong_tool.precision, wrong_tool.recall, wrong_tool.f1) == (0.0, 0.0, 0.0)
    assert argument_scores(weather(), weather()).f1 == 1.0
