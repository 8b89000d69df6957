"""Unit tables for :func:`convert_units`: exact factors (as fractions) to one base unit per dimension.

Definitions follow SI/NIST: the international inch (0.0254 m) and pound (0.45359237 kg), US customary liquid
volumes (1 US gallon = 231 in³ = 3.785411784 L), decimal (kB = 1000 B) and binary (KiB = 1024 B) data sizes.
Temperature conversions carry offsets. Calendar months and years are left out on purpose: their length varies.
"""

from __future__ import annotations

from fractions import Fraction as F

from toolkit.errors import ToolError

__all__ = ["DIMENSIONS", "Unit", "lookup_unit", "convert", "allowed_units"]

Unit = tuple[str, str]  # (dimension, canonical symbol)

DIMENSIONS: dict[str, dict[str, F]] = {
    "length": {  # metre
        "nm": F(1, 10**9), "um": F(1, 10**6), "mm": F(1, 1000), "cm": F(1, 100), "m": F(1), "km": F(1000),
        "in": F("0.0254"), "ft": F("0.3048"), "yd": F("0.9144"), "mi": F("1609.344"), "nmi": F(1852),
    },
    "mass": {  # kilogram
        "mg": F(1, 10**6), "g": F(1, 1000), "kg": F(1), "t": F(1000),
        "oz": F("0.028349523125"), "lb": F("0.45359237"), "st": F("6.35029318"),
    },
    "time": {  # second
        "ns": F(1, 10**9), "us": F(1, 10**6), "ms": F(1, 1000), "s": F(1), "min": F(60), "h": F(3600),
        "day": F(86400), "week": F(604800),
    },
    "data": {  # byte
        "bit": F(1, 8), "kbit": F(125), "Mbit": F(125_000), "Gbit": F(125_000_000),
        "B": F(1), "kB": F(1000), "MB": F(10**6), "GB": F(10**9), "TB": F(10**12), "PB": F(10**15),
        "KiB": F(1024), "MiB": F(1024**2), "GiB": F(1024**3), "TiB": F(1024**4),
    },
    "volume": {  # litre
        "ml": F(1, 1000), "cl": F(1, 100), "l": F(1), "m3": F(1000),
        "tsp": F("0.00492892159375"), "tbsp": F("0.01478676478125"), "fl_oz": F("0.0295735295625"),
        "cup": F("0.2365882365"), "pt": F("0.473176473"), "qt": F("0.946352946"), "gal": F("3.785411784"),
    },
    "speed": {  # metre per second
        "m/s": F(1), "km/h": F(1000, 3600), "mph": F("0.44704"), "kn": F(1852, 3600), "ft/s": F("0.3048"),
    },
    "temperature": {"C": F(1), "F": F(5, 9), "K": F(1)},  # handled with offsets in convert()
}  # fmt: skip

_ALIASES: dict[str, str] = {
    # length
    "nanometer": "nm", "nanometre": "nm", "micrometer": "um", "micrometre": "um", "micron": "um", "µm": "um",
    "millimeter": "mm", "millimetre": "mm", "centimeter": "cm", "centimetre": "cm", "meter": "m",
    "metre": "m", "kilometer": "km", "kilometre": "km", "inch": "in", "inches": "in", "foot": "ft",
    "feet": "ft", "yard": "yd",
    "mile": "mi", "nautical mile": "nmi", "nautical_mile": "nmi",
    # mass
    "milligram": "mg", "gram": "g", "kilogram": "kg", "kilo": "kg", "tonne": "t", "metric ton": "t",
    "ounce": "oz", "pound": "lb", "lbs": "lb", "stone": "st",
    # time
    "nanosecond": "ns", "microsecond": "us", "µs": "us", "millisecond": "ms", "second": "s", "sec": "s",
    "minute": "min", "hour": "h", "hr": "h", "d": "day", "days": "day", "wk": "week", "weeks": "week",
    # data
    "bits": "bit", "b": "B", "byte": "B", "bytes": "B", "kilobyte": "kB", "kb": "kB", "megabyte": "MB",
    "mb": "MB", "gigabyte": "GB", "gb": "GB", "terabyte": "TB", "tb": "TB", "petabyte": "PB", "pb": "PB",
    "kibibyte": "KiB", "kib": "KiB", "mebibyte": "MiB", "mib": "MiB", "gibibyte": "GiB", "gib": "GiB",
    "tebibyte": "TiB", "tib": "TiB", "kilobit": "kbit", "megabit": "Mbit", "gigabit": "Gbit",
    "mbit": "Mbit", "gbit": "Gbit",
    # volume
    "milliliter": "ml", "millilitre": "ml", "mL": "ml", "centiliter": "cl", "liter": "l", "litre": "l",
    "L": "l", "cubic meter": "m3", "cubic metre": "m3", "m^3": "m3", "m³": "m3", "teaspoon": "tsp",
    "tablespoon": "tbsp", "fluid ounce": "fl_oz", "fl oz": "fl_oz", "floz": "fl_oz", "pint": "pt",
    "quart": "qt",
    "gallon": "gal",
    # speed
    "mps": "m/s", "meters per second": "m/s", "kph": "km/h", "kmh": "km/h", "km/hr": "km/h",
    "kilometers per hour": "km/h", "miles per hour": "mph", "knot": "kn", "knots": "kn", "kt": "kn",
    # temperature
    "c": "C", "°c": "C", "celsius": "C", "degc": "C", "f": "F", "°f": "F", "fahrenheit": "F", "degf": "F",
    "k": "K", "kelvin": "K",
}  # fmt: skip

_SYMBOLS: dict[str, Unit] = {sym: (dim, sym) for dim, table in DIMENSIONS.items() for sym in table}
_FOLDED: dict[str, Unit] = {}
for _alias, _sym in _ALIASES.items():
    _FOLDED[_alias.casefold()] = _SYMBOLS[_sym]
for _sym, _unit in _SYMBOLS.items():
    _FOLDED.setdefault(_sym.casefold(), _unit)
del _alias, _sym, _unit


def allowed_units(dimension: str | None = None) -> str:
    """The accepted unit symbols, grouped by dimension (or of one dimension)."""
    dims = [dimension] if dimension else list(DIMENSIONS)
    return "; ".join(f"{d}: {', '.join(DIMENSIONS[d])}" for d in dims)


def lookup_unit(text: str) -> Unit:
    """(dimension, symbol) of a unit written as a symbol or name (case-insensitive, plural 's' accepted)."""
    raw = text.strip()
    if raw in _SYMBOLS:  # exact symbols first: "Mbit" vs "MB" differ only by case
        return _SYMBOLS[raw]
    key = " ".join(raw.split()).casefold()
    for candidate in (key, key[:-1] if key.endswith("s") else key, key[:-2] if key.endswith("es") else key):
        if candidate in _FOLDED:
            return _FOLDED[candidate]
    raise ToolError(f"unknown unit {text!r}. Allowed units — {allowed_units()}")


def convert(value: F, source: Unit, target: Unit) -> F:
    """Convert ``value`` between two units of the same dimension, exactly."""
    (dim_a, a), (dim_b, b) = source, target
    if dim_a != dim_b:
        raise ToolError(
            f"cannot convert {dim_a} ({a}) to {dim_b} ({b}); convert between units of one dimension. "
            f"{dim_a} units: {', '.join(DIMENSIONS[dim_a])}"
        )
    if dim_a == "temperature":
        kelvin = {"C": value + F("273.15"), "F": (value - 32) * F(5, 9) + F("273.15"), "K": value}[a]
        if kelvin < 0:
            raise ToolError(
                f"{float(value):g} {a} is below absolute zero (-273.15 C, -459.67 F, 0 K); check the value"
            )
        return {"C": kelvin - F("273.15"), "F": (kelvin - F("273.15")) * F(9, 5) + 32, "K": kelvin}[b]
    table = DIMENSIONS[dim_a]
    return value * table[a] / table[b]
