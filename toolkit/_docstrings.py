"""Split a function's docstring into the tool description and per-parameter descriptions.

Google, NumPy and Sphinx styles are detected automatically (griffe's heuristics). The tool description is the prose
of the docstring (summary, body, admonitions such as ``Note:``); parameter, return, raise and example sections are
left out of it because the model sees parameters through the input schema and results through the output schema.
"""

from __future__ import annotations

import inspect
import re
from dataclasses import dataclass, field

import griffe

__all__ = ["ParsedDocstring", "parse_docstring"]

# griffe logs a warning for every parameter documented without a type; tool docstrings rely on type hints instead.
_QUIET = {"warnings": False}
_PER_STYLE = {"google": _QUIET, "numpy": _QUIET, "sphinx": _QUIET}
_PARAM_KINDS = (griffe.DocstringSectionKind.parameters, griffe.DocstringSectionKind.other_parameters)


@dataclass(frozen=True)
class ParsedDocstring:
    """The parts of a docstring a tool spec uses."""

    description: str = ""
    params: dict[str, str] = field(default_factory=dict)
    returns: str = ""
    style: str | None = None


def _tidy(text: str) -> str:
    """Join wrapped lines into paragraphs; keep blank-line paragraph breaks (and indented code) intact."""
    paragraphs = re.split(r"\n\s*\n", text.strip())
    out = []
    for para in paragraphs:
        lines = para.splitlines()
        if any(line.startswith((" ", "\t", ">>>", "-", "*")) for line in lines[1:]):
            out.append(para.rstrip())  # lists, code or doctest: the line breaks carry meaning
        else:
            out.append(" ".join(line.strip() for line in lines))
    return "\n\n".join(p for p in out if p)


def parse_docstring(doc: str | None) -> ParsedDocstring:
    """Parse ``doc`` (a raw ``__doc__``) of any of the three styles; an empty docstring gives empty parts."""
    if not doc or not doc.strip():
        return ParsedDocstring()
    text = inspect.cleandoc(doc)
    parser, _ = griffe.infer_docstring_style(griffe.Docstring(text), per_style_options=_PER_STYLE)
    sections = griffe.parse_auto(griffe.Docstring(text), per_style_options=_PER_STYLE)
    prose: list[str] = []
    params: dict[str, str] = {}
    returns: list[str] = []
    for section in sections:
        kind = section.kind
        if kind is griffe.DocstringSectionKind.text:
            prose.append(_tidy(section.value))
        elif kind is griffe.DocstringSectionKind.admonition:
            title = (section.title or "").strip()
            body = _tidy(section.value.description or "")
            prose.append(f"{title}: {body}" if title and body else title or body)
        elif kind in _PARAM_KINDS:
            for param in section.value:
                params[param.name.lstrip("*")] = _tidy(param.description or "")
        elif kind is griffe.DocstringSectionKind.returns:
            returns.extend(_tidy(r.description or "") for r in section.value)
    return ParsedDocstring(
        description="\n\n".join(p for p in prose if p),
        params={k: v for k, v in params.items() if v},
        returns="\n".join(r for r in returns if r),
        style=parser.value if parser is not None else None,
    )
