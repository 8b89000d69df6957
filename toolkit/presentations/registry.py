"""Presentations by name."""

from __future__ import annotations

from toolkit.errors import UserError
from toolkit.presentations.base import ParseLimits, Presentation
from toolkit.presentations.json_format import JsonPresentation
from toolkit.presentations.mcp_format import McpPresentation
from toolkit.presentations.python_format import PythonPresentation

__all__ = ["PRESENTATION_NAMES", "get_presentation"]

_CLASSES: dict[str, type[Presentation]] = {
    cls.name: cls for cls in (JsonPresentation, McpPresentation, PythonPresentation)
}
PRESENTATION_NAMES: tuple[str, ...] = tuple(_CLASSES)


def get_presentation(
    name: str, *, limits: ParseLimits | None = None, include_output_schema: bool = False
) -> Presentation:
    """The presentation called ``name`` (``"json"``, ``"mcp"`` or ``"python"``)."""
    cls = _CLASSES.get(name)
    if cls is None:
        raise UserError(f"unknown presentation {name!r}; choose one of {', '.join(PRESENTATION_NAMES)}")
    return cls(limits=limits, include_output_schema=include_output_schema)
