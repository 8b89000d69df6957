"""Function → tool schema: the signature and docstring become one pydantic argument model and two JSON Schemas.

The argument model is the single source of truth: its JSON Schema is what the model is shown (and what calls are
validated against), and the same model turns validated JSON arguments into Python values (nested models, enums,
dataclasses) for the call. Every problem with a definition is collected and raised at once, each with its fix.
"""

from __future__ import annotations

import inspect
import re
import weakref
from collections.abc import Callable, Collection
from dataclasses import dataclass
from typing import Annotated, Any, get_args, get_origin

from pydantic import BaseModel, ConfigDict, Field, PydanticUserError, TypeAdapter, create_model
from pydantic.json_schema import GenerateJsonSchema, JsonSchemaWarningKind

from toolkit._docstrings import parse_docstring
from toolkit.errors import ToolDefinitionError
from toolkit.jsonschema_utils import check_schema_bounds, inline_refs, validation_errors, validator_for

__all__ = ["TOOL_NAME_PATTERN", "FunctionSchema", "function_schema", "clean_schema", "type_schema"]

TOOL_NAME_PATTERN = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")

_JSON_TYPES = (
    "str, int, float, bool, None, list, dict, tuple, set, Literal, Enum, a pydantic model, dataclass or TypedDict"
)
# Keywords whose value is a map of name -> subschema (the names are data: a property may be called "title").
_SCHEMA_MAPS = ("properties", "patternProperties", "$defs", "definitions", "dependentSchemas")
_SCHEMA_LISTS = ("anyOf", "oneOf", "allOf", "prefixItems")
_SCHEMA_ONE = (
    "items", "additionalProperties", "not", "if", "then", "else", "contains", "propertyNames",
    "unevaluatedItems", "unevaluatedProperties",
)  # fmt: skip


class _SchemaWarning(ValueError):
    pass


class _StrictJsonSchema(GenerateJsonSchema):
    """Turn pydantic's schema warnings (a default that is not JSON, a type it skips) into registration problems."""

    def emit_warning(self, kind: JsonSchemaWarningKind, detail: str) -> None:
        raise _SchemaWarning(detail)


class _ArgsBase(BaseModel):
    # No extra="forbid" here: pydantic would hand it down to nested dataclasses and TypedDicts (but not models).
    # Unknown top-level arguments are refused by the schema instead (additionalProperties: false, set below).
    model_config = ConfigDict(protected_namespaces=())


@dataclass(frozen=True, kw_only=True)
class FunctionSchema:
    """Everything registration derives from one function."""

    name: str
    description: str
    input_schema: dict[str, Any]
    output_schema: dict[str, Any] | None
    arg_model: type[BaseModel]
    field_to_param: dict[str, str]
    """Argument-model field name → the function's parameter name (they differ when a name shadows BaseModel)."""
    return_adapter: TypeAdapter[Any] | None
    """Serialises return values; None when the function has no (or a ``None``) return annotation."""
    wrap_output: bool
    """True when the structured result is ``{"result": value}`` (non-object return types)."""
    is_async: bool


def clean_schema(schema: Any) -> Any:
    """Drop pydantic's generated ``title``s and discriminator ``mapping``s (which point into ``$defs``)."""
    if not isinstance(schema, dict):
        return schema
    out: dict[str, Any] = {}
    for key, value in schema.items():
        if key == "title" and isinstance(value, str):
            continue
        if key in _SCHEMA_MAPS and isinstance(value, dict):
            out[key] = {k: clean_schema(v) for k, v in value.items()}
        elif key in _SCHEMA_LISTS and isinstance(value, list):
            out[key] = [clean_schema(v) for v in value]
        elif key in _SCHEMA_ONE:
            out[key] = clean_schema(value)
        elif key == "discriminator" and isinstance(value, dict):
            out[key] = {k: v for k, v in value.items() if k != "mapping"}
        else:
            out[key] = value  # data (default, enum, const, examples) or a scalar keyword
    return out


def type_schema(annotation: Any) -> dict[str, Any]:
    """The cleaned, ``$ref``-inlined JSON Schema of one type (raises pydantic's errors as they are)."""
    raw = TypeAdapter(annotation).json_schema(schema_generator=_StrictJsonSchema)
    return clean_schema(inline_refs(raw))


def _type_name(tp: Any) -> str:
    if isinstance(tp, type) and not get_args(tp):
        return tp.__name__ if tp.__module__ == "builtins" else f"{tp.__module__}.{tp.__qualname__}"
    return repr(tp).replace("typing.", "")


def _why_no_schema(exc: Exception) -> str:
    """A one-line reason; pydantic's own advice (``arbitrary_types_allowed``) does not apply to tools."""
    if isinstance(exc, PydanticUserError) and exc.code == "typed-dict-version":
        return "typing.TypedDict is not supported on Python < 3.12; import TypedDict from typing_extensions instead"
    first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return first


def _type_problem(what: str, annotation: Any, exc: Exception) -> str:
    reason = _why_no_schema(exc)
    if "typing_extensions" in reason:
        return f"{what} ({_type_name(annotation)}): {reason}"
    return (
        f"{what} has type {_type_name(annotation)}, which has no JSON Schema ({reason}); use a JSON-friendly type "
        f"({_JSON_TYPES}) and build other objects inside the tool"
    )


def _tool_name(fn: Callable[..., Any], name: str | None) -> tuple[str, list[str]]:
    if name is None:
        name = getattr(fn, "__name__", None)
        if name is None:
            return repr(fn), [f"cannot infer a tool name from {fn!r}; pass name='...' when registering it"]
    if not TOOL_NAME_PATTERN.match(name):
        return name, [
            f"invalid tool name {name!r}: use 1-64 letters, digits or underscores, not starting with a digit "
            "(pattern ^[A-Za-z_][A-Za-z0-9_]{0,63}$); pass name='...' to choose another"
        ]
    return name, []


def _is_async(fn: Callable[..., Any]) -> bool:
    return inspect.iscoroutinefunction(fn) or inspect.iscoroutinefunction(getattr(fn, "__call__", None))


def _param_problems(param: inspect.Parameter) -> list[str]:
    """Problems of one parameter that need no type analysis."""
    p = param.name
    if param.kind is inspect.Parameter.VAR_POSITIONAL:
        return [f"*{p} is not supported: tools take named arguments only; replace it with a list parameter, "
                f"e.g. `{p}: list[str]`"]  # fmt: skip
    if param.kind is inspect.Parameter.VAR_KEYWORD:
        return [f"**{p} is not supported: a model can only pass declared arguments; declare each one as a "
                f"named parameter, or take a dict, e.g. `{p}: dict[str, str]`"]  # fmt: skip
    out = []
    if param.kind is inspect.Parameter.POSITIONAL_ONLY:
        out.append(f"parameter {p!r} is positional-only (declared before `/`); remove the `/` so it can be passed "
                   "by name")  # fmt: skip
    if p.startswith("_"):
        out.append(f"parameter {p!r} starts with an underscore, which marks it private; rename it (e.g. "
                   f"{p.lstrip('_') or 'value'!r}) or leave it out of the signature")  # fmt: skip
    if param.annotation is inspect.Parameter.empty:
        hint = "str" if param.default is inspect.Parameter.empty else type(param.default).__name__
        out.append(f"parameter {p!r} has no type hint; annotate it, e.g. `{p}: {hint}`")
    elif isinstance(param.annotation, str):  # still a string after evaluation: quoted twice, or under a future import
        out.append(f"the type hint of parameter {p!r} is the string {param.annotation!r}, which cannot be resolved; "
                   "write the type itself (unquoted), defined or imported at module level")  # fmt: skip
    return out


def _field(param: inspect.Parameter, doc: str | None) -> Any:
    """The ``create_model`` entry of one parameter: docstring description first so an explicit Field wins."""
    annotation = param.annotation
    if doc:
        if get_origin(annotation) is Annotated:
            base, *meta = get_args(annotation)
            annotation = Annotated[(base, Field(description=doc), *meta)]  # type: ignore[valid-type]
        else:
            annotation = Annotated[annotation, Field(description=doc)]
    if param.default is inspect.Parameter.empty:
        return annotation
    return (annotation, param.default)


def _aliased(entry: Any, alias: str) -> Any:
    if isinstance(entry, tuple):
        return (Annotated[entry[0], Field(alias=alias)], entry[1])
    return Annotated[entry, Field(alias=alias)]


def _field_name(param_name: str) -> str:
    # A parameter called e.g. `schema` or `json` would shadow a BaseModel attribute; alias it instead.
    return f"arg_{param_name}" if hasattr(BaseModel, param_name) else param_name


def _check_field(param: inspect.Parameter, entry: Any) -> str | None:
    """Build a one-field model on its own so a bad type or default is reported against its parameter."""
    try:
        model = create_model("_Probe", __base__=_ArgsBase, **{_field_name(param.name): entry})
        model.model_json_schema(schema_generator=_StrictJsonSchema)
    except _SchemaWarning as exc:
        return f"parameter {param.name!r}: {exc}; use a JSON value (or None) as the default"
    except (PydanticUserError, TypeError, ValueError) as exc:
        return _type_problem(f"parameter {param.name!r}", param.annotation, exc)
    return None


def _is_none(annotation: Any) -> bool:
    return annotation is None or annotation is type(None) or annotation is inspect.Signature.empty


def _output(annotation: Any) -> tuple[TypeAdapter[Any] | None, dict[str, Any] | None, bool, str | None]:
    """(adapter, output schema, wrap, problem) for a return annotation."""
    if _is_none(annotation):
        return None, None, False, None
    if isinstance(annotation, str):
        problem = (f"the return type hint is the string {annotation!r}, which cannot be resolved; write the type "
                   "itself (unquoted), defined or imported at module level")  # fmt: skip
        return None, None, False, problem
    try:
        adapter = TypeAdapter(annotation)
        schema = clean_schema(inline_refs(adapter.json_schema(schema_generator=_StrictJsonSchema)))
    except (PydanticUserError, TypeError, ValueError) as exc:
        problem = _type_problem("the return type", annotation, exc)
        return None, None, False, problem + " (or drop the return annotation to return plain text)"
    if schema.get("type") == "object":  # a model, dataclass, TypedDict or dict[str, X]: its own object schema
        return adapter, schema, False, None
    wrapped = {"type": "object", "properties": {"result": schema}, "required": ["result"]}
    if "$defs" in schema:  # a recursive type keeps its $defs at the root, where its $refs point
        wrapped["$defs"] = schema.pop("$defs")
    return adapter, wrapped, True, None


def _default_problems(input_schema: dict[str, Any]) -> list[str]:
    """A default the parameter's own type rejects would be published as a promise the schema breaks."""
    problems = []
    for name, prop in (input_schema.get("properties") or {}).items():
        if not isinstance(prop, dict) or "default" not in prop:
            continue
        bare = {k: v for k, v in prop.items() if k != "default"}
        if "$defs" in input_schema:
            bare["$defs"] = input_schema["$defs"]
        if validation_errors(bare, prop["default"]):
            problems.append(f"parameter {name!r} has default {prop['default']!r}, which its type does not allow; "
                            f"change the default or widen the hint (e.g. `X | None = None`)")
    return problems


def function_schema(
    fn: Callable[..., Any],
    *,
    name: str | None = None,
    description: str | None = None,
    taken: Collection[str] = (),
    toolset: str = "toolset",
) -> FunctionSchema:
    """Derive a tool's schemas from ``fn``; raise one :class:`ToolDefinitionError` listing every problem.

    ``taken`` are names already registered in ``toolset``: reusing one is a problem too.
    """
    tool_name, problems = _tool_name(fn, name)
    if tool_name in taken:
        problems.append(f"a tool named {tool_name!r} is already registered in toolset {toolset!r}; "
                        "pass name='...' to register this one under another name")  # fmt: skip
    # Deriving schemas builds pydantic models (milliseconds per tool). Environments register the same methods on
    # every new instance, so the result is cached per underlying function, binding, name and description.
    target = getattr(fn, "__func__", fn)
    key = (inspect.ismethod(fn), name, description)
    try:
        cached = _CACHE.get(target, {}).get(key)
    except TypeError:  # an unhashable callable object: derive every time
        cached = None
    if cached is not None and not problems:
        return cached
    result = _derive(fn, tool_name, problems, description)
    try:
        _CACHE.setdefault(target, {})[key] = result
    except TypeError:
        pass
    return result


_CACHE: weakref.WeakKeyDictionary[Any, dict[tuple[bool, str | None, str | None], FunctionSchema]] = (
    weakref.WeakKeyDictionary()
)


def _derive(fn: Callable[..., Any], tool_name: str, problems: list[str], description: str | None) -> FunctionSchema:
    if not callable(fn):
        raise ToolDefinitionError(tool_name, [*problems, f"{fn!r} is not callable; register a function or method"])
    try:
        sig = inspect.signature(fn, eval_str=True)
    except NameError as exc:
        problems.append(f"its type hints cannot be resolved ({exc}); define or import that name at module level, "
                        "where the function's hints are evaluated")  # fmt: skip
        raise ToolDefinitionError(tool_name, problems) from None
    except (TypeError, ValueError) as exc:
        problems.append(f"its signature cannot be read ({exc}); wrap it in a plain `def` with typed parameters")
        raise ToolDefinitionError(tool_name, problems) from None

    if inspect.isgeneratorfunction(fn) or inspect.isasyncgenfunction(fn):
        problems.append("it is a generator (it uses `yield`), but a tool call returns one result; collect the items "
                        "and return a list")  # fmt: skip
    doc = parse_docstring(inspect.getdoc(fn))
    fields: dict[str, Any] = {}
    field_to_param: dict[str, str] = {}
    for param in sig.parameters.values():
        own = _param_problems(param)
        problems.extend(own)
        if own:
            continue
        entry = _field(param, doc.params.get(param.name))
        bad = _check_field(param, entry)
        if bad:
            problems.append(bad)
            continue
        fname = _field_name(param.name)
        if fname != param.name:
            entry = _aliased(entry, param.name)
        fields[fname] = entry
        field_to_param[fname] = param.name

    adapter, output_schema, wrap, problem = _output(sig.return_annotation)
    if problem:
        problems.append(problem)
    if problems:
        raise ToolDefinitionError(tool_name, problems)

    arg_model = create_model(f"{tool_name}_arguments", __base__=_ArgsBase, **fields)
    raw = arg_model.model_json_schema(by_alias=True, schema_generator=_StrictJsonSchema)
    input_schema = clean_schema(inline_refs(raw))
    input_schema.pop("description", None)  # the argument model has no docstring of its own
    # An argument the tool does not take is a wrong call, not something to ignore silently.
    input_schema["additionalProperties"] = False
    bad_defaults = _default_problems(input_schema)
    if bad_defaults:
        raise ToolDefinitionError(tool_name, bad_defaults)
    for schema in (input_schema, output_schema):
        if schema is not None:
            check_schema_bounds(schema)
            validator_for(schema)  # compile now: a schema the validator rejects is a registration-time bug
    return FunctionSchema(
        name=tool_name,
        description=(description if description is not None else doc.description).strip(),
        input_schema=input_schema,
        output_schema=output_schema,
        arg_model=arg_model,
        field_to_param=field_to_param,
        return_adapter=adapter,
        wrap_output=wrap,
        is_async=_is_async(fn),
    )
