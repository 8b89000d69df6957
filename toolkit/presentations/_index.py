"""What the parsers and renderers need to know about a tool list: names, parameter order, optionality."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from toolkit.errors import UserError
from toolkit.jsonschema_utils import inline_refs, validator_for
from toolkit.presentations._names import NameMap
from toolkit.specs import ToolSpec

__all__ = ["Params", "SpecIndex"]


class Params:
    """One tool's parameters: their schema order, which are required, and their Python identifiers."""

    def __init__(self, spec: ToolSpec):
        root = inline_refs(spec.input_schema)
        props = root.get("properties")
        self.schemas: dict[str, Any] = props if isinstance(props, dict) else {}
        self.order: list[str] = list(self.schemas)
        required = root.get("required")
        self.required: set[str] = set(required) if isinstance(required, list) else set()
        self.idents = NameMap(self.order)
        self._defs = root.get("$defs", {})
        self._nullable: dict[str, bool] = {}

    def accepts_null(self, name: str) -> bool:
        """Whether ``None``/``null`` is a valid value of parameter ``name`` (unknown parameters: yes)."""
        if name not in self._nullable:
            schema = self.schemas.get(name, True)
            if not isinstance(schema, dict):
                self._nullable[name] = bool(schema)
            else:
                try:
                    full = {**schema, "$defs": self._defs} if self._defs else schema
                    self._nullable[name] = validator_for(full).is_valid(None)
                except UserError:
                    self._nullable[name] = True
        return self._nullable[name]


class SpecIndex:
    """Tool specs by name, with a reversible tool-name <-> identifier map. Empty when no specs are given."""

    def __init__(self, specs: Sequence[ToolSpec] | None):
        self.specs: dict[str, ToolSpec] = {}
        for spec in specs or ():
            if not isinstance(spec, ToolSpec):
                got = type(spec).__name__
                raise UserError(f"expected ToolSpec objects, got {got}; pass registry.specs()")
            if spec.name in self.specs:
                raise UserError(f"two tools are named {spec.name!r}; tool names must be unique")
            self.specs[spec.name] = spec
        self.names = NameMap(self.specs)
        self._params: dict[str, Params] = {}

    def __bool__(self) -> bool:
        return bool(self.specs)

    def params(self, tool_name: str) -> Params | None:
        spec = self.specs.get(tool_name)
        if spec is None:
            return None
        if tool_name not in self._params:
            self._params[tool_name] = Params(spec)
        return self._params[tool_name]
