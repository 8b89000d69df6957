"""Reversible mapping between tool/parameter names and Python identifiers.

MCP tool names may contain ``-`` and ``.`` and JSON Schema property names may be any string; Python call
syntax needs identifiers. The mapping is built from the whole list of names at once, so that two names that
sanitize to the same identifier (``get-time`` and ``get_time``) still get distinct identifiers, and it is
deterministic: the same specs always give the same identifiers, at render and at parse time.
"""

from __future__ import annotations

import keyword
import re
from collections.abc import Iterable

__all__ = ["NameMap", "to_identifier"]

_NON_WORD = re.compile(r"\W", re.ASCII)


def to_identifier(name: str) -> str:
    """The readable identifier for one name, collisions aside (``get-weather``->``get_weather``)."""
    out = _NON_WORD.sub("_", name) or "_"
    if out[0].isdigit():
        out = "_" + out
    # Soft keywords (match, case, type, _) are fine as names.
    if keyword.iskeyword(out):
        out += "_"
    return out


class NameMap:
    """Original names <-> distinct Python identifiers. Names that are identifiers map to themselves."""

    def __init__(self, names: Iterable[str]):
        self._to_ident: dict[str, str] = {}
        self._to_name: dict[str, str] = {}
        ordered = list(dict.fromkeys(names))
        # Valid identifiers claim their own spelling first: mapping never renames a name written cleanly.
        for name in ordered:
            if to_identifier(name) == name:
                self._claim(name, name)
        for name in ordered:
            if name in self._to_ident:
                continue
            base = to_identifier(name)
            ident, n = base, 2
            while ident in self._to_name:
                ident, n = f"{base}_{n}", n + 1
            self._claim(name, ident)

    def _claim(self, name: str, ident: str) -> None:
        self._to_ident[name] = ident
        self._to_name[ident] = name

    def ident(self, name: str) -> str:
        """The identifier for ``name`` (names outside the map are sanitized on their own)."""
        return self._to_ident.get(name) or to_identifier(name)

    def name(self, ident: str) -> str:
        """The original name for ``ident`` (identifiers outside the map are returned as written)."""
        return self._to_name.get(ident, ident)

    def __contains__(self, ident: object) -> bool:
        return ident in self._to_name
