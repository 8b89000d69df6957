"""Config files for every command: a YAML mapping of settings, checked and typed against a dataclass.

One definition for `toolgym synth`, `toolgym train sft` and `toolgym train rl`: unknown keys are named with the
known ones, YAML quirks are smoothed (``1e-4`` is read as text by YAML 1.1 and becomes a float here), and a value
of the wrong type names the setting.
"""

from __future__ import annotations

import types
import typing
from dataclasses import fields
from pathlib import Path
from typing import Any, TypeVar

import yaml

from toolkit.errors import UserError

__all__ = ["read_config_file", "coerce_setting", "build_config"]

_C = TypeVar("_C")


def read_config_file(path: str | Path, *, sample: str) -> dict[str, Any]:
    """The settings mapping in a YAML file; ``sample`` names an example config for the error messages."""
    path = Path(path)
    if not path.is_file():
        raise UserError(f"config file {path} does not exist; see {sample}")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise UserError(f"{path} is not valid YAML: {exc}") from None
    if not isinstance(data, dict):
        raise UserError(f"{path} must hold a mapping of settings at the top level (see {sample})")
    return data


def coerce_setting(name: str, value: Any, hint: Any) -> Any:
    """Make a YAML / ``--set`` value fit the field's type, or raise a :class:`UserError` naming the setting."""
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        inner = [a for a in args if a is not type(None)]
        return coerce_setting(name, value, inner[0]) if len(inner) == 1 else value
    try:
        if hint is bool:
            if isinstance(value, bool):
                return value
            text = str(value).lower()
            if text in ("true", "yes", "1", "on", "false", "no", "0", "off"):
                return text in ("true", "yes", "1", "on")
            raise ValueError(value)
        if hint is int:
            if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
                raise ValueError(value)
            return int(value)
        if hint is float:
            if isinstance(value, bool):
                raise ValueError(value)
            return float(value)
        if hint is Path:
            return Path(str(value))
        if hint is str:
            if isinstance(value, (dict, list)):
                raise ValueError(value)
            return str(value)
        if origin is list:
            items = [value] if isinstance(value, str) else value
            if not isinstance(items, list):
                raise ValueError(value)
            return [coerce_setting(name, v, args[0]) for v in items] if args else items
        if origin is dict:
            if not isinstance(value, dict):
                raise ValueError(value)
            return {str(k): coerce_setting(f"{name}.{k}", v, args[1]) for k, v in value.items()} if args else value
    except (TypeError, ValueError):
        raise UserError(f"setting {name}={value!r} is not a valid {getattr(hint, '__name__', hint)}") from None
    return value


def build_config(cls: type[_C], data: dict[str, Any], *, coerce: bool = True) -> _C:
    """``cls(**data)`` after naming unknown keys and (with ``coerce``) typing every value."""
    known = {f.name for f in fields(cls)}  # type: ignore[arg-type]
    unknown = sorted(set(data) - known)
    if unknown:
        raise UserError(f"unknown setting(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}")
    if coerce:
        hints = typing.get_type_hints(cls)
        data = {k: coerce_setting(k, v, hints[k]) for k, v in data.items()}
    return cls(**data)
