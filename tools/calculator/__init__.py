"""Calculator suite: exact arithmetic, unit conversion, percentage change, descriptive statistics and
rounding.

Every tool is deterministic and exact where the maths allows (fractions, not binary floats): ``0.1 + 0.2`` is
``0.3``. Expressions are parsed with :mod:`ast` and walked by a whitelist evaluator, never ``eval``'d. The
suite is stateless (its snapshot is empty), so tasks are graded on calls and answer facts.

``toolgym tools py:tools.calculator`` lists the tools.
"""

from __future__ import annotations

import statistics as _stats
from decimal import ROUND_CEILING, ROUND_DOWN, ROUND_FLOOR, ROUND_HALF_EVEN, ROUND_HALF_UP, ROUND_UP, Decimal
from fractions import Fraction
from typing import Any, Literal

from typing_extensions import TypedDict

from toolkit.environment import Environment
from toolkit.errors import ToolError
from toolkit.python_tools import PythonToolset, tool
from tools.calculator.evaluator import evaluate, format_number
from tools.calculator.units import DIMENSIONS, convert, lookup_unit

__all__ = ["CalculatorEnvironment", "create_environment", "create_toolset"]

Measure = Literal[
    "count", "sum", "mean", "median", "mode", "min", "max", "range",
    "variance", "stdev", "pvariance", "pstdev",
]  # fmt: skip
RoundingMode = Literal["half_up", "half_even", "up", "down", "ceiling", "floor"]
_MODES = {"half_up": ROUND_HALF_UP, "half_even": ROUND_HALF_EVEN, "up": ROUND_UP, "down": ROUND_DOWN,
          "ceiling": ROUND_CEILING, "floor": ROUND_FLOOR}  # fmt: skip
MAX_VALUES = 10_000
_MAX_MAGNITUDE = Fraction(10) ** 300


class CalculationResult(TypedDict):
    expression: str
    result: str
    value: float
    exact: bool
    fraction: str | None


class Conversion(TypedDict):
    value: float
    result: str
    exact: bool
    from_unit: str
    to_unit: str
    dimension: str


class PercentageChange(TypedDict):
    old_value: float
    new_value: float
    absolute_change: float
    percent_change: float
    direction: Literal["increase", "decrease", "unchanged"]


class StatisticsResult(TypedDict):
    count: int
    measures: dict[str, float | list[float]]


class RoundedNumber(TypedDict):
    value: float
    text: str


def _number(x: float | int, name: str) -> Fraction:
    if isinstance(x, float) and (x != x or x in (float("inf"), float("-inf"))):
        raise ToolError(f"{name} must be a finite number, got {x}")
    value = Fraction(str(x)) if isinstance(x, float) else Fraction(x)  # str(): 0.1 stays one tenth
    if abs(value) > _MAX_MAGNITUDE:
        raise ToolError(f"{name} is too large (the limit is 1e300)")
    return value


def _fraction_text(x: Fraction) -> str | None:
    return None if x.denominator == 1 else f"{x.numerator}/{x.denominator}"


def _float(x: Fraction) -> float:
    try:
        return float(x)
    except OverflowError:
        message = "the result is too large to return as a number (beyond 1e308); use smaller inputs"
        raise ToolError(message) from None


class CalculatorEnvironment(Environment):
    """Stateless calculator tools (the snapshot is always empty)."""

    suite = "calculator"

    def _build_state(self, seed: int, setup: dict[str, Any]) -> None:
        pass

    def snapshot(self) -> dict[str, Any]:
        return {}

    def state_tables(self) -> dict[str, list[dict[str, Any]]]:
        units = [{"id": sym, "dimension": dim} for dim, table in DIMENSIONS.items() for sym in table]
        return {"units": units}

    @tool
    def calculate(self, expression: str) -> CalculationResult:
        """Evaluate an arithmetic expression exactly.

        Supports numbers, + - * / // % ** and parentheses, the functions abs, round (half away from zero),
        min, max, sqrt, floor and ceil, and the constants pi and e. Decimal inputs are exact (0.1 + 0.2 =
        0.3); results that do not end are given to 15 significant digits along with the exact fraction.

        Args:
            expression: The expression, e.g. "(1200 - 950) / 950 * 100" (at most 500 characters).
        """
        value = evaluate(expression)
        text, exact = format_number(value.number)
        return {
            "expression": " ".join(expression.split()),
            "result": text,
            "value": _float(value.number),
            "exact": exact and value.exact,
            "fraction": _fraction_text(value.number) if value.exact else None,
        }

    @tool
    def convert_units(self, value: float, from_unit: str, to_unit: str) -> Conversion:
        """Convert a quantity between units of the same dimension.

        Dimensions: length (nm, um, mm, cm, m, km, in, ft, yd, mi, nmi), mass (mg, g, kg, t, oz, lb, st),
        time (ns, us, ms, s, min, h, day, week), data (bit, kbit, Mbit, Gbit, B, kB, MB, GB, TB, PB, KiB, MiB,
        GiB, TiB), volume (ml, cl, l, m3, tsp, tbsp, fl_oz, cup, pt, qt, gal; US customary), speed (m/s, km/h,
        mph, kn, ft/s) and temperature (C, F, K). Full names such as "kilometers" or "fahrenheit" work too.

        Args:
            value: The quantity to convert.
            from_unit: Unit of the value, e.g. "km".
            to_unit: Unit to convert to, e.g. "mi".
        """
        source, target = lookup_unit(from_unit), lookup_unit(to_unit)
        result = convert(_number(value, "value"), source, target)
        text, exact = format_number(result, significant=12)
        return {"value": float(text), "result": text, "exact": exact, "from_unit": source[1],
                "to_unit": target[1], "dimension": source[0]}  # fmt: skip

    @tool
    def percentage_change(self, old_value: float, new_value: float, decimals: int = 2) -> PercentageChange:
        """Percentage change from an old value to a new one: (new - old) / |old| * 100.

        Args:
            old_value: The starting value (must not be 0).
            new_value: The new value.
            decimals: Decimal places of the percentage (0 to 10).
        """
        if not 0 <= decimals <= 10:
            raise ToolError(f"decimals must be between 0 and 10, got {decimals}")
        old, new = _number(old_value, "old_value"), _number(new_value, "new_value")
        if old == 0:
            raise ToolError(
                "old_value is 0, so the percentage change is undefined; give a non-zero starting value"
            )
        pct = (new - old) / abs(old) * 100
        rounded = Decimal(pct.numerator) / Decimal(pct.denominator)
        rounded = rounded.quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_HALF_UP)
        direction: Literal["increase", "decrease", "unchanged"] = (
            "increase" if new > old else "decrease" if new < old else "unchanged"
        )
        return {"old_value": float(old), "new_value": float(new), "absolute_change": float(new - old),
                "percent_change": float(rounded), "direction": direction}  # fmt: skip

    @tool
    def statistics(self, values: list[float], measures: list[Measure] | None = None) -> StatisticsResult:
        """Descriptive statistics of a list of numbers, computed exactly.

        Args:
            values: The numbers (1 to 10000 of them).
            measures: Which to compute: count, sum, mean, median, mode (every most common value), min, max,
                range, variance and stdev (sample, need 2+ values), pvariance and pstdev (population).
                Default: count, mean, median, min, max.
        """
        if not values:
            raise ToolError("values is empty; give at least one number")
        if len(values) > MAX_VALUES:
            raise ToolError(f"too many values ({len(values)}); the limit is {MAX_VALUES}")
        xs = [_number(v, f"values[{i}]") for i, v in enumerate(values)]
        wanted = list(dict.fromkeys(measures or ["count", "mean", "median", "min", "max"]))
        if len(xs) < 2 and {"variance", "stdev"} & set(wanted):
            raise ToolError(
                "sample variance and stdev need at least 2 values; use pvariance/pstdev for one value"
            )
        out: dict[str, float | list[float]] = {}
        for m in wanted:
            if m == "count":
                out[m] = len(xs)
            elif m == "sum":
                out[m] = float(sum(xs))
            elif m == "mean":
                out[m] = float(_stats.mean(xs))
            elif m == "median":
                out[m] = float(_stats.median(xs))
            elif m == "mode":
                out[m] = sorted(float(x) for x in _stats.multimode(xs))
            elif m in ("min", "max"):
                out[m] = float(min(xs) if m == "min" else max(xs))
            elif m == "range":
                out[m] = float(max(xs) - min(xs))
            else:
                var = _stats.variance(xs) if m in ("variance", "stdev") else _stats.pvariance(xs)
                if m in ("variance", "pvariance"):
                    out[m] = float(var)
                else:
                    out[m] = float((Decimal(var.numerator) / Decimal(var.denominator)).sqrt())
        return {"count": len(xs), "measures": out}

    @tool
    def round_number(self, value: float, decimals: int = 0, mode: RoundingMode = "half_up") -> RoundedNumber:
        """Round a number to a number of decimal places.

        Args:
            value: The number to round.
            decimals: Decimal places to keep (-10 to 15; negative rounds to tens, hundreds, ...).
            mode: half_up (2.5 -> 3), half_even (banker's: 2.5 -> 2), up (away from zero), down (toward zero),
                ceiling or floor.
        """
        if not -10 <= decimals <= 15:
            raise ToolError(f"decimals must be between -10 and 15, got {decimals}")
        x = _number(value, "value")
        exact = Decimal(x.numerator) / Decimal(x.denominator)
        d = exact.quantize(Decimal(1).scaleb(-decimals), rounding=_MODES[mode])
        text = f"{d:f}" if decimals >= 0 else f"{int(d):d}"
        return {"value": float(d), "text": text}


def create_environment() -> CalculatorEnvironment:
    """A new calculator environment."""
    return CalculatorEnvironment()


def create_toolset() -> PythonToolset:
    """The calculator tools (``toolgym tools py:tools.calculator``)."""
    return create_environment().toolset()
