"""Python functions as tools.

* :class:`PythonToolset` — register sync or async functions and bound methods (``@ts.tool``, ``ts.add(fn)``); the
  schemas come from type hints and the docstring, and every problem is reported at once when a tool is registered.
* :func:`tool` — mark functions (or methods) in a module (or class) so they can be collected later
  (``py:MODULE`` sources, :meth:`PythonToolset.add_marked`).
* :func:`load_python_toolset` — resolve a ``py:MODULE[:ATTR]`` target (see :mod:`toolkit.sources`).

Example::

    ts = PythonToolset(name="math")

    @ts.tool
    def add(a: int, b: int) -> int:
        \"\"\"Add two integers.\"\"\"
        return a + b
"""

from __future__ import annotations

import importlib
import inspect
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any, TypeVar, overload

from toolkit._python_calls import invoke
from toolkit._schema import FunctionSchema, function_schema
from toolkit.errors import UserError
from toolkit.specs import ToolResult, ToolSpec
from toolkit.toolsets import CallLimits, Toolset, cap_result

__all__ = ["PythonToolset", "ToolOptions", "tool", "marked_options", "load_python_toolset"]

F = TypeVar("F", bound=Callable[..., Any])

_MARK = "__toolgym_tool__"
_FACTORY = "create_toolset"
_INSTANCE = "toolset"


@dataclass(frozen=True, kw_only=True)
class ToolOptions:
    """Registration options carried by a function marked with :func:`tool`."""

    name: str | None = None
    description: str | None = None
    deterministic: bool = True


def _decorator_misuse(value: object) -> UserError:
    return UserError(
        f"the tool decorator got {value!r} where a function was expected; pass options by keyword, "
        f"e.g. @tool(name={value!r})" if isinstance(value, str) else f"{value!r} is not a function or method"
    )


@overload
def tool(fn: F, /) -> F: ...
@overload
def tool(
    *, name: str | None = None, description: str | None = None, deterministic: bool = True
) -> Callable[[F], F]: ...
def tool(
    fn: Any = None, /, *, name: str | None = None, description: str | None = None, deterministic: bool = True
) -> Any:
    """Mark a function (bare ``@tool`` or ``@tool(name=..., description=..., deterministic=False)``).

    Marking registers nothing by itself: a ``py:MODULE`` source collects a module's marked functions, and
    :meth:`PythonToolset.add_marked` collects a module's functions or an object's marked methods. The function is
    returned unchanged.
    """
    options = ToolOptions(name=name, description=description, deterministic=deterministic)

    def mark(f: F) -> F:
        if not callable(f) or isinstance(f, type):
            raise _decorator_misuse(f)
        try:
            setattr(f, _MARK, options)
        except AttributeError:  # bound methods and builtins take no attributes
            raise UserError(
                f"cannot mark {f!r} with @tool; decorate the function or method where it is defined, or register "
                "it directly with PythonToolset.add(...)"
            ) from None
        return f

    return mark if fn is None else mark(fn)


def marked_options(fn: Any) -> ToolOptions | None:
    """The options of a function marked with :func:`tool` (also seen through bound methods), else None."""
    options = getattr(fn, _MARK, None)
    return options if isinstance(options, ToolOptions) else None


@dataclass(frozen=True)
class _Registered:
    fn: Callable[..., Any]
    schema: FunctionSchema
    spec: ToolSpec


class PythonToolset(Toolset):
    """A group of Python callables served as tools; usable anywhere a :class:`Toolset` is."""

    def __init__(self, name: str = "python") -> None:
        self.name = name
        self._tools: dict[str, _Registered] = {}

    def __repr__(self) -> str:
        return f"PythonToolset(name={self.name!r}, tools={list(self._tools)!r})"

    @overload
    def tool(self, fn: F, /) -> F: ...
    @overload
    def tool(
        self, *, name: str | None = None, description: str | None = None, deterministic: bool | None = None
    ) -> Callable[[F], F]: ...
    def tool(
        self,
        fn: Any = None,
        /,
        *,
        name: str | None = None,
        description: str | None = None,
        deterministic: bool | None = None,
    ) -> Any:
        """Register the decorated function (bare ``@ts.tool`` or with options); returns it unchanged."""
        if fn is None:
            return lambda f: self.add(f, name=name, description=description, deterministic=deterministic)
        return self.add(fn, name=name, description=description, deterministic=deterministic)

    def add(
        self,
        fn: F,
        *,
        name: str | None = None,
        description: str | None = None,
        deterministic: bool | None = None,
    ) -> F:
        """Register ``fn`` (function, async function, bound method or other callable); returns it unchanged.

        ``name`` defaults to the function's name, ``description`` to its docstring prose, ``deterministic`` to True;
        options given to :func:`tool` apply where these are not passed. Raises :class:`ToolDefinitionError` listing
        every problem of the definition.
        """
        if isinstance(fn, str) or not callable(fn):
            raise _decorator_misuse(fn)
        marked = marked_options(fn) or ToolOptions()
        schema = function_schema(
            fn,
            name=name if name is not None else marked.name,
            description=description if description is not None else marked.description,
            taken=self._tools.keys(),
            toolset=self.name,
        )
        spec = ToolSpec(
            name=schema.name,
            description=schema.description,
            input_schema=schema.input_schema,
            output_schema=schema.output_schema,
            deterministic=deterministic if deterministic is not None else marked.deterministic,
        )
        self._tools[schema.name] = _Registered(fn, schema, spec)
        return fn

    def add_marked(self, source: ModuleType | object) -> PythonToolset:
        """Register every function of a module, or every method of an object, marked with :func:`tool`."""
        for fn in _marked_members(source):
            self.add(fn)
        return self

    def specs(self) -> list[ToolSpec]:
        """Every tool's spec, in registration order."""
        return [r.spec for r in self._tools.values()]

    def names(self) -> list[str]:
        return list(self._tools)

    def __len__(self) -> int:
        return len(self._tools)

    def __contains__(self, name: object) -> bool:
        return name in self._tools

    async def list_tools(self) -> list[ToolSpec]:
        return self.specs()

    async def call_tool(self, name: str, arguments: dict[str, Any] | None, *, limits: CallLimits) -> ToolResult:
        """Validate, run under ``limits.timeout`` and serialise; every failure is an error result, never raised."""
        registered = self._tools.get(name)
        if registered is None:
            known = ", ".join(self._tools) or "(none)"
            return ToolResult.error("unknown_tool", f"Unknown tool {name!r}. Available tools: {known}.")
        result = await invoke(registered.fn, registered.schema, {} if arguments is None else arguments, limits)
        return cap_result(result, limits.max_result_chars)


def _marked_members(source: object) -> list[Callable[..., Any]]:
    """Marked callables in definition order: a module's globals, or an object's methods (base classes first)."""
    if isinstance(source, ModuleType):
        found = [v for v in vars(source).values() if marked_options(v) is not None]
    else:
        names: dict[str, None] = {}
        for klass in reversed(type(source).__mro__):
            names.update(dict.fromkeys(vars(klass)))
        found = [getattr(source, n) for n in names if marked_options(getattr(type(source), n, None)) is not None]
    unique: dict[int, Callable[..., Any]] = {}
    for fn in found:  # a function imported under two names is one tool
        unique.setdefault(id(getattr(fn, "__func__", fn)), fn)
    return list(unique.values())


def _import(module_name: str) -> ModuleType:
    try:
        return importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        top = module_name.split(".")[0]
        cwd = os.getcwd()
        # The `toolgym` console script does not put the working directory on sys.path (python -m does); users
        # expect `toolgym tools py:mytools` to find ./mytools.py, as uvicorn and pytest do.
        local = (Path(cwd) / f"{top}.py").is_file() or (Path(cwd) / top).is_dir()
        if exc.name == top and local and cwd not in sys.path:
            sys.path.insert(0, cwd)
            return _import(module_name)
        if exc.name and (module_name == exc.name or module_name.startswith(exc.name + ".")):
            raise UserError(
                f"cannot import {module_name!r}: no module named {exc.name!r}; check the spelling and that its "
                "directory is on sys.path (run from the project root or set PYTHONPATH)"
            ) from None
        raise UserError(f"importing {module_name!r} failed: {exc}; install the missing package") from exc
    except Exception as exc:  # the module's own code failed: report it with its type, keep the traceback chained
        raise UserError(f"importing {module_name!r} raised {type(exc).__name__}: {exc}; fix the module") from exc


def _resolve(value: Any, where: str) -> PythonToolset:
    """A PythonToolset, a zero-argument factory returning one, or a single marked function."""
    if isinstance(value, PythonToolset):
        return value
    if marked_options(value) is not None:
        return _single(value, where)
    if callable(value):
        try:
            inspect.signature(value).bind()
        except TypeError:
            raise UserError(
                f"{where} is neither a PythonToolset nor a zero-argument factory returning one (it needs arguments); "
                "point the source at a toolset or factory, or mark tool functions with @toolkit.python_tools.tool"
            ) from None
        except ValueError:
            pass  # no readable signature (some builtins): just try calling it
        try:
            made = value()
        except UserError:
            raise  # e.g. a ToolDefinitionError from a tool the factory registers: already says what to fix
        except Exception as exc:
            raise UserError(f"factory {where} raised {type(exc).__name__}: {exc}; fix the factory") from exc
        if isinstance(made, PythonToolset):
            return made
        raise UserError(f"factory {where} returned {type(made).__name__}, not a PythonToolset; return one")
    raise UserError(f"{where} is a {type(value).__name__}, not a PythonToolset or a factory returning one")


def _single(fn: Callable[..., Any], where: str) -> PythonToolset:
    ts = PythonToolset(name=where)
    ts.add(fn)
    return ts


def load_python_toolset(target: str) -> PythonToolset:
    """The toolset named by ``MODULE[:ATTR]`` (the part after ``py:``).

    ``ATTR`` (dotted paths allowed) names a :class:`PythonToolset`, a zero-argument factory returning one, or a
    function marked with :func:`tool`. Without ``ATTR``: the module's ``create_toolset`` factory, else its
    ``toolset`` attribute, else its functions marked with :func:`tool`. A factory is called on every load, so each
    load gets fresh tool state; a ``toolset`` attribute is shared by every load in the process.
    """
    module_name, _, attr = target.strip().partition(":")
    if not module_name:
        raise UserError(f"empty module name in 'py:{target}'; write py:MODULE or py:MODULE:ATTR")
    module = _import(module_name)
    if attr:
        value: Any = module
        for part in attr.split("."):
            if not hasattr(value, part):
                raise UserError(
                    f"module {module_name!r} has no attribute {attr!r}; "
                    f"available: {', '.join(_candidates(module)) or '(no toolsets or factories)'}"
                )
            value = getattr(value, part)
        return _resolve(value, f"{module_name}:{attr}")
    if hasattr(module, _FACTORY):
        return _resolve(getattr(module, _FACTORY), f"{module_name}:{_FACTORY}")
    if hasattr(module, _INSTANCE):
        return _resolve(getattr(module, _INSTANCE), f"{module_name}:{_INSTANCE}")
    toolset = PythonToolset(name=module_name).add_marked(module)
    if not len(toolset):
        raise UserError(
            f"module {module_name!r} offers no tools: define `create_toolset()` returning a PythonToolset, a "
            "`toolset` attribute, or decorate functions with @toolkit.python_tools.tool; or name one with "
            f"py:{module_name}:ATTR"
        )
    return toolset


def _candidates(module: ModuleType) -> list[str]:
    return [n for n, v in vars(module).items() if isinstance(v, PythonToolset) or n == _FACTORY]
