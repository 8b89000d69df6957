"""The ``python`` presentation: tools as typed Python stubs, calls as Python call syntax in a fence.

Stubs are keyword-only functions (``def f(*, a: int, b: str = "x")``) in schema order, with ``Literal`` for
enums, ``TypedDict`` classes for nested objects, ``= default`` for optional parameters (``= None`` when the
schema has no default) and a Google-style docstring. Calls go in a ```` ```python ```` fence, one per line,
keyword arguments with literal values, read back with :mod:`ast`: never evaluated. Tool and parameter names
that are not Python identifiers (MCP allows ``-`` and ``.``) are mapped to identifiers and back through the
specs.

Passing ``None`` for an optional parameter whose schema does not accept null means "not given", as the stub's
``= None`` default says: the argument is left out of the canonical call.
"""

from __future__ import annotations

import ast
import keyword
import re
import textwrap
from collections.abc import Sequence
from typing import Any

from toolkit.errors import UserError
from toolkit.presentations._index import Params, SpecIndex
from toolkit.presentations._literals import LiteralError, check_nesting, parse_python, python_literal
from toolkit.presentations._names import to_identifier
from toolkit.presentations._pytypes import ClassBook, TypeRenderer, describe, docstring, py_literal
from toolkit.presentations.base import Presentation, fenced
from toolkit.specs import ToolCall, ToolSpec

__all__ = ["PythonPresentation"]

_CALL_START = re.compile(r"\[?\s*([A-Za-z_][\w.]*)\s*\(")
_KEYWORD_ARGUMENT = re.compile(r"[(,]\s*[A-Za-z_]\w*\s*=(?!=)")
_MAX_SIGNATURE = 100
_TYPING_NAMES = ("Any", "Literal", "NotRequired", "TypedDict")


class PythonPresentation(Presentation):
    """Python stubs in the prompt; calls as ``tool(arg=value)`` lines in a ```` ```python ```` fence."""

    name = "python"
    delimiter = ("fence", "python")
    block_per_call = False

    # -- tools -----------------------------------------------------------------------------------------------

    def render_tools(self, specs: Sequence[ToolSpec]) -> str:
        index = SpecIndex(specs)
        book = ClassBook()
        # Classes must not take the name of a tool function or of a typing import.
        for taken in [*(index.names.ident(spec.name) for spec in specs), *_TYPING_NAMES]:
            book.claim(taken, f"reserved:{taken}")
        functions = [self._stub(spec, index, book) for spec in specs]
        head = f"from typing import {', '.join(sorted(book.typing))}\n\n\n" if book.typing else ""
        classes = "".join(f"{source}\n\n\n" for source in book.sources.values())
        return head + classes + "\n\n\n".join(functions)

    def _stub(self, spec: ToolSpec, index: SpecIndex, book: ClassBook) -> str:
        params = index.params(spec.name)
        assert params is not None  # the index was built from these specs
        types = TypeRenderer(spec.input_schema, book)
        tool_hint = to_identifier(spec.name)
        parts, args_doc = [], []
        for name in params.order:
            schema = params.schemas[name]
            ident = params.idents.ident(name)
            ann = types.annotation(_raw_property(spec.input_schema, name), tool_hint + "_" + ident)
            if name in params.required:
                parts.append(f"{ident}: {ann}")
            elif isinstance(schema, dict) and "default" in schema:
                parts.append(f"{ident}: {ann} = {py_literal(schema['default'])}")
            elif params.accepts_null(name):
                parts.append(f"{ident}: {ann} = None")
            else:
                parts.append(f"{ident}: {ann} | None = None")
            note = describe(schema)
            if note:
                args_doc.append(f"    {ident}: {note}")
        extra = spec.input_schema.get("additionalProperties", True)
        if not parts and extra is not False:  # a free-form tool: whatever keyword arguments the caller likes
            value = types.annotation(extra if isinstance(extra, dict) else True, tool_hint + "_value")
            free_form = [f"**kwargs: {value}"]
        else:
            free_form = []
        returns = ""
        if self.include_output_schema and spec.output_schema is not None:
            out_types = TypeRenderer(spec.output_schema, book)
            returns = f" -> {out_types.annotation(spec.output_schema, tool_hint + '_result')}"
        name = index.names.ident(spec.name)
        items = (["*"] if parts else []) + parts + free_form
        one = f"def {name}({', '.join(items)}){returns}:"
        signature = one if len(one) <= _MAX_SIGNATURE else (
            f"def {name}(\n" + "".join(f"    {item},\n" for item in items) + f"){returns}:"
        )
        doc = spec.description.strip()
        if args_doc:
            doc = (doc + "\n\n" if doc else "") + "Args:\n" + "\n".join(args_doc)
        body = f"    {docstring(doc)}" if doc else "    ..."
        return f"{signature}\n{body}"

    def _wrap_tools(self, rendered: str) -> str:
        return f"The tools are Python functions:\n{fenced(rendered, 'python')}"

    def call_instructions(self) -> str:
        return (
            "To call tools, write the calls in a ```python code block, one call per line, with keyword "
            "arguments and literal values only (no variables or expressions):\n"
            "```python\ntool_name(argument=value)\n```"
        )

    # -- calls -----------------------------------------------------------------------------------------------

    def render_calls(self, calls: Sequence[ToolCall], specs: Sequence[ToolSpec] | None = None) -> str:
        if not calls:
            return ""
        index = SpecIndex(specs)
        return "```python\n" + "\n".join(_render_call(call, index) for call in calls) + "\n```"

    def _bare_start(self, line: str) -> bool:
        return _CALL_START.match(line) is not None

    def _is_call_syntax(self, body: str, index: SpecIndex) -> bool:
        if index:
            names = [index.names.ident(n) for n in index.specs] + [n for n in index.specs if "." in n]
            if any(re.search(rf"(?<![\w.]){re.escape(n)}\s*\(", body) for n in names):
                return True  # a known tool is called somewhere in the block
        first = next((line.strip() for line in body.splitlines() if line.strip()), "")
        if _CALL_START.match(first) is None:
            return False  # e.g. "def f(x):" or "import os": an answer's code sample, not a call
        return not index or bool(_KEYWORD_ARGUMENT.search(first))

    def _parse_block(self, body: str, index: SpecIndex, used: set[str], *, bare: bool) -> list[ToolCall]:
        text = textwrap.dedent(body).strip()
        if not text:
            raise LiteralError("empty call block")
        check_nesting(text, self.limits.max_depth)
        tree = parse_python(text, mode="exec")
        nodes: list[ast.Call] = []
        lines: set[int] = set()
        for stmt in tree.body:
            value = stmt.value if isinstance(stmt, ast.Expr) else None
            elts = value.elts if isinstance(value, (ast.List, ast.Tuple)) else []
            if elts and all(isinstance(e, ast.Call) for e in elts):
                used.add("python_call_list")
                nodes.extend(e for e in elts if isinstance(e, ast.Call))
            elif isinstance(value, ast.Call):
                nodes.append(value)
            else:
                source = _source(stmt)
                raise LiteralError(f"{source!r} is not a tool call; write one per line: tool(arg=value)")
            if stmt.lineno in lines:
                used.add("python_call_list")  # several statements on one line (a; b)
            lines.add(stmt.lineno)
        return [self._call(node, index, used, bare=bare) for node in nodes]

    def _call(self, node: ast.Call, index: SpecIndex, used: set[str], *, bare: bool) -> ToolCall:
        name = _tool_name(node.func, index, used)
        if bare and index and name not in index.specs:
            raise LiteralError(f"not a call: no tool named {name!r}")
        params = index.params(name)
        arguments: dict[str, Any] = {}
        for position, arg in enumerate(node.args):
            if isinstance(arg, ast.Starred):
                raise LiteralError(f"'*' unpacking in the call to {name!r} is not allowed")
            if params is None or position >= len(params.order):
                why = "no tool of that name is known" if params is None else f"it takes {len(params.order)}"
                raise LiteralError(
                    f"positional argument {position + 1} of {name!r} cannot be bound to a parameter ({why}); "
                    "write name=value"
                )
            used.add("positional_arguments")
            arguments[params.order[position]] = _value(arg, used)
        for kw in node.keywords:
            if kw.arg is None:
                raise LiteralError(f"'**' unpacking in the call to {name!r} is not allowed")
            key = params.idents.name(kw.arg) if params else kw.arg
            if key in arguments:
                raise LiteralError(f"argument {kw.arg!r} of {name!r} is given twice")
            arguments[key] = _value(kw.value, used)
        if params is not None:
            arguments = {k: v for k, v in arguments.items() if not _omitted(k, v, params)}
        return ToolCall(name=name, arguments=arguments)


def _value(node: ast.expr, used: set[str]) -> Any:
    return python_literal(node, json_names=True, leniencies=used, constructors=True)


def _raw_property(schema: dict[str, Any], name: str) -> Any:
    """A parameter's schema as written (refs intact), minus its description, which the docstring carries."""
    props = schema.get("properties")
    prop = props.get(name, True) if isinstance(props, dict) else True
    return {k: v for k, v in prop.items() if k != "description"} if isinstance(prop, dict) else prop


def _omitted(key: str, value: Any, params: Params) -> bool:
    """``None`` for an optional parameter that does not accept null is the stub's default: not given."""
    if value is not None or key not in params.schemas or key in params.required:
        return False
    return not params.accepts_null(key)


def _tool_name(func: ast.expr, index: SpecIndex, used: set[str]) -> str:
    if isinstance(func, ast.Name):
        return index.names.name(func.id) if index else func.id
    parts: list[str] = []
    node = func
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        dotted = ".".join([node.id, *reversed(parts)])
        if not index or dotted in index.specs:
            used.add("dotted_name")
            return dotted
        raise LiteralError(f"{dotted!r} is not a tool name")
    raise LiteralError(f"{_source(func)!r} is not a tool name")


def _render_call(call: ToolCall, index: SpecIndex) -> str:
    if index and call.name in index.specs:
        ident = index.names.ident(call.name)
    elif call.name.isidentifier():
        ident = call.name
    else:
        raise UserError(
            f"tool name {call.name!r} is not a Python identifier; pass the specs to render_calls() so it is "
            "mapped to one reversibly"
        )
    if call.name not in index.specs and ident in index.names:
        other = index.names.name(ident)
        raise UserError(f"tool {call.name!r} is not in the specs; {ident}(...) would read back as {other!r}")
    params = index.params(call.name)
    args = []
    for key, value in call.arguments.items():
        kw = params.idents.ident(key) if params and key in params.schemas else key
        ambiguous = params is not None and key not in params.schemas and kw in params.idents
        if not kw.isidentifier() or keyword.iskeyword(kw) or ambiguous:
            raise UserError(f"argument name {key!r} of {call.name!r} cannot be a Python keyword argument")
        args.append(f"{kw}={py_literal(value)}")
    return f"{ident}({', '.join(args)})"


def _source(node: ast.AST) -> str:
    try:
        return ast.unparse(node)[:60]
    except Exception:  # a hostile tree must not turn a parse error into a crash
        return type(node).__name__
