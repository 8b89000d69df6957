"""Calculator suite: exact arithmetic through a whitelist AST walker, units, percentages, statistics."""

from __future__ import annotations

import statistics
from fractions import Fraction
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tools.calculator import CalculatorEnvironment


@pytest.fixture
def env() -> CalculatorEnvironment:
    return CalculatorEnvironment()


def ok(env, name, **args):
    result = env.call(name, args)
    assert not result.is_error, result.content
    return result.structured


def err(env, name, **args) -> str:
    result = env.call(name, args)
    assert result.is_error, result.content
    return result.content


def test_decimal_arithmetic_is_exact(env):
    out = ok(env, "calculate", expression="0.1 + 0.2")
    assert out["result"] == "0.3" and out["exact"] and out["fraction"] == "3/10"
    assert ok(env, "calculate", expression="1.1 * 1.1")["result"] == "1.21"


def test_non_terminating_results_give_digits_and_the_exact_fraction(env):
    out = ok(env, "calculate", expression="1/3")
    assert out["result"] == "0.333333333333333" and not out["exact"] and out["fraction"] == "1/3"


def test_precedence_unary_minus_floor_division_modulo_and_powers(env):
    assert ok(env, "calculate", expression="2 + 3 * 4 ** 2")["result"] == "50"
    assert ok(env, "calculate", expression="-(7 // 2) + 7 % 3")["result"] == "-2"
    assert ok(env, "calculate", expression="2 ** -2")["result"] == "0.25"
    assert ok(env, "calculate", expression="(1200 - 950) / 950 * 100")["fraction"] == "500/19"


def test_functions_and_constants(env):
    assert ok(env, "calculate", expression="sqrt(16) + abs(-2) + max(1, 5, 3)")["result"] == "11"
    root = ok(env, "calculate", expression="sqrt(2)")
    assert root["result"].startswith("1.41421356237") and not root["exact"] and root["fraction"] is None
    # the decimal 2.675 exactly, not the float just below it (which rounds to 2.67)
    assert ok(env, "calculate", expression="round(2.675, 2)")["result"] == "2.68"
    assert ok(env, "calculate", expression="floor(-2.5) + ceil(2.1)")["result"] == "0"
    assert not ok(env, "calculate", expression="2 * pi")["exact"]


def test_nothing_outside_the_whitelist_runs(env, tmp_path: Path):
    marker = tmp_path / "pwned"
    attacks = [
        f"__import__('os').system('touch {marker}')",
        "().__class__.__bases__[0].__subclasses__()",
        "(lambda: 1)()",
        "[x for x in range(10)]",
        "open('/etc/passwd')",
        "x",
    ]
    for expression in attacks:
        message = err(env, "calculate", expression=expression)
        assert "allowed" in message or "unknown" in message, message
    assert not marker.exists()


def test_errors_say_what_to_write_instead(env):
    assert "write ** for powers" in err(env, "calculate", expression="2 ^ 10")
    assert "write 1000000, not 1,000,000" in err(env, "calculate", expression="1,000,000")
    assert "division by zero" in err(env, "calculate", expression="5 / (3 - 3)")
    assert "syntax error" in err(env, "calculate", expression="(1 + 2")
    assert "empty" in err(env, "calculate", expression="  ")
    assert "not real" in err(env, "calculate", expression="(-8) ** 0.5")


def test_sizes_are_bounded(env):
    assert "too large" in err(env, "calculate", expression="9 ** 9 ** 9")
    assert "digits" in err(env, "calculate", expression="7 ** 5000")
    assert "limit is 500" in err(env, "calculate", expression="1+" * 300 + "1")
    assert "parts" in err(env, "calculate", expression="+".join(["1"] * 200))
    # fractional exponents are sized before Decimal computes them (it overflowed, or built a 4,300-digit number)
    assert "more than 1000 digits" in err(env, "calculate", expression="10 ** 5000.5")
    assert "more than 1000 digits" in err(env, "calculate", expression="10 ** 2000000.5")
    assert "division by zero" in err(env, "calculate", expression="0 ** -0.5")


def test_unit_conversion_is_exact_for_defined_factors(env):
    out = ok(env, "convert_units", value=1, from_unit="mi", to_unit="km")
    assert out["result"] == "1.609344" and out["exact"] and out["dimension"] == "length"
    assert ok(env, "convert_units", value=185, from_unit="pounds", to_unit="kg")["result"] == "83.91458845"
    assert ok(env, "convert_units", value=1, from_unit="GiB", to_unit="MB")["result"] == "1073.741824"
    assert ok(env, "convert_units", value=1, from_unit="gallon", to_unit="l")["result"] == "3.785411784"
    assert ok(env, "convert_units", value=90, from_unit="minutes", to_unit="h")["value"] == 1.5


def test_temperature_uses_offsets(env):
    assert ok(env, "convert_units", value=100, from_unit="C", to_unit="F")["value"] == 212
    assert ok(env, "convert_units", value=-40, from_unit="fahrenheit", to_unit="celsius")["value"] == -40
    assert ok(env, "convert_units", value=0, from_unit="K", to_unit="C")["result"] == "-273.15"
    assert "below absolute zero" in err(env, "convert_units", value=-300, from_unit="C", to_unit="K")


def test_unit_symbols_are_case_sensitive_only_where_it_matters(env):
    assert ok(env, "convert_units", value=1, from_unit="Mbit", to_unit="kB")["result"] == "125"
    assert ok(env, "convert_units", value=1, from_unit="MB", to_unit="kB")["result"] == "1000"
    assert ok(env, "convert_units", value=2, from_unit="Kilometers", to_unit="M")["result"] == "2000"


def test_unknown_and_incompatible_units_name_what_is_allowed(env):
    unknown = err(env, "convert_units", value=3, from_unit="furlongs", to_unit="m")
    assert "unknown unit 'furlongs'" in unknown
    assert "length: nm, um, mm" in unknown and "temperature: C, F, K" in unknown
    mixed = err(env, "convert_units", value=3, from_unit="kg", to_unit="km")
    assert "cannot convert mass (kg) to length (km)" in mixed and "mass units: mg, g, kg" in mixed


def test_percentage_change(env):
    up = ok(env, "percentage_change", old_value=80, new_value=100)
    assert up == {"old_value": 80, "new_value": 100, "absolute_change": 20, "percent_change": 25.0,
                  "direction": "increase"}  # fmt: skip
    down = ok(env, "percentage_change", old_value=3, new_value=1, decimals=3)
    assert down["percent_change"] == -66.667 and down["direction"] == "decrease"
    assert ok(env, "percentage_change", old_value=-50, new_value=-25)["percent_change"] == 50.0
    assert "old_value is 0" in err(env, "percentage_change", old_value=0, new_value=5)
    too_precise = err(env, "percentage_change", old_value=1, new_value=2, decimals=11)
    assert "decimals must be between 0 and 10" in too_precise


def test_statistics_match_the_standard_library(env):
    data = [120, 135, 128, 410, 131, 126, 133]
    out = ok(env, "statistics", values=data, measures=["mean", "median", "stdev", "pstdev", "range", "sum"])
    m = out["measures"]
    assert m["mean"] == pytest.approx(statistics.mean(data)) and m["median"] == 131
    assert m["stdev"] == pytest.approx(statistics.stdev(data))
    assert m["pstdev"] == pytest.approx(statistics.pstdev(data))
    assert m["range"] == 290 and m["sum"] == 1183 and out["count"] == 7
    assert ok(env, "statistics", values=[0.1, 0.2])["measures"]["mean"] == 0.15
    assert ok(env, "statistics", values=[1, 2, 2, 3, 3], measures=["mode"])["measures"]["mode"] == [2, 3]
    assert set(ok(env, "statistics", values=[5])["measures"]) == {"count", "mean", "median", "min", "max"}


def test_statistics_reject_bad_input(env):
    assert "at least 2 values" in err(env, "statistics", values=[5], measures=["stdev"])
    assert "values is empty" in err(env, "statistics", values=[])
    bad = env.call("statistics", {"values": [1, 2], "measures": ["average"]})
    assert bad.is_error and bad.error_kind == "invalid_arguments" and '"mean"' in bad.content
    assert "limit is 10000" in err(env, "statistics", values=[1] * 10_001)


def test_rounding_modes(env):
    assert ok(env, "round_number", value=2.5, mode="half_even")["text"] == "2"
    assert ok(env, "round_number", value=2.5)["text"] == "3"
    assert ok(env, "round_number", value=2.675, decimals=2)["text"] == "2.68"
    assert ok(env, "round_number", value=-1.25, decimals=1, mode="down")["text"] == "-1.2"
    assert ok(env, "round_number", value=1234.5, decimals=-2)["value"] == 1200
    assert "between -10 and 15" in err(env, "round_number", value=1, decimals=40)


def test_the_calculator_is_stateless_and_deterministic(env):
    ok(env, "calculate", expression="1+1")
    assert env.snapshot() == {}
    again = CalculatorEnvironment()
    assert env.call("convert_units", {"value": 5, "from_unit": "km", "to_unit": "mi"}).content == \
        again.call("convert_units", {"value": 5, "from_unit": "km", "to_unit": "mi"}).content


_numbers = st.one_of(
    st.integers(-1000, 1000).map(lambda n: (str(n), Fraction(n))),
    st.decimals(min_value=-100, max_value=100, places=3, allow_nan=False, allow_infinity=False).map(
        lambda d: (str(d), Fraction(d))
    ),
)


def _combine(children):
    def build(pair):
        (a_text, a), op, (b_text, b) = pair
        if op == "/" and b == 0:
            op = "*"
        value = {"+": a + b, "-": a - b, "*": a * b, "/": a / b if b else a * b}[op]
        return f"({a_text} {op} {b_text})", value

    return st.tuples(children, st.sampled_from("+-*/"), children).map(build)


@settings(max_examples=60, deadline=None)
@given(st.recursive(_numbers, _combine, max_leaves=8))
def test_random_expressions_evaluate_to_the_exact_rational_value(case):
    text, value = case
    out = CalculatorEnvironment().call("calculate", {"expression": text})
    assert not out.is_error, out.content
    expected = f"{value.numerator}/{value.denominator}" if value.denominator != 1 else None
    assert out.structured["fraction"] == expected
    if value.denominator == 1:
        assert out.structured["result"] == str(value.numerator)


def test_huge_literals_are_refused_from_their_text_without_building_them() -> None:
    from tools.calculator import create_environment

    env = create_environment()
    for expression in ("1e99999999", "1e5000", "1" + "0" * 400 + "e700"):
        result = env.call("calculate", {"expression": expression})
        assert result.is_error and "digits" in result.content, expression
    assert env.call("calculate", {"expression": "2.5e3 * 2"}).content.count("5000") >= 1
