"""A fast "is this valid?" check compiled from a JSON Schema into plain Python closures.

``jsonschema`` re-walks the schema for every instance, building a validator object per subschema it descends into:
checking one ToolGym record costs about half a millisecond, a large share of what synthesis spends per sample. This
module turns a schema into nested closures once, so that checking an instance is a handful of ``isinstance`` tests
and dictionary lookups. It answers only "valid or not"; ``jsonschema`` stays the authority and is what explains a
failure (see :func:`toolkit.jsonschema_utils.validator_for`, which asks ``jsonschema`` whenever this check says no).

Semantics follow ``jsonschema``'s Draft 2020-12 keyword functions one for one (same type rules, same ``equal``
and ``uniq`` for ``enum``/``const``/``uniqueItems``, the same time-bounded pattern search
(:func:`toolkit.regex_safety.pattern_search`, which ToolGym's jsonschema validator uses too), the same format checker).
Keywords it does not implement (``unevaluated*``, ``contains``, ``multipleOf``, ``$dynamicRef``, refs that
leave the document, nested ``$id``/``$anchor``) make :func:`compile_check` return ``None`` and the caller uses
``jsonschema`` alone. Nothing is ``exec``-ed: schemas may come from untrusted servers. A differential test
(``tests/toolkit/test_jsonschema_fast.py``) holds the verdicts equal to ``jsonschema``'s.
"""

from __future__ import annotations

import numbers
import re
from collections.abc import Callable
from typing import Any
from urllib.parse import unquote

from jsonschema import Draft202012Validator, FormatChecker
from jsonschema._utils import equal, uniq  # the exact equality jsonschema's enum/const/uniqueItems use

from toolkit.regex_safety import pattern_search

__all__ = ["compile_check"]

Check = Callable[[Any], bool]

_IMPLEMENTED = frozenset({
    "$ref", "additionalProperties", "allOf", "anyOf", "const", "dependentRequired", "dependentSchemas", "enum",
    "exclusiveMaximum", "exclusiveMinimum", "format", "if", "items", "maxItems", "maxLength", "maxProperties",
    "maximum", "minItems", "minLength", "minProperties", "minimum", "not", "oneOf", "pattern", "patternProperties",
    "prefixItems", "properties", "propertyNames", "required", "type", "uniqueItems",
})
# Keywords jsonschema asserts under Draft 2020-12 that this module does not: their presence means no fast check.
_UNSUPPORTED = frozenset(Draft202012Validator.VALIDATORS) - _IMPLEMENTED | {"$id", "$anchor", "$dynamicAnchor"}


class _Unsupported(Exception):
    pass


def _checked_pattern(pattern: str) -> str:
    pattern_search(pattern, "")  # compiles (and caches) it now: a bad pattern raises re.error here, not per check
    return pattern


def _is_number(x: Any) -> bool:
    return not isinstance(x, bool) and isinstance(x, numbers.Number)


def _is_integer(x: Any) -> bool:
    if isinstance(x, bool):
        return False
    if isinstance(x, float):
        return x.is_integer()
    return isinstance(x, int)


_TYPES: dict[str, Check] = {
    "null": lambda x: x is None,
    "boolean": lambda x: isinstance(x, bool),
    "object": lambda x: isinstance(x, dict),
    "array": lambda x: isinstance(x, list),
    "string": lambda x: isinstance(x, str),
    "number": _is_number,
    "integer": _is_integer,
}


def _always(_: Any) -> bool:
    return True


def _never(_: Any) -> bool:
    return False


def compile_check(schema: Any, *, format_checker: FormatChecker | None = None) -> Check | None:
    """A function ``instance -> bool`` equal to ``Draft202012Validator(schema, format_checker=...).is_valid``, or
    ``None`` when the schema uses something this module does not implement. ``schema`` must already have passed
    ``Draft202012Validator.check_schema``."""
    try:
        return _Compiler(schema, format_checker).compile(schema)
    except (_Unsupported, re.error):  # a pattern Python cannot compile is jsonschema's to report
        return None


class _Compiler:
    def __init__(self, root: Any, format_checker: FormatChecker | None):
        self.root = root
        self.format_checker = format_checker
        self.refs: dict[str, Check] = {}

    def compile(self, schema: Any) -> Check:
        if schema is True:
            return _always
        if schema is False:
            return _never
        if not isinstance(schema, dict):
            raise _Unsupported
        unsupported = _UNSUPPORTED.intersection(schema)
        if unsupported and not (schema is self.root and unsupported == {"$id"}):  # a root $id changes nothing here
            raise _Unsupported
        checks = [c for c in (self._ref(schema), self._type(schema), self._values(schema), self._object(schema),
                              self._array(schema), self._string(schema), self._number(schema),
                              *self._combinators(schema)) if c is not None]
        if not checks:
            return _always
        if len(checks) == 1:
            return checks[0]
        if len(checks) == 2:
            a, b = checks
            return lambda x: a(x) and b(x)

        def all_of(x: Any) -> bool:
            for check in checks:
                if not check(x):
                    return False
            return True
        return all_of

    def _ref(self, schema: dict[str, Any]) -> Check | None:
        ref = schema.get("$ref")
        if ref is None:
            return None
        if not isinstance(ref, str) or not ref.startswith("#"):
            raise _Unsupported
        if ref not in self.refs:
            target: list[Check] = []
            self.refs[ref] = lambda x: target[0](x)  # bound before compiling the target, so recursion ends here
            target.append(self.compile(self._resolve(ref)))
        return self.refs[ref]

    def _resolve(self, ref: str) -> Any:
        node = self.root
        pointer = unquote(ref[1:])
        if not pointer:
            return node
        if not pointer.startswith("/"):  # an anchor name
            raise _Unsupported
        for token in pointer[1:].split("/"):
            token = token.replace("~1", "/").replace("~0", "~")
            if isinstance(node, list):
                if not token.isdigit() or int(token) >= len(node):
                    raise _Unsupported
                node = node[int(token)]
            elif isinstance(node, dict) and token in node:
                node = node[token]
            else:
                raise _Unsupported
        return node

    def _type(self, schema: dict[str, Any]) -> Check | None:
        if "type" not in schema:
            return None
        names = schema["type"] if isinstance(schema["type"], list) else [schema["type"]]
        try:
            tests = [_TYPES[n] for n in names]
        except (KeyError, TypeError):
            raise _Unsupported from None
        if len(tests) == 1:
            return tests[0]
        return lambda x: any(t(x) for t in tests)

    def _values(self, schema: dict[str, Any]) -> Check | None:
        checks: list[Check] = []
        if "enum" in schema:
            options = schema["enum"]
            checks.append(lambda x: any(equal(each, x) for each in options))
        if "const" in schema:
            const = schema["const"]
            checks.append(lambda x: equal(x, const))
        if "format" in schema and self.format_checker is not None:
            fmt, checker = schema["format"], self.format_checker
            checks.append(lambda x: checker.conforms(x, fmt))
        return _conjunction(checks)

    def _object(self, schema: dict[str, Any]) -> Check | None:
        props = {k: self.compile(v) for k, v in (schema.get("properties") or {}).items()}
        pattern_props = (schema.get("patternProperties") or {}).items()
        patterns = [(_checked_pattern(p), self.compile(s)) for p, s in pattern_props]
        additional = self.compile(schema["additionalProperties"]) if "additionalProperties" in schema else None
        names = self.compile(schema["propertyNames"]) if "propertyNames" in schema else None
        required = list(schema.get("required") or ())
        dep_required = {k: list(v) for k, v in (schema.get("dependentRequired") or {}).items()}
        dep_schemas = {k: self.compile(v) for k, v in (schema.get("dependentSchemas") or {}).items()}
        min_p, max_p = schema.get("minProperties"), schema.get("maxProperties")
        if not (props or patterns or additional or names or required or dep_required or dep_schemas
                or min_p is not None or max_p is not None):
            return None
        prop_items = list(props.items())

        def check(x: Any) -> bool:
            if not isinstance(x, dict):
                return True
            for name, sub in prop_items:
                if name in x and not sub(x[name]):
                    return False
            for name in required:
                if name not in x:
                    return False
            if additional is not None or patterns:
                for key, value in x.items():
                    matched = False
                    for pattern, sub in patterns:
                        found = pattern_search(pattern, key)
                        if found is None:
                            return False  # out of time: jsonschema decides, and says so
                        if found:
                            matched = True
                            if not sub(value):
                                return False
                    if additional is not None and not matched and key not in props and not additional(value):
                        return False
            if names is not None and not all(names(key) for key in x):
                return False
            for name, needed in dep_required.items():
                if name in x and any(n not in x for n in needed):
                    return False
            for name, sub in dep_schemas.items():
                if name in x and not sub(x):
                    return False
            if min_p is not None and len(x) < min_p:
                return False
            return max_p is None or len(x) <= max_p
        return check

    def _array(self, schema: dict[str, Any]) -> Check | None:
        prefix = [self.compile(s) for s in schema.get("prefixItems") or ()]
        items = self.compile(schema["items"]) if "items" in schema else None
        min_i, max_i, unique = schema.get("minItems"), schema.get("maxItems"), schema.get("uniqueItems")
        if not (prefix or items is not None or min_i is not None or max_i is not None or unique):
            return None
        start = len(prefix)

        def check(x: Any) -> bool:
            if not isinstance(x, list):
                return True
            for sub, value in zip(prefix, x):
                if not sub(value):
                    return False
            if items is not None:
                for i in range(start, len(x)):
                    if not items(x[i]):
                        return False
            if min_i is not None and len(x) < min_i:
                return False
            if max_i is not None and len(x) > max_i:
                return False
            return not unique or uniq(x)
        return check

    def _string(self, schema: dict[str, Any]) -> Check | None:
        min_l, max_l = schema.get("minLength"), schema.get("maxLength")
        pattern = _checked_pattern(schema["pattern"]) if "pattern" in schema else None
        if min_l is None and max_l is None and pattern is None:
            return None

        def check(x: Any) -> bool:
            if not isinstance(x, str):
                return True
            if min_l is not None and len(x) < min_l:
                return False
            if max_l is not None and len(x) > max_l:
                return False
            return pattern is None or pattern_search(pattern, x) is True  # None (out of time): jsonschema decides
        return check

    def _number(self, schema: dict[str, Any]) -> Check | None:
        bounds = [(schema[k], k) for k in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum") if k in schema]
        if not bounds:
            return None
        lo, hi = schema.get("minimum"), schema.get("maximum")
        xlo, xhi = schema.get("exclusiveMinimum"), schema.get("exclusiveMaximum")

        def check(x: Any) -> bool:
            if not _is_number(x):
                return True
            if lo is not None and x < lo:
                return False
            if hi is not None and x > hi:
                return False
            if xlo is not None and x <= xlo:
                return False
            return xhi is None or x < xhi
        return check

    def _combinators(self, schema: dict[str, Any]) -> list[Check]:
        out: list[Check] = []
        if "allOf" in schema:
            subs = [self.compile(s) for s in schema["allOf"]]
            out.append(lambda x: all(s(x) for s in subs))
        if "anyOf" in schema:
            subs_any = [self.compile(s) for s in schema["anyOf"]]
            out.append(lambda x: any(s(x) for s in subs_any))
        if "oneOf" in schema:
            subs_one = [self.compile(s) for s in schema["oneOf"]]
            out.append(lambda x: sum(1 for s in subs_one if s(x)) == 1)
        if "not" in schema:
            negated = self.compile(schema["not"])
            out.append(lambda x: not negated(x))
        if "if" in schema:
            cond = self.compile(schema["if"])
            then = self.compile(schema["then"]) if "then" in schema else _always
            other = self.compile(schema["else"]) if "else" in schema else _always
            out.append(lambda x: then(x) if cond(x) else other(x))
        return out


def _conjunction(checks: list[Check]) -> Check | None:
    if not checks:
        return None
    if len(checks) == 1:
        return checks[0]
    return lambda x: all(c(x) for c in checks)
