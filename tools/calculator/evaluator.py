"""A safe, exact arithmetic evaluator: the expression is parsed with :mod:`ast` and walked; nothing is
``eval``'d.

Numbers are :class:`fractions.Fraction` (decimal literals are read from their source text, so ``0.1 + 0.2`` is
exactly ``0.3``). Only irrational operations (``sqrt``, fractional powers, ``pi``, ``e``) fall back to
34-digit :class:`decimal.Decimal` arithmetic and mark the result inexact. Sizes are bounded: expression
length, node count, exponents, and the digits of every intermediate value.
"""

from __future__ import annotations

import ast
import math
import re
from dataclasses import dataclass
from decimal import Decimal, localcontext
from fractions import Fraction

from toolkit.errors import ToolError

__all__ = ["Value", "evaluate", "format_number", "MAX_EXPRESSION_CHARS"]

MAX_EXPRESSION_CHARS = 500
MAX_NODES = 300
MAX_DIGITS = 1000  # numerator/denominator digits of any intermediate value
MAX_EXPONENT = 10_000
_PRECISION = 34

_ALLOWED = (
    "numbers, + - * / // % ** and parentheses, functions abs, round, min, max, sqrt, floor, ceil, "
    "and the constants pi and e"
)
_FUNCTIONS = frozenset({"abs", "round", "min", "max", "sqrt", "floor", "ceil"})
_PI = Fraction(Decimal("3.141592653589793238462643383279503"))
_E = Fraction(Decimal("2.718281828459045235360287471352662"))


@dataclass(frozen=True)
class Value:
    """An evaluated number: exact unless an irrational step was taken."""

    number: Fraction
    exact: bool = True


_LITERAL = re.compile(r"^(\d*)\.?(\d*)(?:[eE]([+-]?\d+))?$")


def _check_literal(text: str) -> None:
    """Refuse a numeric literal whose exact value would be too large to build (checked on its text)."""
    m = _LITERAL.match(text)
    if m is None:
        return
    digits = len(m.group(1)) + len(m.group(2))
    exponent = int(m.group(3)) if m.group(3) and len(m.group(3).lstrip("+-")) <= 9 else (10**9 if m.group(3) else 0)
    if digits + abs(exponent) > MAX_DIGITS:
        raise ToolError(f"the number {text[:40]!r} has more than {MAX_DIGITS} digits; use smaller numbers")


def _check_size(x: Fraction) -> Fraction:
    if len(str(abs(x.numerator))) > MAX_DIGITS or len(str(x.denominator)) > MAX_DIGITS:
        raise ToolError(f"an intermediate result has more than {MAX_DIGITS} digits; use smaller numbers")
    return x


def _decimal_sqrt(x: Fraction) -> Fraction:
    with localcontext() as ctx:
        ctx.prec = _PRECISION
        return Fraction((Decimal(x.numerator) / Decimal(x.denominator)).sqrt())


def _exact_sqrt(x: Fraction) -> Fraction | None:
    n, d = math.isqrt(x.numerator), math.isqrt(x.denominator)
    return Fraction(n, d) if n * n == x.numerator and d * d == x.denominator else None


def _power(base: Value, exp: Value) -> Value:
    b, e = base.number, exp.number
    if e.denominator == 1:
        k = int(e)
        if abs(k) > MAX_EXPONENT:
            raise ToolError(f"exponent {k} is too large; exponents must be within ±{MAX_EXPONENT}")
        bits = max(abs(b.numerator).bit_length(), b.denominator.bit_length())
        if bits * abs(k) > MAX_DIGITS * 3.33:
            raise ToolError(
                f"the result of the power would have more than {MAX_DIGITS} digits; use smaller numbers"
            )
        if b == 0 and k < 0:
            raise ToolError("0 cannot be raised to a negative power (division by zero)")
        return Value(_check_size(b**k), base.exact and exp.exact)
    if b < 0:
        raise ToolError("a negative number cannot be raised to a fractional power (the result is not real)")
    if e == Fraction(1, 2):
        root = _exact_sqrt(b)
        if root is not None:
            return Value(root, base.exact and exp.exact)
    if b == 0:
        if e < 0:
            raise ToolError("0 cannot be raised to a negative power (division by zero)")
        return Value(Fraction(0), base.exact and exp.exact)
    # Size the result before computing it: Decimal would otherwise overflow, or build a number too long to print.
    magnitude = float(e) * (math.log10(b.numerator) - math.log10(b.denominator))
    if abs(magnitude) > MAX_DIGITS:
        raise ToolError(f"the result of the power would have more than {MAX_DIGITS} digits; use smaller numbers")
    with localcontext() as ctx:
        ctx.prec = _PRECISION
        d = (Decimal(b.numerator) / Decimal(b.denominator)) ** (Decimal(e.numerator) / Decimal(e.denominator))
    return Value(_check_size(Fraction(d)), False)


def _binop(op: ast.operator, a: Value, b: Value) -> Value:
    exact = a.exact and b.exact
    x, y = a.number, b.number
    if isinstance(op, ast.Add):
        return Value(_check_size(x + y), exact)
    if isinstance(op, ast.Sub):
        return Value(_check_size(x - y), exact)
    if isinstance(op, ast.Mult):
        return Value(_check_size(x * y), exact)
    if isinstance(op, (ast.Div, ast.FloorDiv, ast.Mod)) and y == 0:
        raise ToolError("division by zero; check the divisor")
    if isinstance(op, ast.Div):
        return Value(_check_size(x / y), exact)
    if isinstance(op, ast.FloorDiv):
        return Value(_check_size(Fraction(x // y)), exact)
    if isinstance(op, ast.Mod):
        return Value(_check_size(x % y), exact)
    if isinstance(op, ast.Pow):
        return _power(a, b)
    if isinstance(op, ast.BitXor):
        raise ToolError("'^' is not a power operator here; write ** for powers (2 ** 10)")
    raise ToolError(f"operator {type(op).__name__} is not supported; allowed: {_ALLOWED}")


def _call(name: str, args: list[Value]) -> Value:
    exact = all(a.number is not None and a.exact for a in args)
    n = len(args)

    def arity(lo: int, hi: int) -> None:
        if not lo <= n <= hi:
            want = str(lo) if lo == hi else f"{lo} to {hi}"
            raise ToolError(f"{name}() takes {want} argument(s), got {n}")

    if name == "abs":
        arity(1, 1)
        return Value(abs(args[0].number), exact)
    if name in ("min", "max"):
        if n == 0:
            raise ToolError(f"{name}() needs at least one argument")
        pick = min if name == "min" else max
        return Value(pick(a.number for a in args), exact)
    if name == "round":
        arity(1, 2)
        digits = 0
        if n == 2:
            if args[1].number.denominator != 1 or not -20 <= args[1].number <= 20:
                raise ToolError("round(x, digits): digits must be a whole number between -20 and 20")
            digits = int(args[1].number)
        scale = Fraction(10) ** digits
        x = args[0].number * scale
        half_up = math.floor(abs(x) + Fraction(1, 2)) * (1 if x >= 0 else -1)  # 2.5 -> 3, -2.5 -> -3
        return Value(Fraction(half_up) / scale, exact)
    if name in ("floor", "ceil"):
        arity(1, 1)
        x = args[0].number
        return Value(Fraction(math.floor(x) if name == "floor" else math.ceil(x)), exact)
    if name == "sqrt":
        arity(1, 1)
        x = args[0].number
        if x < 0:
            raise ToolError("sqrt() of a negative number is not real")
        root = _exact_sqrt(x)
        return Value(root, exact) if root is not None else Value(_decimal_sqrt(x), False)
    raise ToolError(f"unknown function {name!r}; allowed: {_ALLOWED}")


class _Walker:
    def __init__(self, source: str):
        self.source = source

    def visit(self, node: ast.AST) -> Value:
        if isinstance(node, ast.Expression):
            return self.visit(node.body)
        if isinstance(node, ast.Constant):
            if isinstance(node.value, bool) or not isinstance(node.value, (int, float)):
                raise ToolError(f"{node.value!r} is not a number; allowed: {_ALLOWED}")
            if isinstance(node.value, int):
                return Value(_check_size(Fraction(node.value)))
            text = (ast.get_source_segment(self.source, node) or repr(node.value)).replace("_", "")
            _check_literal(text)  # before Fraction(): "1e99999999" would build a 10^8-digit integer
            try:  # read the literal as written: 0.1 is one tenth, not the nearest binary float
                return Value(_check_size(Fraction(text)))
            except (ValueError, ZeroDivisionError, OverflowError):
                raise ToolError(f"cannot read the number {text!r}; write a plain decimal such as 12.5") from None
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.UAdd, ast.USub)):
            v = self.visit(node.operand)
            return Value(-v.number if isinstance(node.op, ast.USub) else v.number, v.exact)
        if isinstance(node, ast.BinOp):
            return _binop(node.op, self.visit(node.left), self.visit(node.right))
        if isinstance(node, ast.Name):
            if node.id == "pi":
                return Value(_PI, False)
            if node.id == "e":
                return Value(_E, False)
            raise ToolError(f"unknown name {node.id!r}; write numbers, not variables (allowed: {_ALLOWED})")
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and not node.keywords:
            if node.func.id not in _FUNCTIONS:  # check the name before touching the arguments
                raise ToolError(f"unknown function {node.func.id!r}; allowed: {_ALLOWED}")
            return _call(node.func.id, [self.visit(a) for a in node.args])
        if isinstance(node, ast.Tuple):
            raise ToolError("commas are not allowed in numbers; write 1000000, not 1,000,000")
        raise ToolError(f"unsupported syntax ({type(node).__name__}); allowed: {_ALLOWED}")


def evaluate(expression: str) -> Value:
    """Evaluate an arithmetic expression exactly; raises :class:`ToolError` with a fix for anything else."""
    if not expression.strip():
        raise ToolError("the expression is empty; give one such as '(3 + 4) * 2'")
    if len(expression) > MAX_EXPRESSION_CHARS:
        raise ToolError(
            f"the expression is {len(expression)} characters long; the limit is {MAX_EXPRESSION_CHARS}"
        )
    source = expression.replace("×", "*").replace("÷", "/").replace("−", "-").strip()
    try:
        tree = ast.parse(source, mode="eval")
    except SyntaxError as exc:
        raise ToolError(
            f"cannot parse the expression (syntax error at column {exc.offset}); allowed: {_ALLOWED}"
        ) from None
    if sum(1 for _ in ast.walk(tree)) > MAX_NODES:
        raise ToolError(f"the expression has more than {MAX_NODES} parts; split it into smaller calculations")
    return _Walker(source).visit(tree)


def format_number(x: Fraction, *, significant: int = 15) -> tuple[str, bool]:
    """Decimal text of ``x`` and whether it is exact (terminating decimals are written in full when short)."""
    d = x.denominator
    for p in (2, 5):
        while d % p == 0:
            d //= p
    with localcontext() as ctx:
        ctx.prec = max(significant, 1)
        if d == 1:  # terminating decimal
            ctx.prec = 60
            value = Decimal(x.numerator) / Decimal(x.denominator)
            exact = True
            if len(value.normalize().as_tuple().digits) > significant + 5:
                ctx.prec = significant
                value = +value
                exact = False
        else:
            value = Decimal(x.numerator) / Decimal(x.denominator)
            exact = False
    value = value.normalize()
    if value == 0:
        return "0", exact
    if abs(value.adjusted()) > 20:
        mantissa, _, exponent = f"{value:.{significant - 1}e}".partition("e")
        mantissa = mantissa.rstrip("0").rstrip(".") if "." in mantissa else mantissa
        return f"{mantissa}e{int(exponent)}", exact
    text = f"{value:f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text, exact
